//! Where and how to connect: base URL, protocol, key and headers, plus the
//! model and the per-provider request limits. What to ask (the messages) is
//! apart, in each request.

use crate::protocol::anthropic::DEFAULT_MAX_TOKENS;
use crate::protocol::{ProviderKind, Sampling};
use crate::types::error::{EngineError, ErrorKind};
use crate::types::key::is_secret_header;
use crate::types::key::ApiKey;
use crate::types::net::is_loopback_url;

/// The OpenAI API, where a provider with no base URL goes.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The model asked when none is named.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// One OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, e.g. `https://api.openai.com/v1` (no trailing slash).
    pub base_url: String,
    /// Model id.
    pub model: String,
    /// The key, if any.
    pub api_key: Option<ApiKey>,
    /// What to tell the user when a key is needed and missing.
    pub key_help: String,
    /// Extra headers sent with every request.
    pub extra_headers: Vec<(String, String)>,
    /// The server is known to reject `stream_options`.
    pub no_stream_options: bool,
    /// The protocol.
    pub kind: ProviderKind,
    /// Anthropic `max_tokens`.
    pub max_tokens: u32,
    /// Anthropic extended thinking budget, when enabled.
    pub thinking_budget: Option<u32>,
    /// Temperature, top-p and max tokens, where chosen.
    pub sampling: Sampling,
    /// The provider it belongs to: a saved provider's id, `env`, or "" for
    /// an ad-hoc one (see [`Endpoint::provider_label`]).
    pub provider: String,
}

impl Endpoint {
    /// Builds an endpoint whose key comes from the environment variable `key_var`;
    /// the base URL loses any trailing slash.
    pub fn new(base_url: &str, model: &str, api_key: Option<ApiKey>, key_var: &str) -> Self {
        Self {
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            model: model.trim().to_owned(),
            api_key: api_key.filter(|k| !k.expose().is_empty()),
            key_help: format!(
                "Set it in the environment before starting Runnel, e.g. `export {key_var}=sk-...`, \
                 or point OPENAI_BASE_URL at a local server (Ollama: http://localhost:11434/v1), \
                 which needs no key."
            ),
            extra_headers: Vec::new(),
            no_stream_options: false,
            kind: ProviderKind::OpenaiCompatible,
            max_tokens: DEFAULT_MAX_TOKENS,
            thinking_budget: None,
            sampling: Sampling::default(),
            provider: String::new(),
        }
    }

    /// Who answers, as usage is grouped: the provider's id, or for an ad-hoc
    /// endpoint its server's host (and port), never its path or query.
    pub fn provider_label(&self) -> String {
        if !self.provider.is_empty() {
            return self.provider.clone();
        }
        match url::Url::parse(&self.base_url) {
            Ok(u) => match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => String::new(),
            },
            Err(_) => String::new(),
        }
    }

    /// The local model `model` in the models folder `models_dir`.
    pub fn local(models_dir: &std::path::Path, model: &str) -> Self {
        let mut e = Self::new(&models_dir.to_string_lossy(), model, None, "");
        e.kind = ProviderKind::Local;
        e.key_help = "A local model needs no key.".into();
        // The built-in local provider's id.
        e.provider = ProviderKind::Local.as_str().to_owned();
        e
    }

    /// An ad-hoc Anthropic endpoint (base URL like `https://api.anthropic.com`).
    pub fn anthropic(base_url: &str, model: &str, api_key: Option<ApiKey>, key_var: &str) -> Self {
        let mut e = Self::new(base_url, model, api_key, key_var);
        e.kind = ProviderKind::Anthropic;
        e.key_help = format!(
            "Set it in the environment before running Runnel, e.g. `export {key_var}=sk-ant-...`."
        );
        e
    }

    /// Turns extended thinking on with `budget` tokens (or off with None)
    /// where the protocol has it; false (and nothing set) where it has not.
    pub fn set_thinking_budget(&mut self, budget: Option<u32>) -> bool {
        if !self.kind.protocol().supports_thinking() {
            return false;
        }
        self.thinking_budget = budget;
        true
    }

    /// The URL answers are requested from (the protocol's chat URL).
    pub fn chat_url(&self) -> String {
        self.kind.protocol().chat_url(&self.base_url)
    }

    /// The model list URL.
    pub fn models_url(&self) -> String {
        self.kind.protocol().models_url(&self.base_url)
    }

    /// Adds the extra headers, then the protocol's version and auth headers.
    pub fn authorize(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (k, v) in &self.extra_headers {
            match reqwest::header::HeaderValue::from_str(v) {
                Ok(mut value) => {
                    value.set_sensitive(is_secret_header(k));
                    request = request.header(k.as_str(), value);
                }
                Err(_) => request = request.header(k.as_str(), v.as_str()),
            }
        }
        self.kind
            .protocol()
            .authorize(request, self.api_key.as_ref())
    }

    /// The error with this endpoint's key, and the values of its secret
    /// headers, replaced by `<redacted>`.
    pub fn redact(&self, mut e: EngineError) -> EngineError {
        if let Some(k) = &self.api_key {
            e = e.redacted(k.expose());
        }
        for (name, value) in &self.extra_headers {
            if is_secret_header(name) {
                e = e.redacted(value);
            }
        }
        e
    }

    /// True when the base URL points at this machine (Ollama, llama.cpp, LM Studio...).
    pub fn is_loopback(&self) -> bool {
        is_loopback_url(&self.base_url)
    }

    /// Checks that a request can be made: an HTTP(S) base URL, and a key unless
    /// the server is on this machine. The error says what to do.
    pub fn check(&self) -> Result<(), EngineError> {
        if self.kind == ProviderKind::Local {
            return self.check_local();
        }
        self.check_base_url()?;
        if self.api_key.is_some() && self.base_url.starts_with("http://") && !self.is_loopback() {
            return Err(EngineError::Config {
                kind: ErrorKind::Auth,
                message: format!(
                    "Not sending the API key to {} over plain http://: anyone on the way could read it. \
                     Use https://, or a server on this machine.",
                    self.base_url
                ),
            });
        }
        if self.api_key.is_none() && !self.is_loopback() {
            return Err(EngineError::Config {
                kind: ErrorKind::Auth,
                message: self.missing_key_help(),
            });
        }
        Ok(())
    }

    /// A local endpoint is usable when its model is installed.
    fn check_local(&self) -> Result<(), EngineError> {
        let library = crate::engine::local::library::Library::new(&self.base_url);
        if self.model.is_empty() {
            return Err(EngineError::Model {
                message: "No local model is installed yet: download one in Settings \
                          (or `runnel models pull qwen2.5-1.5b`)."
                    .into(),
            });
        }
        library
            .path_of(&self.model)
            .map(|_| ())
            .map_err(|e| EngineError::Model {
                message: e.to_string(),
            })
    }

    /// Checks that the base URL is an HTTP(S) URL.
    pub fn check_base_url(&self) -> Result<(), EngineError> {
        match url::Url::parse(&self.base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            Ok(u) => {
                return Err(EngineError::Config {
                    kind: ErrorKind::Network,
                    message: format!(
                        "The base URL must start with http:// or https:// (got {}:)",
                        u.scheme()
                    ),
                })
            }
            Err(e) => {
                return Err(EngineError::Config {
                    kind: ErrorKind::Network,
                    message: format!("The base URL {:?} is not a valid URL: {e}", self.base_url),
                })
            }
        }
        Ok(())
    }

    /// Plain instructions for setting a key.
    pub fn missing_key_help(&self) -> String {
        format!("No API key for {}. {}", self.base_url, self.key_help)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_redacted() {
        let k = ApiKey::new("sk-secret-1234\n");
        assert_eq!(format!("{k:?} {k}"), "<redacted> <redacted>");
        assert_eq!(k.expose(), "sk-secret-1234");
        let e = Endpoint::new("https://x/v1", "m", Some(k), "OPENAI_API_KEY");
        assert!(!format!("{e:?}").contains("sk-secret"));
    }

    #[test]
    fn loopback_needs_no_key_remote_does() {
        let local = Endpoint::new("http://127.0.0.1:11434/v1/", "m", None, "OPENAI_API_KEY");
        assert_eq!(local.base_url, "http://127.0.0.1:11434/v1");
        assert!(local.check().is_ok());
        assert!(Endpoint::new("http://localhost:1234/v1", "m", None, "K")
            .check()
            .is_ok());
        assert!(Endpoint::new("http://[::1]:1234/v1", "m", None, "K")
            .check()
            .is_ok());
        let remote = Endpoint::new(DEFAULT_BASE_URL, "m", None, "OPENAI_API_KEY");
        let err = remote.check().expect_err("needs key");
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.to_string().contains("export OPENAI_API_KEY="));
    }

    #[test]
    fn base_url_must_be_http() {
        let e = Endpoint::new("ftp://x/v1", "m", Some(ApiKey::new("k")), "K")
            .check()
            .expect_err("bad");
        assert_eq!(e.kind(), ErrorKind::Network);
        assert!(Endpoint::new("not a url", "m", None, "K").check().is_err());
    }
}
