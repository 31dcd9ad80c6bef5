//! One stored document: its merge strategy, its JSON tree and its expiry.
//!
//! The store keeps these by id. Keeping the strategy beside the tree lets
//! later CRDT strategies change how writes apply without changing how the
//! store finds documents, and keeping the expiry here lets every lookup
//! decide liveness from the document alone.

use serde_json::{Map, Value};

use crate::strategy::Strategy;

/// A document: a JSON object, the strategy that merges writes to it, and an
/// optional expiry time.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    strategy: Strategy,
    root: Value,
    expires_at_ms: Option<u64>,
}

impl Document {
    /// Makes an empty document (the root is `{}`).
    ///
    /// `expires_at_ms` is an absolute time in milliseconds on the same clock
    /// the store is given as `now_ms`, or `None` for a document that lives
    /// until deleted.
    pub fn new(strategy: Strategy, expires_at_ms: Option<u64>) -> Document {
        Document {
            strategy,
            root: Value::Object(Map::new()),
            expires_at_ms,
        }
    }

    /// Returns the strategy chosen when the document was created.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Returns the document's JSON tree, which is always an object.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Returns the tree for the store's path operations.
    ///
    /// Crate-private so that only those operations, which never replace the
    /// root itself, can edit it: the root stays an object.
    pub(crate) fn root_mut(&mut self) -> &mut Value {
        &mut self.root
    }

    /// Returns when the document expires, in milliseconds on the store's
    /// clock, or `None` when it has no TTL.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.expires_at_ms
    }

    /// Reports whether the document has expired at `now_ms`.
    ///
    /// A document is gone from the moment its expiry time is reached, so a
    /// TTL of `n` milliseconds gives exactly `n` milliseconds of life.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms
            .is_some_and(|expires_at_ms| now_ms >= expires_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_document_is_an_empty_object() {
        let document = Document::new(Strategy::Lww, None);
        assert_eq!(document.root(), &json!({}));
        assert_eq!(document.strategy(), Strategy::Lww);
        assert_eq!(document.expires_at_ms(), None);
    }

    #[test]
    fn document_without_ttl_never_expires() {
        assert!(!Document::new(Strategy::Lww, None).is_expired(u64::MAX));
    }

    #[test]
    fn document_expires_when_its_time_is_reached() {
        let document = Document::new(Strategy::Lww, Some(1_000));
        assert!(!document.is_expired(999));
        assert!(document.is_expired(1_000));
        assert!(document.is_expired(1_001));
    }
}
