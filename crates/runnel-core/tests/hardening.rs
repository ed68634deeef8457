//! Hostile providers: each class of attack a server can make on the engine
//! ends in one clear terminal state, keeps the text so far, bounds memory and
//! time, and never hands the key to anyone. One regression test per class.

use runnel_testsupport as common;

use common::{content_event, End, Reply, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome, StreamResult};
use runnel_core::protocol::sse::MAX_EVENT_BYTES;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::error::{EngineError, ErrorKind, TimeoutPhase};
use runnel_core::types::key::ApiKey;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-canary-7f3e9a1b2c4d";

fn config() -> EngineConfig {
    EngineConfig {
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        answer_deadline: None,
        ..EngineConfig::default()
    }
}

fn endpoint(base_url: &str) -> Endpoint {
    Endpoint::new(base_url, "m", Some(ApiKey::new(KEY)), "OPENAI_API_KEY")
}

async fn run(
    config: EngineConfig,
    endpoint: &Endpoint,
) -> (StreamResult, Vec<EngineEvent>, Duration) {
    let engine = Engine::new(config).expect("engine");
    let mut events = Vec::new();
    let started = Instant::now();
    let r = engine
        .chat(
            endpoint,
            &[ChatMessage::new(Role::User, "hi")],
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |e| events.push(e),
        )
        .await;
    (r, events, started.elapsed())
}

fn error_of(r: &StreamResult) -> &EngineError {
    match &r.outcome {
        Outcome::Error(e) => e,
        o => panic!("expected an error, got {o:?}"),
    }
}

#[tokio::test]
async fn regression_an_endless_line_ends_the_stream_keeping_the_text() {
    let mut body = content_event("kept ");
    body.extend_from_slice(b"data: ");
    body.extend(std::iter::repeat_n(b'x', MAX_EVENT_BYTES + 1024));
    let server =
        TestServer::always(Reply::sse_pieces(vec![(Duration::ZERO, body)], End::Hang)).await;
    let (r, _, _) = run(config(), &endpoint(&server.base_url())).await;
    let e = error_of(&r);
    assert_eq!(e.kind(), ErrorKind::Stream);
    assert!(e.to_string().contains("without a line break"), "{e}");
    assert_eq!(r.answer.text, "kept ");
}

#[tokio::test]
async fn regression_an_endless_event_ends_the_stream() {
    let mut body = content_event("a");
    let line = format!("data: {}\n", "y".repeat(1024 * 1024));
    for _ in 0..(MAX_EVENT_BYTES / (1024 * 1024) + 1) {
        body.extend_from_slice(line.as_bytes());
    }
    let server =
        TestServer::always(Reply::sse_pieces(vec![(Duration::ZERO, body)], End::Hang)).await;
    let (r, _, _) = run(config(), &endpoint(&server.base_url())).await;
    let e = error_of(&r);
    assert!(e.to_string().contains("event of more than"), "{e}");
    assert_eq!(r.answer.text, "a");
}

#[tokio::test]
async fn regression_keep_alive_comments_after_the_first_token_do_not_hold_the_answer_open() {
    let mut pieces = vec![(Duration::ZERO, content_event("partial"))];
    for _ in 0..100 {
        pieces.push((Duration::from_millis(50), b": keep-alive\n\n".to_vec()));
    }
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Hang)).await;
    let config = EngineConfig {
        idle_timeout: Duration::from_millis(400),
        ..config()
    };
    let (r, _, took) = run(config, &endpoint(&server.base_url())).await;
    match error_of(&r) {
        EngineError::Timeout { phase, .. } => assert_eq!(*phase, TimeoutPhase::Idle),
        e => panic!("expected an idle timeout, got {e}"),
    }
    assert_eq!(r.answer.text, "partial");
    assert!(took < Duration::from_secs(3), "ended after {took:?}");
}

#[tokio::test]
async fn regression_an_answer_deadline_ends_a_slow_answer() {
    let mut pieces = Vec::new();
    for i in 0..100 {
        pieces.push((Duration::from_millis(50), content_event(&format!("{i} "))));
    }
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Hang)).await;
    let config = EngineConfig {
        answer_deadline: Some(Duration::from_millis(500)),
        ..config()
    };
    let (r, _, took) = run(config, &endpoint(&server.base_url())).await;
    match error_of(&r) {
        EngineError::Timeout { phase, .. } => assert_eq!(*phase, TimeoutPhase::Total),
        e => panic!("expected the answer deadline, got {e}"),
    }
    assert!(r.answer.text.starts_with("0 1 "), "{}", r.answer.text);
    assert!(took < Duration::from_secs(2), "ended after {took:?}");
}

#[tokio::test]
async fn regression_an_answer_over_the_limit_ends_keeping_the_text() {
    let chunk = "z".repeat(1024 * 1024);
    let mut body = Vec::new();
    for _ in 0..(runnel_core::engine::MAX_ANSWER_BYTES / chunk.len() + 2) {
        body.extend(content_event(&chunk));
    }
    let server =
        TestServer::always(Reply::sse_pieces(vec![(Duration::ZERO, body)], End::Hang)).await;
    let (r, _, _) = run(config(), &endpoint(&server.base_url())).await;
    let e = error_of(&r);
    assert!(e.to_string().contains("the answer passed"), "{e}");
    assert!(r.answer.text.len() > runnel_core::engine::MAX_ANSWER_BYTES);
    assert!(r.answer.text.len() <= runnel_core::engine::MAX_ANSWER_BYTES + chunk.len());
}

#[tokio::test]
async fn regression_a_redirect_is_not_followed_and_carries_no_key() {
    let elsewhere = TestServer::always(Reply::sse(common::answer_stream(&["stolen"]))).await;
    let target = format!("{}/chat/completions", elsewhere.base_url());
    let server =
        TestServer::always(Reply::text(307, "moved").with_header("location", &target)).await;
    for ep in [
        endpoint(&server.base_url()),
        Endpoint::anthropic(
            &server.base_url(),
            "m",
            Some(ApiKey::new(KEY)),
            "ANTHROPIC_API_KEY",
        ),
    ] {
        let (r, _, _) = run(config(), &ep).await;
        let e = error_of(&r);
        assert!(e.to_string().contains(&target), "names the Location: {e}");
        assert!(e.to_string().contains("redirect"), "{e}");
    }
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    // Listing models does not follow one either.
    let engine = Engine::new(config()).expect("engine");
    let err = engine
        .list_models(&endpoint(&server.base_url()))
        .await
        .expect_err("a redirect is an error");
    assert!(elsewhere.requests().is_empty(), "{err}");
}

#[tokio::test]
async fn regression_a_key_echoed_in_a_retried_500_never_reaches_a_retry_notice() {
    let echo = format!("internal error for key {KEY}");
    let server = TestServer::always(Reply::text(500, &echo)).await;
    let (r, events, _) = run(config(), &endpoint(&server.base_url())).await;
    let retries: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Retrying { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2);
    for reason in retries {
        assert!(!reason.contains(KEY), "{reason}");
        assert!(reason.contains("<redacted>"), "{reason}");
    }
    let e = error_of(&r);
    assert!(!format!("{e} {e:?}").contains(KEY));
}

#[tokio::test]
async fn regression_a_whole_response_is_bounded_in_bytes_and_in_values() {
    // Over the byte limit: an error, not a truncated parse.
    let big = serde_json::json!({"choices": [{"index": 0, "message": {"content": "x".repeat(33 * 1024 * 1024)}}]});
    let server = TestServer::always(Reply::json(200, &big)).await;
    let (r, _, _) = run(config(), &endpoint(&server.base_url())).await;
    assert!(
        error_of(&r).to_string().contains("passed 32 MiB"),
        "{}",
        error_of(&r)
    );
    // Small in bytes, but millions of tiny values: refused before any tree is built.
    let many = serde_json::Value::Array(vec![serde_json::Value::from(1); 2_000_000]);
    let server = TestServer::always(Reply::json(200, &many)).await;
    let (r, _, _) = run(config(), &endpoint(&server.base_url())).await;
    assert!(
        error_of(&r).to_string().contains("JSON values"),
        "{}",
        error_of(&r)
    );
}

#[tokio::test]
async fn regression_a_key_echoed_in_a_tool_call_is_not_kept() {
    let call = serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "type": "function", "function": {"name": "leak", "arguments": format!("{{\"k\": \"{KEY}\"}}")}}]}}]});
    let mut body = content_event(&format!("your key is {KEY}"));
    body.extend(format!("data: {call}\n\n").into_bytes());
    body.extend(common::finish_events("tool_calls", 1, 1));
    let server = TestServer::always(Reply::sse(body)).await;
    let (r, _, _) = run(config(), &endpoint(&server.base_url())).await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    let kept = format!("{:?}", r.answer);
    assert!(!kept.contains(KEY), "{kept}");
    assert!(r.answer.tool_calls[0].arguments.contains("<redacted>"));
}
