//! Branches. Every message knows its parent (the message before it on its
//! branch; none for a conversation's first messages); messages with the same
//! parent are siblings, the forks the window shows as ‹ n/m ›. Each sibling
//! group has one `chosen` member, the one last shown, so leaving a branch and
//! coming back finds it as it was. What is shown, and sent as context, is the
//! path from the chosen first message down the chosen children; it is kept
//! materialized in `active`, so opening and paging a conversation read an
//! index and never walk the tree. A child's `seq` is always larger than its
//! parent's, so the shown path is in `seq` order and "everything shown below
//! a message" is one range.

use super::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::{BTreeMap, HashMap};

/// Where a message sits in its tree.
struct Node {
    conversation_id: String,
    seq: i64,
    parent_id: Option<String>,
    active: bool,
}

fn node(tx: &Transaction<'_>, id: &str) -> Result<Node, StoreError> {
    tx.prepare_cached("SELECT conversation_id, seq, parent_id, active FROM messages WHERE id = ?1")?
        .query_row(params![id], |r| {
            Ok(Node {
                conversation_id: r.get(0)?,
                seq: r.get(1)?,
                parent_id: r.get(2)?,
                active: r.get::<_, i64>(3)? != 0,
            })
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("message {id}")))
}

/// Makes `id` the chosen one of its sibling group.
fn choose(
    tx: &Transaction<'_>,
    conversation_id: &str,
    parent_id: Option<&str>,
    id: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET chosen = (id = ?3) WHERE conversation_id = ?1 AND parent_id IS ?2",
    )?
    .execute(params![conversation_id, parent_id, id])?;
    Ok(())
}

/// Hides what is shown below `seq` (-1: everything shown).
fn hide_below(tx: &Transaction<'_>, conversation_id: &str, seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET active = 0 WHERE conversation_id = ?1 AND seq > ?2 AND active = 1",
    )?
    .execute(params![conversation_id, seq])?;
    Ok(())
}

/// Shows the chosen path below `id` (None: from the first messages), one
/// indexed step per level. A group without a chosen member (never left by
/// this module) continues with its newest.
fn show_chosen_below(
    tx: &Transaction<'_>,
    conversation_id: &str,
    id: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "WITH RECURSIVE below(id) AS ( \
           SELECT (SELECT c.id FROM messages c WHERE c.conversation_id = ?1 AND c.parent_id IS ?2 \
                   ORDER BY c.chosen DESC, c.created DESC, c.rowid DESC LIMIT 1) \
           UNION ALL \
           SELECT (SELECT c.id FROM messages c WHERE c.conversation_id = ?1 AND c.parent_id = below.id \
                   ORDER BY c.chosen DESC, c.created DESC, c.rowid DESC LIMIT 1) \
           FROM below WHERE below.id IS NOT NULL) \
         UPDATE messages SET active = 1, chosen = 1 WHERE id IN (SELECT id FROM below WHERE id IS NOT NULL)",
    )?
    .execute(params![conversation_id, id])?;
    Ok(())
}

/// Shows the branch through `id`: it and each of its hidden ancestors
/// become the chosen ones of their groups, what was shown below the deepest
/// ancestor already shown is hidden, and the path continues below `id` by
/// its chosen children. Choices in every other branch stay as they were.
pub(super) fn show(tx: &Transaction<'_>, id: &str) -> Result<(), StoreError> {
    let mut at = node(tx, id)?;
    if at.active {
        return Ok(());
    }
    let conversation_id = at.conversation_id.clone();
    // Hidden messages from `id` up, deepest first.
    let mut up = vec![id.to_owned()];
    let junction = loop {
        let this = up.last().cloned().unwrap_or_default();
        choose(tx, &conversation_id, at.parent_id.as_deref(), &this)?;
        let Some(parent) = at.parent_id.take() else {
            break -1;
        };
        at = node(tx, &parent)?;
        if at.active {
            break at.seq;
        }
        up.push(parent);
    };
    hide_below(tx, &conversation_id, junction)?;
    for m in &up {
        tx.prepare_cached("UPDATE messages SET active = 1 WHERE id = ?1")?
            .execute(params![m])?;
    }
    show_chosen_below(tx, &conversation_id, Some(id))?;
    Ok(())
}

/// Makes room for a new child of `parent` (None: a new first message) in
/// `conversation_id` and returns the child's seq: the parent's branch is
/// shown, what was shown below the parent is hidden, and the parent's other
/// children are no longer chosen; the caller inserts the child shown and
/// chosen.
pub(super) fn make_room(
    tx: &Transaction<'_>,
    conversation_id: &str,
    parent: Option<&str>,
) -> Result<i64, StoreError> {
    let parent_seq = match parent {
        Some(p) => {
            let n = node(tx, p)?;
            if n.conversation_id != conversation_id {
                return Err(StoreError::NotFound(format!("message {p}")));
            }
            show(tx, p)?;
            n.seq
        }
        None => -1,
    };
    hide_below(tx, conversation_id, parent_seq)?;
    tx.prepare_cached(
        "UPDATE messages SET chosen = 0 WHERE conversation_id = ?1 AND parent_id IS ?2 AND chosen = 1",
    )?
    .execute(params![conversation_id, parent])?;
    Ok(parent_seq + 1)
}

/// The last shown message of a conversation (a new message's parent).
pub(super) fn tail(
    tx: &Transaction<'_>,
    conversation_id: &str,
) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached(
        "SELECT id FROM messages WHERE conversation_id = ?1 AND active = 1 ORDER BY seq DESC LIMIT 1",
    )?
    .query_row(params![conversation_id], |r| r.get(0))
    .optional()
}

/// One message as the tree sees it.
struct Row {
    id: String,
    seq: i64,
    parent_id: Option<String>,
    active: bool,
    chosen: bool,
}

/// Gives parents to the messages of a conversation stored before branches
/// (an answer knew its question; an edited question and a regenerated
/// answer were versions sharing a seq, `active` marked what was shown), then
/// settles it. A shown message's parent is the shown message just above it;
/// a hidden one's is the newest message stored before it at the nearest
/// earlier position (what was on screen when it was sent, unless the user
/// had flipped versions then), never the last shown message: what was shown
/// stays exactly what is shown (and sent), and a hidden message becomes a
/// branch beside a shown one. Messages that have a parent keep it.
pub(super) fn rebuild(tx: &Transaction<'_>, conversation_id: &str) -> rusqlite::Result<()> {
    let rows = load(tx, conversation_id)?;
    let mut shown: BTreeMap<i64, &str> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.active) {
        shown.insert(r.seq, &r.id);
    }
    let tail = shown.values().next_back().copied();
    // Rows are in the order stored: `before` holds the newest message at
    // each position among those stored so far.
    let mut before: BTreeMap<i64, &str> = BTreeMap::new();
    let mut parents: Vec<(&str, &str)> = Vec::new();
    for r in &rows {
        if r.parent_id.is_none() {
            let parent = if r.active {
                shown.range(..r.seq).next_back().map(|(_, p)| *p)
            } else {
                before
                    .range(..r.seq)
                    .rev()
                    .map(|(_, p)| *p)
                    .find(|p| Some(*p) != tail)
            };
            if let Some(p) = parent {
                parents.push((&r.id, p));
            }
        }
        before.insert(r.seq, &r.id);
    }
    let mut set = tx.prepare_cached("UPDATE messages SET parent_id = ?2 WHERE id = ?1")?;
    for (id, parent) in parents {
        set.execute(params![id, parent])?;
    }
    drop(set);
    settle(tx, conversation_id)
}

fn load(tx: &Transaction<'_>, conversation_id: &str) -> rusqlite::Result<Vec<Row>> {
    tx.prepare_cached(
        "SELECT id, seq, parent_id, active, chosen FROM messages WHERE conversation_id = ?1 ORDER BY created, rowid",
    )?
    .query_map(params![conversation_id], |r| {
        Ok(Row {
            id: r.get(0)?,
            seq: r.get(1)?,
            parent_id: r.get(2)?,
            active: r.get::<_, i64>(3)? != 0,
            chosen: r.get::<_, i64>(4)? != 0,
        })
    })?
    .collect()
}

/// Makes a conversation's tree consistent: one chosen member per sibling
/// group (the shown one, else the chosen one, else the newest; the newest of
/// several) and `active` exactly on the chosen path. Writes only what
/// changes. Used after a migration and an import, whose flags are not trusted.
pub(super) fn settle(tx: &Transaction<'_>, conversation_id: &str) -> rusqlite::Result<()> {
    let rows = load(tx, conversation_id)?;
    // Groups by parent, members oldest first (rows are in stored order).
    let mut groups: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.parent_id.as_deref()).or_default().push(i);
    }
    let mut chosen = vec![false; rows.len()];
    for members in groups.values() {
        let pick = members
            .iter()
            .rev()
            .find(|&&i| rows[i].active)
            .or_else(|| members.iter().rev().find(|&&i| rows[i].chosen))
            .or(members.last());
        if let Some(&i) = pick {
            chosen[i] = true;
        }
    }
    let mut active = vec![false; rows.len()];
    let mut parent: Option<&str> = None;
    // A path visits each message at most once, even in a hostile tree.
    for _ in 0..rows.len() {
        let Some(next) = groups
            .get(&parent)
            .and_then(|m| m.iter().find(|&&i| chosen[i]))
        else {
            break;
        };
        if active[*next] {
            break;
        }
        active[*next] = true;
        parent = Some(rows[*next].id.as_str());
    }
    let mut set =
        tx.prepare_cached("UPDATE messages SET chosen = ?2, active = ?3 WHERE id = ?1")?;
    for (i, r) in rows.iter().enumerate() {
        if r.chosen != chosen[i] || r.active != active[i] {
            set.execute(params![r.id, chosen[i] as i64, active[i] as i64])?;
        }
    }
    Ok(())
}

/// Version 8's step: every conversation stored before branches becomes a tree.
pub(super) fn migrate_all(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let ids: Vec<String> = tx
        .prepare("SELECT id FROM conversations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        rebuild(tx, &id)?;
    }
    Ok(())
}
