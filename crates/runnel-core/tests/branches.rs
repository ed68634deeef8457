//! Branches on a temp dir: editing an earlier question and answering an
//! earlier answer again start branches, switching one never changes
//! another, what is shown is what is sent, hits in hidden branches open
//! them, branches survive a restart and a JSON round trip, and a database
//! and an export made before branches (schema 7) become the same tree.

use runnel_core::store::{
    BackupReason, FinalState, Message, MessageStatus, Store, SCHEMA_V1, SCHEMA_V2, SCHEMA_V3,
    SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_VERSION, WHOLE_CONVERSATION,
};
use runnel_core::turn::{self, SendKind, SendSettings};
use runnel_core::types::chat::Role;
use runnel_testsupport::temp::TempDir;
use std::collections::HashMap;
use std::path::PathBuf;

fn temp_db(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(&format!("branches-{name}"));
    let db = dir.join("runnel.sqlite3");
    (dir, db)
}

fn new_conversation(store: &Store) -> String {
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", Some("openai"), Some("m"), "", None)
        .expect("create");
    id
}

fn answer(store: &Store, conversation: &str, question: &str, text: &str) -> String {
    let a = store.begin_answer(conversation, question).expect("answer");
    store
        .finish_message(
            &a.id,
            &FinalState {
                content: text.into(),
                ..FinalState::bare(MessageStatus::Done)
            },
        )
        .expect("finish");
    a.id
}

/// Asks `question` after the shown branch; returns (question id, answer id).
fn ask(store: &Store, conversation: &str, question: &str, text: &str) -> (String, String) {
    let u = store
        .add_user_message(conversation, question, None)
        .expect("user");
    let a = answer(store, conversation, &u.id, text);
    (u.id, a)
}

fn shown(store: &Store, conversation: &str) -> Vec<String> {
    store
        .messages(conversation, None, WHOLE_CONVERSATION)
        .expect("messages")
        .into_iter()
        .map(|m| m.content)
        .collect()
}

/// The tree's rules hold: the shown messages form one path from a first
/// message, each the chosen one of its fork, in position order, and every
/// fork has exactly one chosen member.
fn assert_tree(store: &Store, conversation: &str) {
    let all = store.all_messages(conversation).expect("all");
    let by_id: HashMap<&str, &Message> = all.iter().map(|m| (m.id.as_str(), m)).collect();
    let shown = store
        .messages(conversation, None, WHOLE_CONVERSATION)
        .expect("shown");
    let mut parent: Option<&str> = None;
    for m in &shown {
        assert_eq!(
            m.parent_id.as_deref(),
            parent,
            "{} follows the one above it",
            m.content
        );
        assert!(m.chosen, "{} is chosen at its fork", m.content);
        if let Some(p) = parent {
            assert!(by_id[p].seq < m.seq, "positions grow along the branch");
        }
        parent = Some(&m.id);
    }
    assert!(
        !all.iter().any(|m| m.parent_id.as_deref() == parent),
        "the shown branch goes to its end"
    );
    let mut forks: HashMap<Option<&str>, usize> = HashMap::new();
    for m in &all {
        *forks.entry(m.parent_id.as_deref()).or_default() += usize::from(m.chosen);
    }
    assert!(
        forks.values().all(|&n| n == 1),
        "one chosen per fork: {forks:?}"
    );
}

#[test]
fn an_earlier_edit_starts_a_branch_and_switching_never_changes_another() {
    let (_dir, db) = temp_db("switch");
    let store = Store::open(&db).expect("open");
    let c = new_conversation(&store);
    ask(&store, &c, "Q1", "A1");
    let (q2, _) = ask(&store, &c, "Q2", "A2");
    ask(&store, &c, "Q3 about zeppelins", "A3");
    // Edit the second question (not the last): a branch from there.
    let q2b = store
        .add_user_message(&c, "Q2 edited", Some(&q2))
        .expect("edit");
    let a2b = answer(&store, &c, &q2b.id, "A2b");
    ask(&store, &c, "Q4", "A4");
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2 edited", "A2b", "Q4", "A4"]
    );
    assert_tree(&store, &c);
    // Answer an earlier answer again, in this branch.
    let a2c = answer(&store, &c, &q2b.id, "A2c");
    assert_eq!(shown(&store, &c), ["Q1", "A1", "Q2 edited", "A2c"]);
    // Back to the first answer there: what followed it is as it was.
    store.activate(&a2b).expect("switch");
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2 edited", "A2b", "Q4", "A4"]
    );
    // The first branch, untouched by all of that.
    store.activate(&q2).expect("switch");
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2", "A2", "Q3 about zeppelins", "A3"]
    );
    assert_tree(&store, &c);
    // And back: the second branch as last shown.
    store.activate(&q2b.id).expect("switch");
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2 edited", "A2b", "Q4", "A4"]
    );
    // Each fork on screen knows its branches, oldest first.
    let msgs = store.messages(&c, None, WHOLE_CONVERSATION).expect("shown");
    let groups = store.sibling_groups(&c, &msgs).expect("groups");
    assert_eq!(groups[&q2b.id], [q2.clone(), q2b.id.clone()]);
    assert_eq!(groups[&a2b], [a2b.clone(), a2c.clone()]);
    assert_eq!(groups.len(), 2, "{groups:?}");
    // A hit in a hidden branch opens that branch.
    let hits = store.search("zeppelins", 5).expect("search");
    assert_eq!(hits.len(), 1);
    let hit = hits[0].message_id.clone().expect("a message hit");
    store.activate(&hit).expect("open the hit's branch");
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2", "A2", "Q3 about zeppelins", "A3"]
    );
    // Branches and the choice shown survive a restart.
    drop(store);
    let store = Store::open(&db).expect("reopen");
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2", "A2", "Q3 about zeppelins", "A3"]
    );
    assert_eq!(
        store.all_messages(&c).expect("all").len(),
        11,
        "nothing lost"
    );
    assert_tree(&store, &c);
}

/// What is shown is exactly what is sent: an edit of an earlier question
/// and a regenerate of an earlier answer send the branch up to there.
#[test]
fn a_send_from_an_earlier_message_carries_exactly_the_branch_shown() {
    let (_dir, db) = temp_db("send");
    let store = Store::open(&db).expect("open");
    let c = new_conversation(&store);
    let settings = SendSettings {
        provider: Some("openai".into()),
        model: Some("m".into()),
        ..Default::default()
    };
    let (q1, a1) = ask(&store, &c, "Q1", "A1");
    ask(&store, &c, "Q2", "A2");
    let sent = |p: &turn::Prepared| -> Vec<(Role, String)> {
        p.messages
            .iter()
            .map(|m| (m.role, m.content.clone()))
            .collect()
    };
    let edit = turn::prepare(
        &store,
        &c,
        &settings,
        &SendKind::Edit {
            text: "Q1 again".into(),
            of: Some(q1.clone()),
        },
    )
    .expect("edit the first question");
    assert_eq!(sent(&edit), [(Role::User, "Q1 again".to_owned())]);
    assert_eq!(edit.user_message.parent_id, None, "a first message");
    store
        .finish_message(
            &edit.answer.id,
            &FinalState {
                content: "A1 again".into(),
                ..FinalState::bare(MessageStatus::Done)
            },
        )
        .expect("finish");
    // Regenerate the first branch's first answer: its question alone is sent.
    let again = turn::prepare(
        &store,
        &c,
        &settings,
        &SendKind::Regenerate {
            of: Some(a1.clone()),
        },
    )
    .expect("regenerate an earlier answer");
    assert_eq!(sent(&again), [(Role::User, "Q1".to_owned())]);
    assert_eq!(again.answer.parent_id.as_deref(), Some(q1.as_str()));
    store
        .finish_message(
            &again.answer.id,
            &FinalState {
                content: "A1 once more".into(),
                ..FinalState::bare(MessageStatus::Done)
            },
        )
        .expect("finish");
    assert_eq!(shown(&store, &c), ["Q1", "A1 once more"]);
    // The next question follows the branch shown.
    let next = turn::prepare(
        &store,
        &c,
        &settings,
        &SendKind::New {
            text: "Q2 there".into(),
        },
    )
    .expect("send");
    assert_eq!(
        sent(&next),
        [
            (Role::User, "Q1".to_owned()),
            (Role::Assistant, "A1 once more".to_owned()),
            (Role::User, "Q2 there".to_owned()),
        ]
    );
    store
        .finish_message(&next.answer.id, &FinalState::bare(MessageStatus::Cancelled))
        .expect("stop");
    // Editing an answer is refused: only questions are edited.
    let e = turn::prepare(
        &store,
        &c,
        &settings,
        &SendKind::Edit {
            text: "x".into(),
            of: Some(a1),
        },
    )
    .expect_err("an answer is not edited");
    assert!(e.to_string().contains("Only a message you wrote"), "{e}");
    assert_tree(&store, &c);
}

#[test]
fn branches_round_trip_through_json_export_and_import() {
    let (_dir, db) = temp_db("json");
    let store = Store::open(&db).expect("open");
    let c = new_conversation(&store);
    let (q1, _) = ask(&store, &c, "Q1", "A1");
    ask(&store, &c, "Q2", "A2");
    let q1b = store.add_user_message(&c, "Q1b", Some(&q1)).expect("edit");
    answer(&store, &c, &q1b.id, "A1b");
    // Shown: the first branch, whose second fork remembers the edit's side.
    store.activate(&q1).expect("switch");
    let json = store.export_json(&c).expect("export");
    let copy = store.import_json(&json).expect("import");
    assert_eq!(shown(&store, &copy), ["Q1", "A1", "Q2", "A2"]);
    assert_eq!(store.all_messages(&copy).expect("all").len(), 6);
    assert_tree(&store, &copy);
    let first = store.messages(&copy, None, 1).expect("m");
    let q1_copy = store.messages(&copy, None, WHOLE_CONVERSATION).expect("m")[0]
        .id
        .clone();
    assert_eq!(first.len(), 1);
    let forks = store.siblings(&q1_copy).expect("siblings");
    assert_eq!(
        forks.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["Q1", "Q1b"]
    );
    store.activate(&forks[1].id).expect("switch in the copy");
    assert_eq!(shown(&store, &copy), ["Q1b", "A1b"]);
    assert_eq!(
        shown(&store, &c),
        ["Q1", "A1", "Q2", "A2"],
        "the original is its own"
    );
}

/// A file where a message follows one placed after it (a cycle, or a
/// branch out of order) is refused whole.
#[test]
fn regression_an_import_whose_message_follows_a_later_one_is_refused() {
    let (_dir, db) = temp_db("hostile");
    let store = Store::open(&db).expect("open");
    let c = new_conversation(&store);
    ask(&store, &c, "Q1", "A1");
    let mut json = store.export_json(&c).expect("export");
    let answer_id = json["messages"][1]["id"].clone();
    json["messages"][0]["parent_id"] = answer_id;
    let e = store.import_json(&json).expect_err("refused");
    assert!(
        e.to_string()
            .contains("follows a message that is not before it"),
        "{e}"
    );
    assert_eq!(
        store.list(None, 10).expect("list").len(),
        1,
        "nothing stored"
    );
}

/// The rows schema 7 stored for: a question, an answer regenerated once
/// (both kept, the second shown), a second question with its answer, then
/// that question edited (kept, hidden with its answer) and the edit's answer.
const SCHEMA_7_ROWS: &str = "
INSERT INTO conversations (id, title, created, updated, provider, model) VALUES ('c', 'Q1', 1000, 1007, 'openai', 'm');
INSERT INTO messages (id, conversation_id, seq, role, content, status, created, parent_id, variant_of, active, provider, model) VALUES
  ('u1', 'c', 0, 'user', 'Q1', 'done', 1000, NULL, NULL, 1, NULL, NULL),
  ('a1', 'c', 1, 'assistant', 'A1', 'done', 1001, 'u1', NULL, 0, 'openai', 'm'),
  ('a2', 'c', 1, 'assistant', 'A1 again', 'done', 1002, 'u1', 'a1', 1, 'openai', 'm'),
  ('u2', 'c', 2, 'user', 'Q2 about lighthouses', 'done', 1003, NULL, NULL, 0, NULL, NULL),
  ('a3', 'c', 3, 'assistant', 'A2', 'done', 1004, 'u2', NULL, 0, 'openai', 'm'),
  ('u2b', 'c', 2, 'user', 'Q2 edited', 'done', 1005, NULL, 'u2', 1, NULL, NULL),
  ('a4', 'c', 4, 'assistant', 'A2b', 'done', 1006, 'u2b', NULL, 1, 'openai', 'm');
";

#[test]
fn a_database_made_by_schema_7_becomes_a_tree() {
    let (_dir, db) = temp_db("migrate");
    {
        let conn = rusqlite::Connection::open(&db).expect("open v7");
        for sql in [
            SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
        ] {
            conn.execute_batch(sql).expect("schema");
        }
        conn.execute_batch(SCHEMA_7_ROWS).expect("rows");
        conn.execute_batch("PRAGMA user_version = 7;")
            .expect("version");
    }
    let store = Store::open(&db).expect("migrate");
    let v: i32 = rusqlite::Connection::open(&db)
        .expect("raw")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, SCHEMA_VERSION);
    assert!(
        store
            .backups()
            .expect("backups")
            .iter()
            .any(|b| b.reason == BackupReason::Migration),
        "a copy before the migration"
    );
    // What was shown is shown.
    assert_eq!(shown(&store, "c"), ["Q1", "A1 again", "Q2 edited", "A2b"]);
    assert_tree(&store, "c");
    let parent = |id: &str| store.message(id).expect("m").parent_id;
    assert_eq!(parent("u2b").as_deref(), Some("a2"));
    assert_eq!(
        parent("u2").as_deref(),
        Some("a2"),
        "asked after the regenerate"
    );
    let ids = |v: Vec<Message>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(store.siblings("u2b").expect("s")), ["u2", "u2b"]);
    assert_eq!(ids(store.siblings("a2").expect("s")), ["a1", "a2"]);
    // The old versions are whole branches now.
    store.activate("u2").expect("switch");
    assert_eq!(
        shown(&store, "c"),
        ["Q1", "A1 again", "Q2 about lighthouses", "A2"]
    );
    store.activate("a1").expect("switch");
    assert_eq!(shown(&store, "c"), ["Q1", "A1"]);
    store.activate("a2").expect("switch");
    assert_eq!(
        shown(&store, "c"),
        ["Q1", "A1 again", "Q2 about lighthouses", "A2"],
        "the branch as last shown"
    );
    assert_eq!(store.search("lighthouses", 5).expect("search").len(), 1);
    // A new question goes on the branch shown.
    ask(&store, "c", "Q3", "A3");
    assert_eq!(
        shown(&store, "c"),
        ["Q1", "A1 again", "Q2 about lighthouses", "A2", "Q3", "A3"]
    );
    assert_tree(&store, "c");
}

/// An export written before branches (no `chosen`, questions without a
/// parent, versions by `variant_of`) is imported as the same tree a
/// migration makes.
#[test]
fn an_export_made_before_branches_imports_as_a_tree() {
    let (_dir, db) = temp_db("old-export");
    let store = Store::open(&db).expect("open");
    let c = new_conversation(&store);
    let (q1, a1) = ask(&store, &c, "Q1", "A1");
    let a2 = answer(&store, &c, &q1, "A1 again");
    let (q2, _) = ask(&store, &c, "Q2", "A2");
    let q2b = store
        .add_user_message(&c, "Q2 edited", Some(&q2))
        .expect("edit");
    answer(&store, &c, &q2b.id, "A2b");
    let mut json = store.export_json(&c).expect("export");
    // As schema 7 wrote it.
    for m in json["messages"].as_array_mut().expect("messages") {
        let o = m.as_object_mut().expect("object");
        o.remove("chosen");
        if o["role"] == "user" {
            o.insert("parent_id".into(), serde_json::Value::Null);
        }
        let id = o["id"].as_str().expect("id").to_owned();
        if id == a2 {
            o.insert("variant_of".into(), a1.clone().into());
        }
        if id == q2b.id {
            o.insert("variant_of".into(), q2.clone().into());
        }
    }
    let copy = store.import_json(&json).expect("import");
    assert_eq!(shown(&store, &copy), ["Q1", "A1 again", "Q2 edited", "A2b"]);
    assert_tree(&store, &copy);
    let msgs = store.messages(&copy, None, WHOLE_CONVERSATION).expect("m");
    let groups = store.sibling_groups(&copy, &msgs).expect("groups");
    assert_eq!(
        groups[&msgs[1].id].len(),
        2,
        "the regenerated answer's fork"
    );
    assert_eq!(groups[&msgs[2].id].len(), 2, "the edited question's fork");
}

/// Schema 7: a question edited, the first text flipped back to and a new
/// question sent under it, then the edit flipped to again. The hidden new
/// question is not hung under the shown answer (the shown branch would grow
/// and the next send would carry a question never asked there).
#[test]
fn regression_a_migrated_hidden_question_never_extends_the_shown_branch() {
    let (_dir, db) = temp_db("migrate-tail");
    {
        let conn = rusqlite::Connection::open(&db).expect("open v7");
        for sql in [
            SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
        ] {
            conn.execute_batch(sql).expect("schema");
        }
        conn.execute_batch(
            "INSERT INTO conversations (id, title, created, updated) VALUES ('c', 'Q1', 1000, 1006);
             INSERT INTO messages (id, conversation_id, seq, role, content, status, created, parent_id, variant_of, active) VALUES
               ('q1', 'c', 0, 'user', 'Q1', 'done', 1000, NULL, NULL, 0),
               ('a1', 'c', 1, 'assistant', 'A1', 'done', 1001, 'q1', NULL, 0),
               ('q1b', 'c', 0, 'user', 'Q1 edited', 'done', 1002, NULL, 'q1', 1),
               ('a1b', 'c', 2, 'assistant', 'A1 edited', 'done', 1003, 'q1b', NULL, 1),
               ('q2', 'c', 3, 'user', 'Q2 after A1', 'done', 1004, NULL, NULL, 0),
               ('a2', 'c', 4, 'assistant', 'A2', 'done', 1005, 'q2', NULL, 0);
             PRAGMA user_version = 7;",
        )
        .expect("rows");
    }
    let store = Store::open(&db).expect("migrate");
    assert_eq!(
        shown(&store, "c"),
        ["Q1 edited", "A1 edited"],
        "as it was shown"
    );
    assert_tree(&store, "c");
    store.activate("q1").expect("switch");
    assert_eq!(shown(&store, "c"), ["Q1", "A1", "Q2 after A1", "A2"]);
}

fn import_file(
    store: &Store,
    dir: &TempDir,
    name: &str,
    json: &serde_json::Value,
) -> runnel_core::import::ImportReport {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(json).expect("json")).expect("write");
    runnel_core::import::import_path(store, &path).expect("import")
}

/// Open WebUI: a failed (empty) answer and a good one to the same question,
/// the next question asked under the failed one. The empty answer is left
/// out; the question under it is not joined to the first question (which
/// the other branch shows and sends).
#[test]
fn regression_an_import_never_joins_turns_across_a_fork() {
    let (dir, db) = temp_db("import-fork");
    let store = Store::open(&db).expect("open");
    let m = |id: &str, parent: Option<&str>, role: &str, content: &str, t: i64| serde_json::json!({"id": id, "parentId": parent, "role": role, "content": content, "timestamp": t});
    let chat = serde_json::json!([{
        "id": "owui-fork", "title": "Fork", "created_at": 1_740_000_000,
        "chat": {"history": {"currentId": "ok", "messages": {
            "u": m("u", None, "user", "Q1", 1_740_000_001),
            "err": m("err", Some("u"), "assistant", "", 1_740_000_002),
            "ok": m("ok", Some("u"), "assistant", "A1", 1_740_000_003),
            "q2": m("q2", Some("err"), "user", "Q2", 1_740_000_004),
            "a2": m("a2", Some("q2"), "assistant", "A2", 1_740_000_005)
        }}}
    }]);
    let report = import_file(&store, &dir, "owui.json", &chat);
    assert_eq!(report.imported.len(), 1);
    let c = &report.imported[0];
    assert_eq!(shown(&store, c), ["Q1", "A1"], "the first question alone");
    assert_tree(&store, c);
    let answer = store.messages(c, None, WHOLE_CONVERSATION).expect("m")[1]
        .id
        .clone();
    let fork: Vec<String> = store
        .siblings(&answer)
        .expect("siblings")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(
        fork,
        ["A1", "Q2"],
        "the question under the empty answer is a branch of its own"
    );
}

/// ChatGPT: nodes no root leads to (a cycle off the tree) are counted as
/// left out, not dropped silently.
#[test]
fn regression_a_chatgpt_cycle_off_the_tree_is_counted() {
    let (dir, db) = temp_db("import-cycle");
    let store = Store::open(&db).expect("open");
    let node = |id: &str, parent: Option<&str>, children: &[&str], role: &str, text: &str| {
        serde_json::json!({"id": id, "parent": parent, "children": children, "message": {
            "id": id, "author": {"role": role}, "create_time": 1_735_725_601.0,
            "content": {"content_type": "text", "parts": [text]}, "weight": 1.0, "recipient": "all",
            "metadata": {}
        }})
    };
    let conv = serde_json::json!([{
        "id": "gpt-cycle", "conversation_id": "gpt-cycle", "title": "Cycle",
        "create_time": 1_735_725_600.0, "update_time": 1_735_725_700.0, "current_node": "a",
        "mapping": {
            "q": node("q", None, &["a"], "user", "Q"),
            "a": node("a", Some("q"), &[], "assistant", "A"),
            "x": node("x", Some("y"), &["y"], "user", "X"),
            "y": node("y", Some("x"), &["x"], "assistant", "Y")
        }
    }]);
    let report = import_file(&store, &dir, "conversations.json", &conv);
    assert_eq!(report.imported.len(), 1);
    assert_eq!(report.messages_left_out, 2, "the two nodes of the cycle");
    assert_eq!(shown(&store, &report.imported[0]), ["Q", "A"]);
}

/// An imported tree may put an answer right after an answer; answering it
/// again would end the request on the model's own turn, so it is refused.
#[test]
fn regression_regenerating_an_answer_after_an_answer_is_refused() {
    let (_dir, db) = temp_db("answer-after-answer");
    let store = Store::open(&db).expect("open");
    let c = new_conversation(&store);
    let (_, a1) = ask(&store, &c, "Q1", "A1");
    let mut json = store.export_json(&c).expect("export");
    let mut second = json["messages"][1].clone();
    second["id"] = "a2".into();
    second["parent_id"] = a1.clone().into();
    second["seq"] = 2.into();
    second["content"] = "A2".into();
    json["messages"]
        .as_array_mut()
        .expect("messages")
        .push(second);
    let copy = store.import_json(&json).expect("import");
    let last = store.messages(&copy, None, WHOLE_CONVERSATION).expect("m")[2]
        .id
        .clone();
    let e = turn::prepare(
        &store,
        &copy,
        &SendSettings {
            provider: Some("openai".into()),
            model: Some("m".into()),
            ..Default::default()
        },
        &SendKind::Regenerate { of: Some(last) },
    )
    .expect_err("refused");
    assert!(e.to_string().contains("follows another answer"), "{e}");
}
