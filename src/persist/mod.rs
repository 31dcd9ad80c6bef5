//! Step 7 of the request path with `--db`: an applied change is persisted before it is
//! acknowledged.
//!
//! - [`startup`]: before the shards start, the database is locked, checked, re-homed to the shard
//!   count and loaded.
//! - [`writer`]: one OS thread per shard owns that shard's SQLite file and commits what the shard
//!   sends, many writes per transaction.
//! - [`checkpointer`]: one OS thread copies every shard's write-ahead log into its file, so the
//!   writers' commits never wait for that.
//! - [`barrier`]: on the shard, the records of applied changes are gathered and sent to the
//!   writer, and replies wait for the commit that holds their writes.
//!
//! [`record`] turns what a command changed into records; the shard calls it right where the
//! change is turned into an event (`Shard::op_document`). The contract (what survives a killed
//! process, what `--fsync` adds, what is refused) is written out in `docs/persistence.md`.

pub mod barrier;
pub mod checkpointer;
pub mod startup;
pub mod writer;

use std::fs::File;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use futures_channel::mpsc;
use ussl_shards::storage::{Checkpointer, Created, Options, Record};
use ussl_shards::{Change, Op, Store};

use crate::config::Config;
use crate::shard::replica_seed;
use barrier::Barrier;
use writer::{Batch, Outcome, Settings};

/// What one shard starts with.
pub struct ShardInit {
    /// Its documents: loaded from its file, or empty in memory.
    pub store: Store,
    /// Its side of the channels to its writer, with `--db`.
    pub writer: Option<WriterLink>,
}

/// A shard's ends of the channels to its writer thread.
pub struct WriterLink {
    /// Where sealed batches go.
    pub batches: crossbeam_channel::Sender<Batch>,
    /// Where the writer's outcomes come from.
    pub outcomes: mpsc::Receiver<Outcome>,
}

impl WriterLink {
    /// The shard's barrier over this link, and the outcomes its listener task reads.
    pub fn into_barrier(self, config: &Config) -> (Barrier, mpsc::Receiver<Outcome>) {
        let barrier = Barrier::new(
            self.batches,
            config.commit_queue,
            config.uncommitted_bytes_max,
        );
        (barrier, self.outcomes)
    }
}

/// The writer threads, the checkpointer and the database lock, kept until every shard has
/// stopped.
pub struct Writers {
    threads: Vec<JoinHandle<()>>,
    checkpointer: Option<checkpointer::Running>,
    _lock: Option<File>,
}

impl Writers {
    /// Waits for every writer to commit what it was given and close its file, then stops the
    /// checkpointer, whose connections close last.
    pub fn join(self) {
        for thread in self.threads {
            if thread.join().is_err() {
                tracing::error!("a database writer thread panicked");
            }
        }
        if let Some(checkpointer) = self.checkpointer {
            checkpointer.stop();
        }
    }
}

/// Opens the database (with `--db`) and starts one writer per shard; in memory, empty stores.
pub fn start(config: &Config) -> anyhow::Result<(Vec<ShardInit>, Writers)> {
    let Some(db) = &config.db else {
        let inits = (0..config.shards)
            .map(|index| ShardInit {
                store: Store::with_replica_seed(replica_seed(index)),
                writer: None,
            })
            .collect();
        let writers = Writers {
            threads: Vec::new(),
            checkpointer: None,
            _lock: None,
        };
        return Ok((inits, writers));
    };
    let options = Options {
        fsync: config.fsync,
        file_bytes_max: config.db_file_bytes_max,
        rewrite_min_bytes: config.db_rewrite_min_bytes,
    };
    let opened = startup::open(db, config.shards, options)?;
    let mut inits = Vec::with_capacity(config.shards);
    let mut threads = Vec::with_capacity(config.shards);
    let mut checkpointers = Vec::with_capacity(config.shards);
    for (index, shard) in opened.shards.into_iter().enumerate() {
        checkpointers.push(Checkpointer::open(shard.file.path(), &options)?);
        shard.file.checkpoint_elsewhere()?;
        let (batches, from_shard) = crossbeam_channel::bounded(config.commit_queue);
        // One more outcome than batches in flight: the writer reports at most one per batch,
        // plus one for a retry.
        let (to_shard, outcomes) = mpsc::channel(config.commit_queue + 1);
        let settings = Settings {
            shard: index,
            commit_delay: Duration::from_millis(config.commit_delay_ms),
        };
        let thread = writer::spawn(shard.file, from_shard, to_shard, settings)
            .context("cannot start a database writer thread")?;
        threads.push(thread);
        inits.push(ShardInit {
            store: shard.store,
            writer: Some(WriterLink { batches, outcomes }),
        });
    }
    let checkpointer =
        checkpointer::spawn(checkpointers).context("cannot start the checkpointer thread")?;
    let writers = Writers {
        threads,
        checkpointer: Some(checkpointer),
        _lock: Some(opened.lock),
    };
    Ok((inits, writers))
}

/// Hands the barrier what one command did to document `id`: the removal of every document found
/// expired while it ran (first: the command came after their expiry), then its change.
pub fn record(
    barrier: &Barrier,
    store: &mut Store,
    id: &str,
    change: Option<&Change>,
    expired: &[Box<str>],
    now_ms: u64,
) {
    record_removed(barrier, expired);
    let Some(change) = change else {
        return;
    };
    if change.op == Op::Drop {
        barrier.record(Record::Remove { id: id.into() });
        return;
    }
    let Some(document) = store.document(id, now_ms) else {
        return;
    };
    let created = (change.version == 1).then(|| Created {
        strategy: document.strategy(),
        expires_at_ms: document.expires_at_ms(),
    });
    barrier.record(Record::Update {
        id: id.into(),
        version: change.version,
        bytes: document.update_for(change),
        created,
    });
}

/// Hands the barrier the removal of documents that expired.
pub fn record_removed(barrier: &Barrier, expired: &[Box<str>]) {
    for id in expired {
        barrier.record(Record::Remove { id: id.clone() });
    }
}
