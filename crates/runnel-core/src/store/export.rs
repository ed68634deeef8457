//! Export (Markdown, Runnel JSON) and import of Runnel JSON.

use super::model::{ConversationSummary, Deleted, Message, WHOLE_CONVERSATION};
use super::AttachmentRow;
use super::{new_id, Store, StoreError};
use crate::types::chat::Role;
use crate::types::error::shorten;
use crate::types::status::MessageStatus;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

impl Store {
    /// The conversation as Markdown (the branch shown).
    pub fn export_markdown(&self, id: &str) -> Result<String, StoreError> {
        let c = self.conversation(id)?;
        let mut out = format!("# {}\n\n", c.title);
        if !c.system_prompt.trim().is_empty() {
            out.push_str(&format!(
                "> System: {}\n\n",
                c.system_prompt.trim().replace('\n', "\n> ")
            ));
        }
        for m in self.messages(id, None, WHOLE_CONVERSATION)? {
            let who = if m.role == Role::User {
                "You"
            } else {
                "Assistant"
            };
            out.push_str(&format!("## {who}\n\n"));
            if let Some(r) = m.reasoning.as_deref().filter(|r| !r.is_empty()) {
                out.push_str(&format!(
                    "<details><summary>Thinking</summary>\n\n{r}\n\n</details>\n\n"
                ));
            }
            out.push_str(m.content.trim_end());
            out.push_str("\n\n");
            for s in m.tool_steps.iter().flatten() {
                out.push_str(&step_markdown(s));
            }
            if m.status != MessageStatus::Done {
                out.push_str(&format!("*({})*\n\n", m.status.as_str()));
            }
        }
        Ok(out)
    }

    /// The conversation as Runnel JSON (everything, every branch).
    pub fn export_json(&self, id: &str) -> Result<serde_json::Value, StoreError> {
        use base64::Engine as _;
        let d = Deleted {
            conversation: self.conversation(id)?,
            messages: self.all_messages(id)?,
            attachments: self.attachment_rows(id)?,
            tools_off: self.tools_off(id)?,
        };
        // Each file's bytes once, as base64, by key.
        let mut blobs = serde_json::Map::new();
        for a in &d.attachments {
            if !blobs.contains_key(&a.sha256) {
                let data = self.blob(&a.sha256)?;
                blobs.insert(
                    a.sha256.clone(),
                    base64::engine::general_purpose::STANDARD
                        .encode(data)
                        .into(),
                );
            }
        }
        let mut out = serde_json::json!({
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "conversation": d.conversation,
            "messages": d.messages,
        });
        if !d.tools_off.is_empty() {
            out["tools_off"] = serde_json::json!(d.tools_off);
        }
        if !d.attachments.is_empty() {
            out["attachments"] = serde_json::to_value(&d.attachments)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            out["blobs"] = serde_json::Value::Object(blobs);
        }
        Ok(out)
    }

    /// Imports a Runnel JSON export (a parsed value) as a new conversation;
    /// see [`Store::import_file`] for what is checked.
    pub fn import_json(&self, v: &serde_json::Value) -> Result<String, StoreError> {
        let export = Export::deserialize(v).map_err(|e| unreadable(&e))?;
        self.import_export(export)
    }

    /// Imports a Runnel JSON export file as a new conversation (new ids);
    /// returns its id. The file is read as a stream into typed rows (no JSON
    /// tree of the whole file), up to [`MAX_IMPORT_BYTES`]. Nothing in it is
    /// trusted: roles, sizes, ids and references are checked, positions are
    /// renumbered, and a file with any invalid message is refused whole, with
    /// each problem named; nothing is stored then.
    pub fn import_file(&self, path: &Path) -> Result<String, StoreError> {
        let size = std::fs::metadata(path)
            .map_err(|e| StoreError::Invalid(format!("could not read {}: {e}", path.display())))?
            .len();
        if size > MAX_IMPORT_BYTES {
            return Err(StoreError::Invalid(format!(
                "{} is {} MiB: imports are limited to {} MiB",
                path.display(),
                size / (1024 * 1024),
                MAX_IMPORT_BYTES / (1024 * 1024)
            )));
        }
        let file = std::fs::File::open(path)
            .map_err(|e| StoreError::Invalid(format!("could not read {}: {e}", path.display())))?;
        let export: Export =
            serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| unreadable(&e))?;
        self.import_export(export)
    }

    fn import_export(&self, export: Export) -> Result<String, StoreError> {
        if export.format != EXPORT_FORMAT {
            return Err(StoreError::Invalid(
                "This is not a Runnel conversation export".into(),
            ));
        }
        if export.version != EXPORT_VERSION {
            return Err(StoreError::Invalid(format!(
                "This export is version {} (this Runnel reads version {EXPORT_VERSION}): update Runnel",
                export.version
            )));
        }
        let Export {
            mut conversation,
            mut messages,
            mut attachments,
            blobs,
            tools_off,
            ..
        } = export;
        let mut problems = problems(&conversation, &messages);
        let files = check_files(&messages, &mut attachments, &blobs, &mut problems);
        if !problems.is_empty() {
            let shown: Vec<&str> = problems
                .iter()
                .take(PROBLEMS_SHOWN)
                .map(String::as_str)
                .collect();
            let more = problems.len().saturating_sub(PROBLEMS_SHOWN);
            return Err(StoreError::Invalid(format!(
                "The file was not imported (nothing was stored): {}{}",
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            )));
        }
        // Positions are renumbered densely in their order (versions share one),
        // so no imported value can push later sends past i64's range.
        let mut seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let new_conv = new_id();
        let mut ids = HashMap::new();
        for m in &messages {
            ids.insert(m.id.clone(), new_id());
        }
        for m in &mut messages {
            m.id = ids[&m.id].clone();
            m.conversation_id = new_conv.clone();
            m.seq = seqs.binary_search(&m.seq).unwrap_or(0) as i64;
            m.parent_id = m.parent_id.as_ref().and_then(|p| ids.get(p).cloned());
            m.variant_of = m.variant_of.as_ref().and_then(|p| ids.get(p).cloned());
        }
        for a in &mut attachments {
            a.message_id = ids[&a.message_id].clone();
        }
        conversation.id = new_conv.clone();
        conversation.pinned = false;
        // An export made before branches chose nothing: its versions become
        // the tree as a migration makes them. Otherwise the file's choices
        // stand, made consistent (what is shown is derived, never trusted).
        let before_branches = !messages.iter().any(|m| m.chosen);
        self.put_blobs(&files)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        super::conversations::restore_in(
            &tx,
            &Deleted {
                conversation,
                messages,
                attachments,
                tools_off,
            },
        )?;
        if before_branches {
            super::tree::rebuild(&tx, &new_conv)?;
        } else {
            super::tree::settle(&tx, &new_conv)?;
        }
        tx.commit()?;
        Ok(new_conv)
    }
}

/// The `format` of a Runnel conversation export.
pub const EXPORT_FORMAT: &str = "runnel-conversation";
/// The export version this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;
/// The largest export file imported (real exports reach hundreds of MB).
pub const MAX_IMPORT_BYTES: u64 = 1024 * 1024 * 1024;
/// The most text one imported message or system prompt may carry.
pub const MAX_IMPORTED_TEXT_BYTES: usize = crate::engine::MAX_ANSWER_BYTES;
/// The longest title kept.
const MAX_TITLE_CHARS: usize = 500;
/// How many problems a refused import names before "and N more".
const PROBLEMS_SHOWN: usize = 10;

/// A Runnel JSON export, typed.
#[derive(Debug, Deserialize)]
struct Export {
    format: String,
    version: u32,
    conversation: ConversationSummary,
    messages: Vec<Message>,
    /// Attachment rows (exports before attachments have none).
    #[serde(default)]
    attachments: Vec<AttachmentRow>,
    /// Each file's bytes as base64, by SHA-256.
    #[serde(default)]
    blobs: HashMap<String, String>,
    /// Tools switched off in the conversation (exports before tools have none).
    #[serde(default)]
    tools_off: Vec<String>,
}

/// Checks an import's files: every blob's bytes match its key, every row
/// names a message of the file and a blob of the file, and names are shown
/// clean. Returns the decoded blobs.
/// A tool step in a Markdown export: the call, whether it ran, and its
/// result, fenced (a fence longer than any backtick run inside).
fn step_markdown(s: &crate::types::tool::ToolStep) -> String {
    let fence =
        "`".repeat(3.max(longest_backticks(&s.arguments).max(longest_backticks(&s.result)) + 1));
    let how = serde_json::to_value(s.approved)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let error = if s.is_error { ", error" } else { "" };
    format!(
        "**Tool {}** ({how}{error}, {} ms)\n\n{fence}json\n{}\n{fence}\n\n{fence}\n{}\n{fence}\n\n",
        s.name, s.duration_ms, s.arguments, s.result
    )
}

fn longest_backticks(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn check_files(
    messages: &[Message],
    rows: &mut [AttachmentRow],
    blobs: &HashMap<String, String>,
    problems: &mut Vec<String>,
) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let mut files = Vec::new();
    for (key, b64) in blobs {
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(data) if crate::attach::sha256_hex(&data) == *key => {
                files.push((key.clone(), data));
            }
            Ok(_) => problems.push(format!(
                "the file {} does not match its key",
                shorten(key, 16)
            )),
            Err(_) => problems.push(format!("the file {} is not base64", shorten(key, 16))),
        }
    }
    let ids: HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    let keys: HashSet<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
    let sizes: HashMap<&str, usize> = files.iter().map(|(k, d)| (k.as_str(), d.len())).collect();
    let mut seen = HashSet::new();
    for a in rows.iter_mut() {
        if !ids.contains(a.message_id.as_str()) {
            problems.push(format!(
                "a file goes with a message that is not in the file ({})",
                shorten(&a.message_id, 40)
            ));
        }
        if !keys.contains(a.sha256.as_str()) {
            problems.push(format!("the bytes of {} are missing", shorten(&a.name, 40)));
        }
        if !seen.insert((a.message_id.clone(), a.pos)) {
            problems.push(format!("two files share place {} of a message", a.pos));
        }
        if a.text
            .as_ref()
            .is_some_and(|t| t.len() > crate::attach::MAX_TEXT_BYTES)
        {
            problems.push(format!("the text of {} is too large", shorten(&a.name, 40)));
        }
        a.name = crate::attach::clean_name(&a.name);
        a.size = sizes.get(a.sha256.as_str()).copied().unwrap_or(0) as u64;
    }
    files
}

fn unreadable(e: &serde_json::Error) -> StoreError {
    StoreError::Invalid(format!(
        "The file was not imported (nothing was stored): it is not a readable Runnel export ({e})"
    ))
}

/// Every reason not to import a conversation: each names the message and
/// what is wrong (every importer checks with it).
pub fn problems(c: &ConversationSummary, messages: &[Message]) -> Vec<String> {
    let mut out = Vec::new();
    if c.title.chars().count() > MAX_TITLE_CHARS {
        out.push(format!(
            "the title is longer than {MAX_TITLE_CHARS} characters"
        ));
    }
    if c.system_prompt.len() > MAX_IMPORTED_TEXT_BYTES {
        out.push("the system prompt is too large".to_owned());
    }
    let ids: HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    let seq_of: HashMap<&str, i64> = messages.iter().map(|m| (m.id.as_str(), m.seq)).collect();
    if ids.len() != messages.len() {
        out.push("two messages share an id".to_owned());
    }
    for (i, m) in messages.iter().enumerate() {
        let at = format!("message {} ({:?})", i + 1, shorten(&m.id, 40));
        if m.id.is_empty() {
            out.push(format!("{at} has no id"));
        }
        if !matches!(m.role, Role::User | Role::Assistant) {
            // A message the window does not show but every later turn would
            // send: a hidden prompt injection.
            out.push(format!(
                "{at} has the role {}: only user and assistant messages are imported",
                m.role.as_str()
            ));
        }
        let text = m.content.len()
            + m.reasoning.as_ref().map_or(0, String::len)
            + m.tool_calls
                .iter()
                .flatten()
                .map(|t| t.arguments.len())
                .sum::<usize>()
            + m.tool_steps
                .iter()
                .flatten()
                .map(|s| {
                    s.arguments.len()
                        + s.result.len()
                        + s.images.iter().map(|i| i.data.len()).sum::<usize>()
                })
                .sum::<usize>();
        if m.tool_steps.as_ref().is_some_and(|s| !s.is_empty()) && m.role != Role::Assistant {
            // Results on a question would be sent as if tools had answered.
            out.push(format!("{at} is a question with tool steps"));
        }
        if text > MAX_IMPORTED_TEXT_BYTES {
            out.push(format!(
                "{at} carries more than {} MiB of text",
                MAX_IMPORTED_TEXT_BYTES / (1024 * 1024)
            ));
        }
        if m.seq < 0 {
            out.push(format!("{at} has a negative position"));
        }
        for (what, r) in [
            ("follows", &m.parent_id),
            ("is a version of", &m.variant_of),
        ] {
            if let Some(r) = r.as_deref().filter(|r| !ids.contains(r)) {
                out.push(format!(
                    "{at} {what} {:?}, which is not in the file",
                    shorten(r, 40)
                ));
            }
        }
        // A parent comes before its children: no cycle, and the shown
        // branch is in order.
        if let Some(p) = m.parent_id.as_deref().and_then(|p| seq_of.get(p)) {
            if *p >= m.seq {
                out.push(format!("{at} follows a message that is not before it"));
            }
        }
    }
    out
}
