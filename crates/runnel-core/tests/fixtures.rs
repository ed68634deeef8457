//! The recorded provider streams in ../shared/fixtures/sse:
//! - every file decodes to the same SSE events whole, byte by byte, and cut at
//!   random places;
//! - every OpenAI-compatible file, served over loopback HTTP (whole, and in
//!   1-byte and odd-sized pieces), goes through the whole engine and
//!   reassembles exactly to its `.expected.json`.

use runnel_testsupport as common;

use common::{End, Reply, TestServer};
use proptest::prelude::*;
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, Outcome, StreamResult};
use runnel_core::protocol::sse::{decode_all, decode_pieces};
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::key::ApiKey;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use common::fixture_streams as fixtures;

fn is_openai_compatible(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with("anthropic_") && !name.starts_with("gemini_native_")
}

#[test]
fn every_fixture_decodes_the_same_split_at_every_byte() {
    let Some(dir) = common::shared_fixtures() else {
        return;
    };
    for path in fixtures(&dir) {
        let bytes = std::fs::read(&path).expect("read");
        let whole = decode_all(&bytes);
        assert!(!whole.is_empty(), "{}: no events", path.display());
        // 1-byte pieces split the stream at every byte boundary at once,
        // including inside every multi-byte UTF-8 character and every CRLF.
        let ones: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(
            decode_pieces(&ones),
            whole,
            "{}: 1-byte pieces",
            path.display()
        );
        for size in [2, 3, 5, 7, 64, 1000] {
            let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
            assert_eq!(
                decode_pieces(&pieces),
                whole,
                "{}: {size}-byte pieces",
                path.display()
            );
        }
    }
}

#[test]
fn fixture_framing_facts_hold() {
    let Some(dir) = common::shared_fixtures() else {
        return;
    };
    for path in fixtures(&dir) {
        let expected: Value = serde_json::from_slice(
            &std::fs::read(path.with_extension("expected.json")).expect("expected"),
        )
        .expect("json");
        let events = decode_all(&std::fs::read(&path).expect("read"));
        let extra = &expected["extra"];
        if let Some(n) = extra.get("data_events").and_then(Value::as_u64) {
            assert_eq!(events.len() as u64, n, "{}: data events", path.display());
        }
        if extra
            .get("multi_line_data_events")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            > 0
        {
            assert!(
                events.iter().any(|e| e.data.contains('\n')),
                "{}: multi-line data",
                path.display()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn fixtures_split_at_random_places_decode_the_same(
        which in 0usize..31,
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 1..12),
    ) {
        let Some(dir) = common::shared_fixtures() else { return Ok(()) };
        let files = fixtures(&dir);
        let bytes = std::fs::read(&files[which % files.len()]).expect("read");
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        at.sort_unstable();
        let mut pieces = Vec::new();
        let mut prev = 0;
        for c in at {
            pieces.push(&bytes[prev..c]);
            prev = c;
        }
        pieces.push(&bytes[prev..]);
        prop_assert_eq!(decode_pieces(&pieces), decode_all(&bytes));
    }
}

fn engine() -> Engine {
    Engine::new(EngineConfig {
        first_byte_timeout: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(20),
        max_retries: 0,
        ..EngineConfig::default()
    })
    .expect("engine")
}

async fn run_through_engine(server: &TestServer) -> StreamResult {
    run_with(server, false).await
}

async fn run_with(server: &TestServer, anthropic: bool) -> StreamResult {
    let endpoint = if anthropic {
        Endpoint::anthropic(
            &format!("http://{}", server.addr),
            "claude-test",
            Some(ApiKey::new("sk-ant-test")),
            "ANTHROPIC_API_KEY",
        )
    } else {
        Endpoint::new(
            &server.base_url(),
            "test-model",
            Some(ApiKey::new("sk-test")),
            "OPENAI_API_KEY",
        )
    };
    let messages = vec![ChatMessage::new(Role::User, "hi")];
    let mut deltas = 0usize;
    let r = engine()
        .chat(
            &endpoint,
            &messages,
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |_| deltas += 1,
        )
        .await;
    r
}

fn check(name: &str, how: &str, r: &StreamResult, expected: &Value) {
    let ctx = format!("{name} ({how})");
    assert_eq!(
        r.answer.text,
        expected["text"].as_str().expect("text"),
        "{ctx}: text"
    );
    assert_eq!(
        r.answer.reasoning.as_deref(),
        expected["reasoning"].as_str(),
        "{ctx}: reasoning"
    );
    assert_eq!(
        r.answer.refusal.as_deref(),
        expected["refusal"].as_str(),
        "{ctx}: refusal"
    );
    assert_eq!(
        r.answer.finish_reason.as_deref(),
        expected["finish_reason"].as_str(),
        "{ctx}: finish_reason"
    );
    let calls: Vec<Value> = r
        .answer
        .tool_calls
        .iter()
        .map(|c| serde_json::json!({"id": c.id, "name": c.name, "arguments": c.arguments}))
        .collect();
    assert_eq!(
        Value::Array(calls),
        expected["tool_calls"],
        "{ctx}: tool_calls"
    );
    let usage = r
        .answer
        .usage
        .map(|u| serde_json::json!({"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}))
        .unwrap_or(Value::Null);
    assert_eq!(usage, expected["usage"], "{ctx}: usage");
    match (&r.outcome, expected["error"].as_str()) {
        (Outcome::Error(e), Some(msg)) => {
            assert_eq!(e.to_string(), msg, "{ctx}: error message");
            let overloaded = expected["extra"]["error_type"] == "overloaded_error";
            let kind = if overloaded { "overloaded" } else { "stream" };
            assert_eq!(e.kind().as_str(), kind, "{ctx}: error kind");
        }
        (Outcome::Done, None) => {}
        (other, exp) => panic!("{ctx}: outcome {other:?}, expected error {exp:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_compatible_fixtures_reassemble_exactly_over_http() {
    let Some(dir) = common::shared_fixtures() else {
        return;
    };
    let mut checked = 0;
    for path in fixtures(&dir)
        .into_iter()
        .filter(|p| is_openai_compatible(p))
    {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        let bytes = std::fs::read(&path).expect("read");
        let expected: Value = serde_json::from_slice(
            &std::fs::read(path.with_extension("expected.json")).expect("expected"),
        )
        .expect("json");

        let whole = TestServer::always(Reply::sse(bytes.clone())).await;
        check(&name, "whole", &run_through_engine(&whole).await, &expected);
        let req = &whole.requests()[0];
        assert_eq!(req.path, "/v1/chat/completions");
        assert_eq!(req.header("authorization"), Some("Bearer sk-test"));

        for size in [1usize, 7] {
            let pieces = bytes
                .chunks(size)
                .map(|c| (Duration::ZERO, c.to_vec()))
                .collect();
            let split = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
            check(
                &name,
                &format!("{size}-byte pieces"),
                &run_through_engine(&split).await,
                &expected,
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 23, "all OpenAI-compatible fixtures were checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_fixtures_reassemble_exactly_over_http() {
    let Some(dir) = common::shared_fixtures() else {
        return;
    };
    let mut checked = 0;
    for path in fixtures(&dir).into_iter().filter(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("anthropic_"))
    }) {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        let bytes = std::fs::read(&path).expect("read");
        let expected: Value = serde_json::from_slice(
            &std::fs::read(path.with_extension("expected.json")).expect("expected"),
        )
        .expect("json");
        let whole = TestServer::always(Reply::sse(bytes.clone())).await;
        let r = run_with(&whole, true).await;
        check(&name, "whole", &r, &expected);
        let req = &whole.requests()[0];
        assert_eq!(req.path, "/v1/messages");
        assert_eq!(req.header("x-api-key"), Some("sk-ant-test"));
        assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(
            req.header("authorization"),
            None,
            "no bearer token for Anthropic"
        );
        // Thinking signatures are kept for the next turn.
        if let Some(sigs) = expected["extra"]["thinking_signatures"].as_array() {
            let got: Vec<&str> = r
                .answer
                .thinking_blocks
                .iter()
                .map(|b| b.signature.as_str())
                .collect();
            let want: Vec<&str> = sigs.iter().filter_map(Value::as_str).collect();
            assert_eq!(got, want, "{name}: signatures");
        }
        let pieces = bytes
            .chunks(1)
            .map(|c| (Duration::ZERO, c.to_vec()))
            .collect();
        let split = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
        check(
            &name,
            "1-byte pieces",
            &run_with(&split, true).await,
            &expected,
        );
        checked += 1;
    }
    assert_eq!(checked, 7, "all anthropic fixtures were checked");
}
