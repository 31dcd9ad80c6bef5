//! `DEL id [PATH path]`: deletes a whole document, or one path in it. Answers `1` when something
//! was deleted and `0` when there was nothing there, as Redis's `DEL` and `HDEL` do.

use crate::command::DocId;
use ussl_shards::{Change, Edit, Path, Store};

use super::{edit_reply, ArgReader};
use crate::protocol::Reply;

/// A parsed `DEL`.
#[derive(Debug)]
pub struct Del {
    /// The document.
    pub id: DocId,
    /// The path to delete; `None` deletes the whole document.
    pub path: Option<Path>,
}

impl Del {
    /// Parses `DEL id [PATH path]`.
    pub fn parse(args: &mut ArgReader) -> Result<Del, Reply> {
        let id = args.id()?;
        let path = if args.remaining() == 0 {
            None
        } else if args.keyword("PATH") {
            Some(args.path()?)
        } else {
            return Err(args.syntax_error());
        };
        args.finish()?;
        Ok(Del { id, path })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        match self.path {
            None => {
                let change = store.delete_document(&self.id, now_ms);
                (Reply::Integer(i64::from(change.is_some())), change)
            }
            Some(path) => edit_reply(store.edit(&self.id, path, Edit::Delete, now_ms)),
        }
    }
}
