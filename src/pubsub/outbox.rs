//! A connection's outbox: the change events and presence updates waiting to be written to one
//! subscribed client, bounded in bytes.
//!
//! Deliveries come from the shard's other tasks (a write applied here, or events arriving from
//! another shard) while the connection's own task may be busy reading or writing, so they are
//! queued here, already encoded. The shard's [`Sweeper`](super::sweeper::Sweeper) writes them
//! straight to the socket; when the socket is full, or the connection task is writing to it at
//! that moment, the sweeper hands the outbox over and the connection task writes it, waiting for
//! the socket as it does for its replies. Frames pushed while an outbox waits for its turn join
//! the same write, so a busy subscriber gets many events per write.
//!
//! The bound is Redis's `client-output-buffer-limit pubsub` hard limit: a subscriber that does
//! not read fast enough to keep its outbox under it is disconnected, which keeps server memory
//! bounded whatever the client does.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::os::fd::RawFd;
use std::task::{Poll, Waker};

use bytes::{Buf, BytesMut};

use crate::protocol::Protocol;

/// One subscribed connection's queue of encoded push frames.
#[derive(Debug)]
pub struct Outbox {
    /// Frames encoded and not yet written.
    pending: RefCell<BytesMut>,
    /// Most bytes `pending` may hold before the subscriber is cut off.
    bytes_max: usize,
    /// Set once the bound was exceeded; nothing is queued after that.
    overflowed: Cell<bool>,
    /// The RESP version the connection speaks now, for encoding pushes.
    protocol: Cell<Protocol>,
    /// The connection's socket, for the sweeper's writes; `None` once the connection closed (the
    /// descriptor may then belong to another file).
    socket: Cell<Option<RawFd>>,
    /// Set while the connection task writes to the socket itself: nobody else may write then.
    writing: Cell<bool>,
    /// Set when the connection task must write `pending` itself: the socket was full, or busy.
    handed_over: Cell<bool>,
    /// Set when a frame was written in part: `pending` must go out before anything else.
    unfinished: Cell<bool>,
    /// Set while the outbox waits in the sweeper's queue.
    scheduled: Cell<bool>,
    /// The connection task waiting for frames handed over to it, if it is idle.
    ready_waker: RefCell<Option<Waker>>,
    /// The connection's guard waiting for an overflow, to close the connection.
    overflow_waker: RefCell<Option<Waker>>,
}

/// What became of a pushed frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued behind frames that are already on their way.
    Queued,
    /// Queued in an outbox that must now be given to the sweeper.
    NeedsSweep,
    /// Dropped: the outbox overflowed (now or before) and the subscriber is being cut off.
    Dropped,
}

/// What the sweeper's write did.
#[derive(Debug, PartialEq, Eq)]
pub enum Swept {
    /// Nothing to write, or nobody to write to.
    Nothing,
    /// Every pending byte went to the socket.
    Written,
    /// The connection task now writes the rest.
    HandedOver,
}

impl Outbox {
    /// An empty outbox for the connection on `socket`, overflowing past `bytes_max` queued bytes.
    pub fn new(bytes_max: usize, protocol: Protocol, socket: RawFd) -> Outbox {
        Outbox {
            pending: RefCell::new(BytesMut::new()),
            bytes_max,
            overflowed: Cell::new(false),
            protocol: Cell::new(protocol),
            socket: Cell::new(Some(socket)),
            writing: Cell::new(false),
            handed_over: Cell::new(false),
            unfinished: Cell::new(false),
            scheduled: Cell::new(false),
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

    /// Queues one encoded frame.
    pub fn push(&self, frame: &[u8]) -> Pushed {
        if self.overflowed.get() || self.socket.get().is_none() {
            return Pushed::Dropped;
        }
        let mut pending = self.pending.borrow_mut();
        if pending.len() + frame.len() > self.bytes_max {
            self.overflowed.set(true);
            pending.clear();
            drop(pending);
            wake(&self.overflow_waker);
            wake(&self.ready_waker);
            return Pushed::Dropped;
        }
        pending.extend_from_slice(frame);
        drop(pending);
        if self.handed_over.get() {
            wake(&self.ready_waker);
            Pushed::Queued
        } else if self.scheduled.replace(true) {
            Pushed::Queued
        } else {
            Pushed::NeedsSweep
        }
    }

    /// The sweeper's turn: writes what is pending straight to the socket without waiting, or
    /// hands it to the connection task when the socket is full or the task is writing to it.
    pub fn sweep(&self) -> Swept {
        self.scheduled.set(false);
        let Some(socket) = self.socket.get() else {
            return Swept::Nothing;
        };
        if self.overflowed.get() || self.handed_over.get() || self.pending.borrow().is_empty() {
            return Swept::Nothing;
        }
        if self.writing.get() {
            return self.hand_over();
        }
        let mut pending = self.pending.borrow_mut();
        match send_now(socket, &pending) {
            Ok(sent) if sent == pending.len() => {
                pending.clear();
                Swept::Written
            }
            Ok(sent) => {
                pending.advance(sent);
                self.unfinished.set(sent > 0);
                drop(pending);
                self.hand_over()
            }
            // Full (or failing: the connection task's own write meets the error and closes).
            Err(_) => {
                drop(pending);
                self.hand_over()
            }
        }
    }

    fn hand_over(&self) -> Swept {
        self.handed_over.set(true);
        wake(&self.ready_waker);
        Swept::HandedOver
    }

    /// Before the connection writes its replies: moves the rest of a frame the sweeper wrote in
    /// part (and what queued behind it) to `out`, so nothing comes between its bytes.
    pub fn drain_unfinished_into(&self, out: &mut BytesMut) {
        if self.unfinished.get() {
            self.drain_into(out);
        }
    }

    /// Moves every queued frame to the end of `out`; the connection task writes them.
    pub fn drain_into(&self, out: &mut BytesMut) {
        let mut pending = self.pending.borrow_mut();
        if !pending.is_empty() {
            out.extend_from_slice(&pending);
            pending.clear();
        }
        self.handed_over.set(false);
        self.unfinished.set(false);
    }

    /// Marks the connection task writing to the socket (or done writing): the sweeper then
    /// hands frames over instead of writing between two parts of the task's write.
    pub fn set_writing(&self, writing: bool) {
        self.writing.set(writing);
    }

    /// The connection is closing: nothing more is queued or written.
    pub fn close(&self) {
        self.socket.set(None);
        self.pending.borrow_mut().clear();
    }

    /// Whether the subscriber fell behind by more than the bound.
    pub fn has_overflowed(&self) -> bool {
        self.overflowed.get()
    }

    /// Waits until frames are handed over to the connection task (or the outbox overflowed).
    pub async fn ready(&self) {
        poll_fn(|cx| {
            let handed = self.handed_over.get() && !self.pending.borrow().is_empty();
            if self.overflowed.get() || handed {
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

/// One non-blocking `send` of `bytes` on `socket`: how many bytes the kernel took.
fn send_now(socket: RawFd, bytes: &[u8]) -> std::io::Result<usize> {
    // SAFETY: `bytes` is valid for reads of its length for the whole call, and `socket` is an
    // open socket: the outbox forgets it (`close`) before the connection drops its stream.
    let sent = unsafe {
        libc::send(
            socket,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(sent).map_err(|_| std::io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// An outbox on one end of a socket pair, and the other end to read what it wrote.
    fn outbox_on_socket(bytes_max: usize) -> (Outbox, UnixStream, UnixStream) {
        let (ours, theirs) = UnixStream::pair().expect("socket pair");
        theirs.set_nonblocking(true).expect("non-blocking");
        let outbox = Outbox::new(bytes_max, Protocol::Resp2, ours.as_raw_fd());
        (outbox, ours, theirs)
    }

    fn read_all(stream: &mut UnixStream) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        out
    }

    #[test]
    fn frames_pushed_before_the_sweep_share_one_write() {
        let (outbox, _ours, mut theirs) = outbox_on_socket(100);
        assert_eq!(outbox.push(b"one"), Pushed::NeedsSweep);
        assert_eq!(outbox.push(b"two"), Pushed::Queued);
        assert_eq!(outbox.sweep(), Swept::Written);
        assert_eq!(read_all(&mut theirs), b"onetwo");
        assert_eq!(outbox.sweep(), Swept::Nothing);
        assert_eq!(outbox.push(b"three"), Pushed::NeedsSweep);
    }

    #[test]
    fn a_connection_writing_gets_the_frames_handed_over() {
        let (outbox, _ours, mut theirs) = outbox_on_socket(100);
        outbox.set_writing(true);
        outbox.push(b"one");
        assert_eq!(outbox.sweep(), Swept::HandedOver);
        assert_eq!(
            outbox.push(b"two"),
            Pushed::Queued,
            "the connection writes it"
        );
        assert!(read_all(&mut theirs).is_empty());
        let mut out = BytesMut::new();
        outbox.drain_unfinished_into(&mut out);
        assert!(out.is_empty(), "nothing was written in part");
        outbox.drain_into(&mut out);
        assert_eq!(&out[..], b"onetwo");
        outbox.set_writing(false);
        assert_eq!(outbox.push(b"three"), Pushed::NeedsSweep);
    }

    #[test]
    fn a_full_socket_leaves_the_rest_to_go_first() {
        let (outbox, ours, mut theirs) = outbox_on_socket(1 << 24);
        ours.set_nonblocking(true).expect("non-blocking");
        let big = vec![b'x'; 1 << 22];
        outbox.push(&big);
        assert_eq!(outbox.sweep(), Swept::HandedOver);
        let mut out = BytesMut::new();
        outbox.drain_unfinished_into(&mut out);
        let mut written = read_all(&mut theirs);
        assert!(!written.is_empty() && !out.is_empty());
        written.extend_from_slice(&out);
        assert_eq!(
            written, big,
            "the part written and the part handed over make the frame"
        );
    }

    #[test]
    fn exceeding_the_bound_overflows_and_drops_everything() {
        let (outbox, _ours, mut theirs) = outbox_on_socket(5);
        assert_eq!(outbox.push(b"12345"), Pushed::NeedsSweep);
        assert!(!outbox.has_overflowed());
        assert_eq!(outbox.push(b"6"), Pushed::Dropped);
        assert!(outbox.has_overflowed());
        assert_eq!(outbox.push(b""), Pushed::Dropped);
        assert_eq!(outbox.sweep(), Swept::Nothing);
        assert!(read_all(&mut theirs).is_empty());
    }

    #[test]
    fn a_closed_outbox_writes_nothing() {
        let (outbox, _ours, mut theirs) = outbox_on_socket(100);
        outbox.push(b"one");
        outbox.close();
        assert_eq!(outbox.sweep(), Swept::Nothing);
        assert_eq!(outbox.push(b"two"), Pushed::Dropped);
        assert!(read_all(&mut theirs).is_empty());
    }

    #[test]
    fn protocol_follows_the_connection() {
        let (outbox, _ours, _theirs) = outbox_on_socket(5);
        outbox.set_protocol(Protocol::Resp3);
        assert_eq!(outbox.protocol(), Protocol::Resp3);
    }
}
