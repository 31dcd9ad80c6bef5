//! Counters each shard keeps about itself, gathered by `INFO`.
//!
//! They are plain `Cell`s: only the owning shard's thread touches them, and `INFO` asks each shard
//! for a [`ShardStats`] copy over the mesh instead of reading another thread's memory.

use std::cell::Cell;

use crate::persist::barrier::BarrierStats;

/// A copy of one shard's counters, sent to the shard that answers `INFO`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShardStats {
    /// The shard's index.
    pub shard: usize,
    /// Live documents it owns.
    pub documents: usize,
    /// Of those, how many have a TTL.
    pub expiring: usize,
    /// Their time left before they expire, in ms, summed over them.
    pub ms_left: u128,
    /// Commands parsed on connections this shard accepted.
    pub commands: u64,
    /// Connections open on this shard now.
    pub connections: u64,
    /// Connections this shard has accepted since start.
    pub connections_total: u64,
    /// Connections refused because `--max-clients` were open.
    pub connections_rejected: u64,
    /// Batches this shard applied for connections on other shards.
    pub remote_batches: u64,
    /// Its database writer's counters, with `--db`.
    pub persistence: Option<BarrierStats>,
}

/// The live counters, owned by one shard.
#[derive(Debug, Default)]
pub struct ShardCounters {
    pub commands: Cell<u64>,
    pub connections: Cell<u64>,
    pub connections_total: Cell<u64>,
    pub connections_rejected: Cell<u64>,
    pub remote_batches: Cell<u64>,
}

impl ShardCounters {
    /// Adds `n` to a counter.
    pub fn add(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get().wrapping_add(n));
    }

    /// Subtracts one from a counter that is known to be positive.
    pub fn sub_one(cell: &Cell<u64>) {
        cell.set(cell.get().saturating_sub(1));
    }
}
