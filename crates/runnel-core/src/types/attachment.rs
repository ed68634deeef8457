//! A file attached to a user message, as it is sent and stored: an image
//! already oriented, stripped of metadata and within the providers' limits;
//! a text file's text; a PDF's bytes and extracted text.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What an attachment is, which decides how each protocol sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    /// PNG, JPEG, WebP or GIF: an image part or block.
    Image,
    /// UTF-8 text (code, data, SVG source): a fenced block in the text.
    Text,
    /// A PDF: its text, or a document block where the provider takes it.
    Pdf,
}

impl AttachmentKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Text => "text",
            Self::Pdf => "pdf",
        }
    }

    /// The kind a stored name means; `None` for a name this build does not know.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(Self::Image),
            "text" => Some(Self::Text),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// One attached file, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file's name as shown (no directories, no control characters).
    pub name: String,
    /// What it is.
    pub kind: AttachmentKind,
    /// Its media type as sent (`image/png`, `text/plain`, `application/pdf`).
    pub mime: String,
    /// Hex SHA-256 of `data`: the key of its stored blob.
    pub sha256: String,
    /// The bytes sent: the re-encoded image, the PDF, or the text as UTF-8.
    pub data: Arc<[u8]>,
    /// A text file's text, or a PDF's extracted text.
    pub text: Option<String>,
    /// An image's size in pixels as sent.
    pub size_px: Option<(u32, u32)>,
}

impl Attachment {
    /// The text the model is given for a text file or a PDF read as text:
    /// the file name, then its text in a fence longer than any backtick run
    /// inside it (so the file cannot close the fence early).
    pub fn as_fenced_text(&self) -> Option<String> {
        let text = self.text.as_deref()?;
        let longest = longest_run(text, '`');
        let fence = "`".repeat(longest.max(2) + 1);
        let lang = match self.kind {
            AttachmentKind::Text => language_of(&self.name),
            _ => "",
        };
        let mut out = String::with_capacity(text.len() + self.name.len() + 32);
        out.push_str(&self.name);
        out.push_str(":\n");
        out.push_str(&fence);
        out.push_str(lang);
        out.push('\n');
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&fence);
        Some(out)
    }

    /// The bytes as base64 (for a data URL or a base64 source block).
    pub fn base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&self.data)
    }
}

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for ch in s.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// The fence language for a file name's extension (`main.rs` is `rust`).
pub fn language_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "rs" => "rust",
        "py" => "python",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" | "tsx" => "typescript",
        "go" => "go",
        "c" | "h" => "c",
        "cc" | "cpp" | "hpp" | "cxx" => "cpp",
        "java" => "java",
        "rb" => "ruby",
        "sh" | "bash" => "bash",
        "json" => "json",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "md" => "markdown",
        "html" | "htm" => "html",
        "css" => "css",
        "sql" => "sql",
        "xml" | "svg" => "xml",
        "csv" => "csv",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_file(name: &str, text: &str) -> Attachment {
        Attachment {
            name: name.into(),
            kind: AttachmentKind::Text,
            mime: "text/plain".into(),
            sha256: String::new(),
            data: Arc::from(text.as_bytes()),
            text: Some(text.into()),
            size_px: None,
        }
    }

    #[test]
    fn a_text_file_is_a_fence_it_cannot_close() {
        let f = text_file("notes.md", "a\n```\nb");
        let fenced = f.as_fenced_text().expect("text");
        assert_eq!(fenced, "notes.md:\n````markdown\na\n```\nb\n````");
        let f = text_file("main.rs", "fn main() {}\n");
        assert_eq!(
            f.as_fenced_text().expect("text"),
            "main.rs:\n```rust\nfn main() {}\n```"
        );
    }

    #[test]
    fn kinds_round_trip_and_unknown_names_are_none() {
        for k in [
            AttachmentKind::Image,
            AttachmentKind::Text,
            AttachmentKind::Pdf,
        ] {
            assert_eq!(AttachmentKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AttachmentKind::parse("video"), None);
    }
}
