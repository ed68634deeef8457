//! The app remembers where the user was, and runs once per data directory
//! (the real app through tauri-driver + WebKitWebDriver under Xvfb): the
//! window's size after a restart, each conversation's unsent draft, a damaged
//! state file, and a second launch that hands over to the open window.
//!
//! Skipped with a notice when there is no display or no tauri-driver, except
//! under CI=true, where that fails.

use runnel_testsupport as common;

use common::window::{
    app_env, app_pids, can_run, click, connect, count, js, restart, send_text, start_driver,
    wait_count, wait_for, Driver,
};
use common::{chat_and_models, content_event, Reply, TestServer};
use fantoccini::Client;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than the window's draft delay and the state file's save interval
/// (whereabouts.js DRAFT_DELAY, window_state.rs SAVE_EVERY).
const KEPT_AFTER: Duration = Duration::from_millis(1500);

/// A loopback provider that answers every chat at once.
async fn server() -> TestServer {
    TestServer::start(chat_and_models(&["e2e-model"], |_, _| {
        let mut b = content_event("Noted.");
        b.extend(common::finish_events("stop", 3, 2));
        Reply::sse(b)
    }))
    .await
}

/// The app's data directory under this driver's temporary XDG folders.
fn data_dir(driver: &Driver) -> PathBuf {
    driver
        .dirs
        .as_ref()
        .expect("temporary dirs")
        .0
        .join("data/dev.runnel.app")
}

async fn composer_text(c: &Client) -> serde_json::Value {
    js(
        c,
        "return document.querySelector('[data-testid=composer]').value",
    )
    .await
}

/// Types into the composer as a user does (key events, so input events).
async fn type_draft(c: &Client, text: &str) {
    let composer = c
        .find(fantoccini::Locator::Css("[data-testid=composer]"))
        .await
        .expect("composer");
    composer.send_keys(text).await.expect("type");
}

async fn answered(c: &Client, n: usize) {
    wait_for(
        c,
        &format!(
            "const a = document.querySelectorAll('[data-testid=message][data-role=assistant][data-status=done]'); return a.length === {n}"
        ),
        "the answer",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_size_and_each_conversations_draft_are_back_after_a_restart() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;

    // A new size.
    c.set_window_size(900, 640).await.expect("resize");
    let size = "return [window.innerWidth, window.innerHeight]";
    wait_for(&c, "return window.innerWidth < 1000", "the window resized").await;
    let before = js(&c, size).await;

    // A stored conversation with an unsent draft.
    send_text(&c, "first question").await;
    answered(&c, 1).await;
    wait_count(
        &c,
        "[data-testid=conversation-item]",
        1,
        "the conversation listed",
    )
    .await;
    type_draft(&c, "half a thought").await;
    tokio::time::sleep(KEPT_AFTER).await;

    let c = restart(&driver, c).await;
    assert_eq!(js(&c, size).await, before, "the window's size");
    // The conversation that was open is open again, with its draft.
    wait_count(
        &c,
        "[data-testid=message]",
        2,
        "the open conversation reopened",
    )
    .await;
    assert_eq!(composer_text(&c).await, "half a thought");

    // The new chat's draft is its own; the first one's stays with it.
    click(&c, "[data-testid=clear]").await;
    assert_eq!(composer_text(&c).await, "");
    type_draft(&c, "a new idea").await;
    tokio::time::sleep(KEPT_AFTER).await;
    let c = restart(&driver, c).await;
    assert_eq!(composer_text(&c).await, "a new idea");
    assert_eq!(
        count(&c, "[data-testid=message]").await,
        0,
        "the new chat was open"
    );
    js(
        &c,
        "document.querySelector('[data-testid=conversation-item] .item-open').click(); return true",
    )
    .await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=composer]').value === 'half a thought'",
        "the first conversation's draft",
    )
    .await;

    // Sending a draft forgets it.
    c.find(fantoccini::Locator::Css("[data-testid=composer]"))
        .await
        .expect("composer")
        .send_keys("\u{E007}")
        .await
        .expect("send");
    answered(&c, 2).await;
    tokio::time::sleep(KEPT_AFTER).await;
    let c = restart(&driver, c).await;
    wait_count(&c, "[data-testid=message]", 4, "the conversation reopened").await;
    assert_eq!(composer_text(&c).await, "");
    let kept = std::fs::read_to_string(data_dir(&driver).join("window-state.json"))
        .expect("window-state.json");
    assert!(!kept.contains("half a thought"), "{kept}");
    assert!(kept.contains("a new idea"), "{kept}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_window_state_file_gives_defaults_and_a_notice() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let driver = start_driver(&server.base_url()).await;
    let dir = data_dir(&driver);
    std::fs::create_dir_all(&dir).expect("data dir");
    std::fs::write(dir.join("window-state.json"), "{\"view\": {\"drafts\": 12").expect("write");
    let c = connect(&driver).await;
    wait_for(
        &c,
        "const t = document.querySelector('[data-testid=toast]'); return !!t && !t.hidden && t.textContent.includes('moved to')",
        "the notice",
    )
    .await;
    // Defaults: a new chat, the default sidebar width, and the app works.
    assert_eq!(
        js(
            &c,
            "return document.getElementById('sidebar').getBoundingClientRect().width"
        )
        .await,
        264.0
    );
    send_text(&c, "still works").await;
    answered(&c, 1).await;
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("window-state.json.bad-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file was kept aside");
}

/// Starts the app's binary directly (as a desktop launcher does) with the
/// driver's environment, or another data directory.
fn launch(
    driver: &Driver,
    base_url: &str,
    data_home: Option<&std::path::Path>,
) -> std::process::Child {
    let dirs = &driver.dirs.as_ref().expect("dirs").0;
    let mut cmd = Command::new(common::bin::workspace_bin("runnel-window"));
    app_env(&mut cmd, dirs);
    if let Some(data) = data_home {
        cmd.env("XDG_DATA_HOME", data);
    }
    cmd.env("OPENAI_BASE_URL", base_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("launch the app")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_launch_hands_over_to_the_open_window_and_another_data_dir_gets_its_own() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    assert_eq!(app_pids(&driver).len(), 1);

    // Same data: the second launch exits at once, successfully.
    let mut second = launch(&driver, &server.base_url(), None);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = second.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "the second launch did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    assert_eq!(app_pids(&driver).len(), 1, "one window");
    // The first window still works.
    send_text(&c, "still here").await;
    answered(&c, 1).await;

    // Another data directory: a window of its own, beside the first.
    let other = common::temp::TempDir::new("other-data");
    let mut own = launch(&driver, &server.base_url(), Some(other.path()));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        own.try_wait().expect("wait").is_none(),
        "an app with other data runs beside the open one"
    );
    let _ = own.kill();
    let _ = own.wait();
}
