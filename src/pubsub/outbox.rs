//! A connection's outbox: the change events and presence updates waiting to be written to one
//! subscribed client, bounded in bytes.
//!
//! Deliveries come from the shard's other tasks (a write applied here, or events arriving from
//! another shard) while the connection's own task may be busy reading or writing, so they are
//! queued here, already encoded, and the connection task drains them between rounds. The bound is
//! Redis's `client-output-buffer-limit pubsub` hard limit: a subscriber that does not read fast
//! enough to keep its outbox under it is disconnected, which keeps server memory bounded whatever
//! the client does.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Poll, Waker};

use bytes::BytesMut;

use crate::protocol::Protocol;

/// One subscribed connection's queue of encoded push frames.
#[derive(Debug)]
pub struct Outbox {
    /// Frames encoded and not yet taken by the connection task.
    pending: RefCell<BytesMut>,
    /// Most bytes `pending` may hold before the subscriber is cut off.
    bytes_max: usize,
    /// Set once the bound was exceeded; nothing is queued after that.
    overflowed: Cell<bool>,
    /// The RESP version the connection speaks now, for encoding pushes.
    protocol: Cell<Protocol>,
    /// The connection task waiting for frames, if it is idle.
    ready_waker: RefCell<Option<Waker>>,
    /// The connection's guard waiting for an overflow, to close the connection.
    overflow_waker: RefCell<Option<Waker>>,
}

impl Outbox {
    /// An empty outbox that overflows past `bytes_max` queued bytes.
    pub fn new(bytes_max: usize, protocol: Protocol) -> Outbox {
        Outbox {
            pending: RefCell::new(BytesMut::new()),
            bytes_max,
            overflowed: Cell::new(false),
            protocol: Cell::new(protocol),
            ready_waker: RefCell::new(None),
            overflow_waker: RefCell::new(None),
        }
    }

    /// The RESP version frames must be encoded in.
    pub fn protocol(&self) -> Protocol {
        self.protocol.get()
    }

    /// Records that the connection switched RESP version (`HELLO 3`).
    pub fn set_protocol(&self, protocol: Protocol) {
        self.protocol.set(protocol);
    }

    /// Queues one encoded frame. Returns false, queueing nothing, when the outbox has overflowed
    /// (now or before): the subscriber is being disconnected.
    pub fn push(&self, frame: &[u8]) -> bool {
        if self.overflowed.get() {
            return false;
        }
        let mut pending = self.pending.borrow_mut();
        if pending.len() + frame.len() > self.bytes_max {
            self.overflowed.set(true);
            pending.clear();
            drop(pending);
            wake(&self.overflow_waker);
            wake(&self.ready_waker);
            return false;
        }
        pending.extend_from_slice(frame);
        drop(pending);
        wake(&self.ready_waker);
        true
    }

    /// Moves every queued frame to the end of `out`.
    pub fn drain_into(&self, out: &mut BytesMut) {
        let mut pending = self.pending.borrow_mut();
        if !pending.is_empty() {
            out.extend_from_slice(&pending);
            pending.clear();
        }
    }

    /// Whether the subscriber fell behind by more than the bound.
    pub fn has_overflowed(&self) -> bool {
        self.overflowed.get()
    }

    /// Waits until frames are queued (or the outbox overflowed).
    pub async fn ready(&self) {
        poll_fn(|cx| {
            if self.overflowed.get() || !self.pending.borrow().is_empty() {
                Poll::Ready(())
            } else {
                *self.ready_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// Waits until the outbox overflows; never resolves for a subscriber that keeps up.
    pub async fn overflow(&self) {
        poll_fn(|cx| {
            if self.overflowed.get() {
                Poll::Ready(())
            } else {
                *self.overflow_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

fn wake(slot: &RefCell<Option<Waker>>) {
    if let Some(waker) = slot.take() {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_queue_in_order_until_drained() {
        let outbox = Outbox::new(100, Protocol::Resp2);
        assert!(outbox.push(b"one"));
        assert!(outbox.push(b"two"));
        let mut out = BytesMut::from(&b">"[..]);
        outbox.drain_into(&mut out);
        assert_eq!(&out[..], b">onetwo");
        outbox.drain_into(&mut out);
        assert_eq!(&out[..], b">onetwo");
    }

    #[test]
    fn exceeding_the_bound_overflows_and_drops_everything() {
        let outbox = Outbox::new(5, Protocol::Resp2);
        assert!(outbox.push(b"12345"));
        assert!(!outbox.has_overflowed());
        assert!(!outbox.push(b"6"));
        assert!(outbox.has_overflowed());
        assert!(!outbox.push(b""));
        let mut out = BytesMut::new();
        outbox.drain_into(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn protocol_follows_the_connection() {
        let outbox = Outbox::new(5, Protocol::Resp2);
        outbox.set_protocol(Protocol::Resp3);
        assert_eq!(outbox.protocol(), Protocol::Resp3);
    }
}
