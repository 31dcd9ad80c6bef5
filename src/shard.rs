//! Step 5 of the request path: a shard, one pinned glommio executor that owns a slice of the
//! documents (those whose id hashes to it) and serves the connections the kernel gave it.
//!
//! Document state sits in a `RefCell<Store>` that only this thread touches; it is borrowed for one
//! synchronous command at a time and never across an `.await`, so no lock is needed. Functions that
//! touch documents are named `op_*` and assert they run on the owner.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_channel::oneshot;
use glommio::channels::channel_mesh::Senders;
use glommio::channels::shared_channel::ConnectedReceiver;
use ussl_shards::{Edit, Path, Store};

use crate::command::{outcome_reply, store_error, DocCommand, Splice};
use crate::protocol::Reply;
use crate::router::{owner, OpOutput, ShardMessage, ShardOp};
use crate::shared::Shared;
use crate::stats::{ShardCounters, ShardStats};

/// One shard's state, shared by the tasks on its executor through an `Rc`.
pub struct Shard {
    /// This shard's index, `0..count`.
    pub id: usize,
    /// How many shards there are.
    pub count: usize,
    /// The documents this shard owns.
    store: RefCell<Store>,
    /// This shard's counters.
    pub counters: ShardCounters,
    /// The mesh senders to every other shard.
    senders: Senders<ShardMessage>,
    /// Server-wide configuration and counters.
    pub shared: Arc<Shared>,
}

/// Milliseconds since the Unix epoch: the clock TTLs are measured against.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A seed for this shard's server replica ids, different for every shard and every start: the
/// replica ids stamped on this process's writes must not be reused by another process.
fn replica_seed(shard: usize) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let text = format!("{nanos}:{}:{shard}", std::process::id());
    ussl_shards::stable_hash(text.as_bytes())
}

impl Shard {
    /// A shard with an empty store.
    pub fn new(
        id: usize,
        count: usize,
        senders: Senders<ShardMessage>,
        shared: Arc<Shared>,
    ) -> Shard {
        Shard {
            id,
            count,
            store: RefCell::new(Store::with_replica_seed(replica_seed(id))),
            counters: ShardCounters::default(),
            senders,
            shared,
        }
    }

    /// The shard that owns document `id`.
    pub fn owner(&self, id: &str) -> usize {
        owner(id, self.count)
    }

    /// Applies one op on this shard. Must only be given ops this shard owns: a document command
    /// for a document hashed elsewhere is a programming error.
    pub fn op_apply(&self, op: ShardOp, now_ms: u64) -> OpOutput {
        match op {
            ShardOp::Doc(command) => {
                assert_eq!(
                    self.owner(command.id()),
                    self.id,
                    "document routed to the wrong shard"
                );
                OpOutput::Reply(command.apply(&mut self.store.borrow_mut(), now_ms))
            }
            ShardOp::Keys(keys) => {
                let mut out = Vec::new();
                keys.collect(&self.store.borrow(), now_ms, &mut out);
                OpOutput::Keys(out)
            }
            ShardOp::Stats => OpOutput::Stats(self.stats()),
        }
    }

    /// Applies a run of SPLICEs on one document in one yrs transaction and returns their
    /// replies in order. Must only be given a document this shard owns.
    pub fn op_splice_batch(&self, splices: Vec<Splice>, now_ms: u64) -> Vec<Reply> {
        let Some(id) = splices.first().map(|splice| splice.id.clone()) else {
            return Vec::new();
        };
        assert_eq!(
            self.owner(&id),
            self.id,
            "document routed to the wrong shard"
        );
        let edits: Vec<(Path, Edit)> = splices
            .into_iter()
            .map(|splice| {
                let (_, path, edit) = splice.into_edit();
                (path, edit)
            })
            .collect();
        let count = edits.len();
        match self.store.borrow_mut().edit_text_batch(&id, edits, now_ms) {
            Ok((outcomes, _change)) => outcomes.into_iter().map(outcome_reply).collect(),
            Err(error) => {
                let reply = store_error(error);
                (0..count).map(|_| reply.clone()).collect()
            }
        }
    }

    /// Applies a batch of ops in order, running each run of consecutive SPLICEs on one document
    /// as one batch ([`Shard::op_splice_batch`]).
    pub fn op_apply_all(&self, ops: Vec<ShardOp>, now_ms: u64) -> Vec<OpOutput> {
        let mut outputs = Vec::with_capacity(ops.len());
        let mut run: Vec<Splice> = Vec::new();
        for op in ops {
            match op {
                ShardOp::Doc(DocCommand::Splice(splice))
                    if run.first().is_none_or(|first| first.id == splice.id) =>
                {
                    run.push(splice);
                }
                op => {
                    let replies = self.op_splice_batch(std::mem::take(&mut run), now_ms);
                    outputs.extend(replies.into_iter().map(OpOutput::Reply));
                    match op {
                        ShardOp::Doc(DocCommand::Splice(splice)) => run.push(splice),
                        op => outputs.push(self.op_apply(op, now_ms)),
                    }
                }
            }
        }
        let replies = self.op_splice_batch(run, now_ms);
        outputs.extend(replies.into_iter().map(OpOutput::Reply));
        outputs
    }

    /// A copy of this shard's counters.
    pub fn stats(&self) -> ShardStats {
        let store = self.store.borrow();
        let c = &self.counters;
        ShardStats {
            shard: self.id,
            documents: store.len(),
            expiring: store.expiring(),
            commands: c.commands.get(),
            connections: c.connections.get(),
            connections_total: c.connections_total.get(),
            connections_rejected: c.connections_rejected.get(),
            remote_batches: c.remote_batches.get(),
        }
    }

    /// Sends a batch of ops to shard `to` and returns where its outputs will arrive. Waits only
    /// when that shard's channel is full, which is the back-pressure the bounded mesh provides.
    pub async fn send(
        &self,
        to: usize,
        ops: Vec<ShardOp>,
    ) -> Option<oneshot::Receiver<Vec<OpOutput>>> {
        let (reply, outputs) = oneshot::channel();
        let message = ShardMessage { ops, reply };
        match self.senders.send_to(to, message).await {
            Ok(()) => Some(outputs),
            Err(e) => {
                tracing::warn!(from = self.id, to, error = %e, "shard channel closed");
                None
            }
        }
    }

    /// Serves batches sent by one peer shard until that peer goes away: applies each batch's ops in
    /// order and sends back their outputs.
    pub async fn serve_peer(self: Rc<Self>, receiver: ConnectedReceiver<ShardMessage>) {
        while let Some(message) = receiver.recv().await {
            let outputs = self.op_apply_all(message.ops, now_ms());
            ShardCounters::add(&self.counters.remote_batches, 1);
            // The connection may have closed meanwhile; its results are then simply dropped.
            let _ = message.reply.send(outputs);
        }
    }
}
