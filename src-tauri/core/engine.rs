//! The streaming engine: sends a chat request, retries before the answer starts,
//! decodes the SSE stream, assembles deltas, and always ends in exactly one
//! terminal state (done, cancelled, or error) without hanging.
//!
//! Per-chunk work is constant: bytes go through the incremental SSE decoder, one
//! JSON parse per event, and deltas are appended to the answer.

use crate::core::anthropic;
use crate::core::error::{provider_message, EngineError, TimeoutPhase};
use crate::core::openai::{self, ChatMessage, ChunkAssembler, Control};
use crate::core::provider::Endpoint;
use crate::core::settings::ProviderKind;
use crate::core::sse::{SseDecoder, SseEvent};
use crate::core::stream::{estimate_tokens, Answer, Delta, Usage};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

/// Timeouts and retry policy.
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
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_retries: 2,
            backoff_base: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

impl EngineConfig {
    /// Defaults, overridden by `RUNNEL_CONNECT_TIMEOUT_MS`, `RUNNEL_FIRST_BYTE_TIMEOUT_MS`,
    /// `RUNNEL_IDLE_TIMEOUT_MS`, `RUNNEL_MAX_RETRIES` and `RUNNEL_BACKOFF_MS` where set.
    pub fn from_env() -> Self {
        let ms = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
        };
        let d = Self::default();
        Self {
            connect_timeout: ms("RUNNEL_CONNECT_TIMEOUT_MS").unwrap_or(d.connect_timeout),
            first_byte_timeout: ms("RUNNEL_FIRST_BYTE_TIMEOUT_MS").unwrap_or(d.first_byte_timeout),
            idle_timeout: ms("RUNNEL_IDLE_TIMEOUT_MS").unwrap_or(d.idle_timeout),
            max_retries: std::env::var("RUNNEL_MAX_RETRIES")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(d.max_retries),
            backoff_base: ms("RUNNEL_BACKOFF_MS").unwrap_or(d.backoff_base),
            max_retry_wait: d.max_retry_wait,
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
    /// `done`, `cancelled` or `error`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Error(_) => "error",
        }
    }
}

/// Timing of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Metrics {
    /// Milliseconds from the request to the first piece of the answer.
    pub ttft_ms: Option<f64>,
    /// Milliseconds from the request to the terminal state.
    pub total_ms: f64,
    /// SSE data events received.
    pub chunks: u64,
    /// Output tokens per second of generation (after the first token).
    pub tokens_per_s: Option<f64>,
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
}

/// Request options.
#[derive(Debug, Clone, Copy)]
pub struct ChatOptions {
    /// Stream the answer (the default); `false` asks for one complete response.
    pub stream: bool,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self { stream: true }
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

enum Attempt {
    Response(reqwest::Response),
    Retry(EngineError),
    Fail(EngineError),
    Cancelled,
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("Runnel/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| EngineError::Network {
                url: String::new(),
                detail: error_chain(&e),
            })?;
        Ok(Self {
            client,
            config,
            no_stream_options: Mutex::new(HashSet::new()),
        })
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
        let started = Instant::now();
        let mut answer = Answer::default();
        let mut metrics = Metrics::default();
        let outcome = self
            .run(
                endpoint,
                messages,
                options,
                cancel,
                started,
                &mut answer,
                &mut metrics,
                on_event,
            )
            .await;
        let outcome = match (outcome, &endpoint.api_key) {
            (Outcome::Error(e), Some(k)) => Outcome::Error(e.redacted(k.expose())),
            (o, _) => o,
        };
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
            o => tracing::debug!(status = o.status(), chunks = metrics.chunks, "stream ended"),
        }
        StreamResult {
            answer,
            outcome,
            metrics,
            usage,
            usage_estimated,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        endpoint: &Endpoint,
        messages: &[ChatMessage],
        options: ChatOptions,
        cancel: &CancellationToken,
        started: Instant,
        answer: &mut Answer,
        metrics: &mut Metrics,
        on_event: &mut (dyn FnMut(EngineEvent) + Send),
    ) -> Outcome {
        if let Err(e) = endpoint.check() {
            return Outcome::Error(e);
        }
        let openai = endpoint.kind == ProviderKind::OpenaiCompatible;
        let mut include_usage = openai
            && options.stream
            && !endpoint.no_stream_options
            && !self.skips_stream_options(endpoint);
        let mut dropped_stream_options = false;
        let mut retries = 0u32;
        let response = loop {
            match self
                .attempt(endpoint, messages, options, include_usage, cancel)
                .await
            {
                Attempt::Response(r) => {
                    if dropped_stream_options {
                        tracing::info!(base_url = %endpoint.base_url, "server rejects stream_options; not sending it again");
                        if let Ok(mut s) = self.no_stream_options.lock() {
                            s.insert(endpoint.base_url.clone());
                        }
                    }
                    break r;
                }
                Attempt::Cancelled => return Outcome::Cancelled,
                Attempt::Fail(e) if include_usage && rejects_stream_options(&e) => {
                    // Some servers reject stream_options: ask once more without it.
                    tracing::debug!("400 with stream_options; retrying without it");
                    include_usage = false;
                    dropped_stream_options = true;
                }
                Attempt::Fail(e) => return Outcome::Error(e),
                Attempt::Retry(e) if retries < self.config.max_retries => {
                    retries += 1;
                    let delay = self.retry_delay(retries, e.retry_after());
                    on_event(EngineEvent::Retrying {
                        attempt: retries,
                        max: self.config.max_retries,
                        delay,
                        reason: e.to_string(),
                    });
                    tokio::select! {
                        _ = cancel.cancelled() => return Outcome::Cancelled,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Attempt::Retry(e) => return Outcome::Error(e),
            }
        };

        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_json = content_type.contains("json");
        if content_type.contains("text/html") {
            let body = tokio::time::timeout(
                self.config.idle_timeout,
                read_limited(response, self.config.idle_timeout, 64 * 1024),
            )
            .await
            .unwrap_or_default();
            return Outcome::Error(EngineError::Config {
                kind: crate::core::error::ErrorKind::NotFound,
                message: format!(
                    "{} answered: {}",
                    endpoint.chat_url(),
                    provider_message(&body)
                ),
            });
        }
        if !options.stream || is_json {
            return self
                .read_whole(
                    endpoint.kind,
                    response,
                    cancel,
                    started,
                    answer,
                    metrics,
                    on_event,
                )
                .await;
        }
        self.read_stream(
            endpoint.kind,
            response,
            cancel,
            started,
            answer,
            metrics,
            on_event,
        )
        .await
    }

    async fn attempt(
        &self,
        endpoint: &Endpoint,
        messages: &[ChatMessage],
        options: ChatOptions,
        include_usage: bool,
        cancel: &CancellationToken,
    ) -> Attempt {
        let url = endpoint.chat_url();
        let body = match endpoint.kind {
            ProviderKind::OpenaiCompatible => {
                openai::request_body(&endpoint.model, messages, options.stream, include_usage)
            }
            ProviderKind::Anthropic => anthropic::request_body(
                &endpoint.model,
                messages,
                endpoint.max_tokens,
                endpoint.thinking_budget,
                options.stream,
            ),
        };
        let mut req = self
            .client
            .post(&url)
            .header(
                reqwest::header::ACCEPT,
                if options.stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .json(&body);
        req = with_auth(req, endpoint);
        let sent = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Attempt::Cancelled,
            r = tokio::time::timeout(self.config.first_byte_timeout, req.send()) => r,
        };
        let response = match sent {
            Err(_) => {
                return Attempt::Fail(EngineError::Timeout {
                    phase: TimeoutPhase::FirstByte,
                    after: self.config.first_byte_timeout,
                })
            }
            Ok(Err(e)) => {
                let err = self.send_error(&url, &e);
                // Connection failures never reached the server: safe to retry.
                return if e.is_connect() || e.is_timeout() {
                    Attempt::Retry(err)
                } else {
                    Attempt::Fail(err)
                };
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Attempt::Response(response);
        }
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let body = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Attempt::Cancelled,
            // An error body gets one idle period in all: a trickling server cannot hold us.
            b = tokio::time::timeout(self.config.idle_timeout, read_limited(response, self.config.idle_timeout, 64 * 1024)) => {
                b.unwrap_or_default()
            }
        };
        let err = EngineError::Http {
            status,
            message: provider_message(&body),
            body,
            retry_after,
        };
        if matches!(status, 408 | 409 | 429 | 500..=599) {
            Attempt::Retry(err)
        } else {
            Attempt::Fail(err)
        }
    }

    fn send_error(&self, url: &str, e: &reqwest::Error) -> EngineError {
        if e.is_timeout() {
            return EngineError::Timeout {
                phase: TimeoutPhase::Connect,
                after: self.config.connect_timeout,
            };
        }
        EngineError::Network {
            url: url.to_owned(),
            detail: error_chain(e),
        }
    }

    fn retry_delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.config.max_retry_wait);
        }
        let step = self
            .config
            .backoff_base
            .saturating_mul(1 << (retry - 1).min(16));
        // Full jitter in [step/2, step].
        let jittered = step.mul_f64(0.5 + fastrand::f64() * 0.5);
        jittered.min(self.config.max_retry_wait)
    }

    #[allow(clippy::too_many_arguments)]
    async fn read_stream(
        &self,
        endpoint_kind: ProviderKind,
        response: reqwest::Response,
        cancel: &CancellationToken,
        started: Instant,
        answer: &mut Answer,
        metrics: &mut Metrics,
        on_event: &mut (dyn FnMut(EngineEvent) + Send),
    ) -> Outcome {
        let mut body = response.bytes_stream();
        let mut decoder = SseDecoder::new();
        let mut assembler = Assembler::new(endpoint_kind);
        let mut deltas: Vec<Delta> = Vec::new();
        let mut got_bytes = false;
        loop {
            let wait = if got_bytes {
                self.config.idle_timeout
            } else {
                self.config.first_byte_timeout
            };
            let next = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Outcome::Cancelled,
                n = tokio::time::timeout(wait, body.next()) => n,
            };
            let bytes = match next {
                Err(_) => {
                    let phase = if got_bytes {
                        TimeoutPhase::Idle
                    } else {
                        TimeoutPhase::FirstByte
                    };
                    return Outcome::Error(EngineError::Timeout { phase, after: wait });
                }
                Ok(None) => {
                    decoder.finish();
                    if answer.finish_reason.is_some() {
                        // Some servers close without [DONE] after a finish reason: the answer is complete.
                        return Outcome::Done;
                    }
                    return Outcome::Error(EngineError::Stream {
                        message: "the connection closed before the answer finished".to_owned(),
                        error_type: None,
                    });
                }
                Ok(Some(Err(e))) => {
                    return Outcome::Error(EngineError::Stream {
                        message: format!(
                            "the connection dropped in the middle of the answer: {}",
                            error_chain(&e)
                        ),
                        error_type: None,
                    })
                }
                Ok(Some(Ok(b))) => b,
            };
            got_bytes = true;
            let flow = decoder.feed_with(&bytes, &mut |ev| {
                metrics.chunks += 1;
                let control = assembler.on_event(ev, &mut deltas);
                for d in deltas.drain(..) {
                    record(&d, answer, metrics, started);
                    on_event(EngineEvent::Delta(d));
                }
                match control {
                    Ok(Control::Continue) => ControlFlow::Continue(()),
                    Ok(Control::Done) => ControlFlow::Break(Outcome::Done),
                    Err(e) => ControlFlow::Break(Outcome::Error(e)),
                }
            });
            on_event(EngineEvent::ReadEnd);
            if let ControlFlow::Break(outcome) = flow {
                return outcome;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn read_whole(
        &self,
        endpoint_kind: ProviderKind,
        response: reqwest::Response,
        cancel: &CancellationToken,
        started: Instant,
        answer: &mut Answer,
        metrics: &mut Metrics,
        on_event: &mut (dyn FnMut(EngineEvent) + Send),
    ) -> Outcome {
        let body = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Outcome::Cancelled,
            b = read_limited(response, self.config.idle_timeout, 256 * 1024 * 1024) => b,
        };
        let value: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(e) => {
                return Outcome::Error(EngineError::Stream {
                    message: format!(
                        "the response is not valid JSON ({e}): {}",
                        crate::core::error::shorten(&body, 200)
                    ),
                    error_type: None,
                })
            }
        };
        metrics.chunks = 1;
        let parsed = match endpoint_kind {
            ProviderKind::OpenaiCompatible => openai::completion_deltas(&value),
            ProviderKind::Anthropic => anthropic::message_deltas(&value),
        };
        let (deltas, outcome) = match parsed {
            Ok(d) => (d, Outcome::Done),
            Err(e) => (Vec::new(), Outcome::Error(e)),
        };
        for d in deltas {
            record(&d, answer, metrics, started);
            on_event(EngineEvent::Delta(d));
        }
        on_event(EngineEvent::ReadEnd);
        outcome
    }
}

impl Engine {
    /// Lists the endpoint's models with `GET {base}/models`. Errors say what
    /// is wrong in the user's terms: a wrong key, a base URL without `/v1`, an
    /// HTML page instead of an API, an unreachable host, TLS.
    pub async fn list_models(&self, endpoint: &Endpoint) -> Result<Vec<String>, EngineError> {
        let url = url::Url::parse(&endpoint.base_url);
        match &url {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => {
                let mut probe = endpoint.clone();
                probe.model = "-".to_owned();
                probe.check()?;
            }
        }
        let redact = |e: EngineError| match &endpoint.api_key {
            Some(k) => e.redacted(k.expose()),
            None => e,
        };
        match self.get_models(endpoint).await.map_err(redact) {
            Ok(models) => Ok(models),
            Err(e) if matches!(e.status(), Some(404)) || is_not_an_api(&e) => {
                // A base URL without /v1 is the usual mistake: say so when /v1 answers.
                if !endpoint.base_url.ends_with("/v1") {
                    let mut v1 = endpoint.clone();
                    v1.base_url = format!("{}/v1", endpoint.base_url);
                    if self.get_models(&v1).await.is_ok() {
                        return Err(EngineError::Config {
                            kind: crate::core::error::ErrorKind::NotFound,
                            message: format!(
                                "No API at {}, but there is one at {}: add /v1 to the base URL.",
                                endpoint.base_url, v1.base_url
                            ),
                        });
                    }
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn get_models(&self, endpoint: &Endpoint) -> Result<Vec<String>, EngineError> {
        let url = endpoint.models_url();
        let req = with_auth(
            self.client
                .get(&url)
                .header(reqwest::header::ACCEPT, "application/json"),
            endpoint,
        );
        let response = tokio::time::timeout(self.config.first_byte_timeout, req.send())
            .await
            .map_err(|_| EngineError::Timeout {
                phase: TimeoutPhase::FirstByte,
                after: self.config.first_byte_timeout,
            })?
            .map_err(|e| self.send_error(&url, &e))?;
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let body = tokio::time::timeout(
            self.config.idle_timeout,
            read_limited(response, self.config.idle_timeout, 8 * 1024 * 1024),
        )
        .await
        .unwrap_or_default();
        if !(200..300).contains(&status) {
            let mut message = provider_message(&body);
            if status == 401 || status == 403 {
                if let Some(hint) = endpoint
                    .api_key
                    .as_ref()
                    .and_then(|k| crate::core::secrets::key_mismatch_hint(&endpoint.base_url, k))
                {
                    message = format!("{message} {hint}");
                }
            }
            return Err(EngineError::Http {
                status,
                message,
                body,
                retry_after,
            });
        }
        parse_models(&body).ok_or_else(|| EngineError::Stream {
            message: format!(
                "{url} did not answer with a model list ({}): is the base URL right?",
                provider_message(&body)
            ),
            error_type: None,
        })
    }
}

/// A 400 whose body names `stream_options` / `include_usage`: the server does
/// not support them (a 400 for anything else is reported as it is).
fn rejects_stream_options(e: &EngineError) -> bool {
    match e {
        EngineError::Http {
            status: 400 | 422,
            body,
            ..
        } => {
            let b = body.to_ascii_lowercase();
            b.contains("stream_options") || b.contains("include_usage")
        }
        _ => false,
    }
}

fn is_not_an_api(e: &EngineError) -> bool {
    matches!(e, EngineError::Stream { message, .. } if message.contains("did not answer with a model list"))
}

/// Model ids from an OpenAI-style `{"data": [{"id"}]}` (or `{"models": [...]}`) list, sorted.
pub fn parse_models(body: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let list = v
        .get("data")
        .or_else(|| v.get("models"))
        .unwrap_or(&v)
        .as_array()?;
    let mut ids: Vec<String> = list
        .iter()
        .filter_map(|m| {
            m.as_str()
                .or_else(|| m.get("id").and_then(serde_json::Value::as_str))
                .or_else(|| m.get("name").and_then(serde_json::Value::as_str))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    Some(ids)
}

fn with_auth(mut req: reqwest::RequestBuilder, endpoint: &Endpoint) -> reqwest::RequestBuilder {
    for (k, v) in &endpoint.extra_headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match endpoint.kind {
        ProviderKind::OpenaiCompatible => {
            if let Some(key) = &endpoint.api_key {
                req = req.bearer_auth(key.expose());
            }
        }
        ProviderKind::Anthropic => {
            req = req.header("anthropic-version", anthropic::API_VERSION);
            if let Some(key) = &endpoint.api_key {
                req = req.header("x-api-key", key.expose());
            }
        }
    }
    req
}

/// The protocol's event assembler.
enum Assembler {
    OpenAi(ChunkAssembler),
    Anthropic(anthropic::EventAssembler),
}

impl Assembler {
    fn new(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::OpenaiCompatible => Self::OpenAi(ChunkAssembler::new()),
            ProviderKind::Anthropic => Self::Anthropic(anthropic::EventAssembler::new()),
        }
    }

    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Delta>) -> Result<Control, EngineError> {
        match self {
            Self::OpenAi(a) => a.on_event(ev, out),
            Self::Anthropic(a) => a.on_event(ev, out),
        }
    }
}

fn record(d: &Delta, answer: &mut Answer, metrics: &mut Metrics, started: Instant) {
    let bookkeeping = matches!(
        d,
        Delta::Usage(_) | Delta::Finish(_) | Delta::ThinkingStart { .. } | Delta::Signature(_)
    );
    if metrics.ttft_ms.is_none() && !bookkeeping {
        metrics.ttft_ms = Some(ms(started.elapsed()));
    }
    answer.apply(d);
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Reads up to `limit` bytes of a body as text, giving up after `idle` of silence.
async fn read_limited(response: reqwest::Response, idle: Duration, limit: usize) -> String {
    let mut body = response.bytes_stream();
    let mut buf = Vec::new();
    while buf.len() < limit {
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(b))) => buf.extend_from_slice(&b),
            _ => break,
        }
    }
    buf.truncate(limit);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Parses `retry-after-ms`, or `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(
    headers: &reqwest::header::HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        // Capped at a day: a silly value must not overflow a Duration.
        return Some(Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0));
    }
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An error and its causes on one line, e.g. "error sending request: connection refused".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&date).expect("header"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
    }

    #[test]
    fn regression_huge_retry_after_does_not_panic() {
        let now = SystemTime::UNIX_EPOCH;
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", HeaderValue::from_static("1e30"));
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_secs(86_400))
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1e300"));
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn retry_delay_is_capped_and_jittered() {
        let engine = Engine::new(EngineConfig::default()).expect("engine");
        assert_eq!(
            engine.retry_delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        for retry in 1..=2 {
            let d = engine.retry_delay(retry, None);
            let step = Duration::from_secs(1 << (retry - 1));
            assert!(d >= step / 2 && d <= step, "{d:?}");
        }
    }
}
