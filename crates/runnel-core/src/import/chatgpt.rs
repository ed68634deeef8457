//! ChatGPT's data export (`conversations.json`): an array of conversations,
//! each a message tree. Read: `id`/`conversation_id`, `title`,
//! `create_time`/`update_time` (seconds), `current_node`, and `mapping`'s
//! nodes (`parent`, `message.author.role`, `message.content` of type `text`,
//! `multimodal_text` (its text parts and voice transcriptions), `code` (as a fenced block) and
//! `thoughts` (as the next answer's reasoning), `message.create_time`,
//! `message.recipient`, `message.weight`,
//! `message.metadata.model_slug` and `is_visually_hidden_from_conversation`).
//! `children` gives the order of a node's branches.
//! The whole tree is imported, every branch (a regenerated answer, an edited
//! question), with the branch shown (root to `current_node`) shown; hidden,
//! system and tool messages, messages addressed to tools and images are left
//! out and counted, their children following their nearest kept ancestor.

use super::{capped, secs_ms, text, Draft, DraftMessage, NotImported, Parsed};
use crate::types::chat::Role;
use serde_json::Value;

/// A part's text: a string, or a voice chat's transcription.
fn part_text(part: &Value) -> Option<&str> {
    part.as_str().or_else(|| {
        if part.get("content_type").and_then(Value::as_str) == Some("audio_transcription") {
            part.get("text").and_then(Value::as_str)
        } else {
            None
        }
    })
}

/// One conversation of the export.
pub fn read(conv: &Value) -> Parsed {
    let source_id = {
        let id = text(conv.get("conversation_id").or_else(|| conv.get("id")));
        if id.is_empty() {
            return Err(NotImported {
                title: text(conv.get("title")),
                reason: "it has no id".into(),
            });
        }
        id
    };
    let title = text(conv.get("title"));
    let bad = |reason: &str| NotImported {
        title: if title.is_empty() {
            source_id.clone()
        } else {
            title.clone()
        },
        reason: reason.to_owned(),
    };
    let Some(mapping) = conv.get("mapping").and_then(Value::as_object) else {
        return Err(bad("its message tree (mapping) is missing"));
    };
    // The branch shown: from the current node up to the root.
    let mut shown = std::collections::HashSet::new();
    let mut node = conv
        .get("current_node")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            // No current node: the last leaf (in key order).
            mapping
                .iter()
                .rev()
                .find(|(_, n)| {
                    n.get("children")
                        .and_then(Value::as_array)
                        .is_none_or(|c| c.is_empty())
                })
                .map(|(k, _)| k.clone())
        });
    while let Some(id) = node {
        if !shown.insert(id.clone()) {
            return Err(bad("its message tree has a cycle"));
        }
        let Some(n) = mapping.get(&id) else {
            return Err(bad("a node of its message tree is missing"));
        };
        node = n.get("parent").and_then(Value::as_str).map(str::to_owned);
    }
    // Every node from the roots down, parents first, branches in `children`
    // order; each with the draft message it follows and the reasoning
    // waiting for the next answer on its branch.
    let children_of = |n: &Value| -> Vec<String> {
        n.get("children")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut roots: Vec<String> = mapping
        .iter()
        .filter(|(_, n)| {
            n.get("parent")
                .and_then(Value::as_str)
                .is_none_or(|p| !mapping.contains_key(p))
        })
        .map(|(k, _)| k.clone())
        .collect();
    roots.reverse();
    let mut stack: Vec<(String, Option<usize>, Option<String>)> =
        roots.into_iter().map(|r| (r, None, None)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut d = Draft {
        source_id,
        title,
        created: secs_ms(conv.get("create_time")),
        updated: secs_ms(conv.get("update_time")),
        tree: true,
        ..Default::default()
    };
    while let Some((id, parent, mut thoughts)) = stack.pop() {
        // A node reached twice (a child listed by two parents) is read once.
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(n) = mapping.get(&id) else {
            continue;
        };
        let placed = read_node(n, shown.contains(&id), parent, &mut thoughts, &mut d);
        for child in children_of(n).into_iter().rev() {
            // Only a node's own children: a listed child claiming another parent is not followed here.
            let claims = mapping
                .get(&child)
                .and_then(|c| c.get("parent"))
                .and_then(Value::as_str);
            if claims == Some(id.as_str()) {
                stack.push((child, placed, thoughts.clone()));
            }
        }
    }
    // Messages no root leads to (a detached cycle) are counted, not lost silently.
    d.left_out += mapping
        .iter()
        .filter(|(k, n)| !seen.contains(*k) && n.get("message").is_some_and(|m| !m.is_null()))
        .count();
    Ok(d)
}

/// Reads one node into the draft (or counts it left out); returns the draft
/// message its children follow.
fn read_node(
    n: &Value,
    shown: bool,
    parent: Option<usize>,
    thoughts: &mut Option<String>,
    d: &mut Draft,
) -> Option<usize> {
    let Some(m) = n.get("message").filter(|m| !m.is_null()) else {
        return parent;
    };
    let role = match m.pointer("/author/role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        _ => {
            d.left_out += 1;
            return parent;
        }
    };
    let hidden = m
        .pointer("/metadata/is_visually_hidden_from_conversation")
        .and_then(Value::as_bool)
        == Some(true)
        || m.get("weight").and_then(Value::as_f64) == Some(0.0)
        || m.get("recipient")
            .and_then(Value::as_str)
            .is_some_and(|r| r != "all");
    if hidden {
        d.left_out += 1;
        return parent;
    }
    let content = m.get("content").unwrap_or(&Value::Null);
    let body = match content.get("content_type").and_then(Value::as_str) {
        Some("text") | Some("multimodal_text") => {
            // Text parts, and what was said in a voice chat; images and audio are left out.
            let parts: Vec<&str> = content
                .get("parts")
                .and_then(Value::as_array)
                .map(|p| p.iter().filter_map(part_text).collect())
                .unwrap_or_default();
            parts.join("\n")
        }
        Some("code") => {
            let lang = text(content.get("language"));
            let lang = if lang == "unknown" {
                String::new()
            } else {
                lang
            };
            format!("```{lang}\n{}\n```", text(content.get("text")))
        }
        Some("thoughts") => {
            let t: Vec<String> = content
                .get("thoughts")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|t| text(t.get("content")))
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !t.is_empty() {
                *thoughts = Some(capped(t.join("\n\n")));
            }
            return parent;
        }
        _ => {
            d.left_out += 1;
            return parent;
        }
    };
    d.messages.push(DraftMessage {
        role: Some(role),
        text: capped(body),
        reasoning: if role == Role::Assistant {
            thoughts.take()
        } else {
            None
        },
        created: secs_ms(m.get("create_time")),
        model: m
            .pointer("/metadata/model_slug")
            .and_then(Value::as_str)
            .map(str::to_owned),
        parent,
        shown,
    });
    Some(d.messages.len() - 1)
}
