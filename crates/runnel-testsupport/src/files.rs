//! Files to attach, made in the test: a real PDF with a text layer, images
//! with and without EXIF (orientation, a description, a GPS position), and
//! noise that does not compress.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::ImageEncoder;

/// The description written into [`jpeg_with_exif`]'s EXIF block: a test
/// asserts it never leaves the machine.
pub const EXIF_CANARY: &[u8] = b"GPS-CANARY";

/// A one-page PDF 1.4 whose text layer reads `text` (ASCII, no parentheses
/// or backslashes), in Helvetica, with a correct cross-reference table.
pub fn pdf_with_text(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A PNG of `w`x`h` random pixels (about 3 bytes a pixel: noise does not compress).
pub fn png_noise(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let raw: Vec<u8> = (0..w * h * 3).map(|_| rng.u8(..)).collect();
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&raw, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode png");
    png
}

/// A small PNG of one colour (with alpha when `alpha` is below 255).
pub fn png_solid(w: u32, h: u32, rgba: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(rgba));
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
        .expect("encode png");
    png
}

/// A JPEG `w`x`h`, its left half dark, with an EXIF block holding
/// `orientation`, [`EXIF_CANARY`] as its description, and a GPS position.
pub fn jpeg_with_exif(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let mut img = image::RgbImage::new(w, h);
    for (x, _, p) in img.enumerate_pixels_mut() {
        *p = if x < w / 2 {
            image::Rgb([10, 10, 10])
        } else {
            image::Rgb([240, 240, 240])
        };
    }
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 90);
    enc.set_exif_metadata(exif(orientation)).expect("exif");
    enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode jpeg");
    out
}

/// A little-endian TIFF block: IFD0 with Orientation, ImageDescription and
/// a GPS IFD pointer; the GPS IFD with a latitude reference.
fn exif(orientation: u16) -> Vec<u8> {
    fn entry(t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    }
    const SHORT: u16 = 3;
    const ASCII: u16 = 2;
    const LONG: u16 = 4;
    let mut desc = EXIF_CANARY.to_vec();
    desc.push(0);
    let ifd0_at = 8u32;
    let desc_at = ifd0_at + 2 + 3 * 12 + 4;
    let gps_at = desc_at + desc.len() as u32;
    let mut t: Vec<u8> = b"II\x2a\x00".to_vec();
    t.extend_from_slice(&ifd0_at.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    let o = orientation.to_le_bytes();
    entry(&mut t, 0x0112, SHORT, 1, [o[0], o[1], 0, 0]);
    entry(
        &mut t,
        0x010E,
        ASCII,
        desc.len() as u32,
        desc_at.to_le_bytes(),
    );
    entry(&mut t, 0x8825, LONG, 1, gps_at.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&desc);
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x0001, ASCII, 2, *b"N\0\0\0");
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

/// Overwrites one page in the middle of the SQLite database at `db` (its
/// WAL checkpointed first) with a pattern: a file that still opens but
/// fails SQLite's checks, as a bad disk sector would leave it.
pub fn damage_a_middle_page(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    let page: usize = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .expect("page size") as usize;
    drop(conn);
    let mut bytes = std::fs::read(db).expect("read");
    let pages = bytes.len() / page;
    assert!(
        pages > 8,
        "too small to damage a middle page: {pages} pages"
    );
    let at = pages / 2 * page;
    for (i, b) in bytes[at..at + page].iter_mut().enumerate() {
        *b = if i % 2 == 0 { 0xff } else { 0x13 };
    }
    std::fs::write(db, bytes).expect("write");
}

/// simonw/llm's `logs.db` tables as its migrations leave them (the columns
/// Runnel reads and those beside them), for hand-made test databases.
pub const LLM_LOGS_SCHEMA: &str = "
CREATE TABLE [_llm_migrations] ([name] TEXT PRIMARY KEY, [applied_at] TEXT);
CREATE TABLE [conversations] ([id] TEXT PRIMARY KEY, [name] TEXT, [model] TEXT);
CREATE TABLE [responses] (
  [id] TEXT PRIMARY KEY,
  [model] TEXT,
  [prompt] TEXT,
  [system] TEXT,
  [prompt_json] TEXT,
  [options_json] TEXT,
  [response] TEXT,
  [response_json] TEXT,
  [conversation_id] TEXT REFERENCES [conversations]([id]),
  [duration_ms] INTEGER,
  [datetime_utc] TEXT,
  [input_tokens] INTEGER,
  [output_tokens] INTEGER,
  [token_details] TEXT,
  [schema_id] TEXT,
  [resolved_model] TEXT
);
";

/// The tables llm 0.32 and later write (threads of hashed messages and their
/// parts), as its migrations leave them, for hand-made test databases.
pub const LLM_THREADS_SCHEMA: &str = "
CREATE TABLE [threads] ([id] TEXT PRIMARY KEY, [name] TEXT, [tip_message_hash] TEXT, [forked_from] TEXT, [datetime_utc] TEXT);
CREATE TABLE [messages] ([hash] TEXT PRIMARY KEY, [parent_hash] TEXT, [role] TEXT, [provider_metadata] TEXT);
CREATE TABLE [parts] ([id] INTEGER PRIMARY KEY, [message_hash] TEXT REFERENCES [messages]([hash]), [position] INTEGER,
  [type] TEXT, [tool_name] TEXT, [text] TEXT, [payload] TEXT);
CREATE TABLE [turns] ([id] TEXT PRIMARY KEY, [thread_id] TEXT REFERENCES [threads]([id]), [parent_message_hash] TEXT,
  [tip_message_hash] TEXT, [model] TEXT, [resolved_model] TEXT, [options_json] TEXT, [schema_id] TEXT,
  [input_tokens] INTEGER, [output_tokens] INTEGER, [token_details] TEXT, [duration_ms] INTEGER,
  [datetime_utc] TEXT, [response_json] TEXT);
";

/// A .zip of `entries` (name, bytes), deflated, as an app's export is.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}
