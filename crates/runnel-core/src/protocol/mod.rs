//! Provider protocols. Each protocol (OpenAI-compatible, Anthropic) lives in
//! its own module behind one [`Protocol`]: it owns its URLs, its auth headers,
//! its request body, its stream assembler and its whole-body parse. The engine
//! asks [`ProviderKind::protocol`] and never branches on the kind itself;
//! adding a protocol touches this folder only.
//!
//! The SSE decoder ([`sse`]) is protocol-neutral and knows nothing of errors
//! above it: it only cuts bytes into events.

pub mod anthropic;
pub mod openai;
pub mod sse;

use crate::types::answer::Delta;
use crate::types::chat::ChatMessage;
use crate::types::error::{shorten, EngineError};
use crate::types::key::ApiKey;
use serde::{Deserialize, Serialize};
use sse::SseEvent;

/// Protocol of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// OpenAI Chat Completions and compatible servers.
    #[default]
    OpenaiCompatible,
    /// Anthropic Messages.
    Anthropic,
}

impl ProviderKind {
    /// The name used in settings and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenaiCompatible => "openai-compatible",
            Self::Anthropic => "anthropic",
        }
    }

    /// Other names accepted for this kind (`openai` for OpenAI-compatible).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::OpenaiCompatible => &["openai"],
            Self::Anthropic => &[],
        }
    }

    /// Parses a kind's name or alias (`openai-compatible`, `openai`, `anthropic`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.aliases().contains(&s))
    }
}

impl ProviderKind {
    /// Every kind, in the order the window lists them.
    pub const ALL: [ProviderKind; 2] = [Self::OpenaiCompatible, Self::Anthropic];

    /// The protocol that talks to providers of this kind.
    pub fn protocol(self) -> &'static dyn Protocol {
        match self {
            Self::OpenaiCompatible => &openai::OpenAi,
            Self::Anthropic => &anthropic::Anthropic,
        }
    }

    /// A fresh stream assembler of this kind's protocol.
    pub fn assembler(self) -> StreamAssembler {
        match self {
            Self::OpenaiCompatible => StreamAssembler::OpenAi(openai::ChunkAssembler::new()),
            Self::Anthropic => StreamAssembler::Anthropic(anthropic::EventAssembler::new()),
        }
    }
}

/// What one chat request asks, whatever the protocol ("what to ask"; where
/// and how to connect is the engine's `Endpoint`).
#[derive(Debug, Clone, Copy)]
pub struct ChatRequest<'a> {
    /// Model id.
    pub model: &'a str,
    /// System prompt and turns, oldest first.
    pub messages: &'a [ChatMessage],
    /// Stream the answer (SSE) instead of one JSON response.
    pub stream: bool,
    /// Ask for token usage in the stream (OpenAI `stream_options`), where the
    /// protocol has such an option.
    pub include_usage: bool,
    /// Most output tokens (Anthropic requires it).
    pub max_tokens: u32,
    /// Extended thinking budget, when thinking is on.
    pub thinking_budget: Option<u32>,
}

/// One provider protocol.
pub trait Protocol: Sync {
    /// The URL answers are requested from, given the provider's base URL.
    fn chat_url(&self, base_url: &str) -> String;
    /// The URL of the model list.
    fn models_url(&self, base_url: &str) -> String;
    /// Adds the protocol's version and auth headers to a request.
    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        key: Option<&ApiKey>,
    ) -> reqwest::RequestBuilder;
    /// The JSON body of a chat request.
    fn request_body(&self, request: &ChatRequest<'_>) -> serde_json::Value;
    /// Whether streamed usage must be asked for with an option that some
    /// servers reject (OpenAI's `stream_options`).
    fn asks_for_stream_usage(&self) -> bool;
    /// True when a 400 answer means the server rejects that usage option.
    fn rejects_usage_option(&self, error: &EngineError) -> bool;
    /// Whether the protocol has extended thinking with a token budget.
    fn supports_thinking(&self) -> bool;
    /// The deltas of a complete (non-streamed) JSON response.
    fn whole_body(&self, body: &serde_json::Value) -> Result<Vec<Delta>, EngineError>;
}

/// What the stream should do after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep reading.
    Continue,
    /// `data: [DONE]` was seen: the answer is complete.
    Done,
}

/// Turns one protocol's stream events into deltas; one per stream. An enum,
/// not a boxed trait, so the per-event call is a direct one.
#[derive(Debug)]
pub enum StreamAssembler {
    /// OpenAI `chat.completion.chunk` events.
    OpenAi(openai::ChunkAssembler),
    /// Anthropic Messages events.
    Anthropic(anthropic::EventAssembler),
}

impl StreamAssembler {
    /// Handles one event, appending deltas to `out`. An error ends the
    /// stream; deltas pushed before it still count.
    pub fn on_event(
        &mut self,
        ev: &SseEvent,
        out: &mut Vec<Delta>,
    ) -> Result<Control, EngineError> {
        match self {
            Self::OpenAi(a) => a.on_event(ev, out),
            Self::Anthropic(a) => a.on_event(ev, out),
        }
    }
}

/// The JSON in an event's data. An `event: error` whose data is not JSON
/// becomes a stream error with that text; other non-JSON data is a malformed
/// event. `what` names the event in the message ("chunk", "event").
pub fn event_json(ev: &SseEvent, what: &str) -> Result<serde_json::Value, EngineError> {
    let data = ev.data.trim();
    serde_json::from_str(data).map_err(|e| {
        let message = if ev.event == "error" {
            shorten(data, 500)
        } else {
            format!(
                "malformed {what} from the provider ({e}): {}",
                shorten(data, 200)
            )
        };
        EngineError::Stream {
            message,
            error_type: None,
        }
    })
}
