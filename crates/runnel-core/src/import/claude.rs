//! Claude's data export (`conversations.json`): an array of conversations.
//! Read: `uuid`, `name`, `created_at`/`updated_at` (RFC 3339), and each of
//! `chat_messages`: `sender` (`human`, `assistant`), `text`, or `content`'s
//! `text` and `thinking` blocks (the first as the text, the second as
//! reasoning), `created_at`, and `attachments`' `file_name` and
//! `extracted_content` (appended to the message as a fenced block). Tool
//! blocks and `files` (no content in the export) are left out.

use super::{capped, iso_ms, text, Draft, DraftMessage, NotImported, Parsed};
use crate::types::chat::Role;
use serde_json::Value;

/// One conversation of the export.
pub fn read(conv: &Value) -> Parsed {
    let source_id = text(conv.get("uuid"));
    let title = text(conv.get("name"));
    if source_id.is_empty() {
        return Err(NotImported {
            title,
            reason: "it has no uuid".into(),
        });
    }
    let Some(list) = conv.get("chat_messages").and_then(Value::as_array) else {
        return Err(NotImported {
            title,
            reason: "its chat_messages are missing".into(),
        });
    };
    let mut d = Draft {
        source_id,
        title,
        created: iso_ms(conv.get("created_at")),
        updated: iso_ms(conv.get("updated_at")),
        ..Default::default()
    };
    for m in list {
        let role = match m.get("sender").and_then(Value::as_str) {
            Some("human") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => {
                d.left_out += 1;
                continue;
            }
        };
        let mut body = String::new();
        let mut reasoning = Vec::new();
        match m
            .get("content")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        {
            Some(blocks) => {
                for b in blocks {
                    match b.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            if !body.is_empty() {
                                body.push_str("\n\n");
                            }
                            body.push_str(&text(b.get("text")));
                        }
                        Some("thinking") => reasoning.push(text(b.get("thinking"))),
                        _ => {}
                    }
                }
            }
            None => body = text(m.get("text")),
        }
        for a in m
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let content = text(a.get("extracted_content"));
            if content.is_empty() {
                continue;
            }
            let name = crate::attach::clean_name(&text(a.get("file_name")));
            body.push_str(&format!("\n\n**{name}**\n\n````\n{content}\n````"));
        }
        d.messages.push(DraftMessage {
            role: Some(role),
            text: capped(body),
            reasoning: (!reasoning.is_empty()).then(|| capped(reasoning.join("\n\n"))),
            created: iso_ms(m.get("created_at")),
            model: None,
            ..Default::default()
        });
    }
    Ok(d)
}
