//! Conversation commands: the sidebar, search, rename / pin / delete with undo,
//! export and import, versions, and sending in a stored conversation. Each is a
//! few lines over `core::store` and `core::chats`.

use super::{IpcError, StreamRegistry};
use crate::core::chats::{self, MessageView, Prepared, SendKind, SendSettings};
use crate::core::engine::EngineEvent;
use crate::core::feed::{self, StreamEnd, StreamMessage};
use crate::core::service::Service;
use crate::core::store::{ConversationSummary, Cursor, Deleted, SearchHit, Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tauri::ipc::Channel;
use tokio::sync::mpsc;

impl From<StoreError> for IpcError {
    fn from(e: StoreError) -> Self {
        let kind = match e {
            StoreError::NotFound(_) => "not_found",
            StoreError::Invalid(_) => "invalid",
            StoreError::Open { .. } | StoreError::Sqlite(_) => "storage",
        };
        Self::new(kind, e.to_string())
    }
}

/// Why the database could not be opened, for the window.
#[derive(Debug, Clone, Serialize)]
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
        }
    }

    /// The store, or the problem as an error.
    pub fn store(&self) -> Result<Arc<Store>, IpcError> {
        match &*self.store.read().unwrap_or_else(|p| p.into_inner()) {
            Ok(s) => Ok(s.clone()),
            Err(p) => Err(IpcError::new("storage", p.message.clone())),
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
            path: crate::core::store::data_dir()
                .join("runnel.sqlite3")
                .display()
                .to_string(),
            message: other.to_string(),
            can_move_aside: false,
        },
    }
}

/// Runs a blocking store call off the UI thread.
async fn with_store<T: Send + 'static>(
    chat: &ChatState,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, IpcError> {
    let store = chat.store()?;
    tauri::async_runtime::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| IpcError::new("internal", format!("background task failed: {e}")))?
        .map_err(IpcError::from)
}

#[tauri::command]
pub(super) fn store_problem(chat: tauri::State<'_, ChatState>) -> Option<StoreProblem> {
    chat.store
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .err()
        .cloned()
}

/// Moves a database that cannot be opened aside (never deleting it) and starts fresh.
#[tauri::command]
pub(super) fn reset_store(chat: tauri::State<'_, ChatState>) -> Result<String, IpcError> {
    let mut slot = chat.store.write().unwrap_or_else(|p| p.into_inner());
    let path = match &*slot {
        Ok(_) => {
            return Err(IpcError::new(
                "invalid",
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
        Err(p) => Err(IpcError::new("storage", p.message.clone())),
    }
}

#[tauri::command]
pub(super) async fn list_conversations(
    chat: tauri::State<'_, ChatState>,
    cursor: Option<Cursor>,
    limit: usize,
) -> Result<Vec<ConversationSummary>, IpcError> {
    with_store(&chat, move |s| s.list(cursor.as_ref(), limit)).await
}

/// One page of a conversation: its newest `limit` shown messages before `before_seq`.
#[derive(Debug, Serialize)]
pub struct ConversationPage {
    conversation: ConversationSummary,
    messages: Vec<MessageView>,
    has_more: bool,
}

#[tauri::command]
pub(super) async fn open_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
    before_seq: Option<i64>,
    limit: usize,
) -> Result<ConversationPage, IpcError> {
    with_store(&chat, move |s| {
        let conversation = s.conversation(&id)?;
        let mut messages = s.messages(&id, before_seq, limit + 1)?;
        let has_more = messages.len() > limit;
        if has_more {
            messages.remove(0);
        }
        let messages = chats::message_views(s, &id, messages)?;
        Ok(ConversationPage {
            conversation,
            messages,
            has_more,
        })
    })
    .await
}

#[tauri::command]
pub(super) async fn rename_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
    title: String,
) -> Result<(), IpcError> {
    with_store(&chat, move |s| s.rename(&id, &title)).await
}

#[tauri::command]
pub(super) async fn pin_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
    pinned: bool,
) -> Result<(), IpcError> {
    with_store(&chat, move |s| s.set_pinned(&id, pinned)).await
}

/// Deletes a conversation; returns a token for Undo (valid until the app exits).
#[tauri::command]
pub(super) async fn delete_conversation(
    chat: tauri::State<'_, ChatState>,
    id: String,
) -> Result<String, IpcError> {
    let deleted = with_store(&chat, move |s| s.delete(&id)).await?;
    let token = crate::core::store::new_id();
    chat.deleted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), deleted);
    Ok(token)
}

#[tauri::command]
pub(super) async fn undo_delete(
    chat: tauri::State<'_, ChatState>,
    token: String,
) -> Result<String, IpcError> {
    let deleted = chat
        .deleted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&token)
        .ok_or_else(|| IpcError::new("invalid", "Nothing to undo"))?;
    with_store(&chat, move |s| {
        s.restore(&deleted)?;
        Ok(deleted.conversation.id.clone())
    })
    .await
}

#[tauri::command]
pub(super) async fn search_conversations(
    chat: tauri::State<'_, ChatState>,
    query: String,
) -> Result<Vec<SearchHit>, IpcError> {
    with_store(&chat, move |s| s.search(&query, 50)).await
}

#[tauri::command]
pub(super) async fn activate_version(
    chat: tauri::State<'_, ChatState>,
    message_id: String,
) -> Result<(), IpcError> {
    with_store(&chat, move |s| s.activate(&message_id)).await
}

/// Exports a conversation as `md` or `json` through a save dialog. Returns the
/// path written, or None when the user cancelled. (`RUNNEL_EXPORT_PATH` skips
/// the dialog, for tests and scripts.)
#[tauri::command]
pub(super) async fn export_conversation(
    app: tauri::AppHandle,
    chat: tauri::State<'_, ChatState>,
    id: String,
    format: String,
) -> Result<Option<String>, IpcError> {
    let json = match format.as_str() {
        "md" => false,
        "json" => true,
        other => {
            return Err(IpcError::new(
                "invalid",
                format!("unknown export format {other:?}: use md or json"),
            ))
        }
    };
    let (title, text) = with_store(&chat, move |s| {
        let title = s.conversation(&id)?.title;
        let text = if json {
            serde_json::to_string_pretty(&s.export_json(&id)?)
                .map_err(|e| StoreError::Invalid(e.to_string()))?
        } else {
            s.export_markdown(&id)?
        };
        Ok((title, text))
    })
    .await?;
    let ext = if json { "json" } else { "md" };
    let path = match std::env::var_os("RUNNEL_EXPORT_PATH").filter(|p| !p.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            use tauri_plugin_dialog::DialogExt;
            let name = format!(
                "{}.{ext}",
                crate::core::settings::slug(&title)
                    .chars()
                    .take(60)
                    .collect::<String>()
            );
            let picked = tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .set_file_name(name)
                    .add_filter(if json { "Runnel JSON" } else { "Markdown" }, &[ext])
                    .blocking_save_file()
            })
            .await
            .map_err(|e| IpcError::new("internal", e.to_string()))?;
            picked.and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    std::fs::write(&path, text).map_err(|e| {
        IpcError::new(
            "storage",
            format!("could not write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// Imports a Runnel JSON export through an open dialog; returns the new id.
#[tauri::command]
pub(super) async fn import_conversation(
    app: tauri::AppHandle,
    chat: tauri::State<'_, ChatState>,
) -> Result<Option<String>, IpcError> {
    let path = match std::env::var_os("RUNNEL_IMPORT_PATH").filter(|p| !p.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            use tauri_plugin_dialog::DialogExt;
            tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .add_filter("Runnel JSON", &["json"])
                    .blocking_pick_file()
            })
            .await
            .map_err(|e| IpcError::new("internal", e.to_string()))?
            .and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| IpcError::new("storage", format!("could not read {}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| IpcError::new("invalid", format!("{} is not JSON: {e}", path.display())))?;
    with_store(&chat, move |s| s.import_json(&value))
        .await
        .map(Some)
}

/// What a send recorded, so the window can label its messages.
#[derive(Debug, Serialize)]
pub struct Sent {
    conversation_id: String,
    user_message: MessageView,
    answer_id: String,
}

/// Records the turn and starts streaming the answer; events arrive on `on_event`.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub(super) async fn send_message(
    service: tauri::State<'_, Arc<Service>>,
    chat: tauri::State<'_, ChatState>,
    streams: tauri::State<'_, Arc<StreamRegistry>>,
    conversation_id: String,
    stream_id: String,
    provider_id: Option<String>,
    model: Option<String>,
    system_prompt: String,
    thinking_budget: Option<u32>,
    send: SendKind,
    on_event: Channel<StreamMessage>,
) -> Result<Sent, IpcError> {
    let token = streams.insert(&stream_id)?;
    let settings = SendSettings {
        provider: provider_id.clone(),
        model: model.clone(),
        system_prompt,
        thinking_budget,
    };
    let conv = conversation_id.clone();
    let prepared = with_store(&chat, move |s| {
        let p = chats::prepare(s, &conv, &settings, &send)?;
        let user = chats::message_views(s, &conv, vec![p.user_message.clone()])?.remove(0);
        Ok((p, user))
    })
    .await;
    let (prepared, user_view) = match prepared {
        Ok(p) => p,
        Err(e) => {
            streams.remove(&stream_id);
            return Err(e);
        }
    };
    let store = chat.store()?;
    let sent = Sent {
        conversation_id,
        user_message: user_view,
        answer_id: prepared.answer.id.clone(),
    };
    // The turn is stored: a provider that cannot be used (keychain locked,
    // provider deleted) ends this answer with an error and loses nothing.
    let endpoint = match service
        .endpoint(provider_id.as_deref(), model.as_deref())
        .await
    {
        Ok(mut e) => {
            if e.kind == crate::core::settings::ProviderKind::Anthropic {
                e.thinking_budget = thinking_budget;
            }
            e
        }
        Err(e) => {
            let info = e.to_info();
            chats::fail_before_stream(&store, &prepared, info.kind.as_str(), &info.message);
            streams.remove(&stream_id);
            let _ = on_event.send(StreamMessage::End(StreamEnd::failed(info)));
            return Ok(sent);
        }
    };
    let service = service.inner().clone();
    let streams = streams.inner().clone();
    tauri::async_runtime::spawn(run_stream(
        service,
        store,
        prepared,
        endpoint,
        provider_id,
        token,
        stream_id,
        streams,
        on_event,
    ));
    Ok(sent)
}

#[allow(clippy::too_many_arguments)]
async fn run_stream(
    service: Arc<Service>,
    store: Arc<Store>,
    prepared: Prepared,
    endpoint: crate::core::provider::Endpoint,
    provider_id: Option<String>,
    token: tokio_util::sync::CancellationToken,
    stream_id: String,
    streams: Arc<StreamRegistry>,
    on_event: Channel<StreamMessage>,
) {
    let (tx, rx) = mpsc::unbounded_channel::<EngineEvent>();
    let channel = on_event.clone();
    let cancel_on_close = token.clone();
    let pump = feed::pump(rx, feed::FRAME, move |ops| {
        if channel.send(StreamMessage::Ops { ops }).is_err() {
            // The window is gone: stop streaming.
            cancel_on_close.cancel();
        }
    });
    let task_service = service.clone();
    let task_endpoint = endpoint.clone();
    let task_prepared = prepared.clone();
    // The stream runs in its own task so that even a panic in it ends in a
    // terminal state the window sees.
    let run = tauri::async_runtime::spawn(async move {
        // `tx` moves in and is dropped when the stream ends, which ends the pump.
        let tx = tx;
        chats::stream(
            &task_service.engine,
            &store,
            &task_prepared,
            &task_endpoint,
            crate::core::engine::ChatOptions::default(),
            &token,
            &mut |ev| {
                let _ = tx.send(ev);
            },
        )
        .await
    });
    let (result, ()) = tokio::join!(run, pump);
    let end = match result {
        Ok(result) => StreamEnd::from_result(&result),
        Err(e) => {
            tracing::error!(error = %e, "stream task failed");
            StreamEnd::failed(crate::core::error::ErrorInfo {
                kind: crate::core::error::ErrorKind::Stream,
                message: format!("internal error: the stream stopped unexpectedly ({e})"),
                status: None,
                retry_after_s: None,
            })
        }
    };
    streams.remove(&stream_id);
    let _ = on_event.send(StreamMessage::End(end));
    let _ = tauri::async_runtime::spawn_blocking(move || {
        service.remember_quirks(provider_id.as_deref(), &endpoint)
    })
    .await;
}
