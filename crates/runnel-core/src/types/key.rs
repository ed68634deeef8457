//! The API key type: a secret that cannot be printed, serialized or logged,
//! and what may be said about one without showing it.

use std::fmt;

/// Words in a header name that mark its value as a secret.
const SECRET_HEADER_WORDS: &[&str] = &[
    "authorization",
    "api-key",
    "apikey",
    "api_key",
    "token",
    "secret",
    "cookie",
    "password",
    "x-goog-api-key",
    "proxy-authorization",
];

/// True for a header whose value is a credential (`Authorization`,
/// `x-api-key`, `api-key`, `x-goog-api-key`, anything with token, secret,
/// password or cookie in its name).
pub fn is_secret_header(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    SECRET_HEADER_WORDS.iter().any(|w| n.contains(w))
}

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

/// The last 4 characters, shown as a reminder; none for a key shorter than 8
/// (showing 4 of 5 characters would show the key).
pub fn last4(key: &ApiKey) -> Option<String> {
    let chars: Vec<char> = key.expose().chars().collect();
    (chars.len() >= 8).then(|| chars[chars.len() - 4..].iter().collect())
}

/// A hint when a key's well-known prefix belongs to another provider than the
/// base URL's, e.g. an Anthropic key sent to OpenAI.
pub fn key_mismatch_hint(base_url: &str, key: &ApiKey) -> Option<String> {
    let host = url::Url::parse(base_url)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    let k = key.expose();
    let (owner, owner_host) = if k.starts_with("sk-ant-") {
        ("Anthropic", "anthropic.com")
    } else if k.starts_with("sk-or-") {
        ("OpenRouter", "openrouter.ai")
    } else if k.starts_with("gsk_") {
        ("Groq", "groq.com")
    } else if k.starts_with("xai-") {
        ("xAI", "x.ai")
    } else {
        return None;
    };
    (!host.ends_with(owner_host))
        .then(|| format!("This looks like an {owner} key, but this provider is {host}."))
}
