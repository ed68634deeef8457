//! `runnel mcp` and `runnel ask --mcp` as real child processes: a real MCP
//! server (tests/mcp/server.py on PyPI's `mcp`), the loopback model server
//! scripted to call its tools, secrets in the real Secret Service, and the
//! process table checked for servers left behind.

use runnel_testsupport as common;

use common::mcp::{openai_tool_calls, processes_running, python_server, McpCommand};
use common::{answer_stream, Reply, Request, TestServer};
use runnel_testsupport::cli::{last_json, run, runnel_command};
use runnel_testsupport::temp::TempDir;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::process::Command;

fn runnel(data: &Path, base_url: &str) -> Command {
    runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url)
}

/// A tag no other test's server carries, to find this test's processes.
fn tag(what: &str) -> String {
    format!(
        "runnel-test-{what}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    )
}

/// `runnel mcp add NAME [--env ..] -- python server.py --tag TAG`.
async fn add(data: &Path, name: &str, cmd: &McpCommand, tag: &str, env: &[&str]) {
    let mut c = runnel(data, "http://127.0.0.1:9");
    c.args(["mcp", "add", name]);
    for e in env {
        c.args(["--env", e]);
    }
    c.arg("--")
        .arg(&cmd.program)
        .args(&cmd.args)
        .args(["--tag", tag]);
    let (code, _, err) = run(&mut c).await;
    assert_eq!(code, 0, "{err}");
}

async fn wait_gone(tag: &str, within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_running(tag);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mcp_add_list_remove_with_the_secret_in_the_keychain_only() {
    let Some(cmd) = python_server() else { return };
    let tmp = TempDir::new("mcp-add");
    let data = tmp.path();
    let name = format!("calc{}", fastrand::u32(..));
    let t = tag("list");
    add(
        data,
        &name,
        &cmd,
        &t,
        &["LOG_LEVEL=debug", "API_TOKEN=s3cret-tok-9"],
    )
    .await;
    let settings = std::fs::read_to_string(data.join("config/settings.json")).expect("settings");
    assert!(
        settings.contains("LOG_LEVEL") && settings.contains("API_TOKEN"),
        "{settings}"
    );
    assert!(
        !settings.contains("s3cret-tok-9"),
        "the secret stays out of settings.json"
    );
    // Listing shows no secret value, on stdout or stderr.
    let (code, out, err) =
        run(runnel(data, "http://127.0.0.1:9").args(["mcp", "list", "--json"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("s3cret-tok-9") && !err.contains("s3cret-tok-9"));
    let list: Value = serde_json::from_str(out.trim()).expect("json");
    let s = &list[0];
    assert_eq!(s["server"]["name"], name.as_str());
    assert_eq!(s["running"], true, "{s}");
    let tools: Vec<&str> = s["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"add") && tools.contains(&"getenv"),
        "{tools:?}"
    );
    // The listing started the server, and stopped it on exit.
    assert!(
        wait_gone(&t, Duration::from_secs(10)).await.is_empty(),
        "no server left after mcp list"
    );
    // The server's stderr goes to the log.
    let (code, out, err) = run(runnel(data, "http://127.0.0.1:9")
        .env("RUNNEL_LOG", "runnel::mcp=info")
        .args(["mcp", "list"]))
    .await;
    assert_eq!(code, 0);
    assert!(
        out.contains(&name) && out.contains("running, 8 tool(s)"),
        "{out}"
    );
    assert!(err.contains("runnel-test-mcp: started pid="), "{err}");
    let (code, _, err) =
        run(runnel(data, "http://127.0.0.1:9").args(["mcp", "remove", &name])).await;
    assert_eq!(code, 0, "{err}");
    let settings = std::fs::read_to_string(data.join("config/settings.json")).expect("settings");
    assert!(!settings.contains(&name));
    let (code, _, err) =
        run(runnel(data, "http://127.0.0.1:9").args(["mcp", "remove", &name])).await;
    assert_eq!(code, 1);
    assert!(err.contains("No MCP server is named"), "{err}");
}

#[tokio::test]
async fn ask_with_mcp_runs_the_tool_with_its_secret_and_json_has_the_steps() {
    let Some(cmd) = python_server() else { return };
    let tmp = TempDir::new("mcp-ask");
    let data = tmp.path();
    let name = format!("env{}", fastrand::u32(..));
    let t = tag("ask");
    add(data, &name, &cmd, &t, &["SERVICE_TOKEN=tok-from-keychain"]).await;
    let call = format!("{name}__getenv");
    let server = TestServer::start(move |_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "",
            &[("c1", &call, r#"{"name": "SERVICE_TOKEN"}"#)],
        )),
        _ => Reply::sse(answer_stream(&["Got it."])),
    })
    .await;
    let (code, out, err) = run(runnel(data, &server.base_url()).args([
        "ask",
        "--mcp",
        &name,
        "--approve",
        "all",
        "--json",
        "Read the token",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let j = last_json(&out);
    assert_eq!(j["text"], "Got it.");
    let step = &j["steps"][0];
    assert_eq!(
        step["result"], "tok-from-keychain",
        "the secret reached the server: {j}"
    );
    assert_eq!(step["approved"], "trusted");
    assert_eq!(step["is_error"], false);
    assert!(step["duration_ms"].as_u64().is_some());
    let sent = server.chat_requests()[1].json();
    assert_eq!(sent["messages"][2]["content"], "tok-from-keychain");
    assert!(
        wait_gone(&t, Duration::from_secs(10)).await.is_empty(),
        "no server left after ask"
    );
    // Without a terminal, `ask` denies and says so in the steps.
    let server2 = TestServer::start({
        let call = format!("{name}__getenv");
        // Each run: a call, then the answer.
        move |_: &Request, i| match i % 2 {
            0 => Reply::sse(openai_tool_calls(
                "",
                &[("c1", &call, r#"{"name": "HOME"}"#)],
            )),
            _ => Reply::sse(answer_stream(&["Fine."])),
        }
    })
    .await;
    for approve in ["ask", "none"] {
        let (code, out, err) = run(runnel(data, &server2.base_url()).args([
            "ask",
            "--mcp",
            &name,
            "--approve",
            approve,
            "--json",
            "Read HOME",
        ]))
        .await;
        assert_eq!(code, 0, "{err}");
        let j = last_json(&out);
        assert_eq!(
            j["steps"][0]["approved"], "denied_unasked",
            "{approve}: {j}"
        );
        assert!(j["steps"][0]["result"]
            .as_str()
            .unwrap_or("")
            .contains("declined"));
    }
    // A name that is no server is an error before anything is sent.
    let (code, _, err) =
        run(runnel(data, &server2.base_url()).args(["ask", "--mcp", "nope", "hi"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("No MCP server is named nope"), "{err}");
    // An edit that leaves the secret blank keeps the one in the keychain.
    let mut edit = runnel(data, "http://127.0.0.1:9");
    edit.args([
        "mcp",
        "add",
        &name,
        "--replace",
        "--env",
        "SERVICE_TOKEN=",
        "--env",
        "MODE=2",
        "--",
    ])
    .arg(&cmd.program)
    .args(&cmd.args)
    .args(["--tag", &t]);
    let (code, _, err) = run(&mut edit).await;
    assert_eq!(code, 0, "{err}");
    let server3 = TestServer::start({
        let call = format!("{name}__getenv");
        move |_: &Request, i| match i {
            0 => Reply::sse(openai_tool_calls(
                "",
                &[("c1", &call, r#"{"name": "SERVICE_TOKEN"}"#)],
            )),
            _ => Reply::sse(answer_stream(&["Kept."])),
        }
    })
    .await;
    let (code, out, err) = run(runnel(data, &server3.base_url()).args([
        "ask",
        "--mcp",
        &name,
        "--approve",
        "all",
        "--json",
        "Again",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(last_json(&out)["steps"][0]["result"], "tok-from-keychain");
    let settings = std::fs::read_to_string(data.join("config/settings.json")).expect("settings");
    assert!(settings.contains("MODE") && !settings.contains("tok-from-keychain"));
}

#[tokio::test]
async fn regression_a_killed_runnel_leaves_no_mcp_server_behind() {
    let Some(cmd) = python_server() else { return };
    let tmp = TempDir::new("mcp-kill");
    let data = tmp.path();
    let name = format!("slow{}", fastrand::u32(..));
    let t = tag("kill");
    add(data, &name, &cmd, &t, &[]).await;
    let call = format!("{name}__slow");
    let server = TestServer::start(move |_: &Request, _| {
        Reply::sse(openai_tool_calls(
            "",
            &[("c1", &call, r#"{"seconds": 120}"#)],
        ))
    })
    .await;
    let mut child = runnel(data, &server.base_url())
        .args([
            "ask",
            "--mcp",
            &name,
            "--approve",
            "all",
            "Wait a long time",
        ])
        .spawn()
        .expect("start runnel");
    // The server runs the call once the model asked for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.chat_requests().is_empty() || processes_running(&t).is_empty() {
        assert!(Instant::now() < deadline, "the tool call never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!processes_running(&t).is_empty());
    // SIGKILL: nothing of runnel's own code runs; the kernel ends the server.
    child.start_kill().expect("kill -9");
    let _ = child.wait().await;
    let left = wait_gone(&t, Duration::from_secs(10)).await;
    assert!(
        left.is_empty(),
        "servers left after kill -9 of runnel: {left:?}"
    );
}
