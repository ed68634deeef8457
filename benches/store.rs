//! Store benchmark (issue: conversations). `cargo bench --bench store` fills a
//! database with 10,000 conversations and 1,000,000 messages of generated
//! text (one conversation has 2,000 messages) and prints, as medians of
//! repeated runs: the sidebar's first page, full-text search p50/p95, and
//! opening the 2,000-message conversation (its last page, rendered).
//! Results go to stdout and to `target/bench/store.json`.
//!
//! Under `cargo test` (no `--bench` argument) it runs a tiny smoke size so
//! the harness never rots; no timing is asserted anywhere.

use fill::{fill, WORDS};
use runnel_core::store::Store;
use runnel_testsupport::fill;
use runnel_testsupport::report;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (conversations, messages, long, runs) = if full {
        (10_000, 1_000_000, 2_000, 25)
    } else {
        (20, 400, 100, 3)
    };
    let dir = std::env::temp_dir().join(format!("runnel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("runnel.sqlite3");
    let t = Instant::now();
    let long_id = fill(&path, conversations, messages, long);
    let fill_s = t.elapsed().as_secs_f64();
    let size_mb = std::fs::metadata(&path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let t = Instant::now();
    let store = Store::open(&path).expect("open");
    let open_ms = ms(t.elapsed());
    let prices = runnel_core::config::prices::PriceBook::new();
    let messages_answers: usize = rusqlite::Connection::open(&path)
        .expect("raw")
        .query_row(
            "SELECT count(*) FROM messages WHERE role = 'assistant'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count") as usize;

    let sidebar = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let page = store.list(None, 50).expect("list");
                assert_eq!(page.len(), 50.min(conversations));
                t.elapsed()
            })
            .collect(),
    );

    let mut rng = fastrand::Rng::with_seed(7);
    let searches: Vec<Duration> = (0..runs * 4)
        .map(|i| {
            let q = if i % 4 == 0 {
                "zygomorphic fjord".to_owned()
            } else {
                WORDS[rng.usize(..WORDS.len())].to_owned()
            };
            let t = Instant::now();
            let hits = store.search(&q, 50).expect("search");
            let d = t.elapsed();
            assert!(!hits.is_empty() || !full);
            d
        })
        .collect();

    // The sidebar filtered by a model.
    let list_by_model = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let page = store
                    .list_answered_by(None, 50, None, Some("deepseek-chat"))
                    .expect("list by model");
                assert!(!page.is_empty());
                t.elapsed()
            })
            .collect(),
    );

    // The same words narrowed by filters (history search --provider/--model/--role/--since).
    let day = 86_400_000i64;
    let mid_year = 1_700_000_000_000i64 + 180 * day;
    let filtered: Vec<Duration> = (0..runs * 4)
        .map(|i| {
            use runnel_core::store::SearchFilter;
            use runnel_core::types::chat::Role;
            let q = WORDS[rng.usize(..WORDS.len())];
            let f = match i % 5 {
                0 => SearchFilter {
                    provider: Some("deepseek".into()),
                    ..Default::default()
                },
                1 => SearchFilter {
                    model: Some("claude-sonnet-4-0".into()),
                    ..Default::default()
                },
                2 => SearchFilter {
                    role: Some(Role::User),
                    ..Default::default()
                },
                3 => SearchFilter {
                    since: Some(mid_year),
                    until: Some(mid_year + 7 * day),
                    ..Default::default()
                },
                _ => SearchFilter {
                    provider: Some("anthropic".into()),
                    role: Some(Role::Assistant),
                    since: Some(mid_year),
                    ..Default::default()
                },
            };
            let t = Instant::now();
            let hits = store.search_filtered(q, &f, 50).expect("filtered search");
            let d = t.elapsed();
            assert!(!hits.is_empty() || !full, "{q} {f:?}");
            d
        })
        .collect();

    let open_long = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let msgs = store.messages(&long_id, None, 60).expect("messages");
                let views =
                    runnel_core::render::view::message_views(&store, &long_id, msgs, &prices)
                        .expect("views");
                assert_eq!(views.len(), 60.min(long));
                // The window shows the conversation's cost as it opens.
                let cost = runnel_core::render::view::conversation_cost(&store, &long_id, &prices)
                    .expect("cost");
                assert!(cost.is_some());
                t.elapsed()
            })
            .collect(),
    );

    // The Usage view: a year of answers per day, provider and model, priced.
    let usage = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let rows = store.usage(None, None, 60).expect("usage");
                let mut answers = 0;
                let mut usd = 0.0;
                for r in &rows {
                    answers += r.answers;
                    let u = runnel_core::types::answer::Usage {
                        input_tokens: r.input_tokens,
                        output_tokens: r.output_tokens,
                        cached_input_tokens: r.cached_input_tokens,
                    };
                    usd += runnel_core::config::prices::cost_of(
                        &prices,
                        &r.provider,
                        &r.model,
                        &u,
                        false,
                    )
                    .map_or(0.0, |c| c.usd);
                }
                assert_eq!(answers as usize, messages_answers, "every answer counted");
                assert!(usd > 0.0);
                t.elapsed()
            })
            .collect(),
    );

    // A backup (copied, then checked in full) while answers keep being saved:
    // each write's time during the copy says whether the backup blocks sends.
    let mut check_took = Duration::ZERO;
    let (backup_ms, backup_mb, writes) = {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let conv = store.list(None, 1).expect("list")[0].id.clone();
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let mut times = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    store
                        .add_user_message(&conv, "written while a backup runs", None)
                        .expect("write during the backup");
                    times.push(t.elapsed());
                    std::thread::sleep(Duration::from_millis(20));
                }
                times
            });
            let t = Instant::now();
            let b = store
                .backup(runnel_core::store::BackupReason::Manual)
                .expect("backup");
            let took = t.elapsed();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let writes = writer.join().expect("writer");
            // The full check alone (the backup ran it on the copy already).
            let t = Instant::now();
            let sound = runnel_core::store::backup::check_database(&b.path, true).expect("check");
            check_took = t.elapsed();
            assert_eq!(sound, runnel_core::store::Integrity::Ok);
            let _ = std::fs::remove_file(&b.path);
            (ms(took), b.size as f64 / 1e6, writes)
        })
    };
    let write_count = writes.len();
    let write_max = writes.iter().max().copied().unwrap_or_default();
    let write_p50 = if writes.is_empty() {
        Duration::ZERO
    } else {
        pct(writes, 0.5)
    };

    // Branches: an early message of the long conversation edited, then the
    // two forks switched back and forth (each switch hides one branch and
    // shows the other: about 2,000 rows).
    let switch = {
        let shown = store
            .messages(&long_id, None, runnel_core::store::WHOLE_CONVERSATION)
            .expect("long");
        let early = shown
            .iter()
            .filter(|m| m.role == runnel_core::types::chat::Role::User)
            .nth(5)
            .expect("an early question")
            .id
            .clone();
        let edit = store
            .add_user_message(&long_id, "an edited early question", Some(&early))
            .expect("edit");
        median(
            (0..runs)
                .map(|i| {
                    let to = if i % 2 == 0 { &early } else { &edit.id };
                    let t = Instant::now();
                    store.activate(to).expect("switch");
                    t.elapsed()
                })
                .collect(),
        )
    };
    drop(store);

    // The upgrade from schema 7 (before branches) of the whole store: the
    // copy made first (backup and full check), then every conversation
    // turned into a tree.
    let upgrade = {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch(
            "DROP TRIGGER messages_steps_ai; DROP TRIGGER messages_steps_ad; DROP TRIGGER messages_steps_au;
             DROP TABLE steps_fts; ALTER TABLE messages DROP COLUMN tool_steps;
             ALTER TABLE conversations DROP COLUMN tools_off;
             DROP INDEX messages_shown; ALTER TABLE messages DROP COLUMN chosen;
             DROP INDEX messages_by_parent; CREATE INDEX messages_by_parent ON messages(parent_id);
             UPDATE messages SET parent_id = NULL WHERE role = 'user';
             PRAGMA user_version = 7;",
        )
        .expect("back to schema 7");
        drop(conn);
        let t = Instant::now();
        let store = Store::open(&path).expect("upgrade");
        let took = t.elapsed();
        drop(store);
        took
    };
    let store = Store::open(&path).expect("open");

    let result = serde_json::json!({
        "conversations": conversations,
        "messages": messages,
        "db_mb": (size_mb * 10.0).round() / 10.0,
        "fill_s": (fill_s * 10.0).round() / 10.0,
        "open_ms": open_ms,
        "sidebar_first_page_ms": ms(sidebar),
        "search_p50_ms": ms(pct(searches.clone(), 0.5)),
        "search_p95_ms": ms(pct(searches, 0.95)),
        "filtered_search_p50_ms": ms(pct(filtered.clone(), 0.5)),
        "filtered_search_p95_ms": ms(pct(filtered, 0.95)),
        "open_2000_message_conversation_backend_ms": ms(open_long),
        "usage_report_ms": ms(usage),
        "backup_ms": backup_ms,
        "backup_check_ms": ms(check_took),
        "list_by_model_first_page_ms": ms(list_by_model),
        "backup_mb": (backup_mb * 10.0).round() / 10.0,
        "writes_during_backup": write_count,
        "write_during_backup_p50_ms": ms(write_p50),
        "write_during_backup_max_ms": ms(write_max),
        "switch_branch_2000_ms": ms(switch),
        "upgrade_to_branches_ms": ms(upgrade),
        "full": full,
    });
    report::report("store", full, &result);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
