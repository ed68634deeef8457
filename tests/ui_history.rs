//! The portable history in the window (issue 18), on the real app through
//! tauri-driver + WebKitWebDriver under Xvfb: the daily backup made while the
//! app runs, backups listed, made and restored from Settings (behind a
//! confirmation, the replaced conversations kept as a backup), and the banner
//! when the check at start finds the database damaged.
//!
//! Skipped with a notice when there is no display or no tauri-driver, except
//! under CI=true, where that fails.

use runnel_testsupport as common;

use common::window::{
    can_run, click, connect, count, css, eventually, send_text, start_driver, text, wait_count,
    wait_for, Driver,
};
use common::{chat_and_models, content_event, Reply, TestServer};
use fantoccini::Client;
use std::path::PathBuf;

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

async fn chat(c: &Client, question: &str, answers: u64) {
    send_text(c, question).await;
    wait_count(
        c,
        "[data-testid=message][data-role=assistant][data-status=done]",
        answers,
        "the answer",
    )
    .await;
}

async fn sidebar_titles(c: &Client) -> Vec<String> {
    let v = common::window::js(
        c,
        "return [...document.querySelectorAll('[data-testid=conversation-item]')].map((e) => e.textContent.trim())",
    )
    .await;
    let mut t: Vec<String> = v
        .as_array()
        .expect("titles")
        .iter()
        .map(|x| x.as_str().unwrap_or_default().to_owned())
        .collect();
    t.sort();
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_are_made_daily_listed_made_on_request_and_restored_behind_a_confirmation() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    chat(&c, "Pelicans first", 1).await;

    // The daily backup is made a few seconds after start, in the background.
    let backups = data_dir(&driver).join("backups");
    eventually(30, "the daily backup", || async {
        std::fs::read_dir(&backups).ok()?.flatten().find(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with("-daily.sqlite3")
        })
    })
    .await;
    click(&c, "[data-testid=clear]").await;
    chat(&c, "Herons second", 1).await;
    wait_count(&c, "[data-testid=conversation-item]", 2, "two chats").await;

    click(&c, "[data-testid=settings-open]").await;
    wait_count(&c, "[data-testid=backup-row]", 1, "the daily backup listed").await;
    let row = css(&c, "[data-testid=backup-row]").await;
    assert_eq!(
        row.attr("data-reason").await.expect("reason").as_deref(),
        Some("daily")
    );
    assert!(row.text().await.expect("text").contains("Daily"));

    // Restore asks first; Cancel changes nothing.
    click(&c, "[data-testid=backup-restore]").await;
    wait_for(
        &c,
        "return document.getElementById('ask').open",
        "the confirmation",
    )
    .await;
    let ask = text(&c, "#ask-title").await;
    assert!(ask.starts_with("Restore the backup of"), "{ask}");
    click(&c, "#ask-cancel").await;
    assert_eq!(count(&c, "[data-testid=backup-row]").await, 1);

    click(&c, "[data-testid=backup-restore]").await;
    wait_for(
        &c,
        "return document.getElementById('ask').open",
        "the confirmation",
    )
    .await;
    click(&c, "[data-testid=dialog-ok]").await;
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=backup-row]').length === 2 || document.querySelector('[data-testid=backup-error]').textContent !== ''",
        "the restore",
    )
    .await;
    assert_eq!(text(&c, "[data-testid=backup-error]").await, "", "no error");
    assert_eq!(
        count(&c, "[data-testid=backup-row]").await,
        2,
        "the replaced database kept"
    );
    let result = text(&c, "[data-testid=backup-result]").await;
    assert!(result.starts_with("Restored the backup of"), "{result}");
    assert_eq!(
        common::window::js(
            &c,
            "return [...document.querySelectorAll('[data-testid=backup-row]')].map((r) => r.dataset.reason).sort()"
        )
        .await,
        serde_json::json!(["daily", "restore"])
    );

    // Back up now adds the user's own.
    click(&c, "[data-testid=backup-create]").await;
    wait_count(&c, "[data-testid=backup-row]", 3, "a manual backup").await;
    let made = text(&c, "[data-testid=backup-result]").await;
    assert!(made.starts_with("Backed up ("), "{made}");
    click(&c, "[data-testid=settings-close]").await;

    // The window shows the restored history: the chat made after the backup is gone.
    wait_count(
        &c,
        "[data-testid=conversation-item]",
        1,
        "the restored list",
    )
    .await;
    let titles = sidebar_titles(&c).await;
    assert_eq!(titles.len(), 1);
    assert!(titles[0].contains("Pelicans first"), "{titles:?}");
    assert_eq!(count(&c, "[data-testid=message]").await, 0, "a new chat");
    // And sending goes on into the restored database.
    chat(&c, "After the restore", 1).await;
    wait_count(&c, "[data-testid=conversation-item]", 2, "a new chat saved").await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_database_is_found_at_start_and_the_banner_leads_to_the_backups() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let driver = start_driver(&server.base_url()).await;
    // A database with a bad page deep in a table: it opens, and its
    // conversations still list, but the check at start finds the damage.
    let db = data_dir(&driver).join("runnel.sqlite3");
    {
        let store = runnel_core::store::Store::open(&db).expect("open");
        for i in 0..300 {
            let id = runnel_core::store::new_id();
            store
                .create_conversation(&id, "", None, None, "", None)
                .expect("create");
            store
                .add_user_message(&id, &format!("filler {i} {}", "x".repeat(400)), None)
                .expect("user");
        }
        // A sound copy from before the damage.
        store
            .backup(runnel_core::store::BackupReason::Manual)
            .expect("backup");
    }
    common::files::damage_a_middle_page(&db);
    let c = connect(&driver).await;
    wait_for(
        &c,
        "return !document.querySelector('[data-testid=store-banner]').hidden",
        "the damage banner",
    )
    .await;
    let banner = text(&c, "[data-testid=store-banner]").await;
    assert!(
        banner.contains("failed its check"),
        "the banner says what is wrong: {banner}"
    );
    assert!(css(&c, "[data-testid=store-backups]")
        .await
        .is_displayed()
        .await
        .expect("shown"));
    click(&c, "[data-testid=store-backups]").await;
    wait_for(
        &c,
        "return document.getElementById('settings').open && document.activeElement.id === 'backup-create'",
        "Settings at the backups",
    )
    .await;
    // Restoring the sound copy takes the banner away (the restored file is checked afresh).
    wait_count(&c, "[data-testid=backup-row]", 1, "the sound copy").await;
    click(&c, "[data-testid=backup-restore]").await;
    wait_for(
        &c,
        "return document.getElementById('ask').open",
        "the confirmation",
    )
    .await;
    click(&c, "[data-testid=dialog-ok]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=backup-result]').textContent !== '' || document.querySelector('[data-testid=backup-error]').textContent !== ''",
        "the restore",
    )
    .await;
    assert_eq!(text(&c, "[data-testid=backup-error]").await, "", "no error");
    wait_for(
        &c,
        "return document.querySelector('[data-testid=store-banner]').hidden",
        "the banner gone",
    )
    .await;
    c.close().await.expect("close");
}

async fn search_results(c: &Client) -> u64 {
    count(c, "[data-testid=search-result]").await
}

/// Sets a filter field as a user does (a value, then the event the field sends).
async fn set_field(c: &Client, id: &str, value: &str) {
    let script = format!(
        "const e = document.getElementById('{id}'); e.value = arguments[0]; e.dispatchEvent(new Event(e.tagName === 'SELECT' ? 'change' : 'input')); return true"
    );
    c.execute(&script, vec![serde_json::json!(value)])
        .await
        .expect("set the field");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_filters_narrow_the_hits_and_the_list_is_grouped_by_date() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    chat(&c, "Kelp forests grow fast", 1).await;
    click(&c, "[data-testid=clear]").await;
    chat(&c, "Kelp in winter", 1).await;
    wait_count(&c, "[data-testid=conversation-item]", 2, "two chats").await;
    // Both were changed today: one heading above them.
    assert_eq!(
        common::window::js(
            &c,
            "return [...document.querySelectorAll('[data-testid=date-group]')].map((g) => [g.dataset.group, g.textContent])"
        )
        .await,
        serde_json::json!([["today", "Today"]])
    );

    let search = css(&c, "[data-testid=search]").await;
    search.send_keys("kelp").await.expect("type");
    eventually(10, "two hits", || async {
        (search_results(&c).await == 2).then_some(())
    })
    .await;
    click(&c, "[data-testid=search-filters] summary").await;
    let filtered = |n: u64, what: &'static str| {
        let c = c.clone();
        async move {
            eventually(10, what, || async {
                let shown = if n == 0 {
                    count(&c, "[data-testid=search-empty]").await == 1
                } else {
                    search_results(&c).await == n
                };
                shown.then_some(())
            })
            .await
        }
    };
    set_field(&c, "search-role", "assistant").await;
    filtered(0, "no answer says kelp").await;
    set_field(&c, "search-role", "user").await;
    filtered(2, "both questions").await;
    set_field(&c, "search-model", "e2e-model").await;
    filtered(2, "both were answered by e2e-model").await;
    set_field(&c, "search-model", "another-model").await;
    filtered(0, "no chat used another-model").await;
    set_field(&c, "search-model", "").await;
    // Today's messages are before tomorrow and not from tomorrow on.
    let tomorrow = common::window::js(
        &c,
        "const d = new Date(); d.setDate(d.getDate() + 1); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`",
    )
    .await;
    let tomorrow = tomorrow.as_str().expect("date").to_owned();
    set_field(&c, "search-since", &tomorrow).await;
    filtered(0, "nothing from tomorrow on").await;
    set_field(&c, "search-since", "").await;
    set_field(&c, "search-until", &tomorrow).await;
    filtered(2, "everything up to tomorrow").await;
    // The provider list offers the providers there are.
    let options = common::window::js(
        &c,
        "return document.getElementById('search-provider').options.length",
    )
    .await;
    assert!(options.as_u64().expect("n") >= 2, "Any and the providers");
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_brings_in_a_chatgpt_export_and_says_what_it_left_out() {
    if !can_run() {
        return;
    }
    let server = server().await;
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/chatgpt-conversations.json");
    let export = export.to_str().expect("utf-8 path");
    let driver = common::window::start_driver_with(&[
        ("OPENAI_BASE_URL", &server.base_url()),
        ("RUNNEL_MODEL", "e2e-model"),
        ("RUNNEL_IMPORT_PATH", export),
    ])
    .await;
    let c = connect(&driver).await;
    common::window::menu_item(&c, "import").await;
    wait_count(&c, "[data-testid=conversation-item]", 3, "three imported").await;
    let toast = text(&c, "[data-testid=toast]").await;
    assert!(
        toast.starts_with("Imported 3, skipped 0, refused 1. Broken:"),
        "{toast}"
    );
    // Their own dates: grouped under their months, not under Today.
    let groups = common::window::js(
        &c,
        "return [...document.querySelectorAll('[data-testid=date-group]')].map((g) => g.dataset.group)",
    )
    .await;
    assert_eq!(groups, serde_json::json!(["month:2025-01"]), "{groups}");
    // The list filter offers who answered; a model keeps only its conversations.
    eventually(10, "the filter's choices", || async {
        let v = common::window::js(
            &c,
            "return [...document.querySelectorAll('#list-filter option')].map((o) => o.value)",
        )
        .await;
        // gpt-4o answered in a branch (the first version of a regenerated answer).
        (v == serde_json::json!([
            "",
            "provider:openai",
            "model:gpt-4o",
            "model:gpt-4o-mini",
            "model:o3"
        ]))
        .then_some(())
    })
    .await;
    assert!(css(&c, "[data-testid=list-filter]")
        .await
        .is_displayed()
        .await
        .expect("shown"));
    set_field(&c, "list-filter", "model:o3").await;
    wait_count(
        &c,
        "[data-testid=conversation-item]",
        1,
        "only o3's conversation",
    )
    .await;
    assert!(sidebar_titles(&c).await[0].contains("Tide pools"));
    set_field(&c, "list-filter", "").await;
    wait_count(&c, "[data-testid=conversation-item]", 3, "all again").await;
    // An imported conversation says where it came from; a new chat does not.
    click(&c, "[data-testid=conversation-item] .item-open").await;
    wait_for(
        &c,
        "return !document.getElementById('chat-origin').hidden",
        "the origin badge",
    )
    .await;
    assert_eq!(
        text(&c, "[data-testid=chat-origin]").await,
        "Imported from ChatGPT"
    );
    click(&c, "[data-testid=clear]").await;
    wait_for(
        &c,
        "return document.getElementById('chat-origin').hidden",
        "no badge on a new chat",
    )
    .await;
    // Again: nothing new.
    common::window::menu_item(&c, "import").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=toast]').textContent.trim().startsWith('Imported 0, skipped 3')",
        "the second import's report",
    )
    .await;
    assert_eq!(count(&c, "[data-testid=conversation-item]").await, 3);
    c.close().await.expect("close");
}

/// The texts of the messages on screen, in order.
async fn screen(c: &Client) -> Vec<String> {
    let v = common::window::js(
        c,
        "return [...document.querySelectorAll('[data-testid=message]')].map((m) => \
         (m.querySelector('[data-testid=user-text],[data-testid=answer]')?.textContent ?? '').trim())",
    )
    .await;
    v.as_array()
        .expect("texts")
        .iter()
        .map(|x| x.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until the screen shows `want` (and nothing streams).
async fn wait_screen(c: &Client, want: &[&str], what: &str) {
    let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    eventually(30, what, || async {
        let busy = count(c, "[data-testid=message][data-status=streaming]").await > 0;
        let shown = screen(c).await;
        (!busy && shown == want).then_some(())
    })
    .await;
}

/// The user and assistant texts a chat request carried.
fn sent(server: &TestServer, i: usize) -> Vec<String> {
    let r = server.chat_requests()[i].json();
    r["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_question_edited_or_answer_regenerated_becomes_a_branch_with_arrows() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["e2e-model"], |_, n| {
        let mut b = content_event(&format!("Answer {n}."));
        b.extend(common::finish_events("stop", 3, 2));
        Reply::sse(b)
    }))
    .await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    chat(&c, "First question", 1).await;
    chat(&c, "Second question", 2).await;

    // Only the last turn's buttons carry the contract's ids.
    assert_eq!(count(&c, "[data-testid=edit]").await, 1);
    assert_eq!(count(&c, "[data-testid=regenerate]").await, 1);
    // Edit the first question (not the last): a branch from there.
    click(
        &c,
        "[data-testid=message][data-role=user] [data-testid=branch-edit]",
    )
    .await;
    assert_eq!(
        count(&c, "[data-testid=editing-banner]:not([hidden])").await,
        1
    );
    css(&c, "[data-testid=composer]")
        .await
        .clear()
        .await
        .expect("clear");
    send_text(&c, "First question, edited").await;
    wait_screen(
        &c,
        &["First question, edited", "Answer 2."],
        "the edit's branch",
    )
    .await;
    assert_eq!(
        sent(&server, 2),
        ["First question, edited"],
        "what is shown is what is sent"
    );
    wait_for(
        &c,
        "return document.querySelector('[data-role=user] [data-testid=version]')?.textContent === '2/2'",
        "the fork's arrows on the question",
    )
    .await;

    // Back to the first branch: it is whole.
    click(&c, "[data-role=user] [data-testid=version-prev]").await;
    wait_screen(
        &c,
        &[
            "First question",
            "Answer 0.",
            "Second question",
            "Answer 1.",
        ],
        "the first branch",
    )
    .await;

    // Answer the first answer again (not the last one).
    click(
        &c,
        "[data-testid=message][data-role=assistant] [data-testid=branch-regenerate]",
    )
    .await;
    wait_screen(
        &c,
        &["First question", "Answer 3."],
        "the regenerated branch",
    )
    .await;
    assert_eq!(sent(&server, 3), ["First question"]);
    wait_for(
        &c,
        "return document.querySelector('[data-role=assistant] [data-testid=version]')?.textContent === '2/2'",
        "the fork's arrows on the answer",
    )
    .await;

    // Switching one fork never changes another: back to the first answer,
    // its branch continues as it was; the edit's branch is as it was.
    click(&c, "[data-role=assistant] [data-testid=version-prev]").await;
    wait_screen(
        &c,
        &[
            "First question",
            "Answer 0.",
            "Second question",
            "Answer 1.",
        ],
        "the first answer's branch",
    )
    .await;
    assert_eq!(
        text(&c, "[data-role=user] [data-testid=fork-position]").await,
        "1/2",
        "an earlier fork's arrows"
    );
    click(&c, "[data-role=user] [data-testid=fork-next]").await;
    wait_screen(
        &c,
        &["First question, edited", "Answer 2."],
        "the edit's branch again",
    )
    .await;

    // A new question goes on the branch shown, and carries exactly it.
    chat(&c, "Third question", 2).await;
    assert_eq!(
        sent(&server, 4),
        ["First question, edited", "Answer 2.", "Third question"]
    );
    // A search hit in a hidden branch opens that branch.
    let search = css(&c, "[data-testid=search]").await;
    search.send_keys("Second").await.expect("type");
    click(&c, "[data-testid=search-result]:not([data-message-id=''])").await;
    wait_screen(
        &c,
        &[
            "First question",
            "Answer 0.",
            "Second question",
            "Answer 1.",
        ],
        "the hit's branch",
    )
    .await;
    c.close().await.expect("close");
}
