//! The per-shard writer: one OS thread that owns a shard's SQLite file and commits what the
//! shard sends it, many writes per transaction.
//!
//! SQLite calls block, so they never run on a shard's event loop: the shard hands sealed
//! [`Batch`]es to this thread over a bounded crossbeam channel and goes on serving. The thread
//! takes every batch queued when it wakes and commits them all in one transaction (group commit:
//! while one transaction commits, the next group gathers), then reports an [`Outcome`] back to
//! the shard's [`super::barrier::Barrier`], which releases the replies waiting for it, and tells
//! it when the log is due for a rewrite (see `ussl_shards::storage::rewrite`). Between commits it
//! deletes a bounded step of the garbage a finished rewrite left, so that never holds a commit
//! back by more than one step.
//!
//! A failed commit (a full disk, a file made read-only) is reported, and its records kept and
//! retried every [`RETRY_INTERVAL`] with whatever comes next, so nothing applied is dropped;
//! the shard refuses new writes until a retry succeeds. When the shard closes its side, the
//! writer commits what is left and closes the file (SQLite checkpoints the WAL then).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use futures_channel::mpsc;
use ussl_shards::storage::{Record, ShardFile};

/// How long a failed commit waits before it is tried again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Records the shard sealed together, numbered in the order they were sealed.
pub struct Batch {
    /// The batch's number: 1 for the first, then one more each time.
    pub id: u64,
    /// The records, in the order the shard applied them.
    pub records: Vec<Record>,
}

/// What one commit attempt came to, for every batch up to `through`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The last batch the attempt covered; every earlier one is covered too.
    pub through: u64,
    /// `Err` with a message naming the file when the commit failed.
    pub result: Result<(), Arc<str>>,
    /// Records the transaction held.
    pub records: u64,
    /// Bytes of those records.
    pub bytes: u64,
    /// Transactions committed since start.
    pub commits: u64,
    /// Rewrites finished since start.
    pub rewrites: u64,
    /// Whether the log has grown enough that the shard should rewrite it.
    pub rewrite_due: bool,
}

impl Outcome {
    /// A failure of every batch up to `through`, decided on the shard's side.
    pub fn failed(through: u64, why: &str) -> Outcome {
        Outcome {
            through,
            result: Err(Arc::from(why)),
            records: 0,
            bytes: 0,
            commits: 0,
            rewrites: 0,
            rewrite_due: false,
        }
    }
}

/// What the writer needs besides its file and channels.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The shard the file belongs to, for logs.
    pub shard: usize,
    /// Test-only: a pause before every commit, to widen the window between applying a write and
    /// committing it (see `docs/persistence.md`).
    pub commit_delay: Duration,
}

/// Starts the writer thread of one shard.
pub fn spawn(
    file: ShardFile,
    batches: Receiver<Batch>,
    outcomes: mpsc::Sender<Outcome>,
    settings: Settings,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("usld-writer-{}", settings.shard))
        .spawn(move || {
            Writer {
                file,
                outcomes,
                settings,
                carry: Vec::new(),
                through: 0,
                commits: 0,
                rewrites: 0,
                failing: false,
            }
            .run(batches)
        })
}

struct Writer {
    file: ShardFile,
    outcomes: mpsc::Sender<Outcome>,
    settings: Settings,
    /// Records of failed commits, to try again first.
    carry: Vec<Record>,
    /// The last batch received.
    through: u64,
    commits: u64,
    rewrites: u64,
    /// Whether the last commit failed.
    failing: bool,
}

impl Writer {
    fn run(mut self, batches: Receiver<Batch>) {
        loop {
            let first = if !self.carry.is_empty() {
                match batches.recv_timeout(RETRY_INTERVAL) {
                    Ok(batch) => Some(batch),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else if self.file.garbage_left() {
                match batches.try_recv() {
                    Ok(batch) => Some(batch),
                    Err(TryRecvError::Empty) => {
                        self.delete_garbage_step();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            } else {
                match batches.recv() {
                    Ok(batch) => Some(batch),
                    Err(_) => break,
                }
            };
            let mut records = std::mem::take(&mut self.carry);
            for batch in first.into_iter().chain(batches.try_iter()) {
                self.through = batch.id;
                records.extend(batch.records);
            }
            self.commit(records);
            if !self.failing {
                self.delete_garbage_step();
            }
        }
        if !self.carry.is_empty() {
            let records = std::mem::take(&mut self.carry);
            self.commit(records);
        }
        if !self.carry.is_empty() {
            tracing::error!(
                shard = self.settings.shard,
                file = %self.file.path().display(),
                records = self.carry.len(),
                "stopping with writes that could not be committed (they were answered with an \
                 error)"
            );
        }
    }

    /// Commits `records` in one transaction and reports the outcome.
    fn commit(&mut self, records: Vec<Record>) {
        if !self.settings.commit_delay.is_zero() {
            std::thread::sleep(self.settings.commit_delay);
        }
        let result = self.file.commit(&records);
        let (result, records_count, bytes) = match result {
            Ok(done) => {
                if self.failing {
                    tracing::warn!(
                        shard = self.settings.shard,
                        file = %self.file.path().display(),
                        "commits succeed again; writes are accepted"
                    );
                }
                self.failing = false;
                self.commits += 1;
                self.rewrites += u64::from(done.rewrite_ended);
                (Ok(()), done.records as u64, done.bytes as u64)
            }
            Err(error) => {
                let why =
                    format!("persistence failed, writes are refused until it recovers: {error}");
                if !self.failing {
                    tracing::error!(shard = self.settings.shard, "{why}");
                }
                self.failing = true;
                self.carry = records;
                (Err(Arc::from(why)), 0, 0)
            }
        };
        let outcome = Outcome {
            through: self.through,
            result,
            records: records_count,
            bytes,
            commits: self.commits,
            rewrites: self.rewrites,
            rewrite_due: !self.failing && self.file.rewrite_due(),
        };
        // The shard settles outcomes as they come; a full channel only means it is behind on
        // repeats of a failure it already knows, and a closed one that it is shutting down.
        let _ = self.outcomes.try_send(outcome);
    }

    /// Deletes one bounded step of the garbage a finished rewrite left.
    fn delete_garbage_step(&mut self) {
        if let Err(error) = self.file.delete_garbage_step() {
            tracing::warn!(
                shard = self.settings.shard,
                "could not delete rows a rewrite made garbage (they stay, and are skipped when \
                 loading): {error}"
            );
        }
    }
}
