//! The commit barrier: a write's reply waits until the transaction holding the write has
//! committed.
//!
//! This is the step of the request path between applying a change and replying. The shard
//! applies a write to its documents at once (so later commands, on any connection, see it) and
//! hands its [`Record`] to the barrier, which gathers records into the *open batch*. At the end
//! of a unit of work (a connection's round, a peer shard's batch, an expiry sweep) the open batch
//! is sealed and sent to the shard's writer thread ([`super::writer`]), which commits everything
//! queued in one transaction and reports back. Batches are numbered; a round that wrote waits
//! for the number of the batch its writes went into ([`Barrier::wait`]) before any of its replies
//! go out, so neither a write's reply nor any later reply on that connection is sent before the
//! write is durable.
//!
//! Reads are not held back: a GET may show a write that is applied but not yet committed (as
//! Redis with an append-only file shows a write before `fsync`). A write built on such a read is
//! itself committed after it, since batches commit in order.
//!
//! If a commit fails (a full disk, a file made read-only), the writes in it are answered with an
//! error naming the file, and the shard refuses new writes ([`Barrier::failing`]) until a retry
//! of the writer succeeds; the failed records stay queued in the writer, so nothing applied is
//! dropped.
//!
//! Bounds: at most `commit_queue` batches are in flight to the writer (more records wait in the
//! open batch, which makes the next group larger), and connections wait before applying new
//! commands while more than `uncommitted_bytes_max` bytes of records are uncommitted
//! ([`Barrier::room`]).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use crossbeam_channel::{Sender, TrySendError};
use futures_channel::{mpsc, oneshot};
use futures_lite::StreamExt;
use ussl_shards::storage::Record;

use super::writer::{Batch, Outcome};

/// Why a write is not durable: the writer's message, which names the file.
pub type Failure = Rc<str>;

/// The failure of the writes a shard makes after its writer link was closed for shutdown.
pub const STOPPING: &str = "the server is stopping";

/// Where a round waiting for a batch learns its outcome.
type Waiter = oneshot::Sender<Result<(), Failure>>;

/// One shard's side of the barrier.
pub struct Barrier {
    /// Where sealed batches go; `None` once closed.
    to_writer: RefCell<Option<Sender<Batch>>>,
    /// Records applied since the last seal.
    open: RefCell<Vec<Record>>,
    /// Bytes in `open`.
    open_bytes: Cell<usize>,
    /// Records made since start; a caller compares it before and after applying commands to
    /// learn whether they wrote.
    records_made: Cell<u64>,
    /// The number of the last batch sent to the writer.
    sealed: Cell<u64>,
    /// The number of the last batch whose commit is known to have succeeded or failed.
    settled: Cell<u64>,
    /// Bytes of each batch in flight, oldest first.
    in_flight: RefCell<VecDeque<(u64, usize)>>,
    /// Bytes sealed and not yet settled, plus `open_bytes`.
    uncommitted_bytes: Cell<usize>,
    /// Rounds waiting for a batch, by batch number.
    waiters: RefCell<BTreeMap<u64, Vec<Waiter>>>,
    /// Connections waiting for room.
    room_waiters: RefCell<Vec<Waker>>,
    /// The last commit's failure, while the writer has not recovered from it.
    failing: RefCell<Option<Failure>>,
    /// Whether the writer asked for a rewrite of the log, and the task that does them.
    rewrite_asked: Cell<bool>,
    rewriter: RefCell<Option<Waker>>,
    /// Counters for INFO.
    stats: Cell<BarrierStats>,
    commit_queue: usize,
    uncommitted_bytes_max: usize,
}

/// What the barrier has seen, for INFO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BarrierStats {
    /// Transactions the writer committed.
    pub commits: u64,
    /// Records in them.
    pub records: u64,
    /// Bytes of records in them.
    pub bytes: u64,
    /// Rewrites of the log finished.
    pub rewrites: u64,
    /// Commits that failed.
    pub failures: u64,
    /// Bytes of records not yet committed.
    pub uncommitted_bytes: u64,
    /// Whether writes are refused because the last commit failed.
    pub failing: bool,
}

/// Waits for one batch's commit; made by [`Barrier::wait`].
pub enum Commit {
    /// Known when the wait began.
    Settled(Result<(), Failure>),
    /// To come from the writer.
    Pending(oneshot::Receiver<Result<(), Failure>>),
}

impl Commit {
    /// Waits for the outcome.
    pub async fn done(self) -> Result<(), Failure> {
        match self {
            Commit::Settled(result) => result,
            Commit::Pending(receiver) => receiver
                .await
                .unwrap_or_else(|_| Err(Failure::from("the shard is shutting down"))),
        }
    }
}

impl Barrier {
    /// A barrier feeding `to_writer`, with at most `commit_queue` batches in flight.
    pub fn new(
        to_writer: Sender<Batch>,
        commit_queue: usize,
        uncommitted_bytes_max: usize,
    ) -> Barrier {
        Barrier {
            to_writer: RefCell::new(Some(to_writer)),
            open: RefCell::new(Vec::new()),
            open_bytes: Cell::new(0),
            records_made: Cell::new(0),
            sealed: Cell::new(0),
            settled: Cell::new(0),
            in_flight: RefCell::new(VecDeque::new()),
            uncommitted_bytes: Cell::new(0),
            waiters: RefCell::new(BTreeMap::new()),
            room_waiters: RefCell::new(Vec::new()),
            failing: RefCell::new(None),
            rewrite_asked: Cell::new(false),
            rewriter: RefCell::new(None),
            stats: Cell::new(BarrierStats::default()),
            commit_queue,
            uncommitted_bytes_max,
        }
    }

    /// Adds a record to the open batch. Never waits.
    pub fn record(&self, record: Record) {
        let bytes = record.size_bytes();
        self.open.borrow_mut().push(record);
        self.open_bytes.set(self.open_bytes.get() + bytes);
        self.uncommitted_bytes
            .set(self.uncommitted_bytes.get() + bytes);
        self.records_made.set(self.records_made.get() + 1);
    }

    /// How many records were made since start; compare two readings to learn whether the
    /// commands applied in between wrote anything.
    pub fn records_made(&self) -> u64 {
        self.records_made.get()
    }

    /// The failure writes are refused with, while the writer has not recovered from one.
    pub fn failing(&self) -> Option<Failure> {
        self.failing.borrow().clone()
    }

    /// Seals the open batch and sends it to the writer, unless it is empty or `commit_queue`
    /// batches are in flight already (it is then sealed when one settles). Call at the end of a
    /// unit of work.
    pub fn flush(&self) {
        let in_flight = self.sealed.get() - self.settled.get();
        if self.open.borrow().is_empty() || in_flight >= self.commit_queue as u64 {
            return;
        }
        self.seal();
    }

    fn seal(&self) {
        let records = std::mem::take(&mut *self.open.borrow_mut());
        let bytes = self.open_bytes.replace(0);
        let id = self.sealed.get() + 1;
        self.sealed.set(id);
        self.in_flight.borrow_mut().push_back((id, bytes));
        let sent = match &*self.to_writer.borrow() {
            // The in-flight bound keeps the channel from filling, so only a writer that is
            // gone ends up here; its batches will never commit.
            Some(sender) => sender.try_send(Batch { id, records }).map_err(|e| match e {
                TrySendError::Full(_) => "the commit queue is full",
                TrySendError::Disconnected(_) => "the database writer has stopped",
            }),
            // Closed by the shutdown: writes still arriving while the shard stops are answered
            // with an error, which is no fault to log as one.
            None => Err(STOPPING),
        };
        if let Err(why) = sent {
            if self.to_writer.borrow().is_some() {
                tracing::error!("{why}; writes are refused");
            } else {
                tracing::debug!("{why}; a write made while stopping is refused");
            }
            self.settle(&Outcome::failed(id, why));
        }
    }

    /// Waits for the commit of the batch holding the records made after `records_made` read
    /// `mark`: settled at once when there are none. Must be called before the next yield after
    /// those records were made, so the outcome cannot slip past the registration.
    pub fn wait(&self, mark: u64) -> Commit {
        if self.records_made.get() == mark {
            return Commit::Settled(Ok(()));
        }
        // Records made since `mark` are in the open batch, or in the one last sealed if a
        // flush ran since (it can only have run in the caller's own unit of work).
        let batch = if self.open.borrow().is_empty() {
            self.sealed.get()
        } else {
            self.sealed.get() + 1
        };
        if batch <= self.settled.get() {
            return Commit::Settled(self.failing().map_or(Ok(()), Err));
        }
        let (sender, receiver) = oneshot::channel();
        self.waiters
            .borrow_mut()
            .entry(batch)
            .or_default()
            .push(sender);
        Commit::Pending(receiver)
    }

    /// Waits until fewer than `uncommitted_bytes_max` bytes are uncommitted, or until writes are
    /// refused anyway because commits fail.
    pub async fn room(&self) {
        poll_fn(|cx| {
            if self.uncommitted_bytes.get() < self.uncommitted_bytes_max
                || self.failing.borrow().is_some()
            {
                Poll::Ready(())
            } else {
                self.room_waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// Waits until the writer asks for a rewrite of the log (see [`crate::shard::Shard`]'s
    /// rewrite task).
    pub async fn rewrite_asked(&self) {
        poll_fn(|cx| {
            if self.rewrite_asked.replace(false) {
                Poll::Ready(())
            } else {
                *self.rewriter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// Forgets requests for a rewrite made before the one just finished began: until its start
    /// was committed, the writer went on asking.
    pub fn rewrite_done(&self) {
        self.rewrite_asked.set(false);
    }

    /// Receives the writer's outcomes for the life of the shard, settling the waiting rounds.
    pub async fn listen(self: Rc<Self>, mut outcomes: mpsc::Receiver<Outcome>) {
        while let Some(outcome) = outcomes.next().await {
            self.settle(&outcome);
            if self.sealed.get() - self.settled.get() < self.commit_queue as u64 {
                self.flush();
            }
        }
    }

    /// Applies one outcome: every batch up to `outcome.through` is settled with its result.
    fn settle(&self, outcome: &Outcome) {
        let through = outcome.through.max(self.settled.get());
        self.settled.set(through);
        let mut freed = 0;
        {
            let mut in_flight = self.in_flight.borrow_mut();
            while in_flight.front().is_some_and(|(id, _)| *id <= through) {
                freed += in_flight.pop_front().map_or(0, |(_, bytes)| bytes);
            }
        }
        self.uncommitted_bytes
            .set(self.uncommitted_bytes.get().saturating_sub(freed));
        let result: Result<(), Failure> = match &outcome.result {
            Ok(()) => Ok(()),
            Err(why) => Err(Failure::from(&**why)),
        };
        *self.failing.borrow_mut() = result.clone().err();
        let mut stats = self.stats.get();
        stats.rewrites = stats.rewrites.max(outcome.rewrites);
        match &result {
            Ok(()) => {
                stats.commits = stats.commits.max(outcome.commits);
                stats.records += outcome.records;
                stats.bytes += outcome.bytes;
            }
            Err(_) => stats.failures += 1,
        }
        self.stats.set(stats);
        let ready = {
            let mut waiters = self.waiters.borrow_mut();
            let later = waiters.split_off(&(through + 1));
            std::mem::replace(&mut *waiters, later)
        };
        for sender in ready.into_values().flatten() {
            // The round may have ended (its connection closed); nobody waits then.
            let _ = sender.send(result.clone());
        }
        for waker in self.room_waiters.borrow_mut().drain(..) {
            waker.wake();
        }
        if outcome.rewrite_due {
            self.rewrite_asked.set(true);
            if let Some(waker) = self.rewriter.borrow_mut().take() {
                waker.wake();
            }
        }
    }

    /// Sends what is open and stops feeding the writer, which then commits what it has and
    /// ends. For shutdown: the in-flight bound no longer matters.
    pub fn close(&self) {
        if !self.open.borrow().is_empty() {
            self.seal();
        }
        self.to_writer.borrow_mut().take();
    }

    /// A copy of the counters, for INFO.
    pub fn stats(&self) -> BarrierStats {
        BarrierStats {
            uncommitted_bytes: self.uncommitted_bytes.get() as u64,
            failing: self.failing.borrow().is_some(),
            ..self.stats.get()
        }
    }
}
