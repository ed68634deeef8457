//! A PDF's text, for providers that take text only (and for search).
//! The reader is a kept Rust crate (pdf-extract); a damaged or hostile file
//! that makes it fail, or panic, is an error, never a crash.

/// Extracts a PDF's text; an error says why in a few words.
pub fn extract_text(bytes: &[u8]) -> Result<String, String> {
    // The reader has panicked on damaged files: keep that inside.
    let out = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
        .map_err(|_| "it is damaged, or uses a feature the reader does not know".to_owned())?;
    out.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_gives_its_text() {
        let pdf = runnel_testsupport::files::pdf_with_text("Pelicans scoop fish");
        let text = extract_text(&pdf).expect("text");
        assert!(text.contains("Pelicans scoop fish"), "{text:?}");
    }

    #[test]
    fn a_damaged_pdf_is_an_error_not_a_panic() {
        assert!(extract_text(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer").is_err());
        assert!(extract_text(b"%PDF-").is_err());
    }
}
