//! Step 5 of the request path: which shard owns a document, and the messages that carry work to
//! it and results back.
//!
//! Shards talk over glommio's channel mesh: one bounded, lock-free single-producer channel for
//! every ordered pair of shards. A shard sends each other shard one [`ShardMessage`] per turn of
//! its event loop, holding every command its connections queued for that shard in the turn, each
//! connection's in request order ([`crate::forward`]), so a pipeline of N commands costs at most
//! one message per shard, not N. Results come back on a oneshot channel, which wakes the
//! sending shard's task that hands each connection its part.

use futures_channel::oneshot;
use ussl_shards::hash::owner_shard;

use crate::command::{DocCommand, Keys, Presence};
use crate::protocol::Reply;
use crate::pubsub::Notice;
use crate::stats::ShardStats;

/// One unit of work for a shard.
#[derive(Debug)]
pub enum ShardOp {
    /// A command on a document this shard owns.
    Doc(DocCommand),
    /// This shard's part of a `KEYS`.
    Keys(Keys),
    /// A `PRESENCE` on a document this shard owns.
    Presence(Presence),
    /// This shard's counters, for `INFO`.
    Stats,
}

impl ShardOp {
    /// Whether the op is a document write (see [`DocCommand::is_write`]).
    pub fn is_write(&self) -> bool {
        matches!(self, ShardOp::Doc(command) if command.is_write())
    }
}

/// The result of one [`ShardOp`], in the same position as the op.
#[derive(Debug)]
pub enum OpOutput {
    Reply(Reply),
    Keys(Vec<String>),
    Stats(ShardStats),
}

/// What travels from one shard to another over the mesh.
#[derive(Debug)]
pub enum ShardMessage {
    /// A batch of ops from one connection's round, and where to send the results.
    Batch {
        /// Ops in request order; the owner applies them in this order.
        ops: Vec<ShardOp>,
        /// Receives one output per op, in the same order.
        reply: oneshot::Sender<Vec<OpOutput>>,
    },
    /// One-way notices (change events, pattern announcements), in the order they were made.
    Notices(Vec<Notice>),
}

/// The shard that owns document `id` among `shards`: stable across restarts and machines.
pub fn owner(id: &str, shards: usize) -> usize {
    owner_shard(id.as_bytes(), shards)
}
