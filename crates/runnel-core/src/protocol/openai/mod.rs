//! OpenAI Chat Completions protocol: the request body and the assembly of
//! streamed `chat.completion.chunk` events into provider-neutral [`Delta`]s.
//!
//! Quirks handled (see the shared SSE fixtures): choice 0 only; `role` repeated
//! on every chunk; `reasoning_content` or `reasoning`; tool calls keyed by
//! `index` that may start at 1 or be absent (a new non-empty id then starts a new
//! call); an empty-string id never overwrites a real one; usage anywhere
//! (including a final `choices: []` chunk and `x_groq.usage`), never cleared by a
//! later null; a first chunk with empty `choices` (Azure); in-stream error
//! objects, `finish_reason: "error"`, vLLM's `{"object": "error"}`.

use crate::protocol::sse::SseEvent;
use crate::protocol::think::ThinkSplitter;
use crate::protocol::{ChatRequest, Control, Protocol};
use crate::types::answer::{Delta, Usage};
use crate::types::chat::ChatMessage;
use crate::types::error::{json_error_message, EngineError};
use crate::types::key::ApiKey;
use crate::types::tool::{ToolResult, ToolSpec};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// The OpenAI Chat Completions protocol, spoken by OpenAI and by every
/// OpenAI-compatible server (Ollama, LM Studio, llama.cpp, vLLM, OpenRouter...).
#[derive(Debug, Clone, Copy)]
pub struct OpenAi;

impl Protocol for OpenAi {
    fn chat_url(&self, base_url: &str) -> String {
        format!("{base_url}/chat/completions")
    }

    fn models_url(&self, base_url: &str) -> String {
        format!("{base_url}/models")
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        key: Option<&ApiKey>,
    ) -> reqwest::RequestBuilder {
        match key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    fn request_body(&self, r: &ChatRequest<'_>) -> Value {
        // No tools offered: calls and results in the history go as text.
        let flat = if r.tools.is_empty() {
            crate::types::chat::tools_as_text(r.messages)
        } else {
            None
        };
        let messages = flat.as_deref().unwrap_or(r.messages);
        let mut body = request_body(r.model, messages, r.stream, r.stream && r.include_usage);
        r.sampling.apply(&mut body);
        if !r.tools.is_empty() {
            body["tools"] = Value::Array(r.tools.iter().map(tool_json).collect());
        }
        body
    }

    fn asks_for_stream_usage(&self) -> bool {
        true
    }

    /// A 400 whose body names `stream_options` / `include_usage`: the server
    /// does not support them (a 400 for anything else is reported as it is).
    fn rejects_usage_option(&self, e: &EngineError) -> bool {
        match e {
            EngineError::Http {
                status: 400 | 422,
                body,
                ..
            } => {
                let b = body.to_ascii_lowercase();
                b.contains("stream_options") || b.contains("include_usage")
            }
            _ => false,
        }
    }

    fn supports_thinking(&self) -> bool {
        false
    }

    fn whole_body(&self, body: &Value) -> Result<Vec<Delta>, EngineError> {
        let mut think = ThinkSplitter::new();
        let mut out = Vec::new();
        for d in completion_deltas(body)? {
            match d {
                Delta::Text(t) => think.push(&t, &mut out),
                other => out.push(other),
            }
        }
        think.finish(&mut out);
        Ok(out)
    }
}

/// Builds the JSON body of a chat completions request.
pub fn request_body(
    model: &str,
    messages: &[ChatMessage],
    stream: bool,
    include_usage: bool,
) -> Value {
    let mut out: Vec<Value> = Vec::with_capacity(messages.len());
    for m in messages {
        if m.tool_results.is_empty() {
            out.push(message_json(m));
        } else {
            // Each result is its own `tool` message; text said with them
            // (none today) follows as a user message.
            out.extend(m.tool_results.iter().map(tool_result_json));
            if !m.content.is_empty() || !m.attachments.is_empty() {
                out.push(message_json(m));
            }
        }
    }
    let messages = out;
    let mut body = serde_json::json!({
        "model": model,
        "messages": messages,
        "stream": stream,
    });
    if stream && include_usage {
        body["stream_options"] = serde_json::json!({ "include_usage": true });
    }
    body
}

/// One message as chat completions take it: text content, or, with files,
/// content parts: the text with each text file and PDF's text fenced after
/// it, then each image as a data URL.
fn message_json(m: &ChatMessage) -> Value {
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                })
            })
            .collect();
        let content = if m.content.is_empty() {
            Value::Null
        } else {
            Value::String(m.content.clone())
        };
        return serde_json::json!({"role": m.role, "content": content, "tool_calls": calls});
    }
    if m.attachments.is_empty() {
        return serde_json::to_value(m).unwrap_or(Value::Null);
    }
    let mut parts = vec![serde_json::json!({"type": "text", "text": m.text_with_files(true)})];
    for a in m
        .attachments
        .iter()
        .filter(|a| a.kind == crate::types::attachment::AttachmentKind::Image)
    {
        parts.push(serde_json::json!({
            "type": "image_url",
            "image_url": {"url": format!("data:{};base64,{}", a.mime, a.base64())},
        }));
    }
    serde_json::json!({"role": m.role, "content": parts})
}

/// A tool as chat completions offer it: a function with its schema.
fn tool_json(t: &ToolSpec) -> Value {
    serde_json::json!({
        "type": "function",
        "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
    })
}

/// One call's result as a `tool` message. Chat completions take text only
/// there: an image is named, and an error is said to be one.
fn tool_result_json(r: &ToolResult) -> Value {
    let mut text = if r.is_error {
        format!("Error: {}", r.text)
    } else {
        r.text.clone()
    };
    for i in &r.images {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "[an image ({}, {} bytes of base64) the tool returned; shown to the user]",
            i.mime,
            i.data.len()
        ));
    }
    serde_json::json!({"role": "tool", "tool_call_id": r.call_id, "content": text})
}

#[derive(Debug)]
struct Slot {
    /// The provider's `index`, when it sends one.
    key: Option<u64>,
    id: String,
    has_name: bool,
}

/// Turns chunk events into deltas. One per stream.
#[derive(Debug, Default)]
pub struct ChunkAssembler {
    slots: Vec<Slot>,
    shape: Shape,
    /// Moves inline `<think>…</think>` text into the reasoning.
    think: ThinkSplitter,
}

/// The bytes around the `content` string of the last chunk whose only effect
/// was its text. Providers repeat the same id, model and fingerprint on every
/// chunk, so most chunks are these bytes with another string in between; such
/// a chunk has the same meaning with the new text, and costs a compare instead
/// of a parse. Anything else (a finish reason, usage, a changed field) does not
/// match and is parsed.
#[derive(Debug, Default)]
struct Shape {
    /// `prefix` and `suffix` hold a learnt shape (the buffers are reused).
    valid: bool,
    prefix: String,
    suffix: String,
}

impl Shape {
    /// Learns the shape of `data` when its parse `fast` says it only carries
    /// text in `delta.content` held unescaped in `data`; forgets it otherwise.
    fn learn(&mut self, data: &str, fast: &FastChunk<'_>) {
        self.valid = false;
        let Some(choice) = &fast.choices.0 else {
            return;
        };
        let Some(FastDelta {
            content: Some(Cow::Borrowed(text)),
            refusal: None,
            reasoning_content: None,
            tool_calls: None,
        }) = &choice.delta
        else {
            return;
        };
        let only_text = choice.finish_reason.is_none()
            && fast.usage.is_none_or(|u| u.get() == "null")
            && fast.x_groq.is_none()
            && fast.error.is_none_or(|e| e.get() == "null");
        // Where the text lies in `data` (serde lends it from there).
        let start = (text.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
        let end = start.wrapping_add(text.len());
        let quoted = start >= 1
            && end < data.len()
            && data.as_bytes()[start - 1] == b'"'
            && data.as_bytes()[end] == b'"';
        if !only_text || !quoted {
            return;
        }
        self.prefix.clear();
        self.prefix.push_str(&data[..start - 1]);
        self.suffix.clear();
        self.suffix.push_str(&data[end + 1..]);
        self.valid = true;
    }

    /// The text of `data` when it is the learnt shape around one JSON string.
    fn text_of<'d>(&self, data: &'d str) -> Option<Cow<'d, str>> {
        if !self.valid
            || data.len() < self.prefix.len() + self.suffix.len() + 2
            || !data.starts_with(self.prefix.as_str())
            || !data.ends_with(self.suffix.as_str())
        {
            return None;
        }
        let token = data.get(self.prefix.len()..data.len() - self.suffix.len())?;
        let inner = token.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20) {
            return Some(Cow::Borrowed(inner));
        }
        // Escapes (or a token that is not one string): serde decides.
        serde_json::from_str::<String>(token).ok().map(Cow::Owned)
    }
}

impl ChunkAssembler {
    /// A fresh assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one SSE event, appending deltas to `out`. An error ends the
    /// stream; deltas pushed before it still count. Inline `<think>` text at
    /// the start of the answer comes out as reasoning.
    pub fn on_event(
        &mut self,
        ev: &SseEvent,
        out: &mut Vec<Delta>,
    ) -> Result<Control, EngineError> {
        let from = out.len();
        let control = self.on_event_raw(ev, out);
        if self.think.passing() || out.len() == from {
            if control.is_err() || matches!(control, Ok(Control::Done)) {
                self.think.finish(out);
            }
            return control;
        }
        let fresh: Vec<Delta> = out.drain(from..).collect();
        for d in fresh {
            match d {
                Delta::Text(t) => self.think.push(&t, out),
                Delta::Finish(reason) => {
                    self.think.finish(out);
                    out.push(Delta::Finish(reason));
                }
                other => out.push(other),
            }
        }
        if control.is_err() || matches!(control, Ok(Control::Done)) {
            self.think.finish(out);
        }
        control
    }

    /// The stream ended (or broke): text held back while looking for a
    /// `<think>` tag is pushed as it stands.
    pub fn finish(&mut self, out: &mut Vec<Delta>) {
        self.think.finish(out);
    }

    fn on_event_raw(
        &mut self,
        ev: &SseEvent,
        out: &mut Vec<Delta>,
    ) -> Result<Control, EngineError> {
        let data = ev.data.trim();
        if data == "[DONE]" {
            return Ok(Control::Done);
        }
        if data.is_empty() {
            if ev.event == "error" {
                return Err(stream_error(
                    "the provider sent an error event".to_owned(),
                    None,
                ));
            }
            return Ok(Control::Continue); // keep-alive
        }
        // Fast path: the common chunk shape, typed and borrowing (no Value tree).
        // Anything unusual (an error, an odd type) takes the general path below,
        // which gives the same deltas.
        if ev.event != "error" {
            if let Some(text) = self.shape.text_of(data) {
                push_nonempty(out, &text, Delta::Text);
                return Ok(Control::Continue);
            }
            if let Ok(fast) = serde_json::from_str::<FastChunk<'_>>(data) {
                if !fast.needs_general_path() {
                    self.shape.learn(data, &fast);
                    self.on_fast_chunk(&fast, out)?;
                    return Ok(Control::Continue);
                }
            }
        }
        let chunk = crate::protocol::event_json(ev, "chunk")?;
        self.on_chunk(&chunk, out)?;
        if ev.event == "error" {
            let message = json_error_message(&chunk).unwrap_or_else(|| chunk.to_string());
            return Err(stream_error(message, error_type(&chunk)));
        }
        Ok(Control::Continue)
    }

    fn on_fast_chunk(
        &mut self,
        chunk: &FastChunk<'_>,
        out: &mut Vec<Delta>,
    ) -> Result<(), EngineError> {
        let mut finish_error = false;
        if let Some(choice) = &chunk.choices.0 {
            if let Some(d) = &choice.delta {
                if let Some(t) = &d.reasoning_content {
                    push_nonempty(out, t, Delta::Reasoning);
                }
                if let Some(t) = &d.content {
                    push_nonempty(out, t, Delta::Text);
                }
                if let Some(t) = &d.refusal {
                    push_nonempty(out, t, Delta::Refusal);
                }
                if let Some(calls) = d.tool_calls.and_then(raw_json) {
                    for call in calls.as_array().into_iter().flatten() {
                        self.on_tool_call(call, out);
                    }
                }
            }
            if let Some(reason) = &choice.finish_reason {
                finish_error = reason == "error";
                out.push(Delta::Finish(reason.to_string()));
            }
        }
        let usage = chunk.usage.and_then(raw_json).filter(Value::is_object);
        let usage = usage.or_else(|| {
            chunk
                .x_groq
                .and_then(raw_json)
                .and_then(|mut x| x.get_mut("usage").map(Value::take))
                .filter(Value::is_object)
        });
        if let Some(usage) = usage.as_ref().and_then(parse_usage) {
            out.push(Delta::Usage(usage));
        }
        if finish_error {
            return Err(stream_error(
                "the provider ended the answer with an error".to_owned(),
                None,
            ));
        }
        Ok(())
    }

    /// Handles one parsed chunk.
    pub fn on_chunk(&mut self, chunk: &Value, out: &mut Vec<Delta>) -> Result<(), EngineError> {
        let mut finish_error = false;
        if let Some(choice) = choice0(chunk) {
            if let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) {
                self.on_delta(delta, out);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                finish_error = reason == "error";
                out.push(Delta::Finish(reason.to_owned()));
            }
        }
        if let Some(usage) = chunk
            .get("usage")
            .filter(|u| u.is_object())
            .or_else(|| {
                chunk
                    .get("x_groq")
                    .and_then(|x| x.get("usage"))
                    .filter(|u| u.is_object())
            })
            .and_then(parse_usage)
        {
            out.push(Delta::Usage(usage));
        }
        let error_obj = chunk.get("error").filter(|e| is_truthy(e));
        if error_obj.is_some() || chunk.get("object").and_then(Value::as_str) == Some("error") {
            let message = json_error_message(chunk)
                .unwrap_or_else(|| "the provider reported an error".to_owned());
            return Err(stream_error(message, error_type(chunk)));
        }
        if finish_error {
            return Err(stream_error(
                "the provider ended the answer with an error".to_owned(),
                None,
            ));
        }
        Ok(())
    }

    fn on_delta(&mut self, delta: &Value, out: &mut Vec<Delta>) {
        if let Some(t) = delta.get("reasoning_content").and_then(Value::as_str) {
            push_nonempty(out, t, Delta::Reasoning);
        } else if let Some(t) = delta.get("reasoning").and_then(Value::as_str) {
            push_nonempty(out, t, Delta::Reasoning);
        }
        if let Some(t) = delta.get("content").and_then(Value::as_str) {
            push_nonempty(out, t, Delta::Text);
        }
        if let Some(t) = delta.get("refusal").and_then(Value::as_str) {
            push_nonempty(out, t, Delta::Refusal);
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.on_tool_call(call, out);
            }
        }
    }

    fn on_tool_call(&mut self, call: &Value, out: &mut Vec<Delta>) {
        let key = call.get("index").and_then(Value::as_u64);
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let function = call.get("function");
        let name = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let args = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str);

        let existing = match key {
            Some(k) => self.slots.iter().position(|s| s.key == Some(k)),
            // No index: a new non-empty id different from the current call's starts a new call.
            None => match (self.slots.last(), id) {
                (Some(last), Some(id)) if !last.id.is_empty() && last.id != id => None,
                (Some(_), _) => Some(self.slots.len() - 1),
                (None, _) => None,
            },
        };
        let index = match existing {
            Some(i) => {
                let slot = &mut self.slots[i];
                let new_id = id.filter(|_| slot.id.is_empty());
                let new_name = name.filter(|_| !slot.has_name);
                if let Some(id) = new_id {
                    slot.id = id.to_owned();
                }
                if new_name.is_some() {
                    slot.has_name = true;
                }
                if new_id.is_some() || new_name.is_some() {
                    out.push(Delta::ToolCallMeta {
                        index: i,
                        id: new_id.map(str::to_owned),
                        name: new_name.map(str::to_owned),
                    });
                }
                i
            }
            None => {
                let i = self.slots.len();
                self.slots.push(Slot {
                    key,
                    id: id.unwrap_or_default().to_owned(),
                    has_name: name.is_some(),
                });
                out.push(Delta::ToolCallStart {
                    index: i,
                    id: id.unwrap_or_default().to_owned(),
                    name: name.unwrap_or_default().to_owned(),
                });
                i
            }
        };
        if let Some(a) = args.filter(|a| !a.is_empty()) {
            out.push(Delta::ToolCallArgs {
                index,
                fragment: a.to_owned(),
            });
        }
    }
}

/// Parses a rare field kept raw by the fast path (keeping the common chunk
/// small to move: most chunks only carry text).
fn raw_json(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// The fields of a chunk the assembler reads, typed and borrowed from the
/// event's data; everything else is skipped without being built.
#[derive(Deserialize)]
struct FastChunk<'a> {
    #[serde(default, borrow)]
    choices: ChoiceZero<'a>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    x_groq: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    object: Option<Cow<'a, str>>,
}

impl FastChunk<'_> {
    /// Errors go the general way, which reports them exactly.
    fn needs_general_path(&self) -> bool {
        self.error.and_then(raw_json).is_some_and(|e| is_truthy(&e))
            || self.object.as_deref() == Some("error")
    }
}

/// The first choice with index 0 (a missing index counts as 0); the others
/// are skipped as they are read, so a chunk costs no vector.
#[derive(Default)]
struct ChoiceZero<'a>(Option<FastChoice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for ChoiceZero<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Choices<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Choices<'a> {
            type Value = ChoiceZero<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of choices")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut zero = None;
                while let Some(choice) = seq.next_element::<FastChoice<'a>>()? {
                    if zero.is_none() && choice.index.unwrap_or(0) == 0 {
                        zero = Some(choice);
                    }
                }
                Ok(ChoiceZero(zero))
            }
        }
        d.deserialize_seq(Choices(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct FastChoice<'a> {
    #[serde(default)]
    index: Option<u64>,
    /// `delta` when streaming, `message` in a whole completion (a choice
    /// with both is a duplicate field here and takes the general path).
    #[serde(default, borrow, alias = "message")]
    delta: Option<FastDelta<'a>>,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct FastDelta<'a> {
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    refusal: Option<Cow<'a, str>>,
    /// DeepSeek's `reasoning_content` or OpenRouter/vLLM's `reasoning` (a
    /// delta with both takes the general path, which prefers the first).
    #[serde(
        default,
        borrow,
        alias = "reasoning",
        deserialize_with = "borrowed_str"
    )]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<&'a RawValue>,
}

/// An optional string lent from the chunk when it has no escapes (serde's
/// `borrow` only lends a bare `Cow<str>`, not one inside an `Option`).
fn borrowed_str<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Lent<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Lent<'a>>::deserialize(d)?.map(|l| l.0))
}

/// Converts a non-streaming `chat.completion` response into deltas.
pub fn completion_deltas(v: &Value) -> Result<Vec<Delta>, EngineError> {
    let mut out = Vec::new();
    let mut asm = ChunkAssembler::new();
    asm.on_chunk(v, &mut out)?;
    if choice0(v).is_none() && v.get("usage").is_none() {
        return Err(stream_error(
            format!(
                "the response is not a chat completion: {}",
                crate::types::error::shorten(&v.to_string(), 200)
            ),
            None,
        ));
    }
    Ok(out)
}

fn choice0(chunk: &Value) -> Option<&Value> {
    chunk
        .get("choices")?
        .as_array()?
        .iter()
        .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
}

fn parse_usage(u: &Value) -> Option<Usage> {
    let get = |a: &str, b: &str| u.get(a).or_else(|| u.get(b)).and_then(Value::as_u64);
    let input = get("prompt_tokens", "input_tokens");
    let output = get("completion_tokens", "output_tokens");
    if input.is_none() && output.is_none() {
        return None;
    }
    // Cached prompt tokens: OpenAI and most compatible servers nest them in
    // `prompt_tokens_details`; DeepSeek reports `prompt_cache_hit_tokens`.
    let cached = u
        .get("prompt_tokens_details")
        .or_else(|| u.get("input_tokens_details"))
        .and_then(|d| d.get("cached_tokens"))
        .and_then(Value::as_u64)
        .or_else(|| u.get("prompt_cache_hit_tokens").and_then(Value::as_u64))
        .unwrap_or(0);
    let input = input.unwrap_or(0);
    Some(Usage {
        input_tokens: input,
        output_tokens: output.unwrap_or(0),
        cached_input_tokens: cached.min(input),
    })
}

fn error_type(v: &Value) -> Option<String> {
    let err = v.get("error").unwrap_or(v);
    err.get("type")
        .or_else(|| err.get("code"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(_) => true,
    }
}

fn push_nonempty(out: &mut Vec<Delta>, t: &str, f: fn(String) -> Delta) {
    if !t.is_empty() {
        out.push(f(t.to_owned()));
    }
}

fn stream_error(message: String, error_type: Option<String>) -> EngineError {
    EngineError::Stream {
        message,
        error_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::answer::Answer;
    use crate::types::chat::Role;

    fn run(lines: &[&str]) -> (Answer, Option<EngineError>) {
        let mut asm = ChunkAssembler::new();
        let mut answer = Answer::default();
        for l in lines {
            let ev = SseEvent {
                event: "message".into(),
                data: (*l).into(),
                id: None,
                retry: None,
            };
            let mut out = Vec::new();
            let r = asm.on_event(&ev, &mut out);
            out.iter().for_each(|d| answer.apply(d));
            match r {
                Ok(Control::Done) => return (answer, None),
                Ok(Control::Continue) => {}
                Err(e) => return (answer, Some(e)),
            }
        }
        (answer, None)
    }

    #[test]
    fn role_repeated_is_not_concatenated_and_text_joins() {
        let (a, e) = run(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"lo"}}]}"#,
            "[DONE]",
        ]);
        assert!(e.is_none());
        assert_eq!(a.text, "Hello");
    }

    #[test]
    fn only_choice_zero() {
        let (a, _) = run(&[
            r#"{"choices":[{"index":1,"delta":{"content":"B"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"A"}}]}"#,
        ]);
        assert_eq!(a.text, "A");
    }

    #[test]
    fn empty_id_never_overwrites_and_index_may_start_at_one() {
        let (a, _) = run(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_1","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"","function":{"name":"","arguments":"{\"a\""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":1}"}}]}}]}"#,
        ]);
        assert_eq!(a.tool_calls.len(), 1);
        assert_eq!(a.tool_calls[0].id, "call_1");
        assert_eq!(a.tool_calls[0].name, "f");
        assert_eq!(a.tool_calls[0].arguments, "{\"a\":1}");
    }

    #[test]
    fn missing_index_new_id_starts_new_call() {
        let (a, _) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}"#,
        ]);
        assert_eq!(a.tool_calls.len(), 2);
        assert_eq!(a.tool_calls[1].name, "g");
        assert_eq!(a.tool_calls[1].arguments, "{}");
    }

    #[test]
    fn usage_not_cleared_by_later_null() {
        let (a, _) = run(&[
            r#"{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
            r#"{"choices":[],"usage":null}"#,
        ]);
        assert_eq!(
            a.usage,
            Some(Usage {
                input_tokens: 3,
                output_tokens: 1,
                cached_input_tokens: 0,
            })
        );
        assert_eq!(a.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn cached_prompt_tokens_are_read_from_openai_and_deepseek_usage() {
        let (a, _) = run(&[
            r#"{"choices":[],"usage":{"prompt_tokens":25939,"completion_tokens":58,"prompt_tokens_details":{"cached_tokens":25429}}}"#,
        ]);
        let u = a.usage.expect("usage");
        assert_eq!((u.input_tokens, u.cached_input_tokens), (25939, 25429));
        let (a, _) = run(&[
            r#"{"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5,"prompt_cache_hit_tokens":16,"prompt_cache_miss_tokens":4}}"#,
        ]);
        assert_eq!(a.usage.expect("usage").cached_input_tokens, 16);
        // Never more cached than prompt tokens.
        let (a, _) = run(&[
            r#"{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":9}}}"#,
        ]);
        assert_eq!(a.usage.expect("usage").cached_input_tokens, 2);
    }

    #[test]
    fn malformed_chunk_is_a_stream_error_keeping_text() {
        let (a, e) = run(&[
            r#"{"choices":[{"index":0,"delta":{"content":"ok"}}]}"#,
            "{not json",
        ]);
        assert_eq!(a.text, "ok");
        let e = e.expect("error");
        assert_eq!(e.kind(), crate::types::error::ErrorKind::Stream);
        assert!(e.to_string().contains("malformed chunk"), "{e}");
    }

    #[test]
    fn vllm_error_object() {
        let (_, e) = run(&[r#"{"object":"error","message":"boom","type":"BadRequestError"}"#]);
        assert_eq!(e.expect("error").to_string(), "boom");
    }

    #[test]
    fn event_error_without_error_key() {
        let mut asm = ChunkAssembler::new();
        let ev = SseEvent {
            event: "error".into(),
            data: r#"{"message":"boom"}"#.into(),
            id: None,
            retry: None,
        };
        let e = asm.on_event(&ev, &mut Vec::new()).expect_err("error");
        assert_eq!(e.to_string(), "boom");
    }

    #[test]
    fn the_fast_path_gives_the_same_deltas_as_the_general_path() {
        let chunks = [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi \u00e9\n","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"choices":[{"index":1,"delta":{"content":"other choice"}},{"index":0,"delta":{"content":"zero"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"used"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":1,"completion_tokens":2}}}"#,
            r#"{"choices":[{"index":0,"delta":{"refusal":"no"}}],"usage":null,"error":null}"#,
            r#"{"choices":[{"index":0,"message":{"content":"whole"},"finish_reason":"length"}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"error"}]}"#,
        ];
        for c in chunks {
            let fast: FastChunk<'_> = serde_json::from_str(c).expect("fast parse");
            assert!(!fast.needs_general_path(), "{c}");
            let (mut a, mut b) = (ChunkAssembler::new(), ChunkAssembler::new());
            let (mut fo, mut go) = (Vec::new(), Vec::new());
            let fr = a.on_fast_chunk(&fast, &mut fo).map_err(|e| e.to_string());
            let value: Value = serde_json::from_str(c).expect("json");
            let gr = b.on_chunk(&value, &mut go).map_err(|e| e.to_string());
            assert_eq!(fo, go, "{c}");
            assert_eq!(fr, gr, "{c}");
        }
        // Errors and odd shapes take the general path.
        for c in [
            r#"{"error":{"message":"boom"}}"#,
            r#"{"object":"error","message":"bad"}"#,
        ] {
            let fast: FastChunk<'_> = serde_json::from_str(c).expect("parse");
            assert!(fast.needs_general_path(), "{c}");
        }
        for c in [
            r#"{"choices":null}"#,
            r#"{"choices":[{"index":"0"}]}"#,
            r#"{"choices":[{"delta":{"content":["a"]}}]}"#,
            // Both spellings of a field: the general path decides which wins.
            r#"{"choices":[{"delta":{"reasoning_content":"","reasoning":"ignored"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":null,"reasoning":"used"}}]}"#,
            r#"{"choices":[{"delta":{"content":"d"},"message":{"content":"m"}}]}"#,
        ] {
            assert!(
                serde_json::from_str::<FastChunk<'_>>(c).is_err(),
                "{c} falls back"
            );
            // ...and on_event still gives what the general path gives.
            let ev = SseEvent {
                event: "message".into(),
                data: c.into(),
                id: None,
                retry: None,
            };
            let (mut a, mut b) = (ChunkAssembler::new(), ChunkAssembler::new());
            let (mut eo, mut go) = (Vec::new(), Vec::new());
            let er = a
                .on_event(&ev, &mut eo)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let gr = match serde_json::from_str::<Value>(c) {
                Ok(v) => b.on_chunk(&v, &mut go).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            assert_eq!(eo, go, "{c}");
            assert_eq!(er.is_ok(), gr.is_ok(), "{c}");
        }
    }

    /// One chunk of a generated stream: a kind and a text.
    fn gen_chunk(kind: u8, id: u8, text: &str) -> String {
        let t = serde_json::to_string(text).expect("json string");
        let head = format!(
            r#"{{"id":"chatcmpl-{id}","object":"chat.completion.chunk","created":1,"model":"m","choices":["#
        );
        match kind {
            0..=3 => format!(
                r#"{head}{{"index":0,"delta":{{"content":{t}}},"logprobs":null,"finish_reason":null}}]}}"#
            ),
            4 => format!(
                r#"{head}{{"index":0,"delta":{{"role":"assistant","content":{t}}}}}],"usage":null}}"#
            ),
            5 => format!(r#"{head}{{"index":0,"delta":{{"reasoning_content":{t}}}}}]}}"#),
            6 => format!(
                r#"{head}{{"index":0,"delta":{{"content":{t}}},"finish_reason":"length"}}]}}"#
            ),
            7 => format!(r#"{head}],"usage":{{"prompt_tokens":1,"completion_tokens":2}}}}"#),
            8 => format!(
                r#"{head}{{"index":0,"delta":{{"tool_calls":[{{"index":0,"id":"c{id}","function":{{"name":"f","arguments":{t}}}}}]}}}}]}}"#
            ),
            9 => format!(
                r#"{head}{{"index":1,"delta":{{"content":"B"}}}},{{"index":0,"delta":{{"content":{t}}}}}]}}"#
            ),
            10 => format!(
                r#"{head}{{"index":0,"delta":{{"content":{t}}}}}],"error":{{"message":"boom"}}}}"#
            ),
            11 => format!(r#"{head}{{"index":0,"delta":{{"content":{t},"content":"twice"}}}}]}}"#),
            // The escaped form of a plain text (what some servers send).
            _ => format!(
                r#"{head}{{"index":0,"delta":{{"content":"{}"}},"logprobs":null,"finish_reason":null}}]}}"#,
                text.chars()
                    .map(|c| format!("\\u{:04x}", c as u32 & 0xffff))
                    .collect::<String>()
            ),
        }
    }

    /// The general path's deltas for `chunks`, one `Value` at a time, up to
    /// the first error (the reference the fast paths must match).
    fn general(chunks: &[String]) -> (Vec<Delta>, Option<String>) {
        let mut asm = ChunkAssembler::new();
        let mut out = Vec::new();
        for c in chunks {
            let r = match serde_json::from_str::<Value>(c) {
                Ok(v) => asm.on_chunk(&v, &mut out).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = r {
                return (out, Some(e));
            }
        }
        (out, None)
    }

    fn via_events(chunks: &[String]) -> (Vec<Delta>, Option<String>) {
        let mut asm = ChunkAssembler::new();
        let mut out = Vec::new();
        for c in chunks {
            let ev = SseEvent {
                event: "message".into(),
                data: c.clone(),
                id: None,
                retry: None,
            };
            // The raw path: inline-thinking splitting is tested on its own.
            if let Err(e) = asm.on_event_raw(&ev, &mut out) {
                return (out, Some(e.to_string()));
            }
        }
        (out, None)
    }

    #[test]
    fn a_learnt_shape_gives_the_text_of_chunks_that_differ_only_in_it() {
        let chunks: Vec<String> = [
            (0, "Hel"),
            (0, "lo \"you\"\n"),
            (0, ""),
            (0, "é✓"),
            (12, "ok"),
        ]
        .iter()
        .map(|(k, t)| gen_chunk(*k, 1, t))
        .chain([gen_chunk(6, 1, "!"), gen_chunk(7, 1, "")])
        .collect();
        let (deltas, err) = via_events(&chunks);
        assert!(err.is_none());
        assert_eq!(deltas, general(&chunks).0);
        let mut a = Answer::default();
        deltas.iter().for_each(|d| a.apply(d));
        assert_eq!(a.text, "Hello \"you\"\né✓ok!");
        assert_eq!(a.finish_reason.as_deref(), Some("length"));
        // The shape is the bytes around the string: a chunk that only looks
        // like it (two values between the same ends) is parsed, not cut.
        let mut asm = ChunkAssembler::new();
        asm.on_event(
            &SseEvent {
                event: "message".into(),
                data: r#"{"choices":[{"delta":{"content":"a"}}]}"#.into(),
                id: None,
                retry: None,
            },
            &mut Vec::new(),
        )
        .expect("plain chunk");
        assert!(asm.shape.valid);
        assert_eq!(
            asm.shape
                .text_of(r#"{"choices":[{"delta":{"content":"b\u00e9"}}]}"#)
                .as_deref(),
            Some("bé")
        );
        for odd in [
            r#"{"choices":[{"delta":{"content":"b","x":"c"}}]}"#,
            r#"{"choices":[{"delta":{"content":"b\"}}]}"#,
            r#"{"choices":[{"delta":{"content":"b"c"}}]}"#,
            r#"{"choices":[{"delta":{"content":"b
"}}]}"#,
            r#"{"choices":[{"delta":{"content":1}}]}"#,
        ] {
            assert_eq!(asm.shape.text_of(odd), None, "{odd}");
        }
    }

    #[test]
    fn optional_strings_are_lent_not_copied() {
        let data =
            r#"{"choices":[{"delta":{"content":"lent","reasoning":"r"},"finish_reason":"stop"}]}"#;
        let fast: FastChunk<'_> = serde_json::from_str(data).expect("parse");
        let choice = fast.choices.0.expect("choice 0");
        let delta = choice.delta.expect("delta");
        assert!(matches!(delta.content, Some(Cow::Borrowed("lent"))));
        assert!(matches!(delta.reasoning_content, Some(Cow::Borrowed("r"))));
        assert!(matches!(choice.finish_reason, Some(Cow::Borrowed("stop"))));
        // Escapes need a copy.
        let data = r#"{"choices":[{"delta":{"content":"\u00e9"}}]}"#;
        let fast: FastChunk<'_> = serde_json::from_str(data).expect("parse");
        let content = fast.choices.0.and_then(|c| c.delta).and_then(|d| d.content);
        assert!(matches!(content, Some(Cow::Owned(ref s)) if s == "é"));
    }

    proptest::proptest! {
        /// Whatever mix of chunks a stream sends (shapes that repeat, change,
        /// carry escapes, finish, error), the learnt shape and the typed fast
        /// path give exactly the deltas and error of the general path.
        #[test]
        fn the_shape_cache_and_fast_path_match_the_general_path(
            chunks in proptest::collection::vec((0u8..14, 0u8..3, ".{0,6}"), 0..40)
        ) {
            let chunks: Vec<String> = chunks.iter().map(|(k, id, t)| gen_chunk(*k, *id, t)).collect();
            let (fast, fast_err) = via_events(&chunks);
            let (slow, slow_err) = general(&chunks);
            proptest::prop_assert_eq!(fast, slow);
            proptest::prop_assert_eq!(fast_err.is_some(), slow_err.is_some());
        }
    }

    #[test]
    fn request_body_shape() {
        let msgs = vec![
            ChatMessage::new(Role::System, "s"),
            ChatMessage::new(Role::User, "u"),
        ];
        let b = request_body("m", &msgs, true, true);
        assert_eq!(b["stream_options"]["include_usage"], true);
        assert_eq!(b["messages"][0]["role"], "system");
        let b = request_body("m", &msgs, true, false);
        assert!(b.get("stream_options").is_none());
    }
}
