//! A conversation as one self-contained HTML page to share: rendered
//! markdown, highlighted code and MathML exactly as the window shows them,
//! light or dark by the reader's system, and no script at all. The page's
//! own Content-Security-Policy forbids scripts and every remote load, so
//! even a reader's browser fetches nothing.

use super::markdown::render;
use super::math::escape_text;
use crate::store::{AttachmentRow, Store, StoreError, WHOLE_CONVERSATION};
use crate::types::attachment::AttachmentKind;
use crate::types::chat::Role;
use crate::types::status::MessageStatus;

/// The page's stylesheet, inlined in its `<style>`.
const PAGE_CSS: &str = include_str!("page.css");

/// What the page allows: inline styles and data images, nothing else.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// One attached file on the page: an image inline (a data URL, so the page
/// stays one file), any other file as its name and size.
fn push_file(store: &Store, f: &AttachmentRow, out: &mut String) -> Result<(), StoreError> {
    use base64::Engine as _;
    let name = escape_text(&f.name);
    if f.kind == AttachmentKind::Image && matches!(f.mime.as_str(), "image/png" | "image/jpeg") {
        let data = store.blob(&f.sha256)?;
        out.push_str(&format!(
            "<img class=\"attachment\" alt=\"{name}\" src=\"data:{};base64,{}\">\n",
            f.mime,
            base64::engine::general_purpose::STANDARD.encode(data)
        ));
    } else {
        out.push_str(&format!(
            "<p class=\"file\">{name} ({} KB)</p>\n",
            f.size.div_ceil(1024)
        ));
    }
    Ok(())
}

/// The conversation as an HTML page (the shown versions, as in Markdown export).
pub fn conversation_page(store: &Store, id: &str) -> Result<String, StoreError> {
    let c = store.conversation(id)?;
    let messages = store.messages(id, None, WHOLE_CONVERSATION)?;
    let mut files = store.attachments_by_message(id)?;
    let body_guess: usize = messages.iter().map(|m| m.content.len() * 2).sum();
    let mut out = String::with_capacity(PAGE_CSS.len() + body_guess + 1024);
    let title = escape_text(&c.title);
    out.push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{PAGE_CSP}\">\n"
    ));
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    out.push_str("<meta name=\"generator\" content=\"Runnel\">\n");
    out.push_str(&format!(
        "<title>{title}</title>\n<style>\n{PAGE_CSS}</style>\n"
    ));
    out.push_str("</head>\n<body>\n<main>\n");
    out.push_str(&format!("<h1>{title}</h1>\n"));
    let model = c.model.as_deref().unwrap_or("");
    if !model.is_empty() {
        out.push_str(&format!("<p class=\"meta\">{}</p>\n", escape_text(model)));
    }
    if !c.system_prompt.trim().is_empty() {
        out.push_str(&format!(
            "<div class=\"system\">{}</div>\n",
            escape_text(c.system_prompt.trim())
        ));
    }
    for m in &messages {
        if m.role == Role::User {
            out.push_str("<article class=\"user\">\n<div class=\"who\">You</div>\n");
            for f in files.remove(&m.id).unwrap_or_default() {
                push_file(store, &f, &mut out)?;
            }
            out.push_str(&format!(
                "<div class=\"text\">{}</div>\n</article>\n",
                escape_text(m.content.trim_end())
            ));
            continue;
        }
        let who = m.model.as_deref().unwrap_or("Assistant");
        out.push_str(&format!(
            "<article class=\"assistant\">\n<div class=\"who\">{}</div>\n",
            escape_text(who)
        ));
        if let Some(r) = m.reasoning.as_deref().filter(|r| !r.is_empty()) {
            out.push_str(&format!(
                "<details><summary>Thinking</summary>{}</details>\n",
                escape_text(r)
            ));
        }
        out.push_str(&render(&m.content));
        for s in m.tool_steps.iter().flatten() {
            out.push_str(&format!(
                "<details class=\"tool\"><summary>Tool {} ({} ms{})</summary><pre>{}</pre><pre>{}</pre></details>\n",
                escape_text(&s.name),
                s.duration_ms,
                if s.is_error { ", error" } else { "" },
                escape_text(&s.arguments),
                escape_text(&s.result)
            ));
        }
        if m.status != MessageStatus::Done {
            out.push_str(&format!(
                "<p class=\"status\">({})</p>\n",
                escape_text(m.status.as_str())
            ));
        }
        out.push_str("</article>\n");
    }
    out.push_str("<footer>Exported from Runnel</footer>\n</main>\n</body>\n</html>\n");
    Ok(out)
}
