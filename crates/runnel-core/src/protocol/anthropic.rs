//! Anthropic Messages protocol: the request (`POST {base}/v1/messages`) and
//! the mapping of its stream events onto the engine's provider-neutral
//! [`Delta`]s. Unknown event and delta types are ignored; data without an
//! `event:` line counts by its JSON `type`.

use crate::protocol::sse::SseEvent;
use crate::protocol::{ChatRequest, Control, Protocol};
use crate::types::answer::{Delta, ThinkingBlock, Usage};
use crate::types::chat::{ChatMessage, Role};
use crate::types::error::{json_error_message, EngineError};
use crate::types::key::ApiKey;
use serde_json::{json, Value};

/// The API version header value.
pub const API_VERSION: &str = "2023-06-01";
/// Default `max_tokens` when the provider sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Anthropic Messages protocol. Its base URL is given without `/v1`
/// (`https://api.anthropic.com`); one with `/v1` works too.
#[derive(Debug, Clone, Copy)]
pub struct Anthropic;

/// Anthropic's base with `/v1`.
fn v1_base(base_url: &str) -> String {
    if base_url.ends_with("/v1") {
        base_url.to_owned()
    } else {
        format!("{base_url}/v1")
    }
}

impl Protocol for Anthropic {
    fn chat_url(&self, base_url: &str) -> String {
        format!("{}/messages", v1_base(base_url))
    }

    /// One page of up to 1000 (the default page is 20 models).
    fn models_url(&self, base_url: &str) -> String {
        format!("{}/models?limit=1000", v1_base(base_url))
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        key: Option<&ApiKey>,
    ) -> reqwest::RequestBuilder {
        let request = request.header("anthropic-version", API_VERSION);
        let Some(key) = key else { return request };
        match reqwest::header::HeaderValue::from_str(key.expose()) {
            Ok(mut value) => {
                // Kept out of reqwest's Debug output and marked for HPACK.
                value.set_sensitive(true);
                request.header("x-api-key", value)
            }
            Err(_) => request.header("x-api-key", key.expose()),
        }
    }

    fn request_body(&self, r: &ChatRequest<'_>) -> Value {
        // No tools offered: the API refuses tool_use and tool_result blocks,
        // so calls and results in the history go as text.
        let flat = if r.tools.is_empty() {
            crate::types::chat::tools_as_text(r.messages)
        } else {
            None
        };
        let mut body = request_body(
            r.model,
            flat.as_deref().unwrap_or(r.messages),
            r.sampling.max_tokens.unwrap_or(r.max_tokens),
            r.thinking_budget,
            r.stream,
        );
        let mut rest = r.sampling;
        rest.max_tokens = None;
        rest.apply(&mut body);
        if !r.tools.is_empty() {
            body["tools"] = tools_json(r.tools);
        }
        body
    }

    fn asks_for_stream_usage(&self) -> bool {
        false
    }

    fn rejects_usage_option(&self, _error: &EngineError) -> bool {
        false
    }

    fn supports_thinking(&self) -> bool {
        true
    }

    fn whole_body(&self, body: &Value) -> Result<Vec<Delta>, EngineError> {
        message_deltas(body)
    }
}

/// A thinking block as Anthropic's request content.
fn thinking_json(b: &ThinkingBlock) -> Value {
    if b.redacted {
        json!({"type": "redacted_thinking", "data": b.data})
    } else {
        json!({"type": "thinking", "thinking": b.thinking, "signature": b.signature})
    }
}

/// A message's images (base64 `image` blocks) and PDFs (base64 `document`
/// blocks, which Claude reads page by page), ahead of its text as the API
/// advises. Text files go in the text.
fn attachment_blocks(m: &ChatMessage) -> Vec<Value> {
    use crate::types::attachment::AttachmentKind;
    m.attachments
        .iter()
        .filter_map(|a| match a.kind {
            AttachmentKind::Image => Some(json!({
                "type": "image",
                "source": {"type": "base64", "media_type": a.mime, "data": a.base64()},
            })),
            AttachmentKind::Pdf => Some(json!({
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": a.base64()},
                "title": a.name,
            })),
            AttachmentKind::Text => None,
        })
        .collect()
}

/// Builds the request body. The system prompt goes in its own field;
/// consecutive same-role turns are merged, empty ones skipped, and the list
/// starts with a user turn, as the API requires. Assistant turns carry their
/// thinking blocks (with signatures) back, before their text.
pub fn request_body(
    model: &str,
    messages: &[ChatMessage],
    max_tokens: u32,
    thinking_budget: Option<u32>,
    stream: bool,
) -> Value {
    let system: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::System && !m.content.trim().is_empty())
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::new();
    for m in messages.iter().filter(|m| m.role != Role::System) {
        let mut thinking: Vec<Value> = Vec::new();
        // Signed blocks go back only while thinking is on: the API rejects
        // them otherwise, and an unsigned (cut off) block is never valid.
        if m.role == Role::Assistant && thinking_budget.is_some() {
            thinking.extend(
                m.thinking
                    .iter()
                    .filter(|b| b.is_complete())
                    .map(thinking_json),
            );
        }
        // Results come first in their user turn, as the API requires.
        let mut blocks: Vec<Value> = m.tool_results.iter().map(tool_result_json).collect();
        blocks.extend(attachment_blocks(m));
        let text = m.text_with_files(false);
        if !text.trim().is_empty() {
            blocks.push(json!({"type": "text", "text": text}));
        }
        blocks.extend(m.tool_calls.iter().map(tool_use_json));
        if blocks.is_empty() && thinking.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((role, existing)) if *role == m.role => {
                // Thinking stays ahead of text and tool use in a merged turn.
                let first_other = existing
                    .iter()
                    .position(|b| !is_thinking(b))
                    .unwrap_or(existing.len());
                existing.splice(first_other..first_other, thinking);
                existing.extend(blocks);
            }
            _ => {
                thinking.extend(blocks);
                turns.push((m.role, thinking));
            }
        }
    }
    while turns.first().is_some_and(|(r, _)| *r != Role::User) {
        turns.remove(0);
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| {
            json!({"role": if role == Role::User { "user" } else { "assistant" }, "content": content})
        })
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": max_tokens,
        "messages": messages,
        "stream": stream,
    });
    if !system.is_empty() {
        body["system"] = Value::String(system.join("\n\n"));
    }
    if let Some(budget) = thinking_budget {
        body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
        // The API requires max_tokens above the thinking budget.
        if max_tokens <= budget {
            body["max_tokens"] = json!(budget + DEFAULT_MAX_TOKENS);
        }
    }
    body
}

/// A call as an assistant turn's `tool_use` block; arguments that are not
/// a JSON object (a cut-off call) go as an empty one.
fn tool_use_json(c: &crate::types::answer::ToolCall) -> Value {
    let input = match serde_json::from_str::<Value>(&c.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({}),
    };
    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
}

/// A call's result as a `tool_result` block: its text, then its images.
fn tool_result_json(r: &crate::types::tool::ToolResult) -> Value {
    // The API refuses an empty text block.
    let mut content = Vec::new();
    if !r.text.is_empty() || r.images.is_empty() {
        let text = if r.text.is_empty() {
            "(no output)"
        } else {
            r.text.as_str()
        };
        content.push(json!({"type": "text", "text": text}));
    }
    content.extend(r.images.iter().map(|i| {
        json!({"type": "image", "source": {"type": "base64", "media_type": i.mime, "data": i.data}})
    }));
    let mut block = json!({"type": "tool_result", "tool_use_id": r.call_id, "content": content});
    if r.is_error {
        block["is_error"] = Value::Bool(true);
    }
    block
}

/// Tools as the Messages API takes them.
pub fn tools_json(tools: &[crate::types::tool::ToolSpec]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect(),
    )
}

fn is_thinking(b: &Value) -> bool {
    matches!(
        b.get("type").and_then(Value::as_str),
        Some("thinking" | "redacted_thinking")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    Tool(usize),
    Other,
}

/// Turns Anthropic stream events into deltas. One per stream.
#[derive(Debug, Default)]
pub struct EventAssembler {
    /// Kind of each content block by its index.
    blocks: Vec<(u64, BlockKind)>,
    tools: usize,
    input_tokens: u64,
    cached_input_tokens: u64,
}

/// The prompt tokens of an Anthropic `usage` object, if it has them: its
/// `input_tokens` leave out prompt-cache writes and reads, which are prompt
/// tokens all the same, so the total adds them; the reads are the cached ones.
fn prompt_tokens(u: &Value) -> Option<(u64, u64)> {
    let get = |k: &str| u.get(k).and_then(Value::as_u64);
    let input = get("input_tokens")?;
    let written = get("cache_creation_input_tokens").unwrap_or(0);
    let read = get("cache_read_input_tokens").unwrap_or(0);
    Some((input.saturating_add(written).saturating_add(read), read))
}

impl EventAssembler {
    /// A fresh assembler.
    pub fn new() -> Self {
        Self::default()
    }

    fn kind_of(&self, index: u64) -> BlockKind {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, k)| *k)
            .unwrap_or(BlockKind::Other)
    }

    /// Handles one SSE event, appending deltas to `out`.
    pub fn on_event(
        &mut self,
        ev: &SseEvent,
        out: &mut Vec<Delta>,
    ) -> Result<Control, EngineError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(Control::Continue);
        }
        let v = crate::protocol::event_json(ev, "event")?;
        let kind = match &*ev.event {
            "" | "message" => v.get("type").and_then(Value::as_str).unwrap_or(""),
            e => e,
        };
        match kind {
            "message_start" => {
                if let Some(u) = v.get("message").and_then(|m| m.get("usage")) {
                    (self.input_tokens, self.cached_input_tokens) =
                        prompt_tokens(u).unwrap_or((0, 0));
                    let output = u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
                    out.push(Delta::Usage(Usage {
                        input_tokens: self.input_tokens,
                        output_tokens: output,
                        cached_input_tokens: self.cached_input_tokens,
                    }));
                }
            }
            "content_block_start" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let block = v.get("content_block").cloned().unwrap_or(Value::Null);
                let btype = block.get("type").and_then(Value::as_str).unwrap_or("");
                let kind = match btype {
                    "text" => {
                        if let Some(t) = block
                            .get("text")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                        {
                            out.push(Delta::Text(t.to_owned()));
                        }
                        BlockKind::Text
                    }
                    "thinking" => {
                        out.push(Delta::ThinkingStart { redacted: None });
                        if let Some(t) = block
                            .get("thinking")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                        {
                            out.push(Delta::Reasoning(t.to_owned()));
                        }
                        BlockKind::Thinking
                    }
                    "redacted_thinking" => {
                        let data = block
                            .get("data")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned();
                        out.push(Delta::ThinkingStart {
                            redacted: Some(data),
                        });
                        BlockKind::Other
                    }
                    "tool_use" | "server_tool_use" => {
                        let slot = self.tools;
                        self.tools += 1;
                        out.push(Delta::ToolCallStart {
                            index: slot,
                            id: block
                                .get("id")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned(),
                            name: block
                                .get("name")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned(),
                        });
                        BlockKind::Tool(slot)
                    }
                    _ => BlockKind::Other,
                };
                self.blocks.push((index, kind));
            }
            "content_block_delta" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let delta = v.get("delta").cloned().unwrap_or(Value::Null);
                let s = |k: &str| {
                    delta
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                match (
                    delta.get("type").and_then(Value::as_str).unwrap_or(""),
                    self.kind_of(index),
                ) {
                    ("text_delta", _) => push(out, s("text"), Delta::Text),
                    ("thinking_delta", _) => push(out, s("thinking"), Delta::Reasoning),
                    ("signature_delta", _) => push(out, s("signature"), Delta::Signature),
                    ("input_json_delta", BlockKind::Tool(slot)) => {
                        let fragment = s("partial_json");
                        if !fragment.is_empty() {
                            out.push(Delta::ToolCallArgs {
                                index: slot,
                                fragment,
                            });
                        }
                    }
                    _ => {} // citations_delta and unknown deltas are ignored
                }
            }
            "message_delta" => {
                if let Some(r) = v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    out.push(Delta::Finish(r.to_owned()));
                }
                if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                    if let Some((i, cached)) = prompt_tokens(u) {
                        (self.input_tokens, self.cached_input_tokens) = (i, cached);
                    }
                    if let Some(o) = u.get("output_tokens").and_then(Value::as_u64) {
                        out.push(Delta::Usage(Usage {
                            input_tokens: self.input_tokens,
                            output_tokens: o,
                            cached_input_tokens: self.cached_input_tokens,
                        }));
                    }
                }
            }
            "message_stop" => return Ok(Control::Done),
            "error" => {
                let message = json_error_message(&v).unwrap_or_else(|| v.to_string());
                let error_type = v
                    .get("error")
                    .and_then(|e| e.get("type"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                return Err(EngineError::Stream {
                    message,
                    error_type,
                });
            }
            _ => {} // ping, content_block_stop, unknown events
        }
        Ok(Control::Continue)
    }
}

fn push(out: &mut Vec<Delta>, t: String, f: fn(String) -> Delta) {
    if !t.is_empty() {
        out.push(f(t));
    }
}

/// Deltas of a non-streaming Messages response.
pub fn message_deltas(v: &Value) -> Result<Vec<Delta>, EngineError> {
    if v.get("type").and_then(Value::as_str) == Some("error") {
        let message = json_error_message(v).unwrap_or_else(|| v.to_string());
        return Err(EngineError::Stream {
            message,
            error_type: None,
        });
    }
    let content =
        v.get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| EngineError::Stream {
                message: format!(
                    "the response is not a message: {}",
                    crate::types::error::shorten(&v.to_string(), 200)
                ),
                error_type: None,
            })?;
    let mut out = Vec::new();
    let mut tools = 0;
    for b in content {
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => push(
                &mut out,
                b.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                Delta::Text,
            ),
            "thinking" => {
                out.push(Delta::ThinkingStart { redacted: None });
                push(
                    &mut out,
                    b.get("thinking")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    Delta::Reasoning,
                );
                push(
                    &mut out,
                    b.get("signature")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    Delta::Signature,
                );
            }
            "redacted_thinking" => out.push(Delta::ThinkingStart {
                redacted: Some(
                    b.get("data")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ),
            }),
            "tool_use" | "server_tool_use" => {
                out.push(Delta::ToolCallStart {
                    index: tools,
                    id: b.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
                    name: b
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                });
                let input = b.get("input").cloned().unwrap_or(json!({}));
                out.push(Delta::ToolCallArgs {
                    index: tools,
                    fragment: input.to_string(),
                });
                tools += 1;
            }
            _ => {}
        }
    }
    if let Some(r) = v.get("stop_reason").and_then(Value::as_str) {
        out.push(Delta::Finish(r.to_owned()));
    }
    if let Some(u) = v.get("usage") {
        let (input, cached) = prompt_tokens(u).unwrap_or((0, 0));
        out.push(Delta::Usage(Usage {
            input_tokens: input,
            output_tokens: u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
            cached_input_tokens: cached,
        }));
    }
    Ok(out)
}

/// For tests and callers that build blocks by hand.
pub fn thinking_block(thinking: &str, signature: &str) -> ThinkingBlock {
    ThinkingBlock {
        redacted: false,
        thinking: thinking.to_owned(),
        signature: signature.to_owned(),
        ..ThinkingBlock::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_merges_turns_puts_system_apart_and_sends_signatures_back() {
        let mut answer = ChatMessage::new(Role::Assistant, "It is 18°C.");
        answer.thinking = vec![thinking_block("Check the weather.", "sig-123")];
        let msgs = vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::Assistant, "orphan answer before any question"),
            ChatMessage::new(Role::User, "Weather?"),
            ChatMessage::new(Role::User, "In Paris."),
            answer,
            ChatMessage::new(Role::Assistant, ""),
            ChatMessage::new(Role::User, "Thanks"),
        ];
        let b = request_body("claude-x", &msgs, 1024, Some(2048), true);
        assert_eq!(b["system"], "Be brief.");
        assert_eq!(b["stream"], true);
        assert_eq!(
            b["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(
            b["max_tokens"],
            2048 + DEFAULT_MAX_TOKENS,
            "max_tokens above the budget"
        );
        let m = b["messages"].as_array().expect("messages");
        let roles: Vec<&str> = m.iter().map(|x| x["role"].as_str().unwrap_or("")).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(
            m[0]["content"].as_array().map(Vec::len),
            Some(2),
            "merged user turns"
        );
        assert_eq!(
            m[1]["content"][0],
            json!({"type": "thinking", "thinking": "Check the weather.", "signature": "sig-123"})
        );
        assert_eq!(
            m[1]["content"][1],
            json!({"type": "text", "text": "It is 18°C."})
        );
    }

    #[test]
    fn thinking_goes_back_only_when_on_and_signed_and_ahead_of_text() {
        let mut a1 = ChatMessage::new(Role::Assistant, "First part.");
        a1.thinking = vec![
            thinking_block("cut off", ""),
            ThinkingBlock {
                redacted: true,
                data: "opaque".into(),
                ..ThinkingBlock::default()
            },
        ];
        let mut a2 = ChatMessage::new(Role::Assistant, "Second part.");
        a2.thinking = vec![thinking_block("more", "sig-2")];
        let msgs = vec![
            ChatMessage::new(Role::User, "Q"),
            a1,
            a2,
            ChatMessage::new(Role::Assistant, "\n\n"),
        ];
        let on = request_body("m", &msgs, 100, Some(1024), true);
        let content = on["messages"][1]["content"]
            .as_array()
            .expect("content")
            .clone();
        let types: Vec<&str> = content
            .iter()
            .map(|b| b["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            types,
            ["redacted_thinking", "thinking", "text", "text"],
            "unsigned dropped, thinking first: {content:?}"
        );
        assert_eq!(content[0]["data"], "opaque");
        let off = request_body("m", &msgs, 100, None, true);
        let types: Vec<String> = off["messages"][1]["content"]
            .as_array()
            .expect("content")
            .iter()
            .map(|b| b["type"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            types,
            ["text", "text"],
            "no thinking blocks while thinking is off"
        );
        assert!(off.get("thinking").is_none());
    }

    #[test]
    fn events_without_an_event_line_count_by_their_type() {
        let mut a = EventAssembler::new();
        let mut out = Vec::new();
        let ev = SseEvent {
            event: "message".into(),
            data: r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.into(),
            id: None,
            retry: None,
        };
        a.on_event(&ev, &mut out).expect("ok");
        let ev = SseEvent {
            event: "message".into(),
            data: r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#.into(),
            id: None,
            retry: None,
        };
        a.on_event(&ev, &mut out).expect("ok");
        let ev = SseEvent {
            event: "message".into(),
            data: r#"{"type":"future_event","x":1}"#.into(),
            id: None,
            retry: None,
        };
        a.on_event(&ev, &mut out)
            .expect("unknown events are ignored");
        assert_eq!(out, vec![Delta::Text("Hi".into())]);
    }

    #[test]
    fn prompt_cache_reads_and_writes_count_as_prompt_tokens_and_reads_as_cached() {
        let mut a = EventAssembler::new();
        let mut out = Vec::new();
        let ev = |data: &str| SseEvent {
            event: "message".into(),
            data: data.into(),
            id: None,
            retry: None,
        };
        a.on_event(
            &ev(r#"{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":1}}}"#),
            &mut out,
        )
        .expect("ok");
        a.on_event(
            &ev(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42}}"#),
            &mut out,
        )
        .expect("ok");
        assert_eq!(
            out.last(),
            Some(&Delta::Usage(Usage {
                input_tokens: 1110,
                output_tokens: 42,
                cached_input_tokens: 1000,
            }))
        );
    }
}
