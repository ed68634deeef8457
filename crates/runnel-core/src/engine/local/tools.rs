//! Tools for local models. A model whose chat template takes tools in the
//! Hermes style (Qwen 2.5 and 3, Hermes, SmolLM3: the template names
//! `<tool_call>`) is offered them in its system prompt, sees its earlier
//! calls as `<tool_call>` blocks and their results as `<tool_response>`
//! blocks, and its `<tool_call>{"name", "arguments"}</tool_call>` output
//! becomes tool-call deltas, as a server's would. Other models are offered
//! no tools; calls and results in their history are written as plain text.

use crate::types::answer::Delta;
use crate::types::chat::{ChatMessage, Role};
use crate::types::tool::ToolSpec;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";
/// Longest call text held back while its closing tag has not come; past it
/// the text is shown as it is (a model that never closes the tag).
pub const MAX_CALL_BYTES: usize = 64 * 1024;

/// True when a chat template takes tools in the Hermes style.
pub fn takes_tools(template: &str) -> bool {
    template.contains(OPEN)
}

/// The system text that offers `tools` (the words Qwen's template uses).
pub fn tools_prompt(tools: &[ToolSpec]) -> String {
    let mut s = String::from(
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
         You are provided with function signatures within <tools></tools> XML tags:\n<tools>",
    );
    for t in tools {
        // In the order the template writes it (serde_json sorts keys).
        let f = format!(
            r#"{{"type": "function", "function": {{"name": {}, "description": {}, "parameters": {}}}}}"#,
            serde_json::Value::String(t.name.clone()),
            serde_json::Value::String(t.description.clone()),
            t.input_schema
        );
        s.push('\n');
        s.push_str(&f);
    }
    s.push_str(
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments \
         within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \
         \"arguments\": <args-json-object>}\n</tool_call>",
    );
    s
}

/// The conversation as (role, text) for the template: with `offered`
/// tools (Hermes style) in the system prompt, calls and results as the
/// template's tags; with `hermes` false, calls and results as plain text.
pub fn as_text(
    messages: &[ChatMessage],
    offered: &[ToolSpec],
    hermes: bool,
) -> Vec<(Role, String)> {
    let mut out: Vec<(Role, String)> = Vec::with_capacity(messages.len() + 1);
    for m in messages {
        let mut text = m.text_with_files(true);
        for c in &m.tool_calls {
            let args: serde_json::Value =
                serde_json::from_str(&c.arguments).unwrap_or_else(|_| serde_json::json!({}));
            let call = format!(
                r#"{{"name": {}, "arguments": {args}}}"#,
                serde_json::Value::String(c.name.clone())
            );
            if !text.is_empty() {
                text.push('\n');
            }
            if hermes {
                text.push_str(&format!("{OPEN}\n{call}\n{CLOSE}"));
            } else {
                text.push_str(&crate::types::chat::call_as_text(c));
            }
        }
        for r in &m.tool_results {
            if !text.is_empty() {
                text.push('\n');
            }
            if hermes {
                let body = if r.is_error {
                    format!("Error: {}", r.text)
                } else {
                    r.text.clone()
                };
                text.push_str(&format!("<tool_response>\n{body}\n</tool_response>"));
            } else {
                text.push_str(&crate::types::chat::result_as_text(r));
            }
        }
        out.push((m.role, text));
    }
    if hermes && !offered.is_empty() {
        let prompt = tools_prompt(offered);
        match out.first_mut() {
            Some((Role::System, s)) => {
                s.push_str("\n\n");
                s.push_str(&prompt);
            }
            _ => out.insert(0, (Role::System, prompt)),
        }
    }
    out
}

/// Moves `<tool_call>…</tool_call>` out of a model's streamed text into
/// tool-call deltas; the rest goes on as text. Holds back at most a partial
/// tag, or one call until it closes (up to [`MAX_CALL_BYTES`]).
#[derive(Debug, Default)]
pub struct CallSplitter {
    held: String,
    in_call: bool,
    calls: usize,
    /// Makes this answer's call ids unlike another request's.
    nonce: u32,
}

impl CallSplitter {
    /// A fresh splitter.
    pub fn new() -> Self {
        Self {
            nonce: fastrand::u32(..),
            ..Self::default()
        }
    }

    /// Calls found so far.
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// Takes a piece of text.
    pub fn push(&mut self, text: &str, out: &mut Vec<Delta>) {
        self.held.push_str(text);
        loop {
            if self.in_call {
                let Some(end) = self.held.find(CLOSE) else {
                    if self.held.len() > MAX_CALL_BYTES {
                        // Never closed: what was held is text after all.
                        self.in_call = false;
                        let t = format!("{OPEN}{}", std::mem::take(&mut self.held));
                        out.push(Delta::Text(t));
                    }
                    return;
                };
                let body = self.held[..end].to_owned();
                self.held.drain(..end + CLOSE.len());
                self.in_call = false;
                self.call(&body, out);
            } else {
                match self.held.find(OPEN) {
                    Some(at) => {
                        if at > 0 {
                            out.push(Delta::Text(self.held[..at].to_owned()));
                        }
                        self.held.drain(..at + OPEN.len());
                        self.in_call = true;
                    }
                    None => {
                        // Keep a tail that may be the start of the tag.
                        let keep = partial_tag(&self.held);
                        let cut = self.held.len() - keep;
                        if cut > 0 {
                            out.push(Delta::Text(self.held[..cut].to_owned()));
                            self.held.drain(..cut);
                        }
                        return;
                    }
                }
            }
        }
    }

    /// The text ended: what is held is text (an unclosed call included).
    pub fn finish(&mut self, out: &mut Vec<Delta>) {
        let rest = std::mem::take(&mut self.held);
        let t = if self.in_call {
            format!("{OPEN}{rest}")
        } else {
            rest
        };
        self.in_call = false;
        if !t.is_empty() {
            out.push(Delta::Text(t));
        }
    }

    fn call(&mut self, body: &str, out: &mut Vec<Delta>) {
        let parsed: Option<(String, String)> =
            serde_json::from_str::<serde_json::Value>(body.trim())
                .ok()
                .and_then(|v| {
                    let name = v.get("name")?.as_str()?.to_owned();
                    let args = match v.get("arguments") {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(a) => a.to_string(),
                        None => "{}".to_owned(),
                    };
                    Some((name, args))
                });
        match parsed {
            Some((name, arguments)) => {
                let index = self.calls;
                self.calls += 1;
                out.push(Delta::ToolCallStart {
                    index,
                    id: format!("call_{:08x}_{index}", self.nonce),
                    name,
                });
                out.push(Delta::ToolCallArgs {
                    index,
                    fragment: arguments,
                });
            }
            // Not a call after all: shown as the model wrote it.
            None => out.push(Delta::Text(format!("{OPEN}{body}{CLOSE}"))),
        }
    }
}

/// How many bytes at the end of `s` could begin the opening tag.
fn partial_tag(s: &str) -> usize {
    (1..OPEN.len().min(s.len() + 1))
        .rev()
        .find(|&n| s.is_char_boundary(s.len() - n) && OPEN.starts_with(&s[s.len() - n..]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::answer::{Answer, ToolCall};
    use crate::types::tool::ToolResult;

    fn run(pieces: &[&str]) -> Answer {
        let mut s = CallSplitter::new();
        let mut out = Vec::new();
        for p in pieces {
            s.push(p, &mut out);
        }
        s.finish(&mut out);
        let mut a = Answer::default();
        for d in &out {
            a.apply(d);
        }
        a
    }

    #[test]
    fn a_call_split_anywhere_becomes_a_tool_call() {
        let text = "Let me check.\n<tool_call>\n{\"name\": \"calc__add\", \"arguments\": {\"a\": 2, \"b\": 3}}\n</tool_call>";
        for cut in 0..=text.len() {
            for cut2 in cut..=text.len() {
                let a = run(&[&text[..cut], &text[cut..cut2], &text[cut2..]]);
                assert_eq!(a.text, "Let me check.\n", "cuts {cut} {cut2}");
                assert_eq!(a.tool_calls.len(), 1);
                assert_eq!(a.tool_calls[0].name, "calc__add");
                assert_eq!(a.tool_calls[0].arguments, r#"{"a":2,"b":3}"#);
            }
        }
    }

    #[test]
    fn text_without_calls_passes_and_bad_calls_stay_text() {
        assert_eq!(run(&["a <tool", "_ca", "x> b"]).text, "a <tool_cax> b");
        let a = run(&["<tool_call>not json</tool_call> end"]);
        assert!(a.tool_calls.is_empty());
        assert_eq!(a.text, "<tool_call>not json</tool_call> end");
        let a = run(&["x <tool_call>{\"name\": \"f\""]);
        assert_eq!(
            a.text, "x <tool_call>{\"name\": \"f\"",
            "an unclosed call is text"
        );
        let two = run(&["<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call><tool_call>{\"name\":\"g\"}</tool_call>"]);
        let names: Vec<&str> = two.tool_calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["f", "g"]);
        assert_eq!(two.tool_calls[1].arguments, "{}");
    }

    #[test]
    fn history_is_written_with_the_templates_tags() {
        let spec = ToolSpec {
            name: "calc__add".into(),
            description: "Adds.".into(),
            input_schema: serde_json::json!({"type": "object"}),
        };
        let mut said = ChatMessage::new(Role::Assistant, "Adding.");
        said.tool_calls = vec![ToolCall {
            id: "c1".into(),
            name: "calc__add".into(),
            arguments: r#"{"a": 1}"#.into(),
        }];
        let results = ChatMessage::tool_results(vec![ToolResult {
            call_id: "c1".into(),
            text: "2".into(),
            images: vec![],
            is_error: false,
        }]);
        let msgs = vec![ChatMessage::new(Role::User, "1+1?"), said, results];
        let out = as_text(&msgs, &[spec], true);
        assert_eq!(out[0].0, Role::System);
        assert!(
            out[0].1.contains(
                "<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"calc__add\""
            ),
            "{}",
            out[0].1
        );
        assert_eq!(out[2].1, "Adding.\n<tool_call>\n{\"name\": \"calc__add\", \"arguments\": {\"a\":1}}\n</tool_call>");
        assert_eq!(
            out[3],
            (
                Role::User,
                "<tool_response>\n2\n</tool_response>".to_owned()
            )
        );
        let plain = as_text(&msgs, &[], false);
        assert_eq!(plain.len(), 3);
        assert!(plain[1].1.contains("[called the tool calc__add with"));
        assert_eq!(plain[2].1, "[the tool's result: 2]");
        assert!(takes_tools("{% if tools %}<tool_call>{% endif %}"));
        assert!(!takes_tools("{{ messages }}"));
    }
}
