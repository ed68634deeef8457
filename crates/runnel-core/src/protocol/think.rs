//! Inline reasoning: models such as Qwen3 and the DeepSeek-R1 distills write
//! their thinking into the answer text as `<think>…</think>` before the
//! answer (in process, and through Ollama and other OpenAI-compatible
//! servers that pass it on). [`ThinkSplitter`] moves that text into the
//! reasoning section, whatever way the stream is cut.
//!
//! Only a `<think>` at the very start of the answer (after whitespace) opens
//! reasoning, so an answer that talks about the tag is left alone. A chat
//! template can write the opening tag itself (DeepSeek-R1 distills, Qwen3
//! thinking): the model then starts inside the block and only closes it;
//! [`ThinkSplitter::open`] says so before the first piece. Work per piece is
//! constant: at most a partial tag (7 bytes) is held back.

use crate::types::answer::Delta;

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";
/// Whitespace before the opening tag held back at most; past it the answer
/// has started and has no inline reasoning.
const MAX_LEADING_WHITESPACE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Nothing but whitespace (and maybe part of `<think>`) seen yet.
    #[default]
    Start,
    /// Inside `<think>`: text is reasoning.
    Thinking,
    /// Just after `</think>`: whitespace is dropped until the answer starts.
    AfterThinking,
    /// The answer: text passes through.
    Answer,
}

/// Splits one answer's text deltas into reasoning and text. One per answer.
#[derive(Debug, Default)]
pub struct ThinkSplitter {
    state: State,
    /// Text held back: leading whitespace and a partial tag.
    held: String,
}

impl ThinkSplitter {
    /// A splitter at the start of an answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prompt already opened a `<think>` block (the chat template wrote
    /// it): the answer starts as reasoning, up to its `</think>`. Only
    /// before the first piece.
    pub fn open(&mut self) {
        if self.state == State::Start && self.held.is_empty() {
            self.state = State::Thinking;
        }
    }

    /// True once the answer text passes through untouched (the fast path).
    pub fn passing(&self) -> bool {
        self.state == State::Answer
    }

    /// Feeds one piece of answer text; pushes the reasoning and text it holds.
    pub fn push(&mut self, piece: &str, out: &mut Vec<Delta>) {
        if self.state == State::Answer {
            push_text(out, piece);
            return;
        }
        let mut rest: &str = piece;
        let joined;
        if !self.held.is_empty() {
            self.held.push_str(piece);
            joined = std::mem::take(&mut self.held);
            rest = &joined;
        }
        loop {
            match self.state {
                State::Start => {
                    let trimmed = rest.trim_start();
                    if let Some(after) = trimmed.strip_prefix(OPEN) {
                        self.state = State::Thinking;
                        rest = after;
                        continue;
                    }
                    if OPEN.starts_with(trimmed)
                        && rest.len() - trimmed.len() <= MAX_LEADING_WHITESPACE
                    {
                        // Only whitespace, maybe a partial tag: wait for more.
                        self.held.push_str(rest);
                        return;
                    }
                    self.state = State::Answer;
                    push_text(out, rest);
                    return;
                }
                State::Thinking => {
                    if let Some(at) = rest.find(CLOSE) {
                        push_reasoning(out, &rest[..at]);
                        self.state = State::AfterThinking;
                        rest = &rest[at + CLOSE.len()..];
                        continue;
                    }
                    let keep = partial_suffix(rest, CLOSE);
                    push_reasoning(out, &rest[..rest.len() - keep]);
                    self.held.push_str(&rest[rest.len() - keep..]);
                    return;
                }
                State::AfterThinking => {
                    let trimmed = rest.trim_start();
                    if trimmed.is_empty() {
                        return;
                    }
                    self.state = State::Answer;
                    push_text(out, trimmed);
                    return;
                }
                State::Answer => {
                    push_text(out, rest);
                    return;
                }
            }
        }
    }

    /// The answer ended: whatever was held back is pushed as it stands
    /// (reasoning inside an unclosed `<think>`, else text).
    pub fn finish(&mut self, out: &mut Vec<Delta>) {
        let held = std::mem::take(&mut self.held);
        match self.state {
            State::Thinking => push_reasoning(out, &held),
            State::Start => push_text(out, &held),
            State::AfterThinking | State::Answer => {}
        }
    }
}

/// The length of the longest end of `s` that begins `tag` (a tag cut by the
/// stream), 0 when none.
fn partial_suffix(s: &str, tag: &str) -> usize {
    (1..tag.len().min(s.len() + 1))
        .rev()
        .find(|&n| s.is_char_boundary(s.len() - n) && tag.starts_with(&s[s.len() - n..]))
        .unwrap_or(0)
}

fn push_text(out: &mut Vec<Delta>, s: &str) {
    if !s.is_empty() {
        out.push(Delta::Text(s.to_owned()));
    }
}

fn push_reasoning(out: &mut Vec<Delta>, s: &str) {
    if !s.is_empty() {
        out.push(Delta::Reasoning(s.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `pieces` and joins what comes out as (reasoning, text).
    fn split(pieces: &[&str]) -> (String, String) {
        split_with(ThinkSplitter::new(), pieces)
    }

    /// As [`split`], the prompt having opened the block.
    fn split_opened(pieces: &[&str]) -> (String, String) {
        let mut s = ThinkSplitter::new();
        s.open();
        split_with(s, pieces)
    }

    fn split_with(mut s: ThinkSplitter, pieces: &[&str]) -> (String, String) {
        let mut out = Vec::new();
        for p in pieces {
            s.push(p, &mut out);
        }
        s.finish(&mut out);
        let (mut reasoning, mut text) = (String::new(), String::new());
        for d in out {
            match d {
                Delta::Reasoning(r) => reasoning.push_str(&r),
                Delta::Text(t) => text.push_str(&t),
                other => panic!("unexpected {other:?}"),
            }
        }
        (reasoning, text)
    }

    #[test]
    fn a_leading_think_block_becomes_reasoning() {
        let (r, t) = split(&["<think>\nLet me see.\n</think>\n\nThe answer is 4."]);
        assert_eq!(r, "\nLet me see.\n");
        assert_eq!(t, "The answer is 4.");
    }

    #[test]
    fn text_without_a_think_block_passes_untouched() {
        assert_eq!(
            split(&["  Hello", " world"]),
            (String::new(), "  Hello world".into())
        );
        assert_eq!(
            split(&["<thin", "king>"]),
            (String::new(), "<thinking>".into())
        );
        assert_eq!(
            split(&["Use <think> tags"]),
            (String::new(), "Use <think> tags".into())
        );
    }

    #[test]
    fn an_unclosed_think_block_stays_reasoning() {
        assert_eq!(
            split(&["<think>still thinking</thi"]),
            ("still thinking</thi".into(), String::new())
        );
    }

    #[test]
    fn a_stream_of_only_whitespace_or_a_partial_tag_is_kept_as_text() {
        assert_eq!(split(&["  ", "<th"]), (String::new(), "  <th".into()));
    }

    #[test]
    fn per_piece_work_holds_back_at_most_a_tag() {
        let mut s = ThinkSplitter::new();
        let mut out = Vec::new();
        s.push("<think>", &mut out);
        for _ in 0..1000 {
            s.push("token ", &mut out);
            assert!(s.held.len() < CLOSE.len());
        }
    }

    const SAMPLE: &str =
        "\n<think>\nOkay, 2+2 — é ✓ 🦀 </ think> still\n</think>\n\n**4** (<think> here is text)";

    #[test]
    fn every_split_in_two_gives_the_same_result() {
        let whole = split(&[SAMPLE]);
        assert_eq!(whole.0, "\nOkay, 2+2 — é ✓ 🦀 </ think> still\n");
        assert_eq!(whole.1, "**4** (<think> here is text)");
        for (i, _) in SAMPLE.char_indices() {
            assert_eq!(split(&[&SAMPLE[..i], &SAMPLE[i..]]), whole, "split at {i}");
        }
    }

    const OPENED: &str = "Okay, the user wants 2+2 — é 🦀.\n</think>\n\nIt is **4**.";

    #[test]
    fn a_block_the_template_opened_ends_at_its_closing_tag_at_every_split() {
        let whole = split_opened(&[OPENED]);
        assert_eq!(whole.0, "Okay, the user wants 2+2 — é 🦀.\n");
        assert_eq!(whole.1, "It is **4**.");
        for (i, _) in OPENED.char_indices() {
            assert_eq!(
                split_opened(&[&OPENED[..i], &OPENED[i..]]),
                whole,
                "split at {i}"
            );
        }
        // Byte by byte, UTF-8 split mid-character by the stream's pieces
        // is the reader's job: pieces are whole characters here.
        let chars: Vec<String> = OPENED.chars().map(String::from).collect();
        let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(split_opened(&pieces), whole);
        // Without the template's tag the same text is all answer.
        assert_eq!(split(&[OPENED]).0, "");
    }

    proptest! {
        #[test]
        fn any_cutting_of_the_text_gives_the_same_result(cuts in proptest::collection::vec(0usize..SAMPLE.len(), 0..12)) {
            let mut at: Vec<usize> = cuts.into_iter().filter(|&c| SAMPLE.is_char_boundary(c)).collect();
            at.sort_unstable();
            at.dedup();
            let mut pieces = Vec::new();
            let mut from = 0;
            for c in at {
                pieces.push(&SAMPLE[from..c]);
                from = c;
            }
            pieces.push(&SAMPLE[from..]);
            prop_assert_eq!(split(&pieces), split(&[SAMPLE]));
        }
    }
}
