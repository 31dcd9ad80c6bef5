//! The channels between shards: one bounded, lock-free glommio shared channel for every ordered
//! pair of shards, created on the main thread before the shards start and connected by each shard
//! when it starts.
//!
//! glommio's own `MeshBuilder` joins shards one after another, and a shard waiting for a peer to
//! connect polls without sleeping. With more shards than cores (as `--shards 16` on two cores),
//! those busy shards take turns on each core and start-up stretched to tens of seconds. Here every
//! channel exists before any shard runs, and each shard connects all its ends at once, each in its
//! own task, so start-up waits only for every shard to be scheduled.

use std::sync::Mutex;

use glommio::channels::shared_channel::{
    self, ConnectedReceiver, ConnectedSender, SharedReceiver, SharedSender,
};

use crate::router::ShardMessage;

/// One shard's unconnected channel ends.
struct Ends {
    /// `senders[to]`: towards shard `to`; `None` for the shard itself.
    senders: Vec<Option<SharedSender<ShardMessage>>>,
    /// `(from, receiver)` for every other shard.
    receivers: Vec<(usize, SharedReceiver<ShardMessage>)>,
}

/// Every shard's channel ends, waiting to be taken by the shard they belong to.
pub struct Mesh {
    /// Indexed by shard; each taken once.
    ends: Vec<Mutex<Option<Ends>>>,
}

/// One shard's connected channel ends.
pub struct Connected {
    /// `senders[to]`: towards shard `to`; `None` for the shard itself.
    pub senders: Vec<Option<ConnectedSender<ShardMessage>>>,
    /// `(from, receiver)` for every other shard.
    pub receivers: Vec<(usize, ConnectedReceiver<ShardMessage>)>,
}

impl Mesh {
    /// The channels of `shards` shards, each holding at most `capacity` messages.
    pub fn new(shards: usize, capacity: usize) -> Mesh {
        let mut ends: Vec<Ends> = (0..shards)
            .map(|_| Ends {
                senders: (0..shards).map(|_| None).collect(),
                receivers: Vec::with_capacity(shards.saturating_sub(1)),
            })
            .collect();
        for from in 0..shards {
            for to in (0..shards).filter(|&to| to != from) {
                let (sender, receiver) = shared_channel::new_bounded(capacity);
                ends[from].senders[to] = Some(sender);
                ends[to].receivers.push((from, receiver));
            }
        }
        Mesh {
            ends: ends.into_iter().map(|e| Mutex::new(Some(e))).collect(),
        }
    }

    /// Connects shard `shard`'s ends, on that shard's executor; resolves once every peer has
    /// connected its side. `None` when the ends were taken already.
    pub async fn connect(&self, shard: usize) -> Option<Connected> {
        let ends = self.ends.get(shard)?.lock().ok()?.take()?;
        let senders: Vec<_> = ends
            .senders
            .into_iter()
            .map(|sender| sender.map(|s| glommio::spawn_local(s.connect())))
            .collect();
        let receivers: Vec<_> = ends
            .receivers
            .into_iter()
            .map(|(from, r)| (from, glommio::spawn_local(r.connect())))
            .collect();
        let mut connected = Connected {
            senders: Vec::with_capacity(senders.len()),
            receivers: Vec::with_capacity(receivers.len()),
        };
        for sender in senders {
            connected.senders.push(match sender {
                Some(task) => Some(task.await),
                None => None,
            });
        }
        for (from, task) in receivers {
            connected.receivers.push((from, task.await));
        }
        Some(connected)
    }
}
