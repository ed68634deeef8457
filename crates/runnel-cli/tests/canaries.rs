//! Key canaries: a unique key, echoed back by hostile servers in a 401, a
//! retried 500, an in-stream error and next to a redirect, appears nowhere:
//! not on stdout or stderr, not in the log (at debug level), not under the
//! data or config dirs, not in an export, and no request reaches the host a
//! redirect points to.

use runnel_testsupport::cli::runnel_command;
use runnel_testsupport::temp::TempDir;
use runnel_testsupport::{content_event, files_containing, Reply, TestServer};
use std::path::Path;
use tokio::process::Command;

const CANARY: &str = "sk-canary-a81f3c9e5d7b2046";

fn runnel(home: &Path, base_url: &str) -> Command {
    let mut cmd = runnel_command(
        Path::new(env!("CARGO_BIN_EXE_runnel")),
        &home.join("data"),
        base_url,
    );
    cmd.env("RUNNEL_LOG", "debug")
        .env("RUNNEL_LOG_FILE", home.join("runnel.log"))
        .env("RUNNEL_BACKOFF_MS", "5")
        .env("OPENAI_API_KEY", CANARY);
    cmd
}

#[tokio::test]
async fn an_echoed_key_appears_nowhere() {
    let home = TempDir::new("canary");
    let elsewhere = TestServer::always(Reply::text(200, "{}")).await;
    let echo = format!("bad key {CANARY}");
    let in_stream = {
        let mut b = content_event("partial ");
        b.extend(
            format!("data: {{\"error\": {{\"message\": \"key {CANARY} revoked\"}}}}\n\n")
                .into_bytes(),
        );
        b
    };
    let redirect_to = format!("{}/chat/completions?leak={CANARY}", elsewhere.base_url());
    let servers = [
        TestServer::always(Reply::text(401, &echo)).await,
        TestServer::always(Reply::text(500, &echo)).await,
        TestServer::always(Reply::sse(in_stream)).await,
        TestServer::always(Reply::text(307, &echo).with_header("location", &redirect_to)).await,
    ];
    let mut shown = String::new();
    for server in &servers {
        let out = runnel(home.path(), &server.base_url())
            .args(["ask", "--save", "hello"])
            .output()
            .await
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "each fault is an error");
        shown.push_str(&String::from_utf8_lossy(&out.stdout));
        shown.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        shown.contains("<redacted>"),
        "the echoes were seen and redacted:\n{shown}"
    );
    assert!(!shown.contains(CANARY), "stdout/stderr:\n{shown}");

    // Every stored conversation, exported both ways.
    let list = runnel(home.path(), "http://127.0.0.1:9/v1")
        .args(["history", "list", "--json"])
        .output()
        .await
        .expect("list");
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let exports = home.subdir("exports");
    for c in list.as_array().expect("array") {
        let id = c["id"].as_str().expect("id");
        for format in ["md", "json"] {
            let out = runnel(home.path(), "http://127.0.0.1:9/v1")
                .args(["history", "export", id, "--format", format, "-o"])
                .arg(exports.join(format!("{id}.{format}")))
                .output()
                .await
                .expect("export");
            assert!(out.status.success());
        }
    }
    assert_eq!(list.as_array().map(Vec::len), Some(servers.len()));

    let (hits, scanned) = files_containing(home.path(), CANARY);
    assert!(
        scanned >= 4,
        "scanned the data dir, the log and the exports ({scanned} files)"
    );
    assert!(hits.is_empty(), "the key is in {hits:?}");
    assert!(elsewhere.requests().is_empty(), "a redirect was followed");
    println!("key canary: {scanned} files scanned under data, config, log and exports; 0 hits");
}
