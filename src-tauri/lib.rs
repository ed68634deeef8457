//! Runnel's window: the thin Tauri face over runnel-core. Commands parse,
//! call core and map errors to one serialized `{kind, message}`
//! ([`error::IpcError`]); streams reach the page over a `tauri::ipc::Channel`
//! each, with a stream-id -> CancellationToken registry ([`streams`]) in
//! managed state; [`app`] builds and runs the window.

pub mod app;
pub mod commands;
pub mod error;
pub mod ipc_types;
pub mod streams;
pub mod window_state;
