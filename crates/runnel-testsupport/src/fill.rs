//! Generates a realistic conversation database for the benchmarks: questions
//! of 6-30 words, answers of 1-4 paragraphs (one in ten a code block), and one
//! long conversation in the middle.

use runnel_core::store::{new_id, Store};

pub const WORDS: &[&str] = &[
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
pub fn fill(path: &std::path::Path, conversations: usize, messages: usize, long: usize) -> String {
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
            // The long one is the newest: first in the sidebar.
            let n = if c == conversations - 1 {
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
