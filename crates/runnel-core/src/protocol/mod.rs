//! Provider protocols. Each protocol (OpenAI-compatible, Anthropic) lives in
//! its own module behind one [`Protocol`]: it owns its URLs, its auth headers,
//! its request body, its stream assembler and its whole-body parse. The engine
//! asks [`ProviderKind::protocol`] and never branches on the kind itself;
//! adding a protocol touches this folder only.
//!
//! The SSE decoder ([`sse`]) is protocol-neutral and knows nothing of errors
//! above it: it only cuts bytes into events.

pub mod anthropic;
pub mod local;
pub mod openai;
pub mod sse;
pub mod think;

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
    /// GGUF models run in this process by llama.cpp (no HTTP).
    Local,
}

impl ProviderKind {
    /// The name used in settings and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenaiCompatible => "openai-compatible",
            Self::Anthropic => "anthropic",
            Self::Local => "local",
        }
    }

    /// Other names accepted for this kind (`openai` for OpenAI-compatible).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::OpenaiCompatible => &["openai"],
            Self::Anthropic | Self::Local => &[],
        }
    }

    /// Parses a kind's name or alias (`openai-compatible`, `openai`,
    /// `anthropic`, `local`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .chain([Self::Local])
            .find(|k| k.as_str() == s || k.aliases().contains(&s))
    }
}

impl ProviderKind {
    /// Every HTTP kind, in the order the window's provider form lists them
    /// (the local kind is built in, not added by hand).
    pub const ALL: [ProviderKind; 2] = [Self::OpenaiCompatible, Self::Anthropic];

    /// The protocol that talks to providers of this kind. The local kind
    /// speaks none over HTTP: the engine runs it in process, and its
    /// protocol only refuses (see [`local::Local`]).
    pub fn protocol(self) -> &'static dyn Protocol {
        match self {
            Self::OpenaiCompatible => &openai::OpenAi,
            Self::Anthropic => &anthropic::Anthropic,
            Self::Local => &local::Local,
        }
    }

    /// A fresh stream assembler of this kind's protocol.
    pub fn assembler(self) -> StreamAssembler {
        match self {
            Self::OpenaiCompatible | Self::Local => {
                StreamAssembler::OpenAi(openai::ChunkAssembler::new())
            }
            Self::Anthropic => StreamAssembler::Anthropic(anthropic::EventAssembler::new()),
        }
    }
}

/// Sampling settings a conversation or `runnel ask` chose; None leaves the
/// provider's (or the local model's) default.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// Temperature (0 = most deterministic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Most tokens of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// The number a person typed: an f32 as the shortest decimal that reads
/// back to it (0.4, not 0.4000000059604645).
fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

// Equality is total: `check` refuses NaN, and stored and sent values are checked.
impl Eq for Sampling {}

/// Highest temperature accepted.
pub const MAX_TEMPERATURE: f32 = 2.0;

impl Sampling {
    /// Checks the values people can type: temperature 0-2, top-p above 0
    /// up to 1, max tokens at least 1. The error says which is wrong.
    pub fn check(&self) -> Result<(), String> {
        if let Some(t) = self.temperature {
            if !(0.0..=MAX_TEMPERATURE).contains(&t) {
                return Err(format!(
                    "the temperature must be between 0 and {MAX_TEMPERATURE} (got {t})"
                ));
            }
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return Err(format!("top-p must be above 0 and at most 1 (got {p})"));
            }
        }
        if self.max_tokens == Some(0) {
            return Err("max tokens must be at least 1".into());
        }
        Ok(())
    }

    /// True when nothing is chosen (the provider's defaults).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// These values, with `over`'s set ones in their place.
    pub fn overridden_by(self, over: Sampling) -> Sampling {
        Sampling {
            temperature: over.temperature.or(self.temperature),
            top_p: over.top_p.or(self.top_p),
            max_tokens: over.max_tokens.or(self.max_tokens),
        }
    }

    /// Adds the set values to an OpenAI-style or Anthropic JSON body
    /// (`temperature`, `top_p`, `max_tokens`).
    pub fn apply(&self, body: &mut serde_json::Value) {
        if let Some(t) = self.temperature {
            body["temperature"] = serde_json::json!(decimal(t));
        }
        if let Some(p) = self.top_p {
            body["top_p"] = serde_json::json!(decimal(p));
        }
        if let Some(n) = self.max_tokens {
            body["max_tokens"] = serde_json::json!(n);
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
    /// Temperature, top-p and max tokens, where set.
    pub sampling: Sampling,
    /// Tools the model may call (none: no `tools` field).
    pub tools: &'a [crate::types::tool::ToolSpec],
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

    /// The stream ended, however: pushes anything held back.
    pub fn finish(&mut self, out: &mut Vec<Delta>) {
        if let Self::OpenAi(a) = self {
            a.finish(out);
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

#[cfg(test)]
mod tests {
    use super::Sampling;

    #[test]
    fn regression_a_typed_temperature_of_0_4_is_sent_as_0_4() {
        let mut body = serde_json::json!({});
        Sampling {
            temperature: Some(0.4),
            top_p: Some(0.9),
            max_tokens: Some(7),
        }
        .apply(&mut body);
        assert_eq!(
            body.to_string(),
            r#"{"max_tokens":7,"temperature":0.4,"top_p":0.9}"#
        );
    }

    #[test]
    fn sampling_ranges_are_checked() {
        let ok = Sampling {
            temperature: Some(0.0),
            top_p: Some(1.0),
            max_tokens: Some(1),
        };
        assert!(ok.check().is_ok());
        for bad in [
            Sampling {
                temperature: Some(2.5),
                ..ok
            },
            Sampling {
                temperature: Some(f32::NAN),
                ..ok
            },
            Sampling {
                top_p: Some(0.0),
                ..ok
            },
            Sampling {
                max_tokens: Some(0),
                ..ok
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert_eq!(
            ok.overridden_by(Sampling {
                max_tokens: Some(9),
                ..Default::default()
            })
            .max_tokens,
            Some(9)
        );
    }
}
