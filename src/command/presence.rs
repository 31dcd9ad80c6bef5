//! `PRESENCE id [DATA json]`: set this connection's presence on a document, or read everyone's.
//!
//! Runs on the document's owner shard, which keeps the entries (see [`crate::pubsub::presence`])
//! and publishes each change to the document's subscribers.

use crate::command::DocId;
use serde_json::Value;

use super::ArgReader;
use crate::protocol::Reply;

/// A parsed `PRESENCE`, stamped with the connection that sent it.
#[derive(Debug)]
pub struct Presence {
    /// The document.
    pub id: DocId,
    /// The sending connection's client id, which keys its entry.
    pub client: u64,
    /// `Some` to set (JSON `null` clears), `None` to read every entry.
    pub data: Option<Value>,
}

impl Presence {
    /// Parses `PRESENCE id [DATA json]`; `presence_bytes_max` bounds the data's JSON text.
    pub fn parse(
        args: &mut ArgReader,
        client: u64,
        presence_bytes_max: usize,
    ) -> Result<Presence, Reply> {
        let id = args.id()?;
        let data = if args.remaining() == 0 {
            None
        } else if args.keyword("DATA") {
            let bytes = args.rest_bytes()?;
            if bytes.len() > presence_bytes_max {
                return Err(Reply::error(format!(
                    "presence data is larger than {presence_bytes_max} bytes"
                )));
            }
            Some(super::json_value(&bytes)?)
        } else {
            return Err(args.syntax_error());
        };
        Ok(Presence { id, client, data })
    }
}
