//! `runnel ask --trace FILE` and `runnel history trace ID [--sse]` as real
//! child processes against the loopback server (issue 16).

use runnel_testsupport as common;

use common::{answer_stream, Reply, TestServer};
use runnel_testsupport::cli::runnel_command;
use runnel_testsupport::temp::TempDir;
use serde_json::Value;
use std::path::Path;
use tokio::process::Command;

const KEY: &str = "sk-canary-51e0";

fn runnel(data: &Path, base_url: &str) -> Command {
    let mut c = runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url);
    c.env("MY_KEY", KEY);
    c
}

async fn run(cmd: &mut Command) -> (i32, Vec<u8>, String) {
    let out = cmd.output().await.expect("run");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn ask_trace_writes_jsonl_and_a_stored_trace_prints_with_its_history_resolved() {
    let tmp = TempDir::new("inspect");
    let data = tmp.path();
    let first = answer_stream(&["Penguins", " swim."]);
    let second = answer_stream(&["They", " dive."]);
    let (a, b) = (first.clone(), second.clone());
    let server =
        TestServer::start(move |_, n| Reply::sse(if n == 0 { a.clone() } else { b.clone() })).await;
    let url = server.base_url();
    let question = "Tell me everything you know about how emperor penguins swim under the ice.";
    let trace_file = data.join("trace.jsonl");
    let (code, out, err) = run(runnel(data, &url).args([
        "ask",
        "--save",
        "--json",
        "--api-key-env",
        "MY_KEY",
        "--trace",
        trace_file.to_str().unwrap(),
        question,
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_slice(out.split(|b| *b == b'\n').find(|l| !l.is_empty()).unwrap())
            .expect("json");
    let conversation = v["conversation_id"].as_str().unwrap().to_owned();

    let jsonl = std::fs::read_to_string(&trace_file).expect("the trace file");
    assert!(!jsonl.contains(KEY), "no key in the trace");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines[0]["kind"], "request");
    assert_eq!(lines[1]["kind"], "response");
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(lines.last().unwrap()["status"], "done");
    let events: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "event").collect();
    let want = runnel_core::protocol::sse::decode_all(&first);
    assert_eq!(events.len(), want.len());
    for (e, w) in events.iter().zip(&want) {
        assert_eq!(e["data"], w.data.as_str());
        assert_eq!(e["event"], Value::Null);
    }
    let t: Vec<f64> = lines.iter().map(|l| l["t_ms"].as_f64().unwrap()).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");

    // A second turn: its stored trace refers to the first question instead
    // of copying it, and prints with it resolved.
    let (code, out, err) = run(runnel(data, &url).args([
        "ask",
        "--conversation",
        &conversation,
        "--json",
        "--api-key-env",
        "MY_KEY",
        "And how deep?",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_slice(out.split(|b| *b == b'\n').find(|l| !l.is_empty()).unwrap())
            .expect("json");
    let answer = v["message_id"].as_str().unwrap().to_owned();
    let stored: String = rusqlite::Connection::open(data.join("runnel.sqlite3"))
        .expect("db")
        .query_row("SELECT trace FROM messages WHERE id = ?1", [&answer], |r| {
            r.get(0)
        })
        .expect("a stored trace");
    assert!(stored.contains("runnel_ref"), "history as references");
    assert!(!stored.contains(question), "not copied");
    assert!(!stored.contains(KEY));

    let (code, out, err) = run(runnel(data, &url).args(["history", "trace", &answer])).await;
    assert_eq!(code, 0, "{err}");
    let text = String::from_utf8(out).unwrap();
    let request: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let body: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["messages"][0]["content"], question, "resolved");
    assert_eq!(body["messages"][2]["content"], "And how deep?");

    let (code, out, _) = run(runnel(data, &url).args(["history", "trace", &answer, "--sse"])).await;
    assert_eq!(code, 0);
    assert_eq!(out, second, "the bytes as received");

    let (code, _, err) = run(runnel(data, &url).args(["history", "trace", "nope"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
}
