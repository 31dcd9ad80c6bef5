//! `PUSH id path value`: appends a JSON value to the array at a path (creating an empty array
//! when the path is missing) and answers the array's new length, as Redis's `RPUSH` does. On a
//! `crdt-set` document it adds the value to the set and answers the set's size.

use crate::command::DocId;
use serde_json::Value;
use ussl_shards::{Change, Edit, Path, Store};

use super::{edit_reply, ArgReader};
use crate::protocol::Reply;

/// A parsed `PUSH`.
#[derive(Debug)]
pub struct Push {
    /// The document to write.
    pub id: DocId,
    /// The array's path.
    pub path: Path,
    /// The element to append.
    pub value: Value,
}

impl Push {
    /// Parses `PUSH id path value`.
    pub fn parse(args: &mut ArgReader) -> Result<Push, Reply> {
        let id = args.id()?;
        let path = args.path()?;
        let value = args.value()?;
        Ok(Push { id, path, value })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        edit_reply(store.edit(&self.id, self.path, Edit::Push(self.value), now_ms))
    }
}
