//! The window's commands, one file a concern. Each command parses its
//! arguments, calls core, and maps the error to `IpcError`; adding a command
//! touches its file and the list below.

pub mod attach;
pub mod backup;
pub mod compare;
pub mod conversations;
pub mod inspect;
pub mod models;
mod names;
pub mod send;
pub mod settings;
pub mod tools;
pub mod usage;
pub mod window;

pub use names::COMMANDS;

/// Every command the window may invoke.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        attach::attach_files,
        attach::attach_bytes,
        attach::unstage_attachment,
        attach::stage_message_files,
        attach::attachment_thumbnail,
        settings::get_state,
        settings::save_provider,
        settings::duplicate_provider,
        settings::delete_provider,
        settings::set_default_provider,
        settings::set_theme,
        settings::set_language,
        settings::set_network,
        settings::set_local,
        settings::set_system_prompts,
        settings::set_proxy_password,
        settings::set_api_key,
        settings::delete_api_key,
        settings::list_models,
        settings::import_env,
        settings::cancel_stream,
        settings::open_external,
        conversations::store_problem,
        conversations::reset_store,
        conversations::list_conversations,
        conversations::list_answerers,
        conversations::open_conversation,
        conversations::rename_conversation,
        conversations::pin_conversation,
        conversations::delete_conversation,
        conversations::undo_delete,
        conversations::search_conversations,
        conversations::activate_version,
        conversations::export_conversation,
        conversations::import_conversation,
        backup::list_backups,
        backup::create_backup,
        backup::restore_backup,
        backup::store_health,
        send::send_message,
        window::get_view,
        window::set_view,
        window::set_draft,
        models::local_models,
        models::pull_model,
        models::remove_model,
        models::import_model,
        inspect::message_trace,
        inspect::export_trace,
        usage::usage_report,
        usage::price_list,
        usage::set_price,
        usage::remove_price,
        usage::set_trace,
        compare::compare_message,
        tools::decide_tool,
        tools::mcp_servers,
        tools::add_mcp_server,
        tools::remove_mcp_server,
        tools::set_mcp_enabled,
        tools::set_tool_trusted,
        tools::set_tool_limits,
        tools::conversation_tools,
        tools::set_conversation_tools_off
    ]
}

#[cfg(test)]
mod tests {
    use super::COMMANDS;

    /// Least privilege: the window's capability grants each command by name
    /// and nothing else (no `core:default`: menus, tray, image reads, events).
    #[test]
    fn regression_the_window_is_granted_only_its_own_commands() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).expect("tauri.conf.json");
        let caps = conf["app"]["security"]["capabilities"]
            .as_array()
            .expect("capabilities");
        assert_eq!(caps.len(), 1);
        let granted: Vec<&str> = caps[0]["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        let expected: Vec<String> = COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(granted, expected);
    }
}
