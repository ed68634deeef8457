//! One run of a chat request: connect (with retries before the answer
//! starts), then read the answer as a stream or as one body. A private
//! per-run struct holds what every step needs, so no step takes a long
//! argument list.

use super::http::{
    json_value_count, parse_retry_after, read_limited, ERROR_BODY_LIMIT, WHOLE_BODY_LIMIT,
    WHOLE_BODY_VALUES,
};
use super::trace::{redacted_headers, TraceLine, TraceRecorder};
use super::{ms, ChatOptions, Engine, EngineEvent, Metrics, Outcome, MAX_ANSWER_BYTES};
use crate::engine::endpoint::Endpoint;
use crate::protocol::sse::SseDecoder;
use crate::protocol::{ChatRequest, Control, Protocol, StreamAssembler};
use crate::types::answer::{Answer, Delta};
use crate::types::chat::ChatMessage;
use crate::types::error::{
    error_chain, provider_message, shorten, EngineError, ErrorKind, TimeoutPhase,
};
use futures_util::StreamExt;
use std::ops::ControlFlow;
use std::time::{Instant, SystemTime};
use tokio_util::sync::CancellationToken;

/// What one try of the request came to.
enum Attempt {
    Response(reqwest::Response),
    Retry(EngineError),
    Fail(EngineError),
    Cancelled,
}

/// Added to a rejected request's error when images went with it.
pub const IMAGE_HINT: &str =
    " (this model may not take images: pick one that does, or send the text alone; the message is kept)";

/// What a run sends, and with what: shared, read-only parts.
#[derive(Clone, Copy)]
pub(super) struct Ask<'a> {
    pub(super) engine: &'a Engine,
    /// Where and how to connect.
    pub(super) endpoint: &'a Endpoint,
    /// What to ask.
    pub(super) messages: &'a [ChatMessage],
    pub(super) options: &'a ChatOptions,
    pub(super) cancel: &'a CancellationToken,
}

/// One chat request from send to terminal state.
pub(super) struct Run<'a> {
    pub(super) ask: Ask<'a>,
    pub(super) started: Instant,
    pub(super) answer: Answer,
    pub(super) metrics: Metrics,
    pub(super) on_event: &'a mut (dyn FnMut(EngineEvent) + Send),
    /// Records the exchange, when asked for.
    pub(super) trace: Option<TraceRecorder>,
}

impl Ask<'_> {
    fn protocol(&self) -> &'static dyn Protocol {
        self.endpoint.kind.protocol()
    }

    /// The error with the endpoint's key and secret headers replaced by
    /// `<redacted>`: done where an error is made, so no path (a retry
    /// notice, a log line, the window, the store) ever sees the secret.
    pub(super) fn redact(&self, e: EngineError) -> EngineError {
        self.endpoint.redact(e)
    }

    /// The secrets a trace must not show: the key and secret header values.
    fn secrets(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self.endpoint.api_key.iter().map(|k| k.expose()).collect();
        s.extend(
            self.endpoint
                .extra_headers
                .iter()
                .filter(|(k, _)| crate::types::key::is_secret_header(k))
                .map(|(_, v)| v.as_str()),
        );
        s
    }

    /// Sends the request once; `trace` records it and its response.
    async fn attempt(&self, include_usage: bool, trace: &mut Option<TraceRecorder>) -> Attempt {
        let config = &self.engine.config;
        let endpoint = self.endpoint;
        let url = endpoint.chat_url();
        let body = self.protocol().request_body(&ChatRequest {
            model: &endpoint.model,
            messages: self.messages,
            stream: self.options.stream,
            include_usage,
            max_tokens: endpoint.max_tokens,
            thinking_budget: endpoint.thinking_budget,
            sampling: endpoint.sampling,
            tools: &self.options.tools[..],
        });
        let accept = if self.options.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let req = self
            .engine
            .client
            .post(&url)
            .header(reqwest::header::ACCEPT, accept)
            .json(&body);
        let req = endpoint.authorize(req);
        let send = match (trace.as_mut(), req.build()) {
            (_, Err(e)) => {
                return Attempt::Fail(self.redact(self.engine.send_error(&url, &e)));
            }
            (Some(t), Ok(request)) => {
                let secrets = self.secrets();
                let t_ms = t.now_ms();
                t.push(TraceLine::Request {
                    t_ms,
                    method: request.method().to_string(),
                    url: request.url().to_string(),
                    headers: redacted_headers(request.headers(), &secrets),
                    body: request
                        .body()
                        .and_then(|b| b.as_bytes())
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default(),
                });
                self.engine.client.execute(request)
            }
            (None, Ok(request)) => self.engine.client.execute(request),
        };
        let sent = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Attempt::Cancelled,
            r = tokio::time::timeout(config.first_byte_timeout, send) => r,
        };
        let response = match sent {
            Err(_) => {
                return Attempt::Fail(EngineError::Timeout {
                    phase: TimeoutPhase::FirstByte,
                    after: config.first_byte_timeout,
                })
            }
            Ok(Err(e)) => {
                let err = self.redact(self.engine.send_error(&url, &e));
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
        let response_headers = trace
            .as_ref()
            .map(|_| redacted_headers(response.headers(), &self.secrets()));
        if response.status().is_success() {
            if let (Some(t), Some(headers)) = (trace.as_mut(), response_headers) {
                t.response(status, headers, None);
            }
            return Attempt::Response(response);
        }
        if response.status().is_redirection() {
            // Redirects are not followed: the key, the headers and the whole
            // conversation would go to wherever the server points.
            return Attempt::Fail(self.redact(redirect_error(&url, &response)));
        }
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let body = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Attempt::Cancelled,
            // An error body gets one idle period in all: a trickling server cannot hold us.
            b = tokio::time::timeout(config.idle_timeout, read_limited(response, config.idle_timeout, ERROR_BODY_LIMIT)) => {
                b.unwrap_or_default()
            }
        };
        if let (Some(t), Some(headers)) = (trace.as_mut(), response_headers) {
            t.response(status, headers, Some(body.clone()));
        }
        let mut message = provider_message(&body);
        // A server that does not take images says so in its own words, if at
        // all: the hint says what the user can do.
        if matches!(status, 400 | 413 | 415 | 422)
            && self.messages.iter().any(ChatMessage::has_images)
        {
            message.push_str(IMAGE_HINT);
        }
        let err = self.redact(EngineError::Http {
            status,
            message,
            body,
            retry_after,
        });
        if matches!(status, 408 | 409 | 429 | 500..=599) {
            Attempt::Retry(err)
        } else {
            Attempt::Fail(err)
        }
    }
}

impl Run<'_> {
    /// Connects (retrying what is safe to retry) and reads the answer.
    pub(super) async fn run(&mut self) -> Outcome {
        if let Err(e) = self.ask.endpoint.check() {
            return Outcome::Error(e);
        }
        let protocol = self.ask.protocol();
        let mut include_usage = protocol.asks_for_stream_usage()
            && self.ask.options.stream
            && !self.ask.endpoint.no_stream_options
            && !self.ask.engine.skips_stream_options(self.ask.endpoint);
        let mut dropped_usage_option = false;
        let mut retries = 0u32;
        let max_retries = self.ask.engine.config.max_retries;
        let response = loop {
            match self.ask.attempt(include_usage, &mut self.trace).await {
                Attempt::Response(r) => {
                    if dropped_usage_option {
                        self.ask
                            .engine
                            .remember_no_stream_options(self.ask.endpoint);
                    }
                    break r;
                }
                Attempt::Cancelled => return Outcome::Cancelled,
                Attempt::Fail(e) if include_usage && protocol.rejects_usage_option(&e) => {
                    // Some servers reject stream_options: ask once more without it.
                    tracing::debug!("400 with stream_options; retrying without it");
                    include_usage = false;
                    dropped_usage_option = true;
                }
                Attempt::Fail(e) => return Outcome::Error(e),
                Attempt::Retry(e) if retries < max_retries => {
                    retries += 1;
                    let delay = self.ask.engine.retry_delay(retries, e.retry_after());
                    if let Some(t) = &mut self.trace {
                        let t_ms = t.now_ms();
                        t.push(TraceLine::Retry {
                            t_ms,
                            attempt: retries,
                            delay_ms: delay.as_millis() as u64,
                            reason: e.to_string(),
                        });
                    }
                    (self.on_event)(EngineEvent::Retrying {
                        attempt: retries,
                        max: max_retries,
                        delay,
                        reason: e.to_string(),
                    });
                    tokio::select! {
                        _ = self.ask.cancel.cancelled() => return Outcome::Cancelled,
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
        if content_type.contains("text/html") {
            let idle = self.ask.engine.config.idle_timeout;
            let body = tokio::time::timeout(idle, read_limited(response, idle, ERROR_BODY_LIMIT))
                .await
                .unwrap_or_default();
            return Outcome::Error(EngineError::Config {
                kind: ErrorKind::NotFound,
                message: format!(
                    "{} answered: {}",
                    self.ask.endpoint.chat_url(),
                    provider_message(&body)
                ),
            });
        }
        if !self.ask.options.stream || content_type.contains("json") {
            return self.read_whole(response).await;
        }
        self.read_stream(response).await
    }

    /// Appends one delta to the answer, noting the time of the first token.
    fn record(&mut self, d: &Delta) {
        record(d, &mut self.answer, &mut self.metrics, self.started);
    }

    /// Reads an SSE answer until its terminal state. Before the first event
    /// any byte counts as progress (a server may send keep-alive comments
    /// while the model thinks); after it only events do, so comments alone
    /// cannot hold an answer open past the idle timeout.
    async fn read_stream(&mut self, response: reqwest::Response) -> Outcome {
        let mut assembler = self.ask.endpoint.kind.assembler();
        let outcome = self.read_events(response, &mut assembler).await;
        // Text the assembler held back (a possible `<think>` tag) is kept,
        // however the stream ended.
        let mut rest = Vec::new();
        assembler.finish(&mut rest);
        for d in rest {
            self.record(&d);
            (self.on_event)(EngineEvent::Delta(d));
        }
        outcome
    }

    async fn read_events(
        &mut self,
        response: reqwest::Response,
        assembler: &mut StreamAssembler,
    ) -> Outcome {
        let config = &self.ask.engine.config;
        let mut body = response.bytes_stream();
        let mut decoder = SseDecoder::new();
        let mut deltas: Vec<Delta> = Vec::new();
        let mut got_bytes = false;
        let mut last_progress = tokio::time::Instant::now();
        loop {
            let wait = if got_bytes {
                config.idle_timeout
            } else {
                config.first_byte_timeout
            };
            let next = tokio::select! {
                biased;
                _ = self.ask.cancel.cancelled() => return Outcome::Cancelled,
                n = tokio::time::timeout_at(last_progress + wait, body.next()) => n,
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
                    if self.answer.finish_reason.is_some() {
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
            let events_before = self.metrics.chunks;
            let (answer, metrics, started) = (&mut self.answer, &mut self.metrics, self.started);
            let on_event = &mut *self.on_event;
            // The trace keeps the read itself (shared, not copied) and its
            // time; its events are decoded from it when the trace ends.
            if let Some(t) = self.trace.as_mut() {
                let t_ms = t.now_ms();
                t.read(t_ms, bytes.clone());
            }
            let flow = decoder.feed_with(&bytes, &mut |ev| {
                metrics.chunks += 1;
                let control = assembler.on_event(ev, &mut deltas);
                for d in deltas.drain(..) {
                    record(&d, answer, metrics, started);
                    on_event(EngineEvent::Delta(d));
                }
                if answer.stored_bytes() > MAX_ANSWER_BYTES {
                    return ControlFlow::Break(Outcome::Error(EngineError::Stream {
                        message: format!(
                            "the answer passed {} MiB: stopped, the text so far is kept",
                            MAX_ANSWER_BYTES / (1024 * 1024)
                        ),
                        error_type: None,
                    }));
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
            if let Some(overflow) = decoder.overflow() {
                return Outcome::Error(EngineError::Stream {
                    message: format!("{overflow}: stopped, the text so far is kept"),
                    error_type: None,
                });
            }
            if !got_bytes || self.metrics.chunks > events_before {
                last_progress = tokio::time::Instant::now();
            }
            got_bytes = true;
        }
    }

    /// Reads a complete JSON answer (no stream).
    async fn read_whole(&mut self, response: reqwest::Response) -> Outcome {
        let body = tokio::select! {
            biased;
            _ = self.ask.cancel.cancelled() => return Outcome::Cancelled,
            b = read_limited(response, self.ask.engine.config.idle_timeout, WHOLE_BODY_LIMIT + 1) => b,
        };
        if let Some(t) = &mut self.trace {
            t.bytes(body.as_bytes());
        }
        if body.len() > WHOLE_BODY_LIMIT {
            return Outcome::Error(EngineError::Stream {
                message: format!(
                    "the response passed {} MiB: not read",
                    WHOLE_BODY_LIMIT / (1024 * 1024)
                ),
                error_type: None,
            });
        }
        if json_value_count(&body) > WHOLE_BODY_VALUES {
            return Outcome::Error(EngineError::Stream {
                message: format!(
                    "the response holds more than {WHOLE_BODY_VALUES} JSON values: not a chat answer, not read"
                ),
                error_type: None,
            });
        }
        let value: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(e) => {
                return Outcome::Error(EngineError::Stream {
                    message: format!(
                        "the response is not valid JSON ({e}): {}",
                        shorten(&body, 200)
                    ),
                    error_type: None,
                })
            }
        };
        self.metrics.chunks = 1;
        let (deltas, outcome) = match self.ask.protocol().whole_body(&value) {
            Ok(d) => (d, Outcome::Done),
            Err(e) => (Vec::new(), Outcome::Error(e)),
        };
        for d in deltas {
            self.record(&d);
            (self.on_event)(EngineEvent::Delta(d));
        }
        (self.on_event)(EngineEvent::ReadEnd);
        outcome
    }
}

/// Appends `d` to the answer; the first piece of content sets the TTFT.
pub(super) fn record(d: &Delta, answer: &mut Answer, metrics: &mut Metrics, started: Instant) {
    let bookkeeping = matches!(
        d,
        Delta::Usage(_) | Delta::Finish(_) | Delta::ThinkingStart { .. } | Delta::Signature(_)
    );
    if metrics.ttft_ms.is_none() && !bookkeeping {
        metrics.ttft_ms = Some(ms(started.elapsed()));
    }
    answer.apply(d);
}

/// A 3xx answer as a setup error that names where it pointed.
fn redirect_error(url: &str, response: &reqwest::Response) -> EngineError {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(no Location)");
    EngineError::Config {
        kind: ErrorKind::BadRequest,
        message: format!(
            "{url} redirected (HTTP {}) to {}: Runnel does not follow redirects for API calls \
             (they would carry the key and the conversation elsewhere). Set the base URL to \
             where the API really is.",
            response.status().as_u16(),
            shorten(location, 200)
        ),
    }
}
