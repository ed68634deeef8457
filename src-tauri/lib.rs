//! Runnel: a fast, lossless desktop chat app for large language models.
//!
//! - [`core`]: the engine (SSE, providers, assembly, markdown, conversations),
//!   plain Rust with no `tauri` import, tested without a window.
//! - [`shell`]: the thin Tauri layer (commands, channels, the window).
//! - [`cli`]: the command line, including the headless `runnel ask` twin.

pub mod cli;
pub mod core;
pub mod shell;
