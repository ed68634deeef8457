//! Full-text search: an external-content FTS5 index over message content
//! and titles, kept in step by triggers. A message is indexed when it leaves
//! `streaming`, so flushes during a stream do not re-index a growing text.

use super::model::{SearchFilter, SearchHit, MARK_END, MARK_START};
use super::{Store, StoreError};

/// An FTS5 query for what the user typed: every word must match; the last
/// word also matches as a prefix (search as you type). Operators are quoted away.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let last = words.len().checked_sub(1)?;
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let quoted = format!("\"{}\"", w.replace('"', "\"\""));
                // Prefix matching from 3 letters: "a"* would expand over the whole index.
                if i == last && w.chars().count() >= 3 {
                    format!("{quoted}*")
                } else {
                    quoted
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// How many messages of a date range are looked at to bound a search by
/// row id. A range with more is wide enough that matches in it come soon in
/// a newest-first scan; one with fewer is found by its row ids, which
/// follow time except for imported messages (the date test stays exact).
pub const DATE_PROBE_ROWS: i64 = 50_000;

/// The SQL that narrows a search to `f` (message alias `m`, conversation
/// alias `c`), numbered from `?3` on, and its values; `rowids` bounds the
/// messages' row ids (inclusive).
fn filter_sql(
    f: &SearchFilter,
    rowids: Option<(i64, i64)>,
) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql = String::new();
    let mut values: Vec<Value> = Vec::new();
    let mut next = |sql: &mut String, clause: &str, v: Value| {
        values.push(v);
        sql.push_str(&clause.replace('#', &format!("?{}", values.len() + 2)));
    };
    if let Some(p) = &f.provider {
        next(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM messages x WHERE x.role = 'assistant' AND x.provider = # AND x.conversation_id = c.id)",
            Value::Text(p.clone()),
        );
    }
    if let Some(model) = &f.model {
        next(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM messages x WHERE x.role = 'assistant' AND x.model = # AND x.conversation_id = c.id)",
            Value::Text(model.clone()),
        );
    }
    if let Some(r) = f.role {
        next(
            &mut sql,
            " AND m.role = #",
            Value::Text(r.as_str().to_owned()),
        );
    }
    if let Some(t) = f.since {
        next(&mut sql, " AND m.created >= #", Value::Integer(t));
    }
    if let Some(t) = f.until {
        next(&mut sql, " AND m.created < #", Value::Integer(t));
    }
    if let Some((lo, hi)) = rowids {
        next(&mut sql, " AND m.rowid >= #", Value::Integer(lo));
        next(&mut sql, " AND m.rowid <= #", Value::Integer(hi));
    }
    (sql, values)
}

/// A hit from a row of (conversation id, title, updated, message id, snippet).
fn hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<SearchHit> {
    Ok(SearchHit {
        id: r.get(0)?,
        title: r.get(1)?,
        updated: r.get(2)?,
        message_id: r.get(3)?,
        snippet: r.get(4)?,
    })
}

impl Store {
    /// Full-text search over every message and title, newest first.
    pub fn search(&self, input: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        self.search_filtered(input, &SearchFilter::default(), limit)
    }

    /// Full-text search narrowed by `filter`, newest first.
    pub fn search_filtered(
        &self,
        input: &str,
        filter: &SearchFilter,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(q) = fts_query(input) else {
            return Ok(Vec::new());
        };
        if let (Some(a), Some(b)) = (filter.since, filter.until) {
            if a >= b {
                return Err(StoreError::Invalid(
                    "the search's start date is not before its end date".to_owned(),
                ));
            }
        }
        let limit = limit.clamp(1, 200) as i64;
        let conn = self.conn();
        // A date range with few messages: their row ids bound the index scan.
        let mut rowids = None;
        if filter.since.is_some() || filter.until.is_some() {
            let (n, lo, hi): (i64, Option<i64>, Option<i64>) = conn
                .prepare_cached(
                    "SELECT count(*), min(r), max(r) FROM (SELECT rowid AS r FROM messages \
                     WHERE created >= ?1 AND created < ?2 LIMIT ?3)",
                )?
                .query_row(
                    rusqlite::params![
                        filter.since.unwrap_or(i64::MIN),
                        filter.until.unwrap_or(i64::MAX),
                        DATE_PROBE_ROWS + 1
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
            match (lo, hi) {
                _ if n > DATE_PROBE_ROWS => {}
                (Some(lo), Some(hi)) => rowids = Some((lo, hi)),
                // No message in the range.
                _ => return Ok(Vec::new()),
            }
        }
        let (narrow, values) = filter_sql(filter, rowids);
        let params = || {
            let mut p: Vec<rusqlite::types::Value> = vec![q.clone().into(), limit.into()];
            p.extend(values.iter().cloned());
            rusqlite::params_from_iter(p)
        };
        let marks = format!("snippet(messages_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16)");
        let mut hits: Vec<SearchHit> = conn
            .prepare_cached(&format!(
                "SELECT c.id, c.title, c.updated, m.id, {marks} FROM messages_fts \
                 JOIN messages m ON m.rowid = messages_fts.rowid JOIN conversations c ON c.id = m.conversation_id \
                 WHERE messages_fts MATCH ?1{} ORDER BY messages_fts.rowid DESC LIMIT ?2",
                // The same bound on the index's own row id: FTS5 scans only that range.
                narrow.replace("m.rowid ", "messages_fts.rowid ")
            ))?
            .query_map(params(), hit)?
            .collect::<Result<_, _>>()?;
        // A file's name or text finds the message it goes with.
        let file_marks =
            format!("snippet(attachments_fts, -1, '{MARK_START}', '{MARK_END}', '…', 16)");
        let files: Vec<SearchHit> = conn
            .prepare_cached(&format!(
                "SELECT c.id, c.title, c.updated, m.id, a.name || ': ' || {file_marks} FROM attachments_fts \
                 JOIN attachments a ON a.rowid = attachments_fts.rowid JOIN messages m ON m.id = a.message_id \
                 JOIN conversations c ON c.id = m.conversation_id \
                 WHERE attachments_fts MATCH ?1{narrow} ORDER BY attachments_fts.rowid DESC LIMIT ?2"
            ))?
            .query_map(params(), hit)?
            .collect::<Result<_, _>>()?;
        // A tool call's name, arguments or result finds its answer.
        let step_marks = format!("snippet(steps_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16)");
        let steps: Vec<SearchHit> = conn
            .prepare_cached(&format!(
                "SELECT c.id, c.title, c.updated, m.id, {step_marks} FROM steps_fts \
                 JOIN messages m ON m.rowid = steps_fts.rowid JOIN conversations c ON c.id = m.conversation_id \
                 WHERE steps_fts MATCH ?1{narrow} ORDER BY steps_fts.rowid DESC LIMIT ?2"
            ))?
            .query_map(params(), hit)?
            .collect::<Result<_, _>>()?;
        let mut found: std::collections::HashSet<String> =
            hits.iter().filter_map(|h| h.message_id.clone()).collect();
        for extra in [files, steps] {
            for f in extra {
                if f.message_id
                    .as_ref()
                    .is_none_or(|m| found.insert(m.clone()))
                {
                    hits.push(f);
                }
            }
        }
        // A title is no message: a role or a date leaves title hits out.
        if !filter.selects_messages() {
            let title_marks = format!("highlight(titles_fts, 0, '{MARK_START}', '{MARK_END}')");
            let titles: Vec<SearchHit> = conn
                .prepare_cached(&format!(
                    "SELECT c.id, c.title, c.updated, NULL, {title_marks} FROM titles_fts \
                     JOIN conversations c ON c.rowid = titles_fts.rowid WHERE titles_fts MATCH ?1{narrow} \
                     ORDER BY titles_fts.rowid DESC LIMIT ?2"
                ))?
                .query_map(params(), hit)?
                .collect::<Result<_, _>>()?;
            // A title hit adds nothing when a message of the same conversation matched.
            let with_message: std::collections::HashSet<String> =
                hits.iter().map(|h| h.id.clone()).collect();
            hits.extend(titles.into_iter().filter(|t| !with_message.contains(&t.id)));
        }
        hits.sort_by_key(|h| std::cmp::Reverse(h.updated));
        hits.truncate(limit as usize);
        Ok(hits)
    }
}
