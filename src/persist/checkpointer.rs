//! The checkpointer: one OS thread that copies every shard's write-ahead log into its file, so
//! the writers' commits never wait for that copy or for the disk sync that goes with it (see
//! `ussl_shards::storage::checkpoint`).
//!
//! Every [`CHECKPOINT_INTERVAL`] it runs a `PASSIVE` checkpoint on each shard file, which copies
//! what has been committed since the last one, without blocking the writer; when nothing is new
//! it costs next to nothing. So a shard's write-ahead log holds at most about an interval's
//! worth of commits beyond what readers pin. On shutdown, once the writers have stopped, it
//! closes its connections last, and SQLite copies the rest and removes the `-wal` files.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ussl_shards::storage::Checkpointer;

/// How often each shard's write-ahead log is copied into its file.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// The running checkpointer; [`Running::stop`] ends it.
pub struct Running {
    /// Dropped to stop the thread.
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Stops the thread (its connections close last, so SQLite finishes the logs) and waits.
    pub fn stop(self) {
        drop(self.stop);
        if self.thread.join().is_err() {
            tracing::error!("the checkpointer thread panicked");
        }
    }
}

/// Starts the checkpointer over the shard files' `checkpointers`.
pub fn spawn(checkpointers: Vec<Checkpointer>) -> std::io::Result<Running> {
    let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
    let thread = std::thread::Builder::new()
        .name("usld-checkpoint".into())
        .spawn(move || run(&checkpointers, &stopped))?;
    Ok(Running { stop, thread })
}

fn run(checkpointers: &[Checkpointer], stopped: &Receiver<()>) {
    // Whether the last checkpoint of each file failed, so a lasting failure is logged once.
    let mut failing = vec![false; checkpointers.len()];
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL) {
        for (checkpointer, failing) in checkpointers.iter().zip(&mut failing) {
            match checkpointer.checkpoint() {
                Ok(_) => *failing = false,
                Err(error) if !*failing => {
                    *failing = true;
                    tracing::warn!(
                        "cannot copy the write-ahead log into {} (tried again every {:?}; \
                         commits go on): {error}",
                        checkpointer.path().display(),
                        CHECKPOINT_INTERVAL
                    );
                }
                Err(_) => {}
            }
        }
    }
}
