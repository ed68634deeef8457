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
//! Search: an external-content FTS5 index over message content and titles,
//! kept in step by triggers. A message is indexed when it leaves `streaming`,
//! so flushes during a stream do not re-index a growing text.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The schema this build writes.
pub const SCHEMA_VERSION: i32 = 3;

/// Version 1: conversations and messages.
pub const SCHEMA_V1: &str = "
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  title_custom INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  provider TEXT,
  model TEXT,
  system_prompt TEXT NOT NULL DEFAULT '',
  pinned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_order ON conversations(pinned DESC, updated DESC, id DESC);
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  reasoning TEXT,
  tool_calls TEXT,
  status TEXT NOT NULL,
  error_kind TEXT,
  error_message TEXT,
  finish_reason TEXT,
  usage TEXT,
  metrics TEXT,
  created INTEGER NOT NULL,
  writer TEXT
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
";

/// Version 2: answer versions (regenerate, edit) and full-text search.
pub const SCHEMA_V2: &str = "
ALTER TABLE messages ADD COLUMN parent_id TEXT;
ALTER TABLE messages ADD COLUMN variant_of TEXT;
ALTER TABLE messages ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
CREATE VIRTUAL TABLE messages_fts USING fts5(
  content, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE titles_fts USING fts5(
  title, content='conversations', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
INSERT INTO messages_fts(rowid, content) SELECT rowid, content FROM messages WHERE status != 'streaming';
INSERT INTO titles_fts(rowid, title) SELECT rowid, title FROM conversations;
CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.status != 'streaming' BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.status != 'streaming' BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content, status ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content)
    SELECT 'delete', old.rowid, old.content WHERE old.status != 'streaming';
  INSERT INTO messages_fts(rowid, content)
    SELECT new.rowid, new.content WHERE new.status != 'streaming';
END;
CREATE TRIGGER conversations_ai AFTER INSERT ON conversations BEGIN
  INSERT INTO titles_fts(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER conversations_ad AFTER DELETE ON conversations BEGIN
  INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
CREATE TRIGGER conversations_au AFTER UPDATE OF title ON conversations BEGIN
  INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
  INSERT INTO titles_fts(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE INDEX messages_by_parent ON messages(parent_id);
";

/// Version 3: Anthropic thinking (blocks kept per answer, a budget per
/// conversation) and an index that makes crash recovery at start instant.
pub const SCHEMA_V3: &str = "
ALTER TABLE messages ADD COLUMN thinking_blocks TEXT;
ALTER TABLE conversations ADD COLUMN thinking_budget INTEGER;
CREATE INDEX messages_streaming ON messages(conversation_id, writer) WHERE status = 'streaming';
";

const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

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

/// Status of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Being written by a live stream.
    Streaming,
    /// Complete.
    Done,
    /// Stopped by the user; text kept.
    Cancelled,
    /// Failed; text kept.
    Error,
    /// Its writer died mid-stream; text kept.
    Interrupted,
}

impl MessageStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streaming => "streaming",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "streaming" => Self::Streaming,
            "cancelled" => Self::Cancelled,
            "error" => Self::Error,
            "interrupted" => Self::Interrupted,
            _ => Self::Done,
        }
    }
}

/// A conversation in the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Created, ms since the epoch.
    pub created: i64,
    /// Last change, ms since the epoch.
    pub updated: i64,
    /// Pinned on top.
    pub pinned: bool,
    /// Provider id.
    pub provider: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: String,
    /// Anthropic extended thinking budget, when enabled for this conversation.
    #[serde(default)]
    pub thinking_budget: Option<u32>,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: String,
    /// Conversation.
    pub conversation_id: String,
    /// Position in the conversation (versions share one).
    pub seq: i64,
    /// `user` or `assistant`.
    pub role: String,
    /// Text (markdown).
    pub content: String,
    /// Reasoning, if any.
    pub reasoning: Option<String>,
    /// Tool calls as JSON, if any.
    pub tool_calls: Option<serde_json::Value>,
    /// Status.
    pub status: MessageStatus,
    /// Error kind, when status is error.
    pub error_kind: Option<String>,
    /// Error message, when status is error.
    pub error_message: Option<String>,
    /// Finish reason.
    pub finish_reason: Option<String>,
    /// Usage as JSON.
    pub usage: Option<serde_json::Value>,
    /// Metrics as JSON.
    pub metrics: Option<serde_json::Value>,
    /// Created, ms since the epoch.
    pub created: i64,
    /// The user message an answer answers.
    pub parent_id: Option<String>,
    /// The first version this message is a version of.
    pub variant_of: Option<String>,
    /// Shown (one version of each message is).
    pub active: bool,
    /// Thinking blocks with signatures (Anthropic), sent back on later turns.
    #[serde(default)]
    pub thinking_blocks: Option<serde_json::Value>,
}

/// How a stream ended, for [`Store::finish_message`].
#[derive(Debug, Clone, Default)]
pub struct FinalState {
    /// Final status.
    pub status: Option<MessageStatus>,
    /// Text.
    pub content: String,
    /// Reasoning.
    pub reasoning: Option<String>,
    /// Tool calls.
    pub tool_calls: Option<serde_json::Value>,
    /// Error kind.
    pub error_kind: Option<String>,
    /// Error message.
    pub error_message: Option<String>,
    /// Finish reason.
    pub finish_reason: Option<String>,
    /// Usage.
    pub usage: Option<serde_json::Value>,
    /// Metrics.
    pub metrics: Option<serde_json::Value>,
    /// Thinking blocks with signatures.
    pub thinking_blocks: Option<serde_json::Value>,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Conversation.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its last change.
    pub updated: i64,
    /// The message (None for a title hit).
    pub message_id: Option<String>,
    /// Text around the match; matches are between U+E000 and U+E001.
    pub snippet: String,
}

/// Start of a highlighted match in a snippet.
pub const MARK_START: char = '\u{E000}';
/// End of a highlighted match in a snippet.
pub const MARK_END: char = '\u{E001}';

/// A sidebar page cursor: the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Its pinned flag.
    pub pinned: bool,
    /// Its last change.
    pub updated: i64,
    /// Its id.
    pub id: String,
}

/// A deleted conversation, kept in memory for Undo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deleted {
    /// The conversation.
    pub conversation: ConversationSummary,
    /// All its messages, versions included.
    pub messages: Vec<Message>,
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
    if let Some(d) = std::env::var_os("RUNNEL_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(crate::core::settings::APP_ID)
}

/// This process's writer lock: created once, held until the process exits.
struct Writer {
    id: String,
    _lock: std::fs::File,
}

static WRITER: OnceLock<Result<Writer, String>> = OnceLock::new();

fn writer(dir: &Path) -> Result<&'static Writer, StoreError> {
    let w = WRITER.get_or_init(|| {
        let token = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let locks = dir.join("writers");
        std::fs::create_dir_all(&locks)
            .map_err(|e| format!("could not create {}: {e}", locks.display()))?;
        let path = locks.join(format!("{token}.lock"));
        let file = std::fs::File::create(&path)
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

fn row_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    Ok(ConversationSummary {
        id: r.get(0)?,
        title: r.get(1)?,
        created: r.get(2)?,
        updated: r.get(3)?,
        pinned: r.get::<_, i64>(4)? != 0,
        provider: r.get(5)?,
        model: r.get(6)?,
        system_prompt: r.get(7)?,
        thinking_budget: r.get(8)?,
    })
}

const SUMMARY_COLS: &str =
    "id, title, created, updated, pinned, provider, model, system_prompt, thinking_budget";
const MESSAGE_COLS: &str =
    "id, conversation_id, seq, role, content, reasoning, tool_calls, status, error_kind, \
     error_message, finish_reason, usage, metrics, created, parent_id, variant_of, active, thinking_blocks";

fn json_col(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

fn row_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        seq: r.get(2)?,
        role: r.get(3)?,
        content: r.get(4)?,
        reasoning: r.get(5)?,
        tool_calls: json_col(r.get(6)?),
        status: MessageStatus::parse(&r.get::<_, String>(7)?),
        error_kind: r.get(8)?,
        error_message: r.get(9)?,
        finish_reason: r.get(10)?,
        usage: json_col(r.get(11)?),
        metrics: json_col(r.get(12)?),
        created: r.get(13)?,
        parent_id: r.get(14)?,
        variant_of: r.get(15)?,
        active: r.get::<_, i64>(16)? != 0,
        thinking_blocks: json_col(r.get(17)?),
    })
}

fn to_json(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

/// Title from a first user message: its first line, at most 80 characters.
pub fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("New chat");
    crate::core::error::shorten(line, 80)
}

/// An FTS5 query for what the user typed: every word must match; the last
/// word also matches as a prefix (search as you type). Operators are quoted away.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let last = words.len().checked_sub(1)?;
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let quoted = format!("\"{}\"", w.replace('"', "\"\""));
                // Prefix matching from 3 letters: "a"* would expand over the whole index.
                if i == last && w.chars().count() >= 3 {
                    format!("{quoted}*")
                } else {
                    quoted
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
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
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            message: format!(
                "The folder {} for the conversation database cannot be created ({e}).",
                dir.display()
            ),
            can_move_aside: false,
        })?;
        let conn = Connection::open(path).map_err(|e| open_error(path, &e))?;
        let setup = || -> rusqlite::Result<i32> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let version = setup().map_err(|e| open_error(path, &e))?;
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
        let store = Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            dir,
        };
        store.migrate(version).map_err(|e| open_error(path, &e))?;
        store.recover_interrupted()?;
        store.clean_writer_locks();
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves a usable connection: keep going.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn migrate(&self, from: i32) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let v = i as i32 + 1;
            if v <= from {
                continue;
            }
            // Another process (the window, the CLI) may have migrated meanwhile:
            // decide inside a write-locked transaction.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if v <= now {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", v)?;
            tx.commit()?;
            tracing::info!(version = v, "migrated the conversation database");
        }
        Ok(())
    }

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
    fn clean_writer_locks(&self) {
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

    /// Creates a conversation (at its first message).
    pub fn create_conversation(
        &self,
        id: &str,
        title: &str,
        provider: Option<&str>,
        model: Option<&str>,
        system_prompt: &str,
        thinking_budget: Option<u32>,
    ) -> Result<ConversationSummary, StoreError> {
        let now = now_ms();
        self.conn().execute(
            "INSERT INTO conversations (id, title, created, updated, provider, model, system_prompt, thinking_budget) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
            params![id, title, now, provider, model, system_prompt, thinking_budget],
        )?;
        self.conversation(id)
    }

    /// One conversation's summary.
    pub fn conversation(&self, id: &str) -> Result<ConversationSummary, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {SUMMARY_COLS} FROM conversations WHERE id = ?1"),
                params![id],
                row_summary,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
    }

    /// True if the conversation is stored.
    pub fn exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM conversations WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// A page of the sidebar: pinned first, then newest first, after `cursor`.
    pub fn list(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let conn = self.conn();
        let limit = limit.clamp(1, 500) as i64;
        let rows = match cursor {
            None => conn
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLS} FROM conversations ORDER BY pinned DESC, updated DESC, id DESC LIMIT ?1"
                ))?
                .query_map(params![limit], row_summary)?
                .collect::<Result<Vec<_>, _>>()?,
            Some(c) => conn
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLS} FROM conversations WHERE (pinned, updated, id) < (?1, ?2, ?3) \
                     ORDER BY pinned DESC, updated DESC, id DESC LIMIT ?4"
                ))?
                .query_map(params![c.pinned as i64, c.updated, c.id, limit], row_summary)?
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    /// Renames; the title no longer follows the first message.
    pub fn rename(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(StoreError::Invalid("The title is empty".into()));
        }
        self.changed(
            self.conn().execute(
                "UPDATE conversations SET title = ?2, title_custom = 1 WHERE id = ?1",
                params![id, title],
            )?,
            id,
        )
    }

    /// Pins or unpins.
    pub fn set_pinned(&self, id: &str, pinned: bool) -> Result<(), StoreError> {
        self.changed(
            self.conn().execute(
                "UPDATE conversations SET pinned = ?2 WHERE id = ?1",
                params![id, pinned as i64],
            )?,
            id,
        )
    }

    /// Sets the provider, model and system prompt of a conversation.
    pub fn set_settings(
        &self,
        id: &str,
        provider: Option<&str>,
        model: Option<&str>,
        system_prompt: &str,
        thinking_budget: Option<u32>,
    ) -> Result<(), StoreError> {
        self.changed(self.conn().execute(
            "UPDATE conversations SET provider = ?2, model = ?3, system_prompt = ?4, thinking_budget = ?5 WHERE id = ?1",
            params![id, provider, model, system_prompt, thinking_budget],
        )?, id)
    }

    fn changed(&self, n: usize, id: &str) -> Result<(), StoreError> {
        if n == 0 {
            return Err(StoreError::NotFound(format!("conversation {id}")));
        }
        Ok(())
    }

    /// Deletes a conversation and returns it whole, for Undo.
    pub fn delete(&self, id: &str) -> Result<Deleted, StoreError> {
        let conversation = self.conversation(id)?;
        let messages = self.all_messages(id)?;
        self.conn()
            .execute("DELETE FROM conversations WHERE id = ?1", params![id])?;
        Ok(Deleted {
            conversation,
            messages,
        })
    }

    /// Puts back a deleted (or imported) conversation.
    pub fn restore(&self, d: &Deleted) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let c = &d.conversation;
        tx.execute(
            "INSERT INTO conversations (id, title, title_custom, created, updated, provider, model, system_prompt, pinned, thinking_budget) \
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![c.id, c.title, c.created, c.updated, c.provider, c.model, c.system_prompt, c.pinned as i64, c.thinking_budget],
        )?;
        for m in &d.messages {
            let status = if m.status == MessageStatus::Streaming {
                MessageStatus::Interrupted
            } else {
                m.status
            };
            tx.execute(
                &format!("INSERT INTO messages ({MESSAGE_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"),
                params![
                    m.id, c.id, m.seq, m.role, m.content, m.reasoning, to_json(&m.tool_calls), status.as_str(),
                    m.error_kind, m.error_message, m.finish_reason, to_json(&m.usage), to_json(&m.metrics),
                    m.created, m.parent_id, m.variant_of, m.active as i64, to_json(&m.thinking_blocks)
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every message of a conversation, versions included, in order.
    pub fn all_messages(&self, id: &str) -> Result<Vec<Message>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 ORDER BY seq, created, rowid"))?
            .query_map(params![id], row_message)?
            .collect::<Result<_, _>>()?)
    }

    /// The shown messages, newest `limit` before `before_seq`, oldest first:
    /// a long conversation opens on its last screen and loads upwards.
    pub fn messages(
        &self,
        id: &str,
        before_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let conn = self.conn();
        let mut rows: Vec<Message> = conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND active = 1 AND seq < ?2 \
                 ORDER BY seq DESC, created DESC, rowid DESC LIMIT ?3"
            ))?
            .query_map(params![id, before_seq.unwrap_or(i64::MAX), limit.clamp(1, 10_000_000) as i64], row_message)?
            .collect::<Result<_, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// The versions of a message (itself included), oldest first.
    pub fn versions(&self, message_id: &str) -> Result<Vec<Message>, StoreError> {
        let m = self.message(message_id)?;
        let root = m.variant_of.clone().unwrap_or_else(|| m.id.clone());
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1 OR variant_of = ?1 ORDER BY created, rowid"
            ))?
            .query_map(params![root], row_message)?
            .collect::<Result<_, _>>()?)
    }

    /// Version groups of a conversation with more than one member: the first
    /// message's id -> the members' ids, oldest first.
    pub fn version_groups(
        &self,
        conversation_id: &str,
    ) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError> {
        let conn = self.conn();
        let rows: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT COALESCE(variant_of, id), id FROM messages WHERE conversation_id = ?1 \
                 AND COALESCE(variant_of, id) IN (SELECT variant_of FROM messages WHERE conversation_id = ?1 AND variant_of IS NOT NULL) \
                 ORDER BY created, rowid",
            )?
            .query_map(params![conversation_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut groups: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (root, id) in rows {
            groups.entry(root).or_default().push(id);
        }
        Ok(groups)
    }

    /// One message.
    pub fn message(&self, id: &str) -> Result<Message, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"),
                params![id],
                row_message,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("message {id}")))
    }

    fn next_seq(conn: &Connection, conversation_id: &str) -> rusqlite::Result<i64> {
        conn.query_row(
            "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id = ?1",
            params![conversation_id],
            |r| r.get(0),
        )
    }

    /// Adds a complete user message at the end. `variant_of`: it replaces
    /// (as a new version of) that earlier user message, which is hidden along
    /// with its answers.
    pub fn add_user_message(
        &self,
        conversation_id: &str,
        content: &str,
        variant_of: Option<&str>,
    ) -> Result<Message, StoreError> {
        let id = new_id();
        let now = now_ms();
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (seq, root) = match variant_of {
                Some(old) => {
                    let (seq, root): (i64, Option<String>) = tx.query_row(
                        "SELECT seq, variant_of FROM messages WHERE id = ?1 AND conversation_id = ?2",
                        params![old, conversation_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    let root = root.unwrap_or_else(|| old.to_owned());
                    tx.execute(
                        "UPDATE messages SET active = 0 WHERE conversation_id = ?1 AND seq >= ?2",
                        params![conversation_id, seq],
                    )?;
                    (seq, Some(root))
                }
                None => (Self::next_seq(&tx, conversation_id)?, None),
            };
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, variant_of, active) \
                 VALUES (?1, ?2, ?3, 'user', ?4, 'done', ?5, ?6, 1)",
                params![id, conversation_id, seq, content, now, root],
            )?;
            // The title follows the first user message until the user renames it.
            tx.execute(
                "UPDATE conversations SET updated = ?2, title = CASE WHEN title_custom = 0 AND ?3 = 0 THEN ?4 ELSE title END WHERE id = ?1",
                params![conversation_id, now, seq, title_from(content)],
            )?;
            tx.commit()?;
        }
        self.message(&id)
    }

    /// Starts an assistant answer to `parent_id` (status streaming, owned by this
    /// process). `variant_of`: a new version of that earlier answer (regenerate),
    /// which is hidden but kept.
    pub fn begin_answer(
        &self,
        conversation_id: &str,
        parent_id: &str,
        variant_of: Option<&str>,
    ) -> Result<Message, StoreError> {
        let writer = writer(&self.dir)?;
        let id = new_id();
        let now = now_ms();
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let parent_seq: i64 = tx
                .query_row(
                    "SELECT seq FROM messages WHERE id = ?1 AND conversation_id = ?2",
                    params![parent_id, conversation_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("message {parent_id}")))?;
            // The answer follows its question; a new version takes the place
            // of the one it replaces. Never a seq another message has.
            let seq = match variant_of {
                Some(old) => tx.query_row(
                    "SELECT seq FROM messages WHERE id = ?1",
                    params![old],
                    |r| r.get(0),
                )?,
                None => Self::next_seq(&tx, conversation_id)?.max(parent_seq + 1),
            };
            let root = match variant_of {
                Some(old) => {
                    let root: Option<String> = tx.query_row(
                        "SELECT variant_of FROM messages WHERE id = ?1",
                        params![old],
                        |r| r.get(0),
                    )?;
                    tx.execute(
                        "UPDATE messages SET active = 0 WHERE parent_id = ?1",
                        params![parent_id],
                    )?;
                    Some(root.unwrap_or_else(|| old.to_owned()))
                }
                None => None,
            };
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, status, created, writer, parent_id, variant_of, active) \
                 VALUES (?1, ?2, ?3, 'assistant', '', 'streaming', ?4, ?5, ?6, ?7, 1)",
                params![id, conversation_id, seq, now, writer.id, parent_id, root],
            )?;
            tx.execute(
                "UPDATE conversations SET updated = ?2 WHERE id = ?1",
                params![conversation_id, now],
            )?;
            tx.commit()?;
        }
        self.message(&id)
    }

    /// Saves the text of a streaming answer as it stands (at most every 250 ms).
    pub fn flush_answer(
        &self,
        id: &str,
        content: &str,
        reasoning: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE messages SET content = ?2, reasoning = ?3 WHERE id = ?1 AND status = 'streaming'")?
            .execute(params![id, content, reasoning])?;
        Ok(())
    }

    /// Records the terminal state of an answer (this indexes it for search).
    pub fn finish_message(&self, id: &str, f: &FinalState) -> Result<(), StoreError> {
        let status = f.status.unwrap_or(MessageStatus::Done);
        let conn = self.conn();
        conn.execute(
            "UPDATE messages SET content = ?2, reasoning = ?3, tool_calls = ?4, status = ?5, error_kind = ?6, \
             error_message = ?7, finish_reason = ?8, usage = ?9, metrics = ?10, thinking_blocks = ?11, writer = NULL WHERE id = ?1",
            params![
                id, f.content, f.reasoning, to_json(&f.tool_calls), status.as_str(), f.error_kind, f.error_message,
                f.finish_reason, to_json(&f.usage), to_json(&f.metrics), to_json(&f.thinking_blocks)
            ],
        )?;
        conn.execute(
            "UPDATE conversations SET updated = ?2 WHERE id = (SELECT conversation_id FROM messages WHERE id = ?1)",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    /// Shows another version of a message (and, for a user message, its latest answer).
    pub fn activate(&self, message_id: &str) -> Result<(), StoreError> {
        let m = self.message(message_id)?;
        let root = m.variant_of.clone().unwrap_or_else(|| m.id.clone());
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE messages SET active = 0 WHERE id = ?1 OR variant_of = ?1",
            params![root],
        )?;
        tx.execute(
            "UPDATE messages SET active = 1 WHERE id = ?1",
            params![m.id],
        )?;
        if m.role == "user" {
            // Hide the answers of the other versions; show this version's latest answer.
            tx.execute(
                "UPDATE messages SET active = 0 WHERE conversation_id = ?1 AND seq > ?2",
                params![m.conversation_id, m.seq],
            )?;
            tx.execute(
                "UPDATE messages SET active = 1 WHERE id = (SELECT id FROM messages WHERE parent_id = ?1 ORDER BY created DESC, rowid DESC LIMIT 1)",
                params![m.id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Full-text search over every message and title, newest first.
    pub fn search(&self, input: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let Some(q) = fts_query(input) else {
            return Ok(Vec::new());
        };
        let limit = limit.clamp(1, 200) as i64;
        let conn = self.conn();
        let marks = format!("snippet(messages_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16)");
        let mut hits: Vec<SearchHit> = conn
            .prepare_cached(&format!(
                "SELECT c.id, c.title, c.updated, m.id, {marks} FROM messages_fts \
                 JOIN messages m ON m.rowid = messages_fts.rowid JOIN conversations c ON c.id = m.conversation_id \
                 WHERE messages_fts MATCH ?1 AND m.active = 1 ORDER BY messages_fts.rowid DESC LIMIT ?2"
            ))?
            .query_map(params![q, limit], |r| {
                Ok(SearchHit { id: r.get(0)?, title: r.get(1)?, updated: r.get(2)?, message_id: r.get(3)?, snippet: r.get(4)? })
            })?
            .collect::<Result<_, _>>()?;
        let title_marks = format!("highlight(titles_fts, 0, '{MARK_START}', '{MARK_END}')");
        let titles: Vec<SearchHit> = conn
            .prepare_cached(&format!(
                "SELECT c.id, c.title, c.updated, NULL, {title_marks} FROM titles_fts \
                 JOIN conversations c ON c.rowid = titles_fts.rowid WHERE titles_fts MATCH ?1 \
                 ORDER BY titles_fts.rowid DESC LIMIT ?2"
            ))?
            .query_map(params![q, limit], |r| {
                Ok(SearchHit {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    updated: r.get(2)?,
                    message_id: r.get(3)?,
                    snippet: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        // A title hit adds nothing when a message of the same conversation matched.
        let with_message: std::collections::HashSet<String> =
            hits.iter().map(|h| h.id.clone()).collect();
        hits.extend(titles.into_iter().filter(|t| !with_message.contains(&t.id)));
        hits.sort_by_key(|h| std::cmp::Reverse(h.updated));
        hits.truncate(limit as usize);
        Ok(hits)
    }

    /// The conversation as Markdown (shown versions only).
    pub fn export_markdown(&self, id: &str) -> Result<String, StoreError> {
        let c = self.conversation(id)?;
        let mut out = format!("# {}\n\n", c.title);
        if !c.system_prompt.trim().is_empty() {
            out.push_str(&format!(
                "> System: {}\n\n",
                c.system_prompt.trim().replace('\n', "\n> ")
            ));
        }
        for m in self.messages(id, None, 5000)? {
            let who = if m.role == "user" { "You" } else { "Assistant" };
            out.push_str(&format!("## {who}\n\n"));
            if let Some(r) = m.reasoning.as_deref().filter(|r| !r.is_empty()) {
                out.push_str(&format!(
                    "<details><summary>Thinking</summary>\n\n{r}\n\n</details>\n\n"
                ));
            }
            out.push_str(m.content.trim_end());
            out.push_str("\n\n");
            if m.status != MessageStatus::Done {
                out.push_str(&format!("*({})*\n\n", m.status.as_str()));
            }
        }
        Ok(out)
    }

    /// The conversation as Runnel JSON (everything, versions included).
    pub fn export_json(&self, id: &str) -> Result<serde_json::Value, StoreError> {
        let d = Deleted {
            conversation: self.conversation(id)?,
            messages: self.all_messages(id)?,
        };
        Ok(serde_json::json!({
            "format": "runnel-conversation",
            "version": 1,
            "conversation": d.conversation,
            "messages": d.messages,
        }))
    }

    /// Imports a Runnel JSON export as a new conversation (new ids); returns its id.
    pub fn import_json(&self, v: &serde_json::Value) -> Result<String, StoreError> {
        if v.get("format").and_then(serde_json::Value::as_str) != Some("runnel-conversation") {
            return Err(StoreError::Invalid(
                "This is not a Runnel conversation export".into(),
            ));
        }
        let mut conversation: ConversationSummary =
            serde_json::from_value(v["conversation"].clone()).map_err(|e| {
                StoreError::Invalid(format!("The export's conversation is unreadable: {e}"))
            })?;
        let mut messages: Vec<Message> =
            serde_json::from_value(v["messages"].clone()).map_err(|e| {
                StoreError::Invalid(format!("The export's messages are unreadable: {e}"))
            })?;
        let new_conv = new_id();
        let mut ids = std::collections::HashMap::new();
        for m in &messages {
            ids.insert(m.id.clone(), new_id());
        }
        for m in &mut messages {
            m.id = ids[&m.id].clone();
            m.conversation_id = new_conv.clone();
            m.parent_id = m.parent_id.as_ref().and_then(|p| ids.get(p).cloned());
            m.variant_of = m.variant_of.as_ref().and_then(|p| ids.get(p).cloned());
        }
        conversation.id = new_conv.clone();
        conversation.pinned = false;
        self.restore(&Deleted {
            conversation,
            messages,
        })?;
        Ok(new_conv)
    }
}
