//! Network settings beside the timeouts: retries, and the proxy every request
//! of the app goes through. The proxy's password is never here: it lives in
//! the keychain under [`PROXY_ACCOUNT`].

use super::SettingsError;
use serde::{Deserialize, Serialize};

/// The keychain account of the proxy's password (provider ids can never be it).
pub const PROXY_ACCOUNT: &str = "runnel-proxy";

/// Most retries the settings accept (each waits up to a minute).
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// Longest first backoff step the settings accept.
pub const MAX_BACKOFF_MS: u64 = 60_000;
/// Shortest timeout the settings accept (anything less fails every request).
pub const MIN_TIMEOUT_MS: u64 = 100;
/// Longest timeout the settings accept (a day).
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// Retries of a request that failed before its answer started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Retries {
    /// Retries after the first try.
    pub max_retries: u32,
    /// First backoff step in milliseconds; doubled on each retry, with jitter.
    pub backoff_ms: u64,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            max_retries: crate::engine::MAX_RETRIES,
            backoff_ms: crate::engine::BACKOFF_BASE.as_millis() as u64,
        }
    }
}

/// Which proxy requests go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    /// The system's proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`).
    #[default]
    System,
    /// No proxy, whatever the environment says.
    Off,
    /// The proxy set here.
    Custom,
}

/// The proxy setting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct ProxySettings {
    /// Which proxy.
    pub mode: ProxyMode,
    /// `http://host:port`, `https://host:port`, `socks5://host:port` or
    /// `socks5h://host:port` (names resolved by the proxy); used in `Custom` mode.
    #[serde(default)]
    pub url: String,
    /// Hosts that bypass the proxy: comma-separated names, `.domain` suffixes,
    /// IPs or CIDR ranges (as `NO_PROXY`).
    #[serde(default)]
    pub no_proxy: String,
    /// The proxy's user name, when it asks for one (the password is in the keychain).
    #[serde(default)]
    pub username: String,
}

impl ProxySettings {
    /// Checks a custom proxy before it is saved: a URL with a scheme the
    /// engine speaks, a host and a port, and no password in it.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |m: String| Err(SettingsError::Invalid(m));
        if self.mode != ProxyMode::Custom {
            return Ok(());
        }
        let url = self.url.trim();
        if url.is_empty() {
            return bad("A custom proxy needs its URL, e.g. http://proxy.example:3128".to_owned());
        }
        let Ok(u) = url::Url::parse(url) else {
            return bad(format!(
                "The proxy URL {url:?} is not a URL (e.g. socks5://127.0.0.1:1080)"
            ));
        };
        if !matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return bad(format!(
                "The proxy URL must start with http://, https://, socks5:// or socks5h://, not {}://",
                u.scheme()
            ));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return bad(format!("The proxy URL {url:?} has no host"));
        }
        if u.port_or_known_default().is_none() {
            return bad(format!("The proxy URL {url:?} has no port"));
        }
        if !u.username().is_empty() || u.password().is_some() {
            return bad("The proxy URL has a user name or password in it: use the user name field, and the password field (it goes to the keychain)".to_owned());
        }
        if self.username.contains(':') {
            return bad("The proxy user name cannot contain ':'".to_owned());
        }
        Ok(())
    }
}

/// Checks timeouts and retries against their limits.
pub fn validate_network(
    timeouts: &super::Timeouts,
    retries: &Retries,
) -> Result<(), SettingsError> {
    let range = |name: &str, v: u64| {
        if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&v) {
            Ok(())
        } else {
            Err(SettingsError::Invalid(format!(
                "The {name} timeout must be between {MIN_TIMEOUT_MS} ms and {MAX_TIMEOUT_MS} ms, not {v} ms"
            )))
        }
    };
    range("connect", timeouts.connect_ms)?;
    range("first byte", timeouts.first_byte_ms)?;
    range("idle", timeouts.idle_ms)?;
    if let Some(d) = timeouts.answer_deadline_ms {
        range("answer", d)?;
    }
    if retries.max_retries > MAX_RETRIES_LIMIT {
        return Err(SettingsError::Invalid(format!(
            "At most {MAX_RETRIES_LIMIT} retries, not {}",
            retries.max_retries
        )));
    }
    if retries.backoff_ms > MAX_BACKOFF_MS {
        return Err(SettingsError::Invalid(format!(
            "The first backoff step is at most {MAX_BACKOFF_MS} ms, not {}",
            retries.backoff_ms
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(url: &str) -> ProxySettings {
        ProxySettings {
            mode: ProxyMode::Custom,
            url: url.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn a_custom_proxy_is_checked_before_it_is_saved() {
        for ok in [
            "http://proxy:3128",
            "https://proxy.example",
            "socks5://127.0.0.1:1080",
            "socks5h://[::1]:1080",
        ] {
            custom(ok)
                .validate()
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, says) in [
            ("", "needs its URL"),
            ("proxy:3128", "must start with"),
            ("ftp://proxy:21", "must start with"),
            ("socks5://user:secret@proxy:1080", "password field"),
            ("not a url", "not a URL"),
        ] {
            let e = custom(bad).validate().expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("secret"), "the password is never repeated: {e}");
        }
        // Other modes ignore the URL.
        ProxySettings {
            mode: ProxyMode::Off,
            url: "nonsense".into(),
            ..Default::default()
        }
        .validate()
        .expect("off");
    }

    #[test]
    fn timeouts_and_retries_have_limits() {
        let t = super::super::Timeouts::default();
        validate_network(&t, &Retries::default()).expect("defaults");
        let zero = super::super::Timeouts { connect_ms: 0, ..t };
        assert!(validate_network(&zero, &Retries::default()).is_err());
        let many = Retries {
            max_retries: MAX_RETRIES_LIMIT + 1,
            ..Retries::default()
        };
        assert!(validate_network(&t, &many).is_err());
    }
}
