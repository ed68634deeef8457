//! Math in answers: LaTeX between `$…$`, `$$…$$`, `\(…\)` or `\[…\]` becomes
//! MathML, which the web view draws natively (no script, no font download).
//!
//! The MathML is made by trusted code (pulldown-latex) from the formula's
//! source, after the answer's markdown was sanitized; it is then checked
//! against an allowlist of MathML elements and attributes, so a formula can
//! never smuggle markup into the page. A formula that fails to parse or to
//! pass the check is shown as its source, as text.

use pulldown_latex::config::DisplayMode;
use pulldown_latex::{push_mathml, Parser, RenderConfig, Storage};
use std::borrow::Cow;

/// The longest formula rendered; a longer one is shown as its source.
pub const MAX_FORMULA_BYTES: usize = 16 * 1024;

/// MathML Core elements the renderer may produce; any other is refused.
const ELEMENTS: &[&str] = &[
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "mpadded",
    "mphantom",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mmultiscripts",
    "mprescripts",
    "none",
    "mtable",
    "mtr",
    "mtd",
    "menclose",
    "merror",
];

/// Attributes the renderer may set (`style` is then dropped); `on*`, `href`,
/// `src`, `class` and the like never pass.
const ATTRIBUTES: &[&str] = &[
    "display",
    "encoding",
    "displaystyle",
    "scriptlevel",
    "mathvariant",
    "stretchy",
    "symmetric",
    "largeop",
    "movablelimits",
    "accent",
    "accentunder",
    "fence",
    "separator",
    "form",
    "lspace",
    "rspace",
    "minsize",
    "maxsize",
    "linethickness",
    "width",
    "height",
    "depth",
    "voffset",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "frame",
    "framespacing",
    "notation",
    "mathcolor",
    "mathbackground",
    "mathsize",
    "dir",
    "style",
    "xmlns",
];

/// Renders one formula (without its delimiters) to MathML, with the source
/// kept as a TeX annotation for copying; `None` when it does not parse or the
/// result does not pass the allowlist.
pub fn render_formula(latex: &str, display: bool) -> Option<String> {
    let latex = latex.trim();
    if latex.is_empty() || latex.len() > MAX_FORMULA_BYTES {
        return None;
    }
    let storage = Storage::new();
    let events: Vec<_> = Parser::new(latex, &storage).collect();
    if events.iter().any(Result::is_err) {
        return None;
    }
    // The renderer writes the annotation as given: escape it here.
    let annotation = escape_text(latex);
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        annotation: Some(&annotation),
        ..RenderConfig::default()
    };
    let mut out = String::with_capacity(latex.len() * 8);
    push_mathml(&mut out, events.into_iter(), config).ok()?;
    clean_mathml(&out)
}

/// The HTML shown for a formula: its MathML, or its source as escaped text
/// (with the delimiters it was written with) when it cannot be rendered.
pub fn formula_html(latex: &str, display: bool) -> String {
    match render_formula(latex, display) {
        Some(m) => m,
        None => {
            let (open, close) = if display { ("$$", "$$") } else { ("$", "$") };
            format!(
                "<code class=\"math-source\">{open}{}{close}</code>",
                escape_text(latex)
            )
        }
    }
}

/// Escapes text for an HTML text or attribute position.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `html` with its `style` attributes dropped (the window's CSP would ignore
/// them, and a shared page should not differ), when every tag is an
/// allowlisted MathML element with only allowlisted attributes; else `None`.
fn clean_mathml(html: &str) -> Option<String> {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        out.push_str(&html[i..i + off]);
        let tag_start = i + off;
        i = tag_start + 1;
        if b.get(i) == Some(&b'/') {
            i += 1;
        }
        let name_end = i + b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if !ELEMENTS.contains(&&html[i..name_end]) {
            return None;
        }
        out.push_str(&html[tag_start..name_end]);
        i = name_end;
        // Attributes: name="value" pairs up to '>' (values are always quoted).
        loop {
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            match b.get(i) {
                Some(b'>') => {
                    out.push('>');
                    i += 1;
                    break;
                }
                Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                    out.push_str("/>");
                    i += 2;
                    break;
                }
                None => return None,
                _ => {}
            }
            let an_end = i + b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
                .count();
            let name = &html[i..an_end];
            if !ATTRIBUTES.contains(&name) || b.get(an_end) != Some(&b'=') {
                return None;
            }
            let q = an_end + 1;
            if b.get(q) != Some(&b'"') {
                return None;
            }
            let len = memchr::memchr(b'"', &b[q + 1..])?;
            let end = q + 1 + len + 1;
            if name != "style" {
                out.push(' ');
                out.push_str(&html[i..end]);
            }
            i = end;
        }
    }
    out.push_str(&html[i..]);
    Some(out)
}

/// Rewrites `\(…\)` to `$…$` and `\[…\]` to `$$…$$` outside code, so the
/// markdown parser's math support sees one syntax. Text without `\(` or `\[`
/// is returned as is.
pub fn normalize_delimiters(md: &str) -> Cow<'_, str> {
    if !md.contains("\\(") && !md.contains("\\[") {
        return Cow::Borrowed(md);
    }
    let mut out = String::with_capacity(md.len());
    let mut fence: Option<(u8, usize)> = None;
    for line in md.split_inclusive('\n') {
        let t = line.trim_start_matches(' ');
        let indent = line.len() - t.len();
        let run_ch = t.as_bytes().first().copied();
        let run = t.bytes().take_while(|&c| Some(c) == run_ch).count();
        let is_fence = indent <= 3 && matches!(run_ch, Some(b'`' | b'~')) && run >= 3;
        match fence {
            Some((ch, len)) => {
                if is_fence && run_ch == Some(ch) && run >= len && t[run..].trim().is_empty() {
                    fence = None;
                }
                out.push_str(line);
                continue;
            }
            None if is_fence => {
                fence = run_ch.map(|c| (c, run));
                out.push_str(line);
                continue;
            }
            None => {}
        }
        rewrite_line(line, &mut out);
    }
    Cow::Owned(out)
}

/// One line outside fences: code spans are copied as they are, and a
/// delimiter pair on the line becomes dollars.
fn rewrite_line(line: &str, out: &mut String) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'`' => {
                let run = b[i..].iter().take_while(|&&c| c == b'`').count();
                let ticks = &line[i..i + run];
                let close = line[i + run..].find(ticks).map(|p| i + run + p + run);
                let end = close.unwrap_or(i + run);
                out.push_str(&line[i..end]);
                i = end;
            }
            b'\\' if matches!(b.get(i + 1), Some(b'(' | b'[')) => {
                let display = b[i + 1] == b'[';
                let closer = if display { "\\]" } else { "\\)" };
                match line[i + 2..].find(closer) {
                    Some(p) => {
                        let inner = line[i + 2..i + 2 + p].trim();
                        let d = if display { "$$" } else { "$" };
                        out.push_str(d);
                        out.push_str(inner);
                        out.push_str(d);
                        i += 2 + p + 2;
                    }
                    None => {
                        out.push_str(&line[i..i + 2]);
                        i += 2;
                    }
                }
            }
            b'\\' => {
                // An escaped character (`\\(` is a backslash and a paren).
                let n = line[i + 1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&line[i..i + 1 + n]);
                i += 1 + n;
            }
            _ => {
                let n = b[i..]
                    .iter()
                    .take_while(|&&c| c != b'`' && c != b'\\')
                    .count();
                out.push_str(&line[i..i + n]);
                i += n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_mathml_with_their_source() {
        let m = render_formula("x^2 + y^2 = z^2", false).expect("renders");
        assert!(m.starts_with("<math"), "{m}");
        assert!(m.contains("<msup>"), "{m}");
        assert!(
            m.contains("<annotation encoding=\"application/x-tex\">x^2 + y^2 = z^2</annotation>")
        );
        let d = render_formula("\\frac{a}{b}", true).expect("renders");
        assert!(d.contains("display=\"block\""), "{d}");
        assert!(d.contains("<mfrac>"), "{d}");
    }

    #[test]
    fn a_formula_that_fails_shows_its_source() {
        assert_eq!(render_formula("\\frac{a", false), None);
        assert_eq!(
            formula_html("\\frac{a", false),
            "<code class=\"math-source\">$\\frac{a$</code>"
        );
    }

    #[test]
    fn hostile_formulas_never_make_markup() {
        for src in [
            "</annotation><img src=x onerror=alert(1)>",
            "\\text{<script>alert(1)</script>}",
            "\\href{javascript:alert(1)}{x}",
            "x\" onload=\"alert(1)",
            "\\style{background:url(http://e.com)}{x}",
        ] {
            let html = formula_html(src, false);
            match html.strip_prefix("<code class=\"math-source\">") {
                // Shown as its source: escaped text, no markup inside.
                Some(inner) => assert!(!inner.trim_end_matches("</code>").contains('<'), "{html}"),
                None => {
                    assert_eq!(clean_mathml(&html).as_deref(), Some(html.as_str()), "{src}");
                    assert!(
                        !html.contains("<script") && !html.contains("<img"),
                        "{html}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_allowlist_refuses_foreign_markup_and_drops_styles() {
        assert_eq!(
            clean_mathml("<math><mi>x</mi></math>").as_deref(),
            Some("<math><mi>x</mi></math>")
        );
        assert_eq!(clean_mathml("<math><img src=\"x\"></math>"), None);
        assert_eq!(clean_mathml("<math onclick=\"x\"><mi>x</mi></math>"), None);
        assert_eq!(clean_mathml("<math><mi"), None);
        assert_eq!(
            clean_mathml("<math display=\"block\"><mi style=\"color: red\">x</mi></math>")
                .as_deref(),
            Some("<math display=\"block\"><mi>x</mi></math>")
        );
        let colored = render_formula("\\color{red}{x} \\hspace{1em} y", false).expect("renders");
        assert!(!colored.contains("style="), "{colored}");
    }

    #[test]
    fn bracket_delimiters_become_dollars_outside_code() {
        assert_eq!(normalize_delimiters("a \\( x^2 \\) b"), "a $x^2$ b");
        assert_eq!(normalize_delimiters("\\[\\int f\\]"), "$$\\int f$$");
        assert_eq!(normalize_delimiters("`\\(x\\)`"), "`\\(x\\)`");
        assert_eq!(
            normalize_delimiters("```\n\\(x\\)\n```\n\\(y\\)"),
            "```\n\\(x\\)\n```\n$y$"
        );
        assert_eq!(normalize_delimiters("\\\\(x\\)"), "\\\\(x\\)");
        assert_eq!(
            normalize_delimiters("no close \\( here"),
            "no close \\( here"
        );
        assert!(matches!(
            normalize_delimiters("plain $x$"),
            Cow::Borrowed(_)
        ));
    }
}
