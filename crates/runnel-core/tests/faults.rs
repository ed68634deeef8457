//! The engine against a loopback fault server: error statuses with OpenAI's error
//! JSON and with plain text, retries, a dropped connection, stalls, garbage,
//! cancel. Each must end in the right single terminal state and keep the text.

use runnel_testsupport as common;

use common::{answer_stream, content_event, End, Reply, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome, StreamResult};
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::error::{ErrorKind, TimeoutPhase};
use runnel_core::types::key::ApiKey;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn config() -> EngineConfig {
    EngineConfig {
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(10),
        max_retries: 2,
        backoff_base: Duration::from_millis(20),
        max_retry_wait: Duration::from_secs(60),
        answer_deadline: None,
        proxy: Default::default(),
    }
}

fn endpoint(server: &TestServer) -> Endpoint {
    Endpoint::new(
        &server.base_url(),
        "test-model",
        Some(ApiKey::new("sk-test-key")),
        "OPENAI_API_KEY",
    )
}

fn user(text: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(Role::System, "Be brief."),
        ChatMessage::new(Role::User, text),
    ]
}

async fn chat_with(engine: &Engine, server: &TestServer) -> (StreamResult, Vec<EngineEvent>) {
    let mut events = Vec::new();
    let r = engine
        .chat(
            &endpoint(server),
            &user("hi"),
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |e| events.push(e),
        )
        .await;
    (r, events)
}

async fn chat(server: &TestServer) -> (StreamResult, Vec<EngineEvent>) {
    chat_with(&Engine::new(config()).expect("engine"), server).await
}

fn error_of(r: &StreamResult) -> &runnel_core::types::error::EngineError {
    match &r.outcome {
        Outcome::Error(e) => e,
        o => panic!("expected an error, got {o:?}"),
    }
}

fn openai_error(message: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

#[tokio::test]
async fn request_carries_model_messages_stream_options_and_key() {
    let server = TestServer::always(Reply::sse(answer_stream(&["Hello", " there"]))).await;
    let (r, _) = chat(&server).await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "Hello there");
    assert_eq!(r.answer.finish_reason.as_deref(), Some("stop"));
    assert!(!r.usage_estimated);
    assert!(r.metrics.ttft_ms.is_some());
    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test-key"));
    let body = req.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["messages"][0],
        serde_json::json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        body["messages"][1],
        serde_json::json!({"role": "user", "content": "hi"})
    );
}

#[tokio::test]
async fn status_401_with_openai_json_is_auth_and_not_retried() {
    let server = TestServer::always(Reply::json(
        401,
        &openai_error(
            "Incorrect API key provided: sk-te***key.",
            "invalid_request_error",
        ),
    ))
    .await;
    let (r, events) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("Incorrect API key provided"), "{e}");
    assert_eq!(server.requests().len(), 1);
    assert!(!events
        .iter()
        .any(|e| matches!(e, EngineEvent::Retrying { .. })));
    assert!(r.answer.is_empty());
}

#[tokio::test]
async fn status_401_with_plain_text() {
    let server = TestServer::always(Reply::text(401, "Unauthorized\n")).await;
    let (r, _) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("Unauthorized"), "{e}");
}

#[tokio::test]
async fn status_404_is_not_found_with_json_and_plain_text() {
    for reply in [
        Reply::json(
            404,
            &openai_error("The model `nope` does not exist", "invalid_request_error"),
        ),
        Reply::text(404, "404 page not found"),
    ] {
        let server = TestServer::always(reply).await;
        let (r, _) = chat(&server).await;
        let e = error_of(&r);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.to_string()
                .contains("check the model name and the base URL"),
            "{e}"
        );
        assert_eq!(server.requests().len(), 1, "404 is not retried");
    }
}

#[tokio::test]
async fn status_429_is_retried_twice_honouring_retry_after_then_reported() {
    let server = TestServer::always(
        Reply::json(
            429,
            &openai_error("Rate limit reached for gpt-4o-mini", "requests"),
        )
        .with_header("Retry-After", "0"),
    )
    .await;
    let (r, events) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    assert!(e.to_string().contains("Rate limit reached"), "{e}");
    assert_eq!(server.requests().len(), 3, "one request and two retries");
    let delays: Vec<Duration> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Retrying { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        vec![Duration::ZERO, Duration::ZERO],
        "Retry-After: 0 is honoured"
    );
}

#[tokio::test]
async fn retry_after_seconds_sets_the_wait_and_plain_text_429() {
    let server = TestServer::start(|_, n| {
        if n == 0 {
            Reply::text(429, "slow down").with_header("Retry-After", "1")
        } else {
            Reply::sse(answer_stream(&["ok"]))
        }
    })
    .await;
    let started = Instant::now();
    let (r, events) = chat(&server).await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "ok");
    match &events[0] {
        EngineEvent::Retrying {
            attempt,
            max,
            delay,
            reason,
        } => {
            assert_eq!((*attempt, *max), (1, 2));
            assert_eq!(*delay, Duration::from_secs(1));
            assert!(
                reason.contains("429") && reason.contains("slow down"),
                "{reason}"
            );
        }
        other => panic!("expected a retry notice first, got {other:?}"),
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

#[tokio::test]
async fn status_500_json_and_plain_are_retried_then_server_error() {
    for reply in [
        Reply::json(
            500,
            &openai_error("The server had an error", "server_error"),
        ),
        Reply::text(500, "boom"),
    ] {
        let server = TestServer::always(reply).await;
        let (r, _) = chat(&server).await;
        assert_eq!(error_of(&r).kind(), ErrorKind::Server);
        assert_eq!(server.requests().len(), 3);
    }
}

#[tokio::test]
async fn a_503_before_the_answer_is_retried_and_succeeds() {
    let server = TestServer::start(|_, n| {
        if n < 2 {
            Reply::text(503, "unavailable")
        } else {
            Reply::sse(answer_stream(&["fine"]))
        }
    })
    .await;
    let (r, _) = chat(&server).await;
    assert!(matches!(r.outcome, Outcome::Done));
    assert_eq!(r.answer.text, "fine");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_400_for_stream_options_is_asked_again_without_and_remembered() {
    let server = TestServer::start(|req, _| {
        if req.json().get("stream_options").is_some() {
            Reply::json(
                400,
                &openai_error(
                    "Unrecognized request argument supplied: stream_options",
                    "invalid_request_error",
                ),
            )
        } else {
            Reply::sse(answer_stream(&["no", " usage"]))
        }
    })
    .await;
    let engine = Engine::new(config()).expect("engine");
    let (r, _) = chat_with(&engine, &server).await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "no usage");
    assert_eq!(server.requests().len(), 2);
    assert!(engine.skips_stream_options(&endpoint(&server)));
    let (r2, _) = chat_with(&engine, &server).await;
    assert!(matches!(r2.outcome, Outcome::Done));
    assert_eq!(
        server.requests().len(),
        3,
        "the second send goes without stream_options at once"
    );
}

#[tokio::test]
async fn a_400_for_context_length_keeps_the_providers_message() {
    let msg = "This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.";
    let server = TestServer::always(Reply::json(
        400,
        &openai_error(msg, "invalid_request_error"),
    ))
    .await;
    let engine = Engine::new(config()).expect("engine");
    let (r, _) = chat_with(&engine, &server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert!(e.to_string().contains(msg), "{e}");
    assert!(
        !engine.skips_stream_options(&endpoint(&server)),
        "a real 400 is not blamed on stream_options"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "a 400 that does not name stream_options is not sent again"
    );
}

#[tokio::test]
async fn connection_dropped_mid_stream_keeps_the_partial_text() {
    let pieces = vec![
        (Duration::ZERO, content_event("Once")),
        (Duration::from_millis(20), content_event(" upon")),
    ];
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Drop)).await;
    let (r, _) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Stream);
    assert!(
        e.to_string().contains("dropped") || e.to_string().contains("closed"),
        "{e}"
    );
    assert_eq!(r.answer.text, "Once upon");
    assert_eq!(
        server.requests().len(),
        1,
        "never retried after the answer started"
    );
}

#[tokio::test]
async fn a_stall_past_the_idle_timeout_is_a_timeout_keeping_text() {
    let server = TestServer::always(Reply::sse_pieces(
        vec![(Duration::ZERO, content_event("partial"))],
        End::Hang,
    ))
    .await;
    let engine = Engine::new(EngineConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    })
    .expect("engine");
    let (r, _) = chat_with(&engine, &server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(matches!(
        e,
        runnel_core::types::error::EngineError::Timeout {
            phase: TimeoutPhase::Idle,
            ..
        }
    ));
    assert_eq!(r.answer.text, "partial");
    assert!(
        server
            .wait_client_closed(Duration::from_secs(5))
            .await
            .is_some(),
        "the stalled connection is closed"
    );
}

#[tokio::test]
async fn no_headers_within_the_first_byte_timeout() {
    let server = TestServer::always(Reply::Silence).await;
    let engine = Engine::new(EngineConfig {
        first_byte_timeout: Duration::from_millis(300),
        ..config()
    })
    .expect("engine");
    let (r, _) = chat_with(&engine, &server).await;
    assert_eq!(error_of(&r).kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_garbage_line_is_a_stream_error_keeping_text() {
    let mut body = content_event("Good");
    body.extend_from_slice(b"data: {this is not json\n\n");
    body.extend(content_event(" never"));
    let server = TestServer::always(Reply::sse(body)).await;
    let (r, _) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Stream);
    assert!(e.to_string().contains("malformed chunk"), "{e}");
    assert_eq!(r.answer.text, "Good");
}

#[tokio::test]
async fn an_in_stream_error_object_ends_the_stream() {
    let mut body = content_event("Half");
    body.extend_from_slice(b"data: {\"error\": {\"message\": \"upstream overloaded\", \"type\": \"server_error\"}}\n\n");
    let server = TestServer::always(Reply::sse(body)).await;
    let (r, _) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Stream);
    assert_eq!(e.to_string(), "upstream overloaded");
    assert_eq!(r.answer.text, "Half");
}

#[tokio::test]
async fn connection_refused_is_a_network_error_after_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let ep = Endpoint::new(
        &format!("http://127.0.0.1:{port}/v1"),
        "m",
        None,
        "OPENAI_API_KEY",
    );
    let mut retries = 0;
    let r = Engine::new(config())
        .expect("engine")
        .chat(
            &ep,
            &user("hi"),
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |e| {
                if matches!(e, EngineEvent::Retrying { .. }) {
                    retries += 1;
                }
            },
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    assert_eq!(retries, 2, "connection errors are retried");
}

#[tokio::test]
async fn a_remote_base_url_without_a_key_says_how_to_set_one() {
    let ep = Endpoint::new("https://api.openai.com/v1", "m", None, "OPENAI_API_KEY");
    let r = Engine::new(config())
        .expect("engine")
        .chat(
            &ep,
            &user("hi"),
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("OPENAI_API_KEY"), "{e}");
}

#[tokio::test]
async fn cancel_keeps_the_partial_text_and_closes_the_connection() {
    let pieces: Vec<_> = (0..500)
        .map(|i| (Duration::from_millis(10), content_event(&format!("w{i} "))))
        .collect();
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut seen = 0usize;
    let mut cancelled_at = None;
    let r = Engine::new(config())
        .expect("engine")
        .chat(
            &endpoint(&server),
            &user("hi"),
            ChatOptions::default(),
            &cancel,
            &mut |e| {
                if matches!(e, EngineEvent::Delta(_)) {
                    seen += 1;
                    if seen == 5 && cancelled_at.is_none() {
                        cancelled_at = Some(Instant::now());
                        trigger.cancel();
                    }
                }
            },
        )
        .await;
    assert!(matches!(r.outcome, Outcome::Cancelled), "{:?}", r.outcome);
    assert!(
        r.answer.text.starts_with("w0 w1 w2 w3 w4 "),
        "{}",
        r.answer.text
    );
    let closed = server
        .wait_client_closed(Duration::from_secs(5))
        .await
        .expect("server saw the connection close");
    let latency = closed.saturating_duration_since(cancelled_at.expect("cancelled"));
    eprintln!(
        "cancel -> server saw close: {:.1} ms",
        latency.as_secs_f64() * 1000.0
    );
}

#[tokio::test]
async fn non_streaming_mode_reads_one_completion() {
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Whole answer"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2}
    });
    let server = TestServer::always(Reply::json(200, &body)).await;
    let r = Engine::new(config())
        .expect("engine")
        .chat(
            &endpoint(&server),
            &user("hi"),
            ChatOptions {
                stream: false,
                ..ChatOptions::default()
            },
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "Whole answer");
    assert_eq!(r.answer.usage.map(|u| u.output_tokens), Some(2));
    assert_eq!(server.requests()[0].json()["stream"], false);
}

#[tokio::test]
async fn regression_a_200_html_page_is_named_not_an_empty_stream() {
    let server = TestServer::always(Reply::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: b"<!doctype html><html><body>Welcome to the web UI</body></html>".to_vec(),
    })
    .await;
    let (r, _) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("HTML page"), "{e}");
}

#[tokio::test]
async fn an_html_page_from_a_wrong_base_url_is_named() {
    let server = TestServer::always(Reply::Full {
        status: 404,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><body>Not here</body></html>".to_vec(),
    })
    .await;
    let (r, _) = chat(&server).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("HTML page"), "{e}");
}
