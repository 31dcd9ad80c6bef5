//! `SYNC id [state_vector]`: what a replica holding `state_vector` is missing of a document, and
//! the server's own state vector, so the replica can hand in its edits with MERGE.
//!
//! The reply is a two-element array: the update, then the server's state vector. For the JSON
//! strategies the state vector is the document version as decimal text (`0`, or no argument,
//! asks for everything) and the update is the JSON of `ussl_shards::sync`. A missing document
//! answers the update `null` and the state vector `0`.

use bytes::Bytes;
use ussl_shards::{sync, Store};

use super::{store_error, ArgReader};
use crate::protocol::Reply;

/// A parsed `SYNC`.
#[derive(Debug)]
pub struct Sync {
    /// The document.
    pub id: String,
    /// The version the replica last synced at.
    pub since: u64,
}

impl Sync {
    /// Parses `SYNC id [state_vector]`.
    pub fn parse(args: &mut ArgReader) -> Result<Sync, Reply> {
        let id = args.id()?;
        let since = if args.remaining() == 0 {
            0
        } else {
            sync::parse_since(&args.bytes()?).map_err(store_error)?
        };
        args.finish()?;
        Ok(Sync { id, since })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> Reply {
        let (update, version) = match store.sync(&self.id, self.since, now_ms) {
            Some(update) => {
                let version = update.version;
                (Bytes::from(update.to_bytes()), version)
            }
            None => (Bytes::from_static(b"null"), 0),
        };
        Reply::Array(vec![
            Reply::Bulk(update),
            Reply::Bulk(Bytes::from(version.to_string())),
        ])
    }
}
