//! Files into attachments: what a file is, decided by its bytes (never its
//! name); images oriented, stripped and fitted to the providers' limits
//! ([`image`]); PDFs read for their text ([`pdf`]); text checked as UTF-8.
//! Every limit is a named constant and every refusal names the file and
//! the limit. Nothing here knows a protocol: each protocol decides how an
//! attachment goes over the wire.

pub mod image;
pub mod pdf;

use crate::types::attachment::{Attachment, AttachmentKind};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Most files one message takes.
pub const MAX_ATTACHMENTS: usize = 10;
/// The largest file read at all (an image larger than this is refused
/// before it is decoded; a 20 MB photo is read and downscaled).
pub const MAX_FILE_BYTES: u64 = 40 * 1024 * 1024;
/// The most text one text file or PDF gives (about 250,000 tokens).
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// The most bytes one message's attachments come to, as sent.
pub const MAX_MESSAGE_BYTES: usize = 24 * 1024 * 1024;
/// The longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// Why a file was not attached. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The file could not be read.
    #[error("{name}: could not read it: {source}")]
    Read {
        /// The file.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is over [`MAX_FILE_BYTES`].
    #[error("{name} is {size_mb:.1} MB: files over {max_mb} MB are not attached")]
    TooLarge {
        /// The file.
        name: String,
        /// Its size.
        size_mb: f64,
        /// The limit.
        max_mb: u64,
    },
    /// Its text is over [`MAX_TEXT_BYTES`].
    #[error("{name} has {size_kb} KB of text: at most {max_kb} KB of text goes with a message")]
    TextTooLarge {
        /// The file.
        name: String,
        /// Its text's size.
        size_kb: usize,
        /// The limit.
        max_kb: usize,
    },
    /// Not an image, PDF or UTF-8 text.
    #[error("{name}: {what} cannot be attached (images, PDFs and text files can)")]
    Unsupported {
        /// The file.
        name: String,
        /// What it seems to be.
        what: &'static str,
    },
    /// An image that does not decode, or is too large to decode safely.
    #[error("{name}: the image could not be read ({reason})")]
    BadImage {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
    /// A PDF that could not be read.
    #[error("{name}: the PDF could not be read ({reason})")]
    BadPdf {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
    /// More than [`MAX_ATTACHMENTS`] files.
    #[error("{count} files: at most {max} go with one message")]
    TooMany {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The files together are over [`MAX_MESSAGE_BYTES`].
    #[error("the files come to {size_mb:.1} MB as sent: one message takes at most {max_mb} MB")]
    TotalTooLarge {
        /// Their size.
        size_mb: f64,
        /// The limit.
        max_mb: usize,
    },
}

/// Reads and prepares the file at `path`.
pub fn from_path(path: &Path) -> Result<Attachment, AttachError> {
    let name = clean_name(
        &path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
    );
    let read_err = |source| AttachError::Read {
        name: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(&name, size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // Read at most one byte past the limit: a file growing meanwhile is caught too.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(&name, bytes.len() as u64));
    }
    from_bytes(&name, &bytes)
}

fn too_large(name: &str, size: u64) -> AttachError {
    AttachError::TooLarge {
        name: name.to_owned(),
        size_mb: size as f64 / 1_048_576.0,
        max_mb: MAX_FILE_BYTES / 1_048_576,
    }
}

/// Prepares a file given as bytes (a paste, a drop), named `name`.
pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Attachment, AttachError> {
    let name = clean_name(name);
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(&name, bytes.len() as u64));
    }
    match sniff(bytes) {
        Sniffed::Image => {
            let img = image::prepare(bytes).map_err(|reason| AttachError::BadImage {
                name: name.clone(),
                reason,
            })?;
            Ok(build(
                name,
                AttachmentKind::Image,
                img.mime,
                img.data,
                None,
                Some(img.size_px),
            ))
        }
        Sniffed::Pdf => {
            let text = pdf::extract_text(bytes).map_err(|reason| AttachError::BadPdf {
                name: name.clone(),
                reason,
            })?;
            check_text_size(&name, text.len())?;
            let text = (!text.trim().is_empty()).then_some(text);
            Ok(build(
                name,
                AttachmentKind::Pdf,
                "application/pdf",
                bytes.to_vec(),
                text,
                None,
            ))
        }
        Sniffed::Text(text) => {
            check_text_size(&name, text.len())?;
            let text = text.to_owned();
            Ok(build(
                name,
                AttachmentKind::Text,
                "text/plain",
                text.as_bytes().to_vec(),
                Some(text),
                None,
            ))
        }
        Sniffed::Other(what) => Err(AttachError::Unsupported { name, what }),
    }
}

/// Checks one message's attachments together: how many, and their size.
pub fn check_message(list: &[Attachment]) -> Result<(), AttachError> {
    if list.len() > MAX_ATTACHMENTS {
        return Err(AttachError::TooMany {
            count: list.len(),
            max: MAX_ATTACHMENTS,
        });
    }
    let total: usize = list.iter().map(|a| a.data.len()).sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(AttachError::TotalTooLarge {
            size_mb: total as f64 / 1_048_576.0,
            max_mb: MAX_MESSAGE_BYTES / 1_048_576,
        });
    }
    Ok(())
}

fn check_text_size(name: &str, len: usize) -> Result<(), AttachError> {
    if len > MAX_TEXT_BYTES {
        return Err(AttachError::TextTooLarge {
            name: name.to_owned(),
            size_kb: len.div_ceil(1024),
            max_kb: MAX_TEXT_BYTES / 1024,
        });
    }
    Ok(())
}

fn build(
    name: String,
    kind: AttachmentKind,
    mime: &str,
    data: Vec<u8>,
    text: Option<String>,
    size_px: Option<(u32, u32)>,
) -> Attachment {
    Attachment {
        sha256: sha256_hex(&data),
        name,
        kind,
        mime: mime.to_owned(),
        data: Arc::from(data),
        text,
        size_px,
    }
}

/// A stored or staged image's thumbnail as a `data:` URL for the window
/// (see [`image::thumbnail`]): the web view never gets the full image.
pub fn thumbnail_url(bytes: &[u8]) -> Result<String, String> {
    use base64::Engine as _;
    let (data, mime) = image::thumbnail(bytes)?;
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(data)
    ))
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

enum Sniffed<'a> {
    Image,
    Pdf,
    Text(&'a str),
    Other(&'static str),
}

/// What the bytes are, by their first bytes (never by the name).
fn sniff(bytes: &[u8]) -> Sniffed<'_> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG)
        || bytes.starts_with(b"\xFF\xD8\xFF")
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
    {
        return Sniffed::Image;
    }
    if bytes.starts_with(b"%PDF-") {
        return Sniffed::Pdf;
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Sniffed::Other("an archive or office document");
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        // NUL bytes mean binary data, whatever the encoding says.
        Ok(text) if !text.contains('\0') => Sniffed::Text(text),
        _ => Sniffed::Other("a binary file"),
    }
}

/// A file name fit to show: the last path part, without control or
/// direction-changing characters, at most [`MAX_NAME_CHARS`]; "file" when
/// nothing is left.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Characters that reorder text on screen (a name could pose as another).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\evil.exe"), "evil.exe");
        assert_eq!(clean_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_name("a\nb\u{0}c"), "abc");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(&"x".repeat(500)).chars().count(), MAX_NAME_CHARS);
        assert_eq!(
            clean_name("<img src=x onerror=alert(1)>.png"),
            "<img src=x onerror=alert(1)>.png"
        );
    }

    #[test]
    fn what_a_file_is_comes_from_its_bytes_not_its_name() {
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        let a = from_bytes("picture.png", svg).expect("svg is text");
        assert_eq!(a.kind, AttachmentKind::Text);
        assert_eq!(a.mime, "text/plain");
        assert!(matches!(
            from_bytes("notes.txt", b"\x00\x01\x02binary"),
            Err(AttachError::Unsupported { .. })
        ));
        assert!(matches!(
            from_bytes("x.docx", b"PK\x03\x04rest"),
            Err(AttachError::Unsupported {
                what: "an archive or office document",
                ..
            })
        ));
        assert!(matches!(
            from_bytes("fake.png", b"\x89PNG\r\n\x1a\nnot really"),
            Err(AttachError::BadImage { .. })
        ));
    }

    #[test]
    fn limits_name_the_file_and_the_limit() {
        let big = "a".repeat(MAX_TEXT_BYTES + 1);
        let e = from_bytes("big.txt", big.as_bytes()).expect_err("too much text");
        assert!(
            e.to_string().starts_with("big.txt has 1025 KB of text"),
            "{e}"
        );
        let one = from_bytes("a.txt", b"hello").expect("text");
        let many = vec![one; MAX_ATTACHMENTS + 1];
        assert!(check_message(&many)
            .expect_err("too many")
            .to_string()
            .contains("at most 10"));
    }

    #[test]
    fn the_same_bytes_have_the_same_key() {
        let a = from_bytes("a.txt", b"same").expect("text");
        let b = from_bytes("b.txt", b"same").expect("text");
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.sha256.len(), 64);
    }
}
