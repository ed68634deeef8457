//! Syntax highlighting of fenced code, line by line, as flat
//! `<span class="hl-…">` elements of a few kinds (comment, keyword, string,
//! constant, function, type, tag) that the page's stylesheet colours: no
//! inline style, so the CSP stays `style-src 'self'`. The grammars are
//! syntect's (Sublime Text's); their scopes are reduced to those kinds, and
//! text of no kind stays bare, so a line's HTML is a little more than its
//! text.
//!
//! Every highlighted line is a well-formed fragment on its own (no span
//! crosses a line), so the lines of an open code block are appended to the
//! page one at a time, and a whole block is the same HTML as its lines
//! streamed.

use std::collections::HashMap;
use std::sync::LazyLock;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet};

use super::math::escape_text;

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

/// What a piece of code is, as far as its colour goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Comment,
    Keyword,
    Str,
    Constant,
    Function,
    Type,
    Tag,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Self::Comment => "hl-comment",
            Self::Keyword => "hl-keyword",
            Self::Str => "hl-string",
            Self::Constant => "hl-constant",
            Self::Function => "hl-function",
            Self::Type => "hl-type",
            Self::Tag => "hl-tag",
        }
    }
}

/// Scope name prefixes and the kind each one means; the first that matches
/// wins, so the more specific come first. `None` (operators, punctuation)
/// leaves the kind to an enclosing scope.
const SCOPE_KINDS: &[(&str, Option<Kind>)] = &[
    ("comment", Some(Kind::Comment)),
    ("constant.character.escape", Some(Kind::Constant)),
    ("string", Some(Kind::Str)),
    ("constant", Some(Kind::Constant)),
    ("keyword.operator", None),
    ("keyword", Some(Kind::Keyword)),
    ("storage", Some(Kind::Keyword)),
    ("variable.language", Some(Kind::Keyword)),
    ("entity.name.function", Some(Kind::Function)),
    ("support.function", Some(Kind::Function)),
    ("variable.function", Some(Kind::Function)),
    ("entity.name.tag", Some(Kind::Tag)),
    ("entity.other.attribute-name", Some(Kind::Tag)),
    ("entity.name", Some(Kind::Type)),
    ("entity.other.inherited-class", Some(Kind::Type)),
    ("support.type", Some(Kind::Type)),
    ("support.class", Some(Kind::Type)),
    ("markup.inserted", Some(Kind::Str)),
    ("markup.deleted", Some(Kind::Constant)),
    ("markup.heading", Some(Kind::Keyword)),
];

fn kind_of_name(name: &str) -> Option<Kind> {
    SCOPE_KINDS
        .iter()
        .find(|(prefix, _)| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .and_then(|(_, k)| *k)
}

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

/// Parsing state of one code block, carried from line to line.
struct State {
    parse: ParseState,
    stack: ScopeStack,
    /// Each scope's kind, worked out once.
    kinds: HashMap<Scope, Option<Kind>>,
}

impl State {
    /// The kind of the innermost scope on the stack that has one.
    fn kind(&mut self) -> Option<Kind> {
        for scope in self.stack.as_slice().iter().rev() {
            let k = *self
                .kinds
                .entry(*scope)
                .or_insert_with(|| kind_of_name(&scope.build_string()));
            if k.is_some() {
                return k;
            }
        }
        None
    }

    /// One line's HTML (its newline after any span), or `None` on a
    /// grammar error.
    fn line(&mut self, line: &str, out: &mut String) -> Option<()> {
        let ops = self.parse.parse_line(line, &SYNTAXES).ok()?;
        let body = line.strip_suffix('\n').unwrap_or(line);
        let mut run = Run::default();
        let mut at = 0;
        let mut kind = self.kind();
        for (i, op) in &ops {
            let i = (*i).min(body.len());
            if i > at {
                run.push(&body[at..i], kind, out);
                at = i;
            }
            self.stack.apply(op).ok()?;
            kind = self.kind();
        }
        run.push(&body[at..], kind, out);
        run.end(out);
        if body.len() < line.len() {
            out.push('\n');
        }
        Some(())
    }
}

/// Text of one kind, gathered until the kind changes.
#[derive(Default)]
struct Run {
    kind: Option<Kind>,
    open: bool,
}

impl Run {
    fn push(&mut self, text: &str, kind: Option<Kind>, out: &mut String) {
        if text.is_empty() {
            return;
        }
        if kind != self.kind || !self.open {
            self.end(out);
            if let Some(k) = kind {
                out.push_str("<span class=\"");
                out.push_str(k.class());
                out.push_str("\">");
            }
            self.kind = kind;
            self.open = true;
        }
        out.push_str(&escape_text(text));
    }

    fn end(&mut self, out: &mut String) {
        if self.open && self.kind.is_some() {
            out.push_str("</span>");
        }
        self.open = false;
    }
}

/// Highlighting state of one code block, carried from line to line.
pub struct CodeHighlighter {
    state: Option<State>,
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
            state: syntax_for(lang).map(|s| State {
                parse: ParseState::new(s),
                stack: ScopeStack::new(),
                kinds: HashMap::new(),
            }),
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
        let Some(state) = self.state.as_mut() else {
            out.push_str(&escape_text(line));
            return;
        };
        let mark = out.len();
        if state.line(line, out).is_none() {
            // A grammar error: the rest of the block is plain text.
            out.truncate(mark);
            self.state = None;
            out.push_str(&escape_text(line));
        }
    }
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
    fn a_comment_across_lines_is_a_comment_on_each_line() {
        let html = highlight_block("c", "/* one\ntwo */ int x;\n");
        assert_eq!(
            html.lines().next(),
            Some("<span class=\"hl-comment\">/* one</span>")
        );
        assert!(
            html.contains("<span class=\"hl-comment\">two */</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-keyword\">int</span>"),
            "{html}"
        );
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
