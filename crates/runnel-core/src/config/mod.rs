//! Non-secret settings: providers, the default provider, theme, system prompt
//! presets and timeouts, in `settings.json` in the app's config dir (the file
//! and flat-JSON format of tauri-plugin-store, so the window and the CLI share
//! one file without a Tauri runtime). Versioned; written atomically (temp file,
//! fsync, rename). A corrupt file or an unknown version is moved aside with a
//! timestamp and defaults are loaded, with a notice for the window. Keys are
//! never here: they live in the OS keychain (see `secrets`).

pub mod env;
pub mod mcp;
pub mod network;
pub mod prices;

pub use network::{ProxyMode, ProxySettings, Retries, PROXY_ACCOUNT};

use crate::engine::endpoint::Endpoint;
use crate::protocol::anthropic::DEFAULT_MAX_TOKENS;
use crate::protocol::ProviderKind;
use crate::types::files::{private_dir, private_options};
use crate::types::key::{is_secret_header, ApiKey};
use crate::types::net::is_loopback_url;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The settings format this build writes.
pub const SETTINGS_VERSION: u32 = 1;
/// The app identifier: config dir name and keychain service.
pub const APP_ID: &str = "dev.runnel.app";

/// Model ids last fetched from a provider's `/models`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct ModelCache {
    /// Unix seconds of the fetch.
    pub fetched_at: u64,
    /// Model ids, sorted.
    pub models: Vec<String>,
}

/// A configured provider (never its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Provider {
    /// Stable id: the keychain account and the CLI's `--provider`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Protocol.
    #[serde(default)]
    pub kind: ProviderKind,
    /// Base URL, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// Model used for new conversations.
    #[serde(default)]
    pub default_model: String,
    /// Extra HTTP headers sent with every request (non-secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_headers: BTreeMap<String, String>,
    /// The provider's models, as last listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelCache>,
    /// The server rejected `stream_options`: never send it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_stream_options: bool,
    /// Anthropic `max_tokens` (ignored by other kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

impl Provider {
    /// Where and how to reach this provider, asking `model` (or its default
    /// model) with `api_key`.
    pub fn endpoint(&self, model: Option<&str>, api_key: Option<ApiKey>) -> Endpoint {
        let model = model
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.default_model);
        if self.kind == ProviderKind::Local {
            let dir = env::Env::process().models_dir();
            let model = if model.is_empty() {
                first_local_model(&dir).unwrap_or_default()
            } else {
                model.to_owned()
            };
            let mut e = Endpoint::local(&dir, &model);
            e.sampling.max_tokens = self.max_tokens;
            e.provider.clone_from(&self.id);
            return e;
        }
        let mut e = Endpoint::new(&self.base_url, model, api_key, env::OPENAI_KEY_VAR);
        e.key_help = format!(
            "Add a key for {} in Settings (or run `runnel key set {}`).",
            self.name, self.id
        );
        e.extra_headers = self
            .extra_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        e.no_stream_options = self.no_stream_options;
        e.kind = self.kind;
        e.max_tokens = self.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        e.provider.clone_from(&self.id);
        e
    }

    /// A provider with no extras.
    pub fn new(id: &str, name: &str, kind: ProviderKind, base_url: &str, model: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            kind,
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            default_model: model.to_owned(),
            extra_headers: BTreeMap::new(),
            models: None,
            no_stream_options: false,
            max_tokens: None,
        }
    }

    /// True when requests go to this machine, where no key is needed (a
    /// local server, or a model run in process).
    pub fn is_local(&self) -> bool {
        self.kind == ProviderKind::Local || is_loopback_url(&self.base_url)
    }
}

/// The id of the built-in local provider (models run in process).
pub const LOCAL_PROVIDER_ID: &str = "local";

/// The first installed local model's id (by name), if any.
pub fn first_local_model(dir: &std::path::Path) -> Option<String> {
    crate::engine::local::library::Library::new(dir)
        .list()
        .ok()?
        .into_iter()
        .find(|m| m.info.is_ok())
        .map(|m| m.id)
}

/// The built-in presets, in display order. Their ids are stable (CLI, tests).
pub fn presets() -> Vec<Provider> {
    use ProviderKind::OpenaiCompatible as O;
    vec![
        Provider::new(
            LOCAL_PROVIDER_ID,
            "On this computer",
            ProviderKind::Local,
            "",
            "",
        ),
        Provider::new(
            "openai",
            "OpenAI",
            O,
            "https://api.openai.com/v1",
            "gpt-4o-mini",
        ),
        Provider::new(
            "openrouter",
            "OpenRouter",
            O,
            "https://openrouter.ai/api/v1",
            "openai/gpt-4o-mini",
        ),
        Provider::new(
            "groq",
            "Groq",
            O,
            "https://api.groq.com/openai/v1",
            "llama-3.3-70b-versatile",
        ),
        Provider::new(
            "deepseek",
            "DeepSeek",
            O,
            "https://api.deepseek.com/v1",
            "deepseek-chat",
        ),
        Provider::new(
            "mistral",
            "Mistral",
            O,
            "https://api.mistral.ai/v1",
            "mistral-small-latest",
        ),
        Provider::new(
            "together",
            "Together",
            O,
            "https://api.together.xyz/v1",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        Provider::new(
            "ollama",
            "Ollama",
            O,
            "http://localhost:11434/v1",
            "llama3.2",
        ),
        Provider::new("lmstudio", "LM Studio", O, "http://localhost:1234/v1", ""),
        Provider::new(
            "llamacpp",
            "llama.cpp server",
            O,
            "http://localhost:8080/v1",
            "default",
        ),
        Provider::new(
            "anthropic",
            "Anthropic",
            ProviderKind::Anthropic,
            "https://api.anthropic.com",
            "claude-sonnet-4-5",
        ),
    ]
}

/// Window theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the system's light/dark setting.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// The window's language, when the user picked one (else the system's).
/// Unknown values in the settings file are an error, not a silent default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub enum Language {
    /// English.
    #[serde(rename = "en")]
    English,
    /// German.
    #[serde(rename = "de")]
    German,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    SimplifiedChinese,
}

/// A named system prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SystemPromptPreset {
    /// Name shown in the picker.
    pub name: String,
    /// The prompt.
    pub text: String,
}

/// Request timeouts in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Timeouts {
    /// Connect timeout.
    pub connect_ms: u64,
    /// Time to first byte.
    pub first_byte_ms: u64,
    /// Longest silence between chunks.
    pub idle_ms: u64,
    /// The longest one answer may take, when set (`RUNNEL_ANSWER_DEADLINE_MS`
    /// overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_deadline_ms: Option<u64>,
}

impl Default for Timeouts {
    fn default() -> Self {
        let ms = |d: std::time::Duration| d.as_millis() as u64;
        Self {
            connect_ms: ms(crate::engine::CONNECT_TIMEOUT),
            first_byte_ms: ms(crate::engine::FIRST_BYTE_TIMEOUT),
            idle_ms: ms(crate::engine::IDLE_TIMEOUT),
            answer_deadline_ms: None,
        }
    }
}

/// Everything in `settings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Format version.
    pub version: u32,
    /// Providers (presets first, then the user's).
    pub providers: Vec<Provider>,
    /// Provider of new conversations; `None` until the user picks one.
    #[serde(default)]
    pub default_provider: Option<String>,
    /// Theme.
    #[serde(default)]
    pub theme: Theme,
    /// The window's language; `None` follows the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// System prompt presets.
    #[serde(default)]
    pub system_prompts: Vec<SystemPromptPreset>,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Retries before an answer starts.
    #[serde(default)]
    pub retries: Retries,
    /// The proxy every request goes through.
    #[serde(default)]
    pub proxy: ProxySettings,
    /// Preset ids the user deleted (not re-added on load).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_presets: Vec<String>,
    /// How local models run.
    #[serde(default)]
    pub local: LocalSettings,
    /// The user's prices by model id (USD per million tokens); they replace
    /// the built-in ones (see [`prices`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub prices: std::collections::BTreeMap<String, crate::types::cost::Price>,
    /// Whether each answer keeps what went over the wire, and how much.
    #[serde(default)]
    pub trace: TraceSettings,
    /// MCP servers and how tool calls run.
    #[serde(default)]
    pub tools: mcp::ToolSettings,
}

/// Whether answers keep their exchange (see `engine::trace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct TraceSettings {
    /// Record and store it (on by default).
    pub enabled: bool,
    /// At most this many KiB per answer; beyond it the first and last events
    /// are kept and the rest counted.
    pub cap_kib: u32,
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            cap_kib: (crate::engine::trace::DEFAULT_TRACE_CAP / 1024) as u32,
        }
    }
}

impl TraceSettings {
    /// The cap to record with, or None when tracing is off.
    pub fn cap(&self) -> Option<usize> {
        self.enabled.then_some(self.cap_kib as usize * 1024)
    }

    /// Checks the cap is within [`MIN_TRACE_CAP`, `MAX_TRACE_CAP`].
    ///
    /// [`MIN_TRACE_CAP`]: crate::engine::trace::MIN_TRACE_CAP
    /// [`MAX_TRACE_CAP`]: crate::engine::trace::MAX_TRACE_CAP
    pub fn validate(&self) -> Result<(), SettingsError> {
        use crate::engine::trace::{MAX_TRACE_CAP, MIN_TRACE_CAP};
        let (lo, hi) = (MIN_TRACE_CAP / 1024, MAX_TRACE_CAP / 1024);
        if !(lo..=hi).contains(&(self.cap_kib as usize)) {
            return Err(SettingsError::Invalid(format!(
                "A trace's cap must be between {lo} and {hi} KiB (got {})",
                self.cap_kib
            )));
        }
        Ok(())
    }
}

/// Most threads a local model may be given.
pub const MAX_LOCAL_THREADS: u32 = 256;
/// Longest idle time before a local model is unloaded, in minutes (one day).
pub const MAX_IDLE_UNLOAD_MINUTES: u32 = 24 * 60;
/// Smallest context a local model may be given, in tokens.
pub const MIN_LOCAL_CONTEXT: u32 = 512;
/// Largest context a local model may be given, in tokens (the largest any
/// catalog model was trained for; a model's own is the cap in any case).
pub const MAX_LOCAL_CONTEXT: u32 = 131_072;

/// How local models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// Threads for a local model; None: one per physical core
    /// (`RUNNEL_LOCAL_THREADS` applies when this is None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Minutes a loaded model stays loaded unused.
    pub idle_unload_minutes: u32,
    /// Most tokens of context (prompt and answer) a model is given; None:
    /// the default, 8,192 (a model's own training context caps it). A
    /// longer conversation loses its oldest turns, and the answer says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<u32>,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            threads: None,
            idle_unload_minutes: (crate::engine::local::DEFAULT_IDLE_UNLOAD.as_secs() / 60) as u32,
            context: None,
        }
    }
}

impl LocalSettings {
    /// Checks the ranges: threads 1-256, idle 1 minute to a day, context
    /// 512-131,072 tokens.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(c) = self.context {
            if !(MIN_LOCAL_CONTEXT..=MAX_LOCAL_CONTEXT).contains(&c) {
                return Err(SettingsError::Invalid(format!(
                    "A local model's context must be between {MIN_LOCAL_CONTEXT} and {MAX_LOCAL_CONTEXT} tokens (got {c})"
                )));
            }
        }
        if let Some(t) = self.threads {
            if !(1..=MAX_LOCAL_THREADS).contains(&t) {
                return Err(SettingsError::Invalid(format!(
                    "Local model threads must be between 1 and {MAX_LOCAL_THREADS} (got {t})"
                )));
            }
        }
        if !(1..=MAX_IDLE_UNLOAD_MINUTES).contains(&self.idle_unload_minutes) {
            return Err(SettingsError::Invalid(format!(
                "The idle time before a local model is unloaded must be between 1 and {MAX_IDLE_UNLOAD_MINUTES} minutes (got {})",
                self.idle_unload_minutes
            )));
        }
        Ok(())
    }

    /// The runtime configuration these settings give.
    pub fn runtime_config(&self) -> crate::engine::local::LocalConfig {
        crate::engine::local::LocalConfig {
            threads: self.threads.map(|t| t as usize),
            idle_unload: std::time::Duration::from_secs(u64::from(self.idle_unload_minutes) * 60),
            context: self
                .context
                .unwrap_or(crate::engine::local::DEFAULT_CONTEXT),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: SETTINGS_VERSION,
            providers: presets(),
            default_provider: None,
            theme: Theme::System,
            language: None,
            system_prompts: Vec::new(),
            timeouts: Timeouts::default(),
            retries: Retries::default(),
            proxy: ProxySettings::default(),
            removed_presets: Vec::new(),
            local: LocalSettings::default(),
            prices: std::collections::BTreeMap::new(),
            trace: TraceSettings::default(),
            tools: mcp::ToolSettings::default(),
        }
    }
}

impl Settings {
    /// Checks the user's prices (see [`prices::check_user_price`]).
    pub fn check_prices(&self) -> Result<(), SettingsError> {
        for (model, price) in &self.prices {
            prices::check_user_price(model, price)
                .map_err(|e| SettingsError::Invalid(format!("{model}: {e}")))?;
        }
        Ok(())
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The provider with this id, mutably.
    pub fn provider_mut(&mut self, id: &str) -> Option<&mut Provider> {
        self.providers.iter_mut().find(|p| p.id == id)
    }

    /// Adds a provider or replaces the one with the same id, after checking it.
    pub fn upsert_provider(&mut self, provider: Provider) -> Result<(), SettingsError> {
        validate_provider(&provider)?;
        self.removed_presets.retain(|id| *id != provider.id);
        match self.providers.iter_mut().find(|p| p.id == provider.id) {
            Some(existing) => *existing = provider,
            None => self.providers.push(provider),
        }
        Ok(())
    }

    /// Removes a provider; false if there was none. The default moves off it.
    pub fn remove_provider(&mut self, id: &str) -> bool {
        let before = self.providers.len();
        self.providers.retain(|p| p.id != id);
        if self.default_provider.as_deref() == Some(id) {
            self.default_provider = None;
        }
        let removed = self.providers.len() != before;
        if removed
            && presets().iter().any(|p| p.id == id)
            && !self.removed_presets.iter().any(|r| r == id)
        {
            self.removed_presets.push(id.to_owned());
        }
        removed
    }

    /// A new id not yet used, derived from `base` (`custom`, `custom-2`, ...).
    pub fn unused_id(&self, base: &str) -> String {
        let base = slug(base);
        let base = if base.is_empty() {
            "custom".to_owned()
        } else {
            base
        };
        let free = |id: &str| self.provider(id).is_none() && id != PROXY_ACCOUNT;
        if free(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| free(id))
            .unwrap_or(base)
    }

    /// Adds presets that are missing, except those the user deleted.
    fn fill_presets(&mut self) {
        for p in presets() {
            if self.provider(&p.id).is_none() && !self.removed_presets.contains(&p.id) {
                self.providers.push(p);
            }
        }
    }
}

/// Lowercase ASCII letters, digits and dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(40).collect()
}

/// Checks a provider's fields; the message says what to fix.
pub fn validate_provider(p: &Provider) -> Result<(), SettingsError> {
    let bad = |m: String| Err(SettingsError::Invalid(m));
    if p.id.is_empty() || slug(&p.id) != p.id {
        return bad(format!(
            "The provider id {:?} must be lowercase letters, digits and dashes",
            p.id
        ));
    }
    if p.id == PROXY_ACCOUNT {
        return bad(format!(
            "The provider id {PROXY_ACCOUNT:?} is reserved for the proxy's password: pick another name"
        ));
    }
    if p.name.trim().is_empty() {
        return bad("The provider needs a name".to_owned());
    }
    match url::Url::parse(&p.base_url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
            if u.host_str().is_none_or(str::is_empty) {
                return bad(format!("The base URL {:?} has no host", p.base_url));
            }
            if !u.username().is_empty() || u.password().is_some() {
                return bad(
                    "The base URL has a user name or password in it: put the key in the key field (it goes to the keychain), not in the URL"
                        .to_owned(),
                );
            }
            if u.query_pairs().any(|(k, _)| is_secret_query(&k)) {
                return bad(
                    "The base URL carries a key in its query: put the key in the key field (it goes to the keychain), not in the URL"
                        .to_owned(),
                );
            }
        }
        Ok(u) => {
            return bad(format!(
                "The base URL must start with http:// or https:// (got {}:)",
                u.scheme()
            ))
        }
        Err(e) => {
            return bad(format!(
                "The base URL {:?} is not a valid URL: {e}",
                p.base_url
            ))
        }
    }
    for (k, v) in &p.extra_headers {
        if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err()
            || reqwest::header::HeaderValue::from_str(v).is_err()
        {
            return bad(format!("The header {k:?} is not a valid HTTP header"));
        }
        if is_secret_header(k) {
            return bad(format!(
                "Put the key in the key field (it goes to the keychain), not in the {k} header: headers are stored in plain text"
            ));
        }
    }
    Ok(())
}

/// Query parameters that carry credentials (`?key=`, `?api_key=`, `?token=`...).
fn is_secret_query(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "key" | "api_key" | "apikey" | "api-key" | "token" | "access_token" | "secret"
    ) || is_secret_header(&n)
}

/// Settings errors.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read or written.
    #[error("could not {action} the settings file {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// No such provider.
    #[error("there is no provider with the id {0:?}")]
    NoSuchProvider(String),
}

/// The result of loading: the settings, and a notice for the user when the
/// file had to be moved aside.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The settings in force.
    pub settings: Settings,
    /// What happened to a bad file, in plain words.
    pub notice: Option<String>,
}

/// The settings file.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

/// The app's config dir: `RUNNEL_CONFIG_DIR`, else the platform's config dir
/// plus the app id (where tauri's `app_config_dir` points).
pub fn config_dir() -> PathBuf {
    env::Env::process().config_dir()
}

/// Moves a file that could not be used out of the way, to
/// `<name>.bad-<unix seconds>` (`-1`, `-2`... when taken) beside it, so it is
/// kept for the user and a fresh one can be written. Returns where it went.
pub fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut aside = path.with_file_name(format!("{name}.bad-{stamp}"));
    let mut n = 1;
    while aside.exists() {
        aside = path.with_file_name(format!("{name}.bad-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

impl SettingsStore {
    /// The store at `<config dir>/settings.json`.
    pub fn default_location() -> Self {
        Self::at(config_dir().join("settings.json"))
    }

    /// A store at a given path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the settings; never fails on a bad file (it is moved aside).
    pub fn load(&self) -> Result<Loaded, SettingsError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    settings: Settings::default(),
                    notice: None,
                })
            }
            Err(source) => {
                return Err(SettingsError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let problem = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Err(e) => format!("it is not valid JSON ({e})"),
            Ok(v) => match v.get("version").and_then(serde_json::Value::as_u64) {
                Some(ver) if ver > u64::from(SETTINGS_VERSION) => format!(
                    "it was written by a newer Runnel (settings version {ver}; this one reads {SETTINGS_VERSION})"
                ),
                Some(_) => match serde_json::from_value::<Settings>(v) {
                    Ok(mut s) => match s
                        .proxy
                        .validate()
                        .and_then(|()| network::validate_network(&s.timeouts, &s.retries))
                        .and_then(|()| s.check_prices())
                        .and_then(|()| s.trace.validate())
                        .and_then(|()| s.tools.validate())
                    {
                        Ok(()) => {
                            s.version = SETTINGS_VERSION;
                            s.fill_presets();
                            return Ok(Loaded { settings: s, notice: None });
                        }
                        Err(e) => format!("its network settings or prices are not usable ({e})"),
                    },
                    Err(e) => format!("it could not be read ({e})"),
                },
                None => "it has no version number".to_owned(),
            },
        };
        let aside = self.move_aside()?;
        tracing::warn!(path = %self.path.display(), aside = %aside.display(), %problem, "settings moved aside");
        Ok(Loaded {
            settings: Settings::default(),
            notice: Some(format!(
                "Your settings file could not be used: {problem}. It was moved to {} and default settings were loaded.",
                aside.display()
            )),
        })
    }

    fn move_aside(&self) -> Result<PathBuf, SettingsError> {
        move_aside(&self.path).map_err(|source| SettingsError::Io {
            action: "move aside",
            path: self.path.clone(),
            source,
        })
    }

    /// Writes the settings atomically: a reader sees the old file or the new
    /// one, never a torn one.
    pub fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let io = |source| SettingsError::Io {
            action: "write",
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        private_dir(dir).map_err(io)?;
        // A unique temp name: two writers never share (and truncate) one.
        let tmp = dir.join(format!(
            ".settings.json.tmp-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let mut json = serde_json::to_vec_pretty(settings)
            .map_err(|e| SettingsError::Invalid(format!("could not encode the settings: {e}")))?;
        json.push(b'\n');
        let result = (|| {
            let mut f = private_options().write(true).create_new(true).open(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Loads the latest file, applies `f`, and saves, holding a lock (a mutex
    /// in this process, an advisory lock on `settings.json.lock` across
    /// processes) so that edits from the window and the CLI, or from two tasks,
    /// never overwrite each other. The notice is set when a bad file was moved aside.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut Settings) -> Result<T, SettingsError>,
    ) -> Result<(Loaded, T), SettingsError> {
        static IN_PROCESS: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
        let io = |action, source| SettingsError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        private_dir(dir).map_err(|e| io("write", e))?;
        let lock = private_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("settings.json.lock"))
            .map_err(|e| io("lock", e))?;
        lock.lock().map_err(|e| io("lock", e))?;
        let mut loaded = self.load()?;
        let out = f(&mut loaded.settings)?;
        self.save(&loaded.settings)?;
        let _ = lock.unlock();
        Ok((loaded, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (PathBuf, SettingsStore) {
        let dir = std::env::temp_dir().join(format!(
            "runnel-settings-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let store = SettingsStore::at(dir.join("settings.json"));
        (dir, store)
    }

    #[test]
    fn local_settings_are_checked_and_become_the_runtime_config() {
        let ok = LocalSettings {
            threads: Some(4),
            idle_unload_minutes: 5,
            context: Some(2048),
        };
        ok.validate().expect("valid");
        let c = ok.runtime_config();
        assert_eq!(c.threads, Some(4));
        assert_eq!(c.idle_unload, std::time::Duration::from_secs(300));
        assert_eq!(c.context, 2048);
        assert_eq!(LocalSettings::default().idle_unload_minutes, 10);
        assert_eq!(
            LocalSettings::default().runtime_config().context,
            crate::engine::local::DEFAULT_CONTEXT
        );
        for bad in [
            LocalSettings {
                threads: Some(0),
                ..ok
            },
            LocalSettings {
                threads: Some(257),
                ..ok
            },
            LocalSettings {
                idle_unload_minutes: 0,
                ..ok
            },
            LocalSettings {
                idle_unload_minutes: 24 * 60 + 1,
                ..ok
            },
            LocalSettings {
                context: Some(MIN_LOCAL_CONTEXT - 1),
                ..ok
            },
            LocalSettings {
                context: Some(MAX_LOCAL_CONTEXT + 1),
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let unknown: Result<LocalSettings, _> =
            serde_json::from_str(r#"{"idle_unload_minutes": 5, "gpu": true}"#);
        assert!(unknown.is_err(), "an unknown value is an error");
    }

    #[test]
    fn first_run_has_every_preset_and_no_default() {
        let (dir, store) = temp_store();
        let loaded = store.load().expect("load");
        assert!(loaded.notice.is_none());
        let ids: Vec<&str> = loaded
            .settings
            .providers
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "local",
                "openai",
                "openrouter",
                "groq",
                "deepseek",
                "mistral",
                "together",
                "ollama",
                "lmstudio",
                "llamacpp",
                "anthropic"
            ]
        );
        assert_eq!(loaded.settings.default_provider, None);
        assert!(
            !store.path().exists(),
            "nothing is written until something changes"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn round_trip() {
        let (dir, store) = temp_store();
        let mut s = Settings::default();
        let mut p = Provider::new(
            "my-server",
            "My server",
            ProviderKind::OpenaiCompatible,
            "http://10.0.0.5:8000/v1/",
            "qwen",
        );
        p.extra_headers.insert("X-Team".into(), "blue".into());
        p.models = Some(ModelCache {
            fetched_at: 5,
            models: vec!["a".into(), "b".into()],
        });
        s.upsert_provider(p).expect("valid");
        s.default_provider = Some("my-server".into());
        s.theme = Theme::Dark;
        s.system_prompts.push(SystemPromptPreset {
            name: "Terse".into(),
            text: "Be terse. ✓".into(),
        });
        s.timeouts.idle_ms = 5_000;
        store.save(&s).expect("save");
        let loaded = store.load().expect("load");
        assert!(loaded.notice.is_none());
        assert_eq!(loaded.settings, s);
        assert_eq!(
            loaded
                .settings
                .provider("my-server")
                .map(|p| p.base_url.as_str()),
            Some("http://10.0.0.5:8000/v1")
        );
        let raw = std::fs::read_to_string(store.path()).expect("read");
        assert!(raw.contains("\"version\": 1"));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn corrupt_file_is_moved_aside_and_defaults_load() {
        let (dir, store) = temp_store();
        std::fs::write(store.path(), b"{ not json").expect("write");
        let loaded = store.load().expect("load");
        assert_eq!(loaded.settings, Settings::default());
        let notice = loaded.notice.expect("notice");
        assert!(
            notice.contains("not valid JSON") && notice.contains(".bad-"),
            "{notice}"
        );
        assert!(!store.path().exists());
        let aside: Vec<_> = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(Result::ok)
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(std::fs::read(aside[0].path()).expect("read"), b"{ not json");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn unknown_version_is_moved_aside() {
        let (dir, store) = temp_store();
        std::fs::write(store.path(), br#"{"version": 99, "providers": []}"#).expect("write");
        let loaded = store.load().expect("load");
        assert!(loaded.notice.expect("notice").contains("newer Runnel"));
        assert_eq!(loaded.settings, Settings::default());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn update_keeps_other_writers_changes() {
        let (dir, store) = temp_store();
        store
            .update(|s| {
                s.upsert_provider(Provider::new(
                    "a",
                    "A",
                    ProviderKind::OpenaiCompatible,
                    "http://a/v1",
                    "m",
                ))
            })
            .expect("first");
        store
            .update(|s| {
                s.upsert_provider(Provider::new(
                    "b",
                    "B",
                    ProviderKind::OpenaiCompatible,
                    "http://b/v1",
                    "m",
                ))
            })
            .expect("second");
        let s = store.load().expect("load").settings;
        assert!(s.provider("a").is_some() && s.provider("b").is_some());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn regression_concurrent_updates_lose_nothing() {
        let (dir, store) = temp_store();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let store = store.clone();
                scope.spawn(move || {
                    for i in 0..10 {
                        let id = format!("p{t}-{i}");
                        store
                            .update(|s| {
                                s.upsert_provider(Provider::new(
                                    &id,
                                    "P",
                                    ProviderKind::OpenaiCompatible,
                                    "http://h/v1",
                                    "m",
                                ))
                            })
                            .expect("update");
                    }
                });
            }
        });
        let loaded = store.load().expect("load");
        assert!(loaded.notice.is_none(), "never torn or moved aside");
        assert_eq!(loaded.settings.providers.len(), presets().len() + 40);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn validation_messages() {
        let p = |url: &str| Provider::new("x", "X", ProviderKind::OpenaiCompatible, url, "m");
        assert!(validate_provider(&p("ftp://host/v1"))
            .expect_err("ftp")
            .to_string()
            .contains("http://"));
        assert!(validate_provider(&p("not a url")).is_err());
        assert!(validate_provider(&p("https://ok.example/v1")).is_ok());
        let mut h = p("https://ok.example/v1");
        h.extra_headers
            .insert("Authorization".into(), "Bearer x".into());
        assert!(validate_provider(&h)
            .expect_err("auth header")
            .to_string()
            .contains("key field"));
        let mut bad_id = p("https://ok.example/v1");
        bad_id.id = "Bad Id".into();
        assert!(validate_provider(&bad_id).is_err());
    }

    #[test]
    fn unused_ids_and_removal() {
        let mut s = Settings::default();
        assert_eq!(s.unused_id("OpenAI"), "openai-2");
        assert_eq!(s.unused_id("My Box!"), "my-box");
        s.default_provider = Some("groq".into());
        assert!(s.remove_provider("groq"));
        assert_eq!(s.default_provider, None);
        assert!(!s.remove_provider("groq"));
        assert_eq!(s.removed_presets, vec!["groq".to_owned()]);
    }

    #[test]
    fn a_deleted_preset_stays_deleted() {
        let (dir, store) = temp_store();
        store
            .update(|s| Ok(s.remove_provider("together")))
            .expect("remove");
        assert!(store
            .load()
            .expect("load")
            .settings
            .provider("together")
            .is_none());
        std::fs::remove_dir_all(dir).ok();
    }
}
