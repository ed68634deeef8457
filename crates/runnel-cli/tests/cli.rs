//! `runnel ask` as a real child process against the loopback server.

use runnel_testsupport as common;

use common::{answer_stream, content_event, End, Reply, TestServer};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

fn runnel(server_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runnel"));
    cmd.env_remove("OPENAI_API_KEY")
        .env_remove("RUNNEL_MODEL")
        .env("OPENAI_BASE_URL", server_url)
        .env("RUNNEL_BACKOFF_MS", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn last_json_line(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().expect("a last line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

#[tokio::test]
async fn ask_json_prints_the_whole_result() {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n",
    );
    body.extend(answer_stream(&["Hello", ", world"]));
    let server = TestServer::always(Reply::sse(body)).await;
    let out = runnel(&server.base_url())
        .env("MY_KEY", "sk-from-env")
        .args([
            "ask",
            "--json",
            "--model",
            "m1",
            "--system",
            "Be brief.",
            "--api-key-env",
            "MY_KEY",
            "Say hi",
        ])
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json_line(&out.stdout);
    assert_eq!(v["status"], "done");
    assert_eq!(v["text"], "Hello, world");
    assert_eq!(v["reasoning"], "hmm");
    assert_eq!(v["refusal"], serde_json::Value::Null);
    assert_eq!(v["tool_calls"], serde_json::json!([]));
    assert_eq!(v["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        serde_json::json!({"input_tokens": 5, "output_tokens": 2, "cached_input_tokens": 0})
    );
    assert_eq!(v["error"], serde_json::Value::Null);
    assert_eq!(v["metrics"]["chunks"], 6);
    assert!(v["metrics"]["ttft_ms"].is_number() && v["metrics"]["total_ms"].is_number());
    let req = &server.requests()[0];
    assert_eq!(req.header("authorization"), Some("Bearer sk-from-env"));
    let body = req.json();
    assert_eq!(body["model"], "m1");
    assert_eq!(body["messages"][0]["content"], "Be brief.");
    assert_eq!(body["messages"][1]["content"], "Say hi");
}

#[tokio::test]
async fn ask_streams_text_to_stdout_and_reasoning_to_stderr() {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"thinking...\"}}]}\n\n",
    );
    body.extend(answer_stream(&["Line one", "\nLine two"]));
    let server = TestServer::always(Reply::sse(body)).await;
    let out = runnel(&server.base_url())
        .args(["ask", "hello"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Line one\nLine two\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("thinking..."));
}

#[tokio::test]
async fn ask_reads_the_prompt_from_stdin() {
    let server = TestServer::always(Reply::sse(answer_stream(&["ok"]))).await;
    let mut child = runnel(&server.base_url())
        .args(["ask", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all("prompt from a pipe — ünïcode\n".as_bytes())
        .await
        .expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("wait");
    assert!(out.status.success());
    assert_eq!(
        server.requests()[0].json()["messages"][0]["content"],
        "prompt from a pipe — ünïcode\n"
    );
}

#[tokio::test]
async fn ask_errors_exit_1_with_kind_and_keep_partial_text() {
    // An HTTP error.
    let server = TestServer::always(Reply::json(
        401,
        &serde_json::json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
    ))
    .await;
    let out = runnel(&server.base_url())
        .args(["ask", "--json", "hi"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v = last_json_line(&out.stdout);
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"]["kind"], "auth");
    assert!(v["error"]["message"]
        .as_str()
        .expect("message")
        .contains("Incorrect API key"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error [auth]"), "{stderr}");

    // A dropped connection mid-answer: the partial text is already printed.
    let pieces = vec![(Duration::ZERO, content_event("partial answer"))];
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Drop)).await;
    let out = runnel(&server.base_url())
        .args(["ask", "hi"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "partial answer\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error [stream]"));
}

#[tokio::test]
async fn ask_without_a_key_for_a_remote_server_says_how_to_set_one() {
    let out = runnel("https://api.openai.com/v1")
        .args(["ask", "--json", "hi"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v = last_json_line(&out.stdout);
    assert_eq!(v["error"]["kind"], "auth");
    assert!(v["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("export OPENAI_API_KEY="));
}

#[tokio::test]
async fn ctrl_c_exits_130_keeps_partial_and_closes_the_connection() {
    let pieces: Vec<_> = (0..1000)
        .map(|i| (Duration::from_millis(10), content_event(&format!("t{i} "))))
        .collect();
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
    let mut child = runnel(&server.base_url())
        .args(["ask", "--json", "count"])
        .spawn()
        .expect("spawn");
    // --json prints nothing until the end; wait until the server is streaming.
    tokio::time::sleep(Duration::from_millis(50)).await;
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = child.id().expect("pid") as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .await
        .expect("read");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert_eq!(status.code(), Some(130));
    let v = last_json_line(&stdout);
    assert_eq!(v["status"], "cancelled");
    let text = v["text"].as_str().expect("text");
    assert!(text.starts_with("t0 t1 "), "partial text kept: {text:?}");
    assert!(
        server
            .wait_client_closed(Duration::from_secs(5))
            .await
            .is_some(),
        "connection closed on Ctrl+C"
    );
}

#[tokio::test]
async fn help_documents_ask() {
    let out = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .args(["ask", "--help"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--base-url",
        "--model",
        "--system",
        "--api-key-env",
        "--json",
        "--no-stream",
        "PROMPT",
    ] {
        assert!(help.contains(flag), "help mentions {flag}:\n{help}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--help")
        .output()
        .await
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ask"));
}

/// `runnel` is the command line alone: it must not load the GUI libraries
/// (they cost ~40 ms before `main` and are absent on servers); the window is
/// the `runnel-window` binary beside it.
#[cfg(target_os = "linux")]
#[test]
fn the_runnel_command_links_no_gui_library() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_runnel"))
        .output()
        .expect("ldd runs");
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(libs.contains("libc.so"), "ldd lists the libraries:\n{libs}");
    for gui in ["webkit", "gtk", "javascriptcore", "soup"] {
        assert!(!libs.contains(gui), "runnel links {gui}:\n{libs}");
    }
    let window = std::process::Command::new("ldd")
        .arg(runnel_testsupport::bin::workspace_bin("runnel-window"))
        .output()
        .expect("ldd runs");
    assert!(String::from_utf8_lossy(&window.stdout).contains("webkit"));
}

/// With no command and no window binary beside it, `runnel` says what is
/// missing and how to build it, instead of failing silently.
#[test]
fn runnel_without_its_window_binary_says_so() {
    let dir = runnel_testsupport::temp::TempDir::new("alone");
    let alone = dir.join(&format!("runnel{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_runnel"), &alone).expect("copy runnel");
    let out = std::process::Command::new(&alone)
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not open the window") && err.contains("runnel-window"),
        "{err}"
    );
}
