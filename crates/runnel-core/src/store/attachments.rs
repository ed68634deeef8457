//! Attachments in the database: each file's bytes once in `blobs`, keyed by
//! their SHA-256 and shared by every message that uses them; a row per
//! message and file in `attachments` (name, kind, text for search). Blobs
//! no message uses any more are dropped when the database opens (so Undo of
//! a deletion finds them still there).

use super::{now_ms, Store, StoreError};
use crate::types::attachment::{Attachment, AttachmentKind};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// One file of one message, as stored (its bytes are in `blobs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRow {
    /// The message it goes with.
    pub message_id: String,
    /// Its place among the message's files, from 0.
    pub pos: u32,
    /// The file's name as shown.
    pub name: String,
    /// What it is.
    pub kind: AttachmentKind,
    /// Its media type as sent.
    pub mime: String,
    /// Hex SHA-256 of its bytes: the blob's key.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// A text file's text or a PDF's extracted text (searched).
    pub text: Option<String>,
    /// An image's width and height in pixels.
    pub size_px: Option<(u32, u32)>,
}

impl ToSql for AttachmentKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for AttachmentKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        AttachmentKind::parse(s).ok_or_else(|| {
            FromSqlError::Other(format!("unknown stored attachment kind {s:?}").into())
        })
    }
}

const ROW_COLS: &str =
    "a.message_id, a.pos, a.name, a.kind, a.mime, a.sha256, b.size, a.text, a.width, a.height";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttachmentRow> {
    let w: Option<u32> = r.get(8)?;
    let h: Option<u32> = r.get(9)?;
    let size: i64 = r.get(6)?;
    Ok(AttachmentRow {
        message_id: r.get(0)?,
        pos: r.get(1)?,
        name: r.get(2)?,
        kind: r.get(3)?,
        mime: r.get(4)?,
        sha256: r.get(5)?,
        size: u64::try_from(size).unwrap_or(0),
        text: r.get(7)?,
        size_px: w.zip(h),
    })
}

/// Stores a blob unless one with its key is there already.
pub(super) fn put_blob(tx: &Transaction<'_>, sha256: &str, data: &[u8]) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, data, size, created) VALUES (?1, ?2, ?3, ?4)",
        params![sha256, data, data.len() as i64, now_ms()],
    )?;
    Ok(())
}

/// Stores one message's attachment rows (their blobs must be there).
pub(super) fn put_rows(
    tx: &Transaction<'_>,
    conversation_id: &str,
    rows: &[AttachmentRow],
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        // A row whose bytes are gone (dropped by another process's start
        // while an Undo waited) is left out rather than failing the restore.
        "INSERT INTO attachments (message_id, conversation_id, pos, name, kind, mime, sha256, text, width, height) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?7)",
    )?;
    for a in rows {
        stmt.execute(params![
            a.message_id,
            conversation_id,
            a.pos,
            a.name,
            a.kind,
            a.mime,
            a.sha256,
            a.text,
            a.size_px.map(|s| s.0),
            a.size_px.map(|s| s.1),
        ])?;
    }
    Ok(())
}

/// The rows of a user message's files, in order.
pub(super) fn rows_of(message_id: &str, files: &[Attachment]) -> Vec<AttachmentRow> {
    files
        .iter()
        .enumerate()
        .map(|(i, a)| AttachmentRow {
            message_id: message_id.to_owned(),
            pos: i as u32,
            name: a.name.clone(),
            kind: a.kind,
            mime: a.mime.clone(),
            sha256: a.sha256.clone(),
            size: a.data.len() as u64,
            text: a.text.clone(),
            size_px: a.size_px,
        })
        .collect()
}

impl Store {
    /// Every attachment row of a conversation (versions included), by
    /// message and place; no bytes.
    pub fn attachment_rows(&self, conversation_id: &str) -> Result<Vec<AttachmentRow>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {ROW_COLS} FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 \
                 WHERE a.conversation_id = ?1 ORDER BY a.message_id, a.pos"
            ))?
            .query_map(params![conversation_id], row)?
            .collect::<Result<_, _>>()?)
    }

    /// The attachment rows of a conversation, by message id.
    pub fn attachments_by_message(
        &self,
        conversation_id: &str,
    ) -> Result<HashMap<String, Vec<AttachmentRow>>, StoreError> {
        let mut out: HashMap<String, Vec<AttachmentRow>> = HashMap::new();
        for r in self.attachment_rows(conversation_id)? {
            out.entry(r.message_id.clone()).or_default().push(r);
        }
        Ok(out)
    }

    /// A message's files with their bytes, ready to send again.
    pub fn attachment_files(&self, message_id: &str) -> Result<Vec<Attachment>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT a.name, a.kind, a.mime, a.sha256, b.data, a.text, a.width, a.height \
             FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 WHERE a.message_id = ?1 ORDER BY a.pos",
        )?;
        let rows = stmt.query_map(params![message_id], |r| {
            let data: Vec<u8> = r.get(4)?;
            let w: Option<u32> = r.get(6)?;
            let h: Option<u32> = r.get(7)?;
            Ok(Attachment {
                name: r.get(0)?,
                kind: r.get(1)?,
                mime: r.get(2)?,
                sha256: r.get(3)?,
                data: Arc::from(data),
                text: r.get(5)?,
                size_px: w.zip(h),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One blob's bytes.
    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn()
            .query_row(
                "SELECT data FROM blobs WHERE sha256 = ?1",
                params![sha256],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("file {sha256}")))
    }

    /// Stores blobs (an import's files) unless they are there already.
    pub(super) fn put_blobs(&self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (key, data) in files {
            put_blob(&tx, key, data)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many blobs are stored (for tests and the store benchmark).
    pub fn blob_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Drops blobs no attachment uses; returns how many went.
    pub fn drop_unused_blobs(&self) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = blobs.sha256)",
            [],
        )?)
    }
}
