//! Running streams by id: the stream-id -> CancellationToken registry in
//! managed state, so Stop (and closing the window) can end any of them.

use crate::error::IpcError;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Running streams, by id.
#[derive(Debug, Default)]
pub struct StreamRegistry {
    map: Mutex<HashMap<String, CancellationToken>>,
}

impl StreamRegistry {
    /// Registers a new stream; an id already running is refused.
    pub fn insert(&self, id: &str) -> Result<CancellationToken, IpcError> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| IpcError::internal("stream registry poisoned"))?;
        if map.contains_key(id) {
            return Err(IpcError::invalid(format!(
                "stream id {id} is already in use"
            )));
        }
        let token = CancellationToken::new();
        map.insert(id.to_owned(), token.clone());
        Ok(token)
    }

    /// Forgets a stream that ended.
    pub fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    /// Cancels a stream; false if it is not running.
    pub fn cancel(&self, id: &str) -> bool {
        match self.map.lock().ok().and_then(|m| m.get(id).cloned()) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether no stream is running.
    pub fn is_empty(&self) -> bool {
        self.map.lock().map(|m| m.is_empty()).unwrap_or(false)
    }

    /// Cancels every stream (the app is closing).
    pub fn cancel_all(&self) {
        if let Ok(map) = self.map.lock() {
            map.values().for_each(CancellationToken::cancel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_cancels_and_rejects_duplicates() {
        let r = StreamRegistry::default();
        let t = r.insert("s1").expect("insert");
        assert!(r.insert("s1").is_err());
        assert!(r.cancel("s1"));
        assert!(t.is_cancelled());
        r.remove("s1");
        assert!(!r.cancel("s1"));
    }
}
