//! Images as the providers take them: decoded within memory limits, turned
//! upright by their EXIF orientation, downscaled to [`MAX_SIDE`] and
//! re-encoded under [`MAX_IMAGE_BYTES`]. Re-encoding writes pixels only, so
//! every piece of metadata (EXIF with GPS position, XMP, comments) is gone.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView, ImageDecoder, ImageEncoder, ImageReader, Limits};
use std::io::Cursor;

/// The longest side sent: OpenAI's high detail works within 2048 px, and
/// Anthropic scales anything over 1568 px down itself.
pub const MAX_SIDE: u32 = 2048;
/// The most bytes one image is sent as: Anthropic takes 5 MB of base64,
/// which is 3.75 MB of image.
pub const MAX_IMAGE_BYTES: usize = 3_750_000;
/// The largest side decoded at all (a 1 KB file can claim 100,000 px).
pub const MAX_DECODE_SIDE: u32 = 16_384;
/// The most memory one decode may take.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// JPEG quality of a re-encoded photo.
pub const JPEG_QUALITY: u8 = 88;
/// Each retry when an encoded image is still over [`MAX_IMAGE_BYTES`]
/// shrinks its sides to this fraction (in percent).
const SHRINK_PERCENT: u32 = 75;
/// A side below which shrinking stops (the image is refused instead).
const MIN_SIDE: u32 = 64;
/// The longest side of a thumbnail: drawn at half that in the window, so it
/// stays sharp on a 2x screen.
pub const THUMB_SIDE: u32 = 192;
/// JPEG quality of a thumbnail.
const THUMB_QUALITY: u8 = 80;

/// A prepared image.
pub struct Prepared {
    /// The encoded bytes.
    pub data: Vec<u8>,
    /// `image/png` or `image/jpeg`.
    pub mime: &'static str,
    /// Width and height as sent.
    pub size_px: (u32, u32),
}

/// Decodes, orients, fits and re-encodes an image (PNG, JPEG, GIF's first
/// frame, WebP). Images with transparency stay PNG; others become JPEG.
pub fn prepare(bytes: &[u8]) -> Result<Prepared, String> {
    let mut img = decode(bytes)?;
    let keep_alpha = img.color().has_alpha();
    let (w, h) = img.dimensions();
    if w.max(h) > MAX_SIDE {
        img = img.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle);
    }
    loop {
        let data = encode(&img, keep_alpha, JPEG_QUALITY)?;
        let (w, h) = img.dimensions();
        if data.len() <= MAX_IMAGE_BYTES {
            return Ok(Prepared {
                data,
                mime: if keep_alpha {
                    "image/png"
                } else {
                    "image/jpeg"
                },
                size_px: (w, h),
            });
        }
        let (nw, nh) = (w * SHRINK_PERCENT / 100, h * SHRINK_PERCENT / 100);
        if nw.min(nh) < MIN_SIDE {
            return Err(format!(
                "it stays over {} MB even when small",
                MAX_IMAGE_BYTES / 1_000_000
            ));
        }
        img = img.resize_exact(nw, nh, FilterType::Triangle);
    }
}

/// A small picture of an image for the window (a chip on the composer or
/// on a sent message): at most [`THUMB_SIDE`] a side, decoded within the
/// same limits as [`prepare`], JPEG unless it has transparency (then PNG).
/// Returns the bytes and their media type.
pub fn thumbnail(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), String> {
    let mut img = decode(bytes)?;
    // Shrunk, never enlarged.
    if img.width().max(img.height()) > THUMB_SIDE {
        img = img.thumbnail(THUMB_SIDE, THUMB_SIDE);
    }
    let alpha = img.color().has_alpha();
    let data = encode(&img, alpha, THUMB_QUALITY)?;
    Ok((data, if alpha { "image/png" } else { "image/jpeg" }))
}

/// Decodes an image within [`MAX_DECODE_SIDE`] and [`MAX_DECODE_BYTES`],
/// turned upright by its EXIF orientation; an alpha channel no pixel uses
/// is dropped.
fn decode(bytes: &[u8]) -> Result<DynamicImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let alpha = decoder.color_type().has_alpha();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    if alpha && is_opaque(&img) {
        img = DynamicImage::ImageRgb8(img.to_rgb8());
    }
    Ok(img)
}

/// True when every pixel is fully opaque (a PNG saved with an unused alpha).
fn is_opaque(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgba8(b) => b.pixels().all(|p| p.0[3] == u8::MAX),
        DynamicImage::ImageLumaA8(b) => b.pixels().all(|p| p.0[1] == u8::MAX),
        _ => false,
    }
}

/// PNG with alpha, else JPEG at `quality`.
fn encode(img: &DynamicImage, alpha: bool, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let (w, h) = img.dimensions();
    if alpha {
        let rgba = img.to_rgba8();
        PngEncoder::new(&mut out)
            .write_image(rgba.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .map_err(|e| e.to_string())?;
    } else {
        let rgb = img.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, quality)
            .write_image(rgb.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runnel_testsupport::files::{jpeg_with_exif, png_noise, png_solid, EXIF_CANARY};

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn exif_orientation_is_applied_and_metadata_stripped() {
        let src = jpeg_with_exif(40, 20, 6);
        assert!(contains(&src, EXIF_CANARY), "the fixture has it");
        let p = prepare(&src).expect("prepare");
        // Orientation 6 is a quarter turn clockwise: 40x20 comes out 20x40.
        assert_eq!(p.size_px, (20, 40));
        assert_eq!(p.mime, "image/jpeg");
        assert!(!contains(&p.data, EXIF_CANARY), "description gone");
        assert!(!contains(&p.data, b"Exif"), "no EXIF block at all");
        // The dark left half is now on top.
        let out = image::load_from_memory(&p.data).expect("decode").to_luma8();
        assert!(out.get_pixel(10, 5).0[0] < 60, "top is dark");
        assert!(out.get_pixel(10, 35).0[0] > 180, "bottom is light");
    }

    #[test]
    fn a_20_mb_image_is_downscaled_under_the_limits() {
        let png = png_noise(2900, 2300, 7);
        assert!(png.len() > 19_000_000, "{}", png.len());
        let p = prepare(&png).expect("prepare");
        assert!(p.size_px.0.max(p.size_px.1) <= MAX_SIDE, "{:?}", p.size_px);
        assert!(p.data.len() <= MAX_IMAGE_BYTES, "{}", p.data.len());
        assert_eq!(p.mime, "image/jpeg", "opaque: a photo format");
    }

    #[test]
    fn transparency_stays_png_and_a_decompression_bomb_is_refused() {
        assert_eq!(
            prepare(&png_solid(8, 8, [1, 2, 3, 100]))
                .expect("prepare")
                .mime,
            "image/png"
        );
        assert_eq!(
            prepare(&png_solid(8, 8, [1, 2, 3, 255]))
                .expect("prepare")
                .mime,
            "image/jpeg"
        );
        // A PNG header claiming 100,000 x 100,000 pixels.
        let mut bomb = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        bomb.extend_from_slice(&100_000u32.to_be_bytes());
        bomb.extend_from_slice(&100_000u32.to_be_bytes());
        bomb.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert!(prepare(&bomb).is_err());
    }

    #[test]
    fn a_thumbnail_is_small_upright_and_keeps_transparency() {
        let (jpeg, mime) = thumbnail(&png_noise(900, 300, 3)).expect("thumbnail");
        assert_eq!(mime, "image/jpeg");
        let t = image::load_from_memory(&jpeg).expect("decode");
        assert_eq!(t.dimensions(), (THUMB_SIDE, THUMB_SIDE / 3), "aspect kept");
        // Orientation 6 turns 40x20 into 20x40; small images are not enlarged.
        let (upright, _) = thumbnail(&jpeg_with_exif(40, 20, 6)).expect("thumbnail");
        let t = image::load_from_memory(&upright).expect("decode");
        assert_eq!(t.dimensions(), (20, 40));
        assert!(!contains(&upright, EXIF_CANARY));
        let (png, mime) = thumbnail(&png_solid(400, 400, [9, 9, 9, 10])).expect("thumbnail");
        assert_eq!(mime, "image/png");
        assert!(image::load_from_memory(&png)
            .expect("decode")
            .color()
            .has_alpha());
        assert!(thumbnail(b"not an image").is_err());
    }
}
