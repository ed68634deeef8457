//! Tools a model may call, and the steps of an answer that called them: what
//! was asked, whether the user allowed it, what came back and how long it
//! took. Protocol-neutral: each protocol sends tools and results its way.

use serde::{Deserialize, Serialize};

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ToolSpec {
    /// The name the model calls it by (unique in a request; see
    /// [`exposed_name`]).
    pub name: String,
    /// What it does, in the server's words.
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    #[ts(type = "unknown")]
    pub input_schema: serde_json::Value,
}

/// Longest tool name OpenAI accepts (`^[a-zA-Z0-9_-]{1,64}$`).
pub const MAX_TOOL_NAME: usize = 64;

/// The name a server's tool is offered under: `server__tool`, with every
/// character outside `[A-Za-z0-9_-]` as `_`, cut to [`MAX_TOOL_NAME`]
/// bytes, so two servers' tools of the same name never collide and every
/// protocol accepts it.
pub fn exposed_name(server: &str, tool: &str) -> String {
    let mut s: String = format!("{server}__{tool}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(MAX_TOOL_NAME);
    s
}

/// Whether the user let a call run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Allowed this once.
    Allowed,
    /// Allowed, and this tool is now always allowed.
    AllowedAlways,
    /// Allowed without asking: a trusted tool, or `--approve all`.
    Trusted,
    /// Declined by the user (the model is told so).
    Denied,
    /// Declined without asking: `--approve none`, or no terminal to ask on.
    DeniedUnasked,
    /// Not run: no enabled server offers a tool of that name, or the
    /// answer's step limit was reached.
    NotRun,
}

impl Approval {
    /// True when the call ran.
    pub fn ran(self) -> bool {
        matches!(self, Self::Allowed | Self::AllowedAlways | Self::Trusted)
    }
}

/// An image a tool returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ToolImage {
    /// Its MIME type.
    pub mime: String,
    /// Its bytes, base64.
    pub data: String,
}

/// One tool call of an answer and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ToolStep {
    /// The call's id, as the model gave it.
    pub call_id: String,
    /// The name the model called (see [`exposed_name`]).
    pub name: String,
    /// The server that has the tool (None: no enabled server has it).
    #[serde(default)]
    pub server: Option<String>,
    /// The tool's own name on that server.
    #[serde(default)]
    pub tool: Option<String>,
    /// The arguments, raw JSON as the model wrote them.
    pub arguments: String,
    /// Whether it ran.
    pub approved: Approval,
    /// The result as text (the tool's text, JSON, or what went wrong).
    pub result: String,
    /// Images the tool returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ToolImage>,
    /// The result is an error (the model sees `is_error`).
    pub is_error: bool,
    /// Time from the call's start to its result, in ms.
    pub duration_ms: u64,
    /// Which request of the answer asked for it (0 for the first).
    pub round: u32,
    /// Where in the answer's text the request that asked for it ended (a
    /// byte offset): the text before it was said before the call.
    pub at: usize,
}

/// A call the model made, before it runs: what the user is asked to allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct PendingCall {
    /// The call's id.
    pub call_id: String,
    /// The name the model called.
    pub name: String,
    /// The server that has it.
    pub server: Option<String>,
    /// The tool's own name there.
    pub tool: Option<String>,
    /// The arguments, raw JSON as the model wrote them.
    pub arguments: String,
}

/// The result of running one call, before it is recorded as a step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolOutput {
    /// Text for the model.
    pub text: String,
    /// Images.
    pub images: Vec<ToolImage>,
    /// The tool failed (or could not run).
    pub is_error: bool,
}

impl ToolOutput {
    /// An error result with this text.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            images: Vec::new(),
            is_error: true,
        }
    }
}

/// What a result message carries back for one call (the request side of a
/// step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolResult {
    /// The call it answers.
    pub call_id: String,
    /// The result text.
    pub text: String,
    /// Images.
    pub images: Vec<ToolImage>,
    /// An error.
    pub is_error: bool,
}

impl From<&ToolStep> for ToolResult {
    fn from(s: &ToolStep) -> Self {
        Self {
            call_id: s.call_id.clone(),
            text: s.result.clone(),
            images: s.images.clone(),
            is_error: s.is_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_names_are_safe_and_short() {
        assert_eq!(exposed_name("fs", "read_file"), "fs__read_file");
        assert_eq!(exposed_name("my server", "a.b/c"), "my_server__a_b_c");
        let long = exposed_name(&"s".repeat(40), &"t".repeat(40));
        assert_eq!(long.len(), MAX_TOOL_NAME);
        assert_eq!(exposed_name("é", "x"), "___x");
    }
}
