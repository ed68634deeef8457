//! One module a command; each parses nothing (clap did) and calls core.

pub mod ask;
pub mod compare;
pub mod history;
pub mod key;
pub mod models;
pub mod prices;
pub mod providers;
