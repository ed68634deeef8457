//! Tools in the window (issue 19), on the real app through tauri-driver +
//! WebKitWebDriver under Xvfb: an MCP server added in Settings (a real one,
//! tests/mcp/server.py), a model that calls its tool, the approval dialog
//! used by keyboard only (Allow, then Esc to deny), the steps shown, stored
//! and restored after a restart, and no server left once the app exits.
//!
//! Skipped with a notice when there is no display, no tauri-driver or no
//! MCP test server, except under CI=true, where that fails.

use runnel_testsupport as common;

use common::mcp::{openai_tool_calls, processes_running, python_server};
use common::window::keys::{ENTER, ESC, TAB};
use common::window::{
    can_run, click, connect, css, eventually, focused, js, press, restart, send_text, start_driver,
    wait_count, wait_for,
};
use common::{answer_stream, chat_and_models, Reply, TestServer};
use fantoccini::Client;
use std::time::{Duration, Instant};

async fn type_into(c: &Client, testid: &str, value: &str) {
    let e = css(c, &format!("[data-testid={testid}]")).await;
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

async fn texts(c: &Client, sel: &str) -> Vec<String> {
    let v = js(
        c,
        &format!("return [...document.querySelectorAll('{sel}')].map((e) => e.textContent.trim())"),
    )
    .await;
    v.as_array()
        .expect("texts")
        .iter()
        .map(|x| x.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits for the approval dialog, open with the focus on Deny.
async fn approval_asked(c: &Client) {
    wait_for(
        c,
        "return document.getElementById('tool-approval').open",
        "the approval dialog",
    )
    .await;
    eventually(10, "the focus on Deny", || async {
        (focused(c).await == "tool-deny").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_tool_call_is_allowed_and_denied_by_keyboard_shown_stored_and_its_server_stopped_on_exit()
{
    if !can_run() {
        return;
    }
    let Some(cmd) = python_server() else { return };
    let tag = format!("runnel-ui-tools-{}", std::process::id());
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "Let me add.",
            &[("call_a", "calc__add", r#"{"a": 2, "b": 3}"#)],
        )),
        1 => Reply::sse(answer_stream(&["The sum ", "is 5."])),
        2 => Reply::sse(openai_tool_calls("", &[("call_b", "calc__pid", "{}")])),
        _ => Reply::sse(answer_stream(&["As you wish."])),
    }))
    .await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;

    // Settings: add the server by its command line.
    click(&c, "[data-testid=settings-open]").await;
    type_into(&c, "mcp-name", "calc").await;
    let line = format!("{} {} --tag {tag}", cmd.program, cmd.args.join(" "));
    type_into(&c, "mcp-target", &line).await;
    click(&c, "[data-testid=mcp-add]").await;
    wait_count(
        &c,
        "[data-testid=mcp-row][data-running=true]",
        1,
        "the server running",
    )
    .await;
    assert!(texts(&c, "[data-testid=mcp-state]").await[0].contains("8 tools"));
    click(&c, "[data-testid=settings-close]").await;

    // The model calls a tool: the dialog asks, and Tab Tab Enter allows it.
    send_text(&c, "What is 2 + 3?").await;
    approval_asked(&c).await;
    let what = css(&c, "[data-testid=tool-approval-what]")
        .await
        .text()
        .await
        .expect("text");
    assert!(what.contains("add") && what.contains("calc"), "{what}");
    let args = css(&c, "[data-testid=tool-approval-args]")
        .await
        .text()
        .await
        .expect("args");
    assert!(args.contains("\"a\": 2"), "{args}");
    press(&c, TAB).await;
    press(&c, TAB).await;
    assert_eq!(focused(&c).await, "tool-allow");
    press(&c, ENTER).await;
    wait_count(
        &c,
        "[data-testid=message][data-role=assistant][data-status=done]",
        1,
        "the answer after the tool",
    )
    .await;
    assert_eq!(texts(&c, "[data-testid=tool-state]").await, ["Allowed"]);
    assert_eq!(texts(&c, "[data-testid=tool-result] pre").await, ["5"]);
    let answer = texts(&c, "[data-testid=answer]").await;
    assert!(
        answer[0].contains("Let me add.") && answer[0].contains("The sum is 5."),
        "{answer:?}"
    );
    let second = server.chat_requests()[1].json();
    assert_eq!(second["messages"][2]["role"], "tool");
    assert_eq!(second["messages"][2]["content"], "5");
    // The focus went back where it was before the dialog.
    assert_ne!(focused(&c).await, "tool-allow");

    // Esc declines the next call; the model is told, and the answer goes on.
    send_text(&c, "And your pid?").await;
    approval_asked(&c).await;
    press(&c, ESC).await;
    wait_count(
        &c,
        "[data-testid=message][data-role=assistant][data-status=done]",
        2,
        "the answer after the denial",
    )
    .await;
    assert_eq!(
        texts(&c, "[data-testid=tool-state]").await,
        ["Allowed", "Declined"]
    );
    let fourth = server.chat_requests()[3].json();
    let messages = fourth["messages"].as_array().expect("messages");
    let declined = messages.last().expect("the result");
    assert!(
        declined["content"]
            .as_str()
            .unwrap_or("")
            .contains("declined"),
        "{declined}"
    );
    let pid: u32 = texts(&c, "[data-testid=tool-result] pre").await.len() as u32;
    assert_eq!(pid, 2);
    assert!(
        !processes_running(&tag).is_empty(),
        "the server runs while the app does"
    );

    // After a restart the steps are restored; the old app's server is gone.
    let c = restart(&driver, c).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_running(&tag).is_empty() {
        assert!(Instant::now() < deadline, "the MCP server outlived the app");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(&c, "[data-testid=conversation-item]").await;
    wait_count(&c, "[data-testid=tool-result]", 2, "the steps restored").await;
    assert_eq!(
        texts(&c, "[data-testid=tool-state]").await,
        ["Allowed", "Declined"]
    );
    assert_eq!(texts(&c, "[data-testid=tool-result] pre").await[0], "5");
    c.close().await.expect("close");
}
