//! HTTP helpers of the engine: bounded body reads, Retry-After, how a failed
//! send is reported, and the backoff between retries.

use super::Engine;
use crate::types::error::{error_chain, EngineError, TimeoutPhase};
use futures_util::StreamExt;
use std::time::{Duration, SystemTime};

/// Most bytes of an error body kept (enough for any provider's error JSON).
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Most bytes of a model list read.
pub const MODELS_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// Most bytes of a complete (non-streamed) answer read: past it the answer
/// is an error, not a truncated parse.
pub const WHOLE_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Most JSON values (objects, arrays, numbers, strings, literals) a complete
/// response may hold before it is parsed: a chat completion has hundreds,
/// and a hostile 32 MiB array of tiny values would otherwise become a tree
/// of hundreds of MB.
pub const WHOLE_BODY_VALUES: usize = 1_000_000;

/// Counts the JSON values in `body` without parsing it (one pass; strings
/// and their escapes are skipped): about one per `,`, `[` and `{` outside
/// strings.
pub fn json_value_count(body: &str) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for b in body.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b'[' | b'{' => count += 1,
            _ => {}
        }
    }
    count
}

/// The longest Retry-After honoured before capping (a silly value must not
/// overflow a Duration); the engine's `max_retry_wait` caps it further.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(86_400);

impl Engine {
    pub(super) fn send_error(&self, url: &str, e: &reqwest::Error) -> EngineError {
        if e.is_timeout() {
            return EngineError::Timeout {
                phase: TimeoutPhase::Connect,
                after: self.config.connect_timeout,
            };
        }
        EngineError::Network {
            url: url.to_owned(),
            detail: error_chain(e),
        }
    }

    pub(super) fn retry_delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.config.max_retry_wait);
        }
        let step = self
            .config
            .backoff_base
            .saturating_mul(1 << (retry - 1).min(16));
        // Full jitter in [step/2, step].
        let jittered = step.mul_f64(0.5 + fastrand::f64() * 0.5);
        jittered.min(self.config.max_retry_wait)
    }
}

/// Reads up to `limit` bytes of a body as text, giving up after `idle` of silence.
pub(super) async fn read_limited(
    response: reqwest::Response,
    idle: Duration,
    limit: usize,
) -> String {
    let mut body = response.bytes_stream();
    let mut buf = Vec::new();
    while buf.len() < limit {
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(b))) => buf.extend_from_slice(&b),
            _ => break,
        }
    }
    buf.truncate(limit);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Parses `retry-after-ms`, or `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(
    headers: &reqwest::header::HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        // Capped at a day: a silly value must not overflow a Duration.
        return Some(Duration::from_secs_f64(
            ms.min(RETRY_AFTER_CAP.as_secs_f64() * 1000.0) / 1000.0,
        ));
    }
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(RETRY_AFTER_CAP.as_secs_f64())));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_counted_outside_strings() {
        assert_eq!(json_value_count("1"), 1);
        assert_eq!(json_value_count(r#"{"a": [1, 2, 3], "b": "x,[{"}"#), 6);
        assert_eq!(json_value_count(r#"{"a": "q\"[,"}"#), 2);
    }
    use crate::engine::EngineConfig;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&date).expect("header"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
    }

    #[test]
    fn regression_huge_retry_after_does_not_panic() {
        let now = SystemTime::UNIX_EPOCH;
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", HeaderValue::from_static("1e30"));
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_secs(86_400))
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1e300"));
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    pub(super) fn retry_delay_is_capped_and_jittered() {
        let engine = Engine::new(EngineConfig::default()).expect("engine");
        assert_eq!(
            engine.retry_delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        for retry in 1..=2 {
            let d = engine.retry_delay(retry, None);
            let step = Duration::from_secs(1 << (retry - 1));
            assert!(d >= step / 2 && d <= step, "{d:?}");
        }
    }
}
