//! `PULL id path value`: removes a value. On a `crdt-set` document it removes the value from the
//! set (every add of it this server has seen; a concurrent add elsewhere survives) and answers 1,
//! or 0 when the value was not there. On `lww` and `crdt-map` documents it removes every element
//! equal to the value from the array at the path and answers how many went.

use crate::command::DocId;
use serde_json::Value;
use ussl_shards::{Change, Edit, Path, Store};

use super::{edit_reply, ArgReader};
use crate::protocol::Reply;

/// A parsed `PULL`.
#[derive(Debug)]
pub struct Pull {
    /// The document to write.
    pub id: DocId,
    /// The set's or array's path.
    pub path: Path,
    /// The value to remove.
    pub value: Value,
}

impl Pull {
    /// Parses `PULL id path value`.
    pub fn parse(args: &mut ArgReader) -> Result<Pull, Reply> {
        let id = args.id()?;
        let path = args.path()?;
        let value = args.value()?;
        Ok(Pull { id, path, value })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        edit_reply(store.edit(&self.id, self.path, Edit::Pull(self.value), now_ms))
    }
}
