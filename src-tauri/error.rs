//! The one error every command returns: `{kind, message}`, with the kinds of
//! core's `ErrorKind` (spelled once, in core, and generated for the JS).

use runnel_core::service::ServiceError;
use runnel_core::store::StoreError;
use runnel_core::types::error::ErrorKind;
use serde::Serialize;

/// The error every command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct IpcError {
    /// Stable kind.
    pub kind: ErrorKind,
    /// Plain message.
    pub message: String,
}

impl IpcError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A request that does not make sense.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// A failed background task or another bug.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl From<ServiceError> for IpcError {
    fn from(e: ServiceError) -> Self {
        let info = e.to_info();
        Self::new(info.kind, info.message)
    }
}

impl From<StoreError> for IpcError {
    fn from(e: StoreError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<runnel_core::engine::local::download::PullError> for IpcError {
    fn from(e: runnel_core::engine::local::download::PullError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<runnel_core::engine::local::library::LibraryError> for IpcError {
    fn from(e: runnel_core::engine::local::library::LibraryError) -> Self {
        Self::new(ErrorKind::Model, e.to_string())
    }
}
