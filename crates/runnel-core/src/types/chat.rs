//! What is said to a model: roles and messages, the same for every protocol.

use crate::types::answer::ThinkingBlock;
use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The lowercase name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }

    /// The role with this name; None for an unknown one.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "system" => Self::System,
            "user" => Self::User,
            "assistant" => Self::Assistant,
            _ => return None,
        })
    }
}

/// One message sent to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
    /// Thinking blocks of an assistant turn, sent back to Anthropic (never in
    /// an OpenAI request).
    #[serde(skip)]
    pub thinking: Vec<ThinkingBlock>,
    /// Files that go with a user message (each protocol sends them its way).
    #[serde(skip)]
    pub attachments: Vec<crate::types::attachment::Attachment>,
    /// Tools an assistant turn called (sent back with it on the next request).
    #[serde(skip)]
    pub tool_calls: Vec<crate::types::answer::ToolCall>,
    /// Results of the previous assistant turn's calls: a user-role message
    /// that carries them (OpenAI sends each as a `tool` message, Anthropic
    /// as `tool_result` blocks).
    #[serde(skip)]
    pub tool_results: Vec<crate::types::tool::ToolResult>,
}

impl ChatMessage {
    /// A message with the given role and content.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            thinking: Vec::new(),
            attachments: Vec::new(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
        }
    }

    /// A user-role message carrying tool results.
    pub fn tool_results(results: Vec<crate::types::tool::ToolResult>) -> Self {
        Self {
            tool_results: results,
            ..Self::new(Role::User, "")
        }
    }

    /// True when an image goes with it (a model that takes text only refuses it).
    pub fn has_images(&self) -> bool {
        self.attachments
            .iter()
            .any(|a| a.kind == crate::types::attachment::AttachmentKind::Image)
    }

    /// Its text with the text of its text files (and of its PDFs when
    /// `pdf_as_text`) after it, each fenced under its name.
    pub fn text_with_files(&self, pdf_as_text: bool) -> String {
        use crate::types::attachment::AttachmentKind;
        let mut text = self.content.clone();
        for a in &self.attachments {
            let inline = match a.kind {
                AttachmentKind::Text => a.as_fenced_text(),
                AttachmentKind::Pdf if pdf_as_text => {
                    Some(a.as_fenced_text().unwrap_or_else(|| {
                        format!(
                            "{}: (a PDF without a text layer, so its text could not be read)",
                            a.name
                        )
                    }))
                }
                _ => None,
            };
            if let Some(t) = inline {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&t);
            }
        }
        text
    }
}

/// The text that stands for a call in a request that offers no tools.
pub fn call_as_text(c: &crate::types::answer::ToolCall) -> String {
    format!("[called the tool {} with {}]", c.name, c.arguments)
}

/// The text that stands for a result in a request that offers no tools.
pub fn result_as_text(r: &crate::types::tool::ToolResult) -> String {
    if r.is_error {
        format!("[the tool's result, an error: {}]", r.text)
    } else {
        format!("[the tool's result: {}]", r.text)
    }
}

/// The conversation with its tool calls and results written as text, for a
/// request that offers no tools (providers refuse tool blocks without
/// tools, e.g. after the server was switched off); None when it has none.
pub fn tools_as_text(messages: &[ChatMessage]) -> Option<Vec<ChatMessage>> {
    if !messages
        .iter()
        .any(|m| !m.tool_calls.is_empty() || !m.tool_results.is_empty())
    {
        return None;
    }
    Some(
        messages
            .iter()
            .map(|m| {
                let mut out = m.clone();
                for part in m
                    .tool_calls
                    .iter()
                    .map(call_as_text)
                    .chain(m.tool_results.iter().map(result_as_text))
                {
                    if !out.content.is_empty() {
                        out.content.push('\n');
                    }
                    out.content.push_str(&part);
                }
                out.tool_calls.clear();
                out.tool_results.clear();
                out
            })
            .collect(),
    )
}
