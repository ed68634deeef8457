//! The environment, read once. Every variable Runnel understands is read
//! here and nowhere else in core; the rest of the code asks an [`Env`].
//! Order of precedence everywhere: built-in defaults, then the settings
//! file, then the environment.

use super::{Provider, Retries, Timeouts, APP_ID};
use crate::engine::endpoint::{Endpoint, DEFAULT_BASE_URL, DEFAULT_MODEL};
use crate::engine::EngineConfig;
use crate::protocol::ProviderKind;
use crate::types::key::ApiKey;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// The id of the provider made from the environment (never saved).
pub const ENV_PROVIDER_ID: &str = "env";
/// The variable holding an OpenAI(-compatible) key.
pub const OPENAI_KEY_VAR: &str = "OPENAI_API_KEY";
/// The variable holding an Anthropic key.
pub const ANTHROPIC_KEY_VAR: &str = "ANTHROPIC_API_KEY";
/// Anthropic's API, where an ad-hoc Anthropic request goes.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The model an ad-hoc Anthropic request asks when none is named.
pub const ANTHROPIC_DEFAULT_MODEL: &str = "claude-sonnet-4-5";

/// A snapshot of the process environment. Its Debug shows names only:
/// values may be keys.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

static PROCESS: OnceLock<Env> = OnceLock::new();

impl Env {
    /// The process environment, read at the first call and kept.
    pub fn process() -> &'static Env {
        PROCESS.get_or_init(|| Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        })
    }

    /// An environment with just these variables (for tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// A variable's value, trimmed; None when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The key held in `var`, if set.
    pub fn key(&self, var: &str) -> Option<ApiKey> {
        self.get(var).map(ApiKey::new)
    }

    fn millis(&self, name: &str) -> Option<Duration> {
        self.get(name)?
            .parse::<u64>()
            .ok()
            .map(Duration::from_millis)
    }

    /// `RUNNEL_CONFIG_DIR`, or the OS config dir's `dev.runnel.app`.
    pub fn config_dir(&self) -> PathBuf {
        match self.get("RUNNEL_CONFIG_DIR") {
            Some(d) => PathBuf::from(d),
            None => dirs::config_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(APP_ID),
        }
    }

    /// `RUNNEL_DATA_DIR`, or the OS data dir's `dev.runnel.app`.
    pub fn data_dir(&self) -> PathBuf {
        match self.get("RUNNEL_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(APP_ID),
        }
    }

    /// Where local models live: `RUNNEL_MODELS_DIR`, or the data dir's `models`.
    pub fn models_dir(&self) -> PathBuf {
        match self.get("RUNNEL_MODELS_DIR") {
            Some(d) => PathBuf::from(d),
            None => self.data_dir().join("models"),
        }
    }

    /// The engine's timeouts and retries: defaults, then the settings'
    /// timeouts and retries, then `RUNNEL_CONNECT_TIMEOUT_MS`,
    /// `RUNNEL_FIRST_BYTE_TIMEOUT_MS`, `RUNNEL_IDLE_TIMEOUT_MS`,
    /// `RUNNEL_MAX_RETRIES` and `RUNNEL_BACKOFF_MS`. (The proxy is the
    /// service's to add: its password is in the keychain.)
    pub fn engine_config(&self, settings: Option<(&Timeouts, &Retries)>) -> EngineConfig {
        let mut c = EngineConfig::default();
        if let Some((t, r)) = settings {
            c.connect_timeout = Duration::from_millis(t.connect_ms);
            c.first_byte_timeout = Duration::from_millis(t.first_byte_ms);
            c.idle_timeout = Duration::from_millis(t.idle_ms);
            c.max_retries = r.max_retries;
            c.backoff_base = Duration::from_millis(r.backoff_ms);
        }
        if let Some(d) = self.millis("RUNNEL_CONNECT_TIMEOUT_MS") {
            c.connect_timeout = d;
        }
        if let Some(d) = self.millis("RUNNEL_FIRST_BYTE_TIMEOUT_MS") {
            c.first_byte_timeout = d;
        }
        if let Some(d) = self.millis("RUNNEL_IDLE_TIMEOUT_MS") {
            c.idle_timeout = d;
        }
        if let Some(n) = self.get("RUNNEL_MAX_RETRIES").and_then(|v| v.parse().ok()) {
            c.max_retries = n;
        }
        if let Some(d) = self.millis("RUNNEL_BACKOFF_MS") {
            c.backoff_base = d;
        }
        if let Some(ms) = settings.and_then(|(t, _)| t.answer_deadline_ms) {
            c.answer_deadline = Some(Duration::from_millis(ms));
        }
        if let Some(d) = self.millis("RUNNEL_ANSWER_DEADLINE_MS") {
            c.answer_deadline = Some(d).filter(|d| !d.is_zero());
        }
        c
    }

    /// `OPENAI_BASE_URL`, when set.
    pub fn openai_base_url(&self) -> Option<&str> {
        self.get("OPENAI_BASE_URL")
    }

    /// `RUNNEL_MODEL`, when set.
    pub fn model(&self) -> Option<&str> {
        self.get("RUNNEL_MODEL")
    }

    /// `ANTHROPIC_API_KEY` is set.
    pub fn has_anthropic_key(&self) -> bool {
        self.get(ANTHROPIC_KEY_VAR).is_some()
    }

    /// The system's language preferences, best first, as POSIX locales say
    /// them: `LANGUAGE` (a colon-separated list), then `LC_ALL`,
    /// `LC_MESSAGES` and `LANG` (the window picks the first it has).
    pub fn languages(&self) -> Vec<String> {
        ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| self.get(v))
            .flat_map(|v| v.split(':'))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `RUNNEL_LOG`: the log filter (tracing syntax), when set.
    pub fn log_filter(&self) -> Option<&str> {
        self.get("RUNNEL_LOG")
    }

    /// `RUNNEL_LOG_FILE`: logs are appended there instead of stderr.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.get("RUNNEL_LOG_FILE").map(PathBuf::from)
    }

    /// Whether `name` is set at all, even empty (for variables other
    /// libraries read, whose mere presence is a choice).
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// `RUNNEL_PAGE_METRICS=1`: the window measures itself (benchmarks).
    pub fn page_metrics(&self) -> bool {
        self.get("RUNNEL_PAGE_METRICS") == Some("1")
    }

    /// `RUNNEL_MAINTENANCE=off`: the window makes no daily backup and runs
    /// no integrity check at start (benchmarks, which measure the window alone).
    pub fn maintenance(&self) -> bool {
        self.get("RUNNEL_MAINTENANCE") != Some("off")
    }

    /// `RUNNEL_EXPORT_PATH`: exports go there without a save dialog.
    pub fn export_path(&self) -> Option<PathBuf> {
        self.get("RUNNEL_EXPORT_PATH").map(PathBuf::from)
    }

    /// `RUNNEL_ATTACH_PATHS`: the paperclip attaches these files (a path
    /// list, as `PATH` is written) without a file dialog.
    pub fn attach_paths(&self) -> Option<Vec<PathBuf>> {
        self.get("RUNNEL_ATTACH_PATHS")
            .map(|v| std::env::split_paths(&v).collect())
    }

    /// `RUNNEL_IMPORT_PATH`: imports read it without an open dialog.
    pub fn import_path(&self) -> Option<PathBuf> {
        self.get("RUNNEL_IMPORT_PATH").map(PathBuf::from)
    }

    /// `RUNNEL_MODEL_IMPORT_PATH`: Settings' model import reads it without an
    /// open dialog (window tests).
    pub fn model_import_path(&self) -> Option<PathBuf> {
        self.get("RUNNEL_MODEL_IMPORT_PATH").map(PathBuf::from)
    }

    /// An ad-hoc endpoint for one request (`runnel ask` without a saved
    /// provider): the protocol's default base URL and model unless given,
    /// or set in `OPENAI_BASE_URL` / `RUNNEL_MODEL` (OpenAI-compatible only
    /// for the base URL); the key from `key_var` or the protocol's variable.
    pub fn ad_hoc_endpoint(
        &self,
        kind: ProviderKind,
        base_url: Option<&str>,
        model: Option<&str>,
        key_var: Option<&str>,
    ) -> Endpoint {
        let anthropic = kind == ProviderKind::Anthropic;
        let (default_key, default_base, default_model) = if anthropic {
            (
                ANTHROPIC_KEY_VAR,
                ANTHROPIC_BASE_URL,
                ANTHROPIC_DEFAULT_MODEL,
            )
        } else {
            (OPENAI_KEY_VAR, DEFAULT_BASE_URL, DEFAULT_MODEL)
        };
        let key_var = key_var.unwrap_or(default_key);
        let env_base = if anthropic {
            None
        } else {
            self.openai_base_url()
        };
        let base = base_url.or(env_base).unwrap_or(default_base);
        let model = model.or(self.model()).unwrap_or(default_model);
        let key = self.key(key_var);
        if anthropic {
            Endpoint::anthropic(base, model, key, key_var)
        } else {
            Endpoint::new(base, model, key, key_var)
        }
    }

    /// The provider from `OPENAI_BASE_URL`, `OPENAI_API_KEY` and
    /// `RUNNEL_MODEL`, used for this session without saving anything; None
    /// when neither OpenAI variable is set.
    pub fn provider(&self) -> Option<EnvProvider> {
        let base = self.openai_base_url();
        let key = self.key(OPENAI_KEY_VAR);
        if base.is_none() && key.is_none() {
            return None;
        }
        let provider = Provider::new(
            ENV_PROVIDER_ID,
            "Environment (OPENAI_BASE_URL)",
            ProviderKind::OpenaiCompatible,
            base.unwrap_or(DEFAULT_BASE_URL),
            self.model().unwrap_or(DEFAULT_MODEL),
        );
        Some(EnvProvider {
            provider,
            key,
            anthropic_key: self.has_anthropic_key(),
        })
    }
}

/// The provider from the environment, used for this session without saving anything.
#[derive(Debug, Clone)]
pub struct EnvProvider {
    /// As a provider (id `env`).
    pub provider: Provider,
    /// `OPENAI_API_KEY`, held in memory only.
    pub key: Option<ApiKey>,
    /// `ANTHROPIC_API_KEY` is set.
    pub anthropic_key: bool,
}

impl EnvProvider {
    /// Where its requests go, asking `model` or `RUNNEL_MODEL`'s.
    pub fn endpoint(&self, model: Option<&str>) -> Endpoint {
        let model = model
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.provider.default_model);
        let mut e = Endpoint::new(
            &self.provider.base_url,
            model,
            self.key.clone(),
            OPENAI_KEY_VAR,
        );
        e.provider = ENV_PROVIDER_ID.to_owned();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_settings_which_override_defaults() {
        let t = Timeouts {
            connect_ms: 1_000,
            first_byte_ms: 2_000,
            idle_ms: 3_000,
            answer_deadline_ms: Some(9_000),
        };
        let env = Env::from_pairs([
            ("RUNNEL_IDLE_TIMEOUT_MS", "50"),
            ("RUNNEL_MAX_RETRIES", "0"),
        ]);
        let r = Retries {
            max_retries: 7,
            backoff_ms: 250,
        };
        let c = env.engine_config(Some((&t, &r)));
        assert_eq!(c.backoff_base, Duration::from_millis(250));
        assert_eq!(c.connect_timeout, Duration::from_millis(1_000));
        assert_eq!(c.first_byte_timeout, Duration::from_millis(2_000));
        assert_eq!(c.idle_timeout, Duration::from_millis(50));
        assert_eq!(c.max_retries, 0);
        assert_eq!(c.answer_deadline, Some(Duration::from_millis(9_000)));
        let off =
            Env::from_pairs([("RUNNEL_ANSWER_DEADLINE_MS", "0")]).engine_config(Some((&t, &r)));
        assert_eq!(
            off.max_retries, 7,
            "the settings' retries when the environment says nothing"
        );
        assert_eq!(off.answer_deadline, None);
        assert_eq!(
            Env::default().engine_config(None).max_retries,
            EngineConfig::default().max_retries
        );
    }

    #[test]
    fn env_debug_shows_no_values() {
        let env = Env::from_pairs([("OPENAI_API_KEY", "sk-secret-value")]);
        let shown = format!("{env:?}");
        assert!(
            shown.contains("OPENAI_API_KEY") && !shown.contains("sk-secret"),
            "{shown}"
        );
    }

    #[test]
    fn ad_hoc_anthropic_ignores_openai_base_url() {
        let env = Env::from_pairs([
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("ANTHROPIC_API_KEY", "k"),
        ]);
        let e = env.ad_hoc_endpoint(ProviderKind::Anthropic, None, None, None);
        assert_eq!(e.base_url, ANTHROPIC_BASE_URL);
        assert!(e.api_key.is_some());
        let o = env.ad_hoc_endpoint(ProviderKind::OpenaiCompatible, None, None, None);
        assert_eq!(o.base_url, "http://127.0.0.1:9/v1");
    }
}
