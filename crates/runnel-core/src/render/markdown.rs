//! Streaming markdown: splits a growing answer into completed blocks, which are
//! rendered once (pulldown-cmark, then sanitized by ammonia) and never again, and
//! one open block, re-rendered at most once per batch (`feed::FRAME`). An open
//! fenced code block grows append-only: its completed lines are highlighted
//! once each and appended, its unfinished line is plain text until it ends,
//! and its closing fence keeps what the window already has. So per-token work
//! does not grow with the length of the answer: it is bounded by the size of
//! the open block (for code, of its open line).
//!
//! Highlighted code and math (MathML) are made by trusted code after the
//! model's markdown is sanitized: they stand in the markdown's HTML as slot
//! markers that the sanitizer keeps as text, and are put in afterwards. The
//! sanitizer is never loosened for model text, so raw `<math>` or
//! `<span class=…>` in an answer stays text.
//!
//! Block boundaries: a blank line outside a fence ends a block unless the next
//! line continues it (an indented line or another item of the same list); a
//! fence line ends the text before it; a closing fence ends the code block.

use super::highlight::{highlight_block, CodeHighlighter};
use super::math::{formula_html, normalize_delimiters};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;
use std::sync::LazyLock;

/// The most text the open block may hold before it is closed at its last
/// line break (or, with none, cut where it stands): a 20,000-row table or a
/// list with no blank line then costs O(new text) per token, not O(block).
pub const OPEN_BLOCK_LIMIT: usize = 64 * 1024;

/// What the window must do with the answer element.
#[derive(Debug, Clone, PartialEq, Eq, ts_rs::TS)]
pub enum MdOp {
    /// Append a completed block (sanitized HTML); the open block becomes empty.
    Block(String),
    /// Replace the open block's content (sanitized HTML).
    Open(String),
    /// The open block becomes an empty fenced code block in this language.
    CodeOpen(String),
    /// Append plain text to the open code block's unfinished line.
    CodeAppend(String),
    /// The open code block's plain text becomes this highlighted HTML
    /// (completed lines, appended once), then its unfinished line is `.1`.
    CodeLit(String, String),
    /// The open code block is complete as the window has it.
    CodeClose,
}

#[derive(Debug, Clone, Copy)]
struct Fence {
    ch: u8,
    len: usize,
    /// Spaces before the fence: an indented fence's lines lose that much
    /// indentation, so its block is rendered whole when it closes.
    indent: usize,
}

/// Incremental markdown splitter and renderer for one answer.
#[derive(Debug, Default)]
pub struct MarkdownStream {
    /// Uncommitted text: the open block plus any unfinished line.
    pending: String,
    /// Bytes of `pending` already classified (complete lines only).
    scan: usize,
    /// The open fence, when `pending` is a code block.
    fence: Option<Fence>,
    /// A fence inside a list item: part of the list block, no boundaries inside.
    nested_fence: Option<Fence>,
    /// Offset in `pending` up to which code text has been sent.
    code_sent: usize,
    /// Offset in `pending` up to which code lines were sent highlighted.
    code_lit: usize,
    /// The open code block's highlighting state.
    highlighter: Option<CodeHighlighter>,
    /// Offset just past a blank line that may end the block.
    blank_at: Option<usize>,
    /// The open block changed since the last flush.
    dirty: bool,
    /// The window's open block is non-empty.
    open_shown: bool,
}

impl MarkdownStream {
    /// A stream for a new answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds answer text; completed blocks are appended to `out` at once.
    pub fn push(&mut self, text: &str, out: &mut Vec<MdOp>) {
        if text.is_empty() {
            return;
        }
        let old_len = self.pending.len();
        self.pending.push_str(text);
        self.dirty = true;
        // Only the new text can hold a newline: a long line costs O(its new bytes).
        let mut from = old_len.max(self.scan);
        while let Some(nl) = self.pending[from..].find('\n') {
            let ls = self.scan;
            let le = from + nl + 1;
            self.scan = le;
            self.classify_line(ls, le, out);
            // A commit inside drains the front of `pending` and shifts `scan` with it.
            from = self.scan;
        }
        // An open block past the limit is closed at its last line break (a
        // code block is not: it grows append-only and is never re-rendered).
        if self.fence.is_none() && self.pending.len() > OPEN_BLOCK_LIMIT {
            let cut = if self.scan > 0 {
                self.scan
            } else {
                floor_char_boundary(&self.pending, OPEN_BLOCK_LIMIT)
            };
            self.commit(cut, out);
            return;
        }
        // A blank line followed by the start of a line that surely begins a new
        // block: commit now rather than when that line completes.
        if let Some(b) = self.blank_at {
            let tail = &self.pending[self.scan..];
            match starts_new_block(tail, &self.pending[..b]) {
                Some(true) => self.commit(b, out),
                Some(false) => self.blank_at = None,
                None => {}
            }
        }
    }

    fn classify_line(&mut self, ls: usize, le: usize, out: &mut Vec<MdOp>) {
        let line = self.pending[ls..le]
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        if let Some(f) = self.fence {
            if is_closing_fence(&line, f) {
                if f.indent == 0 {
                    self.close_code(ls, le, out);
                } else {
                    self.commit(le, out);
                }
            }
            return;
        }
        if let Some(f) = self.nested_fence {
            if is_closing_fence(line.trim_start(), f) {
                self.nested_fence = None;
            }
            return;
        }
        if line.trim().is_empty() {
            if self.blank_at.is_some() || !self.pending[..ls].trim().is_empty() {
                self.blank_at = Some(le);
            }
            return;
        }
        let mut ls = ls;
        let mut le = le;
        if let Some(b) = self.blank_at.take() {
            if !continues_block(&line, &self.pending[..b]) {
                self.commit(b, out);
                ls -= b;
                le -= b;
            }
        }
        if line.starts_with([' ', '\t']) && block_is_list(&self.pending[..ls]) {
            if let Some((fence, _)) = opening_fence(line.trim_start()) {
                // A code block inside a list item stays in the list.
                self.nested_fence = Some(fence);
                return;
            }
        }
        if let Some((fence, lang)) = opening_fence(&line) {
            if !self.pending[..ls].trim().is_empty() {
                self.commit(ls, out);
                le -= ls;
            }
            self.fence = Some(fence);
            self.code_sent = le;
            self.code_lit = le;
            self.highlighter = Some(CodeHighlighter::new(&lang));
            out.push(MdOp::CodeOpen(lang));
            self.open_shown = true;
        }
    }

    /// Commits `pending[..cut]` as a completed block.
    fn commit(&mut self, cut: usize, out: &mut Vec<MdOp>) {
        let block: String = self.pending.drain(..cut).collect();
        self.scan = self.scan.saturating_sub(cut);
        self.fence = None;
        self.nested_fence = None;
        self.code_sent = 0;
        self.code_lit = 0;
        self.highlighter = None;
        self.blank_at = None;
        if !block.trim().is_empty() {
            out.push(MdOp::Block(render(&block)));
            self.open_shown = false;
        }
        self.dirty = true;
    }

    /// Ends the open code block at `code_end` (its closing fence line ends at
    /// `cut`): its last lines go highlighted, and the window keeps its block.
    fn close_code(&mut self, code_end: usize, cut: usize, out: &mut Vec<MdOp>) {
        if code_end > self.code_lit || self.code_sent > self.code_lit {
            let mut html = String::new();
            if let Some(h) = self.highlighter.as_mut() {
                h.lines(&self.pending[self.code_lit..code_end], &mut html);
            }
            out.push(MdOp::CodeLit(html, String::new()));
        }
        out.push(MdOp::CodeClose);
        self.pending.drain(..cut);
        self.scan = self.scan.saturating_sub(cut);
        self.fence = None;
        self.code_sent = 0;
        self.code_lit = 0;
        self.highlighter = None;
        self.blank_at = None;
        self.open_shown = false;
        self.dirty = true;
    }

    /// Emits the open block's update for this frame, if it changed.
    pub fn flush(&mut self, out: &mut Vec<MdOp>) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if self.fence.is_some() {
            // Completed lines since the last frame, and the unfinished one.
            let line_start = self.pending[self.code_lit..]
                .rfind('\n')
                .map_or(self.code_lit, |i| self.code_lit + i + 1);
            // Hold back an unfinished line that may turn out to be the closing fence.
            let partial = &self.pending[line_start..];
            let partial = if may_be_fence_prefix(partial) {
                ""
            } else {
                partial
            };
            if line_start > self.code_lit {
                let mut html = String::new();
                if let Some(h) = self.highlighter.as_mut() {
                    h.lines(&self.pending[self.code_lit..line_start], &mut html);
                }
                self.code_lit = line_start;
                self.code_sent = line_start + partial.len();
                out.push(MdOp::CodeLit(html, partial.to_owned()));
            } else if line_start + partial.len() > self.code_sent {
                let text = self.pending[self.code_sent..line_start + partial.len()].to_owned();
                self.code_sent = line_start + partial.len();
                out.push(MdOp::CodeAppend(text));
            }
            return;
        }
        if self.pending.trim().is_empty() {
            if self.open_shown {
                out.push(MdOp::Open(String::new()));
                self.open_shown = false;
            }
            return;
        }
        out.push(MdOp::Open(render(&self.pending)));
        self.open_shown = true;
    }

    /// Ends the answer: whatever is open becomes a completed block.
    pub fn finish(&mut self, out: &mut Vec<MdOp>) {
        let len = self.pending.len();
        if self.fence.is_some_and(|f| f.indent == 0) {
            // An unclosed code block ends with the answer, as it stands.
            self.close_code(len, len, out);
            self.scan = 0;
            self.dirty = false;
            return;
        }
        let had_open = self.open_shown;
        self.commit(len, out);
        self.scan = 0;
        if had_open && self.open_shown {
            out.push(MdOp::Open(String::new()));
            self.open_shown = false;
        }
        self.dirty = false;
    }
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn leading_spaces(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b' ').count()
}

fn opening_fence(line: &str) -> Option<(Fence, String)> {
    let indent = leading_spaces(line);
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    if ch == b'`' && info.contains('`') {
        return None;
    }
    Some((Fence { ch, len, indent }, code_language(info).to_owned()))
}

fn is_closing_fence(line: &str, fence: Fence) -> bool {
    let indent = leading_spaces(line);
    if indent > 3 {
        return false;
    }
    let rest = &line[indent..];
    let len = rest.bytes().take_while(|&b| b == fence.ch).count();
    len >= fence.len && rest[len..].trim().is_empty()
}

fn may_be_fence_prefix(tail: &str) -> bool {
    let t = tail.trim_start_matches(' ');
    tail.len() - t.len() <= 3
        && t.bytes()
            .all(|b| b == b'`' || b == b'~' || b == b' ' || b == b'\r')
}

fn list_marker(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    if line.len() - t.len() > 3 {
        return false;
    }
    let b = t.as_bytes();
    match b.first() {
        Some(b'-' | b'*' | b'+') => matches!(b.get(1), None | Some(b' ' | b'\t')),
        Some(c) if c.is_ascii_digit() => {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            digits <= 9
                && matches!(b.get(digits), Some(b'.' | b')'))
                && matches!(b.get(digits + 1), None | Some(b' ' | b'\t'))
        }
        _ => false,
    }
}

/// True when the block's first non-blank line is a list item.
fn block_is_list(block: &str) -> bool {
    block
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(list_marker)
}

/// After a blank line, does the unfinished line `tail` start a new block?
/// `None` while its first characters cannot tell yet.
fn starts_new_block(tail: &str, block: &str) -> Option<bool> {
    if tail.trim().is_empty() {
        return None;
    }
    let first = block.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if !list_marker(first) {
        return Some(true);
    }
    if tail.starts_with([' ', '\t']) {
        return Some(false);
    }
    let b = tail.as_bytes();
    let undecided = match b[0] {
        b'-' | b'*' | b'+' => b.len() < 2,
        c if c.is_ascii_digit() => {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            digits == b.len() || (matches!(b[digits], b'.' | b')') && digits + 1 == b.len())
        }
        _ => false,
    };
    if undecided {
        None
    } else {
        Some(!list_marker(tail))
    }
}

/// After a blank line, does `line` continue the block above (so no boundary yet)?
fn continues_block(line: &str, block: &str) -> bool {
    let first = block.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if !list_marker(first) {
        return false;
    }
    line.starts_with([' ', '\t']) || list_marker(line)
}

/// The longest code language name kept as a class.
const MAX_LANGUAGE_CHARS: usize = 32;

/// The language of a fence's info string: its first word when it is 1-32 of
/// `[A-Za-z0-9_+#.-]`, else none. Any whitespace (a tab too) ends the word,
/// so an info string cannot smuggle a second CSS class into the page.
pub fn code_language(info: &str) -> &str {
    let word = info
        .split(char::is_whitespace)
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let ok = !word.is_empty()
        && word.chars().count() <= MAX_LANGUAGE_CHARS
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '#' | '.' | '-'));
    if ok {
        word
    } else {
        ""
    }
}

/// Classes the page's own styles know; any other class is dropped.
fn allowed_class(element: &str, value: &str) -> bool {
    match element {
        "code" => value
            .strip_prefix("language-")
            .is_some_and(|l| !l.is_empty() && code_language(l) == l),
        "th" | "td" => matches!(value, "align-left" | "align-center" | "align-right"),
        _ => false,
    }
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .add_tags(["input"])
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("ol", ["start"])
        .add_tag_attributes("th", ["class"])
        .add_tag_attributes("td", ["class"])
        // One known class at most: never one the page uses for its own boxes.
        .attribute_filter(|element, attribute, value| {
            if attribute != "class" {
                return Some(value.into());
            }
            allowed_class(element, value).then(|| value.into())
        });
    b
});

/// The most code one `render` call highlights (about 1,500 lines, well
/// under a second); code after that in the same fragment is plain text, so
/// opening a conversation with a huge code answer stays quick. A streamed
/// answer's code is highlighted line by line as it arrives, whatever its size.
pub const MAX_RENDER_HIGHLIGHT_BYTES: usize = 128 * 1024;

/// Where a slot marker starts and ends: noncharacters, which model text
/// cannot use to forge one (they are replaced in it before parsing).
const SLOT_OPEN: char = '\u{FDD0}';
const SLOT_CLOSE: char = '\u{FDD1}';

/// Trusted HTML waiting for its slot in a rendered fragment.
#[derive(Default)]
struct Slots(Vec<String>);

impl Slots {
    /// Keeps `html` and returns the text that marks its place.
    fn mark(&mut self, html: String) -> String {
        self.0.push(html);
        format!("{SLOT_OPEN}{}{SLOT_CLOSE}", self.0.len() - 1)
    }

    /// Puts the kept HTML in place of its markers in sanitized `html`.
    fn fill(self, html: &str) -> String {
        if self.0.is_empty() {
            return html.to_owned();
        }
        let extra: usize = self.0.iter().map(String::len).sum();
        let mut out = String::with_capacity(html.len() + extra);
        let mut rest = html;
        while let Some(i) = rest.find(SLOT_OPEN) {
            out.push_str(&rest[..i]);
            let after = &rest[i + SLOT_OPEN.len_utf8()..];
            let slot = after.find(SLOT_CLOSE).and_then(|e| {
                let n: usize = after[..e].parse().ok()?;
                Some((self.0.get(n)?, e))
            });
            match slot {
                Some((html, e)) => {
                    out.push_str(html);
                    rest = &after[e + SLOT_CLOSE.len_utf8()..];
                }
                None => {
                    // Not a marker of ours (cannot happen: they are replaced in the input).
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Renders one markdown fragment to sanitized HTML. Raw HTML in the text is
/// shown as text; images become links (no remote content is loaded); fenced
/// code is highlighted and math becomes MathML, both put in after sanitizing.
pub fn render(markdown: &str) -> String {
    let cleaned: Cow<'_, str> = if markdown.contains([SLOT_OPEN, SLOT_CLOSE]) {
        Cow::Owned(markdown.replace([SLOT_OPEN, SLOT_CLOSE], "\u{FFFD}"))
    } else {
        Cow::Borrowed(markdown)
    };
    let source = normalize_delimiters(&cleaned);
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_MATH);
    let mut slots = Slots::default();
    let mut budget = MAX_RENDER_HIGHLIGHT_BYTES;
    // The fenced block being read: its language and its text so far.
    let mut code: Option<(String, String)> = None;
    let mut events = Vec::new();
    for ev in Parser::new_ext(&source, opts) {
        let ev = match ev {
            Event::Text(t) if code.is_some() => {
                if let Some((_, text)) = code.as_mut() {
                    text.push_str(&t);
                }
                continue;
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, text)) = code.take() {
                    if text.len() <= budget {
                        budget -= text.len();
                        events.push(Event::Text(
                            slots.mark(highlight_block(&lang, &text)).into(),
                        ));
                    } else {
                        budget = 0;
                        events.push(Event::Text(text.into()));
                    }
                }
                Event::End(TagEnd::CodeBlock)
            }
            Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
            Event::InlineMath(m) => Event::Text(slots.mark(formula_html(&m, false)).into()),
            Event::DisplayMath(m) => Event::Text(slots.mark(formula_html(&m, true)).into()),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }),
            Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let lang = code_language(&info).to_owned();
                code = Some((lang.clone(), String::new()));
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang.into())))
            }
            other => other,
        };
        events.push(ev);
    }
    let mut html = String::with_capacity(source.len() * 3 / 2 + 16);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    // The CSP forbids style attributes: table alignment becomes a class.
    if html.contains(" style=\"text-align: ") {
        html = html
            .replace(" style=\"text-align: left\"", " class=\"align-left\"")
            .replace(" style=\"text-align: center\"", " class=\"align-center\"")
            .replace(" style=\"text-align: right\"", " class=\"align-right\"");
    }
    let clean = SANITIZER.clean(&html).to_string();
    slots.fill(&clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_a_fence_info_string_cannot_smuggle_a_second_class() {
        for fence in [
            "```sh\tsr-only\nx\n```\n",
            "```sh sr-only\nx\n```\n",
            "```sh\u{b}error\nx\n```\n",
        ] {
            let html = render(fence);
            assert!(html.contains("class=\"language-sh\""), "{html}");
            assert!(
                !html.contains("sr-only") && !html.contains("error\""),
                "{html}"
            );
        }
        assert!(render("```rust\nfn main() {}\n```\n").contains("class=\"language-rust\""));
        assert!(!render(&format!("```{}\nx\n```\n", "a".repeat(40))).contains("class="));
        let mut md = MarkdownStream::new();
        let mut out = Vec::new();
        md.push("```sh\tsr-only\n", &mut out);
        assert!(out.contains(&MdOp::CodeOpen("sh".into())), "{out:?}");
        // Raw HTML with a class never keeps it.
        assert!(!render("<code class=\"sr-only\">x</code>").contains("<code class=\"sr-only\""));
    }

    #[test]
    fn regression_a_huge_table_keeps_the_open_block_bounded() {
        let mut md = MarkdownStream::new();
        let mut out = Vec::new();
        md.push("| a | b |\n|---|---|\n", &mut out);
        let mut largest_open = 0;
        for i in 0..20_000 {
            md.push(&format!("| {i} | row {i} |\n"), &mut out);
            // One flush per frame's worth of rows, as the feed does.
            if i % 200 == 0 {
                md.flush(&mut out);
            }
            for op in out.drain(..) {
                if let MdOp::Open(html) = op {
                    largest_open = largest_open.max(html.len());
                }
            }
            assert!(
                md.pending.len() <= OPEN_BLOCK_LIMIT + 64,
                "open block {} bytes",
                md.pending.len()
            );
        }
        assert!(largest_open < 4 * OPEN_BLOCK_LIMIT, "{largest_open}");
    }

    #[test]
    fn regression_a_line_without_breaks_is_cut_at_a_char_boundary() {
        let mut md = MarkdownStream::new();
        let mut out = Vec::new();
        for _ in 0..50_000 {
            md.push("é", &mut out);
        }
        assert!(md.pending.len() <= OPEN_BLOCK_LIMIT + 2);
        assert!(out.iter().any(|o| matches!(o, MdOp::Block(_))));
    }

    fn strip_tags(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    pub(super) fn stream(pieces: &[&str]) -> Vec<MdOp> {
        let mut md = MarkdownStream::new();
        let mut out = Vec::new();
        for p in pieces {
            md.push(p, &mut out);
            md.flush(&mut out);
        }
        md.finish(&mut out);
        out
    }

    /// The completed blocks as the window ends up with them: a code block
    /// closed in place is its opening tags, its highlighted lines, and its end.
    fn blocks(ops: &[MdOp]) -> Vec<String> {
        page_blocks(ops)
    }

    pub(super) fn page_blocks(ops: &[MdOp]) -> Vec<String> {
        let mut out = Vec::new();
        // The open code block: its opening tags, lines, and unfinished line.
        let mut code: Option<(String, String, String)> = None;
        for o in ops {
            match o {
                MdOp::Block(h) => {
                    code = None;
                    out.push(h.clone());
                }
                MdOp::CodeOpen(lang) => {
                    let class = if lang.is_empty() {
                        String::new()
                    } else {
                        format!(" class=\"language-{lang}\"")
                    };
                    code = Some((format!("<pre><code{class}>"), String::new(), String::new()));
                }
                MdOp::CodeAppend(t) => code.as_mut().expect("open code").2.push_str(t),
                MdOp::CodeLit(html, tail) => {
                    let c = code.as_mut().expect("open code");
                    c.1.push_str(html);
                    c.2 = tail.clone();
                }
                MdOp::CodeClose => {
                    let (open, lines, tail) = code.take().expect("open code");
                    assert_eq!(tail, "", "a closed block has no plain tail");
                    out.push(format!("{open}{lines}</code></pre>\n"));
                }
                MdOp::Open(_) => {}
            }
        }
        out
    }

    /// The plain text the window's open code block showed, in order.
    fn code_text(ops: &[MdOp]) -> String {
        let mut shown = String::new();
        let mut tail = String::new();
        for o in ops {
            match o {
                MdOp::CodeAppend(t) => tail.push_str(t),
                MdOp::CodeLit(html, t) => {
                    shown.push_str(html);
                    tail = t.clone();
                }
                _ => {}
            }
        }
        shown + &tail
    }

    #[test]
    fn paragraphs_commit_on_blank_line() {
        let ops = stream(&["Hello **wor", "ld**\n\nSecond"]);
        assert_eq!(
            blocks(&ops),
            vec!["<p>Hello <strong>world</strong></p>\n", "<p>Second</p>\n"]
        );
        // The unfinished emphasis shows as typed until it closes.
        assert_eq!(ops[0], MdOp::Open("<p>Hello **wor</p>\n".into()));
    }

    #[test]
    fn code_block_grows_append_only_and_renders_once() {
        let ops = stream(&[
            "Intro\n```rust\nfn main",
            "() {}\n",
            "let x = 1;\n``",
            "`\nAfter",
        ]);
        // The lines went to the window once each, highlighted; no block re-render.
        let lines = code_text(&ops);
        assert!(lines.contains("<span class=\"hl-"), "{lines}");
        assert_eq!(strip_tags(&lines), "fn main() {}\nlet x = 1;\n");
        assert!(ops.contains(&MdOp::CodeClose));
        assert!(ops.contains(&MdOp::CodeOpen("rust".into())));
        let b = blocks(&ops);
        assert_eq!(b[0], "<p>Intro</p>\n");
        assert!(
            b[1].starts_with("<pre><code class=\"language-rust\"><span"),
            "{}",
            b[1]
        );
        // The same HTML as rendering the whole block at once.
        assert_eq!(b[1], render("```rust\nfn main() {}\nlet x = 1;\n```\n"));
        assert_eq!(b[2], "<p>After</p>\n");
    }

    #[test]
    fn blank_lines_inside_code_do_not_split() {
        let b = blocks(&stream(&["```\na\n\nb\n```\n"]));
        assert_eq!(b.len(), 1);
        assert!(b[0].contains("a\n\nb"));
    }

    #[test]
    fn loose_list_stays_one_list() {
        let b = blocks(&stream(&["- one\n\n- two\n\n  more\n\nAfter\n"]));
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].starts_with("<ul>") && b[0].contains("two") && b[0].contains("more"));
    }

    #[test]
    fn regression_code_fence_inside_a_list_item_stays_in_the_list() {
        let b = blocks(&stream(&[
            "1. Step\n   ```bash\n   ls\n\n   pwd\n   ```\n2. Next\n\nAfter\n",
        ]));
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(
            b[0].starts_with("<ol>") && b[0].contains("<code") && b[0].contains("Next"),
            "{}",
            b[0]
        );
        assert!(!b[0].contains("start="), "{}", b[0]);
    }

    #[test]
    fn regression_long_line_search_is_linear() {
        // 20,000 one-byte pushes on one line: each push scans only its own byte.
        let mut md = MarkdownStream::new();
        let mut out = Vec::new();
        md.push("```\n", &mut out);
        for _ in 0..20_000 {
            md.push("x", &mut out);
        }
        md.push("\n```\n", &mut out);
        let closed = out.iter().filter(|o| matches!(o, MdOp::CodeClose)).count();
        assert_eq!(closed, 1);
    }

    #[test]
    fn table_alignment_becomes_classes_not_styles() {
        let html = render("| a | b |\n|:-:|--:|\n| 1 | 2 |\n");
        assert!(
            html.contains("class=\"align-center\"") && html.contains("class=\"align-right\""),
            "{html}"
        );
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn tables_quotes_headings_links() {
        let b = blocks(&stream(&[
            "# Title\n\n> quoted\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n[site](https://example.com) [rel](foo)\n",
        ]));
        assert_eq!(b[0], "<h1>Title</h1>\n");
        assert!(b[1].contains("<blockquote>"));
        assert!(b[2].contains("<table>") && b[2].contains("<td"));
        assert!(b[3].contains(r#"href="https://example.com""#) && b[3].contains("noopener"));
        assert!(
            !b[3].contains("href=\"foo\""),
            "relative links are removed: {}",
            b[3]
        );
    }

    #[test]
    fn raw_html_and_scripts_never_pass() {
        let html = render("<script>alert(1)</script> <img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) a <b onclick=x>b</b>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b "), "{html}");
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn images_become_links() {
        let html = render("![cat](https://example.com/cat.png)");
        assert!(
            html.contains("<a href=\"https://example.com/cat.png\"") && !html.contains("<img"),
            "{html}"
        );
    }

    #[test]
    fn split_anywhere_renders_same_blocks_as_whole() {
        let text = "# H\n\nPara *one*\nline two\n\n- a\n- b\n\n```py\nx = 1\n\ny = 2\n```\n\n1. x\n2. y\n\nEnd.";
        let whole = blocks(&stream(&[text]));
        for cut in 1..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            assert_eq!(
                blocks(&stream(&[&text[..cut], &text[cut..]])),
                whole,
                "cut at {cut}"
            );
        }
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(blocks(&stream(&refs)), whole);
    }

    #[test]
    fn open_block_cost_is_bounded_by_the_open_block() {
        // After many completed paragraphs, the open render only holds the last one.
        let mut md = MarkdownStream::new();
        let mut out = Vec::new();
        for i in 0..500 {
            md.push(&format!("Paragraph {i} with some text.\n\n"), &mut out);
        }
        md.push("open tail", &mut out);
        out.clear();
        md.flush(&mut out);
        assert_eq!(out, vec![MdOp::Open("<p>open tail</p>\n".into())]);
        assert!(md.pending.len() < 64);
    }
}

#[cfg(test)]
mod rich_tests {
    use super::*;

    #[test]
    fn math_in_all_four_delimiters_becomes_mathml() {
        for md in ["a $x^2$ b", "$$x^2$$", "a \\(x^2\\) b", "\\[x^2\\]"] {
            let html = render(md);
            assert!(html.contains("<math"), "{md}: {html}");
            assert!(html.contains("<msup>"), "{md}: {html}");
        }
        assert!(render("$$\\sum_i x_i$$").contains("display=\"block\""));
    }

    #[test]
    fn dollar_amounts_in_prose_stay_text() {
        for md in [
            "It costs $5 and $10.",
            "Between $5 and $10 a month",
            "$5, $10, or $20",
        ] {
            let html = render(md);
            assert!(!html.contains("<math"), "{md}: {html}");
            assert!(html.contains("$5"), "{md}: {html}");
        }
    }

    #[test]
    fn a_broken_formula_shows_its_source_and_the_block_goes_on() {
        let html = render("Before $\\frac{a}$ after **bold**");
        assert!(html.contains("math-source"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
    }

    #[test]
    fn raw_math_and_span_markup_from_the_model_stays_text() {
        let html = render(
            "<math><mi>x</mi></math> <span class=\"hl-keyword\">k</span> <annotation>a</annotation>",
        );
        assert!(!html.contains("<math"), "{html}");
        assert!(!html.contains("<span"), "{html}");
        assert!(html.contains("&lt;math&gt;"), "{html}");
    }

    #[test]
    fn regression_model_text_cannot_forge_a_slot_marker() {
        let forged = "\u{FDD0}0\u{FDD1} $x$";
        let html = render(forged);
        assert_eq!(html.matches("<math").count(), 1, "{html}");
        assert!(!html.contains('\u{FDD0}'), "{html}");
    }

    #[test]
    fn fenced_code_is_highlighted_with_classes_and_no_style() {
        let html = render("```rust\nlet s = \"<script>\";\n```\n");
        assert!(html.contains("<span class=\"hl-"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("style="), "{html}");
        assert!(!html.contains("<script"), "{html}");
        // Code spans and math inside code are not touched.
        let html = render("`$x$` and\n\n```\n$y$\n```\n");
        assert!(!html.contains("<math"), "{html}");
    }

    #[test]
    fn regression_a_huge_code_answer_opens_quickly_its_later_code_plain() {
        let line = "let x = 1; // a line of code\n";
        let block = format!(
            "```rust\n{}```\n\n",
            line.repeat(MAX_RENDER_HIGHLIGHT_BYTES / line.len() / 2)
        );
        let html = render(&block.repeat(3));
        let blocks: Vec<&str> = html.split("<pre>").skip(1).collect();
        assert_eq!(blocks.len(), 3);
        assert!(blocks[0].contains("hl-keyword") && blocks[1].contains("hl-keyword"));
        assert!(!blocks[2].contains("<span"), "over the budget: plain");
    }

    #[test]
    fn streamed_code_equals_rendered_code_split_anywhere() {
        let text = "Intro\n\n```python\ndef f(x):\n    \"\"\"doc\n    more\"\"\"\n    return x  # c\n```\n\nEnd $x$.";
        let whole = blocks_of(&[text]);
        for cut in 1..text.len() {
            if text.is_char_boundary(cut) {
                assert_eq!(
                    blocks_of(&[&text[..cut], &text[cut..]]),
                    whole,
                    "cut at {cut}"
                );
            }
        }
        assert!(whole[1].contains("hl-"), "{}", whole[1]);
        assert_eq!(
            whole[1],
            render("```python\ndef f(x):\n    \"\"\"doc\n    more\"\"\"\n    return x  # c\n```\n")
        );
    }

    #[test]
    fn an_unclosed_code_block_ends_with_the_answer() {
        let ops = {
            let mut md = MarkdownStream::new();
            let mut out = Vec::new();
            md.push("```rust\nfn a() {}\nlet b", &mut out);
            md.flush(&mut out);
            md.finish(&mut out);
            out
        };
        assert_eq!(ops.last(), Some(&MdOp::CodeClose));
        let lit: String = ops
            .iter()
            .filter_map(|o| match o {
                MdOp::CodeLit(h, _) => Some(h.as_str()),
                _ => None,
            })
            .collect();
        assert!(lit.contains("let") && lit.contains('b'), "{lit}");
    }

    #[test]
    fn an_indented_fence_is_rendered_whole_when_it_closes() {
        let ops = {
            let mut md = MarkdownStream::new();
            let mut out = Vec::new();
            md.push("  ```\n  a\n  ```\n", &mut out);
            md.finish(&mut out);
            out
        };
        assert!(!ops.contains(&MdOp::CodeClose));
        assert!(ops
            .iter()
            .any(|o| matches!(o, MdOp::Block(h) if h.contains("<code>a\n</code>"))));
    }

    fn blocks_of(pieces: &[&str]) -> Vec<String> {
        super::tests::page_blocks(&super::tests::stream(pieces))
    }
}
