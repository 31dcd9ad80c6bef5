//! `CREATE id [STRATEGY s] [TTL ms]`: creates an empty document with a merge strategy fixed for
//! its life, optionally expiring after `ms` milliseconds.

use crate::command::DocId;
use ussl_shards::{Change, Store, Strategy};

use super::{store_error, ArgReader};
use crate::protocol::Reply;

/// A parsed `CREATE`.
#[derive(Debug)]
pub struct Create {
    /// The new document's id.
    pub id: DocId,
    /// Its merge strategy (`lww` when not given).
    pub strategy: Strategy,
    /// Milliseconds until it expires, if it should.
    pub ttl_ms: Option<u64>,
}

impl Create {
    /// Parses `CREATE id [STRATEGY s] [TTL ms]`, options in any order, each at most once.
    pub fn parse(args: &mut ArgReader) -> Result<Create, Reply> {
        let id = args.id()?;
        let mut strategy = None;
        let mut ttl_ms = None;
        while args.remaining() > 0 {
            if strategy.is_none() && args.keyword("STRATEGY") {
                let name = args.string()?;
                strategy = Some(Strategy::parse(&name).map_err(store_error)?);
            } else if ttl_ms.is_none() && args.keyword("TTL") {
                let ttl = args.integer()?;
                let ttl = u64::try_from(ttl)
                    .ok()
                    .filter(|&t| t > 0)
                    .ok_or_else(|| Reply::error("TTL must be a positive number of milliseconds"))?;
                ttl_ms = Some(ttl);
            } else {
                return Err(args.syntax_error());
            }
        }
        Ok(Create {
            id,
            strategy: strategy.unwrap_or(Strategy::Lww),
            ttl_ms,
        })
    }

    /// Runs on the owner shard.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        match store.create(&self.id, self.strategy, self.ttl_ms, now_ms) {
            Ok(change) => (Reply::ok(), Some(change)),
            Err(e) => (store_error(e), None),
        }
    }
}
