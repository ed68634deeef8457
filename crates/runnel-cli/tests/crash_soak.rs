//! Crash soak: SIGKILL `runnel ask --save` at random moments (at start,
//! mid-stream, mid-write, mid-migration of a copied first-schema database).
//! After every kill the database opens, passes `PRAGMA integrity_check`, and
//! a killed answer is `interrupted` with at least the text the server had
//! sent 250 ms before the kill.
//!
//! The test command runs `CRASH_KILLS` kills; `scripts/reliability.sh` runs
//! `RUNNEL_CRASH_SOAK` (100) and writes the report from `RUNNEL_CRASH_REPORT`.

use runnel_core::store::{MessageStatus, Store, SCHEMA_V1};
use runnel_testsupport::cli::runnel_command;
use runnel_testsupport::temp::TempDir;
use runnel_testsupport::{content_event, End, Reply, TestServer};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Kills in the test command's run.
const CRASH_KILLS: usize = 5;
/// The persister's promise: at most this much text is lost by a kill.
const MAX_LOSS: Duration = Duration::from_millis(250);
/// Tokens of each answer, one every `TOKEN_EVERY`.
const TOKENS: usize = 400;
const TOKEN_EVERY: Duration = Duration::from_millis(5);

fn runnel(data: &Path, base_url: &str) -> Command {
    let mut cmd = runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// A database made by the first schema, with one conversation, so opening
/// it runs every migration.
fn first_schema_db(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("create");
    conn.execute_batch(SCHEMA_V1).expect("schema 1");
    conn.execute_batch("PRAGMA user_version = 1")
        .expect("version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_never_damages_the_store() {
    let kills: usize = std::env::var("RUNNEL_CRASH_SOAK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CRASH_KILLS);
    let mut rng = fastrand::Rng::with_seed(0xc4a5_4000);
    let pieces: Vec<_> = (0..TOKENS)
        .map(|i| (TOKEN_EVERY, content_event(&format!("w{i} "))))
        .collect();
    let dirs = TempDir::new("crash-soak");
    let shared = dirs.subdir("shared");
    let mut interrupted = 0usize;
    let mut worst_loss = Duration::ZERO;
    let mut migrations_killed = 0usize;
    for k in 0..kills {
        // One run in four starts on a copied first-schema database.
        let data = if k % 4 == 3 {
            migrations_killed += 1;
            let d = dirs.subdir(&format!("v1-{k}"));
            first_schema_db(&d.join("runnel.sqlite3"));
            d
        } else {
            shared.clone()
        };
        let server = TestServer::always(Reply::sse_pieces(pieces.clone(), End::Finish)).await;
        let mut child = runnel(&data, &server.base_url())
            .args(["ask", "--save", &format!("question {k}")])
            .spawn()
            .expect("spawn");
        let wait = Duration::from_millis(rng.u64(0..(TOKENS as u64 * 5 / 2)));
        tokio::time::sleep(wait).await;
        let pid = child.id().expect("pid") as i32;
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let killed_at = Instant::now();
        let _ = child.wait().await;

        let db = data.join("runnel.sqlite3");
        let store = Store::open(&db).unwrap_or_else(|e| panic!("kill {k} after {wait:?}: {e}"));
        let check: String = rusqlite::Connection::open(&db)
            .expect("raw")
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(check, "ok", "kill {k} after {wait:?}");
        let Some(answer) = store
            .list(None, 10_000)
            .ok()
            .and_then(|list| {
                list.into_iter()
                    .find(|c| c.title == format!("question {k}"))
            })
            .and_then(|c| store.messages(&c.id, None, 10).ok())
            .and_then(|m| m.into_iter().find(|m| m.parent_id.is_some()))
        else {
            continue; // killed before the answer was recorded
        };
        if answer.status == MessageStatus::Done {
            continue; // finished before the kill
        }
        assert_eq!(
            answer.status,
            MessageStatus::Interrupted,
            "kill {k} after {wait:?}"
        );
        interrupted += 1;
        let must_have = server.sent_text_by(killed_at - MAX_LOSS, "w");
        assert!(
            answer.content.starts_with(&must_have),
            "kill {k} after {wait:?}: kept {} chars, {} were sent 250 ms before",
            answer.content.len(),
            must_have.len()
        );
        // The loss: from the first token not kept being sent to the kill.
        let kept_tokens = answer.content.split_whitespace().count();
        if let Some((sent_at, _)) = server.sent().get(kept_tokens) {
            worst_loss = worst_loss.max(killed_at.saturating_duration_since(*sent_at));
        }
    }
    let report = serde_json::json!({
        "kills": kills,
        "interrupted_answers": interrupted,
        "kills_on_a_first_schema_database": migrations_killed,
        "worst_loss_ms": worst_loss.as_millis() as u64,
        "promise_ms": MAX_LOSS.as_millis() as u64,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if let Ok(path) = std::env::var("RUNNEL_CRASH_REPORT") {
        std::fs::write(path, report.to_string()).expect("write the report");
    }
}
