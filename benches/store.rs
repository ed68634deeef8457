//! Store benchmark (issue: conversations). `cargo bench --bench store` fills a
//! database with 10,000 conversations and 1,000,000 messages of generated
//! text (one conversation has 2,000 messages) and prints, as medians of
//! repeated runs: the sidebar's first page, full-text search p50/p95, and
//! opening the 2,000-message conversation (its last page, rendered).
//! Results go to stdout and to `target/bench/store.json`.
//!
//! Under `cargo test` (no `--bench` argument) it runs a tiny smoke size so
//! the harness never rots; no timing is asserted anywhere.

#[path = "support/report.rs"]
mod report;
use runnel::core::store::{new_id, Store};
use std::time::{Duration, Instant};

const WORDS: &[&str] = &[
    "the",
    "a",
    "model",
    "stream",
    "token",
    "answer",
    "question",
    "rust",
    "window",
    "search",
    "index",
    "latency",
    "database",
    "message",
    "conversation",
    "provider",
    "key",
    "keychain",
    "markdown",
    "render",
    "block",
    "code",
    "function",
    "async",
    "await",
    "error",
    "retry",
    "timeout",
    "cancel",
    "partial",
    "lossless",
    "fast",
    "desktop",
    "linux",
    "macos",
    "windows",
    "python",
    "javascript",
    "sqlite",
    "query",
    "table",
    "column",
    "result",
    "value",
    "because",
    "however",
    "therefore",
    "example",
    "explain",
    "summary",
    "detail",
    "simple",
    "complex",
    "memory",
    "thread",
    "channel",
    "event",
    "frame",
    "paint",
    "scroll",
    "sidebar",
    "title",
    "pinned",
    "export",
    "import",
    "penguin",
    "glacier",
    "quasar",
    "nebula",
    "zygomorphic",
    "fjord",
    "tundra",
    "monsoon",
    "archipelago",
];

fn sentence(rng: &mut fastrand::Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.usize(..WORDS.len())]);
    }
    s.push('.');
    s
}

fn message_text(rng: &mut fastrand::Rng, role: &str) -> String {
    if role == "user" {
        let n = rng.usize(6..30);
        return sentence(rng, n);
    }
    let mut s = String::new();
    for p in 0..rng.usize(1..5) {
        if p > 0 {
            s.push_str("\n\n");
        }
        if rng.u8(..10) == 0 {
            s.push_str("```rust\nfn main() {\n    println!(\"hello\");\n}\n```");
        } else {
            for _ in 0..rng.usize(2..6) {
                let n = rng.usize(8..24);
                s.push_str(&sentence(rng, n));
                s.push(' ');
            }
        }
    }
    s
}

/// Fills the store; returns the id of the long conversation.
fn fill(path: &std::path::Path, conversations: usize, messages: usize, long: usize) -> String {
    let store = Store::open(path).expect("open");
    drop(store);
    let mut conn = rusqlite::Connection::open(path).expect("open raw");
    conn.pragma_update(None, "synchronous", "OFF")
        .expect("pragma");
    let mut rng = fastrand::Rng::with_seed(42);
    let per = (messages.saturating_sub(long) / conversations.max(1)).max(2);
    let mut long_id = String::new();
    let t0 = 1_700_000_000_000i64;
    let tx = conn.transaction().expect("tx");
    {
        let mut conv = tx
            .prepare("INSERT INTO conversations (id, title, created, updated, system_prompt) VALUES (?1, ?2, ?3, ?4, '')")
            .expect("prep");
        let mut msg = tx
            .prepare("INSERT INTO messages (id, conversation_id, seq, role, content, status, created, active) VALUES (?1, ?2, ?3, ?4, ?5, 'done', ?6, 1)")
            .expect("prep");
        for c in 0..conversations {
            let id = new_id();
            let n = if c == conversations / 2 {
                long_id = id.clone();
                long
            } else {
                per
            };
            let created = t0 + (c as i64) * 60_000;
            let title = sentence(&mut rng, 5);
            conv.execute(rusqlite::params![
                id,
                title,
                created,
                created + n as i64 * 1000
            ])
            .expect("conv");
            for i in 0..n {
                let role = if i % 2 == 0 { "user" } else { "assistant" };
                let text = message_text(&mut rng, role);
                msg.execute(rusqlite::params![
                    new_id(),
                    id,
                    i as i64,
                    role,
                    text,
                    created + i as i64 * 1000
                ])
                .expect("msg");
            }
        }
    }
    tx.commit().expect("commit");
    long_id
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (conversations, messages, long, runs) = if full {
        (10_000, 1_000_000, 2_000, 25)
    } else {
        (20, 400, 100, 3)
    };
    let dir = std::env::temp_dir().join(format!("runnel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("runnel.sqlite3");
    let t = Instant::now();
    let long_id = fill(&path, conversations, messages, long);
    let fill_s = t.elapsed().as_secs_f64();
    let size_mb = std::fs::metadata(&path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let t = Instant::now();
    let store = Store::open(&path).expect("open");
    let open_ms = ms(t.elapsed());

    let sidebar = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let page = store.list(None, 50).expect("list");
                assert_eq!(page.len(), 50.min(conversations));
                t.elapsed()
            })
            .collect(),
    );

    let mut rng = fastrand::Rng::with_seed(7);
    let searches: Vec<Duration> = (0..runs * 4)
        .map(|i| {
            let q = if i % 4 == 0 {
                "zygomorphic fjord".to_owned()
            } else {
                WORDS[rng.usize(..WORDS.len())].to_owned()
            };
            let t = Instant::now();
            let hits = store.search(&q, 50).expect("search");
            let d = t.elapsed();
            assert!(!hits.is_empty() || !full);
            d
        })
        .collect();

    let open_long = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let msgs = store.messages(&long_id, None, 60).expect("messages");
                let views =
                    runnel::core::chats::message_views(&store, &long_id, msgs).expect("views");
                assert_eq!(views.len(), 60.min(long));
                t.elapsed()
            })
            .collect(),
    );

    let result = serde_json::json!({
        "conversations": conversations,
        "messages": messages,
        "db_mb": (size_mb * 10.0).round() / 10.0,
        "fill_s": (fill_s * 10.0).round() / 10.0,
        "open_ms": open_ms,
        "sidebar_first_page_ms": ms(sidebar),
        "search_p50_ms": ms(pct(searches.clone(), 0.5)),
        "search_p95_ms": ms(pct(searches, 0.95)),
        "open_2000_message_conversation_backend_ms": ms(open_long),
        "full": full,
    });
    report::report("store", full, &result);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
