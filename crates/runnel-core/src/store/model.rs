//! What the store holds and returns: typed rows, not JSON values.

use crate::engine::Metrics;
use crate::types::answer::{ThinkingBlock, ToolCall};
use crate::types::chat::Role;
use crate::types::error::ErrorKind;
use crate::types::status::MessageStatus;
use serde::{Deserialize, Serialize};

/// A conversation in the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConversationSummary {
    /// Unique, time-ordered (see `new_id`).
    pub id: String,
    /// From the first user message until the user renames it.
    pub title: String,
    /// Created, ms since the epoch.
    pub created: i64,
    /// Last change, ms since the epoch.
    pub updated: i64,
    /// Pinned on top.
    pub pinned: bool,
    /// The saved provider its next send goes to (None: the default one).
    pub provider: Option<String>,
    /// The model its next send asks (None: the provider's default).
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: String,
    /// Anthropic extended thinking budget, when enabled for this conversation.
    #[serde(default)]
    pub thinking_budget: Option<u32>,
    /// Temperature, top-p and max tokens chosen for this conversation.
    #[serde(default)]
    pub sampling: crate::protocol::Sampling,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique, time-ordered (see `new_id`).
    pub id: String,
    /// The conversation it belongs to.
    pub conversation_id: String,
    /// Position in the conversation (versions share one).
    pub seq: i64,
    /// Who wrote it.
    pub role: Role,
    /// Text (markdown).
    pub content: String,
    /// Reasoning, if any.
    pub reasoning: Option<String>,
    /// Tool calls, if any.
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Streaming, or how it ended.
    pub status: MessageStatus,
    /// Error kind, when status is error.
    pub error_kind: Option<ErrorKind>,
    /// Error message, when status is error.
    pub error_message: Option<String>,
    /// The provider's last finish reason (`stop`, `length`, `tool_calls`...).
    pub finish_reason: Option<String>,
    /// Token counts.
    pub usage: Option<StoredUsage>,
    /// Timings.
    pub metrics: Option<Metrics>,
    /// Created, ms since the epoch.
    pub created: i64,
    /// The message before it on its branch (for an answer, its question);
    /// None for a conversation's first messages.
    pub parent_id: Option<String>,
    /// Before branches (schema 8): the first version this message was a
    /// version of. Read from old exports, no longer written.
    pub variant_of: Option<String>,
    /// On the shown branch.
    pub active: bool,
    /// The chosen one of its siblings (the branch last shown at its fork);
    /// false in exports made before branches.
    #[serde(default)]
    pub chosen: bool,
    /// Thinking blocks with signatures (Anthropic), sent back on later turns.
    #[serde(default)]
    pub thinking_blocks: Option<Vec<ThinkingBlock>>,
    /// The provider that answered (see `Endpoint::provider_label`); None for
    /// user messages and answers stored before schema 5.
    #[serde(default)]
    pub provider: Option<String>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// The tools it called, with their approvals and results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_steps: Option<Vec<crate::types::tool::ToolStep>>,
}

/// How a stream ended, for [`Store::finish_message`].
#[derive(Debug, Clone)]
pub struct FinalState {
    /// Final status.
    pub status: MessageStatus,
    /// The answer's text as it ended (its refusal when it has no text).
    pub content: String,
    /// Its reasoning or thinking text, if any.
    pub reasoning: Option<String>,
    /// Tool calls.
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The tool calls that ran (or were declined), with their results.
    pub tool_steps: Option<Vec<crate::types::tool::ToolStep>>,
    /// Error kind.
    pub error_kind: Option<ErrorKind>,
    /// Error message.
    pub error_message: Option<String>,
    /// Finish reason.
    pub finish_reason: Option<String>,
    /// Token counts.
    pub usage: Option<StoredUsage>,
    /// Timings.
    pub metrics: Option<Metrics>,
    /// Thinking blocks with signatures.
    pub thinking_blocks: Option<Vec<ThinkingBlock>>,
    /// The provider that answered.
    pub provider: Option<String>,
    /// The model that answered.
    pub model: Option<String>,
    /// What went over the wire (see `engine::trace`), when recorded.
    pub trace: Option<crate::engine::trace::Trace>,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SearchHit {
    /// Conversation.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its last change.
    pub updated: i64,
    /// The message (None for a title hit).
    pub message_id: Option<String>,
    /// Text around the match; matches are between U+E000 and U+E001.
    pub snippet: String,
}

/// What a search is narrowed to, beside its words. Every field is optional
/// and they combine. `provider` and `model` select the conversations where
/// any answer came from that provider or model (and then every message in
/// them); `role`, `since` and `until` select messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields, default)]
pub struct SearchFilter {
    /// A provider id.
    pub provider: Option<String>,
    /// A model id, exactly.
    pub model: Option<String>,
    /// Only the user's messages, or only answers.
    pub role: Option<crate::types::chat::Role>,
    /// Messages from this instant on (ms since the epoch, inclusive).
    #[ts(type = "number | null")]
    pub since: Option<i64>,
    /// Messages before this instant (ms since the epoch, exclusive).
    #[ts(type = "number | null")]
    pub until: Option<i64>,
}

impl SearchFilter {
    /// Whether it narrows to messages (title hits, which are not messages, drop out).
    pub fn selects_messages(&self) -> bool {
        self.role.is_some() || self.since.is_some() || self.until.is_some()
    }
}

/// A `limit` that means the whole conversation (the store caps any limit here).
pub const WHOLE_CONVERSATION: usize = 10_000_000;

/// Start of a highlighted match in a snippet.
pub const MARK_START: char = '\u{E000}';
/// End of a highlighted match in a snippet.
pub const MARK_END: char = '\u{E001}';

/// A sidebar page cursor: the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Cursor {
    /// Its pinned flag.
    pub pinned: bool,
    /// Its last change.
    pub updated: i64,
    /// Its id.
    pub id: String,
}

/// A deleted conversation, kept in memory for Undo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deleted {
    /// The conversation.
    pub conversation: ConversationSummary,
    /// All its messages, versions included.
    pub messages: Vec<Message>,
    /// Its messages' attachment rows (their bytes stay stored until the
    /// database is next opened).
    #[serde(default)]
    pub attachments: Vec<super::AttachmentRow>,
    /// The tools it switched off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools_off: Vec<String>,
}

/// Token counts as stored with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct StoredUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// True when the server reported none and these are estimates.
    #[serde(default)]
    pub estimated: bool,
    /// Of the prompt tokens, those read from the prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
}

impl StoredUsage {
    /// As the engine counts them.
    pub fn usage(&self) -> crate::types::answer::Usage {
        crate::types::answer::Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_input_tokens: self.cached_input_tokens,
        }
    }
}

impl FinalState {
    /// An answer that ended with `status` and nothing else to record.
    pub fn bare(status: MessageStatus) -> Self {
        Self {
            status,
            content: String::new(),
            reasoning: None,
            tool_calls: None,
            tool_steps: None,
            error_kind: None,
            error_message: None,
            finish_reason: None,
            usage: None,
            metrics: None,
            thinking_blocks: None,
            provider: None,
            model: None,
            trace: None,
        }
    }
}
