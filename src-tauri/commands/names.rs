/// Every command the window may invoke, by name: the app's permission
/// manifest (build.rs) makes an `allow-<name>` permission of each, and the
/// window's capability in tauri.conf.json grants exactly these and nothing of
/// Tauri's core (no menus, tray, image reads, events).
pub const COMMANDS: &[&str] = &[
    "get_state",
    "save_provider",
    "duplicate_provider",
    "delete_provider",
    "set_default_provider",
    "set_theme",
    "set_language",
    "set_network",
    "set_proxy_password",
    "set_api_key",
    "delete_api_key",
    "list_models",
    "import_env",
    "cancel_stream",
    "open_external",
    "store_problem",
    "reset_store",
    "list_conversations",
    "open_conversation",
    "rename_conversation",
    "pin_conversation",
    "delete_conversation",
    "undo_delete",
    "search_conversations",
    "activate_version",
    "export_conversation",
    "import_conversation",
    "send_message",
];
