//! A GGUF file's header, read in Rust before llama.cpp ever sees the file:
//! magic, version, metadata (architecture, name, context length, chat
//! template, quantization) and the tensor table, which tells whether the file
//! holds all its data. A truncated, renamed or hostile file gets a clear error
//! and never an allocation its header asks for.

use std::io::{BufReader, Read};
use std::path::Path;

/// The four bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";
/// Longest metadata key read.
const MAX_KEY_BYTES: u64 = 64 * 1024;
/// Longest metadata string read (chat templates are a few KiB).
const MAX_STRING_BYTES: u64 = 16 * 1024 * 1024;
/// Most metadata entries, tensors, or array items a header may claim.
const MAX_COUNT: u64 = 100_000_000;
/// Most dimensions of one tensor.
const MAX_DIMS: u32 = 8;
/// Default alignment of the tensor data.
const DEFAULT_ALIGNMENT: u64 = 32;

/// What went wrong reading a GGUF file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not start with the GGUF magic.
    #[error("{path} is not a GGUF model file (it does not start with \"GGUF\")")]
    NotGguf {
        /// The file.
        path: String,
    },
    /// A version this reader does not know.
    #[error("{path} is GGUF version {version}; versions 2 and 3 are supported")]
    Version {
        /// The file.
        path: String,
        /// The version it claims.
        version: u32,
    },
    /// The file ends before its header or tensor data does.
    #[error("{path} is truncated ({detail}): download or copy it again")]
    Truncated {
        /// The file.
        path: String,
        /// What was missing.
        detail: String,
    },
    /// The header holds a value no GGUF writer produces.
    #[error("{path} has a damaged header: {detail}")]
    Damaged {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
}

/// What Runnel shows and uses of a model file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GgufInfo {
    /// GGUF version (2 or 3).
    pub version: u32,
    /// `general.architecture` (llama, qwen2, gemma3...).
    pub architecture: String,
    /// `general.name`, when set.
    pub name: Option<String>,
    /// `<architecture>.context_length`: the context the model was trained on.
    pub context_length: Option<u64>,
    /// `tokenizer.chat_template`, when the file carries one.
    pub chat_template: Option<String>,
    /// The quantization (`general.file_type`), as llama.cpp names it.
    pub quantization: Option<String>,
    /// `general.license`, when set.
    pub license: Option<String>,
    /// Number of tensors.
    pub tensors: u64,
    /// File size in bytes.
    pub file_size: u64,
}

/// Reads and checks the header of the GGUF file at `path`.
pub fn read(path: &Path) -> Result<GgufInfo, GgufError> {
    let name = path.display().to_string();
    let io = |source| GgufError::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    let mut r = Reader {
        inner: BufReader::with_capacity(256 * 1024, file),
        pos: 0,
        len: file_size,
        path: &name,
    };
    let mut magic = [0u8; 4];
    if file_size < 4 {
        return Err(GgufError::NotGguf { path: name });
    }
    r.bytes(&mut magic)?;
    if &magic != MAGIC {
        return Err(GgufError::NotGguf { path: name });
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version {
            path: name,
            version,
        });
    }
    let tensors = r.count("tensors")?;
    let entries = r.count("metadata entries")?;
    let mut info = GgufInfo {
        version,
        tensors,
        file_size,
        ..GgufInfo::default()
    };
    let mut context_lengths: Vec<(String, u64)> = Vec::new();
    let mut alignment = DEFAULT_ALIGNMENT;
    for _ in 0..entries {
        let key = r.string(MAX_KEY_BYTES, "key")?;
        let ty = r.u32()?;
        let wanted = matches!(
            key.as_str(),
            "general.architecture"
                | "general.name"
                | "general.license"
                | "tokenizer.chat_template"
                | "general.file_type"
                | "general.alignment"
        ) || key.ends_with(".context_length");
        if !wanted {
            r.skip_value(ty, 0)?;
            continue;
        }
        match (key.as_str(), ty) {
            ("general.architecture", STRING) => {
                info.architecture = r.string(MAX_STRING_BYTES, "value")?
            }
            ("general.name", STRING) => info.name = Some(r.string(MAX_STRING_BYTES, "value")?),
            ("general.license", STRING) => {
                info.license = Some(r.string(MAX_STRING_BYTES, "value")?)
            }
            ("tokenizer.chat_template", STRING) => {
                info.chat_template = Some(r.string(MAX_STRING_BYTES, "value")?)
            }
            ("general.file_type", _) => info.quantization = r.integer(ty)?.map(file_type_name),
            ("general.alignment", _) => {
                alignment = match r.integer(ty)? {
                    Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a,
                    _ => return Err(r.damaged("general.alignment is not a power of two".into())),
                }
            }
            (k, _) if k.ends_with(".context_length") => {
                if let Some(n) = r.integer(ty)? {
                    context_lengths.push((k.trim_end_matches(".context_length").to_owned(), n));
                }
            }
            _ => r.skip_value(ty, 0)?,
        }
    }
    if info.architecture.is_empty() {
        return Err(r.damaged("it names no architecture (general.architecture)".into()));
    }
    info.context_length = context_lengths
        .iter()
        .find(|(arch, _)| *arch == info.architecture)
        .map(|(_, n)| *n);
    // The tensor table: the file must hold every tensor's data.
    let mut data_end = 0u64;
    for _ in 0..tensors {
        let _name = r.string(MAX_KEY_BYTES, "tensor name")?;
        let dims = r.u32()?;
        if dims == 0 || dims > MAX_DIMS {
            return Err(r.damaged(format!("a tensor has {dims} dimensions")));
        }
        let mut elements: u64 = 1;
        for _ in 0..dims {
            elements = elements.saturating_mul(r.u64()?);
        }
        let ty = r.u32()?;
        let offset = r.u64()?;
        let bytes = tensor_bytes(ty, elements).unwrap_or(0);
        data_end = data_end.max(offset.saturating_add(bytes));
    }
    let data_start = r.pos.div_ceil(alignment).saturating_mul(alignment);
    let needed = data_start.saturating_add(data_end);
    if tensors > 0 && needed > file_size {
        return Err(GgufError::Truncated {
            path: name,
            detail: format!("its tensors need {needed} bytes, the file has {file_size}"),
        });
    }
    Ok(info)
}

const STRING: u32 = 8;
const ARRAY: u32 = 9;

/// Bytes of one fixed-size value type, None for string and array.
fn fixed_size(ty: u32) -> Option<u64> {
    Some(match ty {
        0 | 1 | 7 => 1, // u8, i8, bool
        2 | 3 => 2,     // u16, i16
        4..=6 => 4,     // u32, i32, f32
        10..=12 => 8,   // u64, i64, f64
        _ => return None,
    })
}

/// (bytes, elements) of one block of a ggml tensor type, where known.
fn block(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (4, 1),        // F32
        1 | 30 => (2, 1),   // F16, BF16
        2 | 20 => (18, 32), // Q4_0, IQ4_NL
        3 => (20, 32),      // Q4_1
        6 => (22, 32),      // Q5_0
        7 => (24, 32),      // Q5_1
        8 => (34, 32),      // Q8_0
        10 => (84, 256),    // Q2_K
        11 => (110, 256),   // Q3_K
        12 => (144, 256),   // Q4_K
        13 => (176, 256),   // Q5_K
        14 => (210, 256),   // Q6_K
        24 => (1, 1),       // I8
        25 => (2, 1),       // I16
        26 => (4, 1),       // I32
        27 | 28 => (8, 1),  // I64, F64
        _ => return None,
    })
}

/// Bytes of a tensor of `elements` of type `ty`, where the type is known.
fn tensor_bytes(ty: u32, elements: u64) -> Option<u64> {
    let (bytes, per) = block(ty)?;
    Some(elements.div_ceil(per).saturating_mul(bytes))
}

/// llama.cpp's name of a `general.file_type`.
fn file_type_name(t: u64) -> String {
    let name = match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        other => return format!("type {other}"),
    };
    name.to_owned()
}

/// A counting reader that knows the file's length, so no claimed size is
/// allocated or skipped past the end.
struct Reader<'p> {
    inner: BufReader<std::fs::File>,
    pos: u64,
    len: u64,
    path: &'p str,
}

impl Reader<'_> {
    fn truncated(&self, what: &str) -> GgufError {
        GgufError::Truncated {
            path: self.path.to_owned(),
            detail: format!("it ends inside its header, at {what}"),
        }
    }

    fn damaged(&self, detail: String) -> GgufError {
        GgufError::Damaged {
            path: self.path.to_owned(),
            detail,
        }
    }

    fn need(&self, n: u64, what: &str) -> Result<(), GgufError> {
        if self.pos.saturating_add(n) > self.len {
            return Err(self.truncated(what));
        }
        Ok(())
    }

    fn bytes(&mut self, buf: &mut [u8]) -> Result<(), GgufError> {
        self.need(buf.len() as u64, "a value")?;
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.truncated("a value"),
            _ => GgufError::Io {
                path: self.path.to_owned(),
                source: e,
            },
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<(), GgufError> {
        self.need(n, "a value")?;
        let n = i64::try_from(n).map_err(|_| self.truncated("a value"))?;
        // Relative, so a skip inside the buffer is no system call: a
        // vocabulary is a hundred thousand short strings.
        self.inner
            .seek_relative(n)
            .map_err(|source| GgufError::Io {
                path: self.path.to_owned(),
                source,
            })?;
        self.pos += n as u64;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn count(&mut self, what: &str) -> Result<u64, GgufError> {
        let n = self.u64()?;
        if n > MAX_COUNT {
            return Err(self.damaged(format!("it claims {n} {what}")));
        }
        Ok(n)
    }

    fn string(&mut self, max: u64, what: &str) -> Result<String, GgufError> {
        let n = self.u64()?;
        if n > max {
            return Err(self.damaged(format!("a {what} of {n} bytes")));
        }
        self.need(n, what)?;
        let mut buf = vec![0u8; n as usize];
        self.bytes(&mut buf)?;
        String::from_utf8(buf).map_err(|_| self.damaged(format!("a {what} is not UTF-8")))
    }

    /// An integer value of any integer type (None for other types, skipped).
    fn integer(&mut self, ty: u32) -> Result<Option<u64>, GgufError> {
        Ok(match ty {
            0 => Some(u64::from(self.small::<1>()?[0])),
            2 => Some(u64::from(u16::from_le_bytes(self.small::<2>()?))),
            4 => Some(u64::from(self.u32()?)),
            5 => u64::try_from(i32::from_le_bytes(self.small::<4>()?)).ok(),
            10 => Some(self.u64()?),
            11 => u64::try_from(i64::from_le_bytes(self.small::<8>()?)).ok(),
            _ => {
                self.skip_value(ty, 0)?;
                None
            }
        })
    }

    fn small<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut b = [0u8; N];
        self.bytes(&mut b)?;
        Ok(b)
    }

    /// Skips one value of type `ty`; arrays may not nest deeper than one.
    fn skip_value(&mut self, ty: u32, depth: u32) -> Result<(), GgufError> {
        if let Some(n) = fixed_size(ty) {
            return self.skip(n);
        }
        match ty {
            STRING => {
                let n = self.u64()?;
                self.skip(n)
            }
            ARRAY if depth == 0 => {
                let item = self.u32()?;
                let n = self.count("array items")?;
                if let Some(size) = fixed_size(item) {
                    return self.skip(n.saturating_mul(size));
                }
                // Each string item holds at least its 8-byte length.
                self.need(n.saturating_mul(8), "an array")?;
                for _ in 0..n {
                    self.skip_value(item, depth + 1)?;
                }
                Ok(())
            }
            other => Err(self.damaged(format!("a value of unknown type {other}"))),
        }
    }
}

/// Writes a minimal GGUF file for tests: the given metadata strings and
/// integers, no tensors.
#[doc(hidden)]
pub fn write_test_file(
    path: &Path,
    strings: &[(&str, &str)],
    integers: &[(&str, u32)],
) -> std::io::Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&((strings.len() + integers.len()) as u64).to_le_bytes());
    let put = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    for (k, v) in strings {
        put(&mut out, k);
        out.extend_from_slice(&STRING.to_le_bytes());
        put(&mut out, v);
    }
    for (k, v) in integers {
        put(&mut out, k);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("m.gguf");
        write_test_file(
            &p,
            &[
                ("general.architecture", "llama"),
                ("general.name", "Tiny"),
                ("tokenizer.chat_template", "{{ messages }}"),
            ],
            &[("llama.context_length", 8192), ("general.file_type", 15)],
        )
        .unwrap();
        p
    }

    #[test]
    fn reads_the_metadata_a_model_list_shows() {
        let dir = tempfile::tempdir().unwrap();
        let info = read(&sample(dir.path())).unwrap();
        assert_eq!(info.architecture, "llama");
        assert_eq!(info.name.as_deref(), Some("Tiny"));
        assert_eq!(info.context_length, Some(8192));
        assert_eq!(info.quantization.as_deref(), Some("Q4_K_M"));
        assert_eq!(info.chat_template.as_deref(), Some("{{ messages }}"));
    }

    #[test]
    fn every_truncation_of_the_header_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let whole = std::fs::read(sample(dir.path())).unwrap();
        let cut = dir.path().join("cut.gguf");
        for n in 0..whole.len() {
            std::fs::write(&cut, &whole[..n]).unwrap();
            let e = read(&cut).unwrap_err();
            assert!(
                matches!(e, GgufError::Truncated { .. } | GgufError::NotGguf { .. }),
                "{n}: {e}"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_gguf_is_named_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.gguf");
        std::fs::write(&p, "PK\u{3}\u{4} this is a zip, renamed").unwrap();
        let e = read(&p).unwrap_err();
        assert!(matches!(e, GgufError::NotGguf { .. }), "{e}");
        assert!(e.to_string().contains("not a GGUF model file"));
    }

    #[test]
    fn a_header_claiming_huge_sizes_is_refused_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.gguf");
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&(u64::MAX / 2).to_le_bytes()); // key length
        std::fs::write(&p, &b).unwrap();
        assert!(matches!(read(&p).unwrap_err(), GgufError::Damaged { .. }));
        b.truncate(8);
        b.extend_from_slice(&u64::MAX.to_le_bytes()); // tensor count
        b.extend_from_slice(&0u64.to_le_bytes());
        std::fs::write(&p, &b).unwrap();
        assert!(matches!(read(&p).unwrap_err(), GgufError::Damaged { .. }));
    }
}
