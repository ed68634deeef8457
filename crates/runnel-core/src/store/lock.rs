//! The writer lock and crash recovery. A writer holds an exclusive lock on
//! `writers/<token>.lock` for its lifetime, so on open a `streaming` row whose
//! writer lock can be taken belongs to a dead process (kill -9, crash): it
//! becomes `interrupted`, with its text. A live writer (the window and the
//! CLI may run at once) is never touched.

use super::{now_ms, Store, StoreError};
use crate::types::files::{private_dir, private_options};
use rusqlite::params;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's writer lock: created once, held until the process exits.
pub(super) struct Writer {
    pub(super) id: String,
    _lock: std::fs::File,
}

static WRITER: OnceLock<Result<Writer, String>> = OnceLock::new();

pub(super) fn writer(dir: &Path) -> Result<&'static Writer, StoreError> {
    let w = WRITER.get_or_init(|| {
        let token = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let locks = dir.join("writers");
        private_dir(&locks).map_err(|e| format!("could not create {}: {e}", locks.display()))?;
        let path = locks.join(format!("{token}.lock"));
        let file = private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| format!("could not create {}: {e}", path.display()))?;
        file.lock()
            .map_err(|e| format!("could not lock {}: {e}", path.display()))?;
        Ok(Writer {
            id: token,
            _lock: file,
        })
    });
    w.as_ref().map_err(|e| StoreError::Invalid(e.clone()))
}

/// True when the writer's process is gone: its lock file is missing or free.
fn writer_is_dead(dir: &Path, writer: &str) -> bool {
    if WRITER
        .get()
        .and_then(|w| w.as_ref().ok())
        .is_some_and(|w| w.id == writer)
    {
        return false;
    }
    let path = dir.join("writers").join(format!("{writer}.lock"));
    let file = match std::fs::OpenOptions::new().write(true).open(&path) {
        Ok(f) => f,
        // No lock file: its writer never started or cleaned up. Any other
        // error (permissions) proves nothing: leave the stream alone.
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            let _ = std::fs::remove_file(&path);
            true
        }
        Err(_) => false,
    }
}

impl Store {
    /// Marks `streaming` messages whose writer process is gone as `interrupted`.
    /// Returns how many.
    pub fn recover_interrupted(&self) -> Result<usize, StoreError> {
        let conn = self.conn();
        let writers: Vec<Option<String>> = conn
            .prepare("SELECT DISTINCT writer FROM messages WHERE status = 'streaming'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut n = 0;
        for w in writers {
            let dead = w.as_deref().is_none_or(|w| writer_is_dead(&self.dir, w));
            if dead {
                n += conn.execute(
                    "UPDATE messages SET status = 'interrupted', writer = NULL WHERE status = 'streaming' AND writer IS ?1",
                    params![w],
                )?;
            }
        }
        if n > 0 {
            tracing::info!(
                count = n,
                "marked messages of a stopped writer as interrupted"
            );
        }
        Ok(n)
    }

    /// True while a live writer (this process or another) streams into the conversation.
    pub fn has_live_stream(&self, conversation_id: &str) -> Result<bool, StoreError> {
        let writers: Vec<Option<String>> = self
            .conn()
            .prepare_cached("SELECT DISTINCT writer FROM messages WHERE conversation_id = ?1 AND status = 'streaming'")?
            .query_map(params![conversation_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(writers
            .iter()
            .any(|w| w.as_deref().is_some_and(|w| !writer_is_dead(&self.dir, w))))
    }

    /// Removes lock files of writers that are gone (their streams are already recovered).
    pub(super) fn clean_writer_locks(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join("writers")) else {
            return;
        };
        for e in entries.flatten() {
            if let Some(token) = e.file_name().to_str().and_then(|n| n.strip_suffix(".lock")) {
                writer_is_dead(&self.dir, token);
            }
        }
    }

    /// Moves a database that cannot be opened aside (with a timestamp), so a
    /// fresh one can start. Returns where it went. Never deletes anything.
    pub fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
        let stamp = now_ms() / 1000;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("runnel.sqlite3");
        let aside = path.with_file_name(format!("{name}.bad-{stamp}"));
        std::fs::rename(path, &aside)
            .map_err(|e| StoreError::Invalid(format!("could not move {}: {e}", path.display())))?;
        for ext in ["-wal", "-shm"] {
            let side = path.with_file_name(format!("{name}{ext}"));
            if side.exists() {
                let _ = std::fs::rename(
                    &side,
                    aside.with_file_name(format!("{name}.bad-{stamp}{ext}")),
                );
            }
        }
        Ok(aside)
    }
}
