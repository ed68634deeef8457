//! Conversations from other apps, stored in one transaction with where each
//! came from (`imports`: source and the source's conversation id), so the
//! same conversation imported again is recognised and skipped.

use super::conversations::restore_in;
use super::{now_ms, Deleted, Store, StoreError};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// One conversation to import: its id in the source, and its rows.
#[derive(Debug, Clone)]
pub struct ImportItem {
    /// The conversation's id in the source (the idempotency key, with the source).
    pub source_id: String,
    /// The conversation with new ids, ready to store.
    pub conversation: Deleted,
}

/// What storing a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The new conversations' ids, in the batch's order.
    pub imported: Vec<String>,
    /// (source id, the conversation imported from it before) for each skipped one.
    pub already: Vec<(String, String)>,
}

impl Store {
    /// Stores `items` from `source` in one transaction: all of them or, on a
    /// database error, none. One imported before (same source and source id,
    /// and still stored) is skipped.
    pub fn import_conversations(
        &self,
        source: &str,
        items: &[ImportItem],
    ) -> Result<Stored, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Stored::default();
        let now = now_ms();
        for item in items {
            let before: Option<String> = tx
                .prepare_cached(
                    "SELECT conversation_id FROM imports WHERE source = ?1 AND source_id = ?2",
                )?
                .query_row(params![source, item.source_id], |r| r.get(0))
                .optional()?;
            if let Some(id) = before {
                out.already.push((item.source_id.clone(), id));
                continue;
            }
            restore_in(&tx, &item.conversation)?;
            let id = &item.conversation.conversation.id;
            // Each fork shows the source's branch, or its newest.
            super::tree::settle(&tx, id)?;
            tx.execute(
                "INSERT INTO imports (source, source_id, conversation_id, imported) VALUES (?1, ?2, ?3, ?4)",
                params![source, item.source_id, id, now],
            )?;
            out.imported.push(id.clone());
        }
        tx.commit()?;
        Ok(out)
    }

    /// Where a conversation was imported from: (source, its id there).
    pub fn import_source(
        &self,
        conversation_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT source, source_id FROM imports WHERE conversation_id = ?1")?
            .query_row(params![conversation_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }
}
