//! The shard's event sweeper: one task that writes the shard's queued change events to their
//! subscribers' sockets, outbox after outbox.
//!
//! Writing events from a task of their own, in a task queue of their own, is what lets a heavy
//! fan-out batch itself. A write to a socket costs far more than the bytes it carries, and a
//! thousand subscribers cost a thousand writes per change, some milliseconds of work. Every
//! [`SWEEP_SLICE`] of writing, the sweeper yields its task queue, which makes glommio poll for
//! I/O (see `vendor/README.md`) and run the connections it woke before the sweep goes on: a
//! writer's next request is served in the middle of a sweep instead of after it, and its events
//! join the outboxes still waiting for their turn, so the next write to each carries both. When
//! events are few, an outbox is written as soon as its event arrives: nothing waits on a timer.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use glommio::{Latency, Shares};

use super::outbox::Outbox;

/// How long the sweeper writes before it lets the shard's I/O and other tasks in.
pub const SWEEP_SLICE: Duration = Duration::from_micros(200);

/// The outboxes waiting for the sweeper, in the order they got their first pending frame.
#[derive(Debug, Default)]
pub struct Sweeper {
    queue: RefCell<VecDeque<Rc<Outbox>>>,
    waker: RefCell<Option<Waker>>,
}

impl Sweeper {
    /// An idle sweeper.
    pub fn new() -> Sweeper {
        Sweeper::default()
    }

    /// Puts `outbox` in line (its push said [`Pushed::NeedsSweep`](super::outbox::Pushed)).
    pub fn schedule(&self, outbox: &Rc<Outbox>) {
        self.queue.borrow_mut().push_back(Rc::clone(outbox));
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Starts the sweeping task on this executor, in a task queue of its own.
    pub fn spawn(self: Rc<Self>) -> glommio::Result<(), ()> {
        let queue = glommio::executor().create_task_queue(
            Shares::default(),
            Latency::NotImportant,
            "events",
        );
        glommio::spawn_local_into(self.run(), queue)?.detach();
        Ok(())
    }

    async fn run(self: Rc<Self>) {
        let mut slice_start = Instant::now();
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(outbox) = next else {
                self.work().await;
                slice_start = Instant::now();
                continue;
            };
            outbox.sweep();
            if slice_start.elapsed() >= SWEEP_SLICE {
                glommio::executor().yield_task_queue_now().await;
                slice_start = Instant::now();
            }
        }
    }

    /// Waits until an outbox is in line.
    async fn work(&self) {
        poll_fn(|cx| {
            if self.queue.borrow().is_empty() {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
    }
}
