//! Conversations from other apps: `import_path` detects the format of a file
//! or folder and imports every conversation in it, reporting what was
//! imported, skipped (imported before, or nothing to import) and rejected
//! (with the reason). Nothing in a file is trusted: each conversation is
//! checked like a Runnel import (roles, sizes), and all the accepted ones are
//! stored in one transaction, so a file either adds its conversations or,
//! when it cannot be read at all, nothing.
//!
//! One file per format: [`chatgpt`] (ChatGPT's data export), [`claude`]
//! (Claude's data export), [`openwebui`] (Open WebUI's chat export), [`llm`]
//! (simonw/llm's `logs.db`); Runnel's own JSON goes through the store.
//! A file may be the export's .zip (its conversations.json is read, at most
//! [`MAX_FOREIGN_JSON_BYTES`] of it). Imported conversations keep their
//! dates, and `imports` remembers their source and id there.

pub mod chatgpt;
pub mod claude;
pub mod llm;
pub mod openwebui;

use crate::store::{
    new_id, problems, ConversationSummary, Deleted, ImportItem, Message, MessageStatus, Store,
    StoreError, MAX_IMPORTED_TEXT_BYTES,
};
use crate::types::chat::Role;
use std::path::Path;

/// The largest file of another app's JSON read (it is read whole).
pub const MAX_FOREIGN_JSON_BYTES: u64 = 256 * 1024 * 1024;
/// The longest title kept (longer ones are cut).
const TITLE_CHARS: usize = 200;

/// Where conversations came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Runnel's own JSON export.
    Runnel,
    /// ChatGPT's data export (`conversations.json`).
    Chatgpt,
    /// Claude's data export (`conversations.json`).
    Claude,
    /// Open WebUI's chat export.
    OpenWebui,
    /// simonw/llm's `logs.db`.
    Llm,
}

impl Source {
    /// The name stored in `imports` and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Runnel => "runnel",
            Self::Chatgpt => "chatgpt",
            Self::Claude => "claude",
            Self::OpenWebui => "open-webui",
            Self::Llm => "llm",
        }
    }
}

/// A conversation not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct NotImported {
    /// Its title (or id) in the source.
    pub title: String,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct ImportReport {
    /// The format found.
    pub source: Source,
    /// The new conversations' ids.
    pub imported: Vec<String>,
    /// Imported before, or with nothing to import.
    pub skipped: Vec<NotImported>,
    /// Refused: the file's data for them is invalid.
    pub rejected: Vec<NotImported>,
    /// Messages left out on purpose (hidden, system and tool messages).
    pub messages_left_out: usize,
}

/// One message as read from another app.
#[derive(Debug, Clone, Default)]
pub struct DraftMessage {
    /// User or assistant (others are never drafted).
    pub role: Option<Role>,
    /// The text.
    pub text: String,
    /// Reasoning shown apart, if the source kept it.
    pub reasoning: Option<String>,
    /// When (ms since the epoch), if known.
    pub created: Option<i64>,
    /// The model that answered, if known.
    pub model: Option<String>,
    /// In a tree draft: the message it follows (an index into the draft's
    /// messages, always an earlier one); None: a first message.
    pub parent: Option<usize>,
    /// In a tree draft: on the branch the source showed.
    pub shown: bool,
}

/// One conversation as read from another app.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Its id in the source.
    pub source_id: String,
    /// Its title there.
    pub title: String,
    /// Created (ms).
    pub created: Option<i64>,
    /// Last changed (ms).
    pub updated: Option<i64>,
    /// Its system prompt, if any.
    pub system_prompt: String,
    /// Its messages in order: one branch, each following the one before;
    /// or, in a tree draft, parents before their children.
    pub messages: Vec<DraftMessage>,
    /// The messages form a tree by their `parent` (every branch kept).
    pub tree: bool,
    /// Messages left out (hidden ones, tools, branches a format does not keep).
    pub left_out: usize,
}

/// A draft read, or why it could not be.
pub type Parsed = Result<Draft, NotImported>;

fn invalid(what: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!(
        "The file was not imported (nothing was stored): {what}"
    ))
}

/// Imports a file or folder of conversations in whatever supported format it is.
pub fn import_path(store: &Store, path: &Path) -> Result<ImportReport, StoreError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| invalid(format!("{} cannot be read ({e})", path.display())))?;
    if meta.is_dir() {
        for name in ["conversations.json", "logs.db"] {
            let inner = path.join(name);
            if inner.is_file() {
                return import_path(store, &inner);
            }
        }
        return Err(invalid(format!(
            "{} has no conversations.json (ChatGPT, Claude) or logs.db (llm)",
            path.display()
        )));
    }
    let mut head = [0u8; 16];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path)
            .map_err(|e| invalid(format!("{} cannot be read ({e})", path.display())))?;
        f.read(&mut head).unwrap_or(0)
    };
    if n == 16 && &head == b"SQLite format 3\0" {
        let drafts = llm::read(path)?;
        return store_drafts(store, Source::Llm, drafts);
    }
    let bytes = if n >= 4 && &head[..4] == b"PK\x03\x04" {
        json_in_zip(path)?
    } else if meta.len() > MAX_FOREIGN_JSON_BYTES {
        // Only Runnel's own export is read as a stream.
        return import_runnel(store, path);
    } else {
        std::fs::read(path)
            .map_err(|e| invalid(format!("{} cannot be read ({e})", path.display())))?
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("it is not JSON ({e})")))?;
    drop(bytes);
    let first = match &value {
        serde_json::Value::Array(a) => a.first(),
        v => Some(v),
    };
    let Some(first) = first else {
        return Err(invalid("it holds no conversation"));
    };
    let items = |v: serde_json::Value| match v {
        serde_json::Value::Array(a) => a,
        v => vec![v],
    };
    let drafts: Vec<Parsed> =
        if first.get("format").and_then(|f| f.as_str()) == Some(crate::store::EXPORT_FORMAT) {
            let id = store.import_json(&value)?;
            return Ok(ImportReport {
                source: Source::Runnel,
                imported: vec![id],
                skipped: Vec::new(),
                rejected: Vec::new(),
                messages_left_out: 0,
            });
        } else if first.get("mapping").is_some() {
            return store_drafts(
                store,
                Source::Chatgpt,
                items(value).iter().map(chatgpt::read).collect(),
            );
        } else if first.get("chat_messages").is_some() {
            return store_drafts(
                store,
                Source::Claude,
                items(value).iter().map(claude::read).collect(),
            );
        } else if first
            .get("chat")
            .is_some_and(|c| c.get("history").is_some() || c.get("messages").is_some())
        {
            items(value).iter().map(openwebui::read).collect()
        } else {
            return Err(invalid(
                "its format is not one Runnel imports (ChatGPT, Claude, Open WebUI, llm, Runnel)",
            ));
        };
    store_drafts(store, Source::OpenWebui, drafts)
}

/// The conversations.json of an export's .zip (the one nearest the top),
/// read up to [`MAX_FOREIGN_JSON_BYTES`] however large it claims to be.
fn json_in_zip(path: &Path) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| invalid(format!("{} cannot be read ({e})", path.display())))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| invalid(format!("it is not a readable .zip ({e})")))?;
    let name = zip
        .file_names()
        .filter(|n| n.rsplit('/').next() == Some("conversations.json"))
        .min_by_key(|n| n.matches('/').count())
        .map(str::to_owned)
        .ok_or_else(|| invalid("the .zip has no conversations.json (ChatGPT, Claude)"))?;
    let entry = zip
        .by_name(&name)
        .map_err(|e| invalid(format!("its {name} cannot be read ({e})")))?;
    let mut bytes = Vec::new();
    entry
        .take(MAX_FOREIGN_JSON_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("its {name} cannot be read ({e})")))?;
    if bytes.len() as u64 > MAX_FOREIGN_JSON_BYTES {
        return Err(invalid(format!(
            "its {name} is larger than {} MiB",
            MAX_FOREIGN_JSON_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// A Runnel export: one conversation, its id in the file the key.
fn import_runnel(store: &Store, path: &Path) -> Result<ImportReport, StoreError> {
    let id = store.import_file(path)?;
    Ok(ImportReport {
        source: Source::Runnel,
        imported: vec![id],
        skipped: Vec::new(),
        rejected: Vec::new(),
        messages_left_out: 0,
    })
}

/// Checks each draft, then stores the good ones in one transaction.
fn store_drafts(
    store: &Store,
    source: Source,
    drafts: Vec<Parsed>,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport {
        source,
        imported: Vec::new(),
        skipped: Vec::new(),
        rejected: Vec::new(),
        messages_left_out: 0,
    };
    let mut items = Vec::new();
    let mut titles = std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for d in drafts {
        match d {
            Err(n) => report.rejected.push(n),
            Ok(d) => {
                report.messages_left_out += d.left_out;
                let title = if d.title.trim().is_empty() {
                    d.source_id.clone()
                } else {
                    d.title.clone()
                };
                if !seen.insert(d.source_id.clone()) {
                    report.skipped.push(NotImported {
                        title,
                        reason: "it is in the file twice".into(),
                    });
                    continue;
                }
                if d.messages.is_empty() {
                    report.skipped.push(NotImported {
                        title,
                        reason: "it has no message to import".into(),
                    });
                    continue;
                }
                match build(source, d) {
                    Ok(item) => {
                        titles.insert(item.source_id.clone(), title);
                        items.push(item);
                    }
                    Err(reason) => report.rejected.push(NotImported { title, reason }),
                }
            }
        }
    }
    let stored = store.import_conversations(source.as_str(), &items)?;
    report.imported = stored.imported;
    for (source_id, id) in stored.already {
        report.skipped.push(NotImported {
            title: titles.remove(&source_id).unwrap_or(source_id),
            reason: format!("it was imported before (conversation {id})"),
        });
    }
    Ok(report)
}

/// The provider an imported answer is labelled with.
fn provider_of(source: Source) -> &'static str {
    match source {
        Source::Chatgpt => "openai",
        Source::Claude => "anthropic",
        other => other.as_str(),
    }
}

/// A draft as rows with new ids: one message per turn (a turn that follows
/// one of the same role with nothing else after it is joined to it), each
/// following the one before it or, in a tree draft, its parent (a left-out
/// message's children follow its nearest kept ancestor). The branch shown is
/// the source's; the store settles which branch each fork shows.
fn build(source: Source, d: Draft) -> Result<ImportItem, String> {
    let now = crate::store::now_ms();
    let conv_id = new_id();
    let mut messages: Vec<Message> = Vec::new();
    let mut last_time = d.created.unwrap_or(now);
    // Each draft's message (its own, the one it joined, or, left out, its
    // nearest kept ancestor's): an index into `messages`.
    let mut placed: Vec<Option<usize>> = Vec::with_capacity(d.messages.len());
    // How many drafts follow each draft: only an only child is joined.
    let mut children = vec![0usize; d.messages.len()];
    // Whether nothing branches between a draft and the message it was
    // placed on (a left-out draft's children follow its kept ancestor, which
    // may have other branches): only then may a child be joined to it.
    let mut sole: Vec<bool> = Vec::with_capacity(d.messages.len());
    for m in &d.messages {
        if let Some(p) = m.parent.filter(|&p| p < children.len()) {
            children[p] += 1;
        }
    }
    for (i, m) in d.messages.into_iter().enumerate() {
        let parent_draft = if d.tree {
            m.parent.filter(|&p| p < i)
        } else {
            i.checked_sub(1)
        };
        let parent = parent_draft.and_then(|p| placed[p]);
        let Some(role) = m
            .role
            .filter(|_| !(m.text.trim().is_empty() && m.reasoning.is_none()))
        else {
            placed.push(parent);
            sole.push(!d.tree || parent_draft.is_some_and(|p| sole[p] && children[p] == 1));
            continue;
        };
        let created = m.created.unwrap_or(last_time);
        last_time = created;
        let only_child = !d.tree || parent_draft.is_some_and(|p| sole[p] && children[p] == 1);
        sole.push(true);
        if let Some(at) = parent.filter(|&at| only_child && messages[at].role == role) {
            let prev = &mut messages[at];
            if !prev.content.is_empty() && !m.text.is_empty() {
                prev.content.push_str("\n\n");
            }
            prev.content.push_str(&m.text);
            if role == Role::Assistant && m.model.is_some() {
                prev.model = m.model;
            }
            if let Some(r) = m.reasoning {
                let joined = prev
                    .reasoning
                    .take()
                    .map_or(r.clone(), |p| format!("{p}\n\n{r}"));
                prev.reasoning = Some(joined);
            }
            prev.active |= m.shown;
            placed.push(Some(at));
            continue;
        }
        let is_answer = role == Role::Assistant;
        let seq = parent.map_or(0, |p| messages[p].seq + 1);
        messages.push(Message {
            id: new_id(),
            conversation_id: conv_id.clone(),
            seq,
            role,
            content: m.text,
            reasoning: m.reasoning,
            tool_calls: None,
            status: MessageStatus::Done,
            error_kind: None,
            error_message: None,
            finish_reason: None,
            usage: None,
            metrics: None,
            created,
            parent_id: parent.map(|p| messages[p].id.clone()),
            variant_of: None,
            active: !d.tree || m.shown,
            chosen: !d.tree,
            thinking_blocks: None,
            provider: is_answer.then(|| provider_of(source).to_owned()),
            model: if is_answer { m.model } else { None },
            tool_steps: None,
        });
        placed.push(Some(messages.len() - 1));
    }
    if messages.is_empty() {
        return Err("it has no message with text".into());
    }
    let title: String = d.title.trim().chars().take(TITLE_CHARS).collect();
    let created = d.created.unwrap_or_else(|| messages[0].created);
    let conversation = ConversationSummary {
        id: conv_id,
        title: if title.is_empty() {
            crate::store::title_from(&messages[0].content)
        } else {
            title
        },
        created,
        updated: d.updated.unwrap_or(last_time).max(created),
        pinned: false,
        provider: None,
        model: None,
        system_prompt: d.system_prompt,
        thinking_budget: None,
        sampling: Default::default(),
    };
    let found = problems(&conversation, &messages);
    if !found.is_empty() {
        return Err(found.join("; "));
    }
    Ok(ImportItem {
        source_id: d.source_id,
        conversation: Deleted {
            conversation,
            messages,
            attachments: Vec::new(),
            tools_off: Vec::new(),
        },
    })
}

/// Seconds (a JSON number, possibly fractional) as ms.
pub(crate) fn secs_ms(v: Option<&serde_json::Value>) -> Option<i64> {
    let s = v?.as_f64()?;
    (s.is_finite() && s > 0.0 && s < 1e11).then_some((s * 1000.0) as i64)
}

/// An RFC 3339 string (a missing zone read as UTC) as ms.
pub(crate) fn iso_ms(v: Option<&serde_json::Value>) -> Option<i64> {
    let s = v?.as_str()?;
    crate::types::time::parse_rfc3339(s)
        .or_else(|| crate::types::time::parse_rfc3339(&format!("{s}Z")))
}

/// A string field, or "".
pub(crate) fn text(v: Option<&serde_json::Value>) -> String {
    v.and_then(|v| v.as_str()).unwrap_or_default().to_owned()
}

/// Text of a message longer than the store takes is refused by `problems`;
/// this keeps a hostile file from building it first.
pub(crate) fn capped(mut s: String) -> String {
    if s.len() > MAX_IMPORTED_TEXT_BYTES + 1 {
        let mut at = MAX_IMPORTED_TEXT_BYTES + 1;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}
