//! Command line: `runnel` opens the window (by running `runnel-window`);
//! `runnel ask` runs the same engine headless, streaming the answer to stdout.

use crate::core::chats;
use crate::core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome, StreamResult};
use crate::core::error::ErrorInfo;
use crate::core::openai::{ChatMessage, Role};
use crate::core::provider::{ApiKey, Endpoint, DEFAULT_BASE_URL, DEFAULT_MODEL};
use crate::core::secrets::{OsKeychain, Secrets};
use crate::core::service::{ProviderInput, Service, ServiceError};
use crate::core::settings::{Provider, ProviderKind, SettingsStore, APP_ID};
use crate::core::store::{Store, StoreError};
use crate::core::stream::{Delta, ToolCall};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::io::{Read, Write};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runnel: a fast, lossless chat client for large language models.
///
/// With no command, opens the desktop app. The provider comes from the
/// environment: OPENAI_BASE_URL, OPENAI_API_KEY and RUNNEL_MODEL.
#[derive(Debug, Parser)]
#[command(name = "runnel", version)]
pub struct Cli {
    /// What to do (default: open the window).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask one question without a window; the answer streams to stdout as it arrives.
    ///
    /// Reasoning goes to stderr. Exit status: 0 done, 1 error (kind and message on
    /// stderr, partial text already printed), 130 on Ctrl+C (partial kept).
    Ask(AskArgs),
    /// List saved providers (never keys), or add and remove them.
    Providers {
        /// What to do (default: list).
        #[command(subcommand)]
        action: Option<ProvidersAction>,
    },
    /// Browse, search and export stored conversations.
    History {
        /// What to do.
        #[command(subcommand)]
        action: HistoryAction,
    },
    /// Save or delete a provider's API key in the OS keychain.
    Key {
        /// What to do.
        #[command(subcommand)]
        action: KeyAction,
    },
}

/// `runnel providers ...`
#[derive(Debug, Subcommand)]
pub enum ProvidersAction {
    /// List providers: id, name, kind, base URL, default model, key status.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Add a provider, or change the one with this id.
    Add {
        /// Provider id (lowercase letters, digits, dashes).
        id: String,
        /// Base URL, e.g. http://localhost:8000/v1.
        #[arg(long)]
        base_url: String,
        /// Protocol: openai-compatible (default) or anthropic.
        #[arg(long, default_value = "openai-compatible")]
        kind: String,
        /// Default model.
        #[arg(long)]
        model: Option<String>,
        /// Display name (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a provider and its key.
    Remove {
        /// Provider id.
        id: String,
    },
}

/// `runnel history ...`
#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Conversations, newest first (pinned on top).
    List {
        /// Print a JSON array of {id, title, updated, ...}.
        #[arg(long)]
        json: bool,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One conversation with its messages.
    Show {
        /// Conversation id.
        id: String,
        /// Print {id, title, messages: [...]} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over every message and title, newest first.
    Search {
        /// Words to find.
        query: String,
        /// Print a JSON array of {id, title, updated, message_id, snippet}.
        #[arg(long)]
        json: bool,
    },
    /// Export a conversation as Markdown or Runnel JSON.
    Export {
        /// Conversation id.
        id: String,
        /// md or json.
        #[arg(long, default_value = "md")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<std::path::PathBuf>,
    },
}

/// `runnel key ...`
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Read a key from stdin (without echo on a terminal), test it with GET /models, and save it.
    Set {
        /// Provider id.
        provider: String,
        /// Save even if the test fails (e.g. a server without /models).
        #[arg(long)]
        force: bool,
    },
    /// Delete a provider's key from the keychain.
    Delete {
        /// Provider id.
        provider: String,
    },
}

/// Arguments of `runnel ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// A saved provider (see `runnel providers`); its key comes from the keychain.
    #[arg(long, conflicts_with_all = ["base_url", "api_key_env"])]
    pub provider: Option<String>,
    /// Base URL of an OpenAI-compatible API [env: OPENAI_BASE_URL] [default: https://api.openai.com/v1].
    #[arg(long)]
    pub base_url: Option<String>,
    /// Model id [env: RUNNEL_MODEL without --provider] [default: the provider's, or gpt-4o-mini].
    #[arg(long)]
    pub model: Option<String>,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Name of the environment variable that holds the API key [default: OPENAI_API_KEY].
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Print only one JSON object with the whole result, on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Ask for one complete response instead of a stream.
    #[arg(long)]
    pub no_stream: bool,
    /// Protocol of --base-url: openai (default) or anthropic.
    #[arg(long, value_name = "openai|anthropic", conflicts_with = "provider")]
    pub protocol: Option<String>,
    /// Anthropic extended thinking with this token budget.
    #[arg(long, value_name = "TOKENS")]
    pub thinking_budget: Option<u32>,
    /// Store the exchange as a new conversation (see `runnel history`).
    #[arg(long)]
    pub save: bool,
    /// Continue a stored conversation (implies --save).
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// The prompt; `-` reads it from stdin.
    pub prompt: String,
}

/// The `--json` result object.
#[derive(Debug, Serialize)]
pub struct AskJson<'a> {
    /// `done`, `cancelled` or `error`.
    pub status: &'static str,
    /// Answer text.
    pub text: &'a str,
    /// Reasoning, or null.
    pub reasoning: Option<&'a str>,
    /// Refusal, or null.
    pub refusal: Option<&'a str>,
    /// Tool calls.
    pub tool_calls: &'a [ToolCall],
    /// Last finish reason.
    pub finish_reason: Option<&'a str>,
    /// Server-reported usage, or null.
    pub usage: Option<crate::core::stream::Usage>,
    /// The error, or null.
    pub error: Option<ErrorInfo>,
    /// Timings.
    pub metrics: crate::core::engine::Metrics,
    /// The stored conversation, with --save.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The stored answer, with --save.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl<'a> AskJson<'a> {
    /// Builds the object from a finished stream.
    pub fn from_result(r: &'a StreamResult) -> Self {
        Self {
            status: r.outcome.status(),
            text: &r.answer.text,
            reasoning: r.answer.reasoning.as_deref(),
            refusal: r.answer.refusal.as_deref(),
            tool_calls: &r.answer.tool_calls,
            finish_reason: r.answer.finish_reason.as_deref(),
            usage: r.answer.usage,
            error: match &r.outcome {
                Outcome::Error(e) => Some(e.to_info()),
                _ => None,
            },
            metrics: r.metrics,
            conversation_id: None,
            message_id: None,
        }
    }
}

/// Logs go to stderr, or appended to `RUNNEL_LOG_FILE`; the level comes from
/// `RUNNEL_LOG` (tracing filter syntax). Keys are never logged.
pub(crate) fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUNNEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let file = std::env::var_os("RUNNEL_LOG_FILE")
        .filter(|p| !p.is_empty())
        .and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match file {
        Some(f) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}

/// Entry point of the `runnel` binary; returns the process exit code.
/// `open_window` runs when no command is given.
pub fn main(open_window: fn() -> i32) -> i32 {
    let cli = Cli::parse();
    match cli.command {
        None => open_window(),
        Some(Command::Ask(args)) => {
            init_logging("error");
            ask(args)
        }
        Some(Command::Providers { action }) => {
            init_logging("error");
            run_async(providers(
                action.unwrap_or(ProvidersAction::List { json: false }),
            ))
        }
        Some(Command::Key { action }) => {
            init_logging("error");
            run_async(key(action))
        }
        Some(Command::History { action }) => {
            init_logging("error");
            history(action)
        }
    }
}

/// The name of the window's binary, installed beside `runnel`.
pub const WINDOW_BINARY: &str = "runnel-window";

/// Opens the window by running the window's binary beside this one in this
/// process's place. `runnel` itself does not link the GUI libraries (loading
/// WebKitGTK and its ~170 libraries costs ~40 ms), so `runnel ask` starts in
/// milliseconds.
pub fn exec_window_binary() -> i32 {
    let name = format!("{WINDOW_BINARY}{}", std::env::consts::EXE_SUFFIX);
    let path = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(name),
        Err(e) => {
            eprintln!("runnel: could not find where runnel is installed: {e}");
            return 1;
        }
    };
    let mut cmd = std::process::Command::new(&path);
    cmd.args(std::env::args_os().skip(1));
    let not_started = |e: std::io::Error| {
        eprintln!(
            "runnel: could not open the window ({}: {e}); build both binaries with \
             `cargo build --release`, or run scripts/run.sh",
            path.display()
        );
        1
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns on failure.
        not_started(cmd.exec())
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => not_started(e),
    }
}

fn run_async(f: impl std::future::Future<Output = i32>) -> i32 {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("runnel: could not start the async runtime: {e}");
            1
        }
    }
}

fn service() -> Result<Arc<Service>, ServiceError> {
    let secrets = Arc::new(Secrets::new(Arc::new(OsKeychain::new(APP_ID))));
    Ok(Arc::new(Service::new(
        SettingsStore::default_location(),
        secrets,
        None,
    )?))
}

fn fail(e: &ServiceError) -> i32 {
    let info = e.to_info();
    eprintln!("runnel: error [{}]: {}", info.kind.as_str(), info.message);
    1
}

async fn providers(action: ProvidersAction) -> i32 {
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        ProvidersAction::List { json } => {
            let state = svc.state();
            if let Some(n) = &state.notice {
                eprintln!("runnel: {n}");
            }
            if json {
                let list: Vec<serde_json::Value> = state
                    .providers
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "id": p.provider.id, "name": p.provider.name, "kind": p.provider.kind.as_str(),
                            "base_url": p.provider.base_url, "default_model": p.provider.default_model,
                            "default": state.default_provider.as_deref() == Some(p.provider.id.as_str()),
                            "key": p.key_label, "needs_key": p.needs_key,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
                return 0;
            }
            for p in &state.providers {
                let default = if state.default_provider.as_deref() == Some(p.provider.id.as_str()) {
                    "*"
                } else {
                    " "
                };
                let key = if p.needs_key || p.key.set {
                    p.key_label.as_str()
                } else {
                    "no key needed"
                };
                println!(
                    "{default} {:<14} {:<22} {:<18} {:<40} {:<28} {key}",
                    p.provider.id,
                    p.provider.name,
                    p.provider.kind.as_str(),
                    p.provider.base_url,
                    p.provider.default_model
                );
            }
            0
        }
        ProvidersAction::Add {
            id,
            base_url,
            kind,
            model,
            name,
        } => {
            let Some(kind) = ProviderKind::parse(&kind) else {
                eprintln!(
                    "runnel: unknown provider kind {kind:?}: use openai-compatible or anthropic"
                );
                return 2;
            };
            let existing = svc.settings().provider(&id).cloned();
            let exists = existing.is_some();
            let result = if let Some(old) = existing {
                // Flags that were not given keep their values.
                svc.save_provider(ProviderInput {
                    id: Some(id.clone()),
                    name: name.unwrap_or(old.name),
                    kind,
                    base_url,
                    default_model: model.unwrap_or(old.default_model),
                    extra_headers: old.extra_headers,
                })
                .map(|saved| {
                    if saved.key_removed {
                        eprintln!("runnel: the host changed, so the saved key was removed: set it again with `runnel key set {}`", saved.id);
                    }
                    saved.id
                })
            } else {
                let model = model.unwrap_or_default();
                let mut p =
                    Provider::new(&id, name.as_deref().unwrap_or(&id), kind, &base_url, &model);
                p.name = p.name.trim().to_owned();
                svc.add_provider(p)
            };
            match result {
                Ok(id) => {
                    println!("{} provider {id}", if exists { "updated" } else { "added" });
                    0
                }
                Err(e) => fail(&e),
            }
        }
        ProvidersAction::Remove { id } => match svc.delete_provider(&id) {
            Ok(()) => {
                println!("removed provider {id}");
                0
            }
            Err(e) => fail(&e),
        },
    }
}

/// Records the turn for `--save` / `--conversation`.
fn save_turn(
    args: &AskArgs,
    provider: Option<String>,
    thinking_budget: Option<u32>,
    endpoint: &Endpoint,
    prompt: &str,
) -> Result<(Arc<Store>, chats::Prepared), StoreError> {
    let store = Arc::new(Store::open_default()?);
    let id = match &args.conversation {
        Some(id) => {
            if !store.exists(id)? {
                return Err(StoreError::NotFound(format!("conversation {id}")));
            }
            id.clone()
        }
        None => crate::core::store::new_id(),
    };
    let system_prompt = match (&args.system, &args.conversation) {
        (Some(s), _) => s.clone(),
        (None, Some(id)) => store.conversation(id)?.system_prompt,
        (None, None) => String::new(),
    };
    let settings = chats::SendSettings {
        provider,
        model: Some(endpoint.model.clone()),
        system_prompt,
        thinking_budget,
    };
    let prepared = chats::prepare(
        &store,
        &id,
        &settings,
        &chats::SendKind::New {
            text: prompt.to_owned(),
        },
    )?;
    Ok((store, prepared))
}

fn history(action: HistoryAction) -> i32 {
    let store = match Store::open_default() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("runnel: error [storage]: {e}");
            return 1;
        }
    };
    let plain = |s: &str| {
        s.replace(
            [crate::core::store::MARK_START, crate::core::store::MARK_END],
            "**",
        )
    };
    let result: Result<(), StoreError> = (|| {
        match action {
            HistoryAction::List { json, limit } => {
                let list = store.list(None, limit)?;
                if json {
                    let v: Vec<serde_json::Value> = list
                        .iter()
                        .map(|c| serde_json::json!({"id": c.id, "title": c.title, "updated": c.updated, "created": c.created, "pinned": c.pinned, "provider": c.provider, "model": c.model}))
                        .collect();
                    println!("{}", serde_json::Value::Array(v));
                } else {
                    for c in list {
                        println!(
                            "{}  {}  {}{}",
                            c.id,
                            format_time(c.updated),
                            if c.pinned { "📌 " } else { "" },
                            c.title
                        );
                    }
                }
            }
            HistoryAction::Show { id, json } => {
                let c = store.conversation(&id)?;
                let messages = store.messages(&id, None, 1_000_000)?;
                if json {
                    let v = serde_json::json!({
                        "id": c.id, "title": c.title, "created": c.created, "updated": c.updated,
                        "provider": c.provider, "model": c.model, "system_prompt": c.system_prompt,
                        "messages": messages.iter().map(|m| serde_json::json!({
                            "id": m.id, "role": m.role, "status": m.status.as_str(), "content": m.content,
                            "reasoning": m.reasoning, "tool_calls": m.tool_calls, "finish_reason": m.finish_reason,
                            "error": m.error_kind.as_ref().map(|k| serde_json::json!({"kind": k, "message": m.error_message})),
                            "usage": m.usage, "metrics": m.metrics, "created": m.created,
                        })).collect::<Vec<_>>(),
                    });
                    println!("{v}");
                } else {
                    print!("{}", store.export_markdown(&id)?);
                }
            }
            HistoryAction::Search { query, json } => {
                let hits = store.search(&query, 50)?;
                if json {
                    let v: Vec<serde_json::Value> = hits
                        .iter()
                        .map(|h| serde_json::json!({"id": h.id, "title": h.title, "updated": h.updated, "message_id": h.message_id, "snippet": plain(&h.snippet)}))
                        .collect();
                    println!("{}", serde_json::Value::Array(v));
                } else {
                    for h in hits {
                        println!(
                            "{}  {}\n    {}",
                            h.id,
                            h.title,
                            plain(&h.snippet).replace('\n', " ")
                        );
                    }
                }
            }
            HistoryAction::Export { id, format, output } => {
                let text = match format.as_str() {
                    "md" => store.export_markdown(&id)?,
                    "json" => serde_json::to_string_pretty(&store.export_json(&id)?)
                        .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    other => {
                        return Err(StoreError::Invalid(format!(
                            "unknown format {other:?}: use md or json"
                        )))
                    }
                };
                match output {
                    Some(path) => std::fs::write(&path, text).map_err(|e| {
                        StoreError::Invalid(format!("could not write {}: {e}", path.display()))
                    })?,
                    None => print!("{text}"),
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("runnel: error [storage]: {e}");
            1
        }
    }
}

/// `YYYY-MM-DD HH:MM` (UTC) for ms since the epoch.
fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn read_key(prompt: &str) -> std::io::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
    } else {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    }
}

async fn key(action: KeyAction) -> i32 {
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        KeyAction::Set { provider, force } => {
            let Some(p) = svc.settings().provider(&provider).cloned() else {
                eprintln!("runnel: there is no provider with the id {provider:?} (see `runnel providers`)");
                return 1;
            };
            let key = match read_key(&format!("API key for {}: ", p.name)) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("runnel: could not read the key: {e}");
                    return 1;
                }
            };
            match svc.set_key(&provider, &key, force).await {
                Ok(r) => {
                    if let Some(t) = &r.test_error {
                        eprintln!(
                            "runnel: testing the key failed [{}]: {}",
                            t.kind.as_str(),
                            t.message
                        );
                        if !r.stored {
                            eprintln!("runnel: nothing was saved (use --force to save it anyway)");
                            return 1;
                        }
                    }
                    if let Some(k) = &r.keychain_error {
                        eprintln!("runnel: error [keychain]: {k}");
                        return 1;
                    }
                    println!(
                        "saved the key for {provider} in the keychain: {}",
                        r.status.label()
                    );
                    0
                }
                Err(e) => fail(&e),
            }
        }
        KeyAction::Delete { provider } => match svc.delete_key(&provider).await {
            Ok(()) => {
                println!("deleted the key for {provider}");
                0
            }
            Err(e) => fail(&e),
        },
    }
}

fn ask(args: AskArgs) -> i32 {
    let prompt = if args.prompt == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("runnel: could not read the prompt from stdin: {e}");
            return 1;
        }
        s
    } else {
        args.prompt.clone()
    };
    if prompt.trim().is_empty() {
        eprintln!("runnel: the prompt is empty");
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runnel: could not start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(ask_async(args, prompt))
}

async fn ask_async(args: AskArgs, prompt: String) -> i32 {
    // A stored conversation continues with its own provider and model unless
    // told otherwise.
    let mut provider = args.provider.clone();
    let mut model = args.model.clone();
    if let (None, None, Some(cid)) = (&provider, &args.base_url, &args.conversation) {
        if let Ok(c) = Store::open_default().and_then(|s| s.conversation(cid)) {
            if let Some(p) = c
                .provider
                .filter(|p| p != crate::core::service::ENV_PROVIDER_ID)
            {
                provider = Some(p);
                model = model.or(c.model);
            }
        }
    }
    let (engine, endpoint) = match &provider {
        Some(id) => {
            let svc = match service() {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            match svc.endpoint(Some(id), model.as_deref()).await {
                Ok(ep) => (svc.engine.clone(), ep),
                Err(e) => return fail(&e),
            }
        }
        None => {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
            let anthropic = match args.protocol.as_deref() {
                None | Some("openai") | Some("openai-compatible") => false,
                Some("anthropic") => true,
                Some(other) => {
                    eprintln!("runnel: unknown protocol {other:?}: use openai or anthropic");
                    return 2;
                }
            };
            let (default_key, default_base, default_model) = if anthropic {
                (
                    "ANTHROPIC_API_KEY",
                    "https://api.anthropic.com",
                    "claude-sonnet-4-5",
                )
            } else {
                ("OPENAI_API_KEY", DEFAULT_BASE_URL, DEFAULT_MODEL)
            };
            let key_var = args
                .api_key_env
                .clone()
                .unwrap_or_else(|| default_key.to_owned());
            let base = args
                .base_url
                .clone()
                .or_else(|| {
                    if anthropic {
                        None
                    } else {
                        var("OPENAI_BASE_URL")
                    }
                })
                .unwrap_or_else(|| default_base.to_owned());
            let model = model
                .clone()
                .or_else(|| var("RUNNEL_MODEL"))
                .unwrap_or_else(|| default_model.to_owned());
            let key = var(&key_var).map(ApiKey::new);
            let endpoint = if anthropic {
                Endpoint::anthropic(&base, &model, key, &key_var)
            } else {
                Endpoint::new(&base, &model, key, &key_var)
            };
            match Engine::new(EngineConfig::from_env()) {
                Ok(e) => (Arc::new(e), endpoint),
                Err(e) => {
                    eprintln!("runnel: {e}");
                    return 1;
                }
            }
        }
    };
    if let Some(b) = args.thinking_budget.filter(|b| *b < 1024) {
        eprintln!("runnel: --thinking-budget must be at least 1024 tokens (got {b})");
        return 2;
    }
    let mut endpoint = endpoint;
    // A stored conversation keeps its thinking budget unless told otherwise.
    let stored_budget = args
        .conversation
        .as_ref()
        .and_then(|cid| Store::open_default().and_then(|s| s.conversation(cid)).ok())
        .and_then(|c| c.thinking_budget);
    let budget = args.thinking_budget.or(stored_budget);
    if endpoint.kind == ProviderKind::Anthropic {
        endpoint.thinking_budget = budget;
    } else if args.thinking_budget.is_some() {
        eprintln!("runnel: --thinking-budget applies to Anthropic providers only; ignored");
    }
    let saved = if args.save || args.conversation.is_some() {
        match save_turn(&args, provider.clone(), budget, &endpoint, &prompt) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("runnel: error [storage]: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = args.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::new(Role::System, system));
    }
    messages.push(ChatMessage::new(Role::User, prompt));

    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout);
    let mut err = std::io::stderr();
    let json = args.json;
    let mut last_char_newline = true;
    let mut broken_pipe = false;
    let options = ChatOptions {
        stream: !args.no_stream,
    };
    let mut on_event = |ev| match ev {
        EngineEvent::Delta(Delta::Text(t) | Delta::Refusal(t)) if !json => {
            broken_pipe |= out.write_all(t.as_bytes()).is_err();
            if broken_pipe {
                cancel.cancel();
            }
            last_char_newline = t.ends_with('\n');
        }
        EngineEvent::Delta(Delta::Reasoning(t)) if !json => {
            let _ = err.write_all(t.as_bytes());
        }
        EngineEvent::Retrying {
            attempt,
            max,
            delay,
            reason,
        } => {
            let _ = writeln!(
                err,
                "runnel: retrying in {:.0} s ({attempt}/{max}): {reason}",
                delay.as_secs_f64().ceil()
            );
        }
        EngineEvent::ReadEnd => {
            // One flush per network read keeps latency low without a syscall per token.
            broken_pipe |= out.flush().is_err();
            if broken_pipe {
                cancel.cancel();
            }
        }
        _ => {}
    };
    let result = match &saved {
        Some((store, prepared)) => {
            chats::stream(
                &engine,
                store,
                prepared,
                &endpoint,
                options,
                &cancel,
                &mut on_event,
            )
            .await
        }
        None => {
            engine
                .chat(&endpoint, &messages, options, &cancel, &mut on_event)
                .await
        }
    };

    if json {
        let mut obj = AskJson::from_result(&result);
        if let Some((_, p)) = &saved {
            obj.conversation_id = Some(p.conversation_id.clone());
            obj.message_id = Some(p.answer.id.clone());
        }
        match serde_json::to_string(&obj) {
            Ok(line) => {
                let _ = writeln!(out, "{line}");
            }
            Err(e) => {
                let _ = writeln!(err, "runnel: could not encode the result: {e}");
            }
        }
    } else {
        if !result.answer.text.is_empty() && !last_char_newline {
            let _ = writeln!(out);
        }
        if result.answer.reasoning.is_some() {
            let _ = writeln!(err);
        }
        for call in &result.answer.tool_calls {
            let _ = writeln!(
                err,
                "[tool call {}] {}({})",
                call.id, call.name, call.arguments
            );
        }
    }
    let _ = out.flush();
    drop(out);
    match &result.outcome {
        Outcome::Done => 0,
        Outcome::Cancelled if broken_pipe => 1,
        Outcome::Cancelled => {
            let _ = writeln!(err, "runnel: cancelled");
            130
        }
        Outcome::Error(e) => {
            let _ = writeln!(err, "runnel: error [{}]: {e}", e.kind().as_str());
            1
        }
    }
}
