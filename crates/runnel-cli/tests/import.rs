//! `runnel history import` of other apps' exports (issue 18): hand-made files
//! in each real format (tests/fixtures/import, written from the formats'
//! documentation and importers), idempotency, and hostile input.

use runnel_core::store::{Store, WHOLE_CONVERSATION};
use runnel_core::types::chat::Role;
use runnel_testsupport::cli::{last_json, runnel_command};
use runnel_testsupport::temp::TempDir;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

async fn import(data: &Path, file: &Path, json: bool) -> std::process::Output {
    let mut cmd = runnel_command(
        Path::new(env!("CARGO_BIN_EXE_runnel")),
        data,
        "http://127.0.0.1:9",
    );
    cmd.args(["history", "import"]).arg(file);
    if json {
        cmd.arg("--json");
    }
    cmd.output().await.expect("run")
}

fn report(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    last_json(&out.stdout)
}

fn by_title(store: &Store, title: &str) -> String {
    store
        .list(None, 100)
        .expect("list")
        .into_iter()
        .find(|c| c.title == title)
        .unwrap_or_else(|| panic!("no conversation {title:?}"))
        .id
}

/// (role, content, reasoning, model) of each message, in order.
fn turns(store: &Store, id: &str) -> Vec<(Role, String, Option<String>, Option<String>)> {
    store
        .messages(id, None, WHOLE_CONVERSATION)
        .expect("messages")
        .into_iter()
        .map(|m| (m.role, m.content, m.reasoning, m.model))
        .collect()
}

#[tokio::test]
async fn chatgpt_export_imports_every_branch_once_and_rejects_a_broken_tree() {
    let tmp = TempDir::new("import-chatgpt");
    let data = tmp.path();
    let out = import(data, &fixture("chatgpt-conversations.json"), true).await;
    let r = report(&out);
    assert_eq!(r["source"], "chatgpt");
    assert_eq!(r["imported"].as_array().expect("ids").len(), 3);
    assert_eq!(r["rejected"][0]["title"], "Broken");
    assert!(
        r["rejected"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("missing"),
        "{r}"
    );
    assert_eq!(
        r["messages_left_out"], 5,
        "system, hidden context, tool call, tool, recap (not the other branch)"
    );

    let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
    let id = by_title(&store, "Tide pools");
    let c = store.conversation(&id).expect("conversation");
    assert_eq!(
        (c.created, c.updated),
        (1_735_725_600_123, 1_735_726_200_500),
        "original dates"
    );
    let t = turns(&store, &id);
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!(t[0].1, "What lives in a tide pool?");
    assert_eq!(
        t[1].1, "Anemones, crabs and sea stars.",
        "the branch shown, not the first answer"
    );
    assert_eq!(
        t[1].2.as_deref(),
        Some("Tide pools hold anemones and crabs.")
    );
    assert_eq!(t[1].3.as_deref(), Some("o3"));
    assert_eq!(
        t[2].1, "And this one?",
        "an image part is left out, its text kept"
    );
    assert_eq!(t[3].1, "```python\nprint('crab')\n```\n\nThat is a crab.");
    let first = store
        .messages(&id, None, WHOLE_CONVERSATION)
        .expect("messages");
    assert_eq!(first[0].created, 1_735_725_601_000);
    assert_eq!(first[1].provider.as_deref(), Some("openai"));
    assert_eq!(first[1].parent_id.as_deref(), Some(first[0].id.as_str()));
    // The regenerated answer's first version is a branch beside it.
    let fork: Vec<String> = store
        .siblings(&first[1].id)
        .expect("siblings")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(
        fork,
        ["Anemones, first version.", "Anemones, crabs and sea stars."]
    );
    // Same message ids in two conversations of the file: both imported.
    assert_eq!(
        turns(&store, &by_title(&store, "Kelp again"))[0].1,
        "Does kelp need sunlight?"
    );
    assert_eq!(
        turns(&store, &by_title(&store, "Kelp"))[0].1,
        "How fast does kelp grow?"
    );
    // It says where it came from.
    let show = runnel_command(
        Path::new(env!("CARGO_BIN_EXE_runnel")),
        data,
        "http://127.0.0.1:9",
    )
    .args(["history", "show", &id, "--json"])
    .output()
    .await
    .expect("show");
    let v = last_json(&show.stdout);
    assert_eq!(v["messages"][1]["versions"], 2, "{v}");
    assert_eq!(v["messages"][1]["has_siblings"], true);
    assert_eq!(v["imported_from"]["source"], "chatgpt");
    assert_eq!(
        v["imported_from"]["id"],
        "6774a1f0-0000-8000-8000-000000000001"
    );

    // Again, from the export's folder: nothing new.
    let folder = data.join("export");
    std::fs::create_dir_all(&folder).expect("dir");
    std::fs::copy(
        fixture("chatgpt-conversations.json"),
        folder.join("conversations.json"),
    )
    .expect("copy");
    let out = import(data, &folder, false).await;
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "no new id");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("0 imported, 3 skipped, 1 rejected (from chatgpt)"),
        "{err}"
    );
    assert!(err.contains("imported before"), "{err}");
    assert_eq!(store.list(None, 100).expect("list").len(), 3);
    // And from the export's .zip (beside images and chat.html): nothing new either.
    let json = std::fs::read(fixture("chatgpt-conversations.json")).expect("read");
    let zip = runnel_testsupport::files::zip_of(&[
        ("chat.html", b"<html></html>"),
        ("file-abc.png", b"\x89PNG"),
        ("conversations.json", &json),
    ]);
    let zip_path = data.join("export.zip");
    std::fs::write(&zip_path, zip).expect("write zip");
    let r = report(&import(data, &zip_path, true).await);
    assert_eq!(r["source"], "chatgpt");
    assert_eq!(r["skipped"].as_array().expect("skipped").len(), 3);
    // A zip bomb's conversations.json is read only up to the limit.
    let big = vec![b' '; (runnel_core::import::MAX_FOREIGN_JSON_BYTES + 10) as usize];
    let bomb = runnel_testsupport::files::zip_of(&[("conversations.json", &big)]);
    drop(big);
    let bomb_path = data.join("bomb.zip");
    std::fs::write(&bomb_path, bomb).expect("write bomb");
    let out = import(data, &bomb_path, false).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than 256 MiB"));
    // The filters find the imported answers by their model.
    let hits = store
        .search_filtered(
            "crab",
            &runnel_core::store::SearchFilter {
                model: Some("o3".into()),
                ..Default::default()
            },
            10,
        )
        .expect("search");
    assert!(!hits.is_empty());
}

#[tokio::test]
async fn claude_and_open_webui_exports_import_with_their_files_reasoning_and_branch() {
    let tmp = TempDir::new("import-claude");
    let data = tmp.path();
    let r = report(&import(data, &fixture("claude-conversations.json"), true).await);
    assert_eq!(r["source"], "claude");
    assert_eq!(r["imported"].as_array().expect("ids").len(), 1);
    assert_eq!(r["skipped"][0]["title"], "Empty draft");
    let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
    let id = by_title(&store, "Lighthouse lenses");
    let t = turns(&store, &id);
    assert_eq!(t.len(), 2);
    assert!(t[0].1.starts_with("What is a Fresnel lens? See my notes."));
    assert!(
        t[0].1.contains("**notes.txt**") && t[0].1.contains("Fresnel lenses ring the lamp."),
        "{}",
        t[0].1
    );
    assert_eq!(
        t[1].1, "A lens made of concentric rings.",
        "tool blocks left out"
    );
    assert_eq!(t[1].2.as_deref(), Some("The user wants optics basics."));
    let c = store.conversation(&id).expect("c");
    assert_eq!(
        c.created,
        runnel_core::types::time::parse_rfc3339("2025-02-03T10:00:00Z").expect("t")
    );

    let r = report(&import(data, &fixture("openwebui-export.json"), true).await);
    assert_eq!(r["source"], "open-webui");
    assert_eq!(r["messages_left_out"], 0, "every branch is kept");
    let id = by_title(&store, "Sourdough");
    let t = turns(&store, &id);
    let texts: Vec<&str> = t.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Why does my starter smell?",
            "It is hungry: feed it.",
            "How often?",
            "Twice a day."
        ]
    );
    assert_eq!(t[1].3.as_deref(), Some("qwen2.5:7b"));
    // The older answer is a branch beside the one shown.
    let shown = store
        .messages(&id, None, WHOLE_CONVERSATION)
        .expect("messages");
    let fork: Vec<String> = store
        .siblings(&shown[1].id)
        .expect("siblings")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(fork, ["An older answer.", "It is hungry: feed it."]);
    let c = store.conversation(&id).expect("c");
    assert_eq!(c.system_prompt, "You bake.");
    assert_eq!(c.created, 1_740_000_000_000);
}

#[tokio::test]
async fn llm_logs_db_imports_each_conversation() {
    let tmp = TempDir::new("import-llm");
    let data = tmp.path();
    let db = data.join("logs.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("create");
        conn.execute_batch(runnel_testsupport::files::LLM_LOGS_SCHEMA)
            .expect("schema");
        conn.execute_batch(
            "INSERT INTO conversations (id, name, model) VALUES ('01j0000000000000000000conv', 'Haiku about rain', 'gpt-4o-mini');
             INSERT INTO responses (id, model, prompt, system, prompt_json, options_json, response, response_json, conversation_id, duration_ms, datetime_utc, input_tokens, output_tokens, token_details, schema_id, resolved_model)
             VALUES ('01j0000000000000000000res1', 'gpt-4o-mini', 'Write a haiku about rain', 'You are a poet.', NULL, '{}', 'Soft rain on the roof', NULL, '01j0000000000000000000conv', 812, '2025-03-01T09:00:00.123456', 12, 8, NULL, NULL, 'gpt-4o-mini-2024-07-18'),
                    ('01j0000000000000000000res2', 'gpt-4o-mini', 'Another', NULL, NULL, '{}', 'Puddles hold the sky', NULL, '01j0000000000000000000conv', 640, '2025-03-01T09:01:00.000000', 10, 7, NULL, NULL, NULL);",
        )
        .expect("rows");
    }
    let r = report(&import(data, &db, true).await);
    assert_eq!(r["source"], "llm");
    assert_eq!(r["imported"].as_array().expect("ids").len(), 1);
    let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
    let id = by_title(&store, "Haiku about rain");
    let t = turns(&store, &id);
    let texts: Vec<&str> = t.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Write a haiku about rain",
            "Soft rain on the roof",
            "Another",
            "Puddles hold the sky"
        ]
    );
    assert_eq!(t[1].3.as_deref(), Some("gpt-4o-mini"));
    let c = store.conversation(&id).expect("c");
    assert_eq!(c.system_prompt, "You are a poet.");
    assert_eq!(
        c.created,
        runnel_core::types::time::parse_rfc3339("2025-03-01T09:00:00.123Z").expect("t")
    );
    // Twice: nothing new.
    let r = report(&import(data, &db, true).await);
    assert_eq!(r["imported"].as_array().expect("ids").len(), 0);
    assert_eq!(r["skipped"].as_array().expect("skipped").len(), 1);
}

#[tokio::test]
async fn a_malformed_or_hostile_file_is_refused_and_stores_nothing() {
    let tmp = TempDir::new("import-hostile");
    let data = tmp.path();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-json.json", b"{\"mapping\": ".to_vec(), "not JSON"),
        (
            "unknown.json",
            b"[{\"foo\": 1}]".to_vec(),
            "not one Runnel imports",
        ),
        ("empty.json", b"[]".to_vec(), "no conversation"),
        (
            "deep.json",
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            "not JSON",
        ),
        ("export.zip", b"PK\x03\x04rest".to_vec(), ".zip"),
    ];
    for (name, bytes, says) in cases {
        let path = data.join(name);
        std::fs::write(&path, bytes).expect("write");
        let out = import(data, &path, false).await;
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(says) && err.contains("nothing was stored"),
            "{name}: {err}"
        );
    }
    // A conversation with a cycle in its tree, and one whose message is a
    // system prompt in disguise: each is refused, nothing else goes wrong.
    let hostile = serde_json::json!([
        {"id": "c1", "title": "Loop", "current_node": "a", "mapping": {
            "a": {"id": "a", "parent": "b", "children": [], "message": null},
            "b": {"id": "b", "parent": "a", "children": ["a"], "message": null}}},
        {"id": "c2", "title": "Huge", "current_node": "q", "mapping": {
            "q": {"id": "q", "parent": null, "children": [], "message": {
                "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["x".repeat(65 * 1024 * 1024)]}}}}}
    ]);
    let path = data.join("hostile.json");
    std::fs::write(&path, hostile.to_string()).expect("write");
    let r = report(&import(data, &path, true).await);
    assert_eq!(r["imported"].as_array().expect("ids").len(), 0);
    let reasons: Vec<&str> = r["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|x| x["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(reasons.len(), 2, "{r}");
    assert!(reasons[0].contains("cycle"), "{reasons:?}");
    assert!(reasons[1].contains("MiB of text"), "{reasons:?}");
    let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
    assert!(store.list(None, 10).expect("list").is_empty());
}

#[tokio::test]
async fn llm_threads_of_version_0_32_import_along_the_chain_to_the_tip() {
    let tmp = TempDir::new("import-llm-threads");
    let data = tmp.path();
    let db = data.join("logs.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("create");
        conn.execute_batch(runnel_testsupport::files::LLM_LOGS_SCHEMA)
            .expect("legacy tables");
        conn.execute_batch(runnel_testsupport::files::LLM_THREADS_SCHEMA)
            .expect("thread tables");
        conn.execute_batch(
            "INSERT INTO threads VALUES ('01k0thread', 'Tea', 'b2:a2', NULL, '2026-08-10 08:00:00.000000+00:00');
             INSERT INTO messages VALUES ('b2:s', NULL, 'system', NULL), ('b2:u1', 'b2:s', 'user', NULL),
               ('b2:a1', 'b2:u1', 'assistant', NULL), ('b2:t1', 'b2:a1', 'tool', NULL),
               ('b2:a1b', 'b2:t1', 'assistant', NULL), ('b2:u2', 'b2:a1b', 'user', NULL),
               ('b2:a2', 'b2:u2', 'assistant', NULL), ('b2:other', 'b2:u2', 'assistant', NULL);
             INSERT INTO parts (message_hash, position, type, tool_name, text, payload) VALUES
               ('b2:s', 0, 'text', NULL, 'You know tea.', NULL),
               ('b2:u1', 0, 'text', NULL, 'Green or black?', NULL),
               ('b2:a1', 0, 'reasoning', NULL, 'Compare caffeine.', NULL),
               ('b2:a1', 1, 'tool_call', 'lookup', NULL, '{}'),
               ('b2:t1', 0, 'tool_result', 'lookup', 'data', NULL),
               ('b2:a1b', 0, 'text', NULL, 'Green has less caffeine.', NULL),
               ('b2:u2', 0, 'text', NULL, 'Steep time?', NULL),
               ('b2:a2', 0, 'text', NULL, 'Three minutes.', NULL),
               ('b2:other', 0, 'text', NULL, 'Another branch.', NULL);
             INSERT INTO turns (id, thread_id, parent_message_hash, tip_message_hash, model, resolved_model, datetime_utc) VALUES
               ('t1', '01k0thread', 'b2:s', 'b2:a1b', 'gpt-5-mini', NULL, '2026-08-10T08:00:05+00:00'),
               ('t2', '01k0thread', 'b2:a1b', 'b2:a2', 'claude-x', 'claude-x-2026', '2026-08-10T08:01:00+00:00');",
        )
        .expect("rows");
    }
    let r = report(&import(data, &db, true).await);
    assert_eq!(r["source"], "llm");
    assert_eq!(r["imported"].as_array().expect("ids").len(), 1, "{r}");
    assert_eq!(r["messages_left_out"], 1, "the tool message");
    let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
    let id = by_title(&store, "Tea");
    let t = turns(&store, &id);
    let texts: Vec<&str> = t.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Green or black?",
            "Green has less caffeine.",
            "Steep time?",
            "Three minutes."
        ]
    );
    assert_eq!(
        t[1].2.as_deref(),
        Some("Compare caffeine."),
        "the tool call's reasoning joins the answer"
    );
    assert_eq!(t[1].3.as_deref(), Some("gpt-5-mini"));
    assert_eq!(
        t[3].3.as_deref(),
        Some("claude-x-2026"),
        "the model that answered"
    );
    let c = store.conversation(&id).expect("c");
    assert_eq!(c.system_prompt, "You know tea.");
    assert_eq!(
        c.created,
        runnel_core::types::time::parse_rfc3339("2026-08-10T08:00:00Z").expect("t")
    );
}
