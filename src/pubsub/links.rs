//! One-way, ordered links from this shard to each other shard, carrying what needs no reply:
//! change events for the other shard's subscribers, pattern announcements, and presence removals.
//!
//! Writes are applied synchronously and cannot wait for a full channel, so each notice is queued
//! here and one drain task per destination moves the queue over the shard mesh in batches (see
//! `Shard::drain_link`). A single queue and a single drain task per destination keep every
//! notice in the order it was made: the events of one document reach each subscriber in the
//! order its writes were applied, and a pattern's announcement never overtakes its withdrawal.
//!
//! The queues are bounded together by `notices_max`. Client connections wait for room before
//! applying a round of commands ([`Links::room`]), which pushes back on writers when subscribers'
//! shards fall behind. Serving another shard's batch never waits for room: two shards waiting on
//! each other's full links would deadlock, so those batches may overshoot the bound by at most
//! the batches in flight on the mesh, which is itself bounded.

use crate::command::DocId;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, Waker};

use bytes::Bytes;
use futures_channel::oneshot;

/// Something one shard tells another, expecting no reply.
#[derive(Debug)]
pub enum Notice {
    /// A change to document `id`, for the receiving shard's subscribers.
    Event {
        /// The document id, as subscribers' patterns match it.
        id: Bytes,
        /// The change, as JSON text.
        payload: Bytes,
    },
    /// `shard` now has subscribers for `pattern`; `ack` is told once the receiver knows.
    Announce {
        pattern: Bytes,
        shard: usize,
        ack: Option<oneshot::Sender<()>>,
    },
    /// `shard` has no subscribers for `pattern` any more.
    Withdraw { pattern: Bytes, shard: usize },
    /// `client` disconnected: its presence on document `id` (owned by the receiver) ends.
    PresenceLeave { id: DocId, client: u64 },
}

/// This shard's outgoing notice queues, one per destination shard.
#[derive(Debug)]
pub struct Links {
    /// Queued notices, indexed by destination; this shard's own entry stays empty.
    queues: Vec<RefCell<VecDeque<Notice>>>,
    /// Each destination's drain task, when it waits for notices.
    drainers: Vec<RefCell<Option<Waker>>>,
    /// Notices queued over all destinations.
    queued: Cell<usize>,
    /// The bound on `queued` that connections wait under.
    notices_max: usize,
    /// Connections waiting for room.
    room_waiters: RefCell<Vec<Waker>>,
}

impl Links {
    /// Empty links to `shards` shards, bounded to `notices_max` queued notices.
    pub fn new(shards: usize, notices_max: usize) -> Links {
        Links {
            queues: (0..shards).map(|_| RefCell::new(VecDeque::new())).collect(),
            drainers: (0..shards).map(|_| RefCell::new(None)).collect(),
            queued: Cell::new(0),
            notices_max,
            room_waiters: RefCell::new(Vec::new()),
        }
    }

    /// Queues `notice` for shard `to`. Never waits.
    pub fn send(&self, to: usize, notice: Notice) {
        self.queues[to].borrow_mut().push_back(notice);
        self.queued.set(self.queued.get() + 1);
        if let Some(waker) = self.drainers[to].borrow_mut().take() {
            waker.wake();
        }
    }

    /// Waits for notices for shard `to` and takes up to `batch_max` of them, oldest first.
    pub async fn next_batch(&self, to: usize, batch_max: usize) -> Vec<Notice> {
        let batch: Vec<Notice> = poll_fn(|cx| {
            let mut queue = self.queues[to].borrow_mut();
            if queue.is_empty() {
                *self.drainers[to].borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let take = queue.len().min(batch_max);
            Poll::Ready(queue.drain(..take).collect())
        })
        .await;
        self.queued.set(self.queued.get() - batch.len());
        if self.queued.get() < self.notices_max {
            for waker in self.room_waiters.borrow_mut().drain(..) {
                waker.wake();
            }
        }
        batch
    }

    /// Waits until fewer than `notices_max` notices are queued.
    pub async fn room(&self) {
        poll_fn(|cx| {
            if self.queued.get() < self.notices_max {
                Poll::Ready(())
            } else {
                self.room_waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// Notices queued now, for INFO.
    pub fn queued(&self) -> usize {
        self.queued.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u8) -> Notice {
        Notice::Event {
            id: Bytes::from(vec![n]),
            payload: Bytes::new(),
        }
    }

    fn ids(batch: &[Notice]) -> Vec<u8> {
        batch
            .iter()
            .map(|notice| match notice {
                Notice::Event { id, .. } => id[0],
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn batches_come_out_in_order_and_free_room() {
        let links = Links::new(2, 3);
        for n in 1..=4 {
            links.send(1, event(n));
        }
        assert_eq!(links.queued(), 4);
        let first = futures_lite::future::block_on(links.next_batch(1, 3));
        assert_eq!(ids(&first), [1, 2, 3]);
        assert_eq!(links.queued(), 1);
        futures_lite::future::block_on(links.room());
        let second = futures_lite::future::block_on(links.next_batch(1, 3));
        assert_eq!(ids(&second), [4]);
    }

    #[test]
    fn room_waits_while_the_queues_are_full() {
        let links = Links::new(2, 1);
        links.send(1, event(1));
        use std::future::Future;
        let mut room = std::pin::pin!(links.room());
        let waker = futures_lite::future::block_on(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(room.as_mut().poll(&mut cx).is_pending());
    }
}
