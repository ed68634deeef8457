//! What the service's workflows take and give: the window's settings state,
//! providers as shown and edited, key results, and the workflow error.

use crate::config::{
    Language, LocalSettings, Provider, ProxySettings, Retries, SettingsError, SystemPromptPreset,
    Theme, Timeouts,
};
use crate::keys::{KeyStatus, SecretError};
use crate::protocol::ProviderKind;
use crate::types::error::{EngineError, ErrorInfo, ErrorKind};
use serde::{Deserialize, Serialize};

/// Any failure of a workflow, with the stable kind the window shows.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Settings could not be read, written or validated.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The keychain could not be used.
    #[error(transparent)]
    Keychain(#[from] SecretError),
    /// The provider answered with an error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The request does not make sense (unknown provider, empty key...).
    #[error("{0}")]
    Invalid(String),
}

impl ServiceError {
    /// The `{kind, message}` shown to users.
    pub fn to_info(&self) -> ErrorInfo {
        match self {
            Self::Engine(e) => e.to_info(),
            Self::Keychain(e) => ErrorInfo {
                kind: ErrorKind::Keychain,
                message: e.to_string(),
                status: None,
                retry_after_s: None,
            },
            Self::Settings(e) => ErrorInfo {
                kind: ErrorKind::BadRequest,
                message: e.to_string(),
                status: None,
                retry_after_s: None,
            },
            Self::Invalid(m) => ErrorInfo {
                kind: ErrorKind::BadRequest,
                message: m.clone(),
                status: None,
                retry_after_s: None,
            },
        }
    }
}

/// A provider as the window sees it: never the key, only its status.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProviderView {
    /// The provider's settings.
    #[serde(flatten)]
    pub provider: Provider,
    /// Key status.
    pub key: KeyStatus,
    /// `not set` or `set ····abcd`.
    pub key_label: String,
    /// A key is needed (the server is not on this machine).
    pub needs_key: bool,
    /// Requests can be made: a key is set or none is needed.
    pub usable: bool,
    /// From the environment, not saved.
    pub from_env: bool,
    /// Why requests cannot be made as configured, and what to do.
    pub problem: Option<String>,
}

/// What the environment offers to import.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct EnvImport {
    /// `OPENAI_API_KEY` is set.
    pub openai_key: bool,
    /// `OPENAI_BASE_URL`, if set.
    pub base_url: Option<String>,
    /// `ANTHROPIC_API_KEY` is set.
    pub anthropic_key: bool,
}

/// What the window's first frame needs to look as the user set it up: the
/// theme and the language. Read from the settings file and the environment
/// only, never the keychain, so the window has it before its first paint
/// (the app hands it to the page before the page's scripts run).
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Appearance {
    /// Theme.
    pub theme: Theme,
    /// The language the user picked; `None` follows the system.
    pub language: Option<Language>,
    /// The system's language preferences, best first (`LANGUAGE`, `LC_ALL`,
    /// `LC_MESSAGES`, `LANG`); the window also reads its own.
    pub system_languages: Vec<String>,
}

/// Everything the window's settings and pickers need.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct UiState {
    /// Providers, the environment's first when there is one.
    pub providers: Vec<ProviderView>,
    /// Provider of new conversations.
    pub default_provider: Option<String>,
    /// Theme and languages (the same fields the page starts with).
    #[serde(flatten)]
    #[ts(flatten)]
    pub appearance: Appearance,
    /// Timeouts, retries and proxy in force (the settings file's; the
    /// environment's `RUNNEL_*` variables may override timeouts and retries).
    pub network: NetworkSettings,
    /// What "reset" goes back to.
    pub network_defaults: NetworkSettings,
    /// A custom proxy is set and its password is in the keychain.
    pub proxy_password_set: bool,
    /// The `max_tokens` an Anthropic provider asks for when it sets none.
    pub anthropic_default_max_tokens: u32,
    /// System prompt presets.
    pub system_prompts: Vec<SystemPromptPreset>,
    /// A message about the settings file (moved aside...).
    pub notice: Option<String>,
    /// Keys in the environment that can be imported with one click.
    pub env_import: Option<EnvImport>,
    /// No provider is usable yet: show onboarding.
    pub onboarding: bool,
    /// The presets (for "add provider").
    pub presets: Vec<Provider>,
    /// Where the settings live.
    pub settings_path: String,
    /// The page measures its streaming pipeline (`RUNNEL_PAGE_METRICS=1`, for the window benchmark).
    pub page_metrics: bool,
    /// How local models run.
    pub local: LocalSettings,
    /// Their defaults, each spelled out (the context's size too).
    pub local_defaults: LocalSettings,
    /// Physical cores (the default thread count of local models).
    pub physical_cores: u32,
    /// Whether answers keep their exchange, and how much.
    pub trace: crate::config::TraceSettings,
}

/// A provider as edited in the window or the CLI.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct ProviderInput {
    /// Existing id to edit; None to add.
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Kind.
    #[serde(default)]
    pub kind: ProviderKind,
    /// Base URL.
    pub base_url: String,
    /// Default model.
    #[serde(default)]
    pub default_model: String,
    /// Extra headers.
    #[serde(default)]
    pub extra_headers: std::collections::BTreeMap<String, String>,
    /// Anthropic `max_tokens` (None: the default); other kinds ignore it.
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// The network settings as the window edits them: timeouts, retries and the
/// proxy (its password goes to the keychain on its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct NetworkSettings {
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Retries.
    pub retries: Retries,
    /// The proxy.
    pub proxy: ProxySettings,
}

/// The result of saving a provider.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SavedProvider {
    /// Its id.
    pub id: String,
    /// Its host changed, so its key was removed (set it again for the new host).
    pub key_removed: bool,
}

/// The result of saving a key.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct KeySaveResult {
    /// The key was stored (keychain, or this session only when the keychain failed).
    pub stored: bool,
    /// Status after the attempt.
    pub status: KeyStatus,
    /// The test (`GET /models`) failed with this; nothing was stored unless forced.
    pub test_error: Option<ErrorInfo>,
    /// The keychain failed with this; the key is held for this session only.
    pub keychain_error: Option<String>,
    /// Models found by the test.
    pub models: Vec<String>,
}
