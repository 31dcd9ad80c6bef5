//! Keeping a connection's replies in request order while its commands run on different shards.
//!
//! A connection parses every complete request it has buffered into one [`Round`]. Commands for
//! documents this shard owns run at once; commands for other shards are gathered per shard and
//! handed to [`crate::forward`], which sends them with the other connections' rounds of the
//! turn; `KEYS` and `INFO` take a part from every shard. Each request gets a [`Slot`] saying
//! where its reply will come from, and [`Round::finish`] fills the slots in order.
//! Per-shard order is kept because each shard applies its batch in order, which is all a
//! connection can observe: two commands on one document always go to the same shard.
//!
//! Consecutive SPLICEs on one local document are held back and applied together, in one yrs
//! transaction, as soon as another command (or the end of the round) comes; remote shards do the
//! same with the runs in their batch ([`Shard::op_apply_all`]).
//!
//! With `--db`, no reply of a round goes out before the writes of the round are committed: the
//! local ones (waited for here, see [`crate::persist::barrier`]) and the remote ones (whose
//! owner sends its outputs only after their commit).

use bytes::Bytes;
use futures_channel::oneshot;

use crate::command::{info, DocCommand, Info, Keys, Presence, Splice};
use crate::protocol::Reply;
use crate::router::{OpOutput, ShardOp};
use crate::shard::{not_durable, now_ms, Shard};
use crate::stats::ShardStats;

/// Where one request's reply comes from.
enum Slot {
    /// Already known.
    Ready(Reply),
    /// Known, but to be sent only once every listed shard has acknowledged (a `SUB`'s
    /// confirmation waits until every shard routes the pattern here).
    Acked {
        reply: Reply,
        acks: Vec<oneshot::Receiver<()>>,
    },
    /// Output `index` of the batch sent to `shard`.
    Remote { shard: usize, index: usize },
    /// A `KEYS`: this shard's ids plus output `index` of each listed shard's batch.
    Keys {
        local: Vec<String>,
        parts: Vec<(usize, usize)>,
    },
    /// An `INFO`: this shard's counters plus output `index` of each listed shard's batch.
    Info {
        info: Info,
        local: ShardStats,
        parts: Vec<(usize, usize)>,
    },
}

/// The requests of one read, on their way to being answered.
pub struct Round {
    slots: Vec<Slot>,
    /// Ops to send, indexed by shard; this shard's entry stays empty.
    outgoing: Vec<Vec<ShardOp>>,
    /// The time every command of the round is applied at, on this shard.
    now_ms: u64,
    /// Local SPLICEs on one document waiting to run as one batch, with their slots.
    splices: Vec<(usize, Splice)>,
    /// [`Shard::records_made`] when the round began: the round wrote locally if it moved.
    records_mark: u64,
    /// The slots of local writes that changed something, to answer with the failure if their
    /// commit fails (a read that found a document expired made a record too, but its answer
    /// stands).
    local_writes: Vec<usize>,
}

impl Round {
    /// An empty round on `shard`.
    pub fn new(shard: &Shard) -> Round {
        Round {
            slots: Vec::new(),
            outgoing: (0..shard.count).map(|_| Vec::new()).collect(),
            now_ms: now_ms(),
            splices: Vec::new(),
            records_mark: shard.records_made(),
            local_writes: Vec::new(),
        }
    }

    /// How many requests the round holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the round holds no request.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Adds a request whose reply is already known.
    pub fn push_reply(&mut self, reply: Reply) {
        self.slots.push(Slot::Ready(reply));
    }

    /// Adds a reply that must wait for acknowledgements.
    pub fn push_acked(&mut self, reply: Reply, acks: Vec<oneshot::Receiver<()>>) {
        self.slots.push(Slot::Acked { reply, acks });
    }

    /// Adds a document command: applied now when this shard owns the document (a SPLICE is
    /// held for its batch), else queued.
    pub fn push_doc(&mut self, shard: &Shard, command: DocCommand) {
        let owner = shard.owner(command.id());
        if owner == shard.id {
            if let DocCommand::Splice(splice) = command {
                if self
                    .splices
                    .first()
                    .is_some_and(|(_, first)| first.id != splice.id)
                {
                    self.flush_splices(shard);
                }
                self.splices.push((self.slots.len(), splice));
                self.slots.push(Slot::Ready(Reply::Nil));
                return;
            }
        }
        self.push_owned(shard, owner, ShardOp::Doc(command));
    }

    /// Applies the held SPLICEs as one batch and fills their slots.
    fn flush_splices(&mut self, shard: &Shard) {
        if self.splices.is_empty() {
            return;
        }
        let (slots, splices): (Vec<usize>, Vec<Splice>) = self.splices.drain(..).unzip();
        let before = shard.records_made();
        let replies = shard.op_splice_batch(splices, self.now_ms);
        if shard.records_made() != before {
            self.local_writes.extend(&slots);
        }
        for (slot, reply) in slots.into_iter().zip(replies) {
            self.slots[slot] = Slot::Ready(reply);
        }
    }

    /// Adds a `PRESENCE`, which runs where the document lives.
    pub fn push_presence(&mut self, shard: &Shard, presence: Presence) {
        let owner = shard.owner(&presence.id);
        self.push_owned(shard, owner, ShardOp::Presence(presence));
    }

    /// Adds an op for the document owned by shard `owner`: applied now when that is this shard,
    /// else queued for it.
    fn push_owned(&mut self, shard: &Shard, owner: usize, op: ShardOp) {
        let slot = if owner == shard.id {
            self.flush_splices(shard);
            let write = op.is_write();
            let before = shard.records_made();
            let output = shard.op_apply(op, self.now_ms);
            if write && shard.records_made() != before {
                self.local_writes.push(self.slots.len());
            }
            match output {
                OpOutput::Reply(reply) => Slot::Ready(reply),
                _ => Slot::Ready(Reply::error("internal error: unexpected output")),
            }
        } else {
            let index = self.queue(owner, op);
            Slot::Remote {
                shard: owner,
                index,
            }
        };
        self.slots.push(slot);
    }

    /// Adds a `KEYS`, gathered from every shard.
    pub fn push_keys(&mut self, shard: &Shard, keys: Keys) {
        self.flush_splices(shard);
        let local = match shard.op_apply(ShardOp::Keys(keys.clone()), self.now_ms) {
            OpOutput::Keys(ids) => ids,
            _ => Vec::new(),
        };
        let parts = self.queue_everywhere(shard, |_| ShardOp::Keys(keys.clone()));
        self.slots.push(Slot::Keys { local, parts });
    }

    /// Adds an `INFO`, which needs every shard's counters.
    pub fn push_info(&mut self, shard: &Shard, info: Info) {
        self.flush_splices(shard);
        let parts = self.queue_everywhere(shard, |_| ShardOp::Stats);
        let local = shard.stats();
        self.slots.push(Slot::Info { info, local, parts });
    }

    fn queue(&mut self, shard: usize, op: ShardOp) -> usize {
        let ops = &mut self.outgoing[shard];
        ops.push(op);
        ops.len() - 1
    }

    fn queue_everywhere(
        &mut self,
        shard: &Shard,
        op: impl Fn(usize) -> ShardOp,
    ) -> Vec<(usize, usize)> {
        (0..shard.count)
            .filter(|&s| s != shard.id)
            .map(|s| (s, self.queue(s, op(s))))
            .collect()
    }

    /// Hands the gathered ops to their shards, waits for their outputs (and, with `--db`, for
    /// the commit of the round's local writes), and returns every reply in request order.
    pub async fn finish(mut self, shard: &Shard) -> Vec<Reply> {
        self.flush_splices(shard);
        // Registered before the first yield, so the commit's outcome cannot slip past.
        let commit = shard.barrier().map(|barrier| {
            let commit = barrier.wait(self.records_mark);
            barrier.flush();
            commit
        });
        let pending: Vec<_> = (self.outgoing.into_iter().enumerate())
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(to, ops)| (to, ops.len(), shard.forward(to, ops)))
            .collect();
        let mut outputs: Vec<Vec<Option<OpOutput>>> =
            (0..shard.count).map(|_| Vec::new()).collect();
        for (to, count, receiver) in pending {
            outputs[to] = match receiver.await.ok() {
                Some(list) => list.into_iter().map(Some).collect(),
                // The shard is gone (shutting down): every op sent there gets an error.
                None => (0..count).map(|_| None).collect(),
            };
        }
        let mut take =
            |shard: usize, index: usize| outputs[shard].get_mut(index).and_then(Option::take);
        let mut replies = Vec::with_capacity(self.slots.len());
        for slot in self.slots {
            let reply = match slot {
                Slot::Ready(reply) => reply,
                Slot::Acked { reply, acks } => {
                    let mut acked = true;
                    for ack in acks {
                        // A shard that drops the acknowledgement is shutting down.
                        acked &= ack.await.is_ok();
                    }
                    if acked {
                        reply
                    } else {
                        unavailable()
                    }
                }
                Slot::Remote { shard, index } => match take(shard, index) {
                    Some(OpOutput::Reply(reply)) => reply,
                    _ => unavailable(),
                },
                Slot::Keys { local, parts } => gather_keys(local, parts, &mut take),
                Slot::Info { info, local, parts } => {
                    gather_info(&info, shard, local, parts, &mut take)
                }
            };
            replies.push(reply);
        }
        if let Some(commit) = commit {
            if let Err(failure) = commit.done().await {
                for &index in &self.local_writes {
                    replies[index] = not_durable(&failure);
                }
            }
        }
        replies
    }
}

/// Completes a `KEYS` with the other shards' parts.
fn gather_keys(
    mut ids: Vec<String>,
    parts: Vec<(usize, usize)>,
    take: &mut impl FnMut(usize, usize) -> Option<OpOutput>,
) -> Reply {
    for (s, i) in parts {
        match take(s, i) {
            Some(OpOutput::Keys(more)) => ids.extend(more),
            _ => return unavailable(),
        }
    }
    Reply::Array(
        ids.into_iter()
            .map(|id| Reply::Bulk(Bytes::from(id)))
            .collect(),
    )
}

/// Completes an `INFO` with the other shards' counters.
fn gather_info(
    info: &Info,
    shard: &Shard,
    local: ShardStats,
    parts: Vec<(usize, usize)>,
    take: &mut impl FnMut(usize, usize) -> Option<OpOutput>,
) -> Reply {
    let mut all = vec![local];
    for (s, i) in parts {
        match take(s, i) {
            Some(OpOutput::Stats(stats)) => all.push(stats),
            _ => return unavailable(),
        }
    }
    all.sort_by_key(|s| s.shard);
    info::render(info, shard, &all)
}

fn unavailable() -> Reply {
    Reply::error("shard unavailable: the server is shutting down")
}
