//! Backups and the database's health (issue 18): Settings lists, makes and
//! restores backups; in the background the app checks the database once at
//! start (`quick_check`) and makes the daily backup while it runs.

use crate::commands::conversations::{with_store, ChatState};
use crate::error::IpcError;
use crate::streams::StreamRegistry;
use runnel_core::config::env::Env;
use runnel_core::store::{BackupInfo, BackupReason, Integrity};
use runnel_core::types::error::ErrorKind;
use std::sync::Arc;
use std::time::Duration;
use tauri::Manager;

/// How long after start the first maintenance runs: the window draws first.
const FIRST_MAINTENANCE_DELAY: Duration = Duration::from_secs(5);
/// How often the app looks whether the daily backup is due.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// The backups, newest first.
#[tauri::command]
pub(crate) async fn list_backups(
    chat: tauri::State<'_, ChatState>,
) -> Result<Vec<BackupInfo>, IpcError> {
    with_store(&chat, |s| s.backups()).await
}

/// Makes a backup now.
#[tauri::command]
pub(crate) async fn create_backup(
    chat: tauri::State<'_, ChatState>,
) -> Result<BackupInfo, IpcError> {
    with_store(&chat, |s| s.backup(BackupReason::Manual)).await
}

/// Replaces the database with the backup `id` (the current one is backed up
/// first); refused while an answer is streaming into it.
#[tauri::command]
pub(crate) async fn restore_backup(
    chat: tauri::State<'_, ChatState>,
    streams: tauri::State<'_, Arc<StreamRegistry>>,
    id: String,
) -> Result<BackupInfo, IpcError> {
    if !streams.is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "An answer is still streaming: stop it, then restore.",
        ));
    }
    let result = with_store(&chat, move |s| s.restore_backup(&id)).await;
    if result.is_ok() {
        chat.forget_deleted();
        // The restored database gets its own check.
        *chat.health.lock().await = None;
    }
    result
}

/// What the check at start found: None when the database is sound (or
/// unavailable, which the store banner already says), else the problem.
#[tauri::command]
pub(crate) async fn store_health(
    chat: tauri::State<'_, ChatState>,
) -> Result<Option<String>, IpcError> {
    let Ok(store) = chat.store() else {
        return Ok(None);
    };
    // Held while the check runs: a second ask waits for the first's answer.
    let mut health = chat.health.lock().await;
    if let Some(found) = &*health {
        return Ok(found.clone());
    }
    let check = tauri::async_runtime::spawn_blocking(move || store.quick_check()).await;
    let found = match check {
        Ok(Ok(Integrity::Ok)) => None,
        Ok(Ok(Integrity::Damaged(problems))) => {
            tracing::error!(?problems, "the conversation database failed its check");
            Some(problems.join("; "))
        }
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(format!("the check could not run: {e}")),
    };
    *health = Some(found.clone());
    Ok(found)
}

/// Starts the background maintenance: the check at start, then the daily
/// backup whenever it is due while the app runs. `RUNNEL_MAINTENANCE=off`
/// turns both off (benchmarks).
pub fn start_maintenance(app: &tauri::AppHandle) {
    if !Env::process().maintenance() {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_MAINTENANCE_DELAY).await;
        let chat = app.state::<ChatState>();
        let _ = store_health(chat).await;
        loop {
            let chat = app.state::<ChatState>();
            match with_store(&chat, |s| s.backup_if_due()).await {
                Ok(Some(b)) => tracing::info!(id = b.id, "made the daily backup"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e.message, "the daily backup failed"),
            }
            tokio::time::sleep(MAINTENANCE_EVERY).await;
        }
    });
}
