//! Open WebUI's chat export (JSON): an array of chats. Read: `id`, `title`,
//! `created_at`/`updated_at` (seconds), `chat.system` (the system prompt),
//! and `chat.history`: `currentId` and
//! `messages` (`parentId`, `role`, `content`, `timestamp` in seconds,
//! `model`): every branch is imported, the one shown (root to `currentId`)
//! shown; a message whose parent is not in the file starts a branch of its
//! own. Without a history, `chat.messages` in order.

use super::{capped, secs_ms, text, Draft, DraftMessage, NotImported, Parsed};
use crate::types::chat::Role;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// One chat of the export.
pub fn read(item: &Value) -> Parsed {
    let chat = item.get("chat").unwrap_or(&Value::Null);
    let source_id = {
        let id = text(item.get("id").or_else(|| chat.get("id")));
        if id.is_empty() {
            return Err(NotImported {
                title: text(item.get("title")),
                reason: "it has no id".into(),
            });
        }
        id
    };
    let title = {
        let t = text(item.get("title"));
        if t.is_empty() {
            text(chat.get("title"))
        } else {
            t
        }
    };
    let bad = |reason: &str| NotImported {
        title: title.clone(),
        reason: reason.to_owned(),
    };
    let history = chat.pointer("/history/messages").and_then(Value::as_object);
    let mut d = Draft {
        source_id,
        title: title.clone(),
        // `chat.timestamp` is in ms (the rows' times are in seconds).
        created: secs_ms(item.get("created_at")).or_else(|| {
            chat.get("timestamp")
                .and_then(Value::as_i64)
                .filter(|t| *t > 0)
        }),
        updated: secs_ms(item.get("updated_at")),
        system_prompt: capped(text(chat.get("system"))),
        tree: history.is_some(),
        ..Default::default()
    };
    let parent_of = |m: &Value| m.get("parentId").and_then(Value::as_str).map(str::to_owned);
    let rows: Vec<(&Value, Option<usize>, bool)> = match history {
        Some(all) => {
            // The branch shown: from the current message up.
            let mut shown = HashSet::new();
            let mut node = chat
                .pointer("/history/currentId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            while let Some(id) = node {
                if !shown.insert(id.clone()) {
                    return Err(bad("its message history has a cycle"));
                }
                let Some(m) = all.get(&id) else {
                    return Err(bad("a message of its history is missing"));
                };
                node = parent_of(m);
            }
            // Parents before children: by depth (a cycle off the shown
            // branch is cut where it closes), then time.
            let mut depth: HashMap<&str, usize> = HashMap::new();
            for id in all.keys() {
                let mut chain = vec![id.as_str()];
                let mut on_chain: HashSet<&str> = HashSet::from([id.as_str()]);
                let mut base = 0;
                while let Some(p) = all
                    .get(*chain.last().unwrap_or(&""))
                    .and_then(|m| m.get("parentId"))
                    .and_then(Value::as_str)
                    .filter(|p| all.contains_key(*p))
                {
                    if let Some(d) = depth.get(p) {
                        base = d + 1;
                        break;
                    }
                    if !on_chain.insert(p) {
                        break;
                    }
                    chain.push(p);
                }
                for (i, c) in chain.iter().rev().enumerate() {
                    depth.entry(c).or_insert(base + i);
                }
            }
            let mut order: Vec<(&String, &Value)> = all.iter().collect();
            order.sort_by_key(|(id, m)| {
                (
                    depth.get(id.as_str()).copied().unwrap_or(0),
                    secs_ms(m.get("timestamp")).unwrap_or(0),
                )
            });
            let index: HashMap<&str, usize> = order
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (id.as_str(), i))
                .collect();
            order
                .iter()
                .enumerate()
                .map(|(i, (id, m))| {
                    let parent = m
                        .get("parentId")
                        .and_then(Value::as_str)
                        .and_then(|p| index.get(p).copied())
                        .filter(|&p| p < i);
                    (*m, parent, shown.contains(id.as_str()))
                })
                .collect()
        }
        None => match chat.get("messages").and_then(Value::as_array) {
            Some(list) => list.iter().map(|m| (m, None, true)).collect(),
            None => return Err(bad("it has no messages")),
        },
    };
    for (m, parent, shown) in rows {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Some(Role::User),
            Some("assistant") => Some(Role::Assistant),
            _ => {
                d.left_out += 1;
                None
            }
        };
        // A left-out message keeps its place, so its children follow its parent.
        d.messages.push(DraftMessage {
            role,
            text: if role.is_some() {
                capped(text(m.get("content")))
            } else {
                String::new()
            },
            reasoning: None,
            created: secs_ms(m.get("timestamp")),
            model: m.get("model").and_then(Value::as_str).map(str::to_owned),
            parent,
            shown,
        });
    }
    Ok(d)
}
