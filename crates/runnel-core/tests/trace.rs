//! Traces (issue 16): what went over the wire, recorded by the engine for
//! every recorded stream in ../shared/fixtures/sse served over loopback
//! HTTP, byte for byte, with increasing times and no key; retries and error
//! bodies; a server echoing the key.

use runnel_testsupport as common;

use common::{answer_stream, content_event, End, Reply, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::trace::{Trace, TraceLine, DEFAULT_TRACE_CAP, REDACTED};
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, StreamResult};
use runnel_core::protocol::sse::decode_all;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::key::ApiKey;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-canary-7f3a9c";

fn engine(retries: u32) -> Engine {
    Engine::new(EngineConfig {
        first_byte_timeout: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(20),
        max_retries: retries,
        backoff_base: Duration::from_millis(5),
        ..EngineConfig::default()
    })
    .expect("engine")
}

async fn traced(server: &TestServer, anthropic: bool, retries: u32) -> (StreamResult, Trace) {
    let endpoint = if anthropic {
        Endpoint::anthropic(
            &format!("http://{}", server.addr),
            "claude-test",
            Some(ApiKey::new(KEY)),
            "K",
        )
    } else {
        Endpoint::new(
            &server.base_url(),
            "test-model",
            Some(ApiKey::new(KEY)),
            "K",
        )
    };
    let r = engine(retries)
        .chat(
            &endpoint,
            &[ChatMessage::new(Role::User, "hi")],
            ChatOptions {
                trace_cap: Some(DEFAULT_TRACE_CAP),
                ..ChatOptions::default()
            },
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    let t = r.trace.clone().expect("a trace");
    (r, t)
}

fn times(t: &Trace) -> Vec<f64> {
    t.lines
        .iter()
        .map(|l| match l {
            TraceLine::Request { t_ms, .. }
            | TraceLine::Response { t_ms, .. }
            | TraceLine::Event { t_ms, .. }
            | TraceLine::Comment { t_ms, .. }
            | TraceLine::Retry { t_ms, .. }
            | TraceLine::End { t_ms, .. } => *t_ms,
        })
        .collect()
}

fn assert_no_key(t: &Trace, ctx: &str) {
    let json = serde_json::to_string(t).expect("json");
    assert!(!json.contains(KEY), "{ctx}: the key is in the trace");
    assert!(
        !t.to_jsonl().contains(KEY),
        "{ctx}: the key is in the JSONL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_stream_is_traced_byte_for_byte_in_order_and_without_the_key() {
    let Some(dir) = common::shared_fixtures() else {
        return;
    };
    for path in common::fixture_streams(&dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let bytes = std::fs::read(&path).expect("read");
        let anthropic = name.starts_with("anthropic_");
        // In 7-byte pieces: many reads, each timed.
        let pieces = bytes
            .chunks(7)
            .map(|c| (Duration::ZERO, c.to_vec()))
            .collect();
        let server = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
        let (_, t) = traced(&server, anthropic, 0).await;
        // Byte for byte what arrived; the engine stops reading at the end
        // of the answer, so only trailing blank lines may not have.
        assert!(
            bytes.starts_with(&t.raw),
            "{name}: the body as received:\n{}",
            String::from_utf8_lossy(&t.raw)
        );
        assert!(
            bytes[t.raw.len()..].iter().all(u8::is_ascii_whitespace),
            "{name}: all of the answer's bytes"
        );
        // The events are the decoder's, in order, with their names (null
        // when the stream gave none).
        let want = decode_all(&bytes);
        let got: Vec<(Option<String>, String)> = t
            .lines
            .iter()
            .filter_map(|l| match l {
                TraceLine::Event { event, data, .. } => Some((event.clone(), data.clone())),
                _ => None,
            })
            .collect();
        assert!(!got.is_empty(), "{name}: events");
        assert!(got.len() <= want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.1, w.data, "{name}: data");
            if let Some(n) = &g.0 {
                assert_eq!(n, &*w.event, "{name}: event name");
            }
        }
        let ts = times(&t);
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "{name}: times increase: {ts:?}"
        );
        assert!(matches!(t.lines.first(), Some(TraceLine::Request { .. })));
        assert!(matches!(
            t.lines.get(1),
            Some(TraceLine::Response { status: 200, .. })
        ));
        assert!(matches!(t.lines.last(), Some(TraceLine::End { .. })));
        let TraceLine::Request { headers, body, .. } = &t.lines[0] else {
            unreachable!()
        };
        let auth = if anthropic {
            "x-api-key"
        } else {
            "authorization"
        };
        assert!(
            headers.iter().any(|(k, v)| k == auth && v == REDACTED),
            "{name}: {headers:?}"
        );
        assert!(body.contains("\"hi\""), "{name}: the body");
        assert_no_key(&t, &name);
    }
}

#[tokio::test]
async fn retries_and_error_bodies_are_in_the_trace_and_comments_too() {
    let server = TestServer::start(|_, n| match n {
        0 => Reply::text(503, "{\"error\":{\"message\":\"busy, try later\"}}"),
        _ => {
            let mut body = b": keep-alive\n\n".to_vec();
            body.extend(answer_stream(&["ok"]));
            Reply::sse(body)
        }
    })
    .await;
    let (r, t) = traced(&server, false, 2).await;
    assert_eq!(r.answer.text, "ok");
    let kinds: Vec<&str> = t
        .lines
        .iter()
        .map(|l| match l {
            TraceLine::Request { .. } => "request",
            TraceLine::Response { .. } => "response",
            TraceLine::Event { .. } => "event",
            TraceLine::Comment { .. } => "comment",
            TraceLine::Retry { .. } => "retry",
            TraceLine::End { .. } => "end",
        })
        .collect();
    assert_eq!(
        &kinds[..5],
        ["request", "response", "retry", "request", "response"]
    );
    assert!(kinds.contains(&"comment"), "{kinds:?}");
    assert!(t.lines.iter().any(|l| matches!(l,
        TraceLine::Response { status: 503, body: Some(b), .. } if b.contains("busy"))));
    assert!(t.lines.iter().any(|l| matches!(l,
        TraceLine::Retry { attempt: 1, reason, .. } if reason.contains("busy"))));
    assert!(t.lines.iter().any(|l| matches!(l,
        TraceLine::Comment { text, .. } if text == "keep-alive")));
    // The JSONL shape of `runnel ask --trace`.
    let first: serde_json::Value =
        serde_json::from_str(t.to_jsonl().lines().next().expect("a line")).expect("json");
    assert_eq!(first["kind"], "request");
    assert_eq!(first["method"], "POST");
    assert!(first["t_ms"].is_number());
}

#[tokio::test]
async fn a_server_echoing_the_key_does_not_get_it_into_the_trace() {
    let mut body = content_event(&format!("your key is {KEY}"));
    body.extend(answer_stream(&["."]));
    let server = TestServer::always(Reply::sse(body).with_header("x-echo", KEY)).await;
    let (_, t) = traced(&server, false, 0).await;
    assert_no_key(&t, "echo");
    assert!(String::from_utf8_lossy(&t.raw).contains(REDACTED));
}
