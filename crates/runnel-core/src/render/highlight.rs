//! Syntax highlighting of fenced code, line by line, as `<span class="hl-…">`
//! elements (syntect's classed output): the page's stylesheet colours them,
//! so no inline style is needed and the CSP stays `style-src 'self'`.
//!
//! Every highlighted line is a well-formed fragment: spans still open at its
//! end are closed there and reopened at the next line's start. So the lines
//! of an open code block can be appended to the page one at a time, and the
//! lines of a whole block are the same HTML as those streamed.

use std::sync::LazyLock;
use syntect::html::{line_tokens_to_classed_spans, ClassStyle};
use syntect::parsing::{ParseState, ScopeStack, ScopeStackOp, SyntaxReference, SyntaxSet};

use super::math::escape_text;

/// The class prefix of highlighted spans (`hl-keyword`, `hl-string`, ...).
const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// The longest line highlighted; a longer one (minified code, data) is shown
/// as plain text, as is every later line of its block.
pub const MAX_HIGHLIGHT_LINE: usize = 16 * 1024;

/// The built-in grammars, loaded on the first highlighted block.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Fence languages named differently from the grammars' own names.
const ALIASES: &[(&str, &str)] = &[
    ("ts", "js"),
    ("typescript", "js"),
    ("tsx", "js"),
    ("jsx", "js"),
    ("javascript", "js"),
    ("shell", "bash"),
    ("zsh", "bash"),
    ("console", "bash"),
    ("py3", "py"),
    ("python3", "py"),
    ("golang", "go"),
    ("c++", "cpp"),
    ("yml", "yaml"),
    ("html5", "html"),
    ("jsonc", "json"),
];

/// Languages that mean "no highlighting".
const PLAIN: &[&str] = &["text", "txt", "plain", "plaintext", "output", "log"];

/// The grammar for a fence language, if there is one.
fn syntax_for(lang: &str) -> Option<&'static SyntaxReference> {
    if lang.is_empty() {
        return None;
    }
    let lower = lang.to_ascii_lowercase();
    if PLAIN.contains(&lower.as_str()) {
        return None;
    }
    let token = ALIASES
        .iter()
        .find(|(a, _)| *a == lower)
        .map_or(lower.as_str(), |(_, t)| t);
    SYNTAXES.find_syntax_by_token(token)
}

/// Highlighting state of one code block, carried from line to line.
pub struct CodeHighlighter {
    state: Option<(ParseState, ScopeStack)>,
}

impl std::fmt::Debug for CodeHighlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeHighlighter")
            .field("highlights", &self.state.is_some())
            .finish()
    }
}

impl CodeHighlighter {
    /// A highlighter for a block in `lang`; an unknown language gives plain
    /// (escaped) text.
    pub fn new(lang: &str) -> Self {
        Self {
            state: syntax_for(lang).map(|s| (ParseState::new(s), ScopeStack::new())),
        }
    }

    /// The HTML of complete lines (each ending in `\n`, but the block's last
    /// line may lack one), appended to `out`.
    pub fn lines(&mut self, text: &str, out: &mut String) {
        for line in text.split_inclusive('\n') {
            self.line(line, out);
        }
    }

    fn line(&mut self, line: &str, out: &mut String) {
        if line.len() > MAX_HIGHLIGHT_LINE {
            self.state = None;
        }
        let Some((parse, stack)) = self.state.as_mut() else {
            out.push_str(&escape_text(line));
            return;
        };
        let highlighted = parse_line(parse, stack, line);
        match highlighted {
            Some(html) => out.push_str(&html),
            None => {
                // A grammar error: the rest of the block is plain text.
                self.state = None;
                out.push_str(&escape_text(line));
            }
        }
    }
}

/// One line's spans, reopened at its start and closed at its end.
fn parse_line(parse: &mut ParseState, stack: &mut ScopeStack, line: &str) -> Option<String> {
    let ops = parse.parse_line(line, &SYNTAXES).ok()?;
    let reopen: Vec<(usize, ScopeStackOp)> = stack
        .as_slice()
        .iter()
        .map(|s| (0, ScopeStackOp::Push(*s)))
        .collect();
    let open_before = reopen.len();
    let (mut html, _) =
        line_tokens_to_classed_spans("", &reopen, CLASS_STYLE, &mut ScopeStack::new()).ok()?;
    let (body, delta) = line_tokens_to_classed_spans(line, &ops, CLASS_STYLE, stack).ok()?;
    // The newline goes after the closing tags, so each line reads as one.
    let (body, newline) = match body.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (body.as_str(), ""),
    };
    html.push_str(body);
    let open_after = usize::try_from(open_before as isize + delta).ok()?;
    for _ in 0..open_after {
        html.push_str("</span>");
    }
    html.push_str(newline);
    Some(html)
}

/// The HTML of a whole code block in `lang`.
pub fn highlight_block(lang: &str, code: &str) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    CodeHighlighter::new(lang).lines(code, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_gets_classed_spans_and_no_styles() {
        let html = highlight_block("rust", "fn main() {\n    let s = \"<b>\";\n}\n");
        assert!(html.contains("<span class=\"hl-"), "{html}");
        assert!(
            html.contains("hl-keyword") || html.contains("hl-storage"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn each_line_is_balanced_so_lines_stream_one_at_a_time() {
        let code = "/* a\n b */\nlet s = \"x\";\n";
        let html = highlight_block("js", code);
        // Streaming the lines one at a time gives the same HTML as the whole,
        // and each line's fragment is balanced.
        let mut h = CodeHighlighter::new("js");
        let mut all = String::new();
        for l in code.split_inclusive('\n') {
            let mut one = String::new();
            h.lines(l, &mut one);
            assert_eq!(
                one.matches("<span").count(),
                one.matches("</span>").count(),
                "{one}"
            );
            assert!(one.ends_with('\n'), "the newline ends the fragment: {one}");
            all.push_str(&one);
        }
        assert_eq!(all, html);
    }

    #[test]
    fn unknown_and_plain_languages_are_escaped_text() {
        assert_eq!(highlight_block("nosuchlang", "<a>&\n"), "&lt;a&gt;&amp;\n");
        assert_eq!(highlight_block("text", "x\n"), "x\n");
        assert_eq!(highlight_block("", "x\n"), "x\n");
    }

    #[test]
    fn aliases_find_their_grammar() {
        for lang in ["ts", "Python", "sh", "c++", "yml", "json", "go"] {
            assert!(syntax_for(lang).is_some(), "{lang}");
        }
    }

    #[test]
    fn a_huge_line_ends_highlighting_for_the_block() {
        let long = "x".repeat(MAX_HIGHLIGHT_LINE + 1) + "\n";
        let html = highlight_block("rust", &format!("{long}fn a() {{}}\n"));
        assert!(!html.contains("<span"), "plain after a huge line");
    }
}
