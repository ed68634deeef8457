//! The engine, with no `tauri` import: everything here is tested without a window.

pub mod anthropic;
pub mod chats;
pub mod engine;
pub mod error;
pub mod feed;
pub mod markdown;
pub mod openai;
pub mod provider;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod sse;
pub mod store;
pub mod stream;
