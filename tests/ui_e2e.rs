//! End to end in the real app window: tauri-driver + WebKitWebDriver drive the
//! debug binary under the display the test command provides (Xvfb), and the app
//! talks to the loopback test server.
//!
//! Skipped with a notice when there is no display or no tauri-driver, except
//! under CI=true, where that fails.

use runnel_testsupport as common;

use common::window::{
    can_run, click, connect, css, eventually, js, menu_item, pick_model, send_text, start_driver,
    start_driver_with, tempdirs, text, wait_for,
};
use common::{chat_and_models, content_event, finish_events, End, Reply, TestServer};
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

async fn answer_text(c: &Client, nth: usize) -> String {
    let all = c
        .find_all(Locator::Css(
            "[data-testid=message][data-role=assistant] [data-testid=answer]",
        ))
        .await
        .unwrap_or_default();
    match all.get(nth) {
        Some(e) => e.text().await.unwrap_or_default(),
        None => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_send_stream_stop_keeps_partial_then_errors_show_kind() {
    if !can_run() {
        return;
    }
    // Request 0: a slow answer (a heading, then words every 25 ms).
    // Request 1: a 401 with OpenAI's error JSON.
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, n| {
        if n == 0 {
            let mut pieces = vec![(Duration::ZERO, content_event("# Streamed\n\n"))];
            pieces.extend((0..600).map(|i| (Duration::from_millis(25), content_event(&format!("word{i} ")))));
            Reply::sse_pieces(pieces, End::Finish)
        } else {
            Reply::json(401, &serde_json::json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}))
        }
    }))
    .await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;

    // The window shows the provider line.
    let line = css(&c, "[data-testid=provider-line]").await;
    let line_text = eventually(20, "provider line", || async {
        let t = line.text().await.ok()?;
        t.contains("e2e-model").then_some(t)
    })
    .await;
    assert!(line_text.contains(&server.base_url()), "{line_text}");
    assert_eq!(c.title().await.expect("title"), "Runnel");

    // Type, Enter sends.
    let composer = css(&c, "[data-testid=composer]").await;
    composer.send_keys("hello runnel").await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");

    // Streamed text arrives, token by token.
    let first = eventually(20, "streamed text", || async {
        let t = answer_text(&c, 0).await;
        t.contains("word3").then_some(t)
    })
    .await;
    let later = eventually(20, "more streamed text", || async {
        let t = answer_text(&c, 0).await;
        (t.len() > first.len()).then_some(t)
    })
    .await;
    assert!(
        later.starts_with("Streamed"),
        "heading rendered first: {later:?}"
    );
    let h1 = css(&c, "[data-testid=answer] h1").await;
    assert_eq!(h1.text().await.expect("h1"), "Streamed");
    let msg = css(&c, "[data-testid=message][data-role=assistant]").await;
    assert_eq!(
        msg.attr("data-status").await.expect("attr").as_deref(),
        Some("streaming")
    );
    let send = css(&c, "[data-testid=send]").await;
    assert!(
        send.attr("disabled").await.expect("attr").is_some(),
        "Send is disabled while streaming"
    );

    // Stop mid-stream.
    css(&c, "[data-testid=cancel]")
        .await
        .click()
        .await
        .expect("stop");
    eventually(10, "cancelled status", || async {
        let s = msg.attr("data-status").await.ok().flatten()?;
        (s == "cancelled").then_some(())
    })
    .await;
    let partial = answer_text(&c, 0).await;
    assert!(partial.contains("word3"), "partial text kept: {partial:?}");
    assert!(
        !partial.contains("word599"),
        "the stream was stopped: {partial:?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(answer_text(&c, 0).await, partial, "no more text after stop");
    assert!(
        server
            .wait_client_closed(Duration::from_secs(5))
            .await
            .is_some(),
        "the server saw the connection close"
    );
    let metrics = css(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=metrics]",
    )
    .await;
    assert_eq!(
        metrics
            .attr("data-finish-reason")
            .await
            .expect("attr")
            .as_deref(),
        Some("")
    );
    css(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=retry]",
    )
    .await;
    assert!(
        send.attr("disabled").await.expect("attr").is_none(),
        "Send is enabled again"
    );

    // The request carried the typed message.
    let body = server.chat_requests()[0].json();
    assert_eq!(
        body["messages"]
            .as_array()
            .expect("messages")
            .last()
            .expect("last")["content"],
        "hello runnel"
    );

    // A second turn fails with 401: the error shows its kind, in the same conversation.
    composer.send_keys("second turn").await.expect("type");
    css(&c, "[data-testid=send]")
        .await
        .click()
        .await
        .expect("send");
    let err = css(&c, "[data-testid=error][data-error-kind=auth]").await;
    assert!(err
        .text()
        .await
        .expect("text")
        .contains("Incorrect API key provided"));
    let body = server.chat_requests()[1].json();
    let msgs = body["messages"].as_array().expect("messages");
    assert_eq!(
        msgs.len(),
        3,
        "multi-turn carries the cancelled partial answer: {msgs:?}"
    );
    assert_eq!(msgs[1]["role"], "assistant");
    assert!(msgs[1]["content"]
        .as_str()
        .expect("content")
        .contains("word3"));

    // New chat empties the list.
    css(&c, "[data-testid=clear]")
        .await
        .click()
        .await
        .expect("clear");
    eventually(10, "empty list", || async {
        let n = c
            .find_all(Locator::Css("[data-testid=message]"))
            .await
            .ok()?
            .len();
        (n == 0).then_some(())
    })
    .await;

    c.close().await.expect("close session");
}

fn reasoning_event(text: &str) -> Vec<u8> {
    let v = serde_json::json!({"choices": [{"index": 0, "delta": {"reasoning_content": text}}]});
    format!("data: {v}\n\n").into_bytes()
}

const MARKDOWN_ANSWER: &str =
    "## Answer\n\nHere is **bold**, a [link](https://example.com) and `inline code`. \
<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>\n\n\
| city | temp |\n|---|---:|\n| Paris | 18 |\n\n> A quoted line.\n\n\
```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n- one\n- two\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_markdown_thinking_tool_calls_and_metrics_safely() {
    if !can_run() {
        return;
    }
    let mut pieces = Vec::new();
    for part in ["Considering ", "the question ", "carefully."] {
        pieces.push((Duration::from_millis(20), reasoning_event(part)));
    }
    let chars: Vec<char> = MARKDOWN_ANSWER.chars().collect();
    for chunk in chars.chunks(4) {
        pieces.push((
            Duration::from_millis(3),
            content_event(&chunk.iter().collect::<String>()),
        ));
    }
    let tool = serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}}]});
    let tool2 = serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": "\"Paris\"}"}}]}}]});
    let fin = serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 21, "completion_tokens": 42}});
    pieces.push((
        Duration::ZERO,
        format!("data: {tool}\n\ndata: {tool2}\n\ndata: {fin}\n\ndata: [DONE]\n\n").into_bytes(),
    ));
    let reply = Reply::sse_pieces(pieces, End::Finish);
    let server =
        TestServer::start(chat_and_models(&["e2e-model"], move |_, _| reply.clone())).await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;

    let system = css(&c, "[data-testid=system-prompt]").await;
    c.execute("document.getElementById('system-box').open = true", vec![])
        .await
        .expect("open system box");
    system
        .send_keys("Answer in markdown.")
        .await
        .expect("type system prompt");
    let composer = css(&c, "[data-testid=composer]").await;
    composer.send_keys("Weather in Paris?").await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");

    let msg = css(&c, "[data-testid=message][data-role=assistant]").await;
    eventually(20, "done status", || async {
        let s = msg.attr("data-status").await.ok().flatten()?;
        (s == "done").then_some(())
    })
    .await;

    let reasoning = css(&c, "[data-testid=reasoning]").await;
    assert!(
        reasoning.attr("open").await.expect("attr").is_none(),
        "Thinking collapses when the answer starts"
    );
    assert!(reasoning
        .html(false)
        .await
        .expect("html")
        .contains("Considering the question carefully."));
    assert_eq!(
        css(&c, "[data-testid=answer] h2")
            .await
            .text()
            .await
            .expect("h2"),
        "Answer"
    );
    assert_eq!(
        css(&c, "[data-testid=answer] strong")
            .await
            .text()
            .await
            .expect("strong"),
        "bold"
    );
    let link = css(&c, "[data-testid=answer] a").await;
    assert_eq!(
        link.attr("href").await.expect("href").as_deref(),
        Some("https://example.com/")
    );
    assert_eq!(
        c.find_all(Locator::Css("[data-testid=answer] td"))
            .await
            .expect("tds")
            .len(),
        2
    );
    css(&c, "[data-testid=answer] blockquote").await;
    let code = css(&c, "[data-testid=answer] pre code.language-rust").await;
    assert!(code
        .text()
        .await
        .expect("code")
        .contains("println!(\"hi\");"));
    css(&c, "[data-testid=answer] [data-testid=code-copy]").await;
    assert_eq!(
        c.find_all(Locator::Css("[data-testid=answer] li"))
            .await
            .expect("lis")
            .len(),
        2
    );
    assert!(c
        .find_all(Locator::Css(
            "[data-testid=answer] img, [data-testid=answer] script"
        ))
        .await
        .expect("q")
        .is_empty());
    let pwned = c
        .execute("return window.__pwned === undefined", vec![])
        .await
        .expect("execute");
    assert_eq!(
        pwned,
        serde_json::Value::Bool(true),
        "model text never runs as script"
    );

    let tool = css(&c, "[data-testid=tool-call]").await;
    let tool_text = tool.text().await.expect("tool text");
    assert!(
        tool_text.contains("get_weather") && tool_text.contains("\"city\": \"Paris\""),
        "{tool_text}"
    );

    let metrics = css(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=metrics]",
    )
    .await;
    assert_eq!(
        metrics
            .attr("data-finish-reason")
            .await
            .expect("attr")
            .as_deref(),
        Some("tool_calls")
    );
    assert_eq!(
        metrics
            .attr("data-input-tokens")
            .await
            .expect("attr")
            .as_deref(),
        Some("21")
    );
    assert_eq!(
        metrics
            .attr("data-output-tokens")
            .await
            .expect("attr")
            .as_deref(),
        Some("42")
    );
    assert!(metrics
        .attr("data-ttft-ms")
        .await
        .expect("attr")
        .is_some_and(|v| !v.is_empty()));
    assert!(
        c.find_all(Locator::Css("[data-testid=retry]"))
            .await
            .expect("q")
            .is_empty(),
        "no Retry on a done answer"
    );

    let body = server.chat_requests()[0].json();
    assert_eq!(
        body["messages"][0],
        serde_json::json!({"role": "system", "content": "Answer in markdown."})
    );

    if let Ok(path) = std::env::var("RUNNEL_SCREENSHOT") {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write screenshot");
    }
    c.close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_for_a_remote_provider_the_window_says_how_to_set_one() {
    if !can_run() {
        return;
    }
    // A non-loopback base URL and no key: nothing is sent anywhere.
    let driver = start_driver("https://api.example.invalid/v1").await;
    let c = connect(&driver).await;
    let banner = css(&c, "[data-testid=setup-banner]").await;
    // One line: the text may be cut with an ellipsis on screen (all of it shows
    // on hover and focus, and in its tooltip), so read what it says.
    let text = eventually(20, "setup banner", || async {
        banner.is_displayed().await.ok().filter(|d| *d)?;
        let t = c
            .execute(
                "return document.getElementById('setup-banner-text').textContent",
                vec![],
            )
            .await
            .ok()?;
        let t = t.as_str()?.to_owned();
        t.contains("api.example.invalid").then_some(t)
    })
    .await;
    assert!(text.contains("export OPENAI_API_KEY="), "{text}");
    assert!(text.contains("api.example.invalid"), "{text}");
    // Sending anyway shows an auth error on the answer, not a hang.
    let composer = css(&c, "[data-testid=composer]").await;
    composer.send_keys("hello").await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");
    let err = css(&c, "[data-testid=error][data-error-kind=auth]").await;
    assert!(err.text().await.expect("text").contains("OPENAI_API_KEY"));
    c.close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_custom_provider_set_its_key_pick_a_model_send_and_never_leak_the_key() {
    if !can_run() {
        return;
    }
    const KEY: &str = "sk-e2e-window-secret-9876";
    // Chat 0 answers; chat 1 is refused with 401 (the leak test's failing send).
    let server = TestServer::start(chat_and_models(&["model-a", "model-b"], |_, n| {
        if n == 0 {
            Reply::sse(common::answer_stream(&["Hi", " from", " loopback"]))
        } else {
            Reply::json(401, &serde_json::json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "invalid_request_error"}}))
        }
    }))
    .await;
    let log_dir = tempdirs::TempDirs::new();
    let log_file = log_dir.0.join("runnel.log");
    let log = log_file.to_string_lossy().into_owned();
    let driver = start_driver_with(&[("RUNNEL_LOG", "debug"), ("RUNNEL_LOG_FILE", &log)]).await;
    let c = connect(&driver).await;

    // First run: no provider is usable yet, so onboarding shows.
    let onboarding = css(&c, "[data-testid=onboarding]").await;
    eventually(20, "onboarding", || async {
        onboarding
            .is_displayed()
            .await
            .ok()
            .filter(|d| *d)
            .map(|_| ())
    })
    .await;

    // Settings: add a Custom provider pointing at the loopback server.
    click(&c, "[data-testid=settings-open]").await;
    click(&c, "[data-testid=provider-add]").await;
    let kind = css(&c, "[data-testid=provider-kind-select]").await;
    assert_eq!(
        kind.prop("value").await.expect("value").as_deref(),
        Some("custom")
    );
    css(&c, "[data-testid=provider-name-input]")
        .await
        .send_keys("Loopback")
        .await
        .expect("name");
    css(&c, "[data-testid=base-url-input]")
        .await
        .send_keys(&server.base_url())
        .await
        .expect("url");
    css(&c, "[data-testid=provider-model-input]")
        .await
        .send_keys("model-a")
        .await
        .expect("model");
    click(&c, "[data-testid=provider-save]").await;
    css(&c, "[data-testid=provider-row][data-provider-id=loopback]").await;

    // Its key: tested with GET /models, saved to the keychain, shown as its last 4.
    css(&c, "[data-testid=api-key-input]")
        .await
        .send_keys(KEY)
        .await
        .expect("key");
    click(&c, "[data-testid=api-key-save]").await;
    let key_input = css(&c, "[data-testid=api-key-input]").await;
    let status = css(&c, "#editor-key-status").await;
    // Up to 60 s: a keychain call under the load of two windows and their
    // web processes on two cores can be slow; the last status is reported.
    let mut last = String::new();
    for _ in 0..120 {
        last = status.text().await.unwrap_or_default();
        if last == "set ····9876" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let result = js(
        &c,
        "return document.querySelector('[data-testid=api-key-result]')?.textContent ?? ''",
    )
    .await;
    assert_eq!(
        last, "set ····9876",
        "the key's status (the save said: {result})"
    );
    assert_eq!(
        key_input.prop("value").await.expect("value").as_deref(),
        Some(""),
        "the key leaves the input once saved"
    );
    let models_req = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/models"))
        .expect("GET /models");
    assert_eq!(
        models_req.header("authorization").map(str::to_owned),
        Some(format!("Bearer {KEY}"))
    );
    if let Ok(path) = std::env::var("RUNNEL_SCREENSHOT_SETTINGS") {
        std::fs::write(&path, c.screenshot().await.expect("screenshot")).expect("write screenshot");
    }
    let row_status = css(
        &c,
        "[data-testid=provider-row][data-provider-id=loopback] [data-testid=api-key-status]",
    )
    .await;
    assert_eq!(row_status.text().await.expect("text"), "set ····9876");
    click(
        &c,
        "[data-testid=provider-row][data-provider-id=loopback] [data-testid=provider-default]",
    )
    .await;
    click(&c, "[data-testid=settings-close]").await;
    eventually(20, "onboarding hidden", || async {
        onboarding
            .is_displayed()
            .await
            .ok()
            .filter(|d| !*d)
            .map(|_| ())
    })
    .await;

    // The conversation uses it; the model picker lists its /models.
    let provider = css(&c, "[data-testid=provider-select]").await;
    eventually(20, "provider selected", || async {
        (provider.prop("value").await.ok().flatten()? == "loopback").then_some(())
    })
    .await;
    // The picker lists every provider's models; this one's come from its /models.
    click(&c, "[data-testid=provider-select]").await;
    let options = eventually(20, "model options", || async {
        let v = c
            .execute("return Array.from(document.querySelectorAll('[data-testid=picker-model][data-provider-id=loopback]')).map(o => o.dataset.model)", vec![])
            .await
            .ok()?;
        let list: Vec<String> = serde_json::from_value(v).ok()?;
        (list.len() == 2).then_some(list)
    })
    .await;
    assert_eq!(options, vec!["model-a", "model-b"]);
    click(&c, "[data-testid=provider-select]").await;
    pick_model(&c, "model-b").await;
    let label = text(&c, "[data-testid=provider-select]").await;
    assert_eq!(label, serde_json::json!("Loopback · model-b"));

    let composer = css(&c, "[data-testid=composer]").await;
    composer.send_keys("hello").await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");
    let msg = css(&c, "[data-testid=message][data-role=assistant]").await;
    eventually(20, "answer", || async {
        (msg.attr("data-status").await.ok().flatten()? == "done").then_some(())
    })
    .await;
    assert_eq!(answer_text(&c, 0).await, "Hi from loopback");
    let chat = server.chat_requests();
    assert_eq!(
        chat[0].header("authorization").map(str::to_owned),
        Some(format!("Bearer {KEY}"))
    );
    assert_eq!(chat[0].json()["model"], "model-b");

    // The leak test's failing send: a 401.
    composer.send_keys("again").await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");
    let err = css(&c, "[data-testid=error][data-error-kind=auth]").await;
    let err_text = err.text().await.expect("error text");
    assert!(
        err_text.contains("<redacted>") && !err_text.contains(KEY),
        "{err_text}"
    );

    // The key appears 0 times in the page, the app's files, and the logs.
    let page = c.source().await.expect("page source");
    assert!(!page.contains(KEY), "the page source holds the key");
    assert!(page.contains("set ····9876"));
    let mut driver = driver;
    let app_dirs = driver.dirs.take().expect("app dirs");
    let dirs = app_dirs.0.clone();
    c.close().await.expect("close session");
    drop(driver);
    let mut scanned = 0;
    for sub in ["data", "config", "cache"] {
        let (hits, files) = common::files_containing(&dirs.join(sub), KEY);
        assert!(hits.is_empty(), "the key is in {hits:?}");
        scanned += files;
    }
    assert!(scanned >= 1, "the app wrote files to scan");

    let settings = std::fs::read_to_string(dirs.join("config/dev.runnel.app/settings.json"))
        .expect("settings saved");
    assert!(settings.contains("loopback") && settings.contains(&server.base_url()));
    let logs = std::fs::read_to_string(&log_file).expect("log file written");
    assert!(logs.contains("starting Runnel"), "logs were captured");
    assert!(!logs.contains(KEY), "the logs hold the key");
    drop(app_dirs);
    // Clean up the test keychain entry.
    let _ = runnel_core::keys::SecretStore::delete(
        &runnel_core::keys::OsKeychain::new(runnel_core::config::APP_ID),
        "loopback",
    );
}

async fn status_of_last_answer(c: &Client) -> Option<String> {
    let all = c
        .find_all(Locator::Css("[data-testid=message][data-role=assistant]"))
        .await
        .ok()?;
    all.last()?.attr("data-status").await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_survive_a_restart_search_jumps_to_a_message_and_export_matches() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, n| match n {
        0 => Reply::sse(common::answer_stream(&[
            "Alpha",
            " answer",
            " about",
            " **penguins**.",
        ])),
        1 => {
            let pieces = (0..600)
                .map(|i| {
                    (
                        Duration::from_millis(25),
                        content_event(&format!("beta{i} ")),
                    )
                })
                .collect();
            Reply::sse_pieces(pieces, End::Finish)
        }
        _ => Reply::sse(common::answer_stream(&["later"])),
    }))
    .await;
    let export = tempdirs::TempDirs::new();
    let export_path = export.0.join("chat.md");
    let export_str = export_path.to_string_lossy().into_owned();
    let base = server.base_url();
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &base),
        ("RUNNEL_MODEL", "e2e-model"),
        ("RUNNEL_EXPORT_PATH", &export_str),
    ])
    .await;
    let c = connect(&driver).await;

    // Conversation 1: a complete answer.
    send_text(&c, "Tell me about penguins").await;
    eventually(20, "first answer", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;

    // Conversation 2: New chat, then a stream stopped half way.
    click(&c, "[data-testid=clear]").await;
    send_text(&c, "Count for me").await;
    eventually(20, "streaming", || async {
        answer_text(&c, 0).await.contains("beta3").then_some(())
    })
    .await;
    click(&c, "[data-testid=cancel]").await;
    eventually(20, "cancelled", || async {
        (status_of_last_answer(&c).await? == "cancelled").then_some(())
    })
    .await;
    let partial = answer_text(&c, 0).await;
    // The list re-renders after each answer: read it fresh each time.
    eventually(
        20,
        "two conversations, the open one first and current",
        || async {
            let items = c
                .find_all(Locator::Css("[data-testid=conversation-item]"))
                .await
                .ok()?;
            let first_current = items.first()?.attr("aria-current").await.ok()??;
            (items.len() == 2 && first_current == "true").then_some(())
        },
    )
    .await;

    // Restart the app: a new session launches it again on the same data.
    let c = common::window::restart(&driver, c).await;
    if let Ok(path) = std::env::var("RUNNEL_SCREENSHOT_RESTART") {
        tokio::time::sleep(Duration::from_secs(2)).await;
        std::fs::write(&path, c.screenshot().await.expect("screenshot")).expect("write");
    }
    let titles = eventually(20, "both listed after the restart", || async {
        let items = c
            .find_all(Locator::Css(
                "[data-testid=conversation-item] [data-testid=conversation-title]",
            ))
            .await
            .ok()?;
        let mut t = Vec::new();
        for i in items {
            // WebKitWebDriver's rendered text is "" for these ellipsis-styled
            // titles although they are on screen: read the DOM text.
            t.push(i.prop("textContent").await.ok()??);
        }
        // A re-render can detach the elements mid-read: wait for real titles.
        (t.len() == 2 && t.iter().all(|x| !x.is_empty())).then_some(t)
    })
    .await;
    assert_eq!(
        titles,
        ["Count for me", "Tell me about penguins"],
        "newest first"
    );

    // The cancelled partial answer is there after the restart.
    click(&c, "[data-testid=conversation-item]").await;
    eventually(20, "stored partial", || async {
        (status_of_last_answer(&c).await? == "cancelled" && answer_text(&c, 0).await == partial)
            .then_some(())
    })
    .await;
    let user = css(
        &c,
        "[data-testid=message][data-role=user] [data-testid=user-text]",
    )
    .await;
    assert_eq!(user.text().await.expect("text"), "Count for me");

    // Search finds a word in the other conversation and jumps to its message.
    css(&c, "[data-testid=search]")
        .await
        .send_keys("penguin")
        .await
        .expect("search");
    let hit = css(&c, "[data-testid=search-result]").await;
    let hit_message = hit
        .attr("data-message-id")
        .await
        .expect("attr")
        .expect("message id");
    assert!(hit
        .text()
        .await
        .expect("text")
        .to_lowercase()
        .contains("penguins"));
    css(&c, "[data-testid=search-result] mark").await;
    hit.click().await.expect("open hit");
    let target = eventually(20, "highlighted message", || async {
        c.find(Locator::Css(&format!(
            "[data-message-id=\"{hit_message}\"][data-highlighted=true]"
        )))
        .await
        .ok()
    })
    .await;
    assert!(target
        .text()
        .await
        .expect("text")
        .to_lowercase()
        .contains("penguins"));
    let current = css(
        &c,
        "[data-testid=conversation-item][aria-current=true] [data-testid=conversation-title]",
    )
    .await;
    assert_eq!(
        current.prop("textContent").await.expect("title").as_deref(),
        Some("Tell me about penguins")
    );

    // Export writes a Markdown file whose text matches the conversation.
    menu_item(&c, "export-md").await;
    let md = eventually(20, "export file", || async {
        std::fs::read_to_string(&export_path).ok()
    })
    .await;
    assert!(md.starts_with("# Tell me about penguins\n"), "{md}");
    assert!(
        md.contains("## You\n\nTell me about penguins")
            && md.contains("## Assistant\n\nAlpha answer about **penguins**."),
        "{md}"
    );
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_killed_mid_stream_leaves_an_interrupted_answer_with_its_text() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, n| {
        if n == 0 {
            Reply::sse(common::answer_stream(&["A", " finished", " answer."]))
        } else {
            let pieces = (0..3000)
                .map(|i| (Duration::from_millis(10), content_event(&format!("k{i} "))))
                .collect();
            Reply::sse_pieces(pieces, End::Finish)
        }
    }))
    .await;
    let base = server.base_url();
    let mut driver =
        start_driver_with(&[("OPENAI_BASE_URL", &base), ("RUNNEL_MODEL", "e2e-model")]).await;
    let c = connect(&driver).await;
    send_text(&c, "First").await;
    eventually(20, "first answer", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    send_text(&c, "Second, long").await;
    eventually(20, "streaming", || async {
        (server.sent().len() > 60).then_some(())
    })
    .await;

    // The app's writer lock file is named after its pid.
    let dirs = driver.dirs.take().expect("dirs");
    let data = dirs.0.join("data/dev.runnel.app");
    let pid: i32 = std::fs::read_dir(data.join("writers"))
        .expect("writers dir")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .split('-')
                .next()?
                .parse()
                .ok()
        })
        .next()
        .expect("a writer lock");
    // SAFETY: signalling the app this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed_at = Instant::now();
    // kill() returns at once; the process releases its files (and its writer
    // lock) as it exits. Wait until it is gone or a zombie.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if state.is_empty()
            || state
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the app did not exit after SIGKILL"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(c);
    drop(driver);
    let must_have = server.sent_text_by(killed_at - Duration::from_millis(250), "k");

    // The last thread of a killed multi-threaded process releases its files a
    // few ms after the leader turns zombie: reopen until the writer is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (store, msgs) = loop {
        let store = runnel_core::store::Store::open(&data.join("runnel.sqlite3")).expect("reopen");
        let convs = store.list(None, 10).expect("list");
        assert_eq!(convs.len(), 1);
        let msgs = store.messages(&convs[0].id, None, 10).expect("messages");
        if msgs
            .last()
            .is_some_and(|m| m.status != runnel_core::store::MessageStatus::Streaming)
            || Instant::now() > deadline
        {
            break (store, msgs);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(store);
    let shown: Vec<(&str, &str)> = msgs
        .iter()
        .map(|m| (m.role.as_str(), m.status.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("user", "done"),
            ("assistant", "done"),
            ("user", "done"),
            ("assistant", "interrupted")
        ]
    );
    assert_eq!(
        msgs[1].content, "A finished answer.",
        "earlier messages are intact"
    );
    assert!(
        msgs[3].content.starts_with(&must_have),
        "kept {} chars; {} were sent 250 ms before the kill",
        msgs[3].content.len(),
        must_have.len()
    );
    eprintln!(
        "app kill -9: kept {} chars, {} were due",
        msgs[3].content.len(),
        must_have.len()
    );
    drop(dirs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerate_keeps_the_old_answer_behind_a_version_arrow() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, n| {
        Reply::sse(common::answer_stream(&[if n == 0 {
            "First take."
        } else {
            "Second take."
        }]))
    }))
    .await;
    let base = server.base_url();
    let driver =
        start_driver_with(&[("OPENAI_BASE_URL", &base), ("RUNNEL_MODEL", "e2e-model")]).await;
    let c = connect(&driver).await;
    send_text(&c, "Give me a take").await;
    eventually(20, "first answer", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    click(&c, "[data-testid=regenerate]").await;
    eventually(20, "second answer", || async {
        (answer_text(&c, 0).await == "Second take.").then_some(())
    })
    .await;
    // The conversation shows version 2 of 2; the arrow flips back to the kept first answer.
    eventually(20, "reload with versions", || async {
        let v = c
            .find(Locator::Css("[data-role=assistant] [data-testid=version]"))
            .await
            .ok()?;
        (v.text().await.ok()? == "2/2").then_some(())
    })
    .await;
    click(&c, "[data-role=assistant] [data-testid=version-prev]").await;
    eventually(20, "first answer again", || async {
        let v = c
            .find(Locator::Css("[data-role=assistant] [data-testid=version]"))
            .await
            .ok()?;
        (v.text().await.ok()? == "1/2" && answer_text(&c, 0).await == "First take.").then_some(())
    })
    .await;
    assert_eq!(server.chat_requests().len(), 2);
    let second = server.chat_requests()[1].json();
    let msgs = second["messages"].as_array().expect("messages");
    assert_eq!(
        msgs.len(),
        1,
        "regenerate sends the question without the answer it replaces: {msgs:?}"
    );
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_thinking_fills_the_thinking_section_then_the_answer() {
    if !can_run() {
        return;
    }
    let ev = |name: &str, data: serde_json::Value| {
        format!("event: {name}\ndata: {data}\n\n").into_bytes()
    };
    let server = TestServer::start(move |req, _| {
        if req.path_only().ends_with("/models") {
            return common::models_reply(&["claude-test"]);
        }
        let mut pieces = vec![
            (Duration::ZERO, ev("message_start", serde_json::json!({"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}}))),
            (Duration::ZERO, ev("content_block_start", serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))),
        ];
        for i in 0..40 {
            pieces.push((Duration::from_millis(30), ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": format!("step{i} ")}}))));
        }
        pieces.push((Duration::ZERO, ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}))));
        pieces.push((Duration::ZERO, ev("content_block_start", serde_json::json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}))));
        for w in ["The ", "answer ", "is ", "42."] {
            pieces.push((Duration::from_millis(30), ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": w}}))));
        }
        pieces.push((Duration::ZERO, ev("message_delta", serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 60}}))));
        pieces.push((Duration::ZERO, ev("message_stop", serde_json::json!({"type": "message_stop"}))));
        Reply::sse_pieces(pieces, End::Finish)
    })
    .await;
    let mut driver = start_driver_with(&[]).await;
    // A saved Anthropic provider on this machine (no key needed), the default.
    let dirs = driver.dirs.take().expect("dirs");
    let config = dirs.0.join("config/dev.runnel.app");
    std::fs::create_dir_all(&config).expect("config dir");
    let settings = serde_json::json!({
        "version": 1,
        "providers": [{"id": "claude-local", "name": "Claude (loopback)", "kind": "anthropic",
                       "base_url": format!("http://{}", server.addr), "default_model": "claude-test"}],
        "default_provider": "claude-local",
    });
    std::fs::write(config.join("settings.json"), settings.to_string()).expect("settings");
    driver.dirs = Some(dirs);
    let c = connect(&driver).await;

    let toggle = css(&c, "[data-testid=thinking-toggle]").await;
    eventually(20, "thinking toggle shown", || async {
        toggle.is_displayed().await.ok().filter(|d| *d).map(|_| ())
    })
    .await;
    toggle.click().await.expect("enable thinking");
    send_text(&c, "What is the answer?").await;

    // The Thinking section fills while it streams, open.
    let reasoning = css(&c, "[data-testid=reasoning]").await;
    eventually(20, "thinking streams", || async {
        let html = reasoning.html(false).await.ok()?;
        (html.contains("step3") && reasoning.attr("open").await.ok()?.is_some()).then_some(())
    })
    .await;
    assert!(
        answer_text(&c, 0).await.is_empty(),
        "no answer text yet while thinking"
    );
    // Then the answer, with the Thinking section collapsed.
    eventually(20, "answer done", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    assert_eq!(answer_text(&c, 0).await, "The answer is 42.");
    assert!(
        reasoning.attr("open").await.expect("attr").is_none(),
        "collapsed when the answer started"
    );
    assert!(reasoning
        .html(false)
        .await
        .expect("html")
        .contains("step39"));
    let body = server.chat_requests_any().pop().expect("request").json();
    assert_eq!(body["thinking"]["budget_tokens"], 4096);
    assert_eq!(body["model"], "claude-test");
    c.close().await.expect("close");
}

// Hostile content and the window's key canary (issue 12's proof).

/// OWASP XSS filter-evasion style vectors; each runs `__pwned` if it ever executes.
const VECTORS: &[&str] = &[
    "<script>window.__pwned=1</script>",
    "<SCRIPT SRC=//x.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:window.__pwned=1\">",
    "<IMG SRC=javascript:window.__pwned=1>",
    "<IMG SRC=JaVaScRiPt:window.__pwned=1>",
    "<IMG SRC=`javascript:window.__pwned=1`>",
    "<a onmouseover=\"window.__pwned=1\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>window.__pwned=1</SCRIPT>\"\\>",
    "<IMG SRC=# onmouseover=\"window.__pwned=1\">",
    "<IMG SRC= onmouseover=\"window.__pwned=1\">",
    "<IMG onmouseover=\"window.__pwned=1\">",
    "<IMG SRC=/ onerror=\"window.__pwned=1\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058window.__pwned=1\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;window.__pwned=1>",
    "<IMG SRC=\"jav\tascript:window.__pwned=1;\">",
    "<IMG SRC=\"jav&#x09;ascript:window.__pwned=1;\">",
    "<IMG SRC=\" &#14;  javascript:window.__pwned=1;\">",
    "<SCRIPT/XSS SRC=\"http://x.example/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=window.__pwned=1>",
    "<<SCRIPT>window.__pwned=1;//<</SCRIPT>",
    "<SCRIPT SRC=http://x.example/xss.js?< B >",
    "<IMG SRC=\"`<javascript:window.__pwned=1>`\"",
    "</TITLE><SCRIPT>window.__pwned=1;</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:window.__pwned=1;\">",
    "<BODY BACKGROUND=\"javascript:window.__pwned=1\">",
    "<IMG DYNSRC=\"javascript:window.__pwned=1\">",
    "<STYLE>li {list-style-image: url(\"javascript:window.__pwned=1\");}</STYLE><UL><LI>XSS</br>",
    "<svg/onload=window.__pwned=1>",
    "<svg><script>window.__pwned=1</script></svg>",
    "<BODY ONLOAD=window.__pwned=1>",
    "<BGSOUND SRC=\"javascript:window.__pwned=1;\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:window.__pwned=1;\">",
    "<STYLE>@import'http://x.example/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:window.__pwned=1;\">",
    "<IFRAME SRC=\"javascript:window.__pwned=1;\"></IFRAME>",
    "<IFRAME SRC=# onmouseover=\"window.__pwned=1\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:window.__pwned=1;\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:window.__pwned=1\">",
    "<DIV STYLE=\"background-image: url(javascript:window.__pwned=1)\">",
    "<DIV STYLE=\"width: expression(window.__pwned=1);\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://x.example/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9d2luZG93Ll9fcHduZWQ9MT4=\" type=\"image/svg+xml\">",
    "<details open ontoggle=window.__pwned=1>",
    "<video><source onerror=\"window.__pwned=1\">",
    "<audio src=x onerror=window.__pwned=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=1>",
    "<form><button formaction=javascript:window.__pwned=1>X</button>",
    "<isindex type=image src=1 onerror=window.__pwned=1>",
    "<marquee onstart=window.__pwned=1>",
    "<base href=\"javascript:window.__pwned=1//\">",
    "\"><script>window.__pwned=1</script>",
    "'><img src=x onerror=window.__pwned=1>",
    "<div class=\"error\" data-testid=\"error\" data-error-kind=\"auth\">Fake app error: enter your key here</div>",
    "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">covers the app</div>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__pwned=1>\">",
    "<template><img src=x onerror=window.__pwned=1></template>",
    "<object data=\"javascript:window.__pwned=1\">",
    "<a href=\"javascript&colon;window.__pwned=1\">click</a>",
    "<a href=\"&#106;avascript:window.__pwned=1\">click</a>",
    "<img src=\"x\" onerror=\"eval(atob('d2luZG93Ll9fcHduZWQ9MQ=='))\">",
];

/// Markdown tricks (links, images, fences, autolinks).
const MARKDOWN: &[&str] = &[
    "[click](javascript:window.__pwned=1)",
    "[click](JaVaScRiPt:window.__pwned=1)",
    "[click](  javascript:window.__pwned=1  )",
    "[click](&#106;avascript:window.__pwned=1)",
    "[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)",
    "[click](vbscript:window.__pwned=1)",
    "[click](file:///etc/passwd)",
    "[https://bank.example](https://evil.example)",
    "[a](https://example.com \"title\\\" onmouseover=\\\"window.__pwned=1\")",
    "![img](javascript:window.__pwned=1)",
    "![img](https://x.example/track.png)",
    "![img\"onerror=\"window.__pwned=1](x)",
    "<javascript:window.__pwned=1>",
    "<https://example.com/\"onmouseover=\"window.__pwned=1>",
    "[ref]\n\n[ref]: javascript:window.__pwned=1",
    "```sh\tsr-only\nhidden text\n```",
    "```\" onmouseover=\"window.__pwned=1\nx\n```",
    "```error message\nfake error box\n```",
    "`<script>window.__pwned=1</script>`",
    "| a | <img src=x onerror=window.__pwned=1> |\n|---|---|\n| <script>window.__pwned=1</script> | b |",
    "> <img src=x onerror=window.__pwned=1>",
    "- [ ] <img src=x onerror=window.__pwned=1>",
    "**<img src=x onerror=window.__pwned=1>**",
    "[<img src=x onerror=window.__pwned=1>](https://example.com)",
    "<!-- --><script>window.__pwned=1</script><!-- -->",
    "\\<script>window.__pwned=1\\</script>",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
    "<scr<script>ipt>window.__pwned=1</scr</script>ipt>",
];

/// Every payload in every context (plain paragraph, list item, quote,
/// table cell): well over 100 in all.
fn answer() -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    for v in VECTORS {
        out.push_str(&format!("{v}\n\n- item {v}\n\n> {v}\n\n"));
        n += 3;
    }
    for m in MARKDOWN {
        out.push_str(&format!("{m}\n\n"));
        n += 1;
    }
    out.push_str("marker-word-zebra\n");
    (out, n)
}

/// What must hold after every step: nothing ran, and nothing the model or a
/// server wrote is outside its box or carries active content.
const SAFE: &str = r#"
const list = document.querySelector('[data-testid=message-list]');
const boxes = [...document.querySelectorAll('[data-testid=answer], [data-testid=error], [data-testid=user-text], [data-testid=conversation-title], [data-testid=search-result], [data-testid=provider-line]')];
const active = ['script','iframe','frame','object','embed','style','link','meta','base','form','svg','img','video','audio','template','details','marquee','body','input'];
const bad = [];
for (const box of boxes) {
  for (const e of box.querySelectorAll('*')) {
    const tag = e.tagName.toLowerCase();
    // The page's own icons (the code block's copy button) are the one svg allowed.
    const ownIcon = e.closest('[data-testid=code-copy]') && e.closest('svg')?.getAttribute('class') === 'i';
    if (active.includes(tag) && !ownIcon && !(tag === 'input' && e.type === 'checkbox' && e.disabled)) bad.push('tag ' + tag);
    // MathML comes only from the backend's renderer, which keeps each formula's source.
    if (tag === 'math' && !e.querySelector(':scope > semantics > annotation[encoding="application/x-tex"]')) bad.push('math without its source');
    for (const at of e.getAttributeNames()) {
      if (at.startsWith('on') || at === 'style' || at === 'formaction') bad.push(tag + ' @' + at);
      if (at === 'data-testid' && !['code-copy', 'code-lang'].includes(e.getAttribute(at) ?? '')) bad.push(tag + ' testid ' + e.getAttribute(at));
    }
    // The page's own boxes (errors, toasts, banners, hidden text) are never imitated.
    if (/(^|\s)(sr-only|error|toast|banner|message|setup-banner)(\s|$)/.test(e.getAttribute('class') || '')) bad.push(tag + ' .' + e.getAttribute('class'));
    // A link the sanitizer disarmed has no href at all: inert text.
    if (tag === 'a' && e.hasAttribute('href') && !/^(https?:|mailto:)/i.test(e.getAttribute('href') || '')) bad.push('a href=' + e.getAttribute('href'));
  }
}
for (const child of list.children) {
  if (!child.matches('[data-testid=message]')) bad.push('outside a message: ' + child.tagName);
}
if (window.__pwned !== undefined) bad.push('__pwned=' + window.__pwned);
return bad;
"#;

async fn assert_safe(c: &Client, step: &str) {
    let bad = js(c, SAFE).await;
    assert_eq!(bad, serde_json::json!([]), "after {step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_hundred_hostile_payloads_never_run_or_escape_their_box() {
    if !can_run() {
        return;
    }
    let (text, payloads) = answer();
    assert!(payloads >= 100, "{payloads} payloads");
    let mut body = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for chunk in chars.chunks(7) {
        body.extend(content_event(&chunk.iter().collect::<String>()));
    }
    body.extend(finish_events("stop", 10, 500));
    let hostile_error = "<html><body><script>window.__pwned=5</script><img src=x onerror=window.__pwned=6>denied</body></html>";
    let chats = std::sync::atomic::AtomicUsize::new(0);
    let server = TestServer::start(move |req, _| {
        if req.path_only().ends_with("/models") {
            return Reply::json(
                200,
                &serde_json::json!({"data": [{"id": "<img src=x onerror=window.__pwned=8>"}]}),
            );
        }
        if chats
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            .is_multiple_of(2)
        {
            Reply::sse(body.clone())
        } else {
            Reply::text(400, hostile_error)
        }
    })
    .await;
    let base = server.base_url();
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", base.as_str()),
        ("RUNNEL_MODEL", "<img src=x onerror=window.__pwned=7>"),
    ])
    .await;
    let c = connect(&driver).await;

    // The title comes from a hostile first message.
    send_text(
        &c,
        "<img src=x onerror=window.__pwned=3> hello <script>window.__pwned=4</script>",
    )
    .await;
    wait_for(
        &c,
        "const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop(); return !!a && a.dataset.status === 'done'",
        "the hostile answer",
    )
    .await;
    assert_safe(&c, "streaming the answer").await;

    // A server error body with HTML.
    send_text(&c, "again").await;
    wait_for(
        &c,
        "const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop(); return !!a && a.dataset.status === 'error'",
        "the hostile error",
    )
    .await;
    assert_safe(&c, "a hostile error body").await;

    // Reopen from the store (rendered again, from the database).
    c.find(Locator::Css("[data-testid=conversation-item]"))
        .await
        .expect("the conversation")
        .click()
        .await
        .expect("open");
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=message]').length >= 4",
        "the reopened conversation",
    )
    .await;
    assert_safe(&c, "reopening").await;

    // Search snippets around hostile text.
    let search = c
        .find(Locator::Css("[data-testid=search]"))
        .await
        .expect("search");
    search.send_keys("onerror").await.expect("type");
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=search-result]').length > 0",
        "search results",
    )
    .await;
    assert_safe(&c, "search snippets").await;
    println!("hostile content: {payloads} payloads in answers, plus a title, an error body, a model name and search snippets; none ran or escaped");
}

/// The window's part of the key canary: a key echoed by the server in a
/// retried 500, a 401 and an in-stream error never reaches the page (its
/// whole source) or any file under the app's data, config and cache dirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_never_reaches_the_page_or_the_apps_files() {
    if !can_run() {
        return;
    }
    const CANARY: &str = "sk-canary-window-4d2e8f0a9c71";
    let sends = std::sync::atomic::AtomicUsize::new(0);
    let echo = format!("invalid key {CANARY}");
    let server = TestServer::start(move |req, _| {
        if req.path_only().ends_with("/models") {
            return Reply::json(200, &serde_json::json!({"data": [{"id": "m"}]}));
        }
        match sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            // The first send: a 500 (retried, then reported), echoing the key.
            0..=2 => Reply::text(500, &echo),
            3 => Reply::text(401, &echo),
            _ => {
                let mut b = content_event("partial ");
                b.extend(
                    format!("data: {{\"error\": {{\"message\": \"{echo}\"}}}}\n\n").into_bytes(),
                );
                Reply::sse(b)
            }
        }
    })
    .await;
    // A loopback server: the key is sent, and echoed back.
    let base = server.base_url();
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", base.as_str()),
        ("RUNNEL_MODEL", "m"),
        ("OPENAI_API_KEY", CANARY),
    ])
    .await;
    let c = connect(&driver).await;
    for (n, text) in ["one", "two", "three"].into_iter().enumerate() {
        send_text(&c, text).await;
        wait_for(
            &c,
            &format!("const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')]; return a.length === {} && a[{}].dataset.status === 'error'", n + 1, n),
            "an error",
        )
        .await;
        let page = c.source().await.expect("page source");
        assert!(page.contains("redacted"), "the echo was shown, redacted");
        assert!(
            !page.contains(CANARY),
            "the key is in the page after send {text}"
        );
    }
    drop(c);
    let home = driver.dirs.as_ref().expect("the app's dirs").0.clone();
    let (hits, scanned) = common::files_containing(&home, CANARY);
    assert!(scanned > 0);
    assert!(hits.is_empty(), "the key is in {hits:?}");
    println!("window key canary: page source after 3 echoes and {scanned} files under data, config and cache: 0 hits");
}

/// The cost of each answer under it and the conversation's in the header,
/// from the built-in price of `gpt-5-mini` and the server's usage with cached
/// tokens, also after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_show_their_cost_and_the_header_the_conversations_after_a_restart() {
    if !can_run() {
        return;
    }
    let usage = serde_json::json!({"choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 200,
        "prompt_tokens_details": {"cached_tokens": 400}}});
    let body = [
        content_event("Priced."),
        format!("data: {usage}\n\ndata: [DONE]\n\n").into_bytes(),
    ]
    .concat();
    let server = TestServer::start(chat_and_models(&["gpt-5-mini"], move |_, _| {
        Reply::sse(body.clone())
    }))
    .await;
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "gpt-5-mini"),
    ])
    .await;
    let c = connect(&driver).await;
    // 600 fresh prompt tokens at $0.25, 400 cached at $0.025, 200 out at $2
    // per million.
    let one = (600.0 * 0.25 + 400.0 * 0.025 + 200.0 * 2.0) / 1e6;
    let costs = r#"return [...document.querySelectorAll('[data-testid=message][data-role=assistant] [data-testid=metrics]')]
        .map((m) => Number(m.getAttribute('data-cost-usd')))"#;
    let header = "return Number(document.querySelector('[data-testid=conversation-cost]').getAttribute('data-cost-usd'))";
    let near = |v: &serde_json::Value, x: f64| v.as_f64().is_some_and(|v| (v - x).abs() < 1e-12);
    for n in 1..=2 {
        send_text(&c, &format!("Question {n}")).await;
        eventually(20, "the answer and its cost", || async {
            let v = js(&c, costs).await;
            let list = v.as_array()?;
            (list.len() == n && list.iter().all(|x| near(x, one))).then_some(())
        })
        .await;
    }
    eventually(10, "the conversation's cost in the header", || async {
        near(&js(&c, header).await, 2.0 * one).then_some(())
    })
    .await;
    let line = text(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=metrics]",
    )
    .await;
    assert!(line.ends_with("$0.000560"), "{line}");
    assert_eq!(
        js(
            &c,
            "return document.querySelector('[data-testid=conversation-cost]').hidden"
        )
        .await,
        serde_json::json!(false)
    );

    // After a restart the stored answers are priced the same.
    let c = common::window::restart(&driver, c).await;
    click(&c, "[data-testid=conversation-item]").await;
    eventually(20, "stored answers priced", || async {
        let v = js(&c, costs).await;
        let list = v.as_array()?;
        (list.len() == 2 && list.iter().all(|x| near(x, one))).then_some(())
    })
    .await;
    eventually(10, "the header's sum after the restart", || async {
        near(&js(&c, header).await, 2.0 * one).then_some(())
    })
    .await;
    // A new chat has no cost to show.
    click(&c, "[data-testid=clear]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=conversation-cost]').hidden",
        "the cost hidden in a new chat",
    )
    .await;
    let _ = c.close().await;
}

/// Inspect (issue 16): the panel of an answer shows its events with the
/// timeline, searches them, copies the request as curl without the key, and
/// exports the bytes as received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_shows_an_answers_events_and_exports_its_bytes_without_the_key() {
    if !can_run() {
        return;
    }
    let mut pieces = vec![(Duration::ZERO, b": keep-alive\n\n".to_vec())];
    for w in ["Alpha", " beta", " gamma"] {
        pieces.push((Duration::from_millis(30), content_event(w)));
    }
    // A stall over 500 ms before the end.
    pieces.push((Duration::from_millis(700), finish_events("stop", 5, 3)));
    let body: Vec<u8> = pieces.iter().flat_map(|(_, b)| b.clone()).collect();
    let reply = Reply::sse_pieces(pieces, End::Finish);
    let server =
        TestServer::start(chat_and_models(&["e2e-model"], move |_, _| reply.clone())).await;
    let export = tempdirs::TempDirs::new();
    let export_path = export.0.join("trace.sse");
    let export_str = export_path.to_string_lossy().into_owned();
    let base = server.base_url();
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &base),
        ("OPENAI_API_KEY", "sk-e2e-canary-4411"),
        ("RUNNEL_MODEL", "e2e-model"),
        ("RUNNEL_EXPORT_PATH", &export_str),
    ])
    .await;
    let c = connect(&driver).await;
    send_text(&c, "Inspect me").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=message][data-role=assistant]')?.getAttribute('data-status') === 'done' && !!document.querySelector('[data-testid=message][data-role=assistant]')?.getAttribute('data-message-id')",
        "the answer stored",
    )
    .await;
    click(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=inspect-open]",
    )
    .await;
    wait_for(
        &c,
        "return !!document.querySelector('[data-testid=inspect]')?.open",
        "the panel",
    )
    .await;
    // 3 content events, the finish and usage events and [DONE], and the comment.
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=inspect-event]').length === 7",
        "every event listed",
    )
    .await;
    let summary = text(&c, "[data-testid=inspect-summary]").await;
    assert!(summary.starts_with("6 events"), "{summary}");
    assert!(summary.contains("1 stalls"), "{summary}");
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('[data-testid=inspect-stall]').length"
        )
        .await,
        serde_json::json!(1)
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('[data-testid=inspect-ttft]').length"
        )
        .await,
        serde_json::json!(1)
    );
    // Payloads enter as text: the raw JSON is there, as characters.
    let events = text(&c, "[data-testid=inspect-events]").await;
    assert!(events.contains(r#""content":" gamma""#), "{events}");
    // Search narrows the list.
    let search = css(&c, "[data-testid=inspect-search]").await;
    search.send_keys("gamma").await.expect("type");
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=inspect-event]').length === 1",
        "one match",
    )
    .await;
    // The request: headers without the key; the export: the bytes as sent.
    let exchange = js(
        &c,
        "return document.querySelector('[data-testid=inspect-exchange]').textContent",
    )
    .await;
    let exchange = exchange.as_str().expect("text");
    assert!(exchange.contains("POST http://"), "{exchange}");
    assert!(exchange.contains("authorization: <redacted>"), "{exchange}");
    let page = js(&c, "return document.documentElement.outerHTML").await;
    assert!(
        !page.as_str().unwrap_or("").contains("sk-e2e-canary-4411"),
        "no key in the page"
    );
    click(&c, "[data-testid=inspect-export-sse]").await;
    let written = eventually(20, "the .sse file", || async {
        std::fs::read(&export_path).ok().filter(|b| !b.is_empty())
    })
    .await;
    assert_eq!(written, body, "the bytes as received");
    click(&c, "[data-testid=inspect-close]").await;
    wait_for(
        &c,
        "return !document.querySelector('[data-testid=inspect]')",
        "closed",
    )
    .await;
    let _ = c.close().await;
}

/// Usage and prices in Settings (issue 16): a price set in the window prices
/// the answers, the Usage view draws the days and sums the models, and the
/// user's price can be removed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_usage_view_sums_answers_and_prices_are_set_and_removed() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["my-model"], |_, _| {
        Reply::sse(common::answer_stream(&["one", " two"]))
    }))
    .await;
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "my-model"),
    ])
    .await;
    let c = connect(&driver).await;
    for q in ["First", "Second"] {
        send_text(&c, q).await;
        wait_for(
            &c,
            "return [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].every((m) => m.getAttribute('data-status') === 'done')",
            "answered",
        )
        .await;
    }
    click(&c, "[data-testid=settings-open]").await;
    // The built-in prices list their source; none for my-model yet.
    wait_for(
        &c,
        "return !!document.querySelector('[data-testid=price-row][data-model=gpt-5-mini][data-origin=builtin]')",
        "the built-in prices",
    )
    .await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=usage-row][data-model=my-model] [data-cost-usd]')?.textContent === '-'",
        "usage without a price",
    )
    .await;
    // Set a price: 10 USD per million in and out; each answer is 5 in, 2 out.
    for (id, v) in [
        ("price-model", "my-model"),
        ("price-input", "10"),
        ("price-output", "10"),
    ] {
        css(&c, &format!("[data-testid={id}]"))
            .await
            .send_keys(v)
            .await
            .expect("type");
    }
    click(&c, "[data-testid=price-save]").await;
    wait_for(
        &c,
        "return !!document.querySelector('[data-testid=price-row][data-model=my-model][data-origin=user]')",
        "my price listed",
    )
    .await;
    let expected = 2.0 * (5.0 + 2.0) * 10.0 / 1e6;
    let cost = eventually(20, "the usage priced", || async {
        let v = js(&c, "return Number(document.querySelector('[data-testid=usage-row][data-model=my-model] [data-cost-usd]')?.getAttribute('data-cost-usd'))").await;
        v.as_f64().filter(|x| (x - expected).abs() < 1e-12)
    })
    .await;
    assert!((cost - expected).abs() < 1e-12);
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('[data-testid=usage-bar]').length"
        )
        .await,
        serde_json::json!(1),
        "one day"
    );
    let total = text(&c, "[data-testid=usage-total]").await;
    assert!(total.contains('2'), "{total}");
    // A bad price is refused with a clear error; removing mine lists it no more.
    css(&c, "[data-testid=price-model]")
        .await
        .send_keys("x")
        .await
        .expect("type");
    css(&c, "[data-testid=price-input]")
        .await
        .send_keys("-5")
        .await
        .expect("type");
    css(&c, "[data-testid=price-output]")
        .await
        .send_keys("1")
        .await
        .expect("type");
    click(&c, "[data-testid=price-save]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=price-error]').textContent.includes('input price')",
        "the error",
    )
    .await;
    click(
        &c,
        "[data-testid=price-row][data-model=my-model] [data-testid=price-remove]",
    )
    .await;
    wait_for(
        &c,
        "return !document.querySelector('[data-testid=price-row][data-model=my-model]')",
        "removed",
    )
    .await;
    let _ = c.close().await;
}

/// Types `prompt` and sends it to `models` (each on the environment's
/// provider) through the composer's Compare box.
async fn compare(c: &Client, prompt: &str, models: &[&str]) {
    css(c, "[data-testid=composer]")
        .await
        .send_keys(prompt)
        .await
        .expect("type");
    click(c, "[data-testid=compare-toggle]").await;
    for (i, model) in models.iter().enumerate() {
        js(
            c,
            &format!(
                "const s = document.querySelectorAll('[data-testid=compare-provider]')[{i}]; s.value = 'env'; s.dispatchEvent(new Event('change'));"
            ),
        )
        .await;
        c.find_all(Locator::Css("[data-testid=compare-model]"))
            .await
            .expect("model inputs")[i]
            .send_keys(model)
            .await
            .expect("type");
    }
    click(c, "[data-testid=compare-send]").await;
}

/// Regression (Compare's four columns wrapped): at the default window size
/// four Compare columns sat three in a row and the fourth under them, so the
/// list, kept at its bottom, scrolled the first row's answers out of view
/// while they streamed. Four now sit side by side, none narrower than 160 px,
/// and a narrow window still wraps them rather than squeezing them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_four_columns_sit_side_by_side_at_the_default_window_size() {
    if !can_run() {
        return;
    }
    const MODELS: &[&str] = &["model-a", "model-b", "model-c", "model-d"];
    let server = TestServer::start(chat_and_models(MODELS, |_, _| {
        Reply::sse(common::answer_stream(&[
            "An", " answer", " of", " some", " words.",
        ]))
    }))
    .await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    compare(&c, "Which is better?", MODELS).await;
    wait_for(
        &c,
        "const cols = [...document.querySelectorAll('[data-testid=compare-column]')]; return cols.length === 4 && cols.every((c) => c.getAttribute('data-status') === 'done')",
        "four columns done",
    )
    .await;
    let rects = "return [...document.querySelectorAll('[data-testid=compare-column]')].map((e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width]; })";
    let cols = js(&c, rects).await;
    let cols: Vec<[f64; 3]> = serde_json::from_value(cols).expect("rects");
    assert!(
        cols.iter().all(|r| (r[1] - cols[0][1]).abs() < 1.0),
        "all four in one row: {cols:?}"
    );
    assert!(
        cols.windows(2).all(|w| w[1][0] >= w[0][0] + w[0][2]),
        "side by side, in order, none over another: {cols:?}"
    );
    assert!(
        cols.iter().all(|r| r[2] >= 160.0),
        "none under 160 px: {cols:?}"
    );
    // A window too narrow for four keeps each column readable: they wrap.
    c.set_window_size(700, 780)
        .await
        .expect("narrow the window");
    wait_for(
        &c,
        "const cols = [...document.querySelectorAll('[data-testid=compare-column]')]; return new Set(cols.map((e) => Math.round(e.getBoundingClientRect().top))).size > 1",
        "the columns wrap in a narrow window",
    )
    .await;
    let cols: Vec<[f64; 3]> = serde_json::from_value(js(&c, rects).await).expect("rects");
    assert!(
        cols.iter().all(|r| r[2] >= 160.0),
        "none under 160 px when narrow: {cols:?}"
    );
    let _ = c.close().await;
}

/// Compare in the window (issue 16): two models answer one prompt side by
/// side, one is stopped while the other finishes, the other is picked to
/// continue with, and after a restart the turn holds both as versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_columns_stream_side_by_side_stop_one_and_pick_the_other() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["model-a", "model-b"], |req, _| {
        if req.json()["model"] == "model-b" {
            // Slow: stopped by the test half way.
            let pieces = (0..400)
                .map(|i| (Duration::from_millis(25), content_event(&format!("b{i} "))))
                .collect();
            Reply::sse_pieces(pieces, End::Finish)
        } else {
            Reply::sse(common::answer_stream(&["Answer", " from", " A."]))
        }
    }))
    .await;
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "model-a"),
    ])
    .await;
    let c = connect(&driver).await;
    compare(&c, "Which is better?", &["model-a", "model-b"]).await;
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=compare-column]').length === 2",
        "two columns",
    )
    .await;
    // B streams while A is done; Stop B alone.
    wait_for(
        &c,
        "const [a, b] = document.querySelectorAll('[data-testid=compare-column]'); return a.getAttribute('data-status') === 'done' && b.getAttribute('data-status') === 'streaming' && b.textContent.includes('b3')",
        "A done while B streams",
    )
    .await;
    click(
        &c,
        "[data-testid=compare-column][data-column='1'] [data-testid=compare-stop]",
    )
    .await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=compare-column][data-column=\"1\"]').getAttribute('data-status') === 'cancelled'",
        "B stopped",
    )
    .await;
    let a_text = text(
        &c,
        "[data-testid=compare-column][data-column='0'] [data-testid=answer]",
    )
    .await;
    assert_eq!(a_text, "Answer from A.");
    // Each column has its metrics.
    assert_eq!(
        js(&c, "return document.querySelectorAll('[data-testid=compare-column] [data-testid=metrics]').length").await,
        serde_json::json!(2)
    );
    // Pick A: the conversation continues with it; B is kept as a version.
    click(
        &c,
        "[data-testid=compare-column][data-column='0'] [data-testid=compare-pick]",
    )
    .await;
    wait_for(
        &c,
        "return !document.querySelector('[data-testid=compare-columns]') && document.querySelector('[data-testid=message][data-role=assistant] [data-testid=answer]')?.textContent.trim() === 'Answer from A.'",
        "A chosen",
    )
    .await;
    let c = common::window::restart(&driver, c).await;
    click(&c, "[data-testid=conversation-item]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=message][data-role=assistant] [data-testid=answer]')?.textContent.trim() === 'Answer from A.' && !!document.querySelector('[data-testid=message][data-role=assistant] [data-testid=version]')",
        "A shown with its versions after a restart",
    )
    .await;
    let label = text(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=version]",
    )
    .await;
    assert_eq!(label, "1/2", "A, the first of two versions");
    let _ = c.close().await;
}

/// Rich rendering (issue 17): fenced code is highlighted while it streams and
/// after a restart, with its language shown and Copy taking the bare code;
/// math is MathML; dollar amounts and the model's own markup stay text; the
/// conversation exports as one page with no script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_is_highlighted_math_typeset_and_the_page_export_has_no_script() {
    if !can_run() {
        return;
    }
    const ANSWER: &str = "Code:\n\n```rust\nfn main() {\n    let s = \"<b>\"; // note\n}\n```\n\nEuler: $e^{i\\pi} + 1 = 0$, and\n\n$$\\frac{a}{b}$$\n\nIt costs $5 and $10. <span class=\"hl-keyword\">raw</span> <math><mi>m</mi></math>\n";
    const CODE: &str = "fn main() {\n    let s = \"<b>\"; // note\n}\n";
    let chars: Vec<char> = ANSWER.chars().collect();
    let mut pieces: Vec<_> = chars
        .chunks(3)
        .map(|c| {
            (
                Duration::from_millis(4),
                content_event(&c.iter().collect::<String>()),
            )
        })
        .collect();
    pieces.push((Duration::ZERO, finish_events("stop", 5, 60)));
    let reply = Reply::sse_pieces(pieces, End::Finish);
    let server =
        TestServer::start(chat_and_models(&["e2e-model"], move |_, _| reply.clone())).await;
    let export = tempdirs::TempDirs::new();
    let export_path = export.0.join("chat.html");
    let export_str = export_path.to_string_lossy().into_owned();
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "e2e-model"),
        ("RUNNEL_EXPORT_PATH", &export_str),
    ])
    .await;
    let mut c = connect(&driver).await;
    send_text(&c, "Show me").await;
    eventually(20, "the answer done", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    // What the window shows, streamed or reopened.
    let check = r#"
const a = document.querySelector('[data-testid=message][data-role=assistant] [data-testid=answer]');
const code = a.querySelector('pre code.language-rust');
const kw = code && [...code.querySelectorAll('span')].find((s) => s.className === 'hl-keyword');
const comment = code && code.querySelector('span.hl-comment');
return {
  code: code ? code.textContent : null,
  spans: code ? code.querySelectorAll('span[class^="hl-"]').length : 0,
  keywordColour: kw ? getComputedStyle(kw).color : null,
  plainColour: code ? getComputedStyle(code).color : null,
  commentItalic: comment ? getComputedStyle(comment).fontStyle : null,
  lang: a.querySelector('[data-testid=code-lang]')?.textContent ?? null,
  maths: a.querySelectorAll('math').length,
  frac: a.querySelectorAll('math mfrac').length,
  blockMaths: a.querySelectorAll('math[display=block]').length,
  text: a.textContent,
  rawSpans: [...a.querySelectorAll('span')].filter((s) => s.textContent === 'raw').length,
  styled: a.querySelectorAll('[style]').length,
};"#;
    for step in ["streamed", "reopened"] {
        let v = js(&c, check).await;
        assert_eq!(v["code"], CODE, "{step}: the code as written: {v}");
        assert!(
            v["spans"].as_u64().unwrap_or(0) >= 3,
            "{step}: highlighted: {v}"
        );
        assert_ne!(
            v["keywordColour"], v["plainColour"],
            "{step}: keywords coloured: {v}"
        );
        assert_eq!(v["commentItalic"], "italic", "{step}: {v}");
        assert_eq!(v["lang"], "rust", "{step}: {v}");
        assert_eq!(v["maths"], 2, "{step}: two formulas: {v}");
        assert_eq!(v["frac"], 1, "{step}: {v}");
        assert_eq!(v["blockMaths"], 1, "{step}: {v}");
        let shown = v["text"].as_str().unwrap_or("");
        assert!(
            shown.contains("It costs $5 and $10."),
            "{step}: dollars stay text: {v}"
        );
        assert!(
            shown.contains("<span class=\"hl-keyword\">raw</span>"),
            "{step}: {v}"
        );
        assert!(shown.contains("<math><mi>m</mi></math>"), "{step}: {v}");
        assert_eq!(v["rawSpans"], 0, "{step}: model markup is text: {v}");
        assert_eq!(v["styled"], 0, "{step}: no inline styles: {v}");
        assert_safe(&c, step).await;
        if step == "streamed" {
            c = common::window::restart(&driver, c).await;
            click(&c, "[data-testid=conversation-item]").await;
            eventually(20, "the stored answer", || async {
                let v = js(&c, check).await;
                (v["maths"] == 2).then_some(())
            })
            .await;
        }
    }
    // Copy on the code block takes the bare code.
    let copied = js(
        &c,
        r#"const pre = document.querySelector('[data-testid=answer] pre');
           return pre.closest('.code-wrap').querySelector('[data-testid=code-copy]') ? pre.textContent : null;"#,
    )
    .await;
    assert_eq!(copied, CODE);

    menu_item(&c, "export-html").await;
    let page = eventually(20, "the exported page", || async {
        std::fs::read_to_string(&export_path).ok()
    })
    .await;
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("<span class=\"hl-"), "{page}");
    assert_eq!(page.matches("<math").count(), 2, "{page}");
    assert!(!page.to_ascii_lowercase().contains("<script"), "{page}");
    assert!(
        !page.contains(" onerror=") && !page.contains(" onload="),
        "{page}"
    );
    let _ = c.close().await;
}

/// A long answer with many code blocks (issue 17, regression: frames grew with
/// every highlighted block in the page): a block far above the view keeps its
/// text but not its spans, and has them back once it is scrolled to, with the
/// same text and Copy taking the same code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_far_from_view_is_parked_and_highlighted_again_before_it_is_seen() {
    if !can_run() {
        return;
    }
    const BLOCKS: usize = 80;
    let block = |i: usize| {
        let lines: String = (0..30)
            .map(|l| format!("    let v{l} = {i} + {l}; // line {l}\n"))
            .collect();
        format!("fn block{i}() {{\n{lines}}}\n")
    };
    let mut answer = String::new();
    for i in 0..BLOCKS {
        answer.push_str(&format!("Block {i}:\n\n```rust\n{}```\n\n", block(i)));
    }
    let mut pieces: Vec<_> = answer
        .split_inclusive("```\n\n")
        .map(|p| (Duration::from_millis(5), content_event(p)))
        .collect();
    pieces.push((Duration::ZERO, finish_events("stop", 5, 60)));
    let reply = Reply::sse_pieces(pieces, End::Finish);
    let server =
        TestServer::start(chat_and_models(&["e2e-model"], move |_, _| reply.clone())).await;
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "e2e-model"),
    ])
    .await;
    let c = connect(&driver).await;
    send_text(&c, "Lots of code").await;
    eventually(20, "the answer done", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    let first = r#"
const pre = document.querySelectorAll('[data-testid=answer] pre')[arguments[0]];
const code = pre.querySelector('code');
return { spans: code.childElementCount, text: code.textContent, copy: pre.textContent };"#;
    let last = BLOCKS - 1;
    // End and Home, as a user goes there (the list's height settles as
    // the blocks it passes are drawn, so each try goes again).
    const END: &str =
        "const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight; return null;";
    // At the answer's end, the first block is far above the view.
    let parked = eventually(20, "the first block parked", || async {
        js(&c, END).await;
        let v = c.execute(first, vec![0.into()]).await.expect("execute");
        (v["spans"] == 0).then_some(v)
    })
    .await;
    assert_eq!(parked["text"], block(0), "its text stays: {parked}");
    assert_eq!(parked["copy"], block(0), "Copy takes the code: {parked}");
    // The block in view is highlighted (from the frame after the jump).
    let seen = eventually(20, "the last block highlighted", || async {
        js(&c, END).await;
        let v = c.execute(first, vec![last.into()]).await.expect("execute");
        (v["spans"].as_u64().unwrap_or(0) > 30).then_some(v)
    })
    .await;
    assert_eq!(seen["text"], block(last), "{seen}");
    // At the top again (Home), it is highlighted again, with the same text.
    let back = eventually(20, "the first block highlighted again", || async {
        js(
            &c,
            "document.getElementById('messages').scrollTop = 0; return null;",
        )
        .await;
        let v = c.execute(first, vec![0.into()]).await.expect("execute");
        (v["spans"].as_u64().unwrap_or(0) > 30).then_some(v)
    })
    .await;
    assert_eq!(back["text"], block(0), "{back}");
    let _ = c.close().await;
}

/// A photo (60x30 with EXIF orientation 6) and a Rust file in a temporary
/// folder, and their paths as `RUNNEL_ATTACH_PATHS` takes them.
fn photo_and_notes() -> (tempdirs::TempDirs, String) {
    let files = tempdirs::TempDirs::new();
    let photo = files.0.join("photo.jpg");
    std::fs::write(&photo, common::files::jpeg_with_exif(60, 30, 6)).expect("photo");
    let notes = files.0.join("notes.rs");
    std::fs::write(&notes, "fn pelican() {}\n").expect("notes");
    let paths = std::env::join_paths([&photo, &notes]).expect("paths");
    let paths = paths.to_string_lossy().into_owned();
    (files, paths)
}

/// The first image part of a request's first message is a JPEG data URL.
fn sends_a_jpeg(body: &serde_json::Value) -> bool {
    body["messages"][0]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap_or("")
        .starts_with("data:image/jpeg;base64,")
}

/// Attachments (issue 17): the paperclip stages files as chips (one removed
/// before sending), a dropped file joins them, the request carries the image
/// and the file's text, and the sent message keeps its chips after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_files_show_as_chips_go_with_the_message_and_stay_after_a_restart() {
    if !can_run() {
        return;
    }
    let (_files, paths) = photo_and_notes();
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, _| {
        Reply::sse(common::answer_stream(&["A photo."]))
    }))
    .await;
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "e2e-model"),
        ("RUNNEL_ATTACH_PATHS", &paths),
    ])
    .await;
    let mut c = connect(&driver).await;
    click(&c, "[data-testid=attach]").await;
    let kinds = r#"return [...document.querySelectorAll('[data-testid=attachment-chip]')].map((e) => e.getAttribute('data-kind') + ':' + e.querySelector('.chip-name').textContent)"#;
    eventually(20, "two chips", || async {
        (js(&c, kinds).await == serde_json::json!(["image:photo.jpg", "text:notes.rs"]))
            .then_some(())
    })
    .await;
    // Remove the code file; drop a text file on the window instead.
    js(
        &c,
        r#"document.querySelectorAll('[data-testid=attachment-chip]')[1].querySelector('[data-testid=attachment-remove]').click(); return null"#,
    )
    .await;
    js(
        &c,
        r#"const dt = new DataTransfer();
           dt.items.add(new File(['dropped heron notes\n'], 'drop.txt', { type: 'text/plain' }));
           document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
           return null"#,
    )
    .await;
    eventually(20, "the dropped file's chip", || async {
        (js(&c, kinds).await == serde_json::json!(["image:photo.jpg", "text:drop.txt"]))
            .then_some(())
    })
    .await;
    send_text(&c, "What is this?").await;
    eventually(20, "the answer", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    let body = server.chat_requests()[0].json();
    let parts = body["messages"][0]["content"]
        .as_array()
        .expect("parts")
        .clone();
    let text = parts[0]["text"].as_str().unwrap_or("");
    assert!(
        text.starts_with("What is this?")
            && text.contains("drop.txt:\n```\ndropped heron notes\n```"),
        "{text}"
    );
    assert!(
        !text.contains("pelican"),
        "the removed file was not sent: {text}"
    );
    assert!(sends_a_jpeg(&body), "{body}");
    assert_eq!(
        js(&c, "return document.getElementById('attachments').hidden").await,
        true
    );
    let sent = r#"return [...document.querySelectorAll('[data-testid=message-attachment]')].map((e) => e.getAttribute('data-kind') + ':' + e.querySelector('.chip-name').textContent)"#;
    assert_eq!(
        js(&c, sent).await,
        serde_json::json!(["image:photo.jpg", "text:drop.txt"])
    );
    assert_safe(&c, "attachments sent").await;

    c = common::window::restart(&driver, c).await;
    click(&c, "[data-testid=conversation-item]").await;
    eventually(20, "chips on the reopened message", || async {
        (js(&c, sent).await == serde_json::json!(["image:photo.jpg", "text:drop.txt"]))
            .then_some(())
    })
    .await;
    let _ = c.close().await;
}

/// Issue 17's rest: an image's chip shows its thumbnail (on the composer
/// and on the sent message); Edit starts with the message's files (one is
/// removed, the other goes with the edit); leaving an edit unsent drops its
/// files; Compare sends the files to every column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_chips_show_thumbnails_edit_keeps_the_files_and_compare_sends_them() {
    if !can_run() {
        return;
    }
    let (_files, paths) = photo_and_notes();
    let server = TestServer::start(chat_and_models(&["model-a", "model-b"], |_, _| {
        Reply::sse(common::answer_stream(&["Seen."]))
    }))
    .await;
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "model-a"),
        ("RUNNEL_ATTACH_PATHS", &paths),
    ])
    .await;
    let c = connect(&driver).await;
    // The thumbnail: the backend's small JPEG of the upright photo (30x60).
    let thumbs = |testid: &str| {
        format!(
            r#"return [...document.querySelectorAll('[data-testid={testid}]')].map((chip) => {{
                 const img = chip.querySelector('[data-testid=attachment-thumb]');
                 return img && img.complete ? `${{chip.getAttribute('data-kind')}}:${{img.src.slice(0, 23)}}:${{img.naturalWidth}}x${{img.naturalHeight}}` : chip.getAttribute('data-kind');
               }})"#
        )
    };
    click(&c, "[data-testid=attach]").await;
    let composer_thumbs = thumbs("attachment-chip");
    eventually(20, "a thumbnail on the image's chip", || async {
        (js(&c, &composer_thumbs).await
            == serde_json::json!(["image:data:image/jpeg;base64,:30x60", "text"]))
        .then_some(())
    })
    .await;
    send_text(&c, "What is this?").await;
    eventually(20, "the answer", || async {
        (status_of_last_answer(&c).await? == "done").then_some(())
    })
    .await;
    let sent_thumbs = thumbs("message-attachment");
    eventually(20, "the thumbnail on the sent message", || async {
        (js(&c, &sent_thumbs).await
            == serde_json::json!(["image:data:image/jpeg;base64,:30x60", "text"]))
        .then_some(())
    })
    .await;

    // Edit: the message's files wait on the composer; drop the code file.
    click(&c, "[data-testid=edit]").await;
    let kinds = r#"return [...document.querySelectorAll('[data-testid=attachment-chip]')].map((e) => e.querySelector('.chip-name').textContent)"#;
    eventually(20, "the message's files on the edit", || async {
        (js(&c, kinds).await == serde_json::json!(["photo.jpg", "notes.rs"])).then_some(())
    })
    .await;
    js(
        &c,
        r#"document.querySelectorAll('[data-testid=attachment-chip]')[1].querySelector('[data-testid=attachment-remove]').click(); return null"#,
    )
    .await;
    css(&c, "[data-testid=composer]")
        .await
        .clear()
        .await
        .expect("clear");
    send_text(&c, "And without the code?").await;
    eventually(20, "the edit's answer", || async {
        (server.chat_requests().len() == 2 && status_of_last_answer(&c).await? == "done")
            .then_some(())
    })
    .await;
    let body = server.chat_requests()[1].json();
    let parts = body["messages"][0]["content"]
        .as_array()
        .expect("the edit went with a file")
        .clone();
    assert_eq!(
        parts[0]["text"], "And without the code?",
        "the removed file stayed behind"
    );
    assert!(sends_a_jpeg(&body), "{body}");
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('[data-testid=message-attachment]').length"
        )
        .await,
        1
    );

    // An edit left unsent drops its files from the composer.
    click(&c, "[data-testid=edit]").await;
    eventually(20, "the edit's file", || async {
        (js(&c, kinds).await == serde_json::json!(["photo.jpg"])).then_some(())
    })
    .await;
    click(&c, "[data-testid=editing-banner] #edit-cancel").await;
    eventually(20, "no file waits after Cancel", || async {
        (js(&c, kinds).await == serde_json::json!([])).then_some(())
    })
    .await;

    // Compare: both columns get the text file.
    click(&c, "[data-testid=clear]").await;
    click(&c, "[data-testid=attach]").await;
    eventually(20, "two chips again", || async {
        (js(&c, kinds).await == serde_json::json!(["photo.jpg", "notes.rs"])).then_some(())
    })
    .await;
    compare(&c, "Compare these", &["model-a", "model-b"]).await;
    wait_for(
        &c,
        "const cols = [...document.querySelectorAll('[data-testid=compare-column]')]; return cols.length === 2 && cols.every((c) => c.getAttribute('data-status') === 'done')",
        "both columns done",
    )
    .await;
    let compared: Vec<_> = server.chat_requests()[2..]
        .iter()
        .map(|r| r.json())
        .collect();
    assert_eq!(compared.len(), 2);
    let mut models = Vec::new();
    for body in &compared {
        let parts = body["messages"][0]["content"].as_array().expect("parts");
        let text = parts[0]["text"].as_str().unwrap_or("");
        assert!(
            text.starts_with("Compare these")
                && text.contains("notes.rs:\n```rust\nfn pelican() {}\n```"),
            "{text}"
        );
        assert!(sends_a_jpeg(body), "{body}");
        models.push(body["model"].as_str().unwrap_or("").to_owned());
    }
    models.sort();
    assert_eq!(models, ["model-a", "model-b"]);
    assert_eq!(js(&c, kinds).await, serde_json::json!([]), "the files went");
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('[data-testid=message-attachment]').length"
        )
        .await,
        2
    );
    let _ = c.close().await;
}
