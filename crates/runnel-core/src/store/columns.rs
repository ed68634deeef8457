//! Typed columns: every stored value goes in and out through `ToSql` /
//! `FromSql`, and a value this build does not know is an error, never a
//! silent default.

use super::model::{ConversationSummary, Message};
use crate::types::chat::Role;
use crate::types::error::ErrorKind;
use crate::types::status::MessageStatus;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::de::DeserializeOwned;
use serde::Serialize;

impl ToSql for MessageStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for MessageStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        MessageStatus::parse(s).ok_or_else(|| unknown("status", s))
    }
}

impl ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Role {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        Role::parse(s).ok_or_else(|| unknown("role", s))
    }
}

impl ToSql for ErrorKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ErrorKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        ErrorKind::parse(s).ok_or_else(|| unknown("error kind", s))
    }
}

/// A value this build does not know, named in the error.
fn unknown(what: &str, value: &str) -> FromSqlError {
    FromSqlError::Other(format!("unknown stored {what} {value:?}").into())
}

/// A column holding `T` as JSON text.
#[derive(Debug)]
pub(super) struct Json<T>(pub T);

impl<T: Serialize> ToSql for Json<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        serde_json::to_string(&self.0)
            .map(ToSqlOutput::from)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        serde_json::from_str(value.as_str()?)
            .map(Json)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// An optional JSON column.
pub(super) fn json<T: Serialize>(v: &Option<T>) -> Option<Json<&T>> {
    v.as_ref().map(Json)
}

pub(super) fn row_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    Ok(ConversationSummary {
        id: r.get(0)?,
        title: r.get(1)?,
        created: r.get(2)?,
        updated: r.get(3)?,
        pinned: r.get::<_, i64>(4)? != 0,
        provider: r.get(5)?,
        model: r.get(6)?,
        system_prompt: r.get(7)?,
        thinking_budget: r.get(8)?,
        sampling: r
            .get::<_, Option<Json<_>>>(9)?
            .map(|j| j.0)
            .unwrap_or_default(),
    })
}

pub(super) const SUMMARY_COLS: &str =
    "id, title, created, updated, pinned, provider, model, system_prompt, thinking_budget, sampling";
pub(super) const MESSAGE_COLS: &str =
    "id, conversation_id, seq, role, content, reasoning, tool_calls, status, error_kind, \
     error_message, finish_reason, usage, metrics, created, parent_id, variant_of, active, thinking_blocks, provider, model, chosen, tool_steps";

pub(super) fn row_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        seq: r.get(2)?,
        role: r.get(3)?,
        content: r.get(4)?,
        reasoning: r.get(5)?,
        tool_calls: r.get::<_, Option<Json<_>>>(6)?.map(|j| j.0),
        status: r.get(7)?,
        error_kind: r.get(8)?,
        error_message: r.get(9)?,
        finish_reason: r.get(10)?,
        usage: r.get::<_, Option<Json<_>>>(11)?.map(|j| j.0),
        metrics: r.get::<_, Option<Json<_>>>(12)?.map(|j| j.0),
        created: r.get(13)?,
        parent_id: r.get(14)?,
        variant_of: r.get(15)?,
        active: r.get::<_, i64>(16)? != 0,
        thinking_blocks: r.get::<_, Option<Json<_>>>(17)?.map(|j| j.0),
        provider: r.get(18)?,
        model: r.get(19)?,
        chosen: r.get::<_, i64>(20)? != 0,
        tool_steps: r.get::<_, Option<Json<_>>>(21)?.map(|j| j.0),
    })
}
