//! Opening the database before any shard serves: locking it, checking and re-homing the files
//! (`ussl_shards::storage::prepare`), and loading every shard's documents, the shards in
//! parallel.
//!
//! This is the only SQLite work that runs before the event loops start, and it is done before a
//! single client connection is accepted, so it stalls nothing: the port does not answer until
//! every document is back.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context};
use ussl_shards::storage::{self, Layout, Loaded, Options, ShardFile};
use ussl_shards::Store;

use crate::router::owner;
use crate::shard::{now_ms, replica_seed};

/// One shard's storage, opened and loaded.
pub struct ShardStorage {
    /// The shard's documents as the file holds them.
    pub store: Store,
    /// The open file, for the shard's writer.
    pub file: ShardFile,
}

/// The whole database, opened.
pub struct Opened {
    /// Per shard, in shard order.
    pub shards: Vec<ShardStorage>,
    /// Held for the life of the server: a second usld on the same files is refused.
    pub lock: File,
}

/// Locks, checks, re-homes and loads the database at `db` for `shards` shards.
pub fn open(db: &Path, shards: usize, options: Options) -> anyhow::Result<Opened> {
    let started = Instant::now();
    let layout = Layout::new(db)?;
    layout.create_dir()?;
    let lock = lock(layout.manifest())?;
    let prepared = storage::prepare(&layout, shards)?;
    if let Some(previous) = prepared.previous_shards.filter(|&n| n != shards) {
        tracing::info!(
            from = previous,
            to = shards,
            moved = prepared.moved,
            "re-homed the documents to the new shard count"
        );
    }
    let now = now_ms();
    let loaded: Vec<anyhow::Result<(ShardStorage, Loaded)>> = std::thread::scope(|scope| {
        let loaders: Vec<_> = (0..shards)
            .map(|index| {
                let path = layout.shard(index);
                scope.spawn(move || load(&path, index, shards, options, now))
            })
            .collect();
        loaders
            .into_iter()
            .map(|loader| {
                loader
                    .join()
                    .unwrap_or_else(|_| Err(anyhow!("a loader thread panicked")))
            })
            .collect()
    });
    let mut opened = Vec::with_capacity(shards);
    let mut total = Loaded::default();
    for result in loaded {
        let (shard, counts) = result?;
        total.documents += counts.documents;
        total.expired += counts.expired;
        total.records += counts.records;
        opened.push(shard);
    }
    tracing::info!(
        db = %db.display(),
        documents = total.documents,
        records_replayed = total.records,
        expired = total.expired,
        seconds = format!("{:.3}", started.elapsed().as_secs_f64()),
        "database loaded"
    );
    Ok(Opened {
        shards: opened,
        lock,
    })
}

/// Opens and loads shard `index`'s file.
fn load(
    path: &Path,
    index: usize,
    shards: usize,
    options: Options,
    now_ms: u64,
) -> anyhow::Result<(ShardStorage, Loaded)> {
    let mut file = ShardFile::open(path, &options)?;
    let mut store = Store::with_replica_seed(replica_seed(index));
    let loaded = file.load(&mut store, now_ms, |id| owner(id, shards) == index)?;
    Ok((ShardStorage { store, file }, loaded))
}

/// Takes an exclusive lock on the manifest (creating it when missing), held while the returned
/// file stays open.
fn lock(manifest: &Path) -> anyhow::Result<File> {
    let file = if manifest.exists() {
        File::open(manifest)
    } else {
        File::options().write(true).create_new(true).open(manifest)
    }
    .with_context(|| format!("cannot open {}", manifest.display()))?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let error = std::io::Error::last_os_error();
        if error.kind() == std::io::ErrorKind::WouldBlock {
            anyhow::bail!(
                "{} is in use by another usld; two servers must not share a database",
                manifest.display()
            );
        }
        return Err(error).with_context(|| format!("cannot lock {}", manifest.display()));
    }
    Ok(file)
}
