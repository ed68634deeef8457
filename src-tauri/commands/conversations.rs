//! Conversation commands: the sidebar, search, rename / pin / delete with
//! undo, versions, export and import. Each is a few lines over the store.

use crate::error::IpcError;
use runnel_core::config::env::Env;
use runnel_core::config::slug;
use runnel_core::import::ImportReport;
use runnel_core::render::page::conversation_page;
use runnel_core::render::view::{conversation_cost, message_views, MessageView};
use runnel_core::store::{
    ConversationSummary, Cursor, Deleted, SearchFilter, SearchHit, Store, StoreError,
};
use runnel_core::types::error::ErrorKind;
use runnel_core::types::files::write_private;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Why the database could not be opened, for the window.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct StoreProblem {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Moving it aside and starting fresh would help.
    pub can_move_aside: bool,
}

/// The store, or why it could not be opened (the app runs either way).
pub struct ChatState {
    store: RwLock<Result<Arc<Store>, StoreProblem>>,
    deleted: Mutex<HashMap<String, Deleted>>,
    /// What the integrity check found (run on first ask; None until then,
    /// and again after a restore replaced the database).
    pub(crate) health: tokio::sync::Mutex<Option<Option<String>>>,
}

impl ChatState {
    /// Opens the default database.
    pub fn open() -> Self {
        let store = Store::open_default().map(Arc::new).map_err(|e| problem(&e));
        if let Err(p) = &store {
            tracing::error!(path = %p.path, message = %p.message, "conversation database unavailable");
        }
        Self {
            store: RwLock::new(store),
            deleted: Mutex::new(HashMap::new()),
            health: tokio::sync::Mutex::new(None),
        }
    }

    /// Drops every pending Undo (a restore replaced what they would bring back into).
    pub fn forget_deleted(&self) {
        self.deleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The store, or the problem as an error.
    pub fn store(&self) -> Result<Arc<Store>, IpcError> {
        match &*self.store.read().unwrap_or_else(|p| p.into_inner()) {
            Ok(s) => Ok(s.clone()),
            Err(p) => Err(IpcError::new(ErrorKind::Storage, p.message.clone())),
        }
    }
}

fn problem(e: &StoreError) -> StoreProblem {
    match e {
        StoreError::Open {
            path,
            message,
            can_move_aside,
        } => StoreProblem {
            path: path.display().to_string(),
            message: message.clone(),
            can_move_aside: *can_move_aside,
        },
        other => StoreProblem {
            path: runnel_core::store::data_dir()
                .join("runnel.sqlite3")
                .display()
                .to_string(),
            message: other.to_string(),
            can_move_aside: false,
        },
    }
}

/// Runs a blocking store call off the UI thread.
pub(crate) async fn with_store<T: Send + 'static>(
    chat: &ChatState,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, IpcError> {
    let store = chat.store()?;
    tauri::async_runtime::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| IpcError::new(ErrorKind::Internal, format!("background task failed: {e}")))?
        .map_err(IpcError::from)
}

#[tauri::command]
pub(crate) fn store_problem(chat: tauri::State<'_, ChatState>) -> Option<StoreProblem> {
    chat.store
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .err()
        .cloned()
}

/// Moves a database that cannot be opened aside (never deleting it) and starts fresh.
#[tauri::command]
pub(crate) fn reset_store(chat: tauri::State<'_, ChatState>) -> Result<String, IpcError> {
    let mut slot = chat.store.write().unwrap_or_else(|p| p.into_inner());
    let path = match &*slot {
        Ok(_) => {
            return Err(IpcError::new(
                ErrorKind::Invalid,
                "The database is fine: nothing to move",
            ))
        }
        Err(p) => PathBuf::from(&p.path),
    };
    let aside = if path.exists() {
        Store::move_aside(&path)?.display().to_string()
    } else {
        String::new()
    };
    *slot = Store::open(&path).map(Arc::new).map_err(|e| problem(&e));
    match &*slot {
        Ok(_) => Ok(aside),
        Err(p) => Err(IpcError::new(ErrorKind::Storage, p.message.clone())),
    }
}

#[tauri::command]
pub(crate) async fn list_conversations(
    chat: tauri::State<'_, ChatState>,
    cursor: Option<Cursor>,
    limit: usize,
    provider: Option<String>,
    model: Option<String>,
) -> Result<Vec<ConversationSummary>, IpcError> {
    with_store(&chat, move |s| {
        s.list_answered_by(
            cursor.as_ref(),
            limit,
            provider.as_deref(),
            model.as_deref(),
        )
    })
    .await
}

/// Who answered in the stored conversations: the sidebar's filter choices.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Answerers {
    /// Provider ids, sorted.
    pub providers: Vec<String>,
    /// Model ids, sorted.
    pub models: Vec<String>,
}

/// Every provider and model that answered in some conversation.
#[tauri::command]
pub(crate) async fn list_answerers(
    chat: tauri::State<'_, ChatState>,
) -> Result<Answerers, IpcError> {
    with_store(&chat, |s| {
        s.answerers()
            .map(|(providers, models)| Answerers { providers, models })
    })
    .await
}

/// One page of a conversation: its newest `limit` shown messages before `before_seq`.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ConversationPage {
    conversation: ConversationSummary,
    messages: Vec<MessageView>,
    has_more: bool,
    /// What all its answers cost at today's prices (None: none has a price).
    cost: Option<runnel_core::types::cost::Cost>,
    /// The app it was imported from (`chatgpt`, `claude`, `open-webui`,
    /// `llm`, `runnel`), if it was imported.
    imported_from: Option<String>,
}

#[tauri::command]
pub(crate) async fn open_conversation(
    service: tauri::State<'_, Arc<runnel_core::service::Service>>,
    chat: tauri::State<'_, ChatState>,
    id: String,
    before_seq: Option<i64>,
    limit: usize,
) -> Result<ConversationPage, IpcError> {
    let prices = service.settings().prices;
    with_store(&chat, move |s| {
        let conversation = s.conversation(&id)?;
        let mut messages = s.messages(&id, before_seq, limit + 1)?;
        let has_more = messages.len() > limit;
        if has_more {
            messages.remove(0);
        }
        let messages = message_views(s, &id, messages, &prices)?;
        let cost = conversation_cost(s, &id, &prices)?;
        let imported_from = s.import_source(&id)?.map(|(source, _)| source);
        Ok(ConversationPage {
            conversation,
            messages,
            has_more,
            cost,
            imported_from,
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn rename_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
    title: String,
) -> Result<(), IpcError> {
    with_store(&chat, move |s| s.rename(&id, &title)).await
}

#[tauri::command]
pub(crate) async fn pin_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
    pinned: bool,
) -> Result<(), IpcError> {
    with_store(&chat, move |s| s.set_pinned(&id, pinned)).await
}

/// Deletes a conversation; returns a token for Undo (valid until the app exits).
#[tauri::command]
pub(crate) async fn delete_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
) -> Result<String, IpcError> {
    let deleted = with_store(&chat, move |s| s.delete(&id)).await?;
    let token = runnel_core::store::new_id();
    chat.deleted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), deleted);
    Ok(token)
}

#[tauri::command]
pub(crate) async fn undo_delete(
    chat: tauri::State<'_, ChatState>,
    token: String,
) -> Result<String, IpcError> {
    let deleted = chat
        .deleted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&token)
        .ok_or_else(|| IpcError::new(ErrorKind::Invalid, "Nothing to undo"))?;
    with_store(&chat, move |s| {
        s.restore(&deleted)?;
        Ok(deleted.conversation.id.clone())
    })
    .await
}

#[tauri::command]
pub(crate) async fn search_conversations(
    chat: tauri::State<'_, ChatState>,
    query: String,
    filter: Option<SearchFilter>,
) -> Result<Vec<SearchHit>, IpcError> {
    let filter = filter.unwrap_or_default();
    with_store(&chat, move |s| s.search_filtered(&query, &filter, 50)).await
}

/// Shows the branch through a message (a fork's arrow, a search hit,
/// Compare's pick); other branches keep their choices.
#[tauri::command]
pub(crate) async fn activate_version(
    chat: tauri::State<'_, ChatState>,
    message_id: String,
) -> Result<(), IpcError> {
    with_store(&chat, move |s| s.activate(&message_id)).await
}

/// Exports a conversation as `md` or `json` through a save dialog. Returns the
/// path written, or None when the user cancelled. (`RUNNEL_EXPORT_PATH` skips
/// the dialog, for tests and scripts.)
#[tauri::command]
pub(crate) async fn export_conversation(
    app: tauri::AppHandle,
    chat: tauri::State<'_, ChatState>,
    id: String,
    format: ExportFormat,
) -> Result<Option<String>, IpcError> {
    let (title, text) = with_store(&chat, move |s| {
        let title = s.conversation(&id)?.title;
        let text = match format {
            ExportFormat::Json => serde_json::to_string_pretty(&s.export_json(&id)?)
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
            ExportFormat::Md => s.export_markdown(&id)?,
            ExportFormat::Html => conversation_page(s, &id)?,
        };
        Ok((title, text))
    })
    .await?;
    let (ext, filter) = format.file_type();
    let path = match Env::process().export_path() {
        Some(p) => Some(p),
        None => {
            use tauri_plugin_dialog::DialogExt;
            let name = format!(
                "{}.{ext}",
                slug(&title).chars().take(60).collect::<String>()
            );
            let picked = tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .set_file_name(name)
                    .add_filter(filter, &[ext])
                    .blocking_save_file()
            })
            .await
            .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
            picked.and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    write_private(&path, text.as_bytes()).map_err(|e| {
        IpcError::new(
            ErrorKind::Storage,
            format!("could not write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// Imports a Runnel JSON export through an open dialog; returns the new id.
#[tauri::command]
pub(crate) async fn import_conversation(
    app: tauri::AppHandle,
    chat: tauri::State<'_, ChatState>,
) -> Result<Option<ImportReport>, IpcError> {
    let path = match Env::process().import_path() {
        Some(p) => Some(p),
        None => {
            use tauri_plugin_dialog::DialogExt;
            tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .add_filter(
                        "Conversations (Runnel, ChatGPT, Claude, Open WebUI, llm)",
                        &["json", "zip", "db", "sqlite", "sqlite3"],
                    )
                    .blocking_pick_file()
            })
            .await
            .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?
            .and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    // Read and checked off the async runtime; the format is detected.
    with_store(&chat, move |s| runnel_core::import::import_path(s, &path))
        .await
        .map(Some)
}

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Markdown, the shown versions.
    Md,
    /// Runnel JSON, everything.
    Json,
    /// One self-contained HTML page to share, the shown versions.
    Html,
}

impl ExportFormat {
    /// The file extension and the save dialog's filter name.
    fn file_type(self) -> (&'static str, &'static str) {
        match self {
            Self::Md => ("md", "Markdown"),
            Self::Json => ("json", "Runnel JSON"),
            Self::Html => ("html", "HTML page"),
        }
    }
}
