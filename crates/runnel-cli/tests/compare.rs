//! `runnel compare` as a real child process against loopback servers: the
//! streams run at once, a stalled one delays no other, a failing one reports
//! its error and leaves the others (issue 16).

use runnel_testsupport as common;

use common::{answer_stream, content_event, End, Reply, TestServer};
use runnel_testsupport::cli::{run, runnel_command};
use runnel_testsupport::temp::TempDir;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::process::Command;

fn runnel(data: &Path, base_url: &str) -> Command {
    let mut c = runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url);
    c.env("RUNNEL_BACKOFF_MS", "10");
    c
}

/// Answers by the asked model: `fast` at once, `slow` after a 3 s stall,
/// `broken` with a 400.
fn by_model(req: &common::Request) -> Reply {
    match req.json()["model"].as_str().unwrap_or("") {
        "slow" => {
            let mut pieces = vec![(Duration::from_secs(3), content_event("late"))];
            pieces.push((Duration::ZERO, answer_stream(&[" answer"])));
            Reply::sse_pieces(pieces, End::Finish)
        }
        "broken" => Reply::text(400, r#"{"error":{"message":"no such model: broken"}}"#),
        m => Reply::sse(answer_stream(&["answer", " from ", m])),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_runs_every_stream_at_once_and_a_failure_leaves_the_others() {
    let tmp = TempDir::new("compare");
    let data = tmp.path();
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let server = TestServer::start(move |req, _| {
        seen.lock().unwrap().push(Instant::now());
        by_model(req)
    })
    .await;
    let url = server.base_url();
    let t = Instant::now();
    let (code, out, err) = run(runnel(data, &url).args([
        "compare",
        "--base-url",
        &url,
        "--model",
        "slow",
        "--model",
        "fast",
        "--model",
        "broken",
        "--json",
        "Say hi",
    ]))
    .await;
    let took = t.elapsed();
    assert_eq!(code, 1, "one failed: {err}");
    let v: Value = serde_json::from_str(out.lines().last().expect("a line")).expect("json");
    let list = v.as_array().expect("an array");
    assert_eq!(list.len(), 3);
    let get = |m: &str| list.iter().find(|x| x["model"] == m).expect(m);
    let (slow, fast, broken) = (get("slow"), get("fast"), get("broken"));
    assert_eq!(fast["status"], "done");
    assert_eq!(fast["text"], "answer from fast");
    assert_eq!(slow["status"], "done");
    assert_eq!(slow["text"], "late answer");
    assert_eq!(broken["status"], "error");
    assert_eq!(broken["error"]["kind"], "bad_request");
    assert!(fast["provider"].as_str().unwrap().starts_with("127.0.0.1:"));
    // The fast one was not held up by the stalled one, and all three
    // requests were made at once.
    let fast_total = fast["metrics"]["total_ms"].as_f64().unwrap();
    let slow_ttft = slow["metrics"]["ttft_ms"].as_f64().unwrap();
    assert!(
        fast_total < slow_ttft,
        "fast {fast_total} ms, slow's first token {slow_ttft} ms"
    );
    let times = arrivals.lock().unwrap().clone();
    assert_eq!(times.len(), 3, "one request each (a 400 is not retried)");
    let spread = times
        .iter()
        .max()
        .unwrap()
        .duration_since(*times.iter().min().unwrap());
    assert!(spread < Duration::from_secs(2), "requests {spread:?} apart");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Progress on stderr.
    assert!(err.contains("fast answering after"), "{err}");
    assert!(err.contains("broken error"), "{err}");

    // Without --json: each answer, then the table.
    let (code, out, _) = run(runnel(data, &url).args([
        "compare",
        "--base-url",
        &url,
        "--model",
        "fast",
        "--model",
        "fast",
        "Say hi",
    ]))
    .await;
    assert_eq!(code, 0);
    assert!(out.contains("== fast =="), "{out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("MODEL"))
        .expect("a table");
    for col in ["STATUS", "TTFT", "TOTAL", "TOK/S", "IN", "OUT", "COST"] {
        assert!(header.contains(col), "{header}");
    }
    assert_eq!(out.lines().filter(|l| l.starts_with("fast ")).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_takes_saved_providers_and_splits_at_the_first_colon() {
    let tmp = TempDir::new("compare-providers");
    let data = tmp.path();
    let one = TestServer::start(|req, _| by_model(req)).await;
    let two = TestServer::start(|req, _| by_model(req)).await;
    for (id, s) in [("one", &one), ("two", &two)] {
        let (code, _, err) = run(runnel(data, &one.base_url()).args([
            "providers",
            "add",
            id,
            "--base-url",
            &s.base_url(),
        ]))
        .await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(runnel(data, &one.base_url()).args([
        "compare",
        "--model",
        "one:fast",
        "--model",
        "two:llama3.2:1b",
        "--json",
        "hi",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v[0]["provider"], "one");
    assert_eq!(v[1]["provider"], "two");
    assert_eq!(v[1]["model"], "llama3.2:1b");
    assert_eq!(two.requests()[0].json()["model"], "llama3.2:1b");
    assert_eq!(one.requests().len(), 1);

    // Wrong counts and forms are refused before anything is sent.
    let (code, _, err) =
        run(runnel(data, &one.base_url()).args(["compare", "--model", "one:fast", "hi"])).await;
    assert_eq!(code, 2);
    assert!(err.contains("2 to 4"), "{err}");
    let (code, _, err) = run(runnel(data, &one.base_url())
        .args(["compare", "--model", "fast", "--model", "one:fast", "hi"]))
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("PROVIDER:MODEL"), "{err}");
    let (code, _, err) = run(runnel(data, &one.base_url()).args([
        "compare", "--model", "nobody:m", "--model", "one:fast", "hi",
    ]))
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("nobody:m: error ["), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
