//! `SET id path value`: writes a JSON value at a path, creating the document (as `lww`) and the
//! maps on the way when they are missing.

use serde_json::Value;
use ussl_shards::{Path, Store};

use super::{store_error, ArgReader};
use crate::protocol::Reply;

/// A parsed `SET`.
#[derive(Debug)]
pub struct Set {
    /// The document to write.
    pub id: String,
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
    pub fn apply(self, store: &mut Store, now_ms: u64) -> Reply {
        match store.set(&self.id, &self.path, self.value, now_ms) {
            Ok(()) => Reply::ok(),
            Err(e) => store_error(e),
        }
    }
}
