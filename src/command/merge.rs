//! `MERGE id update`: joins a replica's edits into a document. Answers `:1` when the update held
//! something the server did not have, `:0` when it changed nothing (merging the same update twice
//! is harmless). The update is the JSON of `ussl_shards::sync`, or for `crdt-text` a Yjs v1
//! update (base64 text on an inline line). A missing document is created with the strategy the
//! update names (a Yjs update makes `crdt-text`); an update for another strategy than the
//! document's is refused with `-WRONGTYPE`, and a malformed one with `-ERR`, before any of it is
//! applied.

use crate::command::DocId;
use bytes::Bytes;
use ussl_shards::{sync, Change, Store};

use super::sync::base64_decode;
use super::{store_error, ArgReader};
use crate::protocol::Reply;

/// A parsed `MERGE`.
#[derive(Debug)]
pub struct Merge {
    /// The document.
    pub id: DocId,
    /// The update, as sent.
    pub update: Bytes,
    /// Whether the request was an inline line: a Yjs update travels as base64 then.
    pub inline: bool,
}

impl Merge {
    /// Parses `MERGE id update`.
    pub fn parse(args: &mut ArgReader) -> Result<Merge, Reply> {
        let id = args.id()?;
        let update = args.bytes()?;
        args.finish()?;
        Ok(Merge {
            id,
            update,
            inline: args.inline(),
        })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        let update = if self.inline && !sync::is_json(&self.update) {
            match base64_decode(&self.update) {
                Ok(bytes) => Bytes::from(bytes),
                Err(reply) => return (reply, None),
            }
        } else {
            self.update
        };
        match store.merge(&self.id, &update, now_ms) {
            Ok(change) => (Reply::Integer(i64::from(change.is_some())), change),
            Err(e) => (store_error(e), None),
        }
    }
}
