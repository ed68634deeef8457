//! The one status of a message, from the first token to its terminal state:
//! what the engine's outcome maps to, what the store keeps and what the
//! window shows (`data-status`).

use serde::{Deserialize, Serialize};

/// Status of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Being written by a live stream.
    Streaming,
    /// Complete.
    Done,
    /// Stopped by the user; text kept.
    Cancelled,
    /// Failed; text kept.
    Error,
    /// Its writer died mid-stream; text kept.
    Interrupted,
}

impl MessageStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streaming => "streaming",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
        }
    }

    /// The status with this stored name; None for a name this build does
    /// not know (a newer build's, or a damaged row): never a silent default.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "streaming" => Self::Streaming,
            "done" => Self::Done,
            "cancelled" => Self::Cancelled,
            "error" => Self::Error,
            "interrupted" => Self::Interrupted,
            _ => return None,
        })
    }

    /// True for the states a stream ends in.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Streaming)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_unknown_is_none() {
        for s in [
            MessageStatus::Streaming,
            MessageStatus::Done,
            MessageStatus::Cancelled,
            MessageStatus::Error,
            MessageStatus::Interrupted,
        ] {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MessageStatus::parse("finished"), None);
    }
}
