//! `SPLICE id path index delete_count [text]`: edits a `crdt-text` field as JavaScript's
//! `splice` does, on Unicode code points: deletes `delete_count` characters at `index`, then
//! inserts `text` there. Answers the field's new length. On an inline line, text with spaces is
//! quoted (`SPLICE notes content 0 0 "Hello, world"`); several unquoted words are joined by single
//! spaces. A missing document is created as `crdt-text`; other strategies answer `-WRONGTYPE`.
//!
//! A connection's queued SPLICEs on one document run in one yrs transaction (see
//! `crate::pipeline` and `crate::shard`), which is what makes a pipelined editing stream fast.

use crate::command::DocId;
use ussl_shards::{Change, Edit, Path, Store};

use super::{edit_reply, ArgReader};
use crate::protocol::Reply;

/// A parsed `SPLICE`.
#[derive(Debug)]
pub struct Splice {
    /// The document.
    pub id: DocId,
    /// The text field.
    pub path: Path,
    /// Where the edit starts, in code points.
    pub index: usize,
    /// How many code points to delete.
    pub delete: usize,
    /// What to insert.
    pub text: String,
}

impl Splice {
    /// Parses `SPLICE id path index delete_count [text]`.
    pub fn parse(args: &mut ArgReader) -> Result<Splice, Reply> {
        let id = args.id()?;
        let path = args.path()?;
        let index = args.count("index")?;
        let delete = args.count("delete_count")?;
        let mut words = Vec::new();
        while args.remaining() > 0 {
            words.push(args.string()?);
        }
        Ok(Splice {
            id,
            path,
            index,
            delete,
            text: words.join(" "),
        })
    }

    /// The document, the field and the edit this command makes.
    pub fn into_edit(self) -> (DocId, Path, Edit) {
        let edit = Edit::Splice {
            index: self.index,
            delete: self.delete,
            text: self.text,
        };
        (self.id, self.path, edit)
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        let (id, path, edit) = self.into_edit();
        edit_reply(store.edit(&id, path, edit, now_ms))
    }
}
