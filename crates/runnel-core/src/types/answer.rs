//! Provider-neutral pieces of a streamed answer: the deltas every protocol maps
//! its events onto, and the [`Answer`] they assemble into.

use serde::{Deserialize, Serialize};

/// Token counts of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Of the prompt tokens, those read from the provider's prompt cache
    /// (OpenAI `prompt_tokens_details.cached_tokens`, DeepSeek
    /// `prompt_cache_hit_tokens`, Anthropic `cache_read_input_tokens`);
    /// billed at the cached-input price.
    #[serde(default)]
    pub cached_input_tokens: u64,
}

/// One increment of an answer, as produced by a protocol adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// Answer text.
    Text(String),
    /// Reasoning / thinking text.
    Reasoning(String),
    /// Refusal text (OpenAI `delta.refusal`).
    Refusal(String),
    /// A new tool call starts in slot `index` (0-based, dense).
    ToolCallStart {
        /// Dense slot number.
        index: usize,
        /// Call id (may be empty if the provider sends none).
        id: String,
        /// Function name (may be empty until known).
        name: String,
    },
    /// Late-arriving id or name of a call (first non-empty value wins).
    ToolCallMeta {
        /// Dense slot number.
        index: usize,
        /// The id, if this delta carried a real one.
        id: Option<String>,
        /// The name, if this delta carried a real one.
        name: Option<String>,
    },
    /// A raw fragment of a call's JSON arguments.
    ToolCallArgs {
        /// Dense slot number.
        index: usize,
        /// The fragment, concatenated as is.
        fragment: String,
    },
    /// A thinking block starts (Anthropic); `redacted` holds a redacted block's data.
    ThinkingStart {
        /// The encrypted data of a redacted thinking block.
        redacted: Option<String>,
    },
    /// A piece of the current thinking block's signature (Anthropic).
    Signature(String),
    /// Usage as last reported by the server (replaces any earlier one).
    Usage(Usage),
    /// Finish reason (the last non-null one wins).
    Finish(String),
}

/// One tool call of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct ToolCall {
    /// Call id.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Raw concatenated JSON arguments (never re-serialized).
    pub arguments: String,
}

/// A thinking block kept so a later turn can send it back (Anthropic requires
/// the signature with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct ThinkingBlock {
    /// A redacted block (only `data` is set).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// The thinking text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thinking: String,
    /// Its signature.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
    /// A redacted block's data.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
    /// Who signed it: the provider's base URL and the model, as
    /// [`ThinkingBlock::source_of`] spells them. A block is sent back only to
    /// the same source; the API rejects another model's signature.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

impl ThinkingBlock {
    /// The source of blocks signed by `model` at `base_url`.
    pub fn source_of(base_url: &str, model: &str) -> String {
        format!("{model} at {base_url}")
    }

    /// Complete enough to send back: signed, or redacted with its data.
    pub fn is_complete(&self) -> bool {
        if self.redacted {
            !self.data.is_empty()
        } else {
            !self.signature.is_empty()
        }
    }
}

/// Everything an answer holds so far. Appending is amortized O(delta length).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Answer {
    /// Answer text ("" if none).
    pub text: String,
    /// Reasoning text, `None` if the model sent none.
    pub reasoning: Option<String>,
    /// Refusal text, `None` if none.
    pub refusal: Option<String>,
    /// Tool calls in slot order.
    pub tool_calls: Vec<ToolCall>,
    /// Last non-null finish reason.
    pub finish_reason: Option<String>,
    /// Last usage reported by the server.
    pub usage: Option<Usage>,
    /// Thinking blocks with their signatures (Anthropic), to send back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thinking_blocks: Vec<ThinkingBlock>,
}

impl Answer {
    /// Applies one delta.
    pub fn apply(&mut self, delta: &Delta) {
        match delta {
            Delta::Text(t) => self.text.push_str(t),
            Delta::Reasoning(t) => {
                self.reasoning.get_or_insert_with(String::new).push_str(t);
                if let Some(b) = self.thinking_blocks.last_mut().filter(|b| !b.redacted) {
                    b.thinking.push_str(t);
                }
            }
            Delta::ThinkingStart { redacted } => self.thinking_blocks.push(ThinkingBlock {
                redacted: redacted.is_some(),
                data: redacted.clone().unwrap_or_default(),
                ..ThinkingBlock::default()
            }),
            Delta::Signature(s) => {
                if let Some(b) = self.thinking_blocks.last_mut() {
                    b.signature.push_str(s);
                }
            }
            Delta::Refusal(t) => self.refusal.get_or_insert_with(String::new).push_str(t),
            Delta::ToolCallStart { index, id, name } => {
                let call = self.slot(*index);
                if call.id.is_empty() {
                    call.id.clone_from(id);
                }
                if call.name.is_empty() {
                    call.name.clone_from(name);
                }
            }
            Delta::ToolCallMeta { index, id, name } => {
                let call = self.slot(*index);
                if let Some(id) = id {
                    if call.id.is_empty() {
                        call.id.clone_from(id);
                    }
                }
                if let Some(name) = name {
                    if call.name.is_empty() {
                        call.name.clone_from(name);
                    }
                }
            }
            Delta::ToolCallArgs { index, fragment } => {
                self.slot(*index).arguments.push_str(fragment)
            }
            Delta::Usage(u) => self.usage = Some(*u),
            Delta::Finish(r) => self.finish_reason = Some(r.clone()),
        }
    }

    fn slot(&mut self, index: usize) -> &mut ToolCall {
        if self.tool_calls.len() <= index {
            self.tool_calls.resize_with(index + 1, ToolCall::default);
        }
        &mut self.tool_calls[index]
    }

    /// What this answer contributes to the next request's history: its text,
    /// or its refusal when it has no text.
    pub fn history_text(&self) -> String {
        if self.text.is_empty() {
            self.refusal.clone().unwrap_or_default()
        } else {
            self.text.clone()
        }
    }

    /// Replaces every occurrence of `secret` (4 characters or more) in the
    /// text, reasoning, refusal and tool calls by `<redacted>`. One scan of the
    /// answer, done once when it ends.
    pub fn redact(&mut self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        let fix = |s: &mut String| {
            if s.contains(secret) {
                *s = s.replace(secret, "<redacted>");
            }
        };
        fix(&mut self.text);
        self.reasoning.as_mut().map(fix);
        self.refusal.as_mut().map(fix);
        for c in &mut self.tool_calls {
            fix(&mut c.arguments);
            fix(&mut c.name);
            fix(&mut c.id);
        }
    }

    /// Bytes of text held: answer, reasoning, refusal and tool arguments.
    /// Cheap (no scan of the text), so it can be checked on every event.
    pub fn stored_bytes(&self) -> usize {
        self.text.len()
            + self.reasoning.as_ref().map_or(0, String::len)
            + self.refusal.as_ref().map_or(0, String::len)
            + self
                .tool_calls
                .iter()
                .map(|c| c.arguments.len())
                .sum::<usize>()
    }

    /// True when nothing at all has arrived.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
            && self.reasoning.is_none()
            && self.refusal.is_none()
            && self.tool_calls.is_empty()
    }
}

/// Rough token estimate for text when the server reports no usage (about 4
/// characters per token for English; marked as an estimate wherever shown).
pub fn estimate_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    chars.div_ceil(4)
}
