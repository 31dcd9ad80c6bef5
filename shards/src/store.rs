//! One shard's documents, keyed by id, with expiry.
//!
//! Each shard owns a [`Store`] outright, so it needs no locking. Time is passed in as `now_ms`
//! on every call rather than read from a clock, which keeps the engine deterministic in tests and
//! free of platform time APIs (it also builds for wasm32). An expired document is treated as
//! missing everywhere and is removed when a call touches it; [`Store::purge_expired`] reclaims
//! the ones nobody touches. Either way its id is logged for [`Store::take_expired`], so the
//! server can tell subscribers it is gone.
//!
//! The store also owns what the documents' merges share: one hybrid logical clock, and the
//! server's replica id for each document (see [`Store::server_replica`]).

use std::borrow::Cow;

use ahash::RandomState;
use compact_str::CompactString;
use hashbrown::HashTable;
use serde_json::Value;

use crate::change::{Change, Op};
use crate::document::{Document, Edit, Outcome, Stamper, SyncReply, TextBatch};
use crate::error::StoreError;
use crate::expiry::Expiry;
use crate::glob::{glob_match, is_literal};
use crate::hlc::{Clock, REPLICA_MAX};
use crate::path::Path;
use crate::persisted::{self, Persisted};
use crate::strategy::Strategy;
use crate::sync::{self, Update};

/// The documents of one shard.
///
/// The table holds one pointer per document, to a [`Slot`] with the id and the document in one
/// allocation: with millions of small documents, the table's empty buckets and per-document
/// allocations are most of the memory, so both are kept to a minimum.
#[derive(Debug)]
pub struct Store {
    documents: Documents,
    /// When documents with a TTL are due, and which expired lately.
    expiry: Expiry,
    /// The clock that stamps this shard's writes, moved past every stamp merged.
    clock: Clock,
}

/// The server's replica id for the document whose table hash is `hash`.
fn replica_of(hash: u64) -> u64 {
    hash & REPLICA_MAX
}

/// A document and its id.
///
/// Ids up to 24 bytes (`user:123`, `sensor:temp-01`) are stored inline, so the lookup's id
/// comparison reads the slot it has already fetched instead of chasing a pointer to a separate
/// allocation: one cache miss fewer per command, and one allocation fewer per document.
#[derive(Debug)]
struct Slot {
    id: CompactString,
    document: Document,
}

/// Documents by id.
#[derive(Debug)]
struct Documents {
    table: HashTable<Box<Slot>>,
    /// Keyed from the store's seed, so a server's keys differ per process and clients cannot
    /// aim ids at one bucket.
    hasher: RandomState,
}

impl Documents {
    fn new(seed: u64) -> Documents {
        let key = |n: u64| {
            seed.rotate_left(16 * n as u32) ^ 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(n + 1)
        };
        Documents {
            table: HashTable::new(),
            hasher: RandomState::with_seeds(key(0), key(1), key(2), key(3)),
        }
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    /// Calls `found` with the address of each slot whose hash matches `id`'s, without reading
    /// the slots.
    fn slot_addresses(&self, id: &str, mut found: impl FnMut(*const u8)) {
        let hash = self.hash(id);
        self.table.find(hash, |slot| {
            found(std::ptr::from_ref::<Slot>(slot).cast());
            false
        });
    }

    fn get(&self, id: &str) -> Option<&Document> {
        let hash = self.hash(id);
        let slot = self.table.find(hash, |slot| slot.id.as_str() == id)?;
        Some(&slot.document)
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Document> {
        let hash = self.hash(id);
        let slot = self.table.find_mut(hash, |slot| slot.id.as_str() == id)?;
        Some(&mut slot.document)
    }

    /// Adds or replaces document `id`, returning the one replaced.
    fn insert(&mut self, id: &str, document: Document) -> Option<Document> {
        if let Some(existing) = self.get_mut(id) {
            return Some(std::mem::replace(existing, document));
        }
        let hash = self.hash(id);
        let slot = Box::new(Slot {
            id: CompactString::new(id),
            document,
        });
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, slot, |slot| hasher.hash_one(slot.id.as_str()));
        None
    }

    fn remove(&mut self, id: &str) -> Option<Document> {
        let hash = self.hash(id);
        let entry = self
            .table
            .find_entry(hash, |slot| slot.id.as_str() == id)
            .ok()?;
        let (slot, _) = entry.remove();
        Some(slot.document)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &Document)> {
        self.table
            .iter()
            .map(|slot| (slot.id.as_str(), &slot.document))
    }
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

impl Store {
    /// Makes an empty store whose server replica ids derive from seed 0 (for tests and
    /// single-process use; a server picks a random seed with [`Store::with_replica_seed`]).
    pub fn new() -> Store {
        Store::with_replica_seed(0)
    }

    /// Makes an empty store whose server replica ids derive from `seed`.
    ///
    /// Two stores that may ever write the same document must have different seeds, or their
    /// writes would carry the same replica id.
    pub fn with_replica_seed(seed: u64) -> Store {
        Store {
            documents: Documents::new(seed),
            expiry: Expiry::default(),
            clock: Clock::new(),
        }
    }

    /// The server's replica id for document `id`: the replica its live writes are stamped
    /// with, distinct per document and per seed, within the id bound replicas must keep.
    pub fn server_replica(&self, id: &str) -> u64 {
        replica_of(self.documents.hash(id))
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
        self.documents.len() == 0
    }

    /// Returns how many held documents have a TTL.
    ///
    /// Lets the server report expiring keys and skip expiry sweeps on shards
    /// that have none.
    pub fn expiring(&self) -> usize {
        self.expiry.count()
    }

    /// The time left, in ms, before the held documents with a TTL expire, summed over them (see
    /// [`Expiry::ms_left`]).
    pub fn ms_left(&self, now_ms: u64) -> u128 {
        self.expiry.ms_left(now_ms)
    }

    /// Takes the ids of the documents removed because they expired (by a sweep or when a call
    /// touched them) since the last call.
    pub fn take_expired(&mut self) -> Vec<Box<str>> {
        self.expiry.take_expired()
    }

    /// Whether [`Store::take_expired`] has anything to give.
    pub fn has_expired(&self) -> bool {
        self.expiry.has_expired()
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
    ) -> Result<Change, StoreError> {
        if ttl_ms == Some(0) {
            return Err(StoreError::InvalidTtl);
        }
        if self.live_mut(id, now_ms).is_some() {
            return Err(StoreError::AlreadyExists(id.to_owned()));
        }
        let expires_at_ms = ttl_ms.map(|ttl_ms| now_ms.saturating_add(ttl_ms));
        let replica = self.server_replica(id);
        let mut document = Document::new(strategy, expires_at_ms, replica)?;
        let change = document.touch(Op::Create);
        self.insert(id, document);
        Ok(change)
    }

    /// Returns the live document `id`, for callers that need its strategy, version or expiry,
    /// or its events and updates after a change.
    pub fn document(&mut self, id: &str, now_ms: u64) -> Option<&Document> {
        self.live_mut(id, now_ms).map(|document| &*document)
    }

    /// Returns the whole document `id` when `path` is `None`, or the value at
    /// `path` in it, as plain JSON; `None` when the document or the path is missing.
    pub fn get(&mut self, id: &str, path: Option<&Path>, now_ms: u64) -> Option<Cow<'_, Value>> {
        let document = self.live_mut(id, now_ms)?;
        match path {
            None => Some(document.root()),
            Some(path) => document.get(path),
        }
    }

    /// Appends the JSON text of document `id` (or of `path` in it) to `out`, as GET answers it;
    /// `false`, with nothing appended, when the document or the path is missing.
    pub fn write_json(
        &mut self,
        id: &str,
        path: Option<&Path>,
        now_ms: u64,
        out: &mut Vec<u8>,
    ) -> bool {
        self.live_mut(id, now_ms)
            .is_some_and(|document| document.write_json(path, out))
    }

    /// Applies a live write (SET, DEL of a path, PUSH, PULL, INC, SPLICE) to document `id`, as
    /// its strategy defines it (see [`Document::edit`]).
    ///
    /// A write to a missing document creates it with [`Strategy::Lww`] and no TTL, so clients
    /// need not CREATE before their first write (a SPLICE, which only text takes, creates it as
    /// [`Strategy::CrdtText`]); a write that fails or changes nothing leaves no document behind.
    pub fn edit(
        &mut self,
        id: &str,
        path: Path,
        edit: Edit,
        now_ms: u64,
    ) -> Result<(Outcome, Option<Change>), StoreError> {
        // The table's hash is keyed from the seed, and serves the lookup as well.
        let hash = self.documents.hash(id);
        let replica = replica_of(hash);
        let Store {
            documents,
            clock,
            expiry,
            ..
        } = self;
        let mut stamper = Stamper {
            clock,
            now_ms,
            replica,
        };
        if let Some(document) = Self::live_in(documents, expiry, id, hash, now_ms) {
            return document.edit(path, edit, &mut stamper);
        }
        let strategy = match edit {
            Edit::Splice { .. } => Strategy::CrdtText,
            _ => Strategy::Lww,
        };
        let mut document = Document::new(strategy, None, replica)?;
        let result = document.edit(path, edit, &mut stamper)?;
        if result.1.is_some() {
            self.insert(id, document);
        }
        Ok(result)
    }

    /// Applies many live writes to the `crdt-text` document `id` in one yrs transaction (see
    /// [`Document::edit_text_batch`]); a missing document is created as for a SPLICE.
    pub fn edit_text_batch(
        &mut self,
        id: &str,
        edits: Vec<(Path, Edit)>,
        now_ms: u64,
    ) -> Result<TextBatch, StoreError> {
        if let Some(document) = self.live_mut(id, now_ms) {
            return Ok(document.edit_text_batch(edits));
        }
        let replica = self.server_replica(id);
        let mut document = Document::new(Strategy::CrdtText, None, replica)?;
        let result = document.edit_text_batch(edits);
        if result.1.is_some() {
            self.insert(id, document);
        }
        Ok(result)
    }

    /// Deletes document `id`; the change when a live one existed.
    pub fn delete_document(&mut self, id: &str, now_ms: u64) -> Option<Change> {
        let version = self.live_mut(id, now_ms)?.version();
        self.remove(id)?;
        Some(Change {
            version: version + 1,
            op: Op::Drop,
            path: None,
            text_update: None,
        })
    }

    /// What SYNC answers for document `id` to a replica holding `state_vector` (see
    /// [`Document::sync`]); `None` when there is no such document.
    pub fn sync(
        &mut self,
        id: &str,
        state_vector: &[u8],
        now_ms: u64,
    ) -> Result<Option<SyncReply>, StoreError> {
        match self.live_mut(id, now_ms) {
            Some(document) => document.sync(state_vector).map(Some),
            None => Ok(None),
        }
    }

    /// Merges a replica's update into document `id` (see [`Document::merge`]); the change when
    /// it held anything new.
    ///
    /// A missing document is created with the strategy the update names: a JSON update names
    /// its strategy, and anything else is taken for a Yjs update, which makes a `crdt-text`
    /// document. So a replica that worked offline on a document the server never saw can hand
    /// it in whole. A refused update changes nothing and creates nothing.
    pub fn merge(
        &mut self,
        id: &str,
        update: &[u8],
        now_ms: u64,
    ) -> Result<Option<Change>, StoreError> {
        let hash = self.documents.hash(id);
        let Store {
            documents,
            clock,
            expiry,
            ..
        } = self;
        if let Some(document) = Self::live_in(documents, expiry, id, hash, now_ms) {
            return document.merge(update, clock, now_ms);
        }
        let strategy = if sync::is_json(update) {
            Update::parse(update)?.strategy()?
        } else {
            Strategy::CrdtText
        };
        let mut document = Document::new(strategy, None, replica_of(hash))?;
        let change = document.merge(update, clock, now_ms)?;
        let change = change.unwrap_or_else(|| document.touch(Op::Create));
        self.insert(id, document);
        Ok(Some(change))
    }

    /// Puts back document `id` as storage holds it (see [`crate::persisted`]), moving the clock
    /// past every stamp in it, so writes after a restart are ordered after those before it.
    /// `Ok(false)`, with nothing added, when the document has expired at `now_ms`.
    pub fn restore<'a, U>(
        &mut self,
        id: &str,
        persisted: Persisted<'a, U>,
        now_ms: u64,
    ) -> Result<bool, StoreError>
    where
        U: IntoIterator<Item = (u64, &'a [u8])>,
    {
        if persisted.expires_at_ms.is_some_and(|at_ms| now_ms >= at_ms) {
            return Ok(false);
        }
        let replica = replica_of(self.documents.hash(id));
        let document = persisted::restore(persisted, &mut self.clock, replica)?;
        self.insert(id, document);
        Ok(true)
    }

    /// Replays a persisted incremental update on document `id` (see [`Document::replay`]);
    /// `Ok(false)` when there is no such document, expired or not.
    pub fn replay(&mut self, id: &str, version: u64, update: &[u8]) -> Result<bool, StoreError> {
        let Store {
            documents, clock, ..
        } = self;
        match documents.get_mut(id) {
            Some(document) => document.replay(version, update, clock).map(|()| true),
            None => Ok(false),
        }
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
            let live = std::str::from_utf8(pattern).ok().filter(|id| {
                self.documents
                    .get(id)
                    .is_some_and(|document| !document.is_expired(now_ms))
            });
            if let Some(id) = live {
                out.push(id.to_owned());
            }
            return;
        }
        let matching = self
            .documents
            .iter()
            .filter(|(id, document)| {
                !document.is_expired(now_ms) && glob_match(pattern, id.as_bytes())
            })
            .map(|(id, _)| id.to_owned())
            .take(limit);
        out.extend(matching);
    }

    /// Removes every document that has expired at `now_ms` and returns how
    /// many were removed.
    ///
    /// Lazy expiry only reclaims documents that are touched; the server calls
    /// this now and then for the rest. It costs time in the documents that
    /// expire, not in the size of the shard.
    pub fn purge_expired(&mut self, now_ms: u64) -> usize {
        let mut removed = 0;
        while let Some((_, id)) = self.expiry.pop_due(now_ms) {
            let expired = self
                .documents
                .get(&id)
                .filter(|document| document.is_expired(now_ms))
                .and_then(Document::expires_at_ms);
            if let Some(at_ms) = expired {
                self.documents.remove(&id);
                self.expiry.expired(&id, at_ms);
                removed += 1;
            }
        }
        removed
    }

    /// Returns the document `id` if it is live, removing it if it has
    /// expired.
    fn live_mut(&mut self, id: &str, now_ms: u64) -> Option<&mut Document> {
        let hash = self.documents.hash(id);
        Self::live_in(&mut self.documents, &mut self.expiry, id, hash, now_ms)
    }

    /// [`Store::live_mut`] on the store's parts, so callers can hold the clock at the same
    /// time. `hash` is the id's table hash; one probe of the table.
    fn live_in<'a>(
        documents: &'a mut Documents,
        expiry: &mut Expiry,
        id: &str,
        hash: u64,
        now_ms: u64,
    ) -> Option<&'a mut Document> {
        let entry = documents
            .table
            .find_entry(hash, |slot| slot.id.as_str() == id)
            .ok()?;
        let document = &entry.get().document;
        if let Some(at_ms) = document
            .expires_at_ms()
            .filter(|_| document.is_expired(now_ms))
        {
            entry.remove();
            expiry.expired(id, at_ms);
            return None;
        }
        Some(&mut entry.into_mut().document)
    }

    /// The addresses of the slots that may hold document `id`, found from the table's index
    /// without reading them: for a caller that prefetches them before a batch of lookups.
    pub fn slot_addresses(&self, id: &str, found: impl FnMut(*const u8)) {
        self.documents.slot_addresses(id, found);
    }

    /// The address of document `id`'s body (see [`Document::body_address`]), read from its
    /// slot: the second step of a prefetch, once [`Store::slot_addresses`] brought the slot in.
    pub fn body_address(&self, id: &str) -> Option<*const u8> {
        self.documents.get(id).map(Document::body_address)
    }

    /// Adds or replaces document `id`, keeping the TTL count right.
    fn insert(&mut self, id: &str, document: Document) {
        if let Some(at_ms) = document.expires_at_ms() {
            self.expiry.add(id, at_ms);
        }
        if let Some(at_ms) = self
            .documents
            .insert(id, document)
            .and_then(|replaced| replaced.expires_at_ms())
        {
            self.expiry.forget(at_ms);
        }
    }

    /// Removes document `id`, keeping the TTL count right.
    fn remove(&mut self, id: &str) -> Option<Document> {
        let removed = self.documents.remove(id)?;
        if let Some(at_ms) = removed.expires_at_ms() {
            self.expiry.forget(at_ms);
        }
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::path;
    use serde_json::{json, Number};

    fn set(
        store: &mut Store,
        id: &str,
        at: &str,
        value: Value,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        store
            .edit(id, path(at), Edit::Set(value), now_ms)
            .map(|_| ())
    }

    fn push(
        store: &mut Store,
        id: &str,
        at: &str,
        value: Value,
        now_ms: u64,
    ) -> Result<usize, StoreError> {
        match store.edit(id, path(at), Edit::Push(value), now_ms)? {
            (Outcome::Length(len), _) => Ok(len),
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    fn increment(
        store: &mut Store,
        id: &str,
        at: &str,
        delta: Number,
        now_ms: u64,
    ) -> Result<Number, StoreError> {
        match store.edit(id, path(at), Edit::Increment(delta), now_ms)? {
            (Outcome::Number(n), _) => Ok(n),
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    fn delete_path(store: &mut Store, id: &str, at: &str, now_ms: u64) -> Result<bool, StoreError> {
        match store.edit(id, path(at), Edit::Delete, now_ms)? {
            (Outcome::Deleted(deleted), _) => Ok(deleted),
            other => panic!("unexpected outcome {other:?}"),
        }
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
        assert_eq!(
            store.create("doc", Strategy::Lww, None, 0).map(|_| ()),
            Ok(())
        );
        assert_eq!(store.get("doc", None, 0), Some(Cow::Owned(json!({}))));
        assert_eq!(store.len(), 1);
        assert!(!store.is_empty());
    }

    #[test]
    fn create_refuses_an_existing_document() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, None, 0)
            .expect("first create");
        set(&mut store, "doc", "a", json!(1), 0).expect("set");
        assert_eq!(
            store.create("doc", Strategy::Lww, None, 0),
            Err(StoreError::AlreadyExists("doc".into()))
        );
        assert_eq!(store.get("doc", None, 0), Some(Cow::Owned(json!({"a": 1}))));
    }

    #[test]
    fn create_makes_every_json_strategy() {
        let mut store = Store::new();
        for strategy in [
            Strategy::Lww,
            Strategy::CrdtMap,
            Strategy::CrdtCounter,
            Strategy::CrdtSet,
        ] {
            store
                .create(strategy.name(), strategy, None, 0)
                .expect("create");
            let document = store.document(strategy.name(), 0).expect("created");
            assert_eq!(document.strategy(), strategy);
        }
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
        assert_eq!(
            store.create("doc", Strategy::Lww, None, 10).map(|_| ()),
            Ok(())
        );
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
        assert_eq!(store.get("doc", None, 1_099), Some(Cow::Owned(json!({}))));
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
        set(&mut store, "doc", "old", json!(1), 0).expect("set");
        set(&mut store, "doc", "new", json!(2), 5).expect("set");
        assert_eq!(
            store.get("doc", None, 5),
            Some(Cow::Owned(json!({"new": 2})))
        );
        assert_eq!(
            store.document("doc", 5).map(Document::expires_at_ms),
            Some(None)
        );
    }

    #[test]
    fn get_reads_a_path() {
        let mut store = Store::new();
        set(&mut store, "doc", "a.b", json!("x"), 0).expect("set");
        assert_eq!(
            store.get("doc", Some(&path("a.b")), 0),
            Some(Cow::Owned(json!("x")))
        );
        assert_eq!(store.get("doc", Some(&path("a.c")), 0), None);
        assert_eq!(store.get("other", Some(&path("a.b")), 0), None);
    }

    #[test]
    fn set_creates_a_missing_document_as_lww() {
        let mut store = Store::new();
        set(&mut store, "doc", "name", json!("Alice"), 0).expect("set");
        let document = store.document("doc", 0).expect("created");
        assert_eq!(document.strategy(), Strategy::Lww);
        assert_eq!(document.expires_at_ms(), None);
        assert_eq!(document.root().as_ref(), &json!({"name": "Alice"}));
    }

    #[test]
    fn failed_write_leaves_document_unchanged() {
        let mut store = Store::new();
        set(&mut store, "doc", "name", json!("Alice"), 0).expect("set");
        let before = store.get("doc", None, 0).map(Cow::into_owned);
        assert!(set(&mut store, "doc", "name.first", json!(1), 0).is_err());
        assert!(push(&mut store, "doc", "name", json!(1), 0).is_err());
        assert!(increment(&mut store, "doc", "name", Number::from(1), 0).is_err());
        assert_eq!(store.get("doc", None, 0).map(Cow::into_owned), before);
    }

    #[test]
    fn writes_to_missing_documents_that_change_nothing_create_nothing() {
        let mut store = Store::new();
        assert_eq!(delete_path(&mut store, "doc", "a", 0), Ok(false));
        assert!(store
            .edit("doc", path("a"), Edit::Pull(json!(1)), 0)
            .is_ok());
        assert!(store.is_empty());
    }

    #[test]
    fn merge_creates_a_missing_document_with_the_update_strategy() {
        let mut store = Store::new();
        let update = br#"{"strategy": "crdt-counter", "counters": [{"path": "n", "replica": 5, "inc": 3, "dec": 1}]}"#;
        assert!(store.merge("c", update, 0).expect("merge").is_some());
        assert_eq!(store.get("c", None, 0), Some(Cow::Owned(json!({"n": 2}))));
        assert!(store.merge("c", update, 0).expect("merge again").is_none());
        let lww = br#"{"strategy": "lww"}"#;
        assert_eq!(
            store.merge("c", lww, 0).map(|_| ()),
            Err(StoreError::StrategyMismatch {
                document: Strategy::CrdtCounter,
                update: Strategy::Lww
            })
        );
    }

    #[test]
    fn a_refused_merge_creates_nothing() {
        let mut store = Store::new();
        assert!(store.merge("x", b"{}", 0).is_err());
        assert!(store.merge("x", br#"{"strategy": "lww", "registers": [{"path": "", "stamp": [1, 0, 1], "value": 1}]}"#, 0).is_err());
        assert!(store.is_empty());
    }

    #[test]
    fn sync_answers_what_changed_after_a_version() {
        let mut store = Store::new();
        set(&mut store, "d", "a", json!(1), 0).expect("set");
        set(&mut store, "d", "b", json!(2), 0).expect("set");
        let json = |store: &mut Store, since: &[u8]| match store.sync("d", since, 0) {
            Ok(Some(SyncReply::Json(update))) => update,
            other => panic!("unexpected {other:?}"),
        };
        let all = json(&mut store, b"");
        assert_eq!((all.version, all.registers.len()), (2, 2));
        let since = json(&mut store, b"1");
        assert_eq!(since.registers.len(), 1);
        assert_eq!(since.registers[0].path, "b");
        assert!(matches!(store.sync("missing", b"", 0), Ok(None)));
        assert!(store.sync("d", b"x", 0).is_err());
    }

    #[test]
    fn delete_document_reports_whether_it_existed() {
        let mut store = Store::new();
        set(&mut store, "doc", "a", json!(1), 0).expect("set");
        assert!(store.delete_document("doc", 0).is_some());
        assert!(store.delete_document("doc", 0).is_none());
        assert!(store.is_empty());
    }

    #[test]
    fn delete_document_ignores_an_expired_document() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, Some(1), 0)
            .expect("create");
        assert!(store.delete_document("doc", 1).is_none());
        assert_eq!(store.expiring(), 0);
    }

    #[test]
    fn delete_path_removes_a_member() {
        let mut store = Store::new();
        set(&mut store, "doc", "a", json!(1), 0).expect("set");
        set(&mut store, "doc", "b", json!(2), 0).expect("set");
        assert_eq!(delete_path(&mut store, "doc", "a", 0), Ok(true));
        assert_eq!(delete_path(&mut store, "doc", "a", 0), Ok(false));
        assert_eq!(delete_path(&mut store, "missing", "a", 0), Ok(false));
        assert_eq!(store.get("doc", None, 0), Some(Cow::Owned(json!({"b": 2}))));
    }

    #[test]
    fn push_and_increment_create_missing_documents() {
        let mut store = Store::new();
        assert_eq!(push(&mut store, "list", "tags", json!("a"), 0), Ok(1));
        assert_eq!(
            increment(&mut store, "counter", "n", Number::from(2), 0),
            Ok(Number::from(2))
        );
        assert_eq!(
            increment(&mut store, "counter", "n", Number::from(3), 0),
            Ok(Number::from(5))
        );
        assert_eq!(
            store.get("list", None, 0),
            Some(Cow::Owned(json!({"tags": ["a"]})))
        );
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn keys_lists_matching_live_ids() {
        let mut store = Store::new();
        for id in ["user:1", "user:2", "order:1"] {
            set(&mut store, id, "x", json!(1), 0).expect("set");
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
        set(&mut store, "user:1", "x", json!(1), 0).expect("set");
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
            set(&mut store, &format!("doc:{i}"), "x", json!(i), 0).expect("set");
        }
        let mut out = vec![String::from("from another shard")];
        store.keys(b"doc:*", 0, 3, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(sorted_keys(&store, "doc:*", 0, 0).len(), 0);
    }

    #[test]
    fn expired_documents_are_logged_whether_swept_or_touched() {
        let mut store = Store::new();
        store
            .create("swept", Strategy::Lww, Some(10), 0)
            .expect("create");
        store
            .create("touched", Strategy::Lww, Some(10), 0)
            .expect("create");
        store
            .create("deleted", Strategy::Lww, Some(10), 0)
            .expect("create");
        store.delete_document("deleted", 5).expect("live");
        assert!(store.get("touched", None, 10).is_none());
        assert!(store.has_expired());
        assert_eq!(store.take_expired(), vec![Box::<str>::from("touched")]);
        assert_eq!(store.purge_expired(10), 1);
        assert_eq!(store.take_expired(), vec![Box::<str>::from("swept")]);
        assert!(!store.has_expired());
        assert_eq!(store.expiring(), 0);
    }

    #[test]
    fn a_recreated_document_keeps_its_new_expiry() {
        let mut store = Store::new();
        store
            .create("doc", Strategy::Lww, Some(10), 0)
            .expect("create");
        store.delete_document("doc", 1).expect("live");
        store
            .create("doc", Strategy::Lww, Some(100), 2)
            .expect("create");
        assert_eq!(store.purge_expired(50), 0);
        assert!(store.get("doc", None, 50).is_some());
        assert_eq!(store.purge_expired(102), 1);
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
