//! `MERGE id update`: joins a replica's edits into a document. Answers `:1` when the update held
//! something the server did not have, `:0` when it changed nothing (merging the same update twice
//! is harmless). A missing document is created with the strategy the update names; an update for
//! another strategy than the document's is refused with `-WRONGTYPE`, and a malformed one with
//! `-ERR invalid update: ...`, before any of it is applied.

use bytes::Bytes;
use ussl_shards::{Change, Store};

use super::{store_error, ArgReader};
use crate::protocol::Reply;

/// A parsed `MERGE`.
#[derive(Debug)]
pub struct Merge {
    /// The document.
    pub id: String,
    /// The update, as sent.
    pub update: Bytes,
}

impl Merge {
    /// Parses `MERGE id update`.
    pub fn parse(args: &mut ArgReader) -> Result<Merge, Reply> {
        let id = args.id()?;
        let update = args.bytes()?;
        args.finish()?;
        Ok(Merge { id, update })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        match store.merge(&self.id, &self.update, now_ms) {
            Ok(change) => (Reply::Integer(i64::from(change.is_some())), change),
            Err(e) => (store_error(e), None),
        }
    }
}
