//! Conversations: create, read, list (paged, pinned first), rename, pin,
//! per-conversation settings, delete and restore.

use super::columns::{json, row_summary, Json, MESSAGE_COLS, SUMMARY_COLS};
use super::model::{ConversationSummary, Cursor, Deleted};
use super::{now_ms, Store, StoreError};
use crate::types::status::MessageStatus;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// The most providers or models `answerers` lists.
const MAX_ANSWERERS: usize = 500;

/// Title from a first user message: its first line, at most 80 characters.
pub fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("New chat");
    crate::types::error::shorten(line, 80)
}

impl Store {
    /// Creates a conversation (at its first message).
    pub fn create_conversation(
        &self,
        id: &str,
        title: &str,
        provider: Option<&str>,
        model: Option<&str>,
        system_prompt: &str,
        thinking_budget: Option<u32>,
    ) -> Result<ConversationSummary, StoreError> {
        let now = now_ms();
        self.conn().execute(
            "INSERT INTO conversations (id, title, created, updated, provider, model, system_prompt, thinking_budget) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
            params![id, title, now, provider, model, system_prompt, thinking_budget],
        )?;
        self.conversation(id)
    }

    /// One conversation's summary.
    pub fn conversation(&self, id: &str) -> Result<ConversationSummary, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {SUMMARY_COLS} FROM conversations WHERE id = ?1"),
                params![id],
                row_summary,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
    }

    /// True if the conversation is stored.
    pub fn exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM conversations WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Sidebar page: pinned first, then newest; after `cursor` if given.
    pub fn list(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.list_answered_by(cursor, limit, None, None)
    }

    /// Sidebar page of the conversations where any answer came from
    /// `provider` and (or) `model` (None: any).
    pub fn list_answered_by(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
        provider: Option<&str>,
        model: Option<&str>,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        use rusqlite::types::Value;
        let conn = self.conn();
        let limit = limit.clamp(1, 500) as i64;
        let mut sql = format!("SELECT {SUMMARY_COLS} FROM conversations c WHERE 1");
        let mut values: Vec<Value> = Vec::new();
        let mut bind = |sql: &mut String, clause: &str, v: Vec<Value>| {
            let mut clause = clause.to_owned();
            for v in v {
                values.push(v);
                clause = clause.replacen('#', &format!("?{}", values.len()), 1);
            }
            sql.push_str(&clause);
        };
        if let Some(c) = cursor {
            bind(
                &mut sql,
                " AND (pinned, updated, id) < (#, #, #)",
                vec![
                    Value::Integer(c.pinned as i64),
                    Value::Integer(c.updated),
                    Value::Text(c.id.clone()),
                ],
            );
        }
        if let Some(p) = provider {
            bind(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM messages x WHERE x.role = 'assistant' AND x.provider = # AND x.conversation_id = c.id)",
                vec![Value::Text(p.to_owned())],
            );
        }
        if let Some(m) = model {
            bind(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM messages x WHERE x.role = 'assistant' AND x.model = # AND x.conversation_id = c.id)",
                vec![Value::Text(m.to_owned())],
            );
        }
        bind(
            &mut sql,
            " ORDER BY pinned DESC, updated DESC, id DESC LIMIT #",
            vec![Value::Integer(limit)],
        );
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(values), row_summary)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Every provider and every model that answered in some conversation,
    /// each sorted (one index step per value, however many answers).
    pub fn answerers(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let conn = self.conn();
        let distinct = |col: &str| -> Result<Vec<String>, StoreError> {
            // A skip scan over the answers' index: the next larger value, step by step.
            let sql = format!(
                "WITH RECURSIVE v(x) AS ( \
                   SELECT min({col}) FROM messages WHERE role = 'assistant' AND {col} > '' \
                   UNION ALL \
                   SELECT (SELECT min({col}) FROM messages WHERE role = 'assistant' AND {col} > v.x) FROM v WHERE v.x IS NOT NULL \
                 ) SELECT x FROM v WHERE x IS NOT NULL LIMIT {MAX_ANSWERERS}"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?)
        };
        Ok((distinct("provider")?, distinct("model")?))
    }

    /// Renames; the title no longer follows the first message.
    pub fn rename(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(StoreError::Invalid("The title is empty".into()));
        }
        self.changed(
            self.conn().execute(
                "UPDATE conversations SET title = ?2, title_custom = 1 WHERE id = ?1",
                params![id, title],
            )?,
            id,
        )
    }

    /// Pins or unpins.
    pub fn set_pinned(&self, id: &str, pinned: bool) -> Result<(), StoreError> {
        self.changed(
            self.conn().execute(
                "UPDATE conversations SET pinned = ?2 WHERE id = ?1",
                params![id, pinned as i64],
            )?,
            id,
        )
    }

    /// Sets the provider, model and system prompt of a conversation.
    pub fn set_settings(
        &self,
        id: &str,
        provider: Option<&str>,
        model: Option<&str>,
        system_prompt: &str,
        thinking_budget: Option<u32>,
    ) -> Result<(), StoreError> {
        self.changed(self.conn().execute(
            "UPDATE conversations SET provider = ?2, model = ?3, system_prompt = ?4, thinking_budget = ?5 WHERE id = ?1",
            params![id, provider, model, system_prompt, thinking_budget],
        )?, id)
    }

    /// Sets the sampling settings of a conversation (all unset: NULL).
    pub fn set_sampling(
        &self,
        id: &str,
        sampling: &crate::protocol::Sampling,
    ) -> Result<(), StoreError> {
        let value = (!sampling.is_default()).then_some(Json(sampling));
        self.changed(
            self.conn().execute(
                "UPDATE conversations SET sampling = ?2 WHERE id = ?1",
                params![id, value],
            )?,
            id,
        )
    }

    /// Switches tools off in a conversation (their offered names, e.g.
    /// `files__delete`); an empty list offers every enabled tool again.
    pub fn set_tools_off(&self, id: &str, off: &[String]) -> Result<(), StoreError> {
        let value = (!off.is_empty()).then_some(Json(off));
        self.changed(
            self.conn().execute(
                "UPDATE conversations SET tools_off = ?2 WHERE id = ?1",
                params![id, value],
            )?,
            id,
        )
    }

    /// The tools switched off in a conversation (none for an unknown one).
    pub fn tools_off(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let v: Option<Option<Json<Vec<String>>>> = self
            .conn()
            .query_row(
                "SELECT tools_off FROM conversations WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.flatten().map(|j| j.0).unwrap_or_default())
    }

    fn changed(&self, n: usize, id: &str) -> Result<(), StoreError> {
        if n == 0 {
            return Err(StoreError::NotFound(format!("conversation {id}")));
        }
        Ok(())
    }

    /// Deletes a conversation and returns it whole, for Undo.
    pub fn delete(&self, id: &str) -> Result<Deleted, StoreError> {
        let conversation = self.conversation(id)?;
        let messages = self.all_messages(id)?;
        let attachments = self.attachment_rows(id)?;
        let tools_off = self.tools_off(id)?;
        self.conn()
            .execute("DELETE FROM conversations WHERE id = ?1", params![id])?;
        Ok(Deleted {
            conversation,
            messages,
            attachments,
            tools_off,
        })
    }

    /// Puts back a deleted (or imported) conversation.
    pub fn restore(&self, d: &Deleted) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        restore_in(&tx, d)?;
        tx.commit()?;
        Ok(())
    }
}

/// Writes a whole conversation (its messages, files' rows and usage sums)
/// inside the caller's transaction.
pub(super) fn restore_in(tx: &rusqlite::Transaction<'_>, d: &Deleted) -> Result<(), StoreError> {
    {
        let c = &d.conversation;
        tx.execute(
            "INSERT INTO conversations (id, title, title_custom, created, updated, provider, model, system_prompt, pinned, thinking_budget, sampling, tools_off) \
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![c.id, c.title, c.created, c.updated, c.provider, c.model, c.system_prompt, c.pinned as i64, c.thinking_budget,
                (!c.sampling.is_default()).then_some(Json(&c.sampling)),
                (!d.tools_off.is_empty()).then_some(Json(&d.tools_off))],
        )?;
        for m in &d.messages {
            let status = if m.status == MessageStatus::Streaming {
                MessageStatus::Interrupted
            } else {
                m.status
            };
            tx.execute(
                &format!("INSERT INTO messages ({MESSAGE_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)"),
                params![
                    m.id, c.id, m.seq, m.role, m.content, m.reasoning, json(&m.tool_calls), status,
                    m.error_kind, m.error_message, m.finish_reason, json(&m.usage), json(&m.metrics),
                    m.created, m.parent_id, m.variant_of, m.active as i64, json(&m.thinking_blocks),
                    m.provider, m.model, m.chosen as i64, json(&m.tool_steps)
                ],
            )?;
        }
        super::attachments::put_rows(tx, &c.id, &d.attachments)?;
        // Its usage sums (time-ordered usage never left).
        tx.execute(
            "INSERT OR REPLACE INTO conversation_usage \
             SELECT conversation_id, coalesce(provider, ''), coalesce(model, ''), count(*), \
             sum(coalesce(json_extract(usage, '$.input_tokens'), 0)), \
             sum(coalesce(json_extract(usage, '$.output_tokens'), 0)), \
             sum(coalesce(json_extract(usage, '$.cached_input_tokens'), 0)), \
             sum(coalesce(json_extract(usage, '$.estimated'), 0)) \
             FROM messages WHERE conversation_id = ?1 AND role = 'assistant' \
             AND status != 'streaming' AND usage IS NOT NULL GROUP BY 1, 2, 3",
            params![c.id],
        )?;
        Ok(())
    }
}
