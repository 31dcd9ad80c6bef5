//! `INC id path delta`: adds a number to the number at a path (a missing path counts as 0) and
//! answers the result: an integer reply when it is a whole number, else a bulk string holding the
//! JSON number, as Redis's `HINCRBYFLOAT` answers.

use crate::command::DocId;
use serde_json::Number;
use ussl_shards::{Change, Edit, Path, Store};

use super::{edit_reply, ArgReader};
use crate::protocol::Reply;

/// A parsed `INC`.
#[derive(Debug)]
pub struct Inc {
    /// The document to write.
    pub id: DocId,
    /// The counter's path.
    pub path: Path,
    /// How much to add; negative and fractional deltas are allowed.
    pub delta: Number,
}

impl Inc {
    /// Parses `INC id path delta`.
    pub fn parse(args: &mut ArgReader) -> Result<Inc, Reply> {
        let id = args.id()?;
        let path = args.path()?;
        let delta = serde_json::from_slice::<serde_json::Number>(args.slice()?);
        args.finish()?;
        let delta = delta.map_err(|_| Reply::error("delta is not a number"))?;
        Ok(Inc { id, path, delta })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        edit_reply(store.edit(&self.id, self.path, Edit::Increment(self.delta), now_ms))
    }
}
