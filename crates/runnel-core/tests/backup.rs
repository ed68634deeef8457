//! Backups on a temp dir: made, listed, restored (the replaced database is
//! itself kept), rotated, made before a schema upgrade, refused when damaged,
//! and made while another connection writes.

use runnel_core::store::backup::{check_database, KEEP_DAILY};
use runnel_core::store::{
    BackupReason, FinalState, Integrity, MessageStatus, Store, StoreError, SCHEMA_V1,
    SCHEMA_VERSION, WHOLE_CONVERSATION,
};
use runnel_testsupport::temp::TempDir;
use std::path::PathBuf;

fn temp_db(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(&format!("backup-{name}"));
    let db = dir.join("runnel.sqlite3");
    (dir, db)
}

/// A conversation with one exchange; returns its id.
fn exchange(store: &Store, question: &str, answer: &str) -> String {
    let id = runnel_core::store::new_id();
    store
        .create_conversation(&id, "", Some("openai"), Some("m"), "", None)
        .expect("create");
    let u = store.add_user_message(&id, question, None).expect("user");
    let a = store.begin_answer(&id, &u.id).expect("answer");
    store
        .finish_message(
            &a.id,
            &FinalState {
                content: answer.into(),
                ..FinalState::bare(MessageStatus::Done)
            },
        )
        .expect("finish");
    id
}

fn titles(store: &Store) -> Vec<String> {
    let mut t: Vec<String> = store
        .list(None, 100)
        .expect("list")
        .into_iter()
        .map(|c| c.title)
        .collect();
    t.sort();
    t
}

#[test]
fn a_backup_restores_exactly_and_the_replaced_database_is_kept() {
    let (_dir, db) = temp_db("restore");
    let store = Store::open(&db).expect("open");
    exchange(&store, "What is a nebula?", "A cloud of gas.");
    let manual = store.backup(BackupReason::Manual).expect("backup");
    assert_eq!(manual.reason, BackupReason::Manual);
    assert!(manual.size > 0);
    assert!(manual.id.ends_with("-manual"), "{}", manual.id);
    exchange(&store, "Later question", "Later answer");
    assert_eq!(titles(&store), ["Later question", "What is a nebula?"]);

    let before = store.restore_backup(&manual.id).expect("restore");
    assert_eq!(before.reason, BackupReason::Restore);
    assert_eq!(titles(&store), ["What is a nebula?"]);
    let hits = store.search("cloud", 5).expect("search");
    assert_eq!(hits.len(), 1, "the search index came back with the rows");
    // The store goes on working in WAL mode on the restored data.
    let mode: String = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    exchange(&store, "After the restore", "Still writes");

    // The replaced database is itself a backup: restoring it undoes the restore.
    let list = store.backups().expect("list");
    let mut reasons: Vec<_> = list.iter().map(|b| b.reason.as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["manual", "restore"]);
    store.restore_backup(&before.id).expect("undo the restore");
    assert_eq!(titles(&store), ["Later question", "What is a nebula?"]);
    let list = store.backups().expect("list");
    assert_eq!(list.len(), 3, "nothing is deleted by a restore");
    assert!(
        list.windows(2).all(|w| w[0].created >= w[1].created),
        "newest first"
    );
    // Another process sees the restored data.
    drop(store);
    let again = Store::open(&db).expect("reopen");
    assert_eq!(titles(&again), ["Later question", "What is a nebula?"]);
}

#[test]
fn an_unknown_or_damaged_backup_is_refused_and_nothing_changes() {
    let (dir, db) = temp_db("damaged");
    let store = Store::open(&db).expect("open");
    exchange(&store, "Keep me", "Kept");
    for bad in ["nope", "../runnel", "20261202-134005-manual"] {
        let e = store.restore_backup(bad).expect_err("unknown id");
        assert!(matches!(e, StoreError::NotFound(_)), "{bad}: {e}");
    }
    // Big enough to have pages past the header: a damaged b-tree page.
    for i in 0..200 {
        exchange(&store, &format!("filler {i} {}", "x".repeat(400)), "y");
    }
    let b = store.backup(BackupReason::Manual).expect("backup");
    let mut bytes = std::fs::read(&b.path).expect("read");
    let len = bytes.len();
    for byte in &mut bytes[len / 2..len / 2 + 8192] {
        *byte = 0x5a;
    }
    std::fs::write(&b.path, &bytes).expect("damage");
    assert!(matches!(
        check_database(&b.path, true).expect("check"),
        Integrity::Damaged(_)
    ));
    let e = store.restore_backup(&b.id).expect_err("damaged backup");
    assert!(e.to_string().contains("damaged"), "{e}");
    assert_eq!(store.list(None, 500).expect("list").len(), 201);
    assert_eq!(
        store.backups().expect("list").len(),
        1,
        "a refused restore makes no backup"
    );
    assert_eq!(store.quick_check().expect("check"), Integrity::Ok);
    // Files that are not backups are left alone and not listed.
    std::fs::write(dir.join("backups").join("notes.txt"), "mine").expect("write");
    assert_eq!(store.backups().expect("list").len(), 1);
}

#[test]
fn daily_backups_rotate_and_are_made_once_a_day() {
    let (_dir, db) = temp_db("daily");
    let store = Store::open(&db).expect("open");
    exchange(&store, "q", "a");
    let first = store.backup_if_due().expect("due").expect("made");
    assert_eq!(first.reason, BackupReason::Daily);
    assert_eq!(store.backup_if_due().expect("not due"), None);
    let manual = store.backup(BackupReason::Manual).expect("manual");
    for _ in 0..KEEP_DAILY + 2 {
        store.backup(BackupReason::Daily).expect("daily");
    }
    let list = store.backups().expect("list");
    let daily: Vec<_> = list
        .iter()
        .filter(|b| b.reason == BackupReason::Daily)
        .collect();
    assert_eq!(daily.len(), KEEP_DAILY);
    assert!(!daily.iter().any(|b| b.id == first.id), "the oldest went");
    assert!(list.iter().any(|b| b.id == manual.id), "manual ones stay");
    let ids: std::collections::HashSet<_> = list.iter().map(|b| &b.id).collect();
    assert_eq!(ids.len(), list.len(), "ids are unique within a second");
}

#[test]
fn an_upgrade_is_preceded_by_a_backup_of_the_old_schema() {
    let (_dir, db) = temp_db("migration");
    {
        let conn = rusqlite::Connection::open(&db).expect("open v1");
        conn.execute_batch(SCHEMA_V1).expect("v1 schema");
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO conversations (id, title, created, updated, system_prompt) VALUES ('c1', 'Old chat', 1, 2, '');
             INSERT INTO messages (id, conversation_id, seq, role, content, status, created) VALUES
               ('m1', 'c1', 0, 'user', 'Old question', 'done', 1);",
        )
        .expect("v1 data");
    }
    let store = Store::open(&db).expect("migrate");
    let list = store.backups().expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reason, BackupReason::Migration);
    let old = rusqlite::Connection::open(&list[0].path).expect("open backup");
    let v: i32 = old
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, 1, "the backup is the database before the upgrade");
    drop(old);
    // Restoring it migrates it again, keeping its data.
    store.restore_backup(&list[0].id).expect("restore");
    assert_eq!(
        store
            .messages("c1", None, WHOLE_CONVERSATION)
            .expect("messages")
            .len(),
        1
    );
    let v: i32 = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, SCHEMA_VERSION);
    // A new database needs no backup.
    let (_dir2, fresh) = temp_db("fresh");
    let s = Store::open(&fresh).expect("new");
    assert!(s.backups().expect("list").is_empty());
}

#[test]
fn a_backup_is_consistent_while_another_connection_writes() {
    let (_dir, db) = temp_db("concurrent");
    let store = std::sync::Arc::new(Store::open(&db).expect("open"));
    for i in 0..300 {
        exchange(&store, &format!("seed {i} {}", "z".repeat(300)), "a");
    }
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            let other = Store::open(&db).expect("second process");
            for i in 0..100 {
                exchange(&other, &format!("during {i}"), "b");
            }
        })
    };
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(store.backup(BackupReason::Manual).expect("backup"));
    }
    writer.join().expect("writer");
    for b in made {
        assert_eq!(check_database(&b.path, true).expect("check"), Integrity::Ok);
        let conn = rusqlite::Connection::open(&b.path).expect("open");
        let (convs, msgs): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("count");
        assert!(convs >= 300 && msgs >= 600, "{convs} {msgs}");
        // A snapshot: the search index matches the rows it indexes.
        conn.execute(
            "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')",
            [],
        )
        .expect("index consistent");
    }
    assert_eq!(store.list(None, 1000).expect("list").len(), 400);
}

#[test]
fn a_damaged_page_is_found_by_the_quick_check_of_a_database_that_still_opens() {
    let (_dir, db) = temp_db("quick");
    {
        let store = Store::open(&db).expect("open");
        for i in 0..300 {
            exchange(&store, &format!("filler {i} {}", "x".repeat(400)), "y");
        }
    }
    runnel_testsupport::files::damage_a_middle_page(&db);
    let store = Store::open(&db).expect("a damaged page deep in a table still opens");
    assert!(
        matches!(store.quick_check().expect("check"), Integrity::Damaged(_)),
        "found at start"
    );
    let e = store
        .backup(BackupReason::Manual)
        .expect_err("no damaged copy is kept");
    assert!(e.to_string().contains("integrity check"), "{e}");
    assert!(store.backups().expect("list").is_empty());
    assert!(
        std::fs::read_dir(store.backups_dir())
            .expect("dir")
            .next()
            .is_none(),
        "the failed copy is gone"
    );
}

/// Regression: restoring over a damaged database failed, because the backup
/// of the database being replaced failed its check; that copy is now kept.
#[test]
fn regression_a_damaged_database_can_be_replaced_by_a_sound_backup() {
    let (_dir, db) = temp_db("restore-over-damage");
    let sound = {
        let store = Store::open(&db).expect("open");
        for i in 0..300 {
            exchange(&store, &format!("filler {i} {}", "x".repeat(400)), "y");
        }
        store.backup(BackupReason::Manual).expect("sound copy")
    };
    runnel_testsupport::files::damage_a_middle_page(&db);
    let store = Store::open(&db).expect("opens");
    assert!(matches!(
        store.quick_check().expect("check"),
        Integrity::Damaged(_)
    ));
    let kept = store
        .restore_backup(&sound.id)
        .expect("restore over damage");
    assert_eq!(kept.reason, BackupReason::Restore);
    assert!(kept.path.exists(), "the damaged database is kept");
    assert_eq!(store.quick_check().expect("check"), Integrity::Ok);
    assert_eq!(store.list(None, 500).expect("list").len(), 300);
}
