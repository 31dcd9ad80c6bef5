//! `SUB pattern [pattern ...]` and `UNSUB [pattern ...]`, with Redis's names `PSUBSCRIBE` and
//! `PUNSUBSCRIBE` as aliases: subscribe this connection to the changes of every document whose id
//! matches a glob (the syntax of `KEYS`; an id without glob characters matches only itself).
//!
//! They run where the connection lives: its subscriptions are kept on its own shard, and the other
//! shards are told which patterns this shard wants (see [`crate::pubsub::routes`]). The
//! confirmation is sent only once every shard knows, so any write applied after it reaches the
//! subscriber. Confirmations and events have the shape of Redis's pattern subscriptions, so Redis
//! pub/sub clients consume them unchanged.

use std::rc::Rc;

use bytes::Bytes;
use futures_channel::oneshot;

use super::ArgReader;
use crate::protocol::Reply;
use crate::pubsub::Outbox;
use crate::shard::Shard;

/// A parsed `SUB` / `PSUBSCRIBE`.
#[derive(Debug)]
pub struct Subscribe {
    /// The patterns, in the order given.
    pub patterns: Vec<Bytes>,
}

/// A parsed `UNSUB` / `PUNSUBSCRIBE`.
#[derive(Debug)]
pub struct Unsubscribe {
    /// The patterns to drop; empty means every pattern the connection holds.
    pub patterns: Vec<Bytes>,
}

/// Reads the pattern arguments, refusing any longer than `pattern_bytes_max`.
fn patterns(args: &mut ArgReader, pattern_bytes_max: usize) -> Result<Vec<Bytes>, Reply> {
    let mut patterns = Vec::with_capacity(args.remaining());
    while args.remaining() > 0 {
        let pattern = args.bytes()?;
        if pattern.len() > pattern_bytes_max {
            return Err(Reply::error(format!(
                "pattern is longer than {pattern_bytes_max} bytes"
            )));
        }
        patterns.push(pattern);
    }
    Ok(patterns)
}

/// One confirmation frame, as Redis sends it for each pattern.
fn confirmation(kind: &'static [u8], pattern: Option<Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(Bytes::from_static(kind)),
        pattern.map_or(Reply::Nil, Reply::Bulk),
        Reply::Integer(i64::try_from(count).unwrap_or(i64::MAX)),
    ])
}

impl Subscribe {
    /// Parses `SUB pattern [pattern ...]`.
    pub fn parse(args: &mut ArgReader, pattern_bytes_max: usize) -> Result<Subscribe, Reply> {
        if args.remaining() == 0 {
            return Err(args.wrong_arity());
        }
        Ok(Subscribe {
            patterns: patterns(args, pattern_bytes_max)?,
        })
    }

    /// Subscribes connection `client` on its own shard. Returns the confirmations and the
    /// acknowledgements to wait for before sending them. Refuses, changing nothing, when the
    /// connection would hold more than `subscriptions_max` patterns.
    pub fn apply(
        self,
        shard: &Shard,
        client: u64,
        outbox: &Rc<Outbox>,
        subscriptions_max: usize,
    ) -> (Reply, Vec<oneshot::Receiver<()>>) {
        let mut subscribers = shard.subscribers.borrow_mut();
        let held = subscribers.patterns(client);
        let mut new: Vec<&Bytes> = self.patterns.iter().filter(|p| !held.contains(p)).collect();
        new.dedup();
        if held.len() + new.len() > subscriptions_max {
            return (
                Reply::error(format!(
                    "a connection may hold at most {subscriptions_max} subscriptions"
                )),
                Vec::new(),
            );
        }
        let mut replies = Vec::with_capacity(self.patterns.len());
        let mut acks = Vec::new();
        for pattern in self.patterns {
            let changed = subscribers.subscribe(client, outbox, pattern.clone());
            if changed.announce {
                acks.extend(shard.announce(pattern.clone()));
            }
            replies.push(confirmation(b"psubscribe", Some(pattern), changed.count));
        }
        (Reply::Sequence(replies), acks)
    }
}

impl Unsubscribe {
    /// Parses `UNSUB [pattern ...]`.
    pub fn parse(args: &mut ArgReader, pattern_bytes_max: usize) -> Result<Unsubscribe, Reply> {
        Ok(Unsubscribe {
            patterns: patterns(args, pattern_bytes_max)?,
        })
    }

    /// Unsubscribes connection `client` on its own shard and returns the confirmations.
    pub fn apply(self, shard: &Shard, client: u64) -> Reply {
        let patterns = if self.patterns.is_empty() {
            shard.subscribers.borrow().patterns(client)
        } else {
            self.patterns
        };
        if patterns.is_empty() {
            return confirmation(b"punsubscribe", None, 0);
        }
        let replies = patterns
            .into_iter()
            .map(|pattern| {
                let count = shard.unsubscribe(client, &pattern);
                confirmation(b"punsubscribe", Some(pattern), count)
            })
            .collect();
        Reply::Sequence(replies)
    }
}
