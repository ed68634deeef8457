//! The conversation store on a temp dir: CRUD, paging, search, versions,
//! migration from the first schema, damaged files, interrupted streams.

use runnel_core::store::{
    fts_query, Cursor, FinalState, MessageStatus, Store, StoreError, MARK_END, MARK_START,
    SCHEMA_V1, SCHEMA_V2, SCHEMA_VERSION,
};
use runnel_testsupport::temp::TempDir;
use std::path::{Path, PathBuf};

/// FTS5's own consistency check of the external-content indexes.
fn assert_index_consistent(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.execute(
        "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')",
        [],
    )
    .expect("messages index consistent");
    conn.execute(
        "INSERT INTO titles_fts(titles_fts) VALUES('integrity-check')",
        [],
    )
    .expect("titles index consistent");
}

/// A temp dir (removed on drop, even on panic) and the database path in it.
fn temp_db(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(&format!("store-{name}"));
    let db = dir.join("runnel.sqlite3");
    (dir, db)
}

fn done(content: &str) -> FinalState {
    FinalState {
        content: content.into(),
        ..FinalState::bare(MessageStatus::Done)
    }
}

/// A conversation with one exchange; returns (conversation id, user id, answer id).
fn exchange(store: &Store, question: &str, answer: &str) -> (String, String, String) {
    let id = runnel_core::store::new_id();
    store
        .create_conversation(
            &id,
            "",
            Some("openai"),
            Some("gpt-4o-mini"),
            "Be brief.",
            None,
        )
        .expect("create");
    let u = store.add_user_message(&id, question, None).expect("user");
    let a = store.begin_answer(&id, &u.id).expect("answer");
    store.finish_message(&a.id, &done(answer)).expect("finish");
    (id, u.id, a.id)
}

#[test]
fn crud_title_rename_pin_delete_and_undo() {
    let (_dir, db) = temp_db("crud");
    let store = Store::open(&db).expect("open");
    let (id, _, a) = exchange(
        &store,
        "How do tides work?\nDetails please",
        "The moon pulls the oceans.",
    );
    let c = store.conversation(&id).expect("conversation");
    assert_eq!(
        c.title, "How do tides work?",
        "title from the first user message"
    );
    assert_eq!(c.provider.as_deref(), Some("openai"));
    let msgs = store.messages(&id, None, 100).expect("messages");
    assert_eq!(
        msgs.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
        ["user", "assistant"]
    );
    assert_eq!(msgs[1].id, a);
    assert_eq!(msgs[1].status, MessageStatus::Done);
    // A later user message does not change the title.
    store
        .add_user_message(&id, "Another question", None)
        .expect("user 2");
    assert_eq!(
        store.conversation(&id).expect("c").title,
        "How do tides work?"
    );
    store.rename(&id, "Tides").expect("rename");
    assert_eq!(store.conversation(&id).expect("c").title, "Tides");
    assert!(matches!(
        store.rename(&id, "  "),
        Err(StoreError::Invalid(_))
    ));
    store.set_pinned(&id, true).expect("pin");
    assert!(store.conversation(&id).expect("c").pinned);
    let deleted = store.delete(&id).expect("delete");
    assert!(matches!(
        store.conversation(&id),
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store.search("moon", 10).expect("search").is_empty(),
        "deleted messages leave the index"
    );
    assert_index_consistent(&db);
    store.restore(&deleted).expect("undo");
    assert_index_consistent(&db);
    assert_eq!(store.messages(&id, None, 100).expect("messages").len(), 3);
    assert_eq!(store.search("moon", 10).expect("search").len(), 1);
}

#[test]
fn paging_is_newest_first_with_pinned_on_top_and_no_gaps() {
    let (_dir, db) = temp_db("paging");
    let store = Store::open(&db).expect("open");
    let mut ids = Vec::new();
    for i in 0..120 {
        let (id, _, _) = exchange(&store, &format!("question {i}"), "answer");
        ids.push(id);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    store.set_pinned(&ids[5], true).expect("pin");
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store.list(cursor.as_ref(), 50).expect("page");
        if page.is_empty() {
            break;
        }
        let last = page.last().expect("last");
        cursor = Some(Cursor {
            pinned: last.pinned,
            updated: last.updated,
            id: last.id.clone(),
        });
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen.len(), 120);
    assert_eq!(seen[0], ids[5], "pinned first");
    assert_eq!(seen[1], ids[119], "then newest");
    assert_eq!(seen[119], ids[0]);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 120);
}

#[test]
fn search_finds_a_word_in_message_1_of_1000_with_a_highlighted_snippet() {
    let (_dir, db) = temp_db("fts");
    let store = Store::open(&db).expect("open");
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", None, None, "", None)
        .expect("create");
    let mut first = None;
    for i in 0..500 {
        let text = if i == 0 {
            "Tell me about the zygomorphic flowers".to_owned()
        } else {
            format!("filler question {i}")
        };
        let u = store.add_user_message(&id, &text, None).expect("user");
        first.get_or_insert(u.id.clone());
        let a = store.begin_answer(&id, &u.id).expect("answer");
        store
            .finish_message(&a.id, &done(&format!("filler answer {i}")))
            .expect("finish");
    }
    assert_eq!(store.all_messages(&id).expect("all").len(), 1000);
    let hits = store.search("zygomorph", 20).expect("search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].message_id, first);
    assert!(
        hits[0]
            .snippet
            .contains(&format!("{MARK_START}zygomorphic{MARK_END}")),
        "{}",
        hits[0].snippet
    );
    // Titles are searched too (a title hit shows when no message matched).
    let other = runnel_core::store::new_id();
    store
        .create_conversation(&other, "", None, None, "", None)
        .expect("create");
    store.rename(&other, "Botany notes").expect("rename");
    let hits = store.search("botany", 20).expect("search");
    assert!(
        hits.len() == 1 && hits[0].message_id.is_none() && hits[0].id == other,
        "{hits:?}"
    );
    // Quotes and operators in the query are harmless.
    assert!(store.search("\"AND OR NOT (", 20).is_ok());
    assert_eq!(fts_query("  "), None);
    assert_eq!(fts_query("a \"bcd").as_deref(), Some("\"a\" \"bcd\"*"));
    assert_eq!(
        fts_query("x a").as_deref(),
        Some("\"x\" \"a\""),
        "no prefix under 3 letters"
    );
}

#[test]
fn streaming_text_is_indexed_only_when_the_answer_ends() {
    let (_dir, db) = temp_db("streaming-index");
    let store = Store::open(&db).expect("open");
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", None, None, "", None)
        .expect("create");
    let u = store.add_user_message(&id, "hi", None).expect("user");
    let a = store.begin_answer(&id, &u.id).expect("answer");
    store
        .flush_answer(&a.id, "quasar partial", None)
        .expect("flush");
    assert_eq!(store.message(&a.id).expect("m").content, "quasar partial");
    assert!(store.search("quasar", 5).expect("search").is_empty());
    store
        .finish_message(
            &a.id,
            &FinalState {
                content: "quasar partial".into(),
                ..FinalState::bare(MessageStatus::Cancelled)
            },
        )
        .expect("finish");
    assert_eq!(store.search("quasar", 5).expect("search").len(), 1);
    assert_index_consistent(&db);
    assert_eq!(
        store.message(&a.id).expect("m").status,
        MessageStatus::Cancelled
    );
}

#[test]
fn regenerate_and_edit_keep_every_version() {
    let (_dir, db) = temp_db("versions");
    let store = Store::open(&db).expect("open");
    let (id, u, a1) = exchange(&store, "Name a colour", "Red");
    // Regenerate: a new branch beside the answer; the old one is kept, hidden.
    let a2 = store.begin_answer(&id, &u).expect("regenerate");
    store.finish_message(&a2.id, &done("Blue")).expect("finish");
    let shown = store.messages(&id, None, 10).expect("messages");
    assert_eq!(
        shown.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["Name a colour", "Blue"]
    );
    assert_eq!(store.siblings(&a2.id).expect("siblings").len(), 2);
    assert_eq!(
        store.search("Red", 5).expect("search").len(),
        1,
        "a hidden branch is searchable"
    );
    store.activate(&a1).expect("flip back");
    assert_eq!(store.messages(&id, None, 10).expect("m")[1].content, "Red");
    // Edit the last user message: a new branch with its own answer.
    let u2 = store
        .add_user_message(&id, "Name a fruit", Some(&u))
        .expect("edit");
    let a3 = store.begin_answer(&id, &u2.id).expect("answer");
    store
        .finish_message(&a3.id, &done("Apple"))
        .expect("finish");
    let shown: Vec<String> = store
        .messages(&id, None, 10)
        .expect("m")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(shown, ["Name a fruit", "Apple"]);
    assert_eq!(store.siblings(&u2.id).expect("siblings").len(), 2);
    store.activate(&u).expect("flip to the first question");
    let shown: Vec<String> = store
        .messages(&id, None, 10)
        .expect("m")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(
        shown,
        ["Name a colour", "Red"],
        "the first question with the answer last shown there"
    );
    assert_eq!(
        store.all_messages(&id).expect("all").len(),
        5,
        "nothing destroyed"
    );
    assert_index_consistent(&db);
}

#[test]
fn a_database_made_by_the_first_schema_is_migrated() {
    let (_dir, db) = temp_db("migrate");
    {
        let conn = rusqlite::Connection::open(&db).expect("open v1");
        conn.execute_batch(SCHEMA_V1).expect("v1 schema");
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO conversations (id, title, created, updated, system_prompt) VALUES ('c1', 'Old chat about nebulae', 1, 2, '');
             INSERT INTO messages (id, conversation_id, seq, role, content, status, created) VALUES
               ('m1', 'c1', 0, 'user', 'What is a nebula?', 'done', 1),
               ('m2', 'c1', 1, 'assistant', 'A cloud of interstellar gas.', 'done', 2);",
        )
        .expect("v1 data");
    }
    let store = Store::open(&db).expect("migrate");
    let v: i32 = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("v");
    assert_eq!(v, SCHEMA_VERSION);
    let msgs = store.messages("c1", None, 10).expect("messages");
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().all(|m| m.active));
    assert_eq!(
        store.search("interstellar", 5).expect("search")[0]
            .message_id
            .as_deref(),
        Some("m2")
    );
    assert!(
        store
            .search("nebulae", 5)
            .expect("search")
            .iter()
            .any(|h| h.message_id.is_none()),
        "titles indexed"
    );
}

#[test]
fn a_damaged_or_newer_database_is_reported_with_its_path_and_never_deleted() {
    let (_dir, db) = temp_db("corrupt");
    std::fs::write(
        &db,
        b"this is not a database, just some text that is long enough to be read",
    )
    .expect("write");
    match Store::open(&db) {
        Err(StoreError::Open {
            path,
            message,
            can_move_aside,
        }) => {
            assert_eq!(path, db);
            assert!(
                message.contains(&db.display().to_string()) && message.contains("damaged"),
                "{message}"
            );
            assert!(can_move_aside);
        }
        other => panic!("expected an open error, got {other:?}"),
    }
    assert!(db.exists(), "the file is left alone");
    let aside = Store::move_aside(&db).expect("move aside");
    assert!(aside.exists() && !db.exists());
    assert!(Store::open(&db).is_ok(), "a fresh database starts");

    let (_dir2, db2) = temp_db("newer");
    rusqlite::Connection::open(&db2)
        .expect("open")
        .execute_batch("PRAGMA user_version = 99;")
        .expect("v99");
    match Store::open(&db2) {
        Err(StoreError::Open { message, .. }) => {
            assert!(message.contains("newer Runnel"), "{message}")
        }
        other => panic!("expected an open error, got {other:?}"),
    }
}

#[test]
fn a_dead_writers_stream_becomes_interrupted_but_a_live_one_does_not() {
    let (_dir, db) = temp_db("interrupted");
    let store = Store::open(&db).expect("open");
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", None, None, "", None)
        .expect("create");
    let u = store.add_user_message(&id, "hi", None).expect("user");
    // This process's stream: its writer lock is held, so it stays streaming.
    let live = store.begin_answer(&id, &u.id).expect("answer");
    store
        .flush_answer(&live.id, "still going", None)
        .expect("flush");
    // A stream whose writer is gone (no lock file).
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute(
            "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, writer) VALUES ('dead', ?1, 9, 'assistant', 'half an answer', 'streaming', 1, 'gone-process')",
            [&id],
        )
        .expect("insert");
    drop(store);
    let reopened = Store::open(&db).expect("reopen");
    assert_eq!(
        reopened.message("dead").expect("m").status,
        MessageStatus::Interrupted
    );
    assert_eq!(
        reopened.message("dead").expect("m").content,
        "half an answer"
    );
    assert_eq!(
        reopened.message(&live.id).expect("m").status,
        MessageStatus::Streaming,
        "a live stream is never marked"
    );
    assert_eq!(
        reopened.search("half", 5).expect("search").len(),
        1,
        "interrupted text is searchable"
    );
}

#[test]
fn export_markdown_and_json_then_import() {
    let (_dir, db) = temp_db("export");
    let store = Store::open(&db).expect("open");
    let (id, _, _) = exchange(
        &store,
        "Write a haiku",
        "Autumn moonlight—\na worm digs silently\ninto the chestnut.",
    );
    let md = store.export_markdown(&id).expect("md");
    assert!(md.starts_with("# Write a haiku\n"), "{md}");
    assert!(
        md.contains("> System: Be brief.")
            && md.contains("## You\n\nWrite a haiku")
            && md.contains("into the chestnut.")
    );
    let json = store.export_json(&id).expect("json");
    let copy = store.import_json(&json).expect("import");
    assert_ne!(copy, id);
    let a: Vec<String> = store
        .messages(&id, None, 10)
        .expect("m")
        .into_iter()
        .map(|m| m.content)
        .collect();
    let b: Vec<String> = store
        .messages(&copy, None, 10)
        .expect("m")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(a, b);
    assert!(matches!(
        store.import_json(&serde_json::json!({"hello": 1})),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn a_database_at_schema_2_gains_the_thinking_columns() {
    let (_dir, db) = temp_db("migrate-v2");
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch(SCHEMA_V1).expect("v1");
        conn.execute_batch(SCHEMA_V2).expect("v2");
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO conversations (id, title, created, updated, system_prompt) VALUES ('c2', 'Old', 1, 2, '');
             INSERT INTO messages (id, conversation_id, seq, role, content, status, created) VALUES ('u', 'c2', 0, 'user', 'hello there', 'done', 1);",
        )
        .expect("v2 data");
    }
    let store = Store::open(&db).expect("migrate to the latest schema");
    assert_eq!(store.conversation("c2").expect("c").thinking_budget, None);
    assert_eq!(
        store.messages("c2", None, 5).expect("m")[0].thinking_blocks,
        None
    );
    assert_eq!(store.search("hello", 5).expect("search").len(), 1);
    assert_index_consistent(&db);
}

#[test]
fn regression_an_unknown_stored_status_is_an_error_not_done() {
    let (_dir, db) = temp_db("unknown-status");
    let store = Store::open(&db).expect("open");
    let (conversation, _, answer) = exchange(&store, "q", "a");
    let conn = rusqlite::Connection::open(&db).expect("raw");
    conn.execute(
        "UPDATE messages SET status = 'finished' WHERE id = ?1",
        [&answer],
    )
    .expect("update");
    let err = store
        .messages(&conversation, None, 10)
        .expect_err("unknown status");
    assert!(err.to_string().contains("unknown stored status"), "{err}");
    conn.execute(
        "UPDATE messages SET status = 'done', role = 'robot' WHERE id = ?1",
        [&answer],
    )
    .expect("update");
    let err = store
        .messages(&conversation, None, 10)
        .expect_err("unknown role");
    assert!(err.to_string().contains("unknown stored role"), "{err}");
}

/// A valid export of one exchange, as JSON, from a real store.
fn export_of_one_exchange() -> (TempDir, Store, serde_json::Value) {
    let (dir, db) = temp_db("import-src");
    let store = Store::open(&db).expect("open");
    let (id, _, _) = exchange(&store, "question", "answer");
    let v = store.export_json(&id).expect("export");
    (dir, store, v)
}

#[test]
fn regression_import_trusts_nothing_and_refuses_a_bad_file_whole() {
    let (_dir, store, good) = export_of_one_exchange();
    let before = store.list(None, 100).expect("list").len();
    let refused = |v: &serde_json::Value, needle: &str| {
        let e = store.import_json(v).expect_err("refused");
        let shown = e.to_string();
        assert!(shown.contains("nothing was stored"), "{shown}");
        assert!(shown.contains(needle), "{needle:?} in {shown}");
        assert_eq!(
            store.list(None, 100).expect("list").len(),
            before,
            "nothing stored"
        );
    };
    // A hidden system message (sent on every later turn, never shown).
    let mut v = good.clone();
    v["messages"][0]["role"] = "system".into();
    refused(&v, "role system");
    // Metrics of the wrong type would make the conversation impossible to open.
    let mut v = good.clone();
    v["messages"][1]["metrics"] = serde_json::json!({"ttft_ms": "fast"});
    refused(&v, "not a readable Runnel export");
    // A reference to a message that is not in the file.
    let mut v = good.clone();
    v["messages"][1]["parent_id"] = "elsewhere".into();
    refused(&v, "not in the file");
    // Several problems are each named.
    let mut v = good.clone();
    v["messages"][0]["role"] = "system".into();
    v["messages"][1]["variant_of"] = "ghost".into();
    refused(&v, "ghost");
    // An unknown stored status is refused too.
    let mut v = good.clone();
    v["messages"][1]["status"] = "finished".into();
    refused(&v, "not a readable Runnel export");
    // A position near i64::MAX is renumbered, so later sends still work.
    let mut v = good.clone();
    v["messages"][0]["seq"] = (i64::MAX - 1).into();
    v["messages"][1]["seq"] = i64::MAX.into();
    let id = store.import_json(&v).expect("imported");
    let shown = store.messages(&id, None, 10).expect("messages");
    assert_eq!(shown.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![0, 1]);
    let user = store
        .add_user_message(&id, "next", None)
        .expect("a later send works");
    assert_eq!(user.seq, 2);
}

#[test]
fn import_file_reads_an_export_as_a_stream() {
    let (dir, store, good) = export_of_one_exchange();
    let path = dir.join("export.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&good).expect("json")).expect("write");
    let id = store.import_file(&path).expect("imported");
    assert_eq!(store.messages(&id, None, 10).expect("messages").len(), 2);
    std::fs::write(
        &path,
        b"{\"format\": \"runnel-conversation\", \"version\": 1",
    )
    .expect("write");
    let e = store.import_file(&path).expect_err("truncated");
    assert!(
        e.to_string().contains("not a readable Runnel export"),
        "{e}"
    );
}

fn answered_with(store: &Store, id: &str, model: &str, input: u64, cached: u64, output: u64) {
    let u = store.add_user_message(id, "q", None).expect("user");
    let a = store.begin_answer(id, &u.id).expect("answer");
    let fin = FinalState {
        usage: Some(runnel_core::store::StoredUsage {
            input_tokens: input,
            output_tokens: output,
            estimated: false,
            cached_input_tokens: cached,
        }),
        provider: Some("openai".into()),
        model: Some(model.into()),
        ..done("a")
    };
    store.finish_message(&a.id, &fin).expect("finish");
    let m = store.message(&a.id).expect("stored");
    assert_eq!(
        (m.provider.as_deref(), m.model.as_deref()),
        (Some("openai"), Some(model))
    );
}

#[test]
fn usage_sums_finished_answers_per_model_and_outlives_a_deleted_conversation() {
    let (_dir, db) = temp_db("usage");
    let store = Store::open(&db).expect("open");
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", None, None, "", None)
        .expect("create");
    answered_with(&store, &id, "m1", 1_000, 400, 200);
    answered_with(&store, &id, "m1", 10, 0, 5);
    answered_with(&store, &id, "m2", 7, 0, 3);
    // A streaming answer counts only once it ends.
    let u = store.add_user_message(&id, "q", None).expect("user");
    store.begin_answer(&id, &u.id).expect("streaming");

    let rows = store.usage(None, None, 0).expect("usage");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let m1 = &rows[0];
    assert_eq!(
        (
            m1.model.as_str(),
            m1.answers,
            m1.input_tokens,
            m1.cached_input_tokens,
            m1.output_tokens
        ),
        ("m1", 2, 1_010, 400, 205)
    );
    assert_eq!(rows[1].model, "m2");

    // The conversation's own sums, per model.
    let mut sums = store.answer_usage(&id).expect("sums");
    sums.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(sums.len(), 2);
    assert_eq!(sums[0].1.as_deref(), Some("m1"));
    assert_eq!(
        (
            sums[0].2.input_tokens,
            sums[0].2.cached_input_tokens,
            sums[0].2.output_tokens
        ),
        (1_010, 400, 205)
    );

    // What was spent stays spent: deleting keeps it, undo does not add it
    // twice; the conversation's sums go and come back with it.
    let deleted = store.delete(&id).expect("delete");
    assert_eq!(store.usage(None, None, 0).expect("usage"), rows);
    assert!(store.answer_usage(&id).expect("gone").is_empty());
    store.restore(&deleted).expect("undo");
    assert_eq!(store.usage(None, None, 0).expect("usage"), rows);
    let mut again = store.answer_usage(&id).expect("back");
    again.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(again, sums);

    // Ranges and days.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert!(store
        .usage(Some(now + 3_600_000), None, 0)
        .expect("future")
        .is_empty());
    assert!(store.usage(None, Some(0), 0).expect("past").is_empty());
    assert_eq!(store.usage(None, None, 9 * 60).expect("UTC+9").len(), 2);
    assert!(matches!(
        store.usage(None, None, 15 * 60),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn a_database_at_schema_4_has_its_past_usage_counted() {
    let (_dir, db) = temp_db("migrate-v4");
    {
        let store = Store::open(&db).expect("create");
        let id = runnel_core::store::new_id();
        store
            .create_conversation(&id, "", Some("anthropic"), Some("claude-x"), "", None)
            .expect("create");
        answered_with(&store, &id, "ignored", 30, 0, 20);
        // Back to schema 4 as it was: no provider and model per message, no
        // usage table.
        drop(store);
        let conn = rusqlite::Connection::open(&db).expect("raw");
        conn.execute_batch(
            "DROP TRIGGER messages_steps_ai; DROP TRIGGER messages_steps_ad; DROP TRIGGER messages_steps_au; DROP TABLE steps_fts;
             ALTER TABLE messages DROP COLUMN tool_steps; ALTER TABLE conversations DROP COLUMN tools_off;
             DROP INDEX messages_shown; ALTER TABLE messages DROP COLUMN chosen; DROP INDEX messages_by_parent; CREATE INDEX messages_by_parent ON messages(parent_id);
             DROP INDEX answers_by_provider; DROP INDEX answers_by_model; DROP INDEX messages_by_created; DROP TABLE imports;
             DROP TABLE attachments; DROP TABLE attachments_fts; DROP TABLE blobs;
             DROP TRIGGER usage_on_finish; DROP TABLE usage_hourly; DROP TABLE conversation_usage;
             ALTER TABLE messages DROP COLUMN provider; ALTER TABLE messages DROP COLUMN model;
             ALTER TABLE messages DROP COLUMN trace;
             UPDATE messages SET usage = '{\"input_tokens\":30,\"output_tokens\":20,\"estimated\":true}' WHERE role = 'assistant';
             PRAGMA user_version = 4;",
        )
        .expect("downgrade");
    }
    let store = Store::open(&db).expect("migrate");
    let rows = store.usage(None, None, 0).expect("usage");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (
            r.provider.as_str(),
            r.model.as_str(),
            r.answers,
            r.input_tokens,
            r.output_tokens,
            r.estimated_answers
        ),
        ("anthropic", "claude-x", 1, 30, 20, 1),
        "the conversation's provider and model stand in"
    );
}

/// Attachments (issue 17): the same bytes are one blob however many messages
/// use them; a deleted conversation's files come back with Undo; blobs no
/// message uses are gone at the next open; the FTS index stays consistent.
#[test]
fn attachments_share_one_blob_survive_undo_and_unused_blobs_go_at_open() {
    let (_dir, db) = temp_db("blobs");
    let store = Store::open(&db).expect("open");
    let file = runnel_core::attach::from_bytes("notes.txt", b"shared heron notes").expect("file");
    let photo = runnel_core::attach::from_bytes(
        "photo.png",
        &runnel_testsupport::files::png_solid(4, 4, [9, 9, 9, 255]),
    )
    .expect("photo");
    let mut ids = Vec::new();
    for (i, files) in [vec![file.clone(), photo.clone()], vec![file.clone()]]
        .iter()
        .enumerate()
    {
        let id = runnel_core::store::new_id();
        store
            .create_conversation(&id, "", None, None, "", None)
            .expect("create");
        store
            .add_user_message_with(&id, &format!("question {i}"), None, files)
            .expect("user");
        ids.push(id);
    }
    assert_eq!(
        store.blob_count().expect("count"),
        2,
        "one blob per distinct file"
    );
    let rows = store.attachment_rows(&ids[0]).expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].pos, rows[0].size),
        ("notes.txt", 0, 18)
    );
    assert_eq!(rows[1].size_px, Some((4, 4)));
    let u = store.messages(&ids[0], None, 100).expect("messages")[0]
        .id
        .clone();
    let files = store.attachment_files(&u).expect("files");
    assert_eq!(files[0].data.as_ref(), b"shared heron notes");
    assert_eq!(files[1].sha256, photo.sha256);

    // Search finds a message by a file's name and text.
    let hits = store.search("heron", 10).expect("search");
    assert_eq!(hits.len(), 2, "{hits:?}");
    // Delete and Undo: the files come back.
    let d = store.delete(&ids[0]).expect("delete");
    assert_eq!(d.attachments.len(), 2);
    store.restore(&d).expect("undo");
    assert_eq!(store.attachment_rows(&ids[0]).expect("rows").len(), 2);
    assert_index_consistent(&db);
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute(
        "INSERT INTO attachments_fts(attachments_fts) VALUES('integrity-check')",
        [],
    )
    .expect("attachments index consistent");
    drop(conn);

    // Both deleted: the blobs stay (for Undo) until the database opens again.
    store.delete(&ids[0]).expect("delete");
    store.delete(&ids[1]).expect("delete");
    assert_eq!(store.blob_count().expect("count"), 2);
    drop(store);
    let store = Store::open(&db).expect("reopen");
    assert_eq!(store.blob_count().expect("count"), 0);
}

/// Search filters (issue 18): provider and model select conversations (every
/// message in them), role and dates select messages, and they combine with
/// the words; a role or a date leaves title hits out.
#[test]
fn search_filters_combine_with_the_words() {
    use runnel_core::store::SearchFilter;
    use runnel_core::types::chat::Role;
    let (_dir, db) = temp_db("filters");
    let store = Store::open(&db).expect("open");
    let chat = |provider: &str, model: &str, q: &str, a: &str| {
        let id = runnel_core::store::new_id();
        store
            .create_conversation(&id, "", Some(provider), Some(model), "", None)
            .expect("create");
        let u = store.add_user_message(&id, q, None).expect("user");
        let ans = store.begin_answer(&id, &u.id).expect("answer");
        let fin = FinalState {
            provider: Some(provider.into()),
            model: Some(model.into()),
            ..done(a)
        };
        store.finish_message(&ans.id, &fin).expect("finish");
        (id, u.id, ans.id)
    };
    let (a, a_user, a_answer) = chat(
        "openai",
        "gpt-4o",
        "harbor seals",
        "Seals rest in the harbor.",
    );
    let (b, _, b_answer) = chat(
        "anthropic",
        "claude-x",
        "harbor porpoise",
        "Porpoises visit the harbor.",
    );
    // A conversation whose title matches too.
    store.rename(&b, "Harbor wildlife").expect("rename");
    // Dates: conversation a's messages are from 2026-01-10, b's from 2026-03-05.
    let day = |s: &str| runnel_core::types::time::parse_day(s).expect("day") + 3_600_000;
    let raw = rusqlite::Connection::open(&db).expect("raw");
    raw.execute(
        "UPDATE messages SET created = ?1 WHERE conversation_id = ?2",
        rusqlite::params![day("2026-01-10"), a],
    )
    .expect("date a");
    raw.execute(
        "UPDATE messages SET created = ?1 WHERE conversation_id = ?2",
        rusqlite::params![day("2026-03-05"), b],
    )
    .expect("date b");
    let ids = |f: SearchFilter| -> Vec<Option<String>> {
        let mut v: Vec<Option<String>> = store
            .search_filtered("harbor", &f, 50)
            .expect("search")
            .into_iter()
            .map(|h| h.message_id.or(Some(format!("title:{}", h.id))))
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<Option<String>>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(SearchFilter::default()).len(),
        4,
        "every message; b's title adds nothing"
    );
    let by_provider = ids(SearchFilter {
        provider: Some("openai".into()),
        ..Default::default()
    });
    assert_eq!(
        by_provider,
        sorted(vec![Some(a_user.clone()), Some(a_answer.clone())]),
        "the user's message too"
    );
    let by_model = ids(SearchFilter {
        model: Some("claude-x".into()),
        role: Some(Role::Assistant),
        ..Default::default()
    });
    assert_eq!(by_model, vec![Some(b_answer.clone())]);
    assert!(
        ids(SearchFilter {
            model: Some("claude".into()),
            ..Default::default()
        })
        .is_empty(),
        "a model is matched exactly"
    );
    let users = ids(SearchFilter {
        role: Some(Role::User),
        ..Default::default()
    });
    assert_eq!(users.len(), 2);
    assert!(!users.iter().flatten().any(|h| h.starts_with("title:")));
    let since = ids(SearchFilter {
        since: Some(day("2026-02-01")),
        ..Default::default()
    });
    assert_eq!(since.len(), 2, "b's two messages");
    assert!(since.contains(&Some(b_answer.clone())));
    let until = ids(SearchFilter {
        until: Some(day("2026-02-01")),
        ..Default::default()
    });
    assert_eq!(until, sorted(vec![Some(a_user), Some(a_answer)]));
    assert!(
        ids(SearchFilter {
            provider: Some("openai".into()),
            since: Some(day("2026-02-01")),
            ..Default::default()
        })
        .is_empty(),
        "filters combine"
    );
    // Without a message filter a title hit stays; the provider narrows titles too.
    store.rename(&a, "Seal notes").expect("rename");
    let titles = store
        .search_filtered(
            "wildlife",
            &SearchFilter {
                provider: Some("anthropic".into()),
                ..Default::default()
            },
            10,
        )
        .expect("search");
    assert_eq!(titles.len(), 1);
    assert!(store
        .search_filtered(
            "wildlife",
            &SearchFilter {
                provider: Some("openai".into()),
                ..Default::default()
            },
            10
        )
        .expect("search")
        .is_empty());
    let e = store
        .search_filtered(
            "harbor",
            &SearchFilter {
                since: Some(day("2026-03-01")),
                until: Some(day("2026-02-01")),
                ..Default::default()
            },
            10,
        )
        .expect_err("an empty range");
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
}

/// Version 7: answers stored before version 5 (no provider of their own)
/// take their conversation's, so the provider filter finds them.
#[test]
fn a_database_at_schema_6_gets_answerers_for_old_answers() {
    let (_dir, db) = temp_db("migrate-v6");
    {
        let store = Store::open(&db).expect("create");
        let id = runnel_core::store::new_id();
        store
            .create_conversation(&id, "", Some("anthropic"), Some("claude-x"), "", None)
            .expect("create");
        let u = store
            .add_user_message(&id, "ancient question", None)
            .expect("user");
        let a = store.begin_answer(&id, &u.id).expect("answer");
        store
            .finish_message(&a.id, &done("ancient answer"))
            .expect("finish");
        drop(store);
        let conn = rusqlite::Connection::open(&db).expect("raw");
        conn.execute_batch(
            "DROP TRIGGER messages_steps_ai; DROP TRIGGER messages_steps_ad; DROP TRIGGER messages_steps_au; DROP TABLE steps_fts;
             ALTER TABLE messages DROP COLUMN tool_steps; ALTER TABLE conversations DROP COLUMN tools_off;
             DROP INDEX messages_shown; ALTER TABLE messages DROP COLUMN chosen; DROP INDEX messages_by_parent; CREATE INDEX messages_by_parent ON messages(parent_id);
             DROP INDEX answers_by_provider; DROP INDEX answers_by_model; DROP INDEX messages_by_created; DROP TABLE imports;
             UPDATE messages SET provider = NULL, model = NULL;
             PRAGMA user_version = 6;",
        )
        .expect("downgrade");
    }
    let store = Store::open(&db).expect("migrate");
    let hits = store
        .search_filtered(
            "ancient",
            &runnel_core::store::SearchFilter {
                provider: Some("anthropic".into()),
                model: Some("claude-x".into()),
                ..Default::default()
            },
            10,
        )
        .expect("search");
    assert_eq!(hits.len(), 2, "{hits:?}");
}

/// A date filter bounds the index scan by the row ids of the range's
/// messages; messages stored out of time order (an import keeps the
/// original dates) are still found, and an empty range finds nothing.
#[test]
fn a_date_filter_finds_messages_stored_out_of_time_order() {
    use runnel_core::store::SearchFilter;
    let (_dir, db) = temp_db("dates");
    let store = Store::open(&db).expect("open");
    let day = |s: &str| runnel_core::types::time::parse_day(s).expect("day");
    let raw = rusqlite::Connection::open(&db).expect("raw");
    let mut ids = Vec::new();
    // Stored in this order, dated out of order: the last one is the oldest.
    for (i, date) in [
        "2026-05-01",
        "2026-05-02",
        "2026-06-01",
        "2026-05-03",
        "2025-01-01",
    ]
    .iter()
    .enumerate()
    {
        let (id, u, _) = exchange(&store, &format!("tide pool {i}"), "ok");
        raw.execute(
            "UPDATE messages SET created = ?1 WHERE conversation_id = ?2",
            rusqlite::params![day(date), id],
        )
        .expect("date");
        ids.push(u);
    }
    let found = |since: &str, until: &str| -> Vec<String> {
        let mut v: Vec<String> = store
            .search_filtered(
                "tide",
                &SearchFilter {
                    since: Some(day(since)),
                    until: Some(day(until)),
                    ..Default::default()
                },
                50,
            )
            .expect("search")
            .into_iter()
            .filter_map(|h| h.message_id)
            .collect();
        v.sort();
        v
    };
    let mut may = vec![ids[0].clone(), ids[1].clone(), ids[3].clone()];
    may.sort();
    assert_eq!(found("2026-05-01", "2026-05-31"), may);
    assert_eq!(found("2024-12-01", "2025-02-01"), vec![ids[4].clone()]);
    assert!(found("2030-01-01", "2030-02-01").is_empty());
}

/// The sidebar's filter (issue 18): conversations answered by a provider or
/// a model, paged like the whole list; and every provider and model there is.
#[test]
fn the_list_filters_by_who_answered_and_pages() {
    let (_dir, db) = temp_db("list-filter");
    let store = Store::open(&db).expect("open");
    let mut made = Vec::new();
    for i in 0..7 {
        let (provider, model) = if i % 2 == 0 {
            ("openai", "gpt-4o")
        } else {
            ("anthropic", "claude-x")
        };
        let id = runnel_core::store::new_id();
        store
            .create_conversation(&id, "", None, None, "", None)
            .expect("create");
        let u = store
            .add_user_message(&id, &format!("question {i}"), None)
            .expect("user");
        let a = store.begin_answer(&id, &u.id).expect("answer");
        let fin = FinalState {
            provider: Some(provider.into()),
            model: Some(model.into()),
            ..done("a")
        };
        store.finish_message(&a.id, &fin).expect("finish");
        made.push((id, provider));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let openai: Vec<String> = made
        .iter()
        .rev()
        .filter(|(_, p)| *p == "openai")
        .map(|(id, _)| id.clone())
        .collect();
    let first = store
        .list_answered_by(None, 3, Some("openai"), None)
        .expect("page 1");
    assert_eq!(
        first.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        openai[..3]
    );
    let last = first.last().expect("last");
    let cursor = Cursor {
        pinned: last.pinned,
        updated: last.updated,
        id: last.id.clone(),
    };
    let second = store
        .list_answered_by(Some(&cursor), 3, Some("openai"), None)
        .expect("page 2");
    assert_eq!(
        second.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        openai[3..]
    );
    assert_eq!(
        store
            .list_answered_by(None, 50, None, Some("claude-x"))
            .expect("model")
            .len(),
        3
    );
    assert!(store
        .list_answered_by(None, 50, Some("openai"), Some("claude-x"))
        .expect("both")
        .is_empty());
    assert_eq!(
        store
            .list_answered_by(None, 50, None, None)
            .expect("all")
            .len(),
        7
    );
    let (providers, models) = store.answerers().expect("answerers");
    assert_eq!(providers, ["anthropic", "openai"]);
    assert_eq!(models, ["claude-x", "gpt-4o"]);
}
