//! `PING [message]` and `ECHO message`: liveness checks that never touch a document.

use bytes::Bytes;

use super::ArgReader;
use crate::protocol::Reply;

/// A parsed `PING`.
#[derive(Debug)]
pub struct Ping {
    /// Echoed back when given; `+PONG` otherwise.
    pub message: Option<Bytes>,
}

impl Ping {
    /// Parses `PING [message]`.
    pub fn parse(args: &mut ArgReader) -> Result<Ping, Reply> {
        let message = if args.remaining() > 0 {
            Some(args.bytes()?)
        } else {
            None
        };
        args.finish()?;
        Ok(Ping { message })
    }

    /// Answers on the connection's own shard.
    pub fn apply(self) -> Reply {
        match self.message {
            Some(message) => Reply::Bulk(message),
            None => Reply::Simple("PONG".into()),
        }
    }
}

/// A parsed `ECHO`.
#[derive(Debug)]
pub struct Echo {
    /// Sent back as it came.
    pub message: Bytes,
}

impl Echo {
    /// Parses `ECHO message`.
    pub fn parse(args: &mut ArgReader) -> Result<Echo, Reply> {
        let message = args.bytes()?;
        args.finish()?;
        Ok(Echo { message })
    }

    /// Answers on the connection's own shard.
    pub fn apply(self) -> Reply {
        Reply::Bulk(self.message)
    }
}
