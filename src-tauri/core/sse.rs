//! Incremental Server-Sent Events decoder, following the WHATWG HTML spec
//! ("9.2.6 Interpreting an event stream").
//!
//! The decoder is fed raw bytes in pieces of any size. Lines end with LF, CR or
//! CRLF (a CR at the end of one piece and an LF at the start of the next are one
//! line ending). Because line endings are ASCII bytes, which never occur inside a
//! multi-byte UTF-8 sequence, lines are cut on bytes and decoded only once they
//! are complete: a character split across network reads is reassembled for free,
//! and U+2028 inside a JSON string is never taken for a line break.
//!
//! Cost per fed byte is constant: the pending line buffer only ever holds the
//! current, unfinished line.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, or `"message"` when none was given (no allocation then).
    pub event: std::borrow::Cow<'static, str>,
    /// All `data:` lines of the event joined with `"\n"`.
    pub data: String,
    /// The last event id seen so far in the stream (sticky across events, per spec).
    pub id: Option<String>,
    /// The `retry:` field of this event, when it held only ASCII digits.
    pub retry: Option<u64>,
}

/// Incremental SSE decoder. Feed bytes with [`SseDecoder::feed`]; call
/// [`SseDecoder::finish`] at end of stream (an event not closed by a blank line
/// is discarded, as the spec requires).
#[derive(Debug, Default)]
pub struct SseDecoder {
    line: Vec<u8>,
    /// The previous piece ended with CR: an LF at the start of the next piece
    /// belongs to the same line ending.
    skip_lf: bool,
    /// Start of stream: a leading UTF-8 BOM is dropped.
    started: bool,
    event_type: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry: Option<u64>,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a piece of the byte stream and appends every event it completes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        if self.started {
            self.feed_started(bytes, out);
            return;
        }
        // Start of stream: hold bytes until we can tell whether a BOM is present.
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        self.line.extend_from_slice(bytes);
        let n = self.line.len().min(3);
        if self.line.len() < 3 && self.line[..n] == BOM[..n] {
            return;
        }
        self.started = true;
        let mut head = std::mem::take(&mut self.line);
        if head.starts_with(BOM) {
            head.drain(..3);
        }
        self.feed_started(&head, out);
    }

    fn feed_started(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) {
        if self.skip_lf && !bytes.is_empty() {
            // Only the very next byte can complete a CRLF split across reads.
            self.skip_lf = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let is_cr = bytes[pos] == b'\r';
            if self.line.is_empty() {
                self.process_line(&bytes[..pos], out);
            } else {
                self.line.extend_from_slice(&bytes[..pos]);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, out);
                self.line = line;
                self.line.clear();
            }
            bytes = &bytes[pos + 1..];
            if is_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
    }

    /// Ends the stream. Any event still being built (no closing blank line) is
    /// discarded, per spec.
    pub fn finish(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.has_data = false;
        self.retry = None;
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let mut value = &line[colon + 1..];
                if let Some((&b' ', rest)) = value.split_first() {
                    value = rest;
                }
                (&line[..colon], value)
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&String::from_utf8_lossy(value));
            }
            // An id containing NUL is ignored, per spec.
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            }
            _ => {} // unknown fields are ignored
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let retry = self.retry.take();
        if !self.has_data {
            // Per spec: no data, no event (the type buffer is reset too).
            self.event_type.clear();
            return;
        }
        let event = if self.event_type.is_empty() {
            std::borrow::Cow::Borrowed("message")
        } else {
            std::borrow::Cow::Owned(std::mem::take(&mut self.event_type))
        };
        self.event_type.clear();
        self.has_data = false;
        out.push(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry,
        });
    }
}

/// The JSON in an event's data. An `event: error` whose data is not JSON
/// becomes a stream error with that text; other non-JSON data is a malformed
/// event. `what` names the event in the message ("chunk", "event").
pub fn event_json(
    ev: &SseEvent,
    what: &str,
) -> Result<serde_json::Value, crate::core::error::EngineError> {
    let data = ev.data.trim();
    serde_json::from_str(data).map_err(|e| {
        let message = if ev.event == "error" {
            crate::core::error::shorten(data, 500)
        } else {
            format!(
                "malformed {what} from the provider ({e}): {}",
                crate::core::error::shorten(data, 200)
            )
        };
        crate::core::error::EngineError::Stream {
            message,
            error_type: None,
        }
    })
}

/// Decodes a stream given in pieces (the way a network delivers it).
pub fn decode_pieces(pieces: &[&[u8]]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut out = Vec::new();
    for p in pieces {
        decoder.feed(p, &mut out);
    }
    decoder.finish();
    out
}

/// Decodes a whole byte slice at once (for tests and small bodies).
pub fn decode_all(bytes: &[u8]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut out = Vec::new();
    decoder.feed(bytes, &mut out);
    decoder.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn datas(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    // The examples from the WHATWG spec, section 9.2.6/9.2.7.
    #[test]
    fn spec_example_stock_ticker() {
        let ev = decode_all(b"data: YHOO\ndata: +2\ndata: 10\n\n");
        assert_eq!(datas(&ev), vec!["YHOO\n+2\n10"]);
        assert_eq!(ev[0].event, "message");
    }

    #[test]
    fn spec_example_comment_and_ids() {
        let ev = decode_all(
            b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
        );
        assert_eq!(
            datas(&ev),
            vec!["first event", "second event", " third event"]
        );
        assert_eq!(ev[0].id.as_deref(), Some("1"));
        // `id` with no value resets the last event id to the empty string.
        assert_eq!(ev[1].id.as_deref(), Some(""));
        assert_eq!(ev[2].id.as_deref(), Some(""));
    }

    #[test]
    fn spec_example_empty_data_and_unterminated() {
        // Two events: "" and "\n"; the final "data:" is not closed by a blank line.
        let ev = decode_all(b"data\n\ndata\ndata\n\ndata:");
        assert_eq!(datas(&ev), vec!["", "\n"]);
    }

    #[test]
    fn spec_example_space_after_colon_is_optional() {
        let ev = decode_all(b"data:test\n\ndata: test\n\n");
        assert_eq!(datas(&ev), vec!["test", "test"]);
    }

    #[test]
    fn event_field_and_reset() {
        let ev =
            decode_all(b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\ndata: x\n\n");
        assert_eq!(ev[0].event, "add");
        assert_eq!(ev[1].event, "remove");
        assert_eq!(ev[2].event, "message");
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        let ev = decode_all(b"event: keepalive\n\ndata: a\n\n");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].event, "message");
    }

    #[test]
    fn cr_lf_and_crlf_line_endings() {
        for body in [
            &b"data: a\n\ndata: b\n\n"[..],
            &b"data: a\r\rdata: b\r\r"[..],
            &b"data: a\r\n\r\ndata: b\r\n\r\n"[..],
            &b"data: a\r\n\ndata: b\n\r\n"[..],
        ] {
            assert_eq!(datas(&decode_all(body)), vec!["a", "b"], "{body:?}");
        }
    }

    #[test]
    fn crlf_split_across_pieces_is_one_line_ending() {
        let ev = decode_pieces(&[b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(datas(&ev), vec!["a", "b"]);
    }

    #[test]
    fn regression_cr_then_lone_lf_read_does_not_swallow_the_next_blank_line() {
        // Reads "\r" | "\n" | "\n...": the second read completes the CRLF, the
        // third read's LF is a blank line that dispatches the event.
        let ev = decode_pieces(&[b"data: a\r", b"\n", b"\ndata: b\n\n"]);
        assert_eq!(datas(&ev), vec!["a", "b"]);
    }

    #[test]
    fn retry_and_unknown_fields() {
        let ev = decode_all(b"retry: 3000\nfoo: bar\ndata: x\n\nretry: 3x\ndata: y\n\n");
        assert_eq!(ev[0].retry, Some(3000));
        assert_eq!(ev[1].retry, None);
    }

    #[test]
    fn leading_bom_is_dropped_even_when_split() {
        let ev = decode_pieces(&[b"\xEF", b"\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(datas(&ev), vec!["a"]);
        let ev = decode_pieces(&[b"\xEF\xBB\xBFdata: b\n\n"]);
        assert_eq!(datas(&ev), vec!["b"]);
    }

    #[test]
    fn utf8_split_mid_character() {
        let body = "data: 你好 👋 °C á\n\n".as_bytes();
        for cut in 0..body.len() {
            let ev = decode_pieces(&[&body[..cut], &body[cut..]]);
            assert_eq!(datas(&ev), vec!["你好 👋 °C á"], "cut at {cut}");
        }
        let one_by_one: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(datas(&decode_pieces(&one_by_one)), vec!["你好 👋 °C á"]);
    }

    #[test]
    fn u2028_is_not_a_line_break() {
        let ev = decode_all("data: a\u{2028}b\n\n".as_bytes());
        assert_eq!(datas(&ev), vec!["a\u{2028}b"]);
    }

    proptest! {
        #[test]
        fn split_anywhere_gives_same_events(
            lines in proptest::collection::vec(
                prop_oneof![
                    "[a-z]{0,6}".prop_map(|s| format!("data: {s}")),
                    "[a-z]{0,4}".prop_map(|s| format!("event: {s}")),
                    "[0-9]{0,3}".prop_map(|s| format!("id: {s}")),
                    Just(": comment".to_owned()),
                    Just(String::new()),
                    Just("data: 👋°你".to_owned()),
                ],
                0..20,
            ),
            endings in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r"), Just("\r\n")], 20),
            cuts in proptest::collection::vec(0usize..400, 0..8),
        ) {
            // Each line picks its own line ending, so CR LF LF and friends occur.
            let body: String = lines.iter().zip(endings.iter().cycle()).map(|(l, e)| format!("{l}{e}")).collect();
            let bytes = body.as_bytes();
            let whole = decode_all(bytes);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut prev = 0;
            for c in cuts {
                pieces.push(&bytes[prev..c]);
                prev = c;
            }
            pieces.push(&bytes[prev..]);
            prop_assert_eq!(decode_pieces(&pieces), whole);
        }
    }
}
