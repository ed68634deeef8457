//! The local provider: GGUF models run in this process by llama.cpp, with no
//! key and no network. One [`LocalRuntime`] per process keeps loaded models
//! (unloaded after an idle time) and lets one generation run per model at a
//! time; the others wait their turn, told so.
//!
//! Generation runs on a blocking thread and sends text pieces to the async
//! side, which feeds them into the same delta pipeline as the HTTP
//! providers. Stop returns at once (the answer ends `cancelled` with what
//! arrived); the thread sees the flag before its next token and frees the
//! model for the next send.

pub mod catalog;
pub mod download;
mod generate;
pub mod gguf;
pub mod library;
pub mod system;
pub mod tools;

pub use generate::{FALLBACK_TEMPLATE, MIN_ANSWER_ROOM, PROMPT_BATCH};

use super::endpoint::Endpoint;
use super::{record, EngineEvent, Metrics, Outcome};
use crate::protocol::think::ThinkSplitter;
use crate::types::answer::{Answer, Delta, Usage};
use crate::types::chat::{ChatMessage, Role};
use crate::types::error::EngineError;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatTemplate, LlamaModel};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A loaded model is unloaded after this long unused (the default of the setting).
pub const DEFAULT_IDLE_UNLOAD: Duration = Duration::from_secs(10 * 60);
/// The context a local model is given, at most (its own training context
/// when that is smaller).
pub const DEFAULT_CONTEXT: u32 = 8192;
/// Default sampling temperature of local models.
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
/// Default nucleus sampling threshold.
pub const DEFAULT_TOP_P: f32 = 0.95;
/// Default longest answer, in tokens.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// How often loaded models are checked for idleness.
const IDLE_CHECK: Duration = Duration::from_secs(15);
/// Memory kept free beside a model when checking that it fits.
pub const MEMORY_MARGIN: u64 = 256 * 1024 * 1024;

/// One generation's request.
#[derive(Debug, Clone)]
pub struct GenRequest {
    /// System prompt and turns, oldest first.
    pub messages: Vec<(Role, String)>,
    /// Temperature; 0 is greedy (the same answer every time).
    pub temperature: f32,
    /// Nucleus sampling threshold.
    pub top_p: f32,
    /// Most tokens of the answer.
    pub max_tokens: u32,
    /// Sampling seed.
    pub seed: u32,
    /// Threads for prompt processing and generation.
    pub threads: usize,
    /// Context size asked for (capped at the model's own).
    pub context: u32,
}

/// What a generation reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    /// Something the user should know about this answer (old turns
    /// left out, a fallback template, the context filled).
    Notice(String),
    /// Loading the model: this percent is done.
    Loading(u32),
    /// Another answer from this model runs: this one waits its turn.
    Waiting,
    /// The conversation is longer than the context: the oldest `dropped`
    /// messages after the system prompt were left out.
    Trimmed {
        /// Messages left out.
        dropped: u32,
        /// The context's size in tokens.
        context: u32,
    },
    /// The prompt was read: its token count.
    Prompt {
        /// Tokens of the templated prompt.
        tokens: u64,
        /// The chat template ended the prompt inside an open `<think>`
        /// block: the answer starts as reasoning.
        thinking: bool,
    },
    /// One generated token and the text it completes (whole UTF-8, empty
    /// while a character is split across tokens).
    Token(String),
    /// Bytes left at the end that never became whole UTF-8 (as U+FFFD).
    Tail(String),
}

/// Counts and timings of one generation, from llama.cpp's own tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenStats {
    /// Tokens of the templated prompt.
    pub prompt_tokens: u64,
    /// Tokens generated (the end-of-generation token not counted).
    pub completion_tokens: u64,
    /// Old messages left out to fit the context.
    pub dropped_messages: usize,
    /// `stop` (an end-of-generation token) or `length`.
    pub finish: Option<String>,
    /// Stop was pressed.
    pub stopped: bool,
    /// Milliseconds of prompt processing.
    pub prompt_ms: f64,
    /// Milliseconds of generation.
    pub generate_ms: f64,
}

/// How the runtime runs models (Settings, and `RUNNEL_LOCAL_THREADS`).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// Threads; None: every physical core.
    pub threads: Option<usize>,
    /// Unload a model unused this long.
    pub idle_unload: Duration,
    /// Context size asked for.
    pub context: u32,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            threads: None,
            idle_unload: DEFAULT_IDLE_UNLOAD,
            context: DEFAULT_CONTEXT,
        }
    }
}

impl LocalConfig {
    /// The thread count in force: the setting, else `RUNNEL_LOCAL_THREADS`,
    /// else the physical cores.
    pub fn threads(&self) -> usize {
        self.threads
            .or_else(|| {
                std::env::var("RUNNEL_LOCAL_THREADS")
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .filter(|&n| n > 0)
            })
            .unwrap_or_else(system::physical_cores)
    }
}

/// A model file's place in the runtime: the model once loaded, and the turn
/// (one generation at a time).
#[derive(Default)]
struct Slot {
    turn: Arc<tokio::sync::Mutex<Option<Arc<LlamaModel>>>>,
    last_used: Mutex<Option<Instant>>,
}

/// The process's local models.
pub struct LocalRuntime {
    config: Mutex<LocalConfig>,
    slots: Mutex<HashMap<PathBuf, Arc<Slot>>>,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}

/// Sets its flag when dropped: a generation whose caller went away stops.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// llama.cpp's backend, initialized once per process.
fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut b = LlamaBackend::init().map_err(|e| e.to_string())?;
            // llama.cpp's own log goes nowhere; Runnel logs what matters.
            b.void_logs();
            Ok(b)
        })
        .as_ref()
        .map_err(|e| model_error(format!("llama.cpp could not start: {e}")))
}

/// A local model error (kind `model`).
pub fn model_error(message: String) -> EngineError {
    EngineError::Model { message }
}

impl LocalRuntime {
    /// The process's runtime.
    pub fn global() -> &'static LocalRuntime {
        static RUNTIME: OnceLock<LocalRuntime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            std::thread::Builder::new()
                .name("runnel-local-idle".into())
                .spawn(|| loop {
                    std::thread::sleep(IDLE_CHECK);
                    LocalRuntime::global().unload_idle();
                })
                .ok();
            LocalRuntime {
                config: Mutex::new(LocalConfig::default()),
                slots: Mutex::new(HashMap::new()),
            }
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> LocalConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Replaces the configuration (Settings changed).
    pub fn set_config(&self, config: LocalConfig) {
        if let Ok(mut c) = self.config.lock() {
            *c = config;
        }
    }

    fn slot(&self, path: &Path) -> Arc<Slot> {
        match self.slots.lock() {
            Ok(mut s) => s.entry(path.to_path_buf()).or_default().clone(),
            Err(_) => Arc::new(Slot::default()),
        }
    }

    /// True when the model at `path` is loaded.
    pub fn is_loaded(&self, path: &Path) -> bool {
        let slot = self.slot(path);
        let loaded = match slot.turn.try_lock() {
            Ok(g) => g.is_some(),
            // Busy generating: loaded.
            Err(_) => true,
        };
        loaded
    }

    /// Unloads every model that has been idle longer than the setting.
    pub fn unload_idle(&self) {
        let idle = self.config().idle_unload;
        let slots: Vec<Arc<Slot>> = match self.slots.lock() {
            Ok(s) => s.values().cloned().collect(),
            Err(_) => return,
        };
        for slot in slots {
            let stale = slot
                .last_used
                .lock()
                .map(|t| t.is_some_and(|t| t.elapsed() >= idle))
                .unwrap_or(false);
            if !stale {
                continue;
            }
            if let Ok(mut g) = slot.turn.try_lock() {
                if g.take().is_some() {
                    tracing::info!("unloaded an idle local model");
                }
            }
        }
    }

    /// Unloads the model at `path` now (it was deleted or replaced).
    pub async fn unload(&self, path: &Path) {
        let slot = self.slot(path);
        slot.turn.lock().await.take();
    }

    /// Runs one generation with the model at `path`: waits its turn (with a
    /// notice), loads the model when needed (with progress notices), then
    /// streams pieces to `on_event`. Cancelling returns at once with the
    /// stats so far marked stopped.
    pub async fn generate(
        &self,
        path: &Path,
        request: GenRequest,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(GenEvent) + Send),
    ) -> Result<GenStats, EngineError> {
        let slot = self.slot(path);
        let mut turn = match slot.turn.clone().try_lock_owned() {
            Ok(g) => g,
            Err(_) => {
                on_event(GenEvent::Waiting);
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Ok(GenStats { stopped: true, ..GenStats::default() }),
                    g = slot.turn.clone().lock_owned() => g,
                }
            }
        };
        if let Ok(mut t) = slot.last_used.lock() {
            *t = Some(Instant::now());
        }
        let model = match turn.as_ref() {
            Some(m) => m.clone(),
            None => {
                let m = self.load(path, cancel, on_event).await?;
                let Some(m) = m else {
                    return Ok(GenStats {
                        stopped: true,
                        ..GenStats::default()
                    });
                };
                *turn = Some(m.clone());
                m
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        // Dropped without Stop (a deadline, a closed window): the worker
        // stops all the same.
        let _stop_on_drop = StopOnDrop(stop.clone());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<GenEvent>();
        let worker = {
            let stop = stop.clone();
            let model = model.clone();
            tokio::task::spawn_blocking(move || {
                let backend = backend()?;
                let mut send = |ev| {
                    let _ = tx.send(ev);
                };
                generate::generate(backend, &model, &request, &stop, &mut send)
                    .map_err(|e| model_error(e.to_string()))
            })
        };
        // The turn stays held until the worker is done, so a stopped answer
        // frees the model for the next send once its current token is out.
        let hold = turn;
        let mut worker = worker;
        let result = loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    stop.store(true, Ordering::Relaxed);
                    // Deliver what already arrived, then return at once.
                    while let Ok(ev) = rx.try_recv() {
                        on_event(ev);
                    }
                    let slot = slot.clone();
                    tokio::spawn(async move {
                        let _ = worker.await;
                        drop(hold);
                        if let Ok(mut t) = slot.last_used.lock() {
                            *t = Some(Instant::now());
                        }
                    });
                    return Ok(GenStats { stopped: true, ..GenStats::default() });
                }
                ev = rx.recv() => match ev {
                    Some(ev) => on_event(ev),
                    None => break (&mut worker).await,
                },
            }
        };
        drop(hold);
        if let Ok(mut t) = slot.last_used.lock() {
            *t = Some(Instant::now());
        }
        match result {
            Ok(r) => r,
            Err(e) => Err(model_error(format!("the local model's thread failed: {e}"))),
        }
    }

    /// Loads the model at `path` after checking that it fits in free
    /// memory; None when cancelled while loading.
    async fn load(
        &self,
        path: &Path,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(GenEvent) + Send),
    ) -> Result<Option<Arc<LlamaModel>>, EngineError> {
        let info = {
            let p = path.to_path_buf();
            tokio::task::spawn_blocking(move || gguf::read(&p))
                .await
                .map_err(|e| model_error(format!("reading the model failed: {e}")))?
                .map_err(|e| model_error(e.to_string()))?
        };
        system::check_fits(info.file_size)?;
        on_event(GenEvent::Loading(0));
        let aborted = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let task = {
            let p = path.to_path_buf();
            let aborted = aborted.clone();
            tokio::task::spawn_blocking(move || {
                let backend = backend()?;
                let mut last = 0u32;
                let params = LlamaModelParams::default().with_progress_callback(move |f: f32| {
                    let pct = (f * 100.0) as u32;
                    if pct >= last + 10 {
                        last = pct;
                        let _ = tx.send(pct);
                    }
                    !aborted.load(Ordering::Relaxed)
                });
                LlamaModel::load_from_file(backend, &p, &params).map_err(|e| {
                    model_error(format!(
                        "llama.cpp could not load {} ({e}): the file may be damaged or of an architecture this build does not know",
                        p.display()
                    ))
                })
            })
        };
        let mut task = task;
        let started = Instant::now();
        let loaded = loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    aborted.store(true, Ordering::Relaxed);
                    let _ = task.await;
                    return Ok(None);
                }
                pct = rx.recv() => match pct {
                    Some(p) if p < 100 => on_event(GenEvent::Loading(p)),
                    Some(_) => {}
                    None => break (&mut task).await,
                },
            }
        };
        let model = loaded.map_err(|e| model_error(format!("loading the model failed: {e}")))??;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "loaded a local model"
        );
        Ok(Some(Arc::new(model)))
    }

    /// The prompt the model at `path` is given for `messages`, written with
    /// its own chat template or, with `template`, with that one (a template
    /// string, or a name llama.cpp knows such as `chatml` or `llama3`).
    pub async fn templated_prompt(
        &self,
        path: &Path,
        template: Option<String>,
        messages: Vec<(Role, String)>,
    ) -> Result<String, EngineError> {
        let cancel = CancellationToken::new();
        let slot = self.slot(path);
        let mut turn = slot.turn.lock().await;
        let model = match turn.as_ref() {
            Some(m) => m.clone(),
            None => {
                let m = self
                    .load(path, &cancel, &mut |_| {})
                    .await?
                    .ok_or_else(|| model_error("loading was cancelled".into()))?;
                *turn = Some(m.clone());
                m
            }
        };
        drop(turn);
        tokio::task::spawn_blocking(move || {
            let borrowed: Vec<(Role, &str)> =
                messages.iter().map(|(r, t)| (*r, t.as_str())).collect();
            let mut notices = Vec::new();
            let prompt = match template {
                None => generate::templated_prompt(&model, &borrowed, &mut notices),
                Some(t) => match LlamaChatTemplate::new(&t) {
                    Ok(t) => generate::apply_template(&model, &t, &borrowed),
                    Err(e) => Err(generate::GenError::Model(e.to_string())),
                },
            };
            prompt.map_err(|e| model_error(e.to_string()))
        })
        .await
        .map_err(|e| model_error(format!("templating failed: {e}")))?
    }
}

/// Passes the text deltas of `deltas` through `calls` (tool calls out of
/// the text); the other deltas keep their place.
fn split_out_calls(calls: &mut tools::CallSplitter, deltas: &mut Vec<Delta>) {
    if !deltas.iter().any(|d| matches!(d, Delta::Text(_))) {
        return;
    }
    let mut out = Vec::with_capacity(deltas.len());
    for d in deltas.drain(..) {
        match d {
            Delta::Text(t) => calls.push(&t, &mut out),
            other => out.push(other),
        }
    }
    *deltas = out;
}

/// Streams one answer of the local model `endpoint.model` (a file in the
/// models folder `endpoint.base_url`) into `answer`, as the HTTP engine
/// does: deltas (inline `<think>` as reasoning), notices, exact usage.
#[allow(clippy::too_many_arguments)]
pub(super) async fn chat(
    endpoint: &Endpoint,
    messages: &[ChatMessage],
    offered: &[crate::types::tool::ToolSpec],
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(EngineEvent) + Send),
    answer: &mut Answer,
    metrics: &mut Metrics,
    started: Instant,
) -> Outcome {
    let library = library::Library::new(&endpoint.base_url);
    let path = match library.path_of(&endpoint.model) {
        Ok(p) => p,
        Err(e) => return Outcome::Error(model_error(e.to_string())),
    };
    let runtime = LocalRuntime::global();
    let config = runtime.config();
    let sampling = &endpoint.sampling;
    if messages.iter().any(ChatMessage::has_images) {
        return Outcome::Error(model_error(
            "The built-in models read text only: send without the image, or ask a provider whose model takes images".into(),
        ));
    }
    // Tools go to a model whose template takes them (Hermes style); others
    // see earlier calls and results as text, and are offered none.
    let hermes = gguf::read(&path)
        .ok()
        .and_then(|i| i.chat_template)
        .is_some_and(|t| tools::takes_tools(&t));
    if !offered.is_empty() && !hermes {
        on_event(EngineEvent::Notice(
            "This model's chat template takes no tools: it answers without them.".into(),
        ));
    }
    let mut calls = tools::CallSplitter::new();
    let split_calls = hermes && !offered.is_empty();
    let request = GenRequest {
        messages: tools::as_text(messages, if hermes { offered } else { &[] }, hermes),
        temperature: sampling.temperature.unwrap_or(DEFAULT_TEMPERATURE),
        top_p: sampling.top_p.unwrap_or(DEFAULT_TOP_P),
        max_tokens: sampling.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        seed: fastrand::u32(..),
        threads: config.threads(),
        context: config.context,
    };
    let mut think = ThinkSplitter::new();
    let mut deltas: Vec<Delta> = Vec::new();
    let mut usage = Usage::default();
    let emit = |deltas: &mut Vec<Delta>,
                answer: &mut Answer,
                metrics: &mut Metrics,
                on_event: &mut (dyn FnMut(EngineEvent) + Send)| {
        for d in deltas.drain(..) {
            record(&d, answer, metrics, started);
            on_event(EngineEvent::Delta(d));
        }
    };
    let result = runtime
        .generate(&path, request, cancel, &mut |ev| {
            let text = match ev {
                GenEvent::Notice(n) => return on_event(EngineEvent::Notice(n)),
                GenEvent::Loading(percent) => return on_event(EngineEvent::Loading { percent }),
                GenEvent::Waiting => return on_event(EngineEvent::Waiting),
                GenEvent::Trimmed { dropped, context } => {
                    metrics.context_dropped = Some(dropped);
                    return on_event(EngineEvent::ContextTrimmed { dropped, context });
                }
                GenEvent::Prompt { tokens, thinking } => {
                    usage.input_tokens = tokens;
                    if thinking {
                        think.open();
                    }
                    return;
                }
                GenEvent::Token(t) => {
                    usage.output_tokens += 1;
                    t
                }
                GenEvent::Tail(t) => t,
            };
            metrics.chunks += 1;
            if !text.is_empty() {
                think.push(&text, &mut deltas);
                if split_calls {
                    split_out_calls(&mut calls, &mut deltas);
                }
                emit(&mut deltas, answer, metrics, on_event);
                on_event(EngineEvent::ReadEnd);
            }
        })
        .await;
    think.finish(&mut deltas);
    if split_calls {
        split_out_calls(&mut calls, &mut deltas);
        calls.finish(&mut deltas);
    }
    emit(&mut deltas, answer, metrics, on_event);
    let outcome = match result {
        Ok(stats) => {
            if calls.calls() > 0 && !stats.stopped {
                deltas.push(Delta::Finish("tool_calls".into()));
            } else if let Some(reason) = stats.finish.filter(|_| !stats.stopped) {
                deltas.push(Delta::Finish(reason));
            }
            if stats.stopped || cancel.is_cancelled() {
                Outcome::Cancelled
            } else {
                Outcome::Done
            }
        }
        Err(e) => Outcome::Error(e),
    };
    deltas.push(Delta::Usage(usage));
    emit(&mut deltas, answer, metrics, on_event);
    on_event(EngineEvent::ReadEnd);
    outcome
}
