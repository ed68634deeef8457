//! Conversations in SQLite (rusqlite, bundled, FTS5), in WAL mode, in the app's
//! data dir (`RUNNEL_DATA_DIR` overrides it). The schema is versioned with
//! `user_version` and migrated forward; version 1 is the first schema.
//!
//! Streaming: the assistant row is written when the stream starts, with the
//! writer's id; its text is flushed at most every 250 ms and at the terminal
//! state. A writer holds an exclusive lock on `writers/<token>.lock` for its
//! lifetime, so on open a `streaming` row whose writer lock can be taken belongs
//! to a dead process (kill -9, crash): it becomes `interrupted`, with its text.
//! A live writer (the window and the CLI may run at once) is never touched.
//!
//! Split by concern: [`schema`] and migrations, the writer [`lock`] and crash
//! recovery, [`conversations`], [`messages`] and versions, [`search`],
//! [`export`] and import, [`usage`] over time, [`backup`]s and integrity
//! checks; typed [`columns`] and the [`model`] rows.

mod attachments;
pub mod backup;
mod columns;
mod conversations;
mod export;
mod imports;
mod lock;
mod messages;
pub mod model;
mod schema;
mod search;
mod tree;
mod usage;

pub use crate::types::status::MessageStatus;
pub use attachments::AttachmentRow;
pub use backup::{BackupInfo, BackupReason, Integrity};
pub use conversations::title_from;
pub use export::{
    problems, EXPORT_FORMAT, EXPORT_VERSION, MAX_IMPORTED_TEXT_BYTES, MAX_IMPORT_BYTES,
};
pub use imports::{ImportItem, Stored};
pub use model::*;
pub use schema::{
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_VERSION,
};
pub use search::fts_query;
pub use usage::{AnswerUsage, UsageRow, MAX_UTC_OFFSET_MINUTES};

use crate::types::files::{make_private, private_dir, private_options};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be used; the message names the file and what to do.
    #[error("{message}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What is wrong, in plain words.
        message: String,
        /// Moving the file aside and starting fresh would help.
        can_move_aside: bool,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No such conversation or message.
    #[error("{0} was not found")]
    NotFound(String),
    /// The request does not make sense.
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// The stable kind shown for this error.
    pub fn kind(&self) -> crate::types::error::ErrorKind {
        use crate::types::error::ErrorKind;
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::Open { .. } | Self::Sqlite(_) => ErrorKind::Storage,
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new id: time-ordered hex (ms) plus random bits.
pub fn new_id() -> String {
    format!("{:011x}{:013x}", now_ms(), fastrand::u64(..) >> 12)
}

/// The data dir: `RUNNEL_DATA_DIR`, else the platform's data dir plus the app id.
pub fn data_dir() -> PathBuf {
    crate::config::env::Env::process().data_dir()
}

/// The conversation store.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    dir: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How long a write waits for another writer (the window and the CLI share
/// the database) before it fails.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Fails with SQLite's read-only error when the database cannot be written,
/// so a read-only file is reported at open, not at the first send.
fn check_writable(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
            Some("the database file cannot be written".to_owned()),
        ));
    }
    Ok(())
}

fn open_error(path: &Path, e: &rusqlite::Error) -> StoreError {
    let text = e.to_string();
    let code = e.sqlite_error_code();
    let (what, can_move_aside) = match code {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            ("is damaged or not a Runnel database", true)
        }
        Some(rusqlite::ErrorCode::ReadOnly) => ("is read-only: check its permissions", false),
        Some(rusqlite::ErrorCode::DiskFull) => ("cannot grow: the disk is full", false),
        Some(rusqlite::ErrorCode::CannotOpen) | Some(rusqlite::ErrorCode::PermissionDenied) => (
            "cannot be opened: check that its folder exists and is writable",
            false,
        ),
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            ("is locked by another program", false)
        }
        _ => ("could not be opened", false),
    };
    StoreError::Open {
        path: path.to_owned(),
        message: format!(
            "The conversation database {} {what} ({text}).",
            path.display()
        ),
        can_move_aside,
    }
}

impl Store {
    /// Opens (creating if needed) `<data dir>/runnel.sqlite3`.
    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(&data_dir().join("runnel.sqlite3"))
    }

    /// Opens the database at `path`, migrates it, and marks streams whose
    /// writer died as interrupted.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        private_dir(&dir).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            message: format!(
                "The folder {} for the conversation database cannot be created ({e}).",
                dir.display()
            ),
            can_move_aside: false,
        })?;
        // A new database starts as an empty file private to the user; SQLite
        // gives its -wal and -shm files the same mode.
        if !path.exists() {
            let _ = private_options().write(true).create_new(true).open(path);
        }
        let conn = Connection::open(path).map_err(|e| open_error(path, &e))?;
        let setup = || -> rusqlite::Result<i32> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            check_writable(&conn)?;
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let version = setup().map_err(|e| open_error(path, &e))?;
        // Files made by an older build (0644) are tightened too.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = make_private(Path::new(&p));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::Open {
                path: path.to_owned(),
                message: format!(
                    "The conversation database {} was written by a newer Runnel (schema {version}; this one knows {SCHEMA_VERSION}). Update Runnel, or move the file aside to start fresh.",
                    path.display()
                ),
                can_move_aside: true,
            });
        }
        // An upgrade is never the only copy: the database as this schema
        // left it is backed up first (a new, empty one needs none).
        if version > 0 && version < SCHEMA_VERSION {
            backup::backup_database(path, &dir.join(backup::BACKUPS_DIR), BackupReason::Migration)
                .map_err(|e| StoreError::Open {
                    path: path.to_owned(),
                    message: format!(
                        "The conversation database {} needs an upgrade, and the backup made before it failed ({e}). Free some disk space and start again.",
                        path.display()
                    ),
                    can_move_aside: false,
                })?;
        }
        let store = Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            dir,
        };
        store.migrate(version).map_err(|e| open_error(path, &e))?;
        store.recover_interrupted()?;
        store.clean_writer_locks();
        // Files of messages deleted in an earlier run (Undo has ended).
        if let Err(e) = store.drop_unused_blobs() {
            tracing::warn!(error = %e, "could not drop unused attachment files");
        }
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves a usable connection: keep going.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_a_read_only_database_is_reported_at_open() {
        let dir = std::env::temp_dir().join(format!("runnel-ro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("ro.sqlite3");
        Store::open(&path).expect("create");
        let ro = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open read-only");
        let e = check_writable(&ro).expect_err("read-only is found at open");
        let shown = open_error(&path, &e).to_string();
        assert!(shown.contains("read-only"), "{shown}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn regression_the_database_and_its_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("runnel-perm-{}", std::process::id()));
        let dir = base.join("data");
        let path = dir.join("runnel.sqlite3");
        let store = Store::open(&path).expect("open");
        store
            .create_conversation("c", "", None, None, "", None)
            .expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        let wal = dir.join("runnel.sqlite3-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_conversations_sampling_is_stored_typed_and_an_unknown_value_is_an_error() {
        let base = std::env::temp_dir().join(format!("runnel-sampling-{}", std::process::id()));
        let store = Store::open(&base.join("runnel.sqlite3")).expect("open");
        store
            .create_conversation("c", "", None, None, "", None)
            .expect("create");
        assert_eq!(
            store.conversation("c").expect("read").sampling,
            Default::default()
        );
        let s = crate::protocol::Sampling {
            temperature: Some(0.25),
            top_p: None,
            max_tokens: Some(64),
        };
        store.set_sampling("c", &s).expect("set");
        assert_eq!(store.conversation("c").expect("read").sampling, s);
        store
            .conn()
            .execute(
                "UPDATE conversations SET sampling = '{\"temperature\":0.5,\"seed\":1}' WHERE id = 'c'",
                [],
            )
            .expect("write");
        assert!(
            store.conversation("c").is_err(),
            "an unknown stored value is an error"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&base);
    }
}
