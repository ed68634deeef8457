//! `runnel history search` with filters on a real data dir.

use runnel_core::store::{FinalState, MessageStatus, Store};
use runnel_testsupport::cli::{last_json, runnel_command};
use runnel_testsupport::temp::TempDir;
use std::path::Path;

async fn search(data: &Path, args: &[&str]) -> std::process::Output {
    runnel_command(
        Path::new(env!("CARGO_BIN_EXE_runnel")),
        data,
        "http://127.0.0.1:9",
    )
    .args(["history", "search"])
    .args(args)
    .output()
    .await
    .expect("run")
}

fn hit_ids(out: &std::process::Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = last_json(&out.stdout)
        .as_array()
        .expect("array")
        .iter()
        .map(|h| h["message_id"].as_str().unwrap_or("title").to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn search_filters_by_provider_model_role_and_dates() {
    let tmp = TempDir::new("cli-search");
    let data = tmp.path();
    let db = data.join("runnel.sqlite3");
    let store = Store::open(&db).expect("open");
    let mut made = Vec::new();
    for (provider, model, day) in [
        ("openai", "gpt-4o", "2026-01-10"),
        ("anthropic", "claude-x", "2026-03-05"),
    ] {
        let id = runnel_core::store::new_id();
        store
            .create_conversation(&id, "", Some(provider), Some(model), "", None)
            .expect("create");
        let u = store
            .add_user_message(&id, "kelp forest", None)
            .expect("user");
        let a = store.begin_answer(&id, &u.id).expect("answer");
        let fin = FinalState {
            content: "Kelp grows fast.".into(),
            provider: Some(provider.into()),
            model: Some(model.into()),
            ..FinalState::bare(MessageStatus::Done)
        };
        store.finish_message(&a.id, &fin).expect("finish");
        let at = runnel_core::types::time::parse_day(day).expect("day") + 43_200_000;
        rusqlite::Connection::open(&db)
            .expect("raw")
            .execute(
                "UPDATE messages SET created = ?1 WHERE conversation_id = ?2",
                rusqlite::params![at, id],
            )
            .expect("date");
        made.push((u.id, a.id));
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let (u1, a1) = made[0].clone();
    let (u2, a2) = made[1].clone();

    assert_eq!(hit_ids(&search(data, &["kelp", "--json"]).await).len(), 4);
    assert_eq!(
        hit_ids(&search(data, &["kelp", "--provider", "openai", "--json"]).await),
        sorted(vec![u1.clone(), a1.clone()])
    );
    assert_eq!(
        hit_ids(
            &search(
                data,
                &[
                    "kelp",
                    "--model",
                    "claude-x",
                    "--role",
                    "assistant",
                    "--json"
                ]
            )
            .await
        ),
        vec![a2.clone()]
    );
    assert_eq!(
        hit_ids(&search(data, &["kelp", "--role", "user", "--json"]).await),
        sorted(vec![u1.clone(), u2.clone()])
    );
    assert_eq!(
        hit_ids(
            &search(
                data,
                &[
                    "kelp",
                    "--since",
                    "2026-03-05",
                    "--until",
                    "2026-03-05",
                    "--json"
                ]
            )
            .await
        ),
        sorted(vec![u2.clone(), a2.clone()]),
        "a day's --until includes that day"
    );
    assert_eq!(
        hit_ids(&search(data, &["kelp", "--until", "2026-01-10T12:00:00Z", "--json"]).await),
        sorted(vec![u1, a1]),
        "an RFC 3339 bound is that instant (inclusive)"
    );
    assert!(hit_ids(
        &search(
            data,
            &[
                "kelp",
                "--since",
                "2026-01-11T00:00:00+01:00",
                "--until",
                "2026-03-01",
                "--json"
            ]
        )
        .await
    )
    .is_empty());

    let out = search(data, &["kelp", "--since", "last tuesday"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--since takes a date") && err.contains("[invalid]"),
        "{err}"
    );
    let out = search(data, &["kelp", "--role", "system"]).await;
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown role");
}
