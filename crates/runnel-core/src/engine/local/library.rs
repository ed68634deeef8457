//! The models on this computer: `<id>.gguf` files in one folder (the app's
//! data dir, or `RUNNEL_MODELS_DIR`). Listing reads each file's header;
//! importing validates the file first and copies it in through a partial
//! file, so a half-copied model is never listed.

use super::catalog::{self, CatalogEntry};
use super::gguf::{self, GgufInfo};
use std::path::{Path, PathBuf};

/// Longest model id.
pub const MAX_ID_LEN: usize = 96;
/// The suffix of a file still being downloaded or copied.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// What went wrong with the models folder.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// No model has this id.
    #[error("there is no local model \"{0}\": `runnel models list` shows them")]
    NoSuchModel(String),
    /// An id that cannot name a file.
    #[error("\"{0}\" cannot be a model id: use letters, digits, '.', '-' and '_' (at most {MAX_ID_LEN})")]
    BadId(String),
    /// A model with this id is already there.
    #[error("a local model \"{0}\" exists already: remove it first or choose another id")]
    Exists(String),
    /// The file is not a usable GGUF model.
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),
    /// Reading or writing the folder failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The disk has no room for it.
    #[error("{0}")]
    NoSpace(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LibraryError {
    let what = what.into();
    move |source| LibraryError::Io { what, source }
}

/// One model on this computer.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalModel {
    /// Its id (the file name without `.gguf`).
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// File size in bytes.
    pub size: u64,
    /// Its header, or why it cannot be read.
    pub info: Result<GgufInfo, String>,
    /// Its catalog entry, when it came from the catalog.
    pub catalog: Option<&'static CatalogEntry>,
}

/// The models folder.
#[derive(Debug, Clone)]
pub struct Library {
    dir: PathBuf,
}

/// True for an id that can name a file: `[A-Za-z0-9._-]`, not starting
/// with a dot, at most [`MAX_ID_LEN`].
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// An id made from a file name: its stem, lowercased, other characters as `-`.
pub fn id_from_file_name(name: &str) -> String {
    let stem = name.strip_suffix(".gguf").unwrap_or(name);
    let mut id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while id.starts_with('.') {
        id.remove(0);
    }
    id.truncate(MAX_ID_LEN);
    if id.is_empty() {
        "model".to_owned()
    } else {
        id
    }
}

impl Library {
    /// The library in `dir` (created when a model is added).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the model `id` lives (whether or not it is there).
    pub fn file_of(&self, id: &str) -> Result<PathBuf, LibraryError> {
        if !valid_id(id) {
            return Err(LibraryError::BadId(id.to_owned()));
        }
        Ok(self.dir.join(format!("{id}.gguf")))
    }

    /// The file of an installed model.
    pub fn path_of(&self, id: &str) -> Result<PathBuf, LibraryError> {
        let p = self.file_of(id)?;
        if p.is_file() {
            Ok(p)
        } else {
            Err(LibraryError::NoSuchModel(id.to_owned()))
        }
    }

    /// Every installed model, by id.
    pub fn list(&self) -> Result<Vec<LocalModel>, LibraryError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("cannot read {}", self.dir.display()))(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".gguf") else {
                continue;
            };
            if !valid_id(id) || !entry.path().is_file() {
                continue;
            }
            out.push(self.describe(id, entry.path()));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// True when no model is installed.
    pub fn is_empty(&self) -> bool {
        self.list().map(|l| l.is_empty()).unwrap_or(true)
    }

    fn describe(&self, id: &str, path: PathBuf) -> LocalModel {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        LocalModel {
            id: id.to_owned(),
            info: gguf::read(&path).map_err(|e| e.to_string()),
            path,
            size,
            catalog: catalog::find(id),
        }
    }

    /// Copies the GGUF file at `source` in as `id` (default: from its file
    /// name), after checking that it is a whole GGUF model and that the
    /// disk has room.
    pub fn import(&self, source: &Path, id: Option<&str>) -> Result<LocalModel, LibraryError> {
        let info = gguf::read(source)?;
        let id = match id {
            Some(id) => id.to_owned(),
            None => id_from_file_name(
                &source
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };
        let target = self.file_of(&id)?;
        if target.exists() {
            return Err(LibraryError::Exists(id));
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(io(format!("cannot create {}", self.dir.display())))?;
        if let Some(free) = super::system::free_disk(&self.dir) {
            if info.file_size > free {
                return Err(LibraryError::NoSpace(format!(
                    "{} has {} free and the model needs {}",
                    self.dir.display(),
                    super::system::human_bytes(free),
                    super::system::human_bytes(info.file_size)
                )));
            }
        }
        let partial = self.dir.join(format!("{id}.gguf{PARTIAL_SUFFIX}"));
        let copied = std::fs::copy(source, &partial)
            .map_err(io(format!("cannot copy {}", source.display())));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        if let Err(e) = gguf::read(&partial) {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
        std::fs::rename(&partial, &target).map_err(io(format!(
            "cannot move the model into {}",
            self.dir.display()
        )))?;
        Ok(self.describe(&id, target))
    }

    /// Deletes the model `id` (and any partial download of it).
    pub fn remove(&self, id: &str) -> Result<(), LibraryError> {
        let path = self.path_of(id)?;
        std::fs::remove_file(&path).map_err(io(format!("cannot delete {}", path.display())))?;
        let _ = std::fs::remove_file(self.dir.join(format!("{id}.gguf{PARTIAL_SUFFIX}")));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_file_names_are_safe_file_names() {
        assert_eq!(
            id_from_file_name("Llama-3.2-1B-Instruct-Q4_K_M.gguf"),
            "llama-3.2-1b-instruct-q4_k_m"
        );
        assert_eq!(id_from_file_name("../../etc/passwd"), "-..-etc-passwd");
        assert_eq!(id_from_file_name("..gguf"), "model");
        assert!(!valid_id("../x"));
        assert!(!valid_id(".hidden"));
        assert!(valid_id("qwen2.5-0.5b"));
    }

    #[test]
    fn import_list_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("My Model.gguf");
        gguf::write_test_file(&src, &[("general.architecture", "llama")], &[]).unwrap();
        let lib = Library::new(dir.path().join("models"));
        assert!(lib.list().unwrap().is_empty());
        let m = lib.import(&src, None).unwrap();
        assert_eq!(m.id, "my-model");
        assert!(matches!(
            lib.import(&src, None),
            Err(LibraryError::Exists(_))
        ));
        let listed = lib.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].info.as_ref().unwrap().architecture, "llama");
        lib.remove("my-model").unwrap();
        assert!(matches!(
            lib.remove("my-model"),
            Err(LibraryError::NoSuchModel(_))
        ));
    }

    #[test]
    fn importing_a_file_that_is_not_gguf_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("photo.gguf");
        std::fs::write(&src, b"\x89PNG\r\n\x1a\n not a model").unwrap();
        let lib = Library::new(dir.path().join("models"));
        let e = lib.import(&src, None).unwrap_err();
        assert!(e.to_string().contains("not a GGUF model file"), "{e}");
        assert!(lib.list().unwrap().is_empty());
    }
}
