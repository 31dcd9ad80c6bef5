//! Part of step 5 of the request path: commands for documents other shards own, gathered over
//! one turn of this shard's executor and sent to each owner as one message.
//!
//! Under many clients a shard reads from many connections in one turn, and many of their rounds
//! hold a command for another shard. Sent alone, each round would cost a channel message and a
//! wake of the connection's task from the owner's thread. Here each round's ops are queued per
//! destination, and one drain task per destination sends everything queued as one batch
//! ([`Shard::drain_forwards`](crate::shard::Shard::drain_forwards)): the first round of a turn
//! wakes it, and it runs after the connections that were woken before it, so it takes their
//! rounds too. When the outputs come back, each round gets its own part.
//!
//! The queues need no bound of their own: a connection queues one round at a time and waits for
//! its outputs before reading more, so they hold at most `--max-clients` rounds of at most 1,024
//! requests; the mesh channel behind them is bounded by `--cross-shard-queue` batches.
//!
//! Order is kept: a round's ops stay together and in request order inside the batch, batches to
//! one destination go in the order they were gathered, and the owner applies each in order.

use std::cell::RefCell;
use std::future::poll_fn;
use std::task::{Poll, Waker};

use futures_channel::oneshot;

use crate::router::{OpOutput, ShardOp};

/// The rounds queued for one destination and not yet sent.
#[derive(Default)]
struct Queue {
    /// Every queued round's ops, one round after another.
    ops: Vec<ShardOp>,
    /// Each queued round's op count and where its outputs go, in the order of `ops`.
    rounds: Vec<(usize, oneshot::Sender<Vec<OpOutput>>)>,
    /// The destination's drain task, while it waits for a round.
    drainer: Option<Waker>,
}

/// The ops of one drained batch and the rounds they came from.
pub struct Gathered {
    /// Every round's ops, in order; the drain task takes them to send.
    pub ops: Vec<ShardOp>,
    rounds: Vec<(usize, oneshot::Sender<Vec<OpOutput>>)>,
}

/// This shard's queues of ops for other shards, one per destination.
pub struct Forwards {
    /// Indexed by destination; this shard's own entry stays empty.
    queues: Vec<RefCell<Queue>>,
}

impl Forwards {
    /// Empty queues towards `shards` shards.
    pub fn new(shards: usize) -> Forwards {
        Forwards {
            queues: (0..shards)
                .map(|_| RefCell::new(Queue::default()))
                .collect(),
        }
    }

    /// Queues one round's `ops` for shard `to`; their outputs, in the same order, arrive on the
    /// returned receiver, which reports cancellation when shard `to` is gone.
    pub fn queue(&self, to: usize, ops: Vec<ShardOp>) -> oneshot::Receiver<Vec<OpOutput>> {
        let (sender, receiver) = oneshot::channel();
        let mut queue = self.queues[to].borrow_mut();
        queue.rounds.push((ops.len(), sender));
        if queue.ops.is_empty() {
            queue.ops = ops;
        } else {
            queue.ops.extend(ops);
        }
        if let Some(waker) = queue.drainer.take() {
            waker.wake();
        }
        receiver
    }

    /// Waits until a round is queued for shard `to`, then takes every queued round.
    pub async fn next_batch(&self, to: usize) -> Gathered {
        poll_fn(|cx| {
            let mut queue = self.queues[to].borrow_mut();
            if queue.rounds.is_empty() {
                queue.drainer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(Gathered {
                ops: std::mem::take(&mut queue.ops),
                rounds: std::mem::take(&mut queue.rounds),
            })
        })
        .await
    }
}

impl Gathered {
    /// Gives each round its part of the batch's `outputs`; `None` (the destination is gone)
    /// drops every round's sender, which its receiver reports.
    pub fn answer(self, outputs: Option<Vec<OpOutput>>) {
        let Some(mut outputs) = outputs else {
            return;
        };
        for (count, sender) in self.rounds.into_iter().rev() {
            let Some(start) = outputs.len().checked_sub(count) else {
                // Fewer outputs than ops: this round and the ones before it get none.
                return;
            };
            let part = if start == 0 {
                std::mem::take(&mut outputs)
            } else {
                outputs.split_off(start)
            };
            // The connection may have closed meanwhile; its outputs are then dropped.
            let _ = sender.send(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Reply;
    use futures_lite::future::block_on;

    /// `count` ops for the queue: their kind does not matter to it.
    fn ops(count: usize) -> Vec<ShardOp> {
        (0..count).map(|_| ShardOp::Stats).collect()
    }

    /// Outputs numbered from `first`, so a test can tell which reached whom.
    fn outputs(first: i64, count: i64) -> Vec<OpOutput> {
        (first..first + count)
            .map(|n| OpOutput::Reply(Reply::Integer(n)))
            .collect()
    }

    fn numbers(received: Result<Vec<OpOutput>, oneshot::Canceled>) -> Vec<i64> {
        received
            .expect("the round's outputs arrive")
            .into_iter()
            .map(|output| match output {
                OpOutput::Reply(Reply::Integer(n)) => n,
                other => panic!("unexpected output {other:?}"),
            })
            .collect()
    }

    #[test]
    fn rounds_queued_before_the_drain_leave_as_one_batch_and_each_gets_its_own_outputs() {
        let forwards = Forwards::new(3);
        let mut first = forwards.queue(2, ops(2));
        let mut other_shard = forwards.queue(1, ops(1));
        let mut second = forwards.queue(2, ops(3));
        let batch = block_on(forwards.next_batch(2));
        assert_eq!(batch.ops.len(), 5, "both rounds' ops, one after the other");
        batch.answer(Some(outputs(10, 5)));
        assert_eq!(numbers(block_on(&mut first)), vec![10, 11]);
        assert_eq!(numbers(block_on(&mut second)), vec![12, 13, 14]);
        assert!(
            matches!(other_shard.try_recv(), Ok(None)),
            "a round for another shard waits for that shard's drain"
        );
        let batch = block_on(forwards.next_batch(1));
        assert_eq!(batch.ops.len(), 1);
        batch.answer(Some(outputs(7, 1)));
        assert_eq!(numbers(block_on(&mut other_shard)), vec![7]);
    }

    #[test]
    fn a_round_queued_after_a_drain_goes_in_the_next_batch() {
        let forwards = Forwards::new(2);
        let _sent = forwards.queue(1, ops(1));
        let first = block_on(forwards.next_batch(1));
        let _later = forwards.queue(1, ops(2));
        let second = block_on(forwards.next_batch(1));
        assert_eq!((first.ops.len(), second.ops.len()), (1, 2));
    }

    #[test]
    fn every_round_learns_that_its_destination_is_gone() {
        let forwards = Forwards::new(2);
        let first = forwards.queue(1, ops(1));
        let second = forwards.queue(1, ops(2));
        block_on(forwards.next_batch(1)).answer(None);
        assert!(block_on(first).is_err());
        assert!(block_on(second).is_err());
    }

    #[test]
    fn rounds_left_without_their_outputs_learn_it_instead_of_getting_others() {
        let forwards = Forwards::new(2);
        let first = forwards.queue(1, ops(2));
        let second = forwards.queue(1, ops(1));
        block_on(forwards.next_batch(1)).answer(Some(outputs(0, 2)));
        assert_eq!(numbers(block_on(second)), vec![1]);
        assert!(
            block_on(first).is_err(),
            "one output is left for two ops: the round gets none"
        );
    }
}
