//! `SET id path value`: writes a JSON value at a path, creating the document (as `lww`) and the
//! maps on the way when they are missing. What a write means depends on the document's strategy
//! (`docs/strategies.md`): one register in `lww`, key by key in `crdt-map`, the counter's new
//! total in `crdt-counter`, a set's contents or an element edit in `crdt-set`.

use crate::command::DocId;
use serde_json::Value;
use ussl_shards::{Change, Edit, Path, Store};

use super::{edit_reply, ArgReader};
use crate::protocol::Reply;

/// A parsed `SET`.
#[derive(Debug)]
pub struct Set {
    /// The document to write.
    pub id: DocId,
    /// Where in the document.
    pub path: Path,
    /// The new value: JSON, or the string the argument spells.
    pub value: Value,
}

impl Set {
    /// Parses `SET id path value`.
    pub fn parse(args: &mut ArgReader) -> Result<Set, Reply> {
        let id = args.id()?;
        let path = args.path()?;
        let value = args.value()?;
        Ok(Set { id, path, value })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        edit_reply(store.edit(&self.id, self.path, Edit::Set(self.value), now_ms))
    }
}
