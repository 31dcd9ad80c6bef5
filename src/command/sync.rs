//! `SYNC id [state_vector]`: what a replica holding `state_vector` is missing of a document, and
//! the server's own state vector, so the replica can hand in its edits with MERGE.
//!
//! The reply is a two-element array: the update, then the server's state vector. For the JSON
//! strategies the state vector is the document version as decimal text (`0`, or no argument,
//! asks for everything) and the update is the JSON of `ussl_shards::sync`. For `crdt-text` both
//! are standard Yjs v1 bytes, as base64 text when the request came as an inline line (in the
//! argument and in the reply). A missing document answers the update `null` and the state
//! vector `0`.

use crate::command::DocId;
use base64::Engine;
use bytes::Bytes;
use ussl_shards::{Store, Strategy, SyncReply};

use super::{store_error, ArgReader};
use crate::protocol::Reply;

/// A parsed `SYNC`.
#[derive(Debug)]
pub struct Sync {
    /// The document.
    pub id: DocId,
    /// The replica's state vector, as sent (empty when not given).
    pub state_vector: Bytes,
    /// Whether the request was an inline line: binary state vectors travel as base64 then.
    pub inline: bool,
}

impl Sync {
    /// Parses `SYNC id [state_vector]`.
    pub fn parse(args: &mut ArgReader) -> Result<Sync, Reply> {
        let id = args.id()?;
        let state_vector = if args.remaining() == 0 {
            Bytes::new()
        } else {
            args.bytes()?
        };
        args.finish()?;
        Ok(Sync {
            id,
            state_vector,
            inline: args.inline(),
        })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> Reply {
        let is_text = store
            .document(&self.id, now_ms)
            .is_some_and(|document| document.strategy() == Strategy::CrdtText);
        let state_vector = if is_text && self.inline {
            match base64_decode(&self.state_vector) {
                Ok(bytes) => Bytes::from(bytes),
                Err(reply) => return reply,
            }
        } else {
            self.state_vector
        };
        let (update, state_vector) = match store.sync(&self.id, &state_vector, now_ms) {
            Ok(Some(SyncReply::Json(update))) => {
                let version = update.version.to_string();
                (Bytes::from(update.to_bytes()), Bytes::from(version))
            }
            Ok(Some(SyncReply::Yjs {
                update,
                state_vector,
            })) if self.inline => (base64_encode(&update), base64_encode(&state_vector)),
            Ok(Some(SyncReply::Yjs {
                update,
                state_vector,
            })) => (Bytes::from(update), Bytes::from(state_vector)),
            Ok(None) => (Bytes::from_static(b"null"), Bytes::from_static(b"0")),
            Err(error) => return store_error(error),
        };
        Reply::Array(vec![Reply::Bulk(update), Reply::Bulk(state_vector)])
    }
}

/// Reads base64 text (standard alphabet, padded) from an inline line.
pub fn base64_decode(text: &[u8]) -> Result<Vec<u8>, Reply> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Reply::error(format!("invalid base64 on an inline line: {e}")))
}

/// Binary data as base64 text, for an inline request's reply.
fn base64_encode(bytes: &[u8]) -> Bytes {
    Bytes::from(base64::engine::general_purpose::STANDARD.encode(bytes))
}
