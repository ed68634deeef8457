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
//! current, unfinished line, line ends are found with `memchr`, and the
//! buffers of one event are reused for the next.

use std::ops::ControlFlow;

/// The longest line, and the most data one event may carry: 16 MiB. A server
/// that sends more (an endless line or event) ends the stream with
/// [`SseDecoder::overflow`] instead of growing memory without bound.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// Why the decoder stopped taking bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SseOverflow {
    /// One line (a field or a comment) passed the limit.
    #[error("the provider sent a line of more than {} MiB without a line break", .0 / (1024 * 1024))]
    Line(usize),
    /// One event's data passed the limit.
    #[error("the provider sent an event of more than {} MiB", .0 / (1024 * 1024))]
    Event(usize),
}

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

/// Incremental SSE decoder. Feed bytes with [`SseDecoder::feed`] (events
/// collected into a `Vec`) or [`SseDecoder::feed_with`] (each event lent to a
/// callback, with no allocation per event); call [`SseDecoder::finish`] at end
/// of stream (an event not closed by a blank line is discarded, as the spec
/// requires).
#[derive(Debug)]
pub struct SseDecoder {
    line: Vec<u8>,
    /// The previous piece ended with CR: an LF at the start of the next piece
    /// belongs to the same line ending.
    skip_lf: bool,
    /// Start of stream: a leading UTF-8 BOM is dropped.
    started: bool,
    /// The `event:` field of the event being built (empty: none yet).
    event_type: String,
    has_data: bool,
    /// The event being built. Its `data` buffer and the sticky `id` live here
    /// and are reused from one event to the next.
    current: SseEvent,
    /// Most bytes in one line or one event's data.
    limit: usize,
    /// Set when a limit was passed: the decoder then ignores all input.
    overflow: Option<SseOverflow>,
    /// Comment lines seen since the last [`SseDecoder::take_comments`], when
    /// asked to keep them (a trace shows them).
    comments: Option<Vec<String>>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self {
            line: Vec::new(),
            skip_lf: false,
            started: false,
            event_type: String::new(),
            has_data: false,
            current: SseEvent {
                event: std::borrow::Cow::Borrowed("message"),
                data: String::new(),
                id: None,
                retry: None,
            },
            limit: MAX_EVENT_BYTES,
            overflow: None,
            comments: None,
        }
    }
}

/// Appends bytes as text: valid UTF-8 is copied as is, anything else with
/// U+FFFD replacements (checking first is much faster than going lossy).
fn push_text(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder whose line and event limit is `limit` bytes instead of
    /// [`MAX_EVENT_BYTES`].
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Keeps comment lines (their text after the colon) for
    /// [`SseDecoder::take_comments`], at most one line's limit each.
    pub fn keep_comments(&mut self) {
        self.comments.get_or_insert_with(Vec::new);
    }

    /// The comment lines kept since the last call.
    pub fn take_comments(&mut self) -> Vec<String> {
        self.comments
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The limit the stream passed, if it did: no event is dispatched after
    /// it, and the caller should end the stream with this error.
    pub fn overflow(&self) -> Option<SseOverflow> {
        self.overflow
    }

    /// Stops taking input after `why`, dropping the buffers.
    fn overflowed(&mut self, why: SseOverflow) {
        self.overflow = Some(why);
        self.line = Vec::new();
        self.current.data = String::new();
        self.has_data = false;
    }

    /// Feeds a piece of the byte stream and appends every event it completes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        let _: ControlFlow<()> = self.feed_with(bytes, &mut |ev| {
            out.push(ev.clone());
            ControlFlow::Continue(())
        });
    }

    /// Feeds a piece of the byte stream and lends every event it completes to
    /// `on_event`, in order. The event borrows the decoder's buffers, so there
    /// is no allocation per event. When `on_event` breaks, the rest of the piece
    /// is dropped and the break is returned: the stream is over for the caller.
    pub fn feed_with<B>(
        &mut self,
        bytes: &[u8],
        on_event: &mut impl FnMut(&SseEvent) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.overflow.is_some() {
            return ControlFlow::Continue(());
        }
        if self.started {
            return self.feed_started(bytes, on_event);
        }
        // Start of stream: hold bytes until we can tell whether a BOM is present.
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        self.line.extend_from_slice(bytes);
        let n = self.line.len().min(3);
        if self.line.len() < 3 && self.line[..n] == BOM[..n] {
            return ControlFlow::Continue(());
        }
        self.started = true;
        let mut head = std::mem::take(&mut self.line);
        if head.starts_with(BOM) {
            head.drain(..3);
        }
        self.feed_started(&head, on_event)
    }

    fn feed_started<B>(
        &mut self,
        mut bytes: &[u8],
        on_event: &mut impl FnMut(&SseEvent) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.skip_lf && !bytes.is_empty() {
            // Only the very next byte can complete a CRLF split across reads.
            self.skip_lf = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', bytes) {
            if self.overflow.is_some() {
                return ControlFlow::Continue(());
            }
            if self.line.len() + pos > self.limit {
                self.overflowed(SseOverflow::Line(self.limit));
                return ControlFlow::Continue(());
            }
            let is_cr = bytes[pos] == b'\r';
            if self.line.is_empty() {
                self.process_line(&bytes[..pos], on_event)?;
            } else {
                self.line.extend_from_slice(&bytes[..pos]);
                let line = std::mem::take(&mut self.line);
                let flow = self.process_line(&line, on_event);
                self.line = line;
                self.line.clear();
                flow?;
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
        if self.overflow.is_some() {
            return ControlFlow::Continue(());
        }
        if self.line.len() + bytes.len() > self.limit {
            self.overflowed(SseOverflow::Line(self.limit));
            return ControlFlow::Continue(());
        }
        self.line.extend_from_slice(bytes);
        ControlFlow::Continue(())
    }

    /// Ends the stream. Any event still being built (no closing blank line) is
    /// discarded, per spec.
    pub fn finish(&mut self) {
        self.line.clear();
        self.current.data.clear();
        self.event_type.clear();
        self.has_data = false;
        self.current.retry = None;
    }

    fn process_line<B>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(&SseEvent) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            if let Some(c) = &mut self.comments {
                let mut text = String::new();
                push_text(
                    &mut text,
                    line[1..].strip_prefix(b" ").unwrap_or(&line[1..]),
                );
                c.push(text);
            }
            return ControlFlow::Continue(()); // comment
        }
        let (field, value) = match memchr::memchr(b':', line) {
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
                if self.current.data.len() + value.len() + 1 > self.limit {
                    self.overflowed(SseOverflow::Event(self.limit));
                    return ControlFlow::Continue(());
                }
                if self.has_data {
                    self.current.data.push('\n');
                }
                push_text(&mut self.current.data, value);
                self.has_data = true;
                // Invalid UTF-8 grows as it is replaced (1 byte -> 3).
                if self.current.data.len() > self.limit {
                    self.overflowed(SseOverflow::Event(self.limit));
                    return ControlFlow::Continue(());
                }
            }
            b"event" => {
                self.event_type.clear();
                push_text(&mut self.event_type, value);
            }
            // An id containing NUL is ignored, per spec.
            b"id" if !value.contains(&0) => {
                let id = self.current.id.get_or_insert_with(String::new);
                id.clear();
                push_text(id, value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.current.retry = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            }
            _ => {} // unknown fields are ignored
        }
        ControlFlow::Continue(())
    }

    fn dispatch<B>(
        &mut self,
        on_event: &mut impl FnMut(&SseEvent) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if !self.has_data {
            // Per spec: no data, no event (the type buffer is reset too).
            self.event_type.clear();
            self.current.retry = None;
            return ControlFlow::Continue(());
        }
        if !self.event_type.is_empty() {
            self.current.event = std::borrow::Cow::Owned(std::mem::take(&mut self.event_type));
        }
        let flow = on_event(&self.current);
        // Reset for the next event, keeping the buffers' capacity.
        if let std::borrow::Cow::Owned(mut name) = std::mem::replace(
            &mut self.current.event,
            std::borrow::Cow::Borrowed("message"),
        ) {
            name.clear();
            self.event_type = name;
        }
        self.current.data.clear();
        self.current.retry = None;
        self.has_data = false;
        flow
    }
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
    fn feed_with_lends_each_event_and_stops_at_a_break() {
        let mut d = SseDecoder::new();
        let mut seen = Vec::new();
        let flow = d.feed_with(
            b"event: a\nid: 7\ndata: 1\n\ndata: 2\n\ndata: 3\n\n",
            &mut |ev| {
                seen.push((ev.event.to_string(), ev.data.clone(), ev.id.clone()));
                if ev.data == "2" {
                    ControlFlow::Break("stop")
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(flow, ControlFlow::Break("stop"));
        assert_eq!(
            seen,
            vec![
                ("a".to_owned(), "1".to_owned(), Some("7".to_owned())),
                // The type resets, the id is sticky, the data buffer is reused.
                ("message".to_owned(), "2".to_owned(), Some("7".to_owned())),
            ]
        );
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
