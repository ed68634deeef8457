//! The local kind's place among the protocols. Local models are run in
//! process by the engine (`engine::local`); nothing about them goes over
//! HTTP, so every part of this protocol that would build a request refuses.

use crate::protocol::{ChatRequest, Protocol};
use crate::types::answer::Delta;
use crate::types::error::EngineError;
use crate::types::key::ApiKey;

/// The local kind's (empty) protocol.
#[derive(Debug, Clone, Copy)]
pub struct Local;

impl Protocol for Local {
    fn chat_url(&self, base_url: &str) -> String {
        base_url.to_owned()
    }

    fn models_url(&self, base_url: &str) -> String {
        base_url.to_owned()
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        _key: Option<&ApiKey>,
    ) -> reqwest::RequestBuilder {
        request
    }

    fn request_body(&self, _request: &ChatRequest<'_>) -> serde_json::Value {
        serde_json::Value::Null
    }

    fn asks_for_stream_usage(&self) -> bool {
        false
    }

    fn rejects_usage_option(&self, _error: &EngineError) -> bool {
        false
    }

    fn supports_thinking(&self) -> bool {
        false
    }

    fn whole_body(&self, _body: &serde_json::Value) -> Result<Vec<Delta>, EngineError> {
        Err(EngineError::Model {
            message: "a local model is not reached over HTTP".into(),
        })
    }
}
