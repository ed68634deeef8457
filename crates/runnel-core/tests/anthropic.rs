//! Anthropic Messages against the loopback server: the request's shape,
//! thinking signatures sent back on the next turn, and the errors.

use runnel_testsupport as common;

use common::{End, Reply, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome, StreamResult};
use runnel_core::store::Store;
use runnel_core::turn::{self, SendKind, SendSettings};
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::error::ErrorKind;
use runnel_core::types::key::ApiKey;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn engine() -> Engine {
    Engine::new(EngineConfig {
        backoff_base: Duration::from_millis(10),
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn endpoint(server: &TestServer) -> Endpoint {
    let mut e = Endpoint::anthropic(
        &format!("http://{}", server.addr),
        "claude-test",
        Some(ApiKey::new("sk-ant-secret")),
        "ANTHROPIC_API_KEY",
    );
    e.max_tokens = 1000;
    e
}

fn event(name: &str, data: serde_json::Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// A thinking + text answer with a signature.
fn thinking_stream(thought: &str, signature: &str, text: &str) -> String {
    let mut s = String::new();
    s += &event(
        "message_start",
        serde_json::json!({"type": "message_start", "message": {"usage": {"input_tokens": 12, "output_tokens": 1}}}),
    );
    s += &event(
        "content_block_start",
        serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    );
    s += &event(
        "content_block_delta",
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": thought}}),
    );
    s += &event(
        "content_block_delta",
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": signature}}),
    );
    s += &event(
        "content_block_stop",
        serde_json::json!({"type": "content_block_stop", "index": 0}),
    );
    s += &event(
        "content_block_start",
        serde_json::json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    );
    s += &event(
        "content_block_delta",
        serde_json::json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": text}}),
    );
    s += &event(
        "message_delta",
        serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 30}}),
    );
    s += &event("message_stop", serde_json::json!({"type": "message_stop"}));
    s
}

async fn chat(server: &TestServer, messages: &[ChatMessage]) -> StreamResult {
    engine()
        .chat(
            &endpoint(server),
            messages,
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await
}

#[tokio::test]
async fn request_has_headers_system_field_alternating_roles_and_max_tokens() {
    let server = TestServer::always(Reply::sse(thinking_stream("Hmm.", "sig-a", "Hello!"))).await;
    let msgs = vec![
        ChatMessage::new(Role::System, "Be brief."),
        ChatMessage::new(Role::User, "Hi"),
        ChatMessage::new(Role::User, "Anyone there?"),
    ];
    let r = chat(&server, &msgs).await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "Hello!");
    assert_eq!(r.answer.reasoning.as_deref(), Some("Hmm."));
    assert_eq!(r.answer.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        r.answer.usage.map(|u| (u.input_tokens, u.output_tokens)),
        Some((12, 30))
    );
    let req = &server.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(req.header("x-api-key"), Some("sk-ant-secret"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    let body = req.json();
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 1000);
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "claude-test");
    assert!(body.get("thinking").is_none());
    assert!(body.get("stream_options").is_none());
    let m = body["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 1, "two user turns merged into one");
    assert_eq!(m[0]["role"], "user");
    assert_eq!(m[0]["content"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn thinking_is_requested_and_its_signature_is_sent_back_on_the_next_turn() {
    let server = TestServer::start(|_, n| {
        if n == 0 {
            Reply::sse(thinking_stream(
                "Think about Paris.",
                "sig-paris-1",
                "It is sunny.",
            ))
        } else {
            Reply::sse(thinking_stream("Follow up.", "sig-2", "Yes."))
        }
    })
    .await;
    let dir = runnel_testsupport::temp::TempDir::new("anthropic");
    let store = Arc::new(Store::open(&dir.join("runnel.sqlite3")).expect("store"));
    let mut ep = endpoint(&server);
    ep.thinking_budget = Some(2048);
    let settings = SendSettings {
        sampling: Default::default(),
        provider: Some("anthropic".into()),
        model: Some("claude-test".into()),
        system_prompt: "Be brief.".into(),
        thinking_budget: Some(2048),
    };
    let conv = runnel_core::store::new_id();
    let engine = engine();
    for text in ["Weather in Paris?", "Sure?"] {
        let p = turn::prepare(
            &store,
            &conv,
            &settings,
            &SendKind::New { text: text.into() },
        )
        .expect("prepare");
        let mut first_delta = None;
        let r = turn::stream(
            &engine,
            &store,
            &p,
            &ep,
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |ev| {
                if let EngineEvent::Delta(d) = ev {
                    if !matches!(d, runnel_core::types::answer::Delta::Usage(_)) {
                        first_delta.get_or_insert(d);
                    }
                }
            },
        )
        .await;
        assert!(
            matches!(
                first_delta,
                Some(runnel_core::types::answer::Delta::ThinkingStart { .. })
            ),
            "thinking comes first: {first_delta:?}"
        );
        assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    }
    let first = server.requests()[0].json();
    assert_eq!(
        first["thinking"],
        serde_json::json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert!(
        first["max_tokens"].as_u64().expect("max_tokens") > 2048,
        "max_tokens above the budget"
    );
    let second = server.requests()[1].json();
    let m = second["messages"].as_array().expect("messages");
    let roles: Vec<&str> = m.iter().map(|x| x["role"].as_str().unwrap_or("")).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(
        m[1]["content"][0],
        serde_json::json!({"type": "thinking", "thinking": "Think about Paris.", "signature": "sig-paris-1"}),
        "the thinking block goes back with its signature"
    );
    assert_eq!(
        m[1]["content"][1],
        serde_json::json!({"type": "text", "text": "It is sunny."})
    );
}

#[tokio::test]
async fn regression_thinking_blocks_are_left_out_after_a_model_switch() {
    let server = TestServer::always(Reply::sse(thinking_stream("Hmm.", "sig-old", "Done."))).await;
    let dir = runnel_testsupport::temp::TempDir::new("anthropic-switch");
    let store = Arc::new(Store::open(&dir.join("runnel.sqlite3")).expect("store"));
    let settings = SendSettings {
        sampling: Default::default(),
        provider: Some("anthropic".into()),
        thinking_budget: Some(2048),
        ..SendSettings::default()
    };
    let conv = runnel_core::store::new_id();
    let engine = engine();
    for (text, model) in [
        ("First?", "claude-a"),
        ("Second?", "claude-b"),
        ("Third?", "claude-b"),
    ] {
        let mut ep = endpoint(&server);
        ep.model = model.into();
        ep.thinking_budget = Some(2048);
        let p = turn::prepare(
            &store,
            &conv,
            &settings,
            &SendKind::New { text: text.into() },
        )
        .expect("prepare");
        let r = turn::stream(
            &engine,
            &store,
            &p,
            &ep,
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
        assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    }
    let thinking_sent = |n: usize| {
        server.requests()[n].json()["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
            .filter(|b| b["type"] == "thinking")
            .count()
    };
    // claude-a signed the first answer: claude-b never gets its block...
    assert_eq!(
        thinking_sent(1),
        0,
        "a block signed by another model is left out"
    );
    // ...but gets back the block it signed itself.
    assert_eq!(thinking_sent(2), 1);
}

fn anthropic_error(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
}

#[tokio::test]
async fn a_401_is_auth_with_anthropics_message() {
    let server = TestServer::always(Reply::json(
        401,
        &anthropic_error("authentication_error", "invalid x-api-key"),
    ))
    .await;
    let r = chat(&server, &[ChatMessage::new(Role::User, "hi")]).await;
    let Outcome::Error(e) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("invalid x-api-key"), "{e}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_then_rate_limited() {
    let server = TestServer::always(
        Reply::json(
            429,
            &anthropic_error(
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
            ),
        )
        .with_header("retry-after", "0"),
    )
    .await;
    let r = chat(&server, &[ChatMessage::new(Role::User, "hi")]).await;
    let Outcome::Error(e) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_529_is_retried_before_the_first_token() {
    let server = TestServer::start(|_, n| {
        if n == 0 {
            Reply::json(529, &anthropic_error("overloaded_error", "Overloaded"))
        } else {
            Reply::sse(thinking_stream("ok", "s", "Recovered."))
        }
    })
    .await;
    let r = chat(&server, &[ChatMessage::new(Role::User, "hi")]).await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "Recovered.");
    // Always 529: overloaded after the retries.
    let server = TestServer::always(Reply::json(
        529,
        &anthropic_error("overloaded_error", "Overloaded"),
    ))
    .await;
    let r = chat(&server, &[ChatMessage::new(Role::User, "hi")]).await;
    let Outcome::Error(e) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn an_in_stream_overloaded_error_keeps_the_text_so_far() {
    let mut body = String::new();
    body += &event(
        "message_start",
        serde_json::json!({"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}}),
    );
    body += &event(
        "content_block_start",
        serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    body += &event(
        "content_block_delta",
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Partial"}}),
    );
    body += &event("error", anthropic_error("overloaded_error", "Overloaded"));
    let server = TestServer::always(Reply::sse_pieces(
        vec![(Duration::ZERO, body.into_bytes())],
        End::Hang,
    ))
    .await;
    let r = chat(&server, &[ChatMessage::new(Role::User, "hi")]).await;
    let Outcome::Error(e) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.to_string(), "Overloaded");
    assert_eq!(r.answer.text, "Partial");
}

#[tokio::test]
async fn the_model_list_comes_from_v1_models_with_the_anthropic_headers() {
    let server = TestServer::always(common::models_reply(&["claude-b", "claude-a"])).await;
    let models = engine()
        .list_models(&endpoint(&server))
        .await
        .expect("models");
    assert_eq!(models, ["claude-a", "claude-b"]);
    let req = &server.requests()[0];
    assert_eq!(
        req.path, "/v1/models?limit=1000",
        "one page of up to 1000 models"
    );
    assert_eq!(req.header("x-api-key"), Some("sk-ant-secret"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
}
