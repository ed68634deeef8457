//! The window's commands, one file a concern. Each command parses its
//! arguments, calls core, and maps the error to `IpcError`; adding a command
//! touches its file and the list below.

pub mod conversations;
pub mod send;
pub mod settings;

/// Every command the window may invoke.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        settings::get_state,
        settings::save_provider,
        settings::duplicate_provider,
        settings::delete_provider,
        settings::set_default_provider,
        settings::set_theme,
        settings::set_api_key,
        settings::delete_api_key,
        settings::list_models,
        settings::import_env,
        settings::cancel_stream,
        settings::open_external,
        conversations::store_problem,
        conversations::reset_store,
        conversations::list_conversations,
        conversations::open_conversation,
        conversations::rename_conversation,
        conversations::pin_conversation,
        conversations::delete_conversation,
        conversations::undo_delete,
        conversations::search_conversations,
        conversations::activate_version,
        conversations::export_conversation,
        conversations::import_conversation,
        send::send_message
    ]
}
