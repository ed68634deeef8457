//! What went over the wire for one answer: the request (secrets replaced by
//! `<redacted>`), the response's status and headers, every SSE event and
//! comment exactly as received with its arrival time (ms since the request,
//! monotonic clock), retries with their reasons, the terminal state, and the
//! response body's bytes as received (the `.sse` form).
//!
//! A trace is capped: past its budget the first and the last events (and
//! bytes) are kept, and how many were dropped is counted, so a long answer
//! costs bounded memory and the work per event stays constant.

use crate::protocol::sse::SseDecoder;
use crate::types::error::ErrorInfo;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Instant;

/// The default cap of one answer's trace, in bytes (a setting).
pub const DEFAULT_TRACE_CAP: usize = 2 * 1024 * 1024;
/// The smallest cap accepted.
pub const MIN_TRACE_CAP: usize = 16 * 1024;
/// The largest cap accepted.
pub const MAX_TRACE_CAP: usize = 256 * 1024 * 1024;
/// What a line costs beyond its text, for the budget.
const LINE_OVERHEAD: usize = 48;
/// What stands in for a secret.
pub const REDACTED: &str = "<redacted>";

/// One line of a trace (one JSON object a line in `runnel ask --trace`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TraceLine {
    /// The request as sent.
    Request {
        /// Ms since the request started (0 for the first try).
        t_ms: f64,
        /// `POST`.
        method: String,
        /// The URL.
        url: String,
        /// Headers, secret values as `<redacted>`.
        headers: Vec<(String, String)>,
        /// The JSON body.
        body: String,
    },
    /// The response's status line and headers.
    Response {
        /// Ms since the request.
        t_ms: f64,
        /// HTTP status.
        status: u16,
        /// Headers (cookies as `<redacted>`).
        headers: Vec<(String, String)>,
        /// The body of an error response, as read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// One dispatched SSE event.
    Event {
        /// Ms since the request.
        t_ms: f64,
        /// Its `event:` name, or null when it had none.
        event: Option<String>,
        /// Its data exactly as received (lines joined with `\n`).
        data: String,
    },
    /// A comment line (`: keep-alive`).
    Comment {
        /// Ms since the request.
        t_ms: f64,
        /// The text after the colon.
        text: String,
    },
    /// A failed try that is retried.
    Retry {
        /// Ms since the request.
        t_ms: f64,
        /// 1 for the first retry.
        attempt: u32,
        /// Wait before it.
        delay_ms: u64,
        /// Why.
        reason: String,
    },
    /// The terminal state.
    End {
        /// Ms since the request.
        t_ms: f64,
        /// `done`, `cancelled` or `error`.
        status: String,
        /// The error, when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
        /// Events left out in the middle (over the cap).
        #[serde(default)]
        dropped_events: u64,
        /// Body bytes left out in the middle (over the cap).
        #[serde(default)]
        dropped_bytes: u64,
    },
}

impl TraceLine {
    fn cost(&self) -> usize {
        LINE_OVERHEAD
            + match self {
                Self::Request { body, headers, .. } => {
                    body.len()
                        + headers
                            .iter()
                            .map(|(k, v)| k.len() + v.len())
                            .sum::<usize>()
                }
                Self::Response { body, headers, .. } => {
                    body.as_ref().map_or(0, String::len)
                        + headers
                            .iter()
                            .map(|(k, v)| k.len() + v.len())
                            .sum::<usize>()
                }
                Self::Event { data, event, .. } => {
                    data.len() + event.as_ref().map_or(0, String::len)
                }
                Self::Comment { text, .. } => text.len(),
                Self::Retry { reason, .. } => reason.len(),
                Self::End { .. } => 0,
            }
    }

    /// Is it an event (what the cap drops)?
    fn is_event(&self) -> bool {
        matches!(self, Self::Event { .. } | Self::Comment { .. })
    }
}

/// A finished trace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trace {
    /// The lines in order (with a gap after the kept first events when some
    /// were dropped; the end line counts them).
    pub lines: Vec<TraceLine>,
    /// The response body's bytes as received (first and last ones when over
    /// the cap).
    #[serde(with = "bytes_as_text")]
    pub raw: Vec<u8>,
}

impl Trace {
    /// Replaces `secret` wherever it appears (a server echoing the key in
    /// an event or a header) by `<redacted>`.
    pub fn redact(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let fix = |s: &mut String| {
            if s.contains(secret) {
                *s = s.replace(secret, REDACTED);
            }
        };
        for l in &mut self.lines {
            match l {
                TraceLine::Request {
                    url, headers, body, ..
                } => {
                    fix(url);
                    fix(body);
                    headers.iter_mut().for_each(|(_, v)| fix(v));
                }
                TraceLine::Response { headers, body, .. } => {
                    headers.iter_mut().for_each(|(_, v)| fix(v));
                    if let Some(b) = body {
                        fix(b);
                    }
                }
                TraceLine::Event { data, .. } => fix(data),
                TraceLine::Comment { text, .. } => fix(text),
                TraceLine::Retry { reason, .. } => fix(reason),
                TraceLine::End { .. } => {}
            }
        }
        let needle = secret.as_bytes();
        if self.raw.windows(needle.len()).any(|w| w == needle) {
            let text = String::from_utf8_lossy(&self.raw).replace(secret, REDACTED);
            self.raw = text.into_bytes();
        }
    }

    /// The first request as a `curl` command line that repeats it: the key
    /// stays out, as `$OPENAI_API_KEY` (or `$ANTHROPIC_API_KEY` for an
    /// `x-api-key` header), and every other secret header as `<redacted>`.
    pub fn curl(&self) -> Option<String> {
        let TraceLine::Request {
            method,
            url,
            headers,
            body,
            ..
        } = self
            .lines
            .iter()
            .find(|l| matches!(l, TraceLine::Request { .. }))?
        else {
            return None;
        };
        let mut out = format!("curl -N -X {method} {}", shell_quote(url));
        for (k, v) in headers {
            let lower = k.to_ascii_lowercase();
            let header = match lower.as_str() {
                // The shell expands the variable: double quotes.
                "authorization" if v == REDACTED => {
                    format!(" \\\n  -H \"{k}: Bearer $OPENAI_API_KEY\"")
                }
                "x-api-key" if v == REDACTED => format!(" \\\n  -H \"{k}: $ANTHROPIC_API_KEY\""),
                // curl sets these itself.
                "content-length" | "host" => continue,
                _ => format!(" \\\n  -H {}", shell_quote(&format!("{k}: {v}"))),
            };
            out.push_str(&header);
        }
        out.push_str(&format!(" \\\n  --data-raw {}", shell_quote(body)));
        Some(out)
    }

    /// The trace as JSON lines, one object a line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            if let Ok(s) = serde_json::to_string(l) {
                out.push_str(&s);
                out.push('\n');
            }
        }
        out
    }
}

/// Raw bytes stored as text when they are UTF-8, else as an array.
mod bytes_as_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(b) {
            Ok(t) => Repr::Text(t.to_owned()).serialize(s),
            Err(_) => Repr::Bytes(b.to_vec()).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Text(t) => t.into_bytes(),
            Repr::Bytes(b) => b,
        })
    }
}

/// Records a trace as a stream runs, within a byte budget.
#[derive(Debug)]
pub struct TraceRecorder {
    started: Instant,
    /// Budget for the events kept from the start, and for those at the end.
    half: usize,
    head: Vec<TraceLine>,
    head_bytes: usize,
    /// Set once the head is full: later events go to the tail ring.
    head_full: bool,
    tail: VecDeque<TraceLine>,
    tail_bytes: usize,
    dropped_events: u64,
    /// Body reads kept from the start, each with its time: the bytes are
    /// shared with the network buffer (no copy), and the events in them are
    /// decoded once, when the trace is finished; an event arrived with the
    /// read that completed it. Recording a read is O(1), whatever it holds.
    reads_head: Vec<(f64, bytes::Bytes)>,
    reads_head_bytes: usize,
    reads_head_full: bool,
    /// The last reads.
    reads_tail: VecDeque<(f64, bytes::Bytes)>,
    reads_tail_bytes: usize,
    dropped_bytes: u64,
}

impl TraceRecorder {
    /// A recorder whose trace stays within about `cap` bytes, timed from now.
    pub fn new(cap: usize) -> Self {
        Self::starting_at(cap, Instant::now())
    }

    /// A recorder timed from `started`.
    pub fn starting_at(cap: usize, started: Instant) -> Self {
        let cap = cap.clamp(MIN_TRACE_CAP, MAX_TRACE_CAP);
        Self {
            started,
            // Half the cap for lines, half for raw bytes; each half split
            // between the first and the last.
            half: cap / 4,
            head: Vec::new(),
            head_bytes: 0,
            head_full: false,
            tail: VecDeque::new(),
            tail_bytes: 0,
            dropped_events: 0,
            reads_head: Vec::new(),
            reads_head_bytes: 0,
            reads_head_full: false,
            reads_tail: VecDeque::new(),
            reads_tail_bytes: 0,
            dropped_bytes: 0,
        }
    }

    /// Ms since the request started.
    pub fn now_ms(&self) -> f64 {
        super::ms(self.started.elapsed())
    }

    /// Adds a line. Requests, responses, retries and the end are always
    /// kept; events beyond the budget drop from the middle.
    pub fn push(&mut self, line: TraceLine) {
        let cost = line.cost();
        if !line.is_event() || (!self.head_full && self.head_bytes + cost <= self.half) {
            self.head_bytes += cost;
            self.head.push(line);
            return;
        }
        self.head_full = true;
        self.tail_bytes += cost;
        self.tail.push_back(line);
        while self.tail_bytes > self.half && self.tail.len() > 1 {
            if let Some(old) = self.tail.pop_front() {
                self.tail_bytes -= old.cost();
                self.dropped_events += 1;
            }
        }
    }

    /// The response's status line and headers (and an error's body), now.
    pub fn response(&mut self, status: u16, headers: Vec<(String, String)>, body: Option<String>) {
        let t_ms = self.now_ms();
        self.push(TraceLine::Response {
            t_ms,
            status,
            headers,
            body,
        });
    }

    /// An event as the decoder dispatched it, timed now.
    pub fn event(&mut self, name: Option<&str>, data: &str) {
        let t_ms = self.now_ms();
        self.event_at(t_ms, name, data);
    }

    /// An event that arrived at `t_ms` (the time of the network read that
    /// brought its end: one clock reading per read, not per event). Past
    /// the head, the oldest tail event's buffer is reused for it: no
    /// allocation per event.
    pub fn event_at(&mut self, t_ms: f64, name: Option<&str>, data: &str) {
        if !self.head_full {
            self.push(TraceLine::Event {
                t_ms,
                event: name.map(str::to_owned),
                data: data.to_owned(),
            });
            return;
        }
        self.tail_bytes += LINE_OVERHEAD + data.len() + name.map_or(0, str::len);
        let mut recycled = None;
        while self.tail_bytes > self.half {
            let Some(old) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= old.cost();
            self.dropped_events += 1;
            if let TraceLine::Event { data, .. } = old {
                recycled = Some(data);
            }
        }
        let mut buf = recycled.unwrap_or_default();
        buf.clear();
        buf.push_str(data);
        self.tail.push_back(TraceLine::Event {
            t_ms,
            event: name.map(str::to_owned),
            data: buf,
        });
    }

    /// Bytes of the response body as received, now (copied).
    pub fn bytes(&mut self, b: &[u8]) {
        let t_ms = self.now_ms();
        self.read(t_ms, bytes::Bytes::copy_from_slice(b));
    }

    /// One read of the response body, received at `t_ms`. Past the budget,
    /// whole reads drop from the middle.
    pub fn read(&mut self, t_ms: f64, b: bytes::Bytes) {
        let len = b.len();
        if !self.reads_head_full && self.reads_head_bytes + len <= self.half {
            self.reads_head_bytes += len;
            self.reads_head.push((t_ms, b));
            return;
        }
        self.reads_head_full = true;
        self.reads_tail_bytes += len;
        self.reads_tail.push_back((t_ms, b));
        while self.reads_tail_bytes > self.half && self.reads_tail.len() > 1 {
            if let Some((_, old)) = self.reads_tail.pop_front() {
                self.reads_tail_bytes -= old.len();
                self.dropped_bytes += old.len() as u64;
            }
        }
    }

    /// The SSE events and comments in the kept reads, each timed by the
    /// read that completed it. After a gap, decoding starts again at the
    /// first event boundary of the tail.
    fn decoded(&self) -> Vec<TraceLine> {
        let mut out = Vec::new();
        let mut decoder = SseDecoder::new();
        decoder.keep_comments();
        let feed = |decoder: &mut SseDecoder, t_ms: f64, b: &[u8], out: &mut Vec<TraceLine>| {
            let _: std::ops::ControlFlow<()> = decoder.feed_with(b, &mut |ev| {
                let event = match &ev.event {
                    std::borrow::Cow::Borrowed(_) => None,
                    std::borrow::Cow::Owned(n) => Some(n.clone()),
                };
                out.push(TraceLine::Event {
                    t_ms,
                    event,
                    data: ev.data.clone(),
                });
                std::ops::ControlFlow::Continue(())
            });
            for text in decoder.take_comments() {
                out.push(TraceLine::Comment { t_ms, text });
            }
        };
        for (t_ms, b) in &self.reads_head {
            feed(&mut decoder, *t_ms, b, &mut out);
        }
        let gap = self.dropped_bytes > 0;
        if gap {
            decoder = SseDecoder::new();
            decoder.keep_comments();
        }
        let mut skipping = gap;
        for (t_ms, b) in &self.reads_tail {
            let mut b: &[u8] = b;
            if skipping {
                match event_boundary(b) {
                    Some(end) => {
                        b = &b[end..];
                        skipping = false;
                    }
                    None => continue,
                }
            }
            feed(&mut decoder, *t_ms, b, &mut out);
        }
        out
    }

    /// Ends the trace with the terminal state. `sse_events`: how many SSE
    /// events the stream dispatched, to count those in dropped reads.
    pub fn finish(
        mut self,
        status: &str,
        error: Option<ErrorInfo>,
        sse_events: Option<u64>,
    ) -> Trace {
        let t_ms = self.now_ms();
        let decoded = self.decoded();
        let decoded_events = decoded
            .iter()
            .filter(|l| matches!(l, TraceLine::Event { .. }))
            .count() as u64;
        let dropped_events =
            self.dropped_events + sse_events.map_or(0, |n| n.saturating_sub(decoded_events));
        let mut lines = std::mem::take(&mut self.head);
        lines.extend(self.tail.drain(..));
        lines.extend(decoded);
        lines.push(TraceLine::End {
            t_ms,
            status: status.to_owned(),
            error,
            dropped_events,
            dropped_bytes: self.dropped_bytes,
        });
        let mut raw = Vec::with_capacity(self.reads_head_bytes + self.reads_tail_bytes);
        for (_, b) in self.reads_head.iter().chain(self.reads_tail.iter()) {
            raw.extend_from_slice(b);
        }
        Trace { lines, raw }
    }
}

/// Where the first SSE event boundary (a blank line) in `b` ends.
fn event_boundary(b: &[u8]) -> Option<usize> {
    [&b"\n\n"[..], &b"\r\n\r\n"[..], &b"\r\r"[..]]
        .iter()
        .filter_map(|pat| {
            b.windows(pat.len())
                .position(|w| w == *pat)
                .map(|i| i + pat.len())
        })
        .min()
}

/// `s` in single quotes for a POSIX shell (a `'` inside as `'\''`).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `headers` as a trace shows them: values of secret headers, and any value
/// holding one of `secrets`, as `<redacted>`.
pub fn redacted_headers(
    headers: &reqwest::header::HeaderMap,
    secrets: &[&str],
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_owned();
            let text = String::from_utf8_lossy(v.as_bytes()).into_owned();
            let secret = v.is_sensitive()
                || crate::types::key::is_secret_header(&name)
                || name.eq_ignore_ascii_case("cookie")
                || name.eq_ignore_ascii_case("set-cookie")
                || secrets.iter().any(|s| !s.is_empty() && text.contains(s));
            (name, if secret { REDACTED.to_owned() } else { text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> String {
        data.to_owned()
    }

    fn data_of(l: &TraceLine) -> Option<&str> {
        match l {
            TraceLine::Event { data, .. } => Some(data),
            _ => None,
        }
    }

    #[test]
    fn over_the_cap_the_first_and_last_events_are_kept_and_the_rest_counted() {
        let mut r = TraceRecorder::new(MIN_TRACE_CAP);
        r.push(TraceLine::Request {
            t_ms: 0.0,
            method: "POST".into(),
            url: "u".into(),
            headers: vec![],
            body: "{}".into(),
        });
        let n = 10_000;
        for i in 0..n {
            r.bytes(format!("data: event {i}\n\n").as_bytes());
        }
        let t = r.finish("done", None, Some(n));
        assert!(matches!(t.lines[0], TraceLine::Request { .. }));
        assert_eq!(data_of(&t.lines[1]), Some(ev("event 0").as_str()));
        assert_eq!(
            data_of(&t.lines[t.lines.len() - 2]),
            Some(format!("event {}", n - 1).as_str())
        );
        // Decoding starts again at an event boundary after the gap: every
        // kept event is whole.
        assert!(t
            .lines
            .iter()
            .filter_map(data_of)
            .all(|d| d.starts_with("event ")));
        let TraceLine::End {
            dropped_events,
            dropped_bytes,
            ..
        } = t.lines.last().unwrap().clone()
        else {
            panic!("ends with the end line")
        };
        let kept = t.lines.iter().filter(|l| l.is_event()).count() as u64;
        assert_eq!(kept + dropped_events, n);
        assert!(dropped_events > 0);
        let json = serde_json::to_string(&t).unwrap();
        // Bounded by the cap (events decoded from the kept bytes add their
        // JSON framing).
        assert!(json.len() < MIN_TRACE_CAP * 4, "{}", json.len());
        assert!(t.raw.starts_with(b"data: event 0\n\n"));
        assert!(t
            .raw
            .ends_with(format!("data: event {}\n\n", n - 1).as_bytes()));
        assert!(dropped_bytes > 0);
    }

    #[test]
    fn under_the_cap_everything_is_kept_and_round_trips() {
        let mut r = TraceRecorder::new(DEFAULT_TRACE_CAP);
        r.event(Some("message_start"), "{\"a\":1}");
        r.event(None, "line 1\nline 2");
        r.bytes(b"\xff\xfe not UTF-8");
        let t = r.finish("error", None, None);
        assert_eq!(t.lines.len(), 3);
        let back: Trace = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let jsonl = t.to_jsonl();
        let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(first["kind"], "event");
        assert_eq!(first["event"], "message_start");
        let second: serde_json::Value =
            serde_json::from_str(jsonl.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["event"], serde_json::Value::Null);
        assert_eq!(second["data"], "line 1\nline 2");
    }

    #[test]
    fn copy_as_curl_leaves_the_key_to_the_shell_and_quotes_the_body() {
        let t = Trace {
            lines: vec![TraceLine::Request {
                t_ms: 0.0,
                method: "POST".into(),
                url: "http://127.0.0.1:8080/v1/chat/completions".into(),
                headers: vec![
                    ("authorization".into(), REDACTED.into()),
                    ("content-type".into(), "application/json".into()),
                    ("content-length".into(), "42".into()),
                ],
                body: r#"{"messages":[{"role":"user","content":"it's"}]}"#.into(),
            }],
            raw: Vec::new(),
        };
        let c = t.curl().expect("a request");
        assert!(
            c.starts_with("curl -N -X POST 'http://127.0.0.1:8080/v1/chat/completions'"),
            "{c}"
        );
        assert!(
            c.contains("-H \"authorization: Bearer $OPENAI_API_KEY\""),
            "{c}"
        );
        assert!(c.contains("-H 'content-type: application/json'"), "{c}");
        assert!(!c.contains("content-length"));
        assert!(
            c.ends_with(r#"--data-raw '{"messages":[{"role":"user","content":"it'\''s"}]}'"#),
            "{c}"
        );
        let anthropic = Trace {
            lines: vec![TraceLine::Request {
                t_ms: 0.0,
                method: "POST".into(),
                url: "u".into(),
                headers: vec![("x-api-key".into(), REDACTED.into())],
                body: "{}".into(),
            }],
            raw: Vec::new(),
        };
        assert!(anthropic
            .curl()
            .unwrap()
            .contains("\"x-api-key: $ANTHROPIC_API_KEY\""));
        assert_eq!(Trace::default().curl(), None);
    }

    #[test]
    fn secret_headers_and_values_holding_the_key_are_redacted() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("authorization", "Bearer sk-canary".parse().unwrap());
        h.insert("x-custom", "has sk-canary inside".parse().unwrap());
        h.insert("accept", "text/event-stream".parse().unwrap());
        let out = redacted_headers(&h, &["sk-canary"]);
        assert!(!format!("{out:?}").contains("sk-canary"));
        assert!(out.contains(&("accept".into(), "text/event-stream".into())));
    }
}
