//! The streaming engine: sends a chat request, retries before the answer starts,
//! decodes the SSE stream, assembles deltas, and always ends in exactly one
//! terminal state (done, cancelled, or error) without hanging.
//!
//! Per-chunk work is constant: bytes go through the incremental SSE decoder, one
//! JSON parse per event, and deltas are appended to the answer.

pub mod endpoint;
mod http;
pub mod local;
mod models;
mod run;
pub mod trace;

pub use http::parse_retry_after;
pub use models::parse_models;
use run::record;

use crate::protocol::ProviderKind;
use crate::types::answer::{estimate_tokens, Answer, Delta, Usage};
use crate::types::chat::ChatMessage;
use crate::types::error::{error_chain, EngineError, TimeoutPhase};
use crate::types::key::ApiKey;
use crate::types::status::MessageStatus;
use endpoint::Endpoint;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Default wait for the TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default wait for the response headers, and again for the first body chunk.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default longest silence between two chunks of an answer.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default retries before the first byte of an answer.
pub const MAX_RETRIES: u32 = 2;
/// Default first backoff step (doubled on each retry, with jitter).
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Cap on any wait between tries, a server's Retry-After included.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// The most text one answer may hold (text, reasoning, refusal and tool
/// arguments together): past it the stream ends with a `stream` error and
/// the text so far is kept.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Where every request goes: through the system's proxy variables, straight
/// to the server, or through one proxy.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ProxyConfig {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, as the system sets them.
    #[default]
    System,
    /// No proxy at all.
    Off,
    /// This proxy (`http`, `https`, `socks5` or `socks5h` URL) for every
    /// request, except hosts in `no_proxy` (`NO_PROXY` syntax).
    Custom {
        /// The proxy's URL, without credentials.
        url: String,
        /// Hosts reached directly.
        no_proxy: String,
        /// User name and password (from the keychain), when the proxy asks.
        auth: Option<(String, ApiKey)>,
    },
}

/// Timeouts, retry policy and proxy.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// TCP/TLS connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// From sending the request to the response headers, and again to the first body chunk (default 60 s).
    pub first_byte_timeout: Duration,
    /// Longest silence between two chunks of the answer (default 60 s).
    pub idle_timeout: Duration,
    /// Retries before the first byte of the answer (default 2).
    pub max_retries: u32,
    /// First backoff step; doubled on each retry, with jitter (default 1 s).
    pub backoff_base: Duration,
    /// Cap on any wait, including a server's Retry-After (default 60 s).
    pub max_retry_wait: Duration,
    /// The longest one answer may take from send to its end, when set.
    pub answer_deadline: Option<Duration>,
    /// The proxy requests go through.
    pub proxy: ProxyConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            connect_timeout: CONNECT_TIMEOUT,
            first_byte_timeout: FIRST_BYTE_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_retries: MAX_RETRIES,
            backoff_base: BACKOFF_BASE,
            max_retry_wait: MAX_RETRY_WAIT,
            answer_deadline: None,
            proxy: ProxyConfig::System,
        }
    }
}

/// What the engine reports while a stream runs.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A retryable failure before the answer started; the next try starts after `delay`.
    Retrying {
        /// 1 for the first retry.
        attempt: u32,
        /// Most retries that will be made.
        max: u32,
        /// Wait before the retry.
        delay: Duration,
        /// Why (the error's message).
        reason: String,
    },
    /// A piece of the answer.
    Delta(Delta),
    /// All events of one network read have been reported: a good moment to flush output.
    ReadEnd,
    /// Something the user should see beside the answer: a fallback chat
    /// template, tools a template cannot take, the tool step limit.
    Notice(String),
    /// A local model's context could not hold the whole conversation: the
    /// oldest `dropped` messages (never the system prompt) were left out.
    ContextTrimmed {
        /// Messages left out.
        dropped: u32,
        /// The context's size in tokens.
        context: u32,
    },
    /// The local model is busy with another answer: this one waits its turn.
    Waiting,
    /// A local model is loading: this percent is done.
    Loading {
        /// 0-100.
        percent: u32,
    },
    /// A tool call is waiting for the user's answer (the face asks).
    ToolAsk(crate::types::tool::PendingCall),
    /// A tool call is running.
    ToolRunning {
        /// The call's id.
        call_id: String,
    },
    /// A tool call ended (ran, failed or was declined): its step.
    ToolStep(crate::types::tool::ToolStep),
}

/// How the stream ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The answer completed.
    Done,
    /// The user cancelled.
    Cancelled,
    /// It failed; the answer keeps what arrived.
    Error(EngineError),
}

impl Outcome {
    /// The terminal status this outcome is stored and shown as.
    pub fn status(&self) -> MessageStatus {
        match self {
            Self::Done => MessageStatus::Done,
            Self::Cancelled => MessageStatus::Cancelled,
            Self::Error(_) => MessageStatus::Error,
        }
    }
}

/// Timing of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default, ts_rs::TS)]
pub struct Metrics {
    /// Milliseconds from the request to the first piece of the answer.
    pub ttft_ms: Option<f64>,
    /// Milliseconds from the request to the terminal state.
    pub total_ms: f64,
    /// SSE data events received.
    pub chunks: u64,
    /// Output tokens per second of generation (after the first token).
    pub tokens_per_s: Option<f64>,
    /// How many of the oldest messages a local model's context could not
    /// hold and were left out of this answer; stored with it, so a reopened
    /// conversation still says so. Absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_dropped: Option<u32>,
}

/// The result of one stream: what arrived, how it ended, and how fast.
#[derive(Debug, Clone)]
pub struct StreamResult {
    /// Everything that arrived (kept on cancel and error).
    pub answer: Answer,
    /// The terminal state.
    pub outcome: Outcome,
    /// Timings.
    pub metrics: Metrics,
    /// Token counts: the server's, or an estimate.
    pub usage: Usage,
    /// True when `usage` is an estimate (the server sent none).
    pub usage_estimated: bool,
    /// What went over the wire, when asked for.
    pub trace: Option<trace::Trace>,
    /// The tool calls the answer made and their results (filled by the
    /// turn; the engine runs no tool).
    pub steps: Vec<crate::types::tool::ToolStep>,
}

/// Request options.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// Stream the answer (the default); `false` asks for one complete response.
    pub stream: bool,
    /// Record what goes over the wire, within this many bytes (see
    /// [`trace`]); None records nothing.
    pub trace_cap: Option<usize>,
    /// Tools the model may call.
    pub tools: Vec<crate::types::tool::ToolSpec>,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self {
            stream: true,
            trace_cap: None,
            tools: Vec::new(),
        }
    }
}

/// The engine. Cheap to share: holds one pooled HTTP client.
#[derive(Debug)]
pub struct Engine {
    client: reqwest::Client,
    config: EngineConfig,
    /// Base URLs that answered 400 to `stream_options`: never sent it again.
    no_stream_options: Mutex<HashSet<String>>,
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("Runnel/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            // API calls never follow redirects (see run.rs): the key, the
            // headers and the conversation would follow to another origin.
            .redirect(reqwest::redirect::Policy::none());
        let builder = match &config.proxy {
            // reqwest reads the proxy variables itself.
            ProxyConfig::System => builder,
            ProxyConfig::Off => builder.no_proxy(),
            ProxyConfig::Custom {
                url,
                no_proxy,
                auth,
            } => {
                let proxy_error = |e: reqwest::Error| EngineError::Network {
                    url: url.clone(),
                    detail: format!("the proxy {url} cannot be used: {}", error_chain(&e)),
                };
                let mut proxy = reqwest::Proxy::all(url.as_str()).map_err(proxy_error)?;
                if let Some((user, password)) = auth {
                    proxy = proxy.basic_auth(user, password.expose());
                }
                builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_string(no_proxy)))
            }
        };
        let client = builder.build().map_err(|e| EngineError::Network {
            url: String::new(),
            detail: error_chain(&e),
        })?;
        Ok(Self {
            client,
            config,
            no_stream_options: Mutex::new(HashSet::new()),
        })
    }

    /// The HTTP client (proxy, timeouts, no redirects followed): model
    /// downloads use it too, following redirects themselves.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// True once the endpoint has been seen to reject `stream_options`.
    pub fn skips_stream_options(&self, endpoint: &Endpoint) -> bool {
        self.no_stream_options
            .lock()
            .map(|s| s.contains(&endpoint.base_url))
            .unwrap_or(false)
    }

    /// Never sends `stream_options` to this endpoint's base URL again.
    fn remember_no_stream_options(&self, endpoint: &Endpoint) {
        tracing::info!(base_url = %endpoint.base_url, "server rejects stream_options; not sending it again");
        if let Ok(mut s) = self.no_stream_options.lock() {
            s.insert(endpoint.base_url.clone());
        }
    }

    /// Streams one chat answer. `on_event` sees every retry notice and delta in
    /// order; the result holds the whole answer and its single terminal state.
    pub async fn chat(
        &self,
        endpoint: &Endpoint,
        messages: &[ChatMessage],
        options: ChatOptions,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(EngineEvent) + Send),
    ) -> StreamResult {
        let (outcome, answer, mut metrics, started, recorder) =
            if endpoint.kind == ProviderKind::Local {
                let started = Instant::now();
                let mut answer = Answer::default();
                let mut metrics = Metrics::default();
                // A local model's trace: its token events, as a server's would be.
                let mut recorder = options
                    .trace_cap
                    .map(|cap| trace::TraceRecorder::starting_at(cap, started));
                let mut traced = |ev: EngineEvent| {
                    if let (Some(r), EngineEvent::Delta(d)) = (&mut recorder, &ev) {
                        match d {
                            Delta::Text(t) => r.event(Some("token"), t),
                            Delta::Reasoning(t) => r.event(Some("reasoning"), t),
                            _ => {}
                        }
                    }
                    on_event(ev);
                };
                let run = local::chat(
                    endpoint,
                    messages,
                    &options.tools,
                    cancel,
                    &mut traced,
                    &mut answer,
                    &mut metrics,
                    started,
                );
                let outcome = match self.config.answer_deadline {
                    Some(limit) => match tokio::time::timeout(limit, run).await {
                        Ok(outcome) => outcome,
                        Err(_) => Outcome::Error(EngineError::Timeout {
                            phase: TimeoutPhase::Total,
                            after: limit,
                        }),
                    },
                    None => run.await,
                };
                (outcome, answer, metrics, started, recorder)
            } else {
                let mut run = run::Run {
                    ask: run::Ask {
                        engine: self,
                        endpoint,
                        messages,
                        options: &options,
                        cancel,
                    },
                    started: Instant::now(),
                    answer: Answer::default(),
                    metrics: Metrics::default(),
                    on_event,
                    trace: options.trace_cap.map(trace::TraceRecorder::new),
                };
                let outcome = match self.config.answer_deadline {
                    Some(limit) => match tokio::time::timeout(limit, run.run()).await {
                        Ok(outcome) => outcome,
                        Err(_) => Outcome::Error(EngineError::Timeout {
                            phase: TimeoutPhase::Total,
                            after: limit,
                        }),
                    },
                    None => run.run().await,
                };
                let run::Run {
                    answer,
                    metrics,
                    started,
                    trace,
                    ..
                } = run;
                (outcome, answer, metrics, started, trace)
            };
        let outcome = match (outcome, &endpoint.api_key) {
            (Outcome::Error(e), Some(k)) => Outcome::Error(e.redacted(k.expose())),
            (o, _) => o,
        };
        // A server that echoes the key inside the answer (its text or a tool
        // call's arguments) does not get it stored, exported or shown at the end.
        let mut answer = answer;
        if let Some(k) = &endpoint.api_key {
            answer.redact(k.expose());
        }
        metrics.total_ms = ms(started.elapsed());
        let (usage, usage_estimated) = match answer.usage {
            Some(u) => (u, false),
            None => {
                let input: u64 = messages
                    .iter()
                    .map(|m| estimate_tokens(&m.content) + 4)
                    .sum();
                let output = estimate_tokens(&answer.text)
                    + answer
                        .reasoning
                        .as_deref()
                        .map(estimate_tokens)
                        .unwrap_or(0)
                    + answer.refusal.as_deref().map(estimate_tokens).unwrap_or(0)
                    + answer
                        .tool_calls
                        .iter()
                        .map(|c| estimate_tokens(&c.arguments))
                        .sum::<u64>();
                (
                    Usage {
                        input_tokens: input,
                        output_tokens: output,
                        cached_input_tokens: 0,
                    },
                    true,
                )
            }
        };
        if let Some(ttft) = metrics.ttft_ms {
            let gen_s = (metrics.total_ms - ttft) / 1000.0;
            if gen_s > 0.0 && usage.output_tokens > 0 {
                metrics.tokens_per_s = Some(usage.output_tokens as f64 / gen_s);
            }
        }
        match &outcome {
            Outcome::Error(e) => {
                tracing::warn!(kind = e.kind().as_str(), error = %e, "stream ended with an error")
            }
            o => tracing::debug!(
                status = o.status().as_str(),
                chunks = metrics.chunks,
                "stream ended"
            ),
        }
        let trace = recorder.map(|r| {
            let error = match &outcome {
                Outcome::Error(e) => Some(e.to_info()),
                _ => None,
            };
            // A server's events are counted by the decoder; a local model's
            // are recorded one by one.
            let sse_events = (endpoint.kind != ProviderKind::Local).then_some(metrics.chunks);
            let mut t = r.finish(outcome.status().as_str(), error, sse_events);
            if let Some(k) = &endpoint.api_key {
                t.redact(k.expose());
            }
            t
        });
        StreamResult {
            answer,
            outcome,
            metrics,
            usage,
            usage_estimated,
            trace,
            steps: Vec::new(),
        }
    }
}

/// Milliseconds with microsecond precision.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
