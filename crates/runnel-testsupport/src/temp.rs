//! Temporary folders for tests: unique, and removed when dropped, even when
//! the test panics (tempfile).

use std::path::{Path, PathBuf};

/// A temporary folder, removed on drop.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new empty folder whose name starts with `runnel-<prefix>`.
    pub fn new(prefix: &str) -> Self {
        match tempfile::Builder::new()
            .prefix(&format!("runnel-{prefix}-"))
            .tempdir()
        {
            Ok(d) => Self(d),
            Err(e) => panic!("cannot create a temp dir: {e}"),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// A path inside it (not created).
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// A new folder inside it, created.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.join(name);
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("cannot create {}: {e}", p.display());
        }
        p
    }
}
