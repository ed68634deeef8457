//! Backups: consistent copies of the database in `<data dir>/backups/`, made
//! with SQLite's online backup API on a connection of their own, so the
//! store's connection (and every send) goes on while a copy is made. Each copy
//! passes a full `integrity_check` before it gets its final name; one that
//! fails is deleted and reported.
//!
//! Kinds: `daily` (made when the app runs and the newest daily copy is a day
//! old; the last [`KEEP_DAILY`] are kept), `manual`, `migration` (before a
//! schema upgrade) and `restore` (the database as it was before a restore).
//! Only daily copies are ever deleted, and only by the rotation.
//!
//! A backup's id is its file name without `.sqlite3`:
//! `20261202-134005-manual` (UTC), with `-2`, `-3`... when the second is taken.

use super::{now_ms, Store, StoreError};
use crate::types::files::{make_private, private_dir};
use crate::types::time::{civil, parse_day, DAY_MS};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The folder of the backups, beside the database.
pub const BACKUPS_DIR: &str = "backups";
/// How many daily backups are kept.
pub const KEEP_DAILY: usize = 7;
/// How old the newest daily backup may get before the next one is due.
pub const DAILY_EVERY_MS: i64 = DAY_MS;
/// The suffix of a finished backup file.
const SUFFIX: &str = ".sqlite3";
/// The suffix of a copy being made (left behind only by a crash; removed later).
const PARTIAL: &str = ".sqlite3.partial";
/// How often a copy step may find the database locked before it gives up.
const MAX_BUSY_RETRIES: u32 = 200;
/// How much of a file a check maps into memory (reads without a copy each).
const CHECK_MMAP_BYTES: i64 = 256 * 1024 * 1024;
/// The wait between those tries.
const BUSY_WAIT: Duration = Duration::from_millis(25);

/// Why a backup was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum BackupReason {
    /// The automatic copy of the day.
    Daily,
    /// Asked for by the user.
    Manual,
    /// Made before a schema upgrade.
    Migration,
    /// The database as it was before a restore replaced it.
    Restore,
}

impl BackupReason {
    /// Every reason, as spelled in ids and JSON.
    pub const ALL: [Self; 4] = [Self::Daily, Self::Manual, Self::Migration, Self::Restore];

    /// The name in ids and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Manual => "manual",
            Self::Migration => "migration",
            Self::Restore => "restore",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct BackupInfo {
    /// The id `backup restore` takes: the file name without `.sqlite3`.
    pub id: String,
    /// When it was made (ms since the epoch, to the second).
    #[ts(type = "number")]
    pub created: i64,
    /// Why it was made.
    pub reason: BackupReason,
    /// Its size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// The file.
    #[serde(skip)]
    #[ts(skip)]
    pub path: PathBuf,
}

/// What an integrity check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// No problem.
    Ok,
    /// SQLite's list of problems (the first few).
    Damaged(Vec<String>),
}

/// The most problems an integrity check reports.
const MAX_PROBLEMS: usize = 10;

/// Runs `PRAGMA integrity_check` (`full`) or `quick_check` on `conn`; a
/// check that SQLite stops because the file is corrupt is a finding too.
fn check(conn: &Connection, full: bool) -> rusqlite::Result<Integrity> {
    match run_check(conn, full) {
        Err(e) if is_damage(&e) => Ok(Integrity::Damaged(vec![e.to_string()])),
        r => r,
    }
}

/// SQLite's verdict that the file is not a sound database.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

fn run_check(conn: &Connection, full: bool) -> rusqlite::Result<Integrity> {
    let sql = if full {
        "PRAGMA integrity_check(10)"
    } else {
        "PRAGMA quick_check(10)"
    };
    let mut stmt = conn.prepare(sql)?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .take(MAX_PROBLEMS)
        .collect::<rusqlite::Result<_>>()?;
    Ok(if rows.len() == 1 && rows[0] == "ok" {
        Integrity::Ok
    } else {
        Integrity::Damaged(rows)
    })
}

/// A connection that only reads `path`, waiting for writers like the store does.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Copies every page of `from` into `to` in one step (one read snapshot:
/// the copy is consistent), retrying while another connection holds a lock.
fn copy(from: &Connection, to: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(from, to)?;
    let mut tries = 0;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => {
                tries += 1;
                if tries > MAX_BUSY_RETRIES {
                    return Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("the database stayed locked during the copy".to_owned()),
                    ));
                }
                std::thread::sleep(BUSY_WAIT);
            }
            // A variant added by a later rusqlite: treat it as "go on".
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}

/// `YYYYMMDD-HHMMSS` (UTC) of `ms`.
fn stamp(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The time and reason in a backup id, or None for a name that is not one.
fn parse_id(id: &str) -> Option<(i64, BackupReason)> {
    let mut parts = id.splitn(4, '-');
    let (date, time, reason) = (parts.next()?, parts.next()?, parts.next()?);
    if let Some(n) = parts.next() {
        n.parse::<u32>().ok().filter(|n| *n >= 2)?;
    }
    if date.len() != 8 || time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day = parse_day(&format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..]))?;
    let (h, m, s): (i64, i64, i64) = (
        time[..2].parse().ok()?,
        time[2..4].parse().ok()?,
        time[4..].parse().ok()?,
    );
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some((
        day + (h * 3600 + m * 60 + s) * 1000,
        BackupReason::parse(reason)?,
    ))
}

/// The backups in `dir`, newest first (files that are not backups are left alone).
pub fn list_backups(dir: &Path) -> Result<Vec<BackupInfo>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(StoreError::Invalid(format!(
                "could not read the backups folder {}: {e}",
                dir.display()
            )))
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        let Some((created, reason)) = parse_id(id) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        out.push(BackupInfo {
            id: id.to_owned(),
            created,
            reason,
            size: meta.len(),
            path: entry.path(),
        });
    }
    out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    Ok(out)
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Invalid(format!("could not {what} {}: {e}", path.display()))
}

/// Makes a backup of the database at `db` in `dir`: copied, checked in
/// full, then renamed into place. A copy that fails its check is deleted
/// and reported (the database itself is damaged), except the copy a restore
/// makes of the database it replaces, which is kept as it is.
pub fn backup_database(
    db: &Path,
    dir: &Path,
    reason: BackupReason,
) -> Result<BackupInfo, StoreError> {
    private_dir(dir).map_err(|e| io_error("create the backups folder", dir, &e))?;
    let created = now_ms() / 1000 * 1000;
    let base = format!("{}-{}", stamp(created), reason.as_str());
    let mut id = base.clone();
    let mut n = 1;
    while dir.join(format!("{id}{SUFFIX}")).exists() || dir.join(format!("{id}{PARTIAL}")).exists()
    {
        n += 1;
        id = format!("{base}-{n}");
    }
    let partial = dir.join(format!("{id}{PARTIAL}"));
    let path = dir.join(format!("{id}{SUFFIX}"));
    let result = (|| -> Result<(), StoreError> {
        let from = open_reader(db)?;
        let mut to = Connection::open(&partial)?;
        make_private(&partial).map_err(|e| io_error("protect", &partial, &e))?;
        // A copy that breaks off is deleted, never used: no journal, and one
        // sync of the finished file instead of SQLite's own.
        to.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
        copy(&from, &mut to)?;
        drop(from);
        to.pragma_update(None, "mmap_size", CHECK_MMAP_BYTES)?;
        if let Integrity::Damaged(problems) = check(&to, true)? {
            // The database a restore replaces is kept even when damaged: it
            // is the user's, and a restore is how they recover from damage.
            if reason != BackupReason::Restore {
                return Err(StoreError::Invalid(format!(
                    "the conversation database failed its integrity check ({}); restore a backup",
                    problems.join("; ")
                )));
            }
            tracing::warn!(?problems, "kept the damaged database a restore replaces");
        }
        to.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error("write", &partial, &e))?;
        std::fs::rename(&partial, &path).map_err(|e| io_error("rename", &partial, &e))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| io_error("read", &path, &e))?
        .len();
    tracing::info!(
        id,
        reason = reason.as_str(),
        size,
        "backed up the conversation database"
    );
    if reason == BackupReason::Daily {
        rotate(dir);
    }
    Ok(BackupInfo {
        id,
        created,
        reason,
        size,
        path,
    })
}

/// Deletes daily backups beyond the newest [`KEEP_DAILY`], and copies a
/// crash left unfinished.
fn rotate(dir: &Path) {
    if let Ok(list) = list_backups(dir) {
        for old in list
            .iter()
            .filter(|b| b.reason == BackupReason::Daily)
            .skip(KEEP_DAILY)
        {
            if let Err(e) = std::fs::remove_file(&old.path) {
                tracing::warn!(id = old.id, error = %e, "could not delete an old daily backup");
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(PARTIAL) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Checks the database at `db` on a connection of its own: `quick_check`
/// (what the app runs at start) or the full `integrity_check`.
pub fn check_database(db: &Path, full: bool) -> Result<Integrity, StoreError> {
    Ok(check(&checker(db, full)?, full)?)
}

/// The connection a check runs on. The full check (of a backup, on demand)
/// maps the file for speed. The quick check runs in the background of every
/// start: it reads through SQLite's small page cache instead, since mapped
/// pages count in the app's memory while it runs (+250 MB idle with a
/// 1.2 GB database).
fn checker(db: &Path, full: bool) -> rusqlite::Result<Connection> {
    let conn = open_reader(db)?;
    if full {
        conn.pragma_update(None, "mmap_size", CHECK_MMAP_BYTES)?;
    }
    Ok(conn)
}

impl Store {
    /// The folder of this store's backups.
    pub fn backups_dir(&self) -> PathBuf {
        self.dir.join(BACKUPS_DIR)
    }

    /// This store's backups, newest first.
    pub fn backups(&self) -> Result<Vec<BackupInfo>, StoreError> {
        list_backups(&self.backups_dir())
    }

    /// Makes a backup now (the store goes on being used meanwhile).
    pub fn backup(&self, reason: BackupReason) -> Result<BackupInfo, StoreError> {
        backup_database(&self.path, &self.backups_dir(), reason)
    }

    /// Makes the daily backup when the newest one is [`DAILY_EVERY_MS`] old
    /// (or there is none); None when it is not due.
    pub fn backup_if_due(&self) -> Result<Option<BackupInfo>, StoreError> {
        let newest = self
            .backups()?
            .into_iter()
            .find(|b| b.reason == BackupReason::Daily);
        match newest {
            Some(b) if now_ms() - b.created < DAILY_EVERY_MS => Ok(None),
            _ => self.backup(BackupReason::Daily).map(Some),
        }
    }

    /// Runs the quick integrity check on a connection of its own.
    pub fn quick_check(&self) -> Result<Integrity, StoreError> {
        check_database(&self.path, false)
    }

    /// Replaces the whole database with the backup `id`, after checking the
    /// backup in full and backing up the database as it is now (reason
    /// `restore`; nothing is deleted). The restored database is migrated to
    /// this build's schema. Returns the backup of the replaced database.
    pub fn restore_backup(&self, id: &str) -> Result<BackupInfo, StoreError> {
        let source = self
            .backups()?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("the backup {id}")))?;
        let from = open_reader(&source.path)?;
        if let Integrity::Damaged(problems) = check(&from, true)? {
            return Err(StoreError::Invalid(format!(
                "the backup {id} is damaged ({}); choose another",
                problems.join("; ")
            )));
        }
        let version: i32 = from.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > super::SCHEMA_VERSION {
            return Err(StoreError::Invalid(format!(
                "the backup {id} was made by a newer Runnel (schema {version}); update Runnel to restore it"
            )));
        }
        let before = self.backup(BackupReason::Restore)?;
        {
            let mut conn = self.conn();
            copy(&from, &mut conn)?;
        }
        self.migrate(version)?;
        self.recover_interrupted()?;
        tracing::info!(id, saved_as = before.id, "restored a backup");
        Ok(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_check_at_start_maps_no_memory() {
        let dir = std::env::temp_dir().join(format!("runnel-check-mmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let db = dir.join("c.sqlite3");
        Connection::open(&db)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);"))
            .expect("db");
        let mapped = |full| -> i64 {
            checker(&db, full)
                .and_then(|c| c.query_row("PRAGMA mmap_size", [], |r| r.get(0)))
                .expect("mmap_size")
        };
        assert_eq!(mapped(false), 0, "the quick check reads, it does not map");
        assert_eq!(mapped(true), CHECK_MMAP_BYTES);
        assert_eq!(check_database(&db, false).expect("check"), Integrity::Ok);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ids_parse_and_other_names_are_not_backups() {
        let (t, r) = parse_id("20261202-134005-manual").expect("id");
        assert_eq!(r, BackupReason::Manual);
        assert_eq!(crate::types::time::rfc3339(t), "2026-12-02T13:40:05Z");
        assert_eq!(stamp(t), "20261202-134005");
        assert!(parse_id("20261202-134005-daily-2").is_some());
        for bad in [
            "20261202-134005-weekly",
            "20261302-134005-daily",
            "20261202-246005-daily",
            "20261202-134005-daily-1",
            "20261202-134005-daily-x",
            "runnel",
            "../20261202-134005-daily",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
