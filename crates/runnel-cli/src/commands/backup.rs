//! `runnel backup`: list, make and restore copies of the conversation database.

use crate::args::BackupAction;
use crate::output::format_time;
use runnel_core::store::{BackupInfo, BackupReason, Store, StoreError};

/// Runs a `backup` action; returns the exit status.
pub fn run(action: BackupAction) -> i32 {
    match Store::open_default().and_then(|store| act(&store, action)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("runnel: error [{}]: {e}", e.kind().as_str());
            1
        }
    }
}

fn json(v: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// `20261202-134005-manual  2026-12-02 13:40  manual  1.2 MB`
fn line(b: &BackupInfo) -> String {
    format!(
        "{}  {}  {:<9}  {}",
        b.id,
        format_time(b.created),
        b.reason.as_str(),
        size(b.size)
    )
}

/// Bytes in the largest unit that keeps a number of at least 1.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn act(store: &Store, action: BackupAction) -> Result<(), StoreError> {
    match action {
        BackupAction::List { json: as_json } => {
            let list = store.backups()?;
            if as_json {
                println!("{}", json(&list)?);
            } else if list.is_empty() {
                eprintln!(
                    "runnel: no backups yet in {} (make one with `runnel backup create`)",
                    store.backups_dir().display()
                );
            } else {
                for b in &list {
                    println!("{}", line(b));
                }
            }
        }
        BackupAction::Create { json: as_json } => {
            let b = store.backup(BackupReason::Manual)?;
            if as_json {
                println!("{}", json(&b)?);
            } else {
                println!("{}", b.id);
                eprintln!("runnel: backed up to {}", b.path.display());
            }
        }
        BackupAction::Restore { id } => {
            let before = store.restore_backup(&id)?;
            eprintln!(
                "runnel: restored {id}; the database it replaced is kept as backup {}",
                before.id
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_234), "1.2 KB");
        assert_eq!(size(5_600_000), "5.6 MB");
        assert_eq!(size(7_100_000_000), "7.1 GB");
    }
}
