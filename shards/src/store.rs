//! One shard's documents, keyed by id, with lazy expiry.
//!
//! Each shard owns a [`Store`] outright, so it needs no locking. Time is
//! passed in as `now_ms` on every call rather than read from a clock, which
//! keeps the engine deterministic in tests and free of platform time APIs
//! (it also builds for wasm32). An expired document is treated as missing
//! everywhere and is removed when a call touches it; [`Store::purge_expired`]
//! reclaims the ones nobody touches.

use ahash::AHashMap;
use serde_json::{Number, Value};

use crate::document::Document;
use crate::error::StoreError;
use crate::glob::{glob_match, is_literal};
use crate::path::Path;
use crate::strategy::Strategy;
use crate::value;

/// The documents of one shard.
#[derive(Debug, Default)]
pub struct Store {
    documents: AHashMap<Box<str>, Document>,
    /// How many of `documents` have a TTL, kept so that expiry sweeps can be
    /// skipped when there is nothing to expire.
    expiring: usize,
}

impl Store {
    /// Makes an empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// Returns how many documents the store holds.
    ///
    /// Expired documents count until a call touches them or
    /// [`Store::purge_expired`] runs, because telling them apart needs the
    /// current time.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// Reports whether the store holds no documents (counted as
    /// [`Store::len`] counts them).
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// Returns how many held documents have a TTL.
    ///
    /// Lets the server report expiring keys and skip expiry sweeps on shards
    /// that have none.
    pub fn expiring(&self) -> usize {
        self.expiring
    }

    /// Creates an empty document `id` with `strategy`, expiring `ttl_ms`
    /// milliseconds after `now_ms` when a TTL is given.
    ///
    /// Fails with [`StoreError::InvalidTtl`] for a zero TTL,
    /// [`StoreError::NotSupported`] for a strategy that is not implemented
    /// yet, and [`StoreError::AlreadyExists`] when a live document has the
    /// id. An expired document with the id is replaced.
    pub fn create(
        &mut self,
        id: &str,
        strategy: Strategy,
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        if ttl_ms == Some(0) {
            return Err(StoreError::InvalidTtl);
        }
        if !strategy.is_supported() {
            return Err(StoreError::NotSupported(strategy));
        }
        if self.live_mut(id, now_ms).is_some() {
            return Err(StoreError::AlreadyExists(id.to_owned()));
        }
        let expires_at_ms = ttl_ms.map(|ttl_ms| now_ms.saturating_add(ttl_ms));
        self.insert(id, Document::new(strategy, expires_at_ms));
        Ok(())
    }

    /// Returns the live document `id`, for callers that need its strategy or
    /// expiry rather than its contents.
    pub fn document(&mut self, id: &str, now_ms: u64) -> Option<&Document> {
        self.live_mut(id, now_ms).map(|document| &*document)
    }

    /// Returns the whole document `id` when `path` is `None`, or the value at
    /// `path` in it; `None` when the document or the path is missing.
    pub fn get(&mut self, id: &str, path: Option<&Path>, now_ms: u64) -> Option<&Value> {
        let root = self.live_mut(id, now_ms)?.root();
        match path {
            None => Some(root),
            Some(path) => value::get(root, path),
        }
    }

    /// Stores `value` at `path` in document `id`, as [`value::set`] does.
    ///
    /// Writing to a missing document creates it with [`Strategy::Lww`] and
    /// no TTL, so clients need not CREATE before their first write.
    pub fn set(
        &mut self,
        id: &str,
        path: &Path,
        value: Value,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.write(id, now_ms, |root| value::set(root, path, value))
    }

    /// Deletes document `id`, reporting whether a live one existed.
    pub fn delete_document(&mut self, id: &str, now_ms: u64) -> bool {
        self.live_mut(id, now_ms).is_some() && self.remove(id).is_some()
    }

    /// Deletes the member at `path` in document `id`, as [`value::delete`]
    /// does; a missing document is `Ok(false)`.
    pub fn delete_path(&mut self, id: &str, path: &Path, now_ms: u64) -> Result<bool, StoreError> {
        match self.live_mut(id, now_ms) {
            Some(document) => value::delete(document.root_mut(), path),
            None => Ok(false),
        }
    }

    /// Appends `value` to the array at `path` in document `id`, as
    /// [`value::push`] does, and returns the array's new length.
    ///
    /// A missing document is created as for [`Store::set`].
    pub fn push(
        &mut self,
        id: &str,
        path: &Path,
        value: Value,
        now_ms: u64,
    ) -> Result<usize, StoreError> {
        self.write(id, now_ms, |root| value::push(root, path, value))
    }

    /// Adds `delta` to the number at `path` in document `id`, as
    /// [`value::increment`] does, and returns the new number.
    ///
    /// A missing document is created as for [`Store::set`].
    pub fn increment(
        &mut self,
        id: &str,
        path: &Path,
        delta: &Number,
        now_ms: u64,
    ) -> Result<Number, StoreError> {
        self.write(id, now_ms, |root| value::increment(root, path, delta))
    }

    /// Appends to `out` the ids of live documents matching the glob
    /// `pattern` (Redis `KEYS` syntax), at most `limit` of them.
    ///
    /// The cap comes from the caller's configuration, so one request cannot
    /// make a shard build an unbounded reply; a caller merging shards passes
    /// what is left of its cap and can tell the reply was cut short when
    /// `limit` ids were added. Order is unspecified. A pattern without glob
    /// syntax is a single exact lookup instead of a scan.
    pub fn keys(&self, pattern: &[u8], now_ms: u64, limit: usize, out: &mut Vec<String>) {
        if limit == 0 {
            return;
        }
        if is_literal(pattern) {
            // Ids are UTF-8, so a pattern that is not cannot name one.
            let live = std::str::from_utf8(pattern)
                .ok()
                .and_then(|id| self.documents.get_key_value(id))
                .filter(|(_, document)| !document.is_expired(now_ms));
            if let Some((id, _)) = live {
                out.push(id.to_string());
            }
            return;
        }
        let matching = self
            .documents
            .iter()
            .filter(|(id, document)| {
                !document.is_expired(now_ms) && glob_match(pattern, id.as_bytes())
            })
            .map(|(id, _)| id.to_string())
            .take(limit);
        out.extend(matching);
    }

    /// Removes every document that has expired at `now_ms` and returns how
    /// many were removed.
    ///
    /// Lazy expiry only reclaims documents that are touched; the server calls
    /// this now and then for the rest. It scans the whole shard, so it
    /// returns at once when no document has a TTL.
    pub fn purge_expired(&mut self, now_ms: u64) -> usize {
        if self.expiring == 0 {
            return 0;
        }
        let before = self.documents.len();
        self.documents
            .retain(|_, document| !document.is_expired(now_ms));
        let removed = before - self.documents.len();
        self.expiring -= removed;
        removed
    }

    /// Runs a write on document `id`, creating it as [`Strategy::Lww`] with
    /// no TTL when missing.
    ///
    /// A document created for the write is kept only if the write succeeds,
    /// so a failed write never leaves an empty document behind.
    fn write<T>(
        &mut self,
        id: &str,
        now_ms: u64,
        operation: impl FnOnce(&mut Value) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(document) = self.live_mut(id, now_ms) {
            return operation(document.root_mut());
        }
        let mut document = Document::new(Strategy::Lww, None);
        let result = operation(document.root_mut())?;
        self.insert(id, document);
        Ok(result)
    }

    /// Returns the document `id` if it is live, removing it if it has
    /// expired.
    fn live_mut(&mut self, id: &str, now_ms: u64) -> Option<&mut Document> {
        if self.documents.get(id)?.is_expired(now_ms) {
            self.remove(id);
            return None;
        }
        self.documents.get_mut(id)
    }

    /// Adds or replaces document `id`, keeping the TTL count right.
    fn insert(&mut self, id: &str, document: Document) {
        if document.expires_at_ms().is_some() {
            self.expiring += 1;
        }
        if let Some(replaced) = self.documents.insert(id.into(), document) {
            if replaced.expires_at_ms().is_some() {
                self.expiring -= 1;
            }
        }
    }

    /// Removes document `id`, keeping the TTL count right.
    fn remove(&mut self, id: &str) -> Option<Document> {
        let removed = self.documents.remove(id)?;
        if removed.expires_at_ms().is_some() {
            self.expiring -= 1;
        }
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> Path {
        Path::parse(text).expect("valid test path")
    }

    fn sorted_keys(store: &Store, pattern: &str, now_ms: u64, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        store.keys(pattern.as_bytes(), now_ms, limit, &mut out);
        out.sort();
        out
    }

    #[test]
    fn create_makes_an_empty_document() {
        let mut store = Store::new();
        assert_eq!(store.create("doc", Strategy::Lww, None, 0), Ok(()));
        assert_eq!(store.get("doc", None, 0), Some(&json!({})));
        assert_eq!(store.len(), 1);
        assert!(!store.is_empty());
    }

    #[test]
    fn create_refuses_an_existing_document() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, None, 0)
            .expect("first create");
        store.set("doc", &path("a"), json!(1), 0).expect("set");
        assert_eq!(
            store.create("doc", Strategy::Lww, None, 0),
            Err(StoreError::AlreadyExists("doc".into()))
        );
        assert_eq!(store.get("doc", None, 0), Some(&json!({"a": 1})));
    }

    #[test]
    fn create_refuses_unsupported_strategies() {
        let mut store = Store::new();
        assert_eq!(
            store.create("doc", Strategy::CrdtCounter, None, 0),
            Err(StoreError::NotSupported(Strategy::CrdtCounter))
        );
        assert!(store.is_empty());
    }

    #[test]
    fn create_refuses_a_zero_ttl() {
        let mut store = Store::new();
        assert_eq!(
            store.create("doc", Strategy::Lww, Some(0), 0),
            Err(StoreError::InvalidTtl)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn create_may_reuse_the_id_of_an_expired_document() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, Some(10), 0)
            .expect("create");
        assert_eq!(store.create("doc", Strategy::Lww, None, 10), Ok(()));
        assert_eq!(store.expiring(), 0);
        assert_eq!(
            store.document("doc", 10).map(Document::expires_at_ms),
            Some(None)
        );
    }

    #[test]
    fn ttl_expires_documents_lazily() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, Some(100), 1_000)
            .expect("create");
        assert_eq!(store.expiring(), 1);
        assert_eq!(store.get("doc", None, 1_099), Some(&json!({})));
        assert_eq!(store.get("doc", None, 1_100), None);
        assert_eq!(store.len(), 0);
        assert_eq!(store.expiring(), 0);
    }

    #[test]
    fn writes_to_an_expired_document_start_a_fresh_one() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, Some(5), 0)
            .expect("create");
        store.set("doc", &path("old"), json!(1), 0).expect("set");
        store.set("doc", &path("new"), json!(2), 5).expect("set");
        assert_eq!(store.get("doc", None, 5), Some(&json!({"new": 2})));
        assert_eq!(
            store.document("doc", 5).map(Document::expires_at_ms),
            Some(None)
        );
    }

    #[test]
    fn get_reads_a_path() {
        let mut store = Store::new();
        store.set("doc", &path("a.b"), json!("x"), 0).expect("set");
        assert_eq!(store.get("doc", Some(&path("a.b")), 0), Some(&json!("x")));
        assert_eq!(store.get("doc", Some(&path("a.c")), 0), None);
        assert_eq!(store.get("other", Some(&path("a.b")), 0), None);
    }

    #[test]
    fn set_creates_a_missing_document_as_lww() {
        let mut store = Store::new();
        store
            .set("doc", &path("name"), json!("Alice"), 0)
            .expect("set");
        let document = store.document("doc", 0).expect("created");
        assert_eq!(document.strategy(), Strategy::Lww);
        assert_eq!(document.expires_at_ms(), None);
        assert_eq!(document.root(), &json!({"name": "Alice"}));
    }

    #[test]
    fn failed_write_leaves_document_unchanged() {
        let mut store = Store::new();
        store
            .set("doc", &path("name"), json!("Alice"), 0)
            .expect("set");
        let before = store.get("doc", None, 0).cloned();
        assert!(store.set("doc", &path("name.first"), json!(1), 0).is_err());
        assert!(store.push("doc", &path("name"), json!(1), 0).is_err());
        assert!(store
            .increment("doc", &path("name"), &Number::from(1), 0)
            .is_err());
        assert_eq!(store.get("doc", None, 0).cloned(), before);
    }

    #[test]
    fn failed_write_to_missing_document_creates_nothing() {
        // No valid path can fail on a fresh document, so drive the shared
        // write helper with an operation that fails.
        let mut store = Store::new();
        let result: Result<(), StoreError> = store.write("doc", 0, |root| {
            value::set(root, &path("a"), json!(1))?;
            Err(StoreError::InvalidTtl)
        });
        assert_eq!(result, Err(StoreError::InvalidTtl));
        assert!(store.is_empty());
    }

    #[test]
    fn delete_document_reports_whether_it_existed() {
        let mut store = Store::new();
        store.set("doc", &path("a"), json!(1), 0).expect("set");
        assert!(store.delete_document("doc", 0));
        assert!(!store.delete_document("doc", 0));
        assert!(store.is_empty());
    }

    #[test]
    fn delete_document_ignores_an_expired_document() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, Some(1), 0)
            .expect("create");
        assert!(!store.delete_document("doc", 1));
        assert_eq!(store.expiring(), 0);
    }

    #[test]
    fn delete_path_removes_a_member() {
        let mut store = Store::new();
        store.set("doc", &path("a"), json!(1), 0).expect("set");
        store.set("doc", &path("b"), json!(2), 0).expect("set");
        assert_eq!(store.delete_path("doc", &path("a"), 0), Ok(true));
        assert_eq!(store.delete_path("doc", &path("a"), 0), Ok(false));
        assert_eq!(store.delete_path("missing", &path("a"), 0), Ok(false));
        assert_eq!(store.get("doc", None, 0), Some(&json!({"b": 2})));
    }

    #[test]
    fn push_and_increment_create_missing_documents() {
        let mut store = Store::new();
        assert_eq!(store.push("list", &path("tags"), json!("a"), 0), Ok(1));
        assert_eq!(
            store.increment("counter", &path("n"), &Number::from(2), 0),
            Ok(Number::from(2))
        );
        assert_eq!(
            store.increment("counter", &path("n"), &Number::from(3), 0),
            Ok(Number::from(5))
        );
        assert_eq!(store.get("list", None, 0), Some(&json!({"tags": ["a"]})));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn keys_lists_matching_live_ids() {
        let mut store = Store::new();
        for id in ["user:1", "user:2", "order:1"] {
            store.set(id, &path("x"), json!(1), 0).expect("set");
        }
        store
            .create("user:3", Strategy::Lww, Some(10), 0)
            .expect("create");
        assert_eq!(
            sorted_keys(&store, "user:*", 0, usize::MAX),
            ["user:1", "user:2", "user:3"]
        );
        assert_eq!(
            sorted_keys(&store, "user:*", 10, usize::MAX),
            ["user:1", "user:2"]
        );
        assert_eq!(
            sorted_keys(&store, "*:1", 0, usize::MAX),
            ["order:1", "user:1"]
        );
    }

    #[test]
    fn keys_with_a_literal_pattern_is_an_exact_lookup() {
        let mut store = Store::new();
        store.set("user:1", &path("x"), json!(1), 0).expect("set");
        store
            .create("temp", Strategy::Lww, Some(10), 0)
            .expect("create");
        assert_eq!(sorted_keys(&store, "user:1", 0, 5), ["user:1"]);
        assert!(sorted_keys(&store, "user:2", 0, 5).is_empty());
        assert!(sorted_keys(&store, "temp", 10, 5).is_empty());
        assert!(sorted_keys(&store, "user:1", 0, 0).is_empty());
        let mut out = Vec::new();
        store.keys(b"\xff", 0, 5, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn keys_stops_at_the_limit() {
        let mut store = Store::new();
        for i in 0..10 {
            store
                .set(&format!("doc:{i}"), &path("x"), json!(i), 0)
                .expect("set");
        }
        let mut out = vec![String::from("from another shard")];
        store.keys(b"doc:*", 0, 3, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(sorted_keys(&store, "doc:*", 0, 0).len(), 0);
    }

    #[test]
    fn purge_expired_removes_only_expired_documents() {
        let mut store = Store::new();
        store
            .create("short", Strategy::Lww, Some(10), 0)
            .expect("create");
        store
            .create("long", Strategy::Lww, Some(100), 0)
            .expect("create");
        store
            .create("forever", Strategy::Lww, None, 0)
            .expect("create");
        assert_eq!(store.purge_expired(50), 1);
        assert_eq!(store.len(), 2);
        assert_eq!(store.expiring(), 1);
        assert_eq!(store.purge_expired(50), 0);
    }
}
