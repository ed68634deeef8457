//! The bottom layer: model-neutral types and errors that every other layer
//! uses and that use nothing above them.

pub mod answer;
pub mod attachment;
pub mod chat;
pub mod cost;
pub mod error;
pub mod files;
pub mod key;
pub mod net;
pub mod status;
pub mod time;
pub mod tool;
