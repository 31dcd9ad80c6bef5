//! Checkpoints: copying a shard file's write-ahead log into the file, off the writer.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a *checkpoint* copies them into the
//! database file, and (with `synchronous=NORMAL`) is where SQLite syncs to disk. SQLite would
//! run one inside a commit every 1000 pages, stalling that commit for the copy and the sync. The
//! server instead turns those off on the writer's connection
//! ([`super::ShardFile::checkpoint_elsewhere`]) and runs them from a [`Checkpointer`], a second
//! connection on another thread: a `PASSIVE` checkpoint copies what no reader still needs while
//! the writer goes on committing.
//!
//! A passive checkpoint never makes SQLite start the log over (writers keep appending while it
//! copies), so under a steady stream of writes the `-wal` file would only grow. Once it holds
//! [`WAL_RESTART_FRAMES`] frames, the checkpointer runs a `RESTART` checkpoint instead, which
//! holds the writer back while it copies the few frames the passive ones left and syncs, so the
//! next commit starts the log over. It waits at most [`RESTART_WAIT`] for readers to let go.

use std::path::{Path, PathBuf};

use std::time::Duration;

use rusqlite::Connection;

use super::schema::{self, Kind};
use super::{Options, SqliteContext, StorageError};

/// How many frames (pages) the write-ahead log may hold before the log is started over: 16 MiB
/// of 4 KiB pages.
pub const WAL_RESTART_FRAMES: i64 = 4096;

/// The longest a restarting checkpoint waits for the writer's commit or a reader to finish; the
/// writer waits for the checkpoint meanwhile, so this bounds how long a commit can be held up.
pub const RESTART_WAIT: Duration = Duration::from_millis(50);

/// A connection that checkpoints one shard file.
pub struct Checkpointer {
    conn: Connection,
    path: PathBuf,
}

/// What one checkpoint found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Frames in the write-ahead log.
    pub frames: i64,
    /// Of those, how many are in the database file now.
    pub copied: i64,
}

impl Checkpointer {
    /// Opens a checkpointing connection on the shard file at `path`.
    pub fn open(path: &Path, options: &Options) -> Result<Checkpointer, StorageError> {
        let conn = schema::open(path, Kind::Shard, options)?;
        conn.busy_timeout(RESTART_WAIT).in_file(path)?;
        Ok(Checkpointer {
            conn,
            path: path.to_owned(),
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies what it can of the write-ahead log into the file, without waiting for the writer
    /// or readers, and starts the log over once it has grown past [`WAL_RESTART_FRAMES`].
    /// Cheap when there is nothing new to copy.
    pub fn checkpoint(&self) -> Result<Checkpoint, StorageError> {
        let passive = self.run("PASSIVE")?;
        if passive.frames < WAL_RESTART_FRAMES {
            return Ok(passive);
        }
        self.run("RESTART")
    }

    fn run(&self, mode: &str) -> Result<Checkpoint, StorageError> {
        let result = self
            .conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
                Ok(Checkpoint {
                    frames: row.get(1)?,
                    copied: row.get(2)?,
                })
            });
        match result {
            // A reader or the writer held on past the wait: the next round tries again.
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                Ok(Checkpoint::default())
            }
            other => other.in_file(&self.path),
        }
    }
}
