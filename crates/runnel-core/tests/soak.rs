//! A seeded fault soak through the whole engine and store: every stream gets
//! one fault from a loopback server (a drop at a random byte, a stall past
//! the idle timeout, garbage, truncated UTF-8, 5xx/429 before the first
//! byte, a redirect, an oversized line, an endless stream, a server that
//! never answers, or none), half of them saved through the turn every face
//! uses. Invariants for every stream: one terminal state, no panic, no hang
//! past its deadline, the stored text equals the delivered text, no byte of
//! a complete event lost, memory bounded.
//!
//! The test command runs `SOAK_STREAMS` (200) streams; `scripts/reliability.sh`
//! runs more (`RUNNEL_SOAK_STREAMS`) and writes the report from
//! `RUNNEL_SOAK_REPORT`.

use runnel_testsupport as common;

use common::{content_event, finish_events, End, Reply, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, Outcome};
use runnel_core::protocol::sse::MAX_EVENT_BYTES;
use runnel_core::store::{MessageStatus, Store};
use runnel_core::turn::{self, SendKind, SendSettings};
use runnel_core::types::key::ApiKey;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Streams in the test command's run.
const SOAK_STREAMS: usize = 200;
/// The seed when `RUNNEL_SOAK_SEED` is not set (a failure names its seed).
const SOAK_SEED: u64 = 0x5eed_2026;
/// Waits of the soak's engine: short, so stalls and silence end quickly.
const IDLE: Duration = Duration::from_millis(300);
/// The answer deadline, which ends the endless streams.
const DEADLINE: Duration = Duration::from_secs(1);
/// Slack on top of the deadline before a stream counts as hung.
const SLACK: Duration = Duration::from_secs(3);
/// Most resident memory the whole soak may reach.
const MAX_RSS_MB: u64 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    None,
    DropAtRandomByte,
    StallPastIdle,
    Garbage,
    TruncatedUtf8,
    StatusBeforeFirstByte,
    Redirect,
    OversizedLine,
    Endless,
    NeverAnswers,
}

const FAULTS: [Fault; 10] = [
    Fault::None,
    Fault::DropAtRandomByte,
    Fault::StallPastIdle,
    Fault::Garbage,
    Fault::TruncatedUtf8,
    Fault::StatusBeforeFirstByte,
    Fault::Redirect,
    Fault::OversizedLine,
    Fault::Endless,
    Fault::NeverAnswers,
];

/// One scripted stream: the reply, and the text of the events that reach
/// the client whole before the fault (what must be delivered).
struct Script {
    reply: Reply,
    complete_text: String,
}

fn words(rng: &mut fastrand::Rng, n: usize) -> Vec<String> {
    const W: &[&str] = &[
        "alpha ", "β-beta ", "gamma ", "日本 ", "ünï ", "code\n", "😀 ", "x ",
    ];
    (0..n).map(|_| W[rng.usize(..W.len())].to_owned()).collect()
}

fn script(fault: Fault, rng: &mut fastrand::Rng) -> Script {
    let count = rng.usize(5..40);
    let tokens = words(rng, count);
    let events: Vec<Vec<u8>> = tokens.iter().map(|t| content_event(t)).collect();
    let all_text: String = tokens.concat();
    let whole = |events: &[Vec<u8>]| events.concat();
    let sse = |pieces: Vec<(Duration, Vec<u8>)>, end: End| Reply::sse_pieces(pieces, end);
    match fault {
        Fault::None => {
            let mut body = whole(&events);
            body.extend(finish_events("stop", 3, tokens.len() as u64));
            Script {
                reply: sse(vec![(Duration::ZERO, body)], End::Finish),
                complete_text: all_text,
            }
        }
        Fault::DropAtRandomByte => {
            let body = whole(&events);
            let cut = rng.usize(1..body.len());
            let mut complete = String::new();
            let mut at = 0;
            for (e, t) in events.iter().zip(&tokens) {
                // An event counts once its blank line arrived.
                if at + e.len() <= cut {
                    complete.push_str(t);
                }
                at += e.len();
            }
            Script {
                reply: sse(vec![(Duration::ZERO, body[..cut].to_vec())], End::Drop),
                complete_text: complete,
            }
        }
        Fault::StallPastIdle => {
            let k = rng.usize(1..events.len());
            Script {
                reply: sse(
                    vec![
                        (Duration::ZERO, whole(&events[..k])),
                        (IDLE * 4, whole(&events[k..])),
                    ],
                    End::Finish,
                ),
                complete_text: tokens[..k].concat(),
            }
        }
        Fault::Garbage => {
            let k = rng.usize(0..events.len());
            let mut body = whole(&events[..k]);
            body.extend_from_slice(b"data: {\"choices\": [{\"delta\": ");
            let n = rng.usize(1..64);
            body.extend((0..n).map(|_| rng.u8(..)));
            body.extend_from_slice(b"\n\n");
            Script {
                reply: sse(vec![(Duration::ZERO, body)], End::Finish),
                complete_text: tokens[..k].concat(),
            }
        }
        Fault::TruncatedUtf8 => {
            // A multi-byte character cut between two reads, then the drop.
            let k = rng.usize(0..events.len());
            let mut body = whole(&events[..k]);
            let tail = content_event("日本語");
            let cut = tail.iter().position(|&b| b >= 0x80).unwrap_or(0) + 1;
            body.extend_from_slice(&tail[..cut]);
            Script {
                reply: sse(vec![(Duration::ZERO, body)], End::Drop),
                complete_text: tokens[..k].concat(),
            }
        }
        Fault::StatusBeforeFirstByte => {
            let status = [429, 500, 502, 503][rng.usize(..4)];
            Script {
                reply: Reply::text(status, "busy"),
                complete_text: String::new(),
            }
        }
        Fault::Redirect => Script {
            reply: Reply::text(307, "moved").with_header("location", "http://127.0.0.1:9/v1"),
            complete_text: String::new(),
        },
        Fault::OversizedLine => {
            let k = rng.usize(0..events.len());
            let mut body = whole(&events[..k]);
            body.extend_from_slice(b"data: ");
            body.extend(std::iter::repeat_n(b'o', MAX_EVENT_BYTES + 1));
            Script {
                reply: sse(vec![(Duration::ZERO, body)], End::Hang),
                complete_text: tokens[..k].concat(),
            }
        }
        Fault::Endless => {
            // Tokens every 20 ms, far longer than the answer deadline.
            let n = (DEADLINE.as_millis() / 20 * 3) as usize;
            let pieces = (0..n)
                .map(|i| (Duration::from_millis(20), content_event(&format!("{i} "))))
                .collect();
            Script {
                reply: sse(pieces, End::Hang),
                complete_text: String::new(),
            }
        }
        Fault::NeverAnswers => Script {
            reply: Reply::Silence,
            complete_text: String::new(),
        },
    }
}

/// Peak resident memory of this process, MB (Linux; 0 elsewhere).
fn max_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_fault_soak_keeps_every_invariant() {
    let streams: usize = std::env::var("RUNNEL_SOAK_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SOAK_STREAMS);
    let seed: u64 = std::env::var("RUNNEL_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SOAK_SEED);
    let mut rng = fastrand::Rng::with_seed(seed);
    let engine = Engine::new(EngineConfig {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: IDLE,
        idle_timeout: IDLE,
        max_retries: 1,
        backoff_base: Duration::from_millis(5),
        max_retry_wait: Duration::from_millis(50),
        answer_deadline: Some(DEADLINE),
        proxy: Default::default(),
    })
    .expect("engine");
    let dir = runnel_testsupport::temp::TempDir::new("soak");
    let store = Arc::new(Store::open(&dir.join("runnel.sqlite3")).expect("store"));
    let mut by_fault: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut bytes_lost = 0usize;
    let mut longest = Duration::ZERO;
    let mut saved = 0usize;
    for i in 0..streams {
        // Every kind of fault in every ten streams, the order shuffled.
        let fault = if i % FAULTS.len() == 0 {
            FAULTS[(i / FAULTS.len()) % FAULTS.len()]
        } else {
            FAULTS[rng.usize(..FAULTS.len())]
        };
        let Script {
            reply,
            complete_text,
        } = script(fault, &mut rng);
        let server = TestServer::always(reply).await;
        let endpoint = Endpoint::new(&server.base_url(), "m", Some(ApiKey::new("sk-soak")), "K");
        let save = i % 2 == 0;
        let started = Instant::now();
        let (result, stored) = if save {
            saved += 1;
            let settings = SendSettings::default();
            let p = turn::prepare(
                &store,
                &runnel_core::store::new_id(),
                &settings,
                &SendKind::New {
                    text: format!("q{i}"),
                },
            )
            .expect("prepare");
            let r = turn::stream(
                &engine,
                &store,
                &p,
                &endpoint,
                ChatOptions::default(),
                &CancellationToken::new(),
                &mut |_| {},
            )
            .await;
            let m = store.message(&p.answer.id).expect("stored answer");
            (r, Some(m))
        } else {
            let msgs = [runnel_core::types::chat::ChatMessage::new(
                runnel_core::types::chat::Role::User,
                "q",
            )];
            let r = engine
                .chat(
                    &endpoint,
                    &msgs,
                    ChatOptions::default(),
                    &CancellationToken::new(),
                    &mut |_| {},
                )
                .await;
            (r, None)
        };
        let took = started.elapsed();
        longest = longest.max(took);
        let ctx = format!("stream {i} (seed {seed}, {fault:?})");
        assert!(took <= DEADLINE + SLACK, "{ctx} took {took:?}");
        let delivered = result.answer.history_text();
        assert!(
            delivered.starts_with(&complete_text) || complete_text.starts_with(&delivered),
            "{ctx}: delivered {delivered:?}, sent whole {complete_text:?}"
        );
        bytes_lost += complete_text.len().saturating_sub(delivered.len());
        match fault {
            Fault::None => assert!(
                matches!(result.outcome, Outcome::Done),
                "{ctx}: {:?}",
                result.outcome
            ),
            _ => assert!(
                matches!(result.outcome, Outcome::Error(_)),
                "{ctx}: a fault must end in an error, got {:?}",
                result.outcome
            ),
        }
        if let Some(m) = stored {
            assert_eq!(m.content, delivered, "{ctx}: stored text = delivered text");
            assert_eq!(m.status, result.outcome.status(), "{ctx}: stored status");
            assert_ne!(
                m.status,
                MessageStatus::Streaming,
                "{ctx}: a terminal state is stored"
            );
        }
        *by_fault.entry(format!("{fault:?}")).or_default() += 1;
        *by_state
            .entry(result.outcome.status().as_str().to_owned())
            .or_default() += 1;
    }
    let rss = max_rss_mb();
    assert_eq!(bytes_lost, 0, "bytes of complete events lost");
    assert!(rss <= MAX_RSS_MB, "peak RSS {rss} MB");
    assert_eq!(
        by_fault.len(),
        FAULTS.len().min(streams),
        "every fault kind ran"
    );
    let report = serde_json::json!({
        "seed": seed,
        "streams": streams,
        "saved": saved,
        "faults": by_fault,
        "terminal_states": by_state,
        "bytes_lost": bytes_lost,
        "max_rss_mb": rss,
        "longest_to_terminal_ms": longest.as_millis() as u64,
        "deadline_ms": DEADLINE.as_millis() as u64,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if let Ok(path) = std::env::var("RUNNEL_SOAK_REPORT") {
        std::fs::write(path, report.to_string()).expect("write the report");
    }
}
