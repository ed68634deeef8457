//! Open WebUI's chat export (JSON): an array of chats. Read: `id`, `title`,
//! `created_at`/`updated_at` (seconds), `chat.system` (the system prompt),
//! and `chat.history`: `currentId` and
//! `messages` (`parentId`, `role`, `content`, `timestamp` in seconds,
//! `model`); the branch shown (root to `currentId`) is imported, other
//! branches are counted. Without a history, `chat.messages` in order.

use super::{capped, secs_ms, text, Draft, DraftMessage, NotImported, Parsed};
use crate::types::chat::Role;
use serde_json::Value;

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
    let mut path: Vec<&Value> = Vec::new();
    let mut left_out = 0;
    match history {
        Some(all) => {
            let mut node = chat
                .pointer("/history/currentId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            while let Some(id) = node {
                if path.len() > all.len() {
                    return Err(bad("its message history has a cycle"));
                }
                let Some(m) = all.get(&id) else {
                    return Err(bad("a message of its history is missing"));
                };
                path.push(m);
                node = m.get("parentId").and_then(Value::as_str).map(str::to_owned);
            }
            path.reverse();
            left_out = all.len() - path.len();
        }
        None => match chat.get("messages").and_then(Value::as_array) {
            Some(list) => path.extend(list.iter()),
            None => return Err(bad("it has no messages")),
        },
    }
    let mut d = Draft {
        source_id,
        title,
        // `chat.timestamp` is in ms (the rows' times are in seconds).
        created: secs_ms(item.get("created_at")).or_else(|| {
            chat.get("timestamp")
                .and_then(Value::as_i64)
                .filter(|t| *t > 0)
        }),
        updated: secs_ms(item.get("updated_at")),
        system_prompt: capped(text(chat.get("system"))),
        left_out,
        ..Default::default()
    };
    for m in path {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => {
                d.left_out += 1;
                continue;
            }
        };
        d.messages.push(DraftMessage {
            role: Some(role),
            text: capped(text(m.get("content"))),
            reasoning: None,
            created: secs_ms(m.get("timestamp")),
            model: m.get("model").and_then(Value::as_str).map(str::to_owned),
            ..Default::default()
        });
    }
    Ok(d)
}
