//! `runnel backup list|create|restore` on a real data dir.

use runnel_core::store::{FinalState, MessageStatus, Store};
use runnel_testsupport::cli::{last_json, runnel_command};
use runnel_testsupport::temp::TempDir;
use std::path::Path;
use tokio::process::Command;

fn runnel(data: &Path) -> Command {
    // No provider is needed: the unroutable URL proves none is called.
    runnel_command(
        Path::new(env!("CARGO_BIN_EXE_runnel")),
        data,
        "http://127.0.0.1:9",
    )
}

fn chat(store: &Store, question: &str) {
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", None, None, "", None)
        .expect("create");
    let u = store.add_user_message(&id, question, None).expect("user");
    let a = store.begin_answer(&id, &u.id).expect("answer");
    store
        .finish_message(
            &a.id,
            &FinalState {
                content: "answer".into(),
                ..FinalState::bare(MessageStatus::Done)
            },
        )
        .expect("finish");
}

fn titles(store: &Store) -> Vec<String> {
    let mut t: Vec<String> = store
        .list(None, 50)
        .expect("list")
        .into_iter()
        .map(|c| c.title)
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn create_list_and_restore_a_backup() {
    let tmp = TempDir::new("cli-backup");
    let data = tmp.path();
    let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
    chat(&store, "First question");

    let out = runnel(data)
        .args(["backup", "list"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no backups yet"));

    let out = runnel(data)
        .args(["backup", "create", "--json"])
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = last_json(&out.stdout);
    let id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(made["reason"], "manual");
    assert!(made["size"].as_u64().expect("size") > 0);

    chat(&store, "Second question");
    let out = runnel(data)
        .args(["backup", "list", "--json"])
        .output()
        .await
        .expect("run");
    let list = last_json(&out.stdout);
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 1);
    let mut keys: Vec<&str> = list[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created", "id", "reason", "size"]);
    assert_eq!(list[0]["id"], id.as_str());
    let created = list[0]["created"].as_i64().expect("created");
    assert!((runnel_core::store::now_ms() - created).abs() < 60_000);

    let out = runnel(data)
        .args(["backup", "restore", &id])
        .output()
        .await
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kept as backup"), "{err}");
    // The store that stayed open sees the restored data.
    assert_eq!(titles(&store), ["First question"]);

    // The plain list shows both: the restored one and the replaced database.
    let out = runnel(data)
        .args(["backup", "list"])
        .output()
        .await
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("manual") && text.contains("restore"),
        "{text}"
    );

    let out = runnel(data)
        .args(["backup", "restore", "20200101-000000-manual"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[not_found]") && err.contains("20200101-000000-manual"),
        "{err}"
    );
    assert_eq!(titles(&store), ["First question"]);
}
