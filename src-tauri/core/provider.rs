//! Where requests go: base URL, model and key. Until saved providers exist, the
//! provider comes from the environment as the OpenAI SDK reads it.

use crate::core::error::{EngineError, ErrorKind};
use std::fmt;

/// Default base URL when `OPENAI_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Default model when `RUNNEL_MODEL` is not set.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// An API key. Its Debug and Display print `<redacted>`, and it does not
/// implement Serialize, so it cannot leak into logs, files or the web view.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; surrounding whitespace (a pasted newline) is removed.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().trim().to_owned())
    }

    /// The secret itself, for the Authorization header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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
    pub kind: crate::core::settings::ProviderKind,
    /// Anthropic `max_tokens`.
    pub max_tokens: u32,
    /// Anthropic extended thinking budget, when enabled.
    pub thinking_budget: Option<u32>,
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
            kind: crate::core::settings::ProviderKind::OpenaiCompatible,
            max_tokens: crate::core::anthropic::DEFAULT_MAX_TOKENS,
            thinking_budget: None,
        }
    }

    /// An ad-hoc Anthropic endpoint (base URL like `https://api.anthropic.com`).
    pub fn anthropic(base_url: &str, model: &str, api_key: Option<ApiKey>, key_var: &str) -> Self {
        let mut e = Self::new(base_url, model, api_key, key_var);
        e.kind = crate::core::settings::ProviderKind::Anthropic;
        e.key_help = format!(
            "Set it in the environment before running Runnel, e.g. `export {key_var}=sk-ant-...`."
        );
        e
    }

    /// The endpoint of a saved provider, with `model` or its default model.
    pub fn for_provider(
        p: &crate::core::settings::Provider,
        model: Option<&str>,
        api_key: Option<ApiKey>,
    ) -> Self {
        let model = model
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(&p.default_model);
        let mut e = Self::new(&p.base_url, model, api_key, "OPENAI_API_KEY");
        e.key_help = format!(
            "Add a key for {} in Settings (or run `runnel key set {}`).",
            p.name, p.id
        );
        e.extra_headers = p
            .extra_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        e.no_stream_options = p.no_stream_options;
        e.kind = p.kind;
        e.max_tokens = p
            .max_tokens
            .unwrap_or(crate::core::anthropic::DEFAULT_MAX_TOKENS);
        e
    }

    /// Reads `OPENAI_BASE_URL`, `RUNNEL_MODEL` and the key variable (`OPENAI_API_KEY` by default).
    pub fn from_env(key_var: &str) -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self::new(
            &var("OPENAI_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            &var("RUNNEL_MODEL").unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            var(key_var).map(ApiKey::new),
            key_var,
        )
    }

    /// The URL answers are requested from: `/chat/completions`, or
    /// Anthropic's `/v1/messages`.
    pub fn chat_url(&self) -> String {
        match self.kind {
            crate::core::settings::ProviderKind::OpenaiCompatible => {
                format!("{}/chat/completions", self.base_url)
            }
            crate::core::settings::ProviderKind::Anthropic => {
                format!("{}/messages", self.v1_base())
            }
        }
    }

    /// The model list URL.
    pub fn models_url(&self) -> String {
        match self.kind {
            crate::core::settings::ProviderKind::OpenaiCompatible => {
                format!("{}/models", self.base_url)
            }
            // One page of up to 1000 (the default page is 20 models).
            crate::core::settings::ProviderKind::Anthropic => {
                format!("{}/models?limit=1000", self.v1_base())
            }
        }
    }

    /// Anthropic's base with `/v1` (its base URL is given without it).
    fn v1_base(&self) -> String {
        if self.base_url.ends_with("/v1") {
            self.base_url.clone()
        } else {
            format!("{}/v1", self.base_url)
        }
    }

    /// True when the base URL points at this machine (Ollama, llama.cpp, LM Studio...).
    pub fn is_loopback(&self) -> bool {
        is_loopback_url(&self.base_url)
    }

    /// Checks that a request can be made: an HTTP(S) base URL, and a key unless
    /// the server is on this machine. The error says what to do.
    pub fn check(&self) -> Result<(), EngineError> {
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
        if self.api_key.is_none() && !self.is_loopback() {
            return Err(EngineError::Config {
                kind: ErrorKind::Auth,
                message: self.missing_key_help(),
            });
        }
        Ok(())
    }

    /// Plain instructions for setting a key.
    pub fn missing_key_help(&self) -> String {
        format!("No API key for {}. {}", self.base_url, self.key_help)
    }
}

/// True for URLs whose host is localhost or a loopback address.
pub fn is_loopback_url(s: &str) -> bool {
    let Ok(u) = url::Url::parse(s) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
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
