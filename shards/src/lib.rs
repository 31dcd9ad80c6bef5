//! The USSL document engine: what one shard of `usld` stores, and how.
//!
//! This crate is plain synchronous Rust with no async runtime, sockets or
//! clock, so the server can run one [`Store`] per shard thread and the same
//! engine can build for wasm32. A tour, from the bottom up:
//!
//! - [`hash`]: the stable id hash, and which shard owns a document.
//! - [`glob`]: Redis `KEYS` glob matching, in bounded time.
//! - [`path`]: dotted paths such as `items.0.name`, with size limits.
//! - [`json_text`]: the JSON layout replies use, `{"name": "Alice"}`.
//! - [`value`]: get, set, delete, push, pull and increment on a JSON tree.
//! - [`hlc`]: hybrid logical clock stamps, which order writes across replicas.
//! - [`strategy`]: the merge strategies, one module each (`lww`, `crdt-map`, `crdt-counter`,
//!   `crdt-set`).
//! - [`sync`]: the JSON update format replicas exchange (SYNC answers it, MERGE takes it).
//! - [`change`]: what one write changed, for delta events and incremental persistence.
//! - [`document`]: one document: its strategy's state, version and expiry; dispatches writes.
//! - [`persisted`]: a document's persisted form (snapshot and incremental updates), and
//!   rebuilding it.
//! - [`store`]: one shard's documents, with TTL expiry, the clock and replica ids.
//! - [`expiry`]: when documents with a TTL are due, and which expired lately.
//! - [`text`]: crdt-text documents (yrs), their replica sync and the
//!   validation of incoming Yjs updates.
//! - `storage` (with the `sqlite` feature): one shard's SQLite file, an append-only log of the
//!   persisted forms; rewrites that compact it; re-homing documents when the shard count changes.
//! - [`error`]: the typed errors, and whether each is a `WRONGTYPE` reply.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod change;
pub mod document;
pub mod error;
pub mod expiry;
pub mod glob;
pub mod hash;
pub mod hlc;
pub mod json_text;
pub mod path;
pub mod persisted;
#[cfg(feature = "sqlite")]
pub mod storage;
pub mod store;
pub mod strategy;
pub mod sync;
#[cfg(test)]
mod test_util;
pub mod text;
pub mod value;

pub use change::{Change, Op};
pub use document::{Document, Edit, Outcome, SyncReply};
pub use error::{ErrorKind, JsonKind, StoreError};
pub use glob::{glob_match, is_literal};
pub use hash::{owner_shard, stable_hash};
pub use path::{Path, PathError, Segment, PATH_BYTES_MAX, PATH_DEPTH_MAX};
pub use store::Store;
pub use strategy::Strategy;
pub use sync::Update;
