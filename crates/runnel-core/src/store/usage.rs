//! Token usage over time: the `usage_hourly` table, which a trigger keeps up
//! as answers finish (schema 5), summed per day, provider and model. The
//! work grows with days × models, not with the number of messages.

use super::{Store, StoreError};
use rusqlite::params;
use serde::Serialize;

/// Milliseconds in an hour: the table's time unit.
const HOUR_MS: i64 = 3_600_000;
/// Largest UTC offset accepted, in minutes (UTC+14).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// Tokens of one day, provider and model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct UsageRow {
    /// The day, `YYYY-MM-DD`, in the asked time zone.
    pub day: String,
    /// The provider ("" for answers stored before it was recorded).
    pub provider: String,
    /// The model ("" likewise).
    pub model: String,
    /// Answers.
    pub answers: u64,
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_input_tokens: u64,
    /// Answers whose usage was estimated.
    pub estimated_answers: u64,
}

/// A sum read back: never negative (the trigger adds token counts).
fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Who answered and the tokens their answers took in all.
pub type AnswerUsage = (Option<String>, Option<String>, super::StoredUsage);

impl Store {
    /// The tokens of a conversation's finished answers (versions included)
    /// per provider and model, from the sums the finish trigger keeps (no
    /// message is read); `estimated` when any of a group's answers was.
    pub fn answer_usage(&self, conversation_id: &str) -> Result<Vec<AnswerUsage>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT nullif(provider, ''), nullif(model, ''), input_tokens, output_tokens, \
             cached_input_tokens, estimated_answers FROM conversation_usage WHERE conversation_id = ?1",
        )?;
        let rows = stmt.query_map(params![conversation_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                super::StoredUsage {
                    input_tokens: count(r.get(2)?),
                    output_tokens: count(r.get(3)?),
                    cached_input_tokens: count(r.get(4)?),
                    estimated: r.get::<_, i64>(5)? != 0,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Usage per day, provider and model for answers started in
    /// `[since_ms, until_ms)` (ms since the epoch; whole hours), days counted
    /// at `utc_offset_minutes` from UTC. In day, provider, model order.
    pub fn usage(
        &self,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        utc_offset_minutes: i32,
    ) -> Result<Vec<UsageRow>, StoreError> {
        if utc_offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
            return Err(StoreError::Invalid(format!(
                "A UTC offset is at most {MAX_UTC_OFFSET_MINUTES} minutes (got {utc_offset_minutes})"
            )));
        }
        let since = since_ms.map_or(i64::MIN, |t| t.div_euclid(HOUR_MS));
        let until = until_ms.map_or(i64::MAX, |t| t.div_euclid(HOUR_MS));
        let offset_s = i64::from(utc_offset_minutes) * 60;
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            // Grouped by the day's number; its date is formatted once a group.
            "SELECT date(min(hour) * 3600 + ?3, 'unixepoch'), provider, model, sum(answers), \
             sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(estimated_answers) \
             FROM usage_hourly WHERE hour >= ?1 AND hour < ?2 \
             GROUP BY (hour * 3600 + ?3) / 86400, provider, model \
             ORDER BY (hour * 3600 + ?3) / 86400, provider, model",
        )?;
        let rows = stmt.query_map(params![since, until, offset_s], |r| {
            Ok(UsageRow {
                day: r.get(0)?,
                provider: r.get(1)?,
                model: r.get(2)?,
                answers: count(r.get(3)?),
                input_tokens: count(r.get(4)?),
                output_tokens: count(r.get(5)?),
                cached_input_tokens: count(r.get(6)?),
                estimated_answers: count(r.get(7)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
