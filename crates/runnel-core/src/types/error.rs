//! Errors of the streaming engine. Every failure of a chat request ends up as one
//! [`EngineError`], which keeps the HTTP status and body where there was one, and
//! maps to one stable [`ErrorKind`] that the window and the CLI show.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The stable error kinds shown to users and tests (`data-error-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 401/403, or no API key where one is needed.
    Auth,
    /// 404: wrong model or base URL.
    NotFound,
    /// 429.
    RateLimited,
    /// 400 and other 4xx: the provider rejected the request.
    BadRequest,
    /// 5xx.
    Server,
    /// 529 or an in-stream overloaded error.
    Overloaded,
    /// DNS, connection refused, TLS, a bad base URL.
    Network,
    /// Connect, first-byte or idle timeout.
    Timeout,
    /// Malformed chunk, connection dropped mid-answer, in-stream error object.
    Stream,
    /// The OS keychain could not be used.
    Keychain,
    /// A request from a face that does not make sense (an empty message,
    /// an unknown id, a stream id in use).
    Invalid,
    /// The conversation database could not be used.
    Storage,
    /// A bug or a failed background task; the message says what.
    Internal,
    /// A local model could not be used: missing, damaged, too big for
    /// memory, or failed while answering.
    Model,
}

impl ErrorKind {
    /// The snake_case name used on the wire and in `data-error-kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::BadRequest => "bad_request",
            Self::Server => "server",
            Self::Overloaded => "overloaded",
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Stream => "stream",
            Self::Keychain => "keychain",
            Self::Invalid => "invalid",
            Self::Storage => "storage",
            Self::Internal => "internal",
            Self::Model => "model",
        }
    }
}

impl ErrorKind {
    /// Every kind, in the order of the UI contract.
    pub const ALL: [ErrorKind; 14] = [
        Self::Auth,
        Self::NotFound,
        Self::RateLimited,
        Self::BadRequest,
        Self::Server,
        Self::Overloaded,
        Self::Network,
        Self::Timeout,
        Self::Stream,
        Self::Keychain,
        Self::Invalid,
        Self::Storage,
        Self::Internal,
        Self::Model,
    ];

    /// The kind with this name; None for an unknown one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the TCP/TLS connection.
    Connect,
    /// Waiting for the response headers or the first chunk.
    FirstByte,
    /// Waiting between two chunks of the answer.
    Idle,
    /// The whole answer, from send to end (the optional answer deadline).
    Total,
}

/// A failed chat request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The server answered with a non-success HTTP status.
    #[error("{}", http_message(*status, message, *retry_after))]
    Http {
        /// HTTP status code.
        status: u16,
        /// The provider's own message (from its error JSON), or a cleaned-up body.
        message: String,
        /// The raw response body (truncated to 64 KiB).
        body: String,
        /// The server's Retry-After, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The server could not be reached.
    #[error("could not reach {url}: {detail}")]
    Network {
        /// The URL that was requested.
        url: String,
        /// What went wrong (DNS, refused, TLS...).
        detail: String,
    },
    /// A wait ran out.
    #[error("{}", timeout_message(*phase, *after))]
    Timeout {
        /// Which wait.
        phase: TimeoutPhase,
        /// How long we waited.
        after: Duration,
    },
    /// The answer stream broke: a malformed chunk, a dropped connection, or an
    /// error object sent inside the stream.
    #[error("{message}")]
    Stream {
        /// A plain description, or the provider's in-stream error message.
        message: String,
        /// The provider's error type when it sent one (e.g. `overloaded_error`).
        error_type: Option<String>,
    },
    /// The server answered, but not as an API would (e.g. a web page where a
    /// model list was expected).
    #[error("{url} did not answer with a model list ({detail}): is the base URL right?")]
    NotAnApi {
        /// The URL that was requested.
        url: String,
        /// What it answered, shortened.
        detail: String,
    },
    /// A local model could not be loaded or run.
    #[error("{message}")]
    Model {
        /// What went wrong, and what to do.
        message: String,
    },
    /// The request could not be made as configured (no key, bad base URL).
    #[error("{message}")]
    Config {
        /// The kind to show.
        kind: ErrorKind,
        /// What to do about it.
        message: String,
    },
}

fn http_message(status: u16, message: &str, retry_after: Option<Duration>) -> String {
    let what = match status {
        401 => "Authentication failed: check the API key",
        403 => "Access denied: the API key is not allowed to do this",
        404 => "Not found: check the model name and the base URL",
        408 => "The server timed out the request",
        429 => "Rate limited by the provider",
        529 => "The provider is overloaded",
        400..=499 => "The provider rejected the request",
        _ => "The provider had a server error",
    };
    let mut out = format!("{what} (HTTP {status})");
    if !message.is_empty() {
        out.push_str(": ");
        out.push_str(message);
    }
    if let Some(after) = retry_after {
        out.push_str(&format!(" (retry after {} s)", after.as_secs().max(1)));
    }
    out
}

fn timeout_message(phase: TimeoutPhase, after: Duration) -> String {
    let secs = after.as_secs_f64();
    match phase {
        TimeoutPhase::Connect => format!("Could not connect within {secs:.0} s"),
        TimeoutPhase::FirstByte => {
            format!("The server sent nothing for {secs:.0} s after the request")
        }
        TimeoutPhase::Idle => {
            format!("The server stopped sending for {secs:.0} s in the middle of the answer")
        }
        TimeoutPhase::Total => {
            format!("The answer took longer than the {secs:.0} s allowed for one answer")
        }
    }
}

impl EngineError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Http { status, .. } => match status {
                401 | 403 => ErrorKind::Auth,
                404 => ErrorKind::NotFound,
                408 => ErrorKind::Timeout,
                429 => ErrorKind::RateLimited,
                529 => ErrorKind::Overloaded,
                400..=499 => ErrorKind::BadRequest,
                _ => ErrorKind::Server,
            },
            Self::Network { .. } => ErrorKind::Network,
            Self::NotAnApi { .. } => ErrorKind::Stream,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Stream { error_type, .. } => match error_type.as_deref() {
                Some("overloaded_error") => ErrorKind::Overloaded,
                _ => ErrorKind::Stream,
            },
            Self::Config { kind, .. } => *kind,
            Self::Model { .. } => ErrorKind::Model,
        }
    }

    /// Seconds the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The same error with every occurrence of `secret` replaced by
    /// `<redacted>`: a server that echoes the key back cannot leak it into the
    /// window or the logs.
    pub fn redacted(self, secret: &str) -> Self {
        if secret.len() < 4 {
            return self;
        }
        let r = |s: String| {
            if s.contains(secret) {
                s.replace(secret, "<redacted>")
            } else {
                s
            }
        };
        match self {
            Self::Http {
                status,
                message,
                body,
                retry_after,
            } => Self::Http {
                status,
                message: r(message),
                body: r(body),
                retry_after,
            },
            Self::Network { url, detail } => Self::Network {
                url: r(url),
                detail: r(detail),
            },
            Self::NotAnApi { url, detail } => Self::NotAnApi {
                url: r(url),
                detail: r(detail),
            },
            Self::Stream {
                message,
                error_type,
            } => Self::Stream {
                message: r(message),
                error_type,
            },
            Self::Config { kind, message } => Self::Config {
                kind,
                message: r(message),
            },
            Self::Model { message } => Self::Model {
                message: r(message),
            },
            t @ Self::Timeout { .. } => t,
        }
    }

    /// The serializable `{kind, message}` form used at the IPC and CLI boundary.
    pub fn to_info(&self) -> ErrorInfo {
        ErrorInfo {
            kind: self.kind(),
            message: self.to_string(),
            status: self.status(),
            retry_after_s: self.retry_after().map(|d| d.as_secs_f64().ceil() as u64),
        }
    }
}

impl ErrorInfo {
    /// An error of `kind` with a plain message and no HTTP facts.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            status: None,
            retry_after_s: None,
        }
    }
}

/// The one serialized error shape at the boundaries: `{kind, message}` plus
/// optional HTTP facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ErrorInfo {
    /// Stable kind.
    pub kind: ErrorKind,
    /// Plain message for people.
    pub message: String,
    /// HTTP status, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    /// Retry-After in whole seconds, if the server sent one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry_after_s: Option<u64>,
}

/// Pulls the provider's own message out of an error body: OpenAI's
/// `{"error": {"message"}}`, `{"error": "..."}`, `{"message"}`, `{"detail"}`;
/// otherwise the body as text, trimmed and shortened (an HTML page is named as such).
pub fn provider_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(msg) = json_error_message(&v) {
            return msg;
        }
    }
    let trimmed = body.trim();
    let lower = trimmed
        .get(..trimmed.len().min(200))
        .unwrap_or("")
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "the server answered with an HTML page, not an API response (is the base URL right?)"
            .to_owned();
    }
    shorten(trimmed, 500)
}

/// The message of an error JSON value, if it has one.
pub fn json_error_message(v: &serde_json::Value) -> Option<String> {
    let err = v.get("error").filter(|e| !e.is_null()).unwrap_or(v);
    if let Some(s) = err.as_str() {
        return Some(s.to_owned());
    }
    for key in ["message", "detail", "error_description"] {
        match err.get(key) {
            Some(serde_json::Value::String(s)) => return Some(s.clone()),
            Some(other) if !other.is_null() && key == "detail" => return Some(other.to_string()),
            _ => {}
        }
    }
    None
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// An error and its causes on one line, e.g. "error sending request: connection refused".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_status() {
        let http = |status| EngineError::Http {
            status,
            message: String::new(),
            body: String::new(),
            retry_after: None,
        };
        assert_eq!(http(401).kind(), ErrorKind::Auth);
        assert_eq!(http(403).kind(), ErrorKind::Auth);
        assert_eq!(http(404).kind(), ErrorKind::NotFound);
        assert_eq!(http(429).kind(), ErrorKind::RateLimited);
        assert_eq!(http(400).kind(), ErrorKind::BadRequest);
        assert_eq!(http(422).kind(), ErrorKind::BadRequest);
        assert_eq!(http(500).kind(), ErrorKind::Server);
        assert_eq!(http(503).kind(), ErrorKind::Server);
        assert_eq!(http(529).kind(), ErrorKind::Overloaded);
    }

    #[test]
    fn provider_messages() {
        assert_eq!(
            provider_message(
                r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#
            ),
            "Incorrect API key provided"
        );
        assert_eq!(
            provider_message(r#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(
            provider_message(r#"{"object":"error","message":"bad"}"#),
            "bad"
        );
        assert_eq!(
            provider_message("  upstream exploded \n"),
            "upstream exploded"
        );
        assert!(provider_message("<!DOCTYPE html><html>...").contains("HTML page"));
        assert_eq!(provider_message(&"x".repeat(600)).chars().count(), 501);
    }

    #[test]
    fn regression_an_echoed_key_is_redacted() {
        let e = EngineError::Http {
            status: 401,
            message: "Incorrect API key provided: sk-live-secret-1234".into(),
            body: r#"{"error":{"message":"Incorrect API key provided: sk-live-secret-1234"}}"#
                .into(),
            retry_after: None,
        }
        .redacted("sk-live-secret-1234");
        assert!(!format!("{e} {e:?}").contains("sk-live-secret-1234"));
        assert!(e.to_string().contains("<redacted>"));
    }

    #[test]
    fn message_names_status_and_retry_after() {
        let e = EngineError::Http {
            status: 429,
            message: "slow down".into(),
            body: String::new(),
            retry_after: Some(Duration::from_secs(7)),
        };
        let s = e.to_string();
        assert!(
            s.contains("429") && s.contains("slow down") && s.contains("retry after 7 s"),
            "{s}"
        );
        assert_eq!(e.to_info().retry_after_s, Some(7));
    }
}
