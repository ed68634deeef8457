//! API keys: in the OS keychain only (service = the app id, account = the
//! provider id), through the `keyring` crate: macOS Keychain, Windows Credential
//! Manager, Secret Service on Linux. Never written anywhere else.
//!
//! Keychain calls run on their own thread with a timeout: gnome-keyring can
//! block forever on an unlock prompt. When the keychain cannot be used, the
//! error names the cause and what to do, and a key can still be used for this
//! session only, held in memory and marked "not saved". There is no plaintext
//! fallback.

use crate::types::key::{last4, ApiKey};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How long a keychain call may take before we give up on it.
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the keychain could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No keychain service could be reached, or it refused.
    #[error("{cause}. {help}")]
    Unavailable {
        /// What is wrong.
        cause: String,
        /// What to do.
        help: String,
    },
    /// The keychain did not answer in time (often an unlock prompt nobody answered).
    #[error("The keychain did not answer within {0} s (is an unlock prompt waiting?). Unlock your keyring and try again.")]
    Timeout(u64),
    /// The keychain refused this value or entry.
    #[error("The keychain refused the key: {0}")]
    Rejected(String),
}

/// Where keys are kept. The OS keychain in the app; tests may use their own.
pub trait SecretStore: Send + Sync {
    /// The secret for `account`, if any.
    fn get(&self, account: &str) -> Result<Option<String>, SecretError>;
    /// Stores or replaces the secret for `account`.
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError>;
    /// Deletes the secret for `account`; false if there was none.
    fn delete(&self, account: &str) -> Result<bool, SecretError>;
}

/// The OS keychain.
#[derive(Debug, Clone)]
pub struct OsKeychain {
    service: String,
    timeout: Duration,
}

impl OsKeychain {
    /// The keychain entries of `service` (the app id in the app).
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
            timeout: KEYCHAIN_TIMEOUT,
        }
    }

    /// Overrides the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs a keychain call on its own thread, giving up after the timeout.
    /// Calls run side by side, but while a call that timed out is still
    /// blocked (an unlock prompt nobody answers), new calls fail at once
    /// instead of each leaving another thread blocked.
    fn call<T: Send + 'static>(
        &self,
        account: &str,
        f: impl FnOnce(keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
    ) -> Result<T, keyring::Error> {
        /// Calls that timed out and are still blocked.
        static STUCK: AtomicUsize = AtomicUsize::new(0);
        const RUNNING: u8 = 0;
        const FINISHED: u8 = 1;
        const ABANDONED: u8 = 2;
        let timed_out =
            || keyring::Error::NoStorageAccess(Box::new(TimedOut(self.timeout.as_secs())));
        if STUCK.load(Ordering::SeqCst) > 0 {
            return Err(timed_out());
        }
        let (tx, rx) = mpsc::channel();
        let service = self.service.clone();
        let account = account.to_owned();
        let state = Arc::new(AtomicU8::new(RUNNING));
        let thread_state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let r = keyring::Entry::new(&service, &account).and_then(f);
                if thread_state.swap(FINISHED, Ordering::SeqCst) == ABANDONED {
                    STUCK.fetch_sub(1, Ordering::SeqCst);
                }
                let _ = tx.send(r);
            });
        if let Err(e) = spawned {
            return Err(keyring::Error::PlatformFailure(Box::new(e)));
        }
        match rx.recv_timeout(self.timeout) {
            Ok(r) => r,
            Err(_) => {
                if state.swap(ABANDONED, Ordering::SeqCst) == FINISHED {
                    // It finished just as the wait ran out: take its answer.
                    return rx.recv().unwrap_or_else(|_| Err(timed_out()));
                }
                STUCK.fetch_add(1, Ordering::SeqCst);
                Err(timed_out())
            }
        }
    }
}

#[derive(Debug)]
struct TimedOut(u64);
impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "runnel-keychain-timeout:{}", self.0)
    }
}
impl std::error::Error for TimedOut {}

/// Turns a keyring error into a message that names the cause and the remedy.
pub fn classify(e: &keyring::Error) -> SecretError {
    let text = match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            crate::types::error::error_chain(inner.as_ref())
        }
        keyring::Error::BadEncoding(_) => {
            return SecretError::Rejected("the stored key is not valid UTF-8 text".to_owned())
        }
        keyring::Error::TooLong(what, max) => {
            return SecretError::Rejected(format!("the {what} is longer than {max}"))
        }
        keyring::Error::Invalid(what, why) => {
            return SecretError::Rejected(format!("invalid {what}: {why}"))
        }
        keyring::Error::Ambiguous(_) => {
            return SecretError::Rejected(
                "several keychain entries match this provider; remove the extra ones".to_owned(),
            )
        }
        other => other.to_string(),
    };
    if let Some(secs) = text.split("runnel-keychain-timeout:").nth(1) {
        return SecretError::Timeout(secs.trim().parse().unwrap_or(KEYCHAIN_TIMEOUT.as_secs()));
    }
    let lower = text.to_ascii_lowercase();
    let (cause, help) = if lower.contains("autolaunch")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("failed to connect to socket")
        || lower.contains("session bus")
        || lower.contains("no such file or directory")
    {
        (
            "No D-Bus session bus is available, so the keychain (Secret Service) cannot be reached",
            "Start Runnel from your desktop session, or under `dbus-run-session`, with a Secret Service running (gnome-keyring or KeePassXC).",
        )
    } else if lower.contains("org.freedesktop.secrets")
        || lower.contains("serviceunknown")
        || lower.contains("not provided by any")
    {
        (
            "No Secret Service (the Linux keychain) is running",
            "Start gnome-keyring (`gnome-keyring-daemon --start --components=secrets`) or enable KeePassXC's Secret Service integration, then try again.",
        )
    } else if lower.contains("locked") {
        (
            "The keychain is locked",
            "Unlock your login keyring (Passwords and Keys / Seahorse, or KeePassXC) and try again.",
        )
    } else if lower.contains("dismissed")
        || lower.contains("no result found")
        || lower.contains("denied")
    {
        (
            "The keychain refused access (the unlock prompt was dismissed or the keyring was never unlocked)",
            "Unlock your keyring when asked, then try again.",
        )
    } else {
        (
            "The keychain could not be used",
            "Check that your system keychain is running and unlocked.",
        )
    };
    SecretError::Unavailable {
        cause: format!("{cause} ({})", crate::types::error::shorten(&text, 200)),
        help: help.to_owned(),
    }
}

impl SecretStore for OsKeychain {
    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        match self.call(account, |e| e.get_password()) {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(&e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        let secret = secret.to_owned();
        self.call(account, move |e| e.set_password(&secret))
            .map_err(|e| classify(&e))
    }

    fn delete(&self, account: &str) -> Result<bool, SecretError> {
        match self.call(account, |e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(classify(&e)),
        }
    }
}

/// What the window may know about a key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct KeyStatus {
    /// A key is available.
    pub set: bool,
    /// Its last 4 characters, when set.
    pub last4: Option<String>,
    /// It is in the keychain (false: this session only, or not set).
    pub saved: bool,
    /// Why the keychain could not be read or written, if it could not.
    pub problem: Option<String>,
}

impl KeyStatus {
    /// `not set`, or `set ····abcd` (plus `(not saved)` for a session-only key).
    pub fn label(&self) -> String {
        if !self.set {
            return "not set".to_owned();
        }
        let tail = self
            .last4
            .as_deref()
            .map(|l4| format!(" ····{l4}"))
            .unwrap_or_default();
        if self.saved {
            format!("set{tail}")
        } else {
            format!("set{tail} (not saved: this session only)")
        }
    }
}

/// Keys for providers: the keychain, read on each use (so a key changed by the
/// CLI is seen at once), plus session-only keys (redacted wrapper, in memory)
/// for when the keychain cannot be used.
pub struct Secrets {
    store: Arc<dyn SecretStore>,
    session: Mutex<HashMap<String, ApiKey>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { <redacted> }")
    }
}

impl Secrets {
    /// Keys kept in `store`.
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self {
            store,
            session: Mutex::new(HashMap::new()),
        }
    }

    fn session_key(&self, provider_id: &str) -> Option<ApiKey> {
        self.session
            .lock()
            .ok()
            .and_then(|m| m.get(provider_id).cloned())
    }

    /// The key of a provider, if one is set: a session-only key, else the keychain's.
    pub fn key(&self, provider_id: &str) -> Result<Option<ApiKey>, SecretError> {
        if let Some(k) = self.session_key(provider_id) {
            return Ok(Some(k));
        }
        Ok(self
            .store
            .get(provider_id)?
            .map(ApiKey::new)
            .filter(|k| !k.expose().is_empty()))
    }

    /// Saves a key to the keychain. When the keychain cannot be used, the key
    /// is kept for this session only and the error says why.
    pub fn set(&self, provider_id: &str, key: ApiKey) -> (KeyStatus, Option<SecretError>) {
        let result = self.store.set(provider_id, key.expose());
        let mut status = KeyStatus {
            set: true,
            last4: last4(&key),
            saved: result.is_ok(),
            problem: None,
        };
        if let Ok(mut m) = self.session.lock() {
            if result.is_ok() {
                m.remove(provider_id);
            } else {
                m.insert(provider_id.to_owned(), key);
            }
        }
        let err = result.err();
        status.problem = err.as_ref().map(ToString::to_string);
        (status, err)
    }

    /// Deletes a provider's key from the keychain and from memory.
    pub fn delete(&self, provider_id: &str) -> Result<(), SecretError> {
        if let Ok(mut m) = self.session.lock() {
            m.remove(provider_id);
        }
        self.store.delete(provider_id).map(|_| ())
    }

    /// The status of a session-only key, without touching the keychain.
    pub fn session_status(&self, provider_id: &str) -> Option<KeyStatus> {
        self.session_key(provider_id).map(|k| KeyStatus {
            set: true,
            last4: last4(&k),
            saved: false,
            problem: None,
        })
    }

    /// What the window may show about a provider's key.
    pub fn status(&self, provider_id: &str) -> KeyStatus {
        if let Some(st) = self.session_status(provider_id) {
            return st;
        }
        match self.store.get(provider_id) {
            Ok(Some(k)) => {
                let k = ApiKey::new(k);
                KeyStatus {
                    set: !k.expose().is_empty(),
                    last4: last4(&k),
                    saved: true,
                    problem: None,
                }
            }
            Ok(None) => KeyStatus {
                set: false,
                last4: None,
                saved: false,
                problem: None,
            },
            Err(e) => KeyStatus {
                set: false,
                last4: None,
                saved: false,
                problem: Some(e.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::key::key_mismatch_hint;

    /// An in-memory store for unit tests (the real keychain is tested in tests/keychain.rs).
    #[derive(Default)]
    struct MemStore {
        map: Mutex<HashMap<String, String>>,
        fail: bool,
    }

    impl SecretStore for MemStore {
        fn get(&self, a: &str) -> Result<Option<String>, SecretError> {
            if self.fail {
                return Err(SecretError::Timeout(1));
            }
            Ok(self.map.lock().expect("lock").get(a).cloned())
        }
        fn set(&self, a: &str, s: &str) -> Result<(), SecretError> {
            if self.fail {
                return Err(SecretError::Unavailable {
                    cause: "No Secret Service".into(),
                    help: "Start one.".into(),
                });
            }
            self.map.lock().expect("lock").insert(a.into(), s.into());
            Ok(())
        }
        fn delete(&self, a: &str) -> Result<bool, SecretError> {
            Ok(self.map.lock().expect("lock").remove(a).is_some())
        }
    }

    #[test]
    fn status_shows_only_the_last_four() {
        let s = Secrets::new(Arc::new(MemStore::default()));
        assert_eq!(s.status("openai").label(), "not set");
        let (st, err) = s.set("openai", ApiKey::new("sk-secret-abcd"));
        assert!(err.is_none());
        assert_eq!(st.label(), "set ····abcd");
        assert!(!format!("{st:?}").contains("secret"));
        assert_eq!(
            s.key("openai")
                .expect("key")
                .map(|k| k.expose().to_owned())
                .as_deref(),
            Some("sk-secret-abcd")
        );
        s.delete("openai").expect("delete");
        assert_eq!(s.status("openai").label(), "not set");
    }

    #[test]
    fn keychain_failure_keeps_a_session_only_key() {
        let s = Secrets::new(Arc::new(MemStore {
            fail: true,
            ..MemStore::default()
        }));
        let (st, err) = s.set("groq", ApiKey::new("gsk_1234567890"));
        assert!(err.is_some());
        assert!(st.set && !st.saved);
        assert_eq!(st.label(), "set ····7890 (not saved: this session only)");
        assert!(st.problem.expect("problem").contains("No Secret Service"));
        assert_eq!(
            s.key("groq").expect("key").map(|k| k.expose().len()),
            Some(14)
        );
    }

    #[test]
    fn classify_names_cause_and_remedy() {
        let err = |m: &str| keyring::Error::PlatformFailure(m.to_owned().into());
        let msg = classify(&err(
            "Unable to autolaunch a dbus-daemon without a $DISPLAY for X11",
        ))
        .to_string();
        assert!(
            msg.contains("No D-Bus session bus") && msg.contains("dbus-run-session"),
            "{msg}"
        );
        let msg = classify(&err("org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files")).to_string();
        assert!(
            msg.contains("No Secret Service") && msg.contains("gnome-keyring"),
            "{msg}"
        );
        let msg = classify(&err("Cannot create an item in a locked collection")).to_string();
        assert!(msg.contains("locked"), "{msg}");
        let msg = classify(&keyring::Error::NoStorageAccess(Box::new(TimedOut(10)))).to_string();
        assert!(msg.contains("did not answer within 10 s"), "{msg}");
    }

    #[test]
    fn regression_a_short_key_is_never_shown_whole() {
        let s = Secrets::new(Arc::new(MemStore::default()));
        let (st, _) = s.set("vllm", ApiKey::new("abc12"));
        assert_eq!(st.label(), "set");
        assert_eq!(s.status("vllm").label(), "set");
    }

    #[test]
    fn mismatch_hints() {
        let hint = key_mismatch_hint("https://api.openai.com/v1", &ApiKey::new("sk-ant-api03-x"));
        assert_eq!(
            hint.as_deref(),
            Some("This looks like an Anthropic key, but this provider is api.openai.com.")
        );
        assert!(
            key_mismatch_hint("https://api.groq.com/openai/v1", &ApiKey::new("gsk_x")).is_none()
        );
        assert!(
            key_mismatch_hint("https://api.openai.com/v1", &ApiKey::new("sk-proj-x")).is_none()
        );
    }
}
