//! Runnel's core: everything that is not a face (window or command line).
//! No tauri, clap or GUI crate is in its dependency tree.
//!
//! Layers, bottom to top; a module uses only modules below it:
//!
//! 1. [`types`]: messages, answers, statuses, keys and errors.
//! 2. [`protocol`]: SSE and the provider protocols (OpenAI-compatible, Anthropic).
//! 3. [`engine`]: one HTTP client that sends, retries and streams.
//! 4. [`config`], [`keys`], [`store`]: settings and environment, the OS
//!    keychain, the conversation database.
//! 5. [`render`]: markdown and the per-frame feed to the window;
//!    [`tools`]: MCP servers and the tools an answer may call;
//!    [`import`]: conversations from other apps into the store.
//! 6. [`service`]: providers, keys and models as the faces use them.
//! 7. [`turn`]: a whole send in a stored conversation, for every face.
#![deny(missing_docs)]

pub mod attach;
pub mod config;
pub mod engine;
pub mod import;
pub mod keys;
pub mod protocol;
pub mod render;
pub mod service;
pub mod store;
pub mod tools;
pub mod turn;
pub mod types;
