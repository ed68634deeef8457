//! simonw/llm's `logs.db` (SQLite), opened read-only, in both of its
//! layouts. Up to llm 0.31: `conversations` (`id`, `name`, `model`) and their
//! `responses` (`prompt`, `system`, `response`, `model`, `datetime_utc`), in
//! order: each response is a question and its answer; the first system
//! prompt is the conversation's. From llm 0.32: `threads` (`id`, `name`,
//! `tip_message_hash`, `datetime_utc`), the message chain from the tip up
//! `messages.parent_hash` (`role`), each message's `parts` (type `text` as
//! its text, `reasoning` as reasoning, in `position` order), and `turns`
//! (`tip_message_hash`, `model`, `resolved_model`, `datetime_utc`) for who
//! answered and when. A legacy conversation whose id is also a thread's is
//! read once. Tools, attachments and fragments are left out.

use super::{capped, Draft, DraftMessage, NotImported, Parsed};
use crate::store::StoreError;
use crate::types::chat::Role;
use rusqlite::{Connection, OpenFlags};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The longest message chain followed (a cycle ends there).
const MAX_CHAIN: usize = 1_000_000;

/// llm's `datetime_utc`: ISO 8601 with or without an offset (older
/// versions wrote none: UTC), `T` or a space between date and time.
fn time(s: Option<String>) -> Option<i64> {
    let t = s?.replace(' ', "T");
    crate::types::time::parse_rfc3339(&t)
        .or_else(|| crate::types::time::parse_rfc3339(&format!("{t}Z")))
}

fn unreadable(e: rusqlite::Error) -> StoreError {
    StoreError::Invalid(format!(
        "The file was not imported (nothing was stored): it is not a readable llm logs.db ({e})"
    ))
}

/// Every conversation of the database.
pub fn read(path: &Path) -> Result<Vec<Parsed>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unreadable)?;
    let tables: HashSet<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(unreadable)?;
    let has = |names: &[&str]| names.iter().all(|t| tables.contains(*t));
    let legacy = has(&["conversations", "responses"]);
    let threaded = has(&["threads", "messages", "parts", "turns"]);
    if !legacy && !threaded {
        return Err(StoreError::Invalid(
            "The file was not imported (nothing was stored): this SQLite file is not llm's logs.db"
                .into(),
        ));
    }
    let mut out = if threaded {
        read_threads(&conn).map_err(unreadable)?
    } else {
        Vec::new()
    };
    if legacy {
        let seen: HashSet<String> = out
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|d| d.source_id.clone()))
            .collect();
        out.extend(read_legacy(&conn, &seen).map_err(unreadable)?);
    }
    Ok(out)
}

/// Conversations of `conversations` and `responses` (llm up to 0.31).
fn read_legacy(conn: &Connection, skip: &HashSet<String>) -> rusqlite::Result<Vec<Parsed>> {
    let list: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT id, coalesce(name, ''), model FROM conversations ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut responses = conn.prepare(
        "SELECT coalesce(prompt, ''), system, coalesce(response, ''), model, datetime_utc \
         FROM responses WHERE conversation_id = ?1 ORDER BY datetime_utc, rowid",
    )?;
    type Row = (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );
    let mut out = Vec::new();
    for (id, name, model) in list.into_iter().filter(|(id, _, _)| !skip.contains(id)) {
        let rows: Vec<Row> = responses
            .query_map([&id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut d = Draft {
            source_id: id,
            title: name,
            ..Default::default()
        };
        for (prompt, system, response, m, at) in rows {
            let created = time(at);
            d.created = d.created.or(created);
            d.updated = created.or(d.updated);
            if d.system_prompt.is_empty() {
                d.system_prompt = capped(system.unwrap_or_default());
            }
            d.messages.push(DraftMessage {
                role: Some(Role::User),
                text: capped(prompt),
                reasoning: None,
                created,
                model: None,
                ..Default::default()
            });
            d.messages.push(DraftMessage {
                role: Some(Role::Assistant),
                text: capped(response),
                reasoning: None,
                created,
                model: m.or_else(|| model.clone()),
                ..Default::default()
            });
        }
        out.push(Ok(d));
    }
    Ok(out)
}

/// Threads (llm 0.32 on): each thread's chain from its tip to its root.
fn read_threads(conn: &Connection) -> rusqlite::Result<Vec<Parsed>> {
    let list: Vec<(String, String, Option<String>, Option<String>)> = conn
        .prepare(
            "SELECT id, coalesce(name, ''), tip_message_hash, datetime_utc FROM threads ORDER BY rowid",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut message = conn.prepare("SELECT parent_hash, role FROM messages WHERE hash = ?1")?;
    let mut parts = conn.prepare(
        "SELECT coalesce(type, ''), coalesce(text, '') FROM parts WHERE message_hash = ?1 ORDER BY position",
    )?;
    let mut turns = conn.prepare(
        "SELECT tip_message_hash, coalesce(resolved_model, model), datetime_utc FROM turns WHERE thread_id = ?1",
    )?;
    let mut out = Vec::new();
    for (id, name, tip, at) in list {
        // Who answered and when: the turn that ends on a message.
        let mut answered: HashMap<String, (Option<String>, Option<i64>)> = HashMap::new();
        for row in turns.query_map([&id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })? {
            let (tip, model, at) = row?;
            if let Some(tip) = tip {
                answered.insert(tip, (model, time(at)));
            }
        }
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut next = tip;
        let mut broken = None;
        while let Some(hash) = next {
            if !seen.insert(hash.clone()) || chain.len() >= MAX_CHAIN {
                broken = Some("its message chain has a cycle");
                break;
            }
            let row: Option<(Option<String>, String)> = message
                .query_row([&hash], |r| Ok((r.get(0)?, r.get(1)?)))
                .ok();
            let Some((parent, role)) = row else {
                broken = Some("a message of its chain is missing");
                break;
            };
            chain.push((hash, role));
            next = parent;
        }
        if let Some(reason) = broken {
            out.push(Err(NotImported {
                title: name,
                reason: reason.into(),
            }));
            continue;
        }
        chain.reverse();
        let mut d = Draft {
            source_id: id,
            title: name,
            created: time(at),
            ..Default::default()
        };
        for (hash, role) in chain {
            let mut text = Vec::new();
            let mut reasoning = Vec::new();
            for p in parts.query_map([&hash], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })? {
                let (kind, t) = p?;
                match kind.as_str() {
                    "text" => text.push(t),
                    "reasoning" | "thinking" => reasoning.push(t),
                    _ => {}
                }
            }
            let role = match role.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                "system" if d.system_prompt.is_empty() => {
                    d.system_prompt = capped(text.join("\n\n"));
                    continue;
                }
                _ => {
                    d.left_out += 1;
                    continue;
                }
            };
            let (model, created) = answered.get(&hash).cloned().unwrap_or((None, None));
            d.updated = created.or(d.updated);
            d.messages.push(DraftMessage {
                role: Some(role),
                text: capped(text.join("\n\n")),
                reasoning: (!reasoning.is_empty()).then(|| capped(reasoning.join("\n\n"))),
                created,
                model: if role == Role::Assistant { model } else { None },
                ..Default::default()
            });
        }
        out.push(Ok(d));
    }
    Ok(out)
}
