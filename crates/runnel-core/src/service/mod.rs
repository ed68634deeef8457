//! The app's workflows over settings, keys and the engine, shared by the window
//! (through thin Tauri commands) and the CLI: providers, keys (tested, then
//! saved to the keychain), model lists, onboarding, importing keys from the
//! environment, and resolving where a message goes. No `tauri` import.
//!
//! Keychain calls block (with a timeout); async callers run them through
//! `spawn_blocking`, which the async methods here do themselves.

use crate::config::env::{Env, EnvProvider, ENV_PROVIDER_ID};
use crate::config::{
    presets, Language, ModelCache, Provider, ProxyMode, ProxySettings, Retries, Settings,
    SettingsError, SettingsStore, SystemPromptPreset, Theme, Timeouts, PROXY_ACCOUNT,
};
use crate::engine::endpoint::Endpoint;
use crate::engine::Engine;
use crate::engine::ProxyConfig;
use crate::keys::{KeyStatus, Secrets};
use crate::protocol::ProviderKind;
use crate::types::key::ApiKey;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

pub mod local;
pub mod mcp;
mod model;
mod usage;

pub use model::*;
pub use usage::{UsageLine, UsageReport};

/// Shared app services.
pub struct Service {
    /// The streaming engine, rebuilt when the network settings change (a
    /// running stream keeps the engine it started with).
    engine: RwLock<Arc<Engine>>,
    store: SettingsStore,
    settings: Mutex<Settings>,
    notice: Mutex<Option<String>>,
    secrets: Arc<Secrets>,
    /// The provider made from the environment, if any.
    env: Option<EnvProvider>,
    /// The environment this service was made with.
    vars: Env,
    mtime: Mutex<Option<SystemTime>>,
}

fn file_mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Most named system prompts the settings keep.
pub const MAX_SYSTEM_PROMPTS: usize = 200;
/// Largest named system prompt.
pub const MAX_SYSTEM_PROMPT_BYTES: usize = 64 * 1024;

/// Largest Anthropic `max_tokens` a provider may ask for.
pub const MAX_TOKENS_LIMIT: u32 = 1_000_000;

/// The engine the settings ask for: timeouts and retries (the environment
/// overriding them), and the proxy with its password from the keychain.
fn build_engine(env: &Env, secrets: &Secrets, settings: &Settings) -> Result<Engine, ServiceError> {
    let mut config = env.engine_config(Some((&settings.timeouts, &settings.retries)));
    let proxy = &settings.proxy;
    config.proxy = match proxy.mode {
        ProxyMode::System => ProxyConfig::System,
        ProxyMode::Off => ProxyConfig::Off,
        ProxyMode::Custom => {
            let auth = if proxy.username.is_empty() {
                None
            } else {
                match secrets.key(PROXY_ACCOUNT) {
                    Ok(Some(password)) => Some((proxy.username.clone(), password)),
                    Ok(None) => Some((proxy.username.clone(), ApiKey::new(""))),
                    Err(e) => {
                        // The proxy will answer 407, which names the problem; say why here too.
                        tracing::warn!(error = %e, "the proxy password could not be read from the keychain");
                        None
                    }
                }
            };
            ProxyConfig::Custom {
                url: proxy.url.clone(),
                no_proxy: proxy.no_proxy.clone(),
                auth,
            }
        }
    };
    Ok(Engine::new(config)?)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Service {
    /// Loads settings from `store`; keys come from `secrets`; `env` gives the
    /// session-only environment provider and overrides the settings'
    /// timeouts (defaults, then the settings file, then the environment).
    pub fn new(
        store: SettingsStore,
        secrets: Arc<Secrets>,
        env: &Env,
    ) -> Result<Self, ServiceError> {
        let loaded = store.load()?;
        let engine = build_engine(env, &secrets, &loaded.settings)?;
        let mtime = Mutex::new(file_mtime(store.path()));
        Ok(Self {
            engine: RwLock::new(Arc::new(engine)),
            store,
            settings: Mutex::new(loaded.settings),
            notice: Mutex::new(loaded.notice),
            secrets,
            env: env.provider(),
            vars: env.clone(),
            mtime,
        })
    }

    /// The same service without the session-only provider from the
    /// environment (the command line names its provider instead).
    pub fn without_env_provider(mut self) -> Self {
        self.env = None;
        self
    }

    /// A copy of the settings in force (re-read if the file changed).
    pub fn settings(&self) -> Settings {
        self.reload_if_changed();
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The settings file.
    pub fn settings_path(&self) -> &std::path::Path {
        self.store.path()
    }

    fn update<T>(
        &self,
        f: impl FnOnce(&mut Settings) -> Result<T, SettingsError>,
    ) -> Result<T, ServiceError> {
        let (loaded, out) = self.store.update(f)?;
        self.install(loaded);
        Ok(out)
    }

    /// The engine for a new request.
    pub fn engine(&self) -> Arc<Engine> {
        match self.engine.read() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Builds the engine again from the settings in force (after a change of
    /// timeouts, retries, proxy or the proxy's password). A failure keeps the
    /// engine in force and is returned.
    fn rebuild_engine(&self) -> Result<(), ServiceError> {
        let settings = self.settings.lock().map(|s| s.clone()).unwrap_or_default();
        let engine = build_engine(&self.vars, &self.secrets, &settings)?;
        if let Ok(mut e) = self.engine.write() {
            *e = Arc::new(engine);
        }
        Ok(())
    }

    /// Takes a freshly loaded file as the settings in force.
    fn install(&self, loaded: crate::config::Loaded) {
        let network_changed = self.settings.lock().map_or(true, |s| {
            s.timeouts != loaded.settings.timeouts
                || s.retries != loaded.settings.retries
                || s.proxy != loaded.settings.proxy
        });
        crate::engine::local::LocalRuntime::global()
            .set_config(loaded.settings.local.runtime_config());
        if let Ok(mut s) = self.settings.lock() {
            *s = loaded.settings;
        }
        if network_changed {
            if let Err(e) = self.rebuild_engine() {
                tracing::error!(error = %e, "the new network settings could not be used; the previous ones stay in force");
            }
        }
        if let (Some(n), Ok(mut notice)) = (loaded.notice, self.notice.lock()) {
            *notice = Some(n);
        }
        if let Ok(mut m) = self.mtime.lock() {
            *m = file_mtime(self.store.path());
        }
    }

    /// Re-reads the settings file when another process (the CLI) changed it.
    fn reload_if_changed(&self) {
        let now = file_mtime(self.store.path());
        let seen = self.mtime.lock().map(|m| *m).unwrap_or(None);
        if now != seen {
            if let Ok(loaded) = self.store.load() {
                self.install(loaded);
            }
        }
    }

    /// A local model was installed: it becomes the local provider's model
    /// when that has none, and the local provider the default when there
    /// is none (the first start's "Chat offline").
    pub fn adopt_local_model(&self, model_id: &str) -> Result<(), ServiceError> {
        self.update(|s| {
            if let Some(p) = s.provider_mut(crate::config::LOCAL_PROVIDER_ID) {
                if p.default_model.is_empty() {
                    p.default_model = model_id.to_owned();
                }
            }
            if s.default_provider.is_none() {
                s.default_provider = Some(crate::config::LOCAL_PROVIDER_ID.to_owned());
            }
            Ok(())
        })
    }

    /// The environment the service was started with.
    pub fn vars(&self) -> &Env {
        &self.vars
    }

    /// The environment provider, if any.
    pub fn env_provider(&self) -> Option<&EnvProvider> {
        self.env.as_ref()
    }

    fn view(
        &self,
        p: &Provider,
        from_env: bool,
        keychain_down: &mut Option<String>,
    ) -> ProviderView {
        let needs_key = !p.is_local();
        let key = if from_env {
            let k = self.env.as_ref().and_then(|e| e.key.clone());
            KeyStatus {
                set: k.is_some(),
                last4: k.as_ref().and_then(crate::types::key::last4),
                saved: false,
                problem: None,
            }
        } else if let Some(st) = self.secrets.session_status(&p.id) {
            st
        } else if let Some(problem) = keychain_down.clone() {
            // One unreachable keychain is enough: do not wait on it for every provider.
            KeyStatus {
                set: false,
                last4: None,
                saved: false,
                problem: needs_key.then_some(problem),
            }
        } else {
            // Local servers are checked too: some want a key (vLLM --api-key).
            let mut st = self.secrets.status(&p.id);
            if st.problem.is_some() {
                keychain_down.clone_from(&st.problem);
                if !needs_key {
                    // A local server works without a key: no alarm on its row.
                    st.problem = None;
                }
            }
            st
        };
        let key_label = if from_env && key.set {
            let tail = key
                .last4
                .as_deref()
                .map(|l| format!(" ····{l}"))
                .unwrap_or_default();
            format!("set{tail} (from OPENAI_API_KEY, not saved)")
        } else {
            key.label()
        };
        let endpoint = if from_env {
            match &self.env {
                Some(env) => env.endpoint(None),
                None => Endpoint::new(
                    &p.base_url,
                    &p.default_model,
                    None,
                    crate::config::env::OPENAI_KEY_VAR,
                ),
            }
        } else {
            // A stand-in key: only whether one is set matters for the check.
            p.endpoint(None, key.set.then(|| ApiKey::new("set")))
        };
        let problem = endpoint.check().err().map(|e| e.to_string());
        ProviderView {
            // A local model is usable once one is installed.
            usable: if p.kind == ProviderKind::Local {
                problem.is_none()
            } else {
                !needs_key || key.set
            },
            problem,
            provider: p.clone(),
            key_label,
            key,
            needs_key,
            from_env,
        }
    }

    /// The theme and language the window starts in: the part of
    /// [`Service::state`] that needs no keychain.
    pub fn appearance(&self) -> Appearance {
        let settings = self.settings();
        Appearance {
            theme: settings.theme,
            language: settings.language,
            system_languages: self.vars.languages(),
        }
    }

    /// Everything the window shows about providers and settings. Blocks on the keychain.
    pub fn state(&self) -> UiState {
        let settings = self.settings();
        let mut down = None;
        let mut providers = Vec::with_capacity(settings.providers.len() + 1);
        if let Some(env) = &self.env {
            providers.push(self.view(&env.provider, true, &mut down));
        }
        providers.extend(
            settings
                .providers
                .iter()
                .map(|p| self.view(p, false, &mut down)),
        );
        let default_usable = settings
            .default_provider
            .as_deref()
            .and_then(|id| providers.iter().find(|p| p.provider.id == id))
            .is_some_and(|p| p.usable);
        let env_usable = providers.iter().any(|p| p.from_env && p.usable);
        let local_usable = providers
            .iter()
            .any(|p| p.provider.kind == ProviderKind::Local && p.usable);
        UiState {
            onboarding: !default_usable && !env_usable && !local_usable,
            default_provider: settings.default_provider.clone(),
            appearance: self.appearance(),
            network: NetworkSettings {
                timeouts: settings.timeouts,
                retries: settings.retries,
                proxy: settings.proxy.clone(),
            },
            network_defaults: NetworkSettings {
                timeouts: Timeouts::default(),
                retries: Retries::default(),
                proxy: ProxySettings::default(),
            },
            // Asked of the keychain only when a custom proxy can use it (not at every start).
            proxy_password_set: settings.proxy.mode == ProxyMode::Custom
                && self.secrets.status(PROXY_ACCOUNT).set,
            anthropic_default_max_tokens: crate::protocol::anthropic::DEFAULT_MAX_TOKENS,
            system_prompts: settings.system_prompts.clone(),
            notice: self.notice.lock().ok().and_then(|n| n.clone()),
            env_import: {
                let anthropic_key = self.vars.has_anthropic_key();
                let base_url = self.vars.openai_base_url().map(str::to_owned);
                let openai_key = self.env.as_ref().is_some_and(|e| e.key.is_some());
                (openai_key || base_url.is_some() || anthropic_key).then_some(EnvImport {
                    openai_key,
                    base_url,
                    anthropic_key,
                })
            },
            providers,
            presets: presets(),
            settings_path: self.store.path().display().to_string(),
            page_metrics: self.vars.page_metrics(),
            local: settings.local,
            local_defaults: crate::config::LocalSettings {
                context: Some(crate::engine::local::DEFAULT_CONTEXT),
                ..Default::default()
            },
            trace: settings.trace,
            physical_cores: crate::engine::local::system::physical_cores() as u32,
        }
    }

    /// Adds or edits a provider; returns its id.
    pub fn save_provider(&self, input: ProviderInput) -> Result<SavedProvider, ServiceError> {
        if input.id.as_deref() == Some(ENV_PROVIDER_ID) {
            return Err(ServiceError::Invalid(
                "The environment provider cannot be edited: import it first".into(),
            ));
        }
        let origin = crate::types::net::origin;
        let (id, host_changed) = self.update(|s| {
            let id = match &input.id {
                Some(id) => {
                    if s.provider(id).is_none() {
                        return Err(SettingsError::NoSuchProvider(id.clone()));
                    }
                    id.clone()
                }
                None => s.unused_id(&input.name),
            };
            let existing = s.provider(&id).cloned();
            let mut p = existing.clone().unwrap_or_else(|| {
                Provider::new(&id, &input.name, input.kind, &input.base_url, "")
            });
            let new_base = input.base_url.trim().trim_end_matches('/').to_owned();
            let base_changed = p.base_url != new_base;
            // Scheme, host or port: a key is never sent anywhere else.
            let host_changed = existing.is_some() && origin(&p.base_url) != origin(&new_base);
            p.name = input.name.trim().to_owned();
            p.kind = input.kind;
            p.base_url = new_base;
            p.default_model = input.default_model.trim().to_owned();
            p.extra_headers = input.extra_headers.clone();
            if let Some(n) = input.max_tokens {
                if !(1..=MAX_TOKENS_LIMIT).contains(&n) {
                    return Err(SettingsError::Invalid(format!(
                        "Max tokens must be between 1 and {MAX_TOKENS_LIMIT}, not {n}"
                    )));
                }
            }
            p.max_tokens = input.max_tokens;
            if base_changed {
                p.models = None;
                p.no_stream_options = false;
            }
            s.upsert_provider(p)?;
            Ok((id, host_changed))
        })?;
        // A key is never sent to an origin the user did not enter it for.
        let key_removed =
            host_changed && self.secrets.status(&id).set && self.secrets.delete(&id).is_ok();
        Ok(SavedProvider { id, key_removed })
    }

    /// Adds a provider with a chosen id (CLI); fails if the id is taken.
    pub fn add_provider(&self, provider: Provider) -> Result<String, ServiceError> {
        self.update(|s| {
            if s.provider(&provider.id).is_some() {
                return Err(SettingsError::Invalid(format!(
                    "a provider with the id {:?} exists",
                    provider.id
                )));
            }
            let id = provider.id.clone();
            s.upsert_provider(provider)?;
            Ok(id)
        })
    }

    /// Copies a provider (not its key) under a new id; returns the new id.
    pub fn duplicate_provider(&self, id: &str) -> Result<String, ServiceError> {
        self.update(|s| {
            let mut p = s
                .provider(id)
                .cloned()
                .ok_or_else(|| SettingsError::NoSuchProvider(id.to_owned()))?;
            p.id = s.unused_id(&format!("{}-copy", p.id));
            p.name = format!("{} (copy)", p.name);
            let new_id = p.id.clone();
            s.upsert_provider(p)?;
            Ok(new_id)
        })
    }

    /// Deletes a provider and its key.
    pub fn delete_provider(&self, id: &str) -> Result<(), ServiceError> {
        if self.settings().provider(id).is_none() {
            return Err(SettingsError::NoSuchProvider(id.to_owned()).into());
        }
        // The key goes first: a provider is never removed while its key stays behind.
        self.secrets.delete(id)?;
        self.update(|s| Ok(s.remove_provider(id)))?;
        Ok(())
    }

    /// Sets the provider of new conversations.
    pub fn set_default_provider(&self, id: &str) -> Result<(), ServiceError> {
        self.update(|s| {
            if s.provider(id).is_none() {
                return Err(SettingsError::NoSuchProvider(id.to_owned()));
            }
            s.default_provider = Some(id.to_owned());
            Ok(())
        })
    }

    /// Sets the theme.
    pub fn set_theme(&self, theme: Theme) -> Result<(), ServiceError> {
        self.update(|s| {
            s.theme = theme;
            Ok(())
        })
    }

    /// Saves timeouts, retries and the proxy, and builds the engine with them
    /// (requests already running keep the old ones).
    pub fn set_network(&self, network: NetworkSettings) -> Result<(), ServiceError> {
        network.proxy.validate()?;
        crate::config::network::validate_network(&network.timeouts, &network.retries)?;
        self.update(|s| {
            s.timeouts = network.timeouts;
            s.retries = network.retries;
            s.proxy = ProxySettings {
                url: network.proxy.url.trim().to_owned(),
                no_proxy: network.proxy.no_proxy.trim().to_owned(),
                username: network.proxy.username.trim().to_owned(),
                ..network.proxy
            };
            Ok(())
        })?;
        self.rebuild_engine()
    }

    /// Saves how local models run (threads, idle time); in force at once.
    pub fn set_local(&self, local: crate::config::LocalSettings) -> Result<(), ServiceError> {
        local.validate()?;
        self.update(|s| {
            s.local = local;
            Ok(())
        })
    }

    /// Turns recording answers' exchanges on or off, and sets their cap.
    pub fn set_trace(&self, trace: crate::config::TraceSettings) -> Result<(), ServiceError> {
        trace.validate()?;
        self.update(|s| {
            s.trace = trace;
            Ok(())
        })
    }

    /// The price table: the user's prices, then the built-in ones.
    pub fn prices(&self) -> Vec<crate::config::prices::PriceEntry> {
        crate::config::prices::price_table(&self.settings().prices)
    }

    /// Sets the user's price of `model` (USD per million tokens), replacing a
    /// built-in one.
    pub fn set_price(
        &self,
        model: &str,
        price: crate::types::cost::Price,
    ) -> Result<(), ServiceError> {
        crate::config::prices::check_user_price(model, &price).map_err(ServiceError::Invalid)?;
        let model = model.trim().to_owned();
        self.update(|s| {
            s.prices.insert(model, price);
            Ok(())
        })
    }

    /// Removes the user's price of `model`; a built-in one applies again.
    pub fn remove_price(&self, model: &str) -> Result<(), ServiceError> {
        let model = model.trim();
        if !self.settings().prices.contains_key(model) {
            return Err(ServiceError::Invalid(
                if crate::config::prices::is_builtin(model) {
                    format!(
                        "{model} has only its built-in price, which cannot be removed: set your own with `runnel prices set {model} --input USD --output USD`"
                    )
                } else {
                    format!("{model} has no price of yours to remove")
                },
            ));
        }
        self.update(|s| {
            s.prices.remove(model);
            Ok(())
        })
    }

    /// What an answer cost at today's prices; None when its model has none.
    pub fn cost(
        &self,
        provider: &str,
        model: &str,
        usage: &crate::types::answer::Usage,
        estimated: bool,
    ) -> Option<crate::types::cost::Cost> {
        crate::config::prices::cost_of(&self.settings().prices, provider, model, usage, estimated)
    }

    /// Saves the proxy's password in the keychain (None deletes it) and uses it
    /// from the next request on. It is never written anywhere else.
    pub fn set_proxy_password(&self, password: Option<ApiKey>) -> Result<(), ServiceError> {
        let saved = match password {
            // A keychain that is down keeps it for this session only: it is
            // used, and the error says it was not saved.
            Some(p) => match self.secrets.set(PROXY_ACCOUNT, p) {
                (_, Some(e)) => Err(e),
                (_, None) => Ok(()),
            },
            None => self.secrets.delete(PROXY_ACCOUNT),
        };
        self.rebuild_engine()?;
        Ok(saved?)
    }

    /// Replaces the named system prompts (the composer offers them). Names
    /// are trimmed and must be unique and non-empty; sizes are bounded.
    pub fn set_system_prompts(&self, prompts: Vec<SystemPromptPreset>) -> Result<(), ServiceError> {
        if prompts.len() > MAX_SYSTEM_PROMPTS {
            return Err(ServiceError::Invalid(format!(
                "At most {MAX_SYSTEM_PROMPTS} system prompts"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        let mut clean = Vec::with_capacity(prompts.len());
        for p in prompts {
            let name = p.name.trim().to_owned();
            if name.is_empty() {
                return Err(ServiceError::Invalid(
                    "Every system prompt needs a name".into(),
                ));
            }
            if p.text.len() > MAX_SYSTEM_PROMPT_BYTES {
                return Err(ServiceError::Invalid(format!(
                    "The system prompt {name:?} is longer than {} KiB",
                    MAX_SYSTEM_PROMPT_BYTES / 1024
                )));
            }
            if !seen.insert(name.to_lowercase()) {
                return Err(ServiceError::Invalid(format!(
                    "Two system prompts are named {name:?}"
                )));
            }
            clean.push(SystemPromptPreset { name, text: p.text });
        }
        self.update(|s| {
            s.system_prompts = clean;
            Ok(())
        })
    }

    /// Sets the window's language (`None`: follow the system).
    pub fn set_language(&self, language: Option<Language>) -> Result<(), ServiceError> {
        self.update(|s| {
            s.language = language;
            Ok(())
        })
    }

    /// Tests a key with `GET /models` and saves it to the keychain. A failed test
    /// stores nothing unless `force` (a server without /models). A keychain
    /// failure keeps the key for this session only and says why.
    pub async fn set_key(
        self: &Arc<Self>,
        provider_id: &str,
        key: &str,
        force: bool,
    ) -> Result<KeySaveResult, ServiceError> {
        let key = ApiKey::new(key);
        if key.expose().is_empty() {
            return Err(ServiceError::Invalid("The key is empty".into()));
        }
        let id = provider_id.to_owned();
        let provider = self.off_runtime(move |s| s.saved_provider(&id)).await?;
        let endpoint = provider.endpoint(None, Some(key.clone()));
        let (models, test_error) = match self.engine().list_models(&endpoint).await {
            Ok(m) => (m, None),
            Err(e) => (Vec::new(), Some(e.to_info())),
        };
        if test_error.is_some() && !force {
            return Ok(KeySaveResult {
                stored: false,
                status: self.key_status(provider_id).await,
                test_error,
                keychain_error: None,
                models,
            });
        }
        if !models.is_empty() {
            let (id, list) = (provider_id.to_owned(), models.clone());
            self.off_runtime(move |s| s.cache_models(&id, &list))
                .await?;
        }
        let this = self.clone();
        let id = provider_id.to_owned();
        let (status, err) = tokio::task::spawn_blocking(move || this.secrets.set(&id, key))
            .await
            .map_err(|e| ServiceError::Invalid(format!("keychain task failed: {e}")))?;
        Ok(KeySaveResult {
            stored: true,
            status,
            test_error,
            keychain_error: err.map(|e| e.to_string()),
            models,
        })
    }

    /// Deletes a provider's key from the keychain.
    pub async fn delete_key(self: &Arc<Self>, provider_id: &str) -> Result<(), ServiceError> {
        let this = self.clone();
        let id = provider_id.to_owned();
        tokio::task::spawn_blocking(move || this.secrets.delete(&id))
            .await
            .map_err(|e| ServiceError::Invalid(format!("keychain task failed: {e}")))??;
        Ok(())
    }

    async fn key_status(self: &Arc<Self>, provider_id: &str) -> KeyStatus {
        let this = self.clone();
        let id = provider_id.to_owned();
        tokio::task::spawn_blocking(move || this.secrets.status(&id))
            .await
            .unwrap_or(KeyStatus {
                set: false,
                last4: None,
                saved: false,
                problem: Some("keychain task failed".into()),
            })
    }

    /// Runs blocking work (the settings file: reads, the lock, fsync) on a
    /// blocking thread, never on the async runtime's workers.
    async fn off_runtime<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Service) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|e| ServiceError::Invalid(format!("background task failed: {e}")))?
    }

    /// The provider a message that names none goes to, in the order a new
    /// chat picks one: the environment's (`OPENAI_BASE_URL`, `OPENAI_API_KEY`,
    /// `ANTHROPIC_API_KEY`), the saved default when it is usable (its key
    /// saved, or a local model installed), an installed local model, and
    /// last the unusable default itself, so its own error says what it lacks.
    /// Blocks on the keychain and the models folder.
    fn unnamed_provider(&self) -> Result<String, ServiceError> {
        if self.env.is_some() {
            return Ok(ENV_PROVIDER_ID.to_owned());
        }
        let settings = self.settings();
        if let Some(p) = settings
            .default_provider
            .as_deref()
            .and_then(|id| settings.provider(id))
        {
            if self.view(p, false, &mut None).usable {
                return Ok(p.id.clone());
            }
        }
        if crate::config::first_local_model(&self.vars.models_dir()).is_some() {
            return Ok(crate::config::LOCAL_PROVIDER_ID.to_owned());
        }
        settings.default_provider.clone().ok_or_else(|| {
            ServiceError::Invalid(
                "No provider is set up yet: choose one in Settings, download a local model \
                 (`runnel models pull qwen2.5-1.5b`), or see `runnel providers`."
                    .into(),
            )
        })
    }

    fn saved_provider(&self, id: &str) -> Result<Provider, ServiceError> {
        self.settings()
            .provider(id)
            .cloned()
            .ok_or_else(|| SettingsError::NoSuchProvider(id.to_owned()).into())
    }

    fn cache_models(&self, provider_id: &str, models: &[String]) -> Result<(), ServiceError> {
        self.update(|s| {
            if let Some(p) = s.provider_mut(provider_id) {
                p.models = Some(ModelCache {
                    fetched_at: now_secs(),
                    models: models.to_vec(),
                });
            }
            Ok(())
        })
    }

    /// The provider's models: cached, or fetched with `GET /models` when
    /// `refresh` or never fetched.
    pub async fn models(
        self: &Arc<Self>,
        provider_id: &str,
        refresh: bool,
    ) -> Result<Vec<String>, ServiceError> {
        if provider_id != ENV_PROVIDER_ID && !refresh {
            let id = provider_id.to_owned();
            if let Some(cache) = self
                .off_runtime(move |s| s.saved_provider(&id))
                .await?
                .models
            {
                return Ok(cache.models);
            }
        }
        let endpoint = self.endpoint(Some(provider_id), None).await?;
        if endpoint.kind == ProviderKind::Local {
            // Installed models, read from the models folder (never cached).
            let dir = std::path::PathBuf::from(&endpoint.base_url);
            let list = tokio::task::spawn_blocking(move || {
                crate::engine::local::library::Library::new(dir).list()
            })
            .await
            .map_err(|e| ServiceError::Invalid(format!("listing local models failed: {e}")))?
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            return Ok(list.into_iter().map(|m| m.id).collect());
        }
        let models = self.engine().list_models(&endpoint).await?;
        if provider_id != ENV_PROVIDER_ID {
            let (id, list) = (provider_id.to_owned(), models.clone());
            self.off_runtime(move |s| s.cache_models(&id, &list))
                .await?;
        }
        Ok(models)
    }

    /// Where a message goes: a saved provider with its keychain key, the
    /// environment provider, or (None) the one `unnamed_provider` picks.
    /// `model` overrides the provider's default model.
    pub async fn endpoint(
        self: &Arc<Self>,
        provider_id: Option<&str>,
        model: Option<&str>,
    ) -> Result<Endpoint, ServiceError> {
        let settings = self.off_runtime(|s| Ok(s.settings())).await?;
        let id = match provider_id {
            Some(id) => id.to_owned(),
            None => self.off_runtime(|s| s.unnamed_provider()).await?,
        };
        if id == ENV_PROVIDER_ID {
            let env = self.env.as_ref().ok_or_else(|| {
                ServiceError::Invalid("No provider is set in the environment".into())
            })?;
            return Ok(env.endpoint(model));
        }
        let provider = settings
            .provider(&id)
            .cloned()
            .ok_or_else(|| ServiceError::Settings(SettingsError::NoSuchProvider(id.clone())))?;
        let key = if provider.kind == ProviderKind::Local {
            None
        } else if provider.is_local() {
            // A local server may still want a key: use it when one is saved.
            let this = self.clone();
            let pid = id.clone();
            tokio::task::spawn_blocking(move || this.secrets.key(&pid))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
        } else {
            let this = self.clone();
            let pid = id.clone();
            tokio::task::spawn_blocking(move || this.secrets.key(&pid))
                .await
                .map_err(|e| ServiceError::Invalid(format!("keychain task failed: {e}")))??
        };
        Ok(provider.endpoint(model, key))
    }

    /// Persists what the engine learned about a provider during a stream.
    pub fn remember_quirks(&self, provider_id: Option<&str>, endpoint: &Endpoint) {
        let Some(id) = provider_id.filter(|id| *id != ENV_PROVIDER_ID) else {
            return;
        };
        if !endpoint.no_stream_options && self.engine().skips_stream_options(endpoint) {
            let _ = self.update(|s| {
                if let Some(p) = s.provider_mut(id) {
                    p.no_stream_options = true;
                }
                Ok(())
            });
        }
    }

    /// Saves the environment's key into the keychain as a provider (the user
    /// clicked Import): `openai`, or a new provider for another base URL.
    /// Returns the provider id.
    pub async fn import_env(self: &Arc<Self>) -> Result<String, ServiceError> {
        if let Some(key) = self.vars.key(crate::config::env::ANTHROPIC_KEY_VAR) {
            // Into the Anthropic preset (re-added if it was deleted).
            if self.settings().provider("anthropic").is_none() {
                if let Some(p) = crate::config::presets()
                    .into_iter()
                    .find(|p| p.id == "anthropic")
                {
                    self.update(|s| s.upsert_provider(p))?;
                }
            }
            let this = self.clone();
            let (_, err) = tokio::task::spawn_blocking(move || this.secrets.set("anthropic", key))
                .await
                .map_err(|e| ServiceError::Invalid(format!("keychain task failed: {e}")))?;
            if let Some(e) = err {
                return Err(e.into());
            }
            if self.env.is_none() {
                if self.settings().default_provider.is_none() {
                    self.set_default_provider("anthropic")?;
                }
                return Ok("anthropic".to_owned());
            }
        }
        let env = self.env.clone().ok_or_else(|| {
            ServiceError::Invalid(
                "Nothing to import: OPENAI_API_KEY, OPENAI_BASE_URL and ANTHROPIC_API_KEY are not set".into(),
            )
        })?;
        let base = env.provider.base_url.clone();
        let id = if base == crate::engine::endpoint::DEFAULT_BASE_URL {
            "openai".to_owned()
        } else {
            let host = url::Url::parse(&base)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            let existing = self
                .settings()
                .providers
                .iter()
                .find(|p| p.base_url == base)
                .map(|p| p.id.clone());
            match existing {
                Some(id) => id,
                None => {
                    self.save_provider(ProviderInput {
                        id: None,
                        name: format!("Imported ({host})"),
                        kind: ProviderKind::OpenaiCompatible,
                        base_url: base.clone(),
                        default_model: env.provider.default_model.clone(),
                        extra_headers: Default::default(),
                        max_tokens: None,
                    })?
                    .id
                }
            }
        };
        if self.settings().provider(&id).is_none() {
            self.update(|s| {
                s.upsert_provider(Provider::new(
                    &id,
                    "OpenAI",
                    ProviderKind::OpenaiCompatible,
                    &base,
                    &env.provider.default_model,
                ))
            })?;
        }
        if let Some(key) = env.key.clone() {
            let this = self.clone();
            let pid = id.clone();
            let (_, err) = tokio::task::spawn_blocking(move || this.secrets.set(&pid, key))
                .await
                .map_err(|e| ServiceError::Invalid(format!("keychain task failed: {e}")))?;
            if let Some(e) = err {
                return Err(e.into());
            }
        }
        if self.settings().default_provider.is_none() {
            self.set_default_provider(&id)?;
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretError;
    use crate::keys::SecretStore;

    /// A keychain that is down (no Secret Service).
    struct DownKeychain;

    impl SecretStore for DownKeychain {
        fn get(&self, _: &str) -> Result<Option<String>, SecretError> {
            Err(SecretError::Unavailable {
                cause: "No Secret Service".into(),
                help: "Start one.".into(),
            })
        }
        fn set(&self, a: &str, _: &str) -> Result<(), SecretError> {
            self.get(a).map(|_| ())
        }
        fn delete(&self, a: &str) -> Result<bool, SecretError> {
            self.get(a).map(|_| false)
        }
    }

    fn temp_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "runnel-svc-{}-{}",
            std::process::id(),
            crate::store::new_id()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    fn service(dir: &std::path::Path) -> Arc<Service> {
        let store = SettingsStore::at(dir.join("settings.json"));
        Arc::new(
            Service::new(
                store,
                Arc::new(Secrets::new(Arc::new(DownKeychain))),
                &crate::config::env::Env::default(),
            )
            .expect("service"),
        )
    }

    #[tokio::test]
    async fn regression_session_only_keys_count_while_the_keychain_is_down() {
        let dir = temp_dir();
        let svc = service(&dir);
        // `groq` comes after other providers whose keychain reads fail first.
        let r = svc
            .set_key("groq", "gsk_session_only_key_1234", true)
            .await
            .expect("set");
        assert!(r.stored && !r.status.saved);
        assert!(r
            .keychain_error
            .expect("keychain error")
            .contains("No Secret Service"));
        svc.set_default_provider("groq").expect("default");
        let st = svc.state();
        let groq = st
            .providers
            .iter()
            .find(|p| p.provider.id == "groq")
            .expect("groq");
        assert!(groq.usable, "{:?}", groq.key);
        assert_eq!(
            groq.key_label,
            "set ····1234 (not saved: this session only)"
        );
        assert!(!st.onboarding, "a usable default hides onboarding");
        let openai = st
            .providers
            .iter()
            .find(|p| p.provider.id == "openai")
            .expect("openai");
        assert!(openai
            .key
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("No Secret Service")));
        // The session key is what a send uses.
        let ep = svc.endpoint(Some("groq"), None).await.expect("endpoint");
        assert_eq!(
            ep.api_key.map(|k| k.expose().to_owned()).as_deref(),
            Some("gsk_session_only_key_1234")
        );
        // Nothing was written anywhere in plain text.
        let settings = std::fs::read_to_string(dir.join("settings.json")).expect("settings");
        assert!(!settings.contains("gsk_session_only_key_1234"));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn deleting_a_provider_whose_key_cannot_be_deleted_keeps_the_provider() {
        let dir = temp_dir();
        let svc = service(&dir);
        assert!(matches!(
            svc.delete_provider("openai"),
            Err(ServiceError::Keychain(_))
        ));
        assert!(svc.settings().provider("openai").is_some());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_new_chat_takes_the_environment_then_a_usable_default_then_a_local_model() {
        let dir = temp_dir();
        let models = dir.join("models");
        std::fs::create_dir_all(&models).expect("models dir");
        let models_s = models.to_str().expect("utf-8").to_owned();
        let with = |pairs: &[(&str, &str)]| {
            let store = SettingsStore::at(dir.join("settings.json"));
            Service::new(
                store,
                Arc::new(Secrets::new(Arc::new(DownKeychain))),
                &crate::config::env::Env::from_pairs(pairs.iter().copied()),
            )
            .expect("service")
        };
        let plain = [("RUNNEL_MODELS_DIR", models_s.as_str())];
        let svc = with(&plain);
        // Nothing set up: an error that says what to do.
        let e = svc.unnamed_provider().expect_err("nothing to use");
        assert!(e.to_string().contains("No provider is set up yet"), "{e}");
        // A default with no key and no local model: the default, whose own
        // error then names the missing key.
        svc.set_default_provider("openai").expect("default");
        assert_eq!(svc.unnamed_provider().expect("default"), "openai");
        // An installed local model beats a default that cannot be used.
        crate::engine::local::gguf::write_test_file(
            &models.join("tiny.gguf"),
            &[("general.architecture", "llama")],
            &[("llama.context_length", 2048)],
        )
        .expect("gguf");
        assert_eq!(
            svc.unnamed_provider().expect("local"),
            crate::config::LOCAL_PROVIDER_ID
        );
        // A usable default (a local server needs no key) beats the local model.
        svc.set_default_provider("ollama").expect("default");
        assert_eq!(svc.unnamed_provider().expect("ollama"), "ollama");
        // The environment beats every saved choice.
        let env = with(&[
            ("RUNNEL_MODELS_DIR", models_s.as_str()),
            ("OPENAI_API_KEY", "sk-test-env-order"),
        ]);
        assert_eq!(env.unnamed_provider().expect("env"), ENV_PROVIDER_ID);
        std::fs::remove_dir_all(dir).ok();
    }
}
