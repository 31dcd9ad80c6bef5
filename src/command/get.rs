//! `GET id [PATH path]`: reads a whole document, or one path in it, as JSON text.
//!
//! A missing document or path reads as the JSON `null`, so clients never need a special case.

use crate::command::DocId;
use bytes::Bytes;
use ussl_shards::{Path, Store};

use super::ArgReader;
use crate::protocol::Reply;

/// A parsed `GET`.
#[derive(Debug)]
pub struct Get {
    /// The document to read.
    pub id: DocId,
    /// The path inside it; `None` reads the whole document.
    pub path: Option<Path>,
}

impl Get {
    /// Parses `GET id [PATH path]`.
    pub fn parse(args: &mut ArgReader) -> Result<Get, Reply> {
        let id = args.id()?;
        let path = if args.remaining() == 0 {
            None
        } else if args.keyword("PATH") {
            Some(args.path()?)
        } else {
            return Err(args.syntax_error());
        };
        args.finish()?;
        Ok(Get { id, path })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> Reply {
        let mut out = Vec::new();
        if !store.write_json(&self.id, self.path.as_ref(), now_ms, &mut out) {
            return Reply::Bulk(Bytes::from_static(b"null"));
        }
        Reply::Bulk(Bytes::from(out))
    }
}
