//! `runnel history`: list, show, search and export stored conversations.

use crate::args::{ExportFormat, HistoryAction, SearchRole};
use crate::output::{self, Term};
use runnel_core::render::page::conversation_page;
use runnel_core::store::{SearchFilter, Store, StoreError, WHOLE_CONVERSATION};
use runnel_core::types::chat::Role;
use runnel_core::types::files::write_private;
use runnel_core::types::time::parse_bound;

/// Runs a `history` action; returns the exit status.
pub fn run(action: HistoryAction, term: Term) -> i32 {
    let result = Store::open_default().and_then(|store| act(&store, action, term));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("runnel: error [{}]: {e}", e.kind().as_str());
            1
        }
    }
}

fn act(store: &Store, action: HistoryAction, term: Term) -> Result<(), StoreError> {
    match action {
        HistoryAction::List { json, limit } => {
            let list = store.list(None, limit)?;
            if json {
                println!("{}", output::conversations_json(&list));
            } else {
                for c in &list {
                    println!("{}", term.out(&output::conversation_line(c)));
                }
            }
        }
        HistoryAction::Show { id, json } => {
            let c = store.conversation(&id)?;
            if json {
                let messages = store.messages(&id, None, WHOLE_CONVERSATION)?;
                let mut v = output::conversation_json(&c, &messages);
                // Each shown message says how many branches its fork has.
                let groups = store.sibling_groups(&id, &messages)?;
                if let Some(list) = v["messages"].as_array_mut() {
                    for (j, m) in list.iter_mut().zip(&messages) {
                        let n = groups.get(&m.id).map_or(1, Vec::len);
                        j["versions"] = n.into();
                        j["has_siblings"] = (n > 1).into();
                    }
                }
                if let Some((source, source_id)) = store.import_source(&id)? {
                    v["imported_from"] = serde_json::json!({"source": source, "id": source_id});
                }
                println!("{v}");
            } else {
                print!("{}", term.out(&store.export_markdown(&id)?));
            }
        }
        HistoryAction::Search {
            query,
            provider,
            model,
            role,
            since,
            until,
            json,
        } => {
            let date = |flag: &str,
                        v: Option<String>,
                        end: bool|
             -> Result<Option<i64>, StoreError> {
                v.map(|s| {
                    parse_bound(&s, end).ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "{flag} takes a date as YYYY-MM-DD or RFC 3339 (2026-12-02T13:40:05Z); got {s:?}"
                        ))
                    })
                })
                .transpose()
            };
            let filter = SearchFilter {
                provider,
                model,
                role: role.map(|r| match r {
                    SearchRole::User => Role::User,
                    SearchRole::Assistant => Role::Assistant,
                }),
                since: date("--since", since, false)?,
                until: date("--until", until, true)?,
            };
            let hits = store.search_filtered(&query, &filter, 50)?;
            if json {
                println!("{}", output::hits_json(&hits));
            } else {
                for h in &hits {
                    println!("{}", term.out(&output::hit_lines(h)));
                }
            }
        }
        HistoryAction::Trace { message_id, sse } => {
            let trace = store.trace(&message_id)?.ok_or_else(|| {
                StoreError::Invalid(format!(
                    "the answer {message_id} has no trace: tracing was off, or it was stored before traces were kept"
                ))
            })?;
            let trace = runnel_core::turn::resolve_trace(store, trace);
            if sse {
                if term.out {
                    print!("{}", term.out(&String::from_utf8_lossy(&trace.raw)));
                } else {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(&trace.raw)
                        .and_then(|()| out.flush())
                        .map_err(|e| StoreError::Invalid(format!("could not write: {e}")))?;
                }
            } else {
                print!("{}", term.out(&trace.to_jsonl()));
            }
        }
        HistoryAction::Import { file, json } => {
            let report = runnel_core::import::import_path(store, &file)?;
            if json {
                let v = serde_json::to_string(&report)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                println!("{v}");
            } else {
                for id in &report.imported {
                    println!("{id}");
                }
            }
            for (what, list) in [("skipped", &report.skipped), ("rejected", &report.rejected)] {
                for n in list {
                    eprintln!(
                        "runnel: {what} {:?}: {}",
                        term.err(&n.title),
                        term.err(&n.reason)
                    );
                }
            }
            eprintln!(
                "runnel: {} imported, {} skipped, {} rejected (from {}){}",
                report.imported.len(),
                report.skipped.len(),
                report.rejected.len(),
                report.source.as_str(),
                if report.messages_left_out > 0 {
                    format!(
                        "; {} hidden, tool or other-branch messages left out",
                        report.messages_left_out
                    )
                } else {
                    String::new()
                }
            );
        }
        HistoryAction::Export { id, format, output } => {
            let text = match format {
                ExportFormat::Md => store.export_markdown(&id)?,
                ExportFormat::Json => serde_json::to_string_pretty(&store.export_json(&id)?)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
                ExportFormat::Html => conversation_page(store, &id)?,
            };
            match output {
                Some(path) => write_private(&path, text.as_bytes()).map_err(|e| {
                    StoreError::Invalid(format!("could not write {}: {e}", path.display()))
                })?,
                None => print!("{}", term.out(&text)),
            }
        }
    }
    Ok(())
}
