//! Messages and their versions: user messages, streaming answers (flushed
//! while they stream, finished once), and which version of each is shown.

use super::columns::{json, row_message, MESSAGE_COLS};
use super::conversations::title_from;
use super::lock::writer;
use super::model::{FinalState, Message, WHOLE_CONVERSATION};
use super::{new_id, now_ms, Store, StoreError};
use crate::types::chat::Role;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

impl Store {
    /// Every message of a conversation, versions included, in order.
    pub fn all_messages(&self, id: &str) -> Result<Vec<Message>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 ORDER BY seq, created, rowid"))?
            .query_map(params![id], row_message)?
            .collect::<Result<_, _>>()?)
    }

    /// The shown messages, newest `limit` before `before_seq`, oldest first:
    /// a long conversation opens on its last screen and loads upwards.
    pub fn messages(
        &self,
        id: &str,
        before_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let conn = self.conn();
        let mut rows: Vec<Message> = conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND active = 1 AND seq < ?2 \
                 ORDER BY seq DESC, created DESC, rowid DESC LIMIT ?3"
            ))?
            .query_map(params![id, before_seq.unwrap_or(i64::MAX), limit.clamp(1, WHOLE_CONVERSATION) as i64], row_message)?
            .collect::<Result<_, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// The versions of a message (itself included), oldest first.
    pub fn versions(&self, message_id: &str) -> Result<Vec<Message>, StoreError> {
        let m = self.message(message_id)?;
        let root = m.variant_of.clone().unwrap_or_else(|| m.id.clone());
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1 OR variant_of = ?1 ORDER BY created, rowid"
            ))?
            .query_map(params![root], row_message)?
            .collect::<Result<_, _>>()?)
    }

    /// Version groups of a conversation with more than one member: the first
    /// message's id -> the members' ids, oldest first.
    pub fn version_groups(
        &self,
        conversation_id: &str,
    ) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError> {
        let conn = self.conn();
        let rows: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT COALESCE(variant_of, id), id FROM messages WHERE conversation_id = ?1 \
                 AND COALESCE(variant_of, id) IN (SELECT variant_of FROM messages WHERE conversation_id = ?1 AND variant_of IS NOT NULL) \
                 ORDER BY created, rowid",
            )?
            .query_map(params![conversation_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut groups: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (root, id) in rows {
            groups.entry(root).or_default().push(id);
        }
        Ok(groups)
    }

    /// One message.
    pub fn message(&self, id: &str) -> Result<Message, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"),
                params![id],
                row_message,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("message {id}")))
    }

    /// The trace stored with an answer, as stored (its request's history
    /// as references: see `turn::resolve_trace`); None when none was recorded.
    pub fn trace(&self, id: &str) -> Result<Option<crate::engine::trace::Trace>, StoreError> {
        let raw: Option<Option<super::columns::Json<crate::engine::trace::Trace>>> = self
            .conn()
            .query_row(
                "SELECT trace FROM messages WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match raw {
            None => Err(StoreError::NotFound(format!("message {id}"))),
            Some(t) => Ok(t.map(|j| j.0)),
        }
    }

    fn next_seq(conn: &Connection, conversation_id: &str) -> rusqlite::Result<i64> {
        conn.query_row(
            "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id = ?1",
            params![conversation_id],
            |r| r.get(0),
        )
    }

    /// Adds a complete user message at the end. `variant_of`: it replaces
    /// (as a new version of) that earlier user message, which is hidden along
    /// with its answers.
    pub fn add_user_message(
        &self,
        conversation_id: &str,
        content: &str,
        variant_of: Option<&str>,
    ) -> Result<Message, StoreError> {
        self.add_user_message_with(conversation_id, content, variant_of, &[])
    }

    /// Adds a user message with its files: each file's bytes are stored
    /// once (shared with any message that has the same bytes).
    pub fn add_user_message_with(
        &self,
        conversation_id: &str,
        content: &str,
        variant_of: Option<&str>,
        files: &[crate::types::attachment::Attachment],
    ) -> Result<Message, StoreError> {
        let id = new_id();
        let now = now_ms();
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (seq, root) = match variant_of {
                Some(old) => {
                    let (seq, root): (i64, Option<String>) = tx.query_row(
                        "SELECT seq, variant_of FROM messages WHERE id = ?1 AND conversation_id = ?2",
                        params![old, conversation_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    let root = root.unwrap_or_else(|| old.to_owned());
                    tx.execute(
                        "UPDATE messages SET active = 0 WHERE conversation_id = ?1 AND seq >= ?2",
                        params![conversation_id, seq],
                    )?;
                    (seq, Some(root))
                }
                None => (Self::next_seq(&tx, conversation_id)?, None),
            };
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, variant_of, active) \
                 VALUES (?1, ?2, ?3, 'user', ?4, 'done', ?5, ?6, 1)",
                params![id, conversation_id, seq, content, now, root],
            )?;
            for f in files {
                super::attachments::put_blob(&tx, &f.sha256, &f.data)?;
            }
            let rows = super::attachments::rows_of(&id, files);
            super::attachments::put_rows(&tx, conversation_id, &rows)?;
            // The title follows the first user message until the user renames it.
            tx.execute(
                "UPDATE conversations SET updated = ?2, title = CASE WHEN title_custom = 0 AND ?3 = 0 THEN ?4 ELSE title END WHERE id = ?1",
                params![conversation_id, now, seq, title_from(content)],
            )?;
            tx.commit()?;
        }
        self.message(&id)
    }

    /// Starts an assistant answer to `parent_id` (status streaming, owned by this
    /// process). `variant_of`: a new version of that earlier answer (regenerate),
    /// which is hidden but kept.
    pub fn begin_answer(
        &self,
        conversation_id: &str,
        parent_id: &str,
        variant_of: Option<&str>,
    ) -> Result<Message, StoreError> {
        let writer = writer(&self.dir)?;
        let id = new_id();
        let now = now_ms();
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let parent_seq: i64 = tx
                .query_row(
                    "SELECT seq FROM messages WHERE id = ?1 AND conversation_id = ?2",
                    params![parent_id, conversation_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("message {parent_id}")))?;
            // The answer follows its question; a new version takes the place
            // of the one it replaces. Never a seq another message has.
            let seq = match variant_of {
                Some(old) => tx.query_row(
                    "SELECT seq FROM messages WHERE id = ?1",
                    params![old],
                    |r| r.get(0),
                )?,
                None => Self::next_seq(&tx, conversation_id)?.max(parent_seq + 1),
            };
            let root = match variant_of {
                Some(old) => {
                    let root: Option<String> = tx.query_row(
                        "SELECT variant_of FROM messages WHERE id = ?1",
                        params![old],
                        |r| r.get(0),
                    )?;
                    tx.execute(
                        "UPDATE messages SET active = 0 WHERE parent_id = ?1",
                        params![parent_id],
                    )?;
                    Some(root.unwrap_or_else(|| old.to_owned()))
                }
                None => None,
            };
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, writer, parent_id, variant_of, active) \
                 VALUES (?1, ?2, ?3, 'assistant', '', 'streaming', ?4, ?5, ?6, ?7, 1)",
                params![id, conversation_id, seq, now, writer.id, parent_id, root],
            )?;
            tx.execute(
                "UPDATE conversations SET updated = ?2 WHERE id = ?1",
                params![conversation_id, now],
            )?;
            tx.commit()?;
        }
        self.message(&id)
    }

    /// Saves the text of a streaming answer as it stands (at most every 250 ms).
    pub fn flush_answer(
        &self,
        id: &str,
        content: &str,
        reasoning: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE messages SET content = ?2, reasoning = ?3 WHERE id = ?1 AND status = 'streaming'")?
            .execute(params![id, content, reasoning])?;
        Ok(())
    }

    /// Records the terminal state of an answer (this indexes it for search).
    pub fn finish_message(&self, id: &str, f: &FinalState) -> Result<(), StoreError> {
        let status = f.status;
        let conn = self.conn();
        conn.execute(
            "UPDATE messages SET content = ?2, reasoning = ?3, tool_calls = ?4, status = ?5, error_kind = ?6, \
             error_message = ?7, finish_reason = ?8, usage = ?9, metrics = ?10, thinking_blocks = ?11, writer = NULL, \
             provider = coalesce(?12, provider), model = coalesce(?13, model), trace = ?14 WHERE id = ?1",
            params![
                id, f.content, f.reasoning, json(&f.tool_calls), status, f.error_kind, f.error_message,
                f.finish_reason, json(&f.usage), json(&f.metrics), json(&f.thinking_blocks),
                f.provider, f.model, json(&f.trace)
            ],
        )?;
        conn.execute(
            "UPDATE conversations SET updated = ?2 WHERE id = (SELECT conversation_id FROM messages WHERE id = ?1)",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    /// Shows another version of a message (and, for a user message, its latest answer).
    pub fn activate(&self, message_id: &str) -> Result<(), StoreError> {
        let m = self.message(message_id)?;
        let root = m.variant_of.clone().unwrap_or_else(|| m.id.clone());
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE messages SET active = 0 WHERE id = ?1 OR variant_of = ?1",
            params![root],
        )?;
        tx.execute(
            "UPDATE messages SET active = 1 WHERE id = ?1",
            params![m.id],
        )?;
        if m.role == Role::User {
            // Hide the answers of the other versions; show this version's latest answer.
            tx.execute(
                "UPDATE messages SET active = 0 WHERE conversation_id = ?1 AND seq > ?2",
                params![m.conversation_id, m.seq],
            )?;
            tx.execute(
                "UPDATE messages SET active = 1 WHERE id = (SELECT id FROM messages WHERE parent_id = ?1 ORDER BY created DESC, rowid DESC LIMIT 1)",
                params![m.id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
