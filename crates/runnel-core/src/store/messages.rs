//! Messages and their branches: user messages, streaming answers (flushed
//! while they stream, finished once), and which branch is shown (`tree`).

use super::columns::{json, row_message, MESSAGE_COLS};
use super::conversations::title_from;
use super::lock::writer;
use super::model::{FinalState, Message, WHOLE_CONVERSATION};
use super::{new_id, now_ms, Store, StoreError};
use crate::types::chat::Role;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;

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

    /// The siblings of a message (itself included: the messages with its
    /// parent, the branches at its fork), oldest first.
    pub fn siblings(&self, message_id: &str) -> Result<Vec<Message>, StoreError> {
        let m = self.message(message_id)?;
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND parent_id IS ?2 ORDER BY created, rowid"
            ))?
            .query_map(params![m.conversation_id, m.parent_id], row_message)?
            .collect::<Result<_, _>>()?)
    }

    /// The forks among `shown` (messages of one conversation): each shown
    /// message with siblings -> its group's ids, oldest first. One indexed
    /// query per distinct parent, so a page costs the same in any
    /// conversation.
    pub fn sibling_groups(
        &self,
        conversation_id: &str,
        shown: &[Message],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let conn = self.conn();
        let mut query = conn.prepare_cached(
            "SELECT id FROM messages WHERE conversation_id = ?1 AND parent_id IS ?2 ORDER BY created, rowid",
        )?;
        let mut by_parent: HashMap<Option<&str>, Vec<String>> = HashMap::new();
        let mut out = HashMap::new();
        for m in shown {
            let parent = m.parent_id.as_deref();
            if let std::collections::hash_map::Entry::Vacant(e) = by_parent.entry(parent) {
                let ids = query
                    .query_map(params![conversation_id, parent], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                e.insert(ids);
            }
            if let Some(group) = by_parent.get(&parent).filter(|g| g.len() > 1) {
                out.insert(m.id.clone(), group.clone());
            }
        }
        Ok(out)
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

    /// Adds a complete user message after the last shown one. `replaces`:
    /// it is an edit of that user message instead, a new branch beside it
    /// (the old one and everything after it are kept, hidden).
    pub fn add_user_message(
        &self,
        conversation_id: &str,
        content: &str,
        replaces: Option<&str>,
    ) -> Result<Message, StoreError> {
        self.add_user_message_with(conversation_id, content, replaces, &[])
    }

    /// Adds a user message with its files: each file's bytes are stored
    /// once (shared with any message that has the same bytes).
    pub fn add_user_message_with(
        &self,
        conversation_id: &str,
        content: &str,
        replaces: Option<&str>,
        files: &[crate::types::attachment::Attachment],
    ) -> Result<Message, StoreError> {
        let id = new_id();
        let now = now_ms();
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let parent = match replaces {
                Some(old) => {
                    let (parent, role): (Option<String>, Role) = tx
                        .query_row(
                            "SELECT parent_id, role FROM messages WHERE id = ?1 AND conversation_id = ?2",
                            params![old, conversation_id],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?
                        .ok_or_else(|| StoreError::NotFound(format!("message {old}")))?;
                    if role != Role::User {
                        return Err(StoreError::Invalid(
                            "Only a message you wrote can be edited".into(),
                        ));
                    }
                    parent
                }
                None => super::tree::tail(&tx, conversation_id)?,
            };
            let seq = super::tree::make_room(&tx, conversation_id, parent.as_deref())?;
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, parent_id, active, chosen) \
                 VALUES (?1, ?2, ?3, 'user', ?4, 'done', ?5, ?6, 1, 1)",
                params![id, conversation_id, seq, content, now, parent],
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

    /// Starts an assistant answer to `parent_id` (status streaming, owned by
    /// this process). When the parent already has answers (regenerate,
    /// compare) the new one is a branch beside them; they are kept, hidden,
    /// with whatever followed them.
    pub fn begin_answer(
        &self,
        conversation_id: &str,
        parent_id: &str,
    ) -> Result<Message, StoreError> {
        let writer = writer(&self.dir)?;
        let id = new_id();
        let now = now_ms();
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seq = super::tree::make_room(&tx, conversation_id, Some(parent_id))?;
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, writer, parent_id, active, chosen) \
                 VALUES (?1, ?2, ?3, 'assistant', '', 'streaming', ?4, ?5, ?6, 1, 1)",
                params![id, conversation_id, seq, now, writer.id, parent_id],
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

    /// Saves the tool steps of an answer still streaming (its terminal
    /// state saves them again with everything else).
    pub fn save_tool_steps(
        &self,
        id: &str,
        steps: &[crate::types::tool::ToolStep],
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE messages SET tool_steps = ?2 WHERE id = ?1",
            params![id, json(&Some(steps))],
        )?;
        Ok(())
    }

    /// Records the terminal state of an answer (this indexes it for search).
    pub fn finish_message(&self, id: &str, f: &FinalState) -> Result<(), StoreError> {
        let status = f.status;
        let conn = self.conn();
        conn.execute(
            "UPDATE messages SET content = ?2, reasoning = ?3, tool_calls = ?4, status = ?5, error_kind = ?6, \
             error_message = ?7, finish_reason = ?8, usage = ?9, metrics = ?10, thinking_blocks = ?11, writer = NULL, \
             provider = coalesce(?12, provider), model = coalesce(?13, model), trace = ?14, tool_steps = ?15 WHERE id = ?1",
            params![
                id, f.content, f.reasoning, json(&f.tool_calls), status, f.error_kind, f.error_message,
                f.finish_reason, json(&f.usage), json(&f.metrics), json(&f.thinking_blocks),
                f.provider, f.model, json(&f.trace), json(&f.tool_steps)
            ],
        )?;
        conn.execute(
            "UPDATE conversations SET updated = ?2 WHERE id = (SELECT conversation_id FROM messages WHERE id = ?1)",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    /// Shows the branch through a message (a fork's arrow, a search hit,
    /// Compare's pick): it and its ancestors become the chosen ones of their
    /// forks, and below it the branch continues as it was last shown. Other
    /// branches keep their choices.
    pub fn activate(&self, message_id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        super::tree::show(&tx, message_id)?;
        tx.commit()?;
        Ok(())
    }
}
