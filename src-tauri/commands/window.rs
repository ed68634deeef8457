//! Where the user was: the sidebar, the open conversation and the unsent
//! drafts, kept in the window's own state (`crate::window_state`).

use crate::error::IpcError;
use crate::window_state::{StateError, ViewPatch, ViewReply, WindowState};
use tauri::Wry;

impl From<StateError> for IpcError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::DraftTooLong(_) | StateError::BadId(_) => IpcError::invalid(e.to_string()),
            StateError::Save(_) => IpcError::internal(e.to_string()),
        }
    }
}

/// The view as it was left, and a notice when the state file was damaged.
#[tauri::command]
pub(crate) fn get_view(state: tauri::State<'_, WindowState<Wry>>) -> ViewReply {
    state.view()
}

/// Keeps the sidebar's width and state and the open conversation.
#[tauri::command]
pub(crate) fn set_view(
    state: tauri::State<'_, WindowState<Wry>>,
    view: ViewPatch,
) -> Result<(), IpcError> {
    Ok(state.set_view(view)?)
}

/// Keeps a conversation's unsent draft (`""`: the new chat); empty text
/// forgets it.
#[tauri::command]
pub(crate) fn set_draft(
    state: tauri::State<'_, WindowState<Wry>>,
    conversation_id: String,
    text: String,
) -> Result<(), IpcError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(state.set_draft(&conversation_id, text, now)?)
}
