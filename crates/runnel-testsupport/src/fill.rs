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
        // Answers start streaming and are finished below in one statement,
        // so the usage trigger counts them as it counts real ones.
        let mut msg = tx
            .prepare("INSERT INTO messages (id, conversation_id, seq, role, content, status, created, active, chosen, provider, model, usage, parent_id) \
                      VALUES (?1, ?2, ?3, ?4, ?5, CASE ?4 WHEN 'user' THEN 'done' ELSE 'streaming' END, ?6, 1, 1, ?7, ?8, ?9, ?10)")
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
            // A conversation every 50 minutes: a year of use.
            let created = t0 + (c as i64) * 3_000_000;
            let title = sentence(&mut rng, 5);
            conv.execute(rusqlite::params![
                id,
                title,
                created,
                created + n as i64 * 1000
            ])
            .expect("conv");
            // One branch: each message follows the one before it.
            let mut parent: Option<String> = None;
            for i in 0..n {
                let role = if i % 2 == 0 { "user" } else { "assistant" };
                let text = message_text(&mut rng, role);
                let (provider, model, usage) = if role == "assistant" {
                    let (p, m) = ANSWERERS[rng.usize(..ANSWERERS.len())];
                    let usage = format!(
                        r#"{{"input_tokens":{},"output_tokens":{},"estimated":false,"cached_input_tokens":{}}}"#,
                        rng.u32(10..20_000),
                        rng.u32(1..2_000),
                        rng.u32(0..10)
                    );
                    (Some(p), Some(m), Some(usage))
                } else {
                    (None, None, None)
                };
                let message_id = new_id();
                msg.execute(rusqlite::params![
                    message_id,
                    id,
                    i as i64,
                    role,
                    text,
                    created + i as i64 * 1000,
                    provider,
                    model,
                    usage,
                    parent
                ])
                .expect("msg");
                parent = Some(message_id);
            }
        }
    }
    tx.execute(
        "UPDATE messages SET status = 'done' WHERE status = 'streaming'",
        [],
    )
    .expect("finish the answers");
    tx.commit().expect("commit");
    long_id
}

/// Who answers in a filled store: a few providers and models.
const ANSWERERS: &[(&str, &str)] = &[
    ("openai", "gpt-5-mini"),
    ("openai", "gpt-5-nano"),
    ("anthropic", "claude-sonnet-4-0"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("deepseek", "deepseek-chat"),
    ("local", "qwen2.5-1.5b"),
];
