//! SQLite persistence: one database file per shard, written by that shard alone.
//!
//! This is the step of the request path after a change is applied: the server hands each
//! change's [`Record`] to its shard's writer, which commits many at once
//! ([`ShardFile::commit`]). Everything here is synchronous and blocking; the server runs it on a
//! dedicated thread per shard, never on a shard's event loop.
//!
//! A shard file is an append-only log of records, like Redis's append-only file: every commit
//! appends its records at the end of one table, so a write costs about the bytes of its change
//! however large the document and wherever its id falls (a table kept in id order would cost a
//! page or more of random writes per record). The log is compacted by *rewrites*: the shard
//! appends a snapshot of every live document, after which everything before the rewrite is
//! garbage and is deleted a bounded step at a time.
//!
//! - [`layout`]: the file names derived from `--db PATH`, and the manifest that records how many
//!   shards the files were written with.
//! - [`schema`]: opening a file, and refusing one that is not ours, newer, read-only or damaged.
//! - [`shard_file`]: one shard's file: appending records, and loading the documents at start by
//!   replaying the log.
//! - [`batch`]: the rows that hold the updates and removes of a commit together.
//! - [`rewrite`]: when a rewrite is due, and deleting what a finished rewrite made garbage.
//! - [`checkpoint`]: copying the write-ahead log into the file from another connection, so
//!   commits never wait for it.
//! - [`rehome`]: moving documents to their new owner's file when the shard count changes,
//!   crash-safe at every step.
//!
//! What a record holds is opaque bytes made by the document layer (see [`crate::persisted`]): the
//! storage code never looks inside a document.

pub mod batch;
pub mod checkpoint;
pub mod layout;
pub mod rehome;
pub mod rewrite;
pub mod schema;
pub mod shard_file;

use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::strategy::Strategy;

pub use checkpoint::{Checkpoint, Checkpointer};
pub use layout::{Layout, Manifest};
pub use rehome::{prepare, Prepared};
pub use rewrite::{Rewrites, REWRITE_MIN_BYTES_DEFAULT};
pub use shard_file::{Commit, Loaded, ShardFile};

/// The file format this build writes, kept in every file's `user_version`. A file with a larger
/// one was written by a newer usld and is refused rather than misread. Format 2 added batch rows
/// ([`batch`]), and format 3 snapshots inside them; an older file is read as it is and marked 3
/// when opened, since this build will write such rows to it.
pub const FORMAT_VERSION: i64 = 3;

/// The oldest format this build reads.
pub const FORMAT_VERSION_OLDEST: i64 = 1;

/// SQLite's `application_id` of every usld file ("USSL" in ASCII), so a database that some other
/// program made is never mistaken for ours.
pub const APPLICATION_ID: i64 = 0x5553_534C;

/// How the files are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Sync every commit to the disk (`synchronous=FULL`): commits survive power loss, not only
    /// a killed process.
    pub fsync: bool,
    /// The most bytes one shard's file may grow to; a write past it is refused as a full disk
    /// would refuse it. `None`: no bound but the disk's.
    pub file_bytes_max: Option<u64>,
    /// The least bytes the log must grow by after a rewrite before the next one (see
    /// [`rewrite`]).
    pub rewrite_min_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            fsync: false,
            file_bytes_max: None,
            rewrite_min_bytes: REWRITE_MIN_BYTES_DEFAULT,
        }
    }
}

/// One change to persist, in the order the shard applied it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A document changed: its incremental update ([`crate::Document::update_for`]) and the
    /// version the change made.
    Update {
        /// The document.
        id: Box<str>,
        /// The version the change made.
        version: u64,
        /// The update's bytes.
        bytes: Vec<u8>,
        /// For a document's first change (version 1): what it was created with. It starts the
        /// document anew, whatever an earlier document of the same id held.
        created: Option<Created>,
    },
    /// The whole state of a document ([`crate::Document::encode_state`]), written by a rewrite;
    /// it replaces whatever came before it.
    Snapshot {
        /// The document.
        id: Box<str>,
        /// The version the state holds.
        version: u64,
        /// What the document was created with.
        created: Created,
        /// The state's bytes.
        state: Vec<u8>,
    },
    /// A document was deleted or expired.
    Remove {
        /// The document.
        id: Box<str>,
    },
    /// A rewrite begins: a snapshot of every document live now follows.
    RewriteStart,
    /// The rewrite that began last is complete: everything before its start is garbage.
    RewriteEnd,
}

impl Record {
    /// The bytes this record holds, for the queue bounds and the log's size.
    pub fn size_bytes(&self) -> usize {
        match self {
            Record::Update { id, bytes, .. } => id.len() + bytes.len(),
            Record::Snapshot { id, state, .. } => id.len() + state.len(),
            Record::Remove { id } => id.len(),
            Record::RewriteStart | Record::RewriteEnd => 0,
        }
    }
}

/// What a document was created with: its row in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// Its strategy.
    pub strategy: Strategy,
    /// When it expires, in milliseconds since the Unix epoch.
    pub expires_at_ms: Option<u64>,
}

/// Why storage failed. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite refused an operation.
    #[error("{file}: {error}", file = .file.display())]
    Sqlite {
        /// The database file.
        file: PathBuf,
        /// SQLite's error.
        error: rusqlite::Error,
    },
    /// SQLite found the file damaged (a corrupt or truncated page).
    #[error(
        "{file} is damaged ({error}); usld will not start on a file it cannot read whole: \
         restore it from a backup, or salvage it with `sqlite3 {file} .recover`",
        file = .file.display()
    )]
    Damaged {
        /// The database file.
        file: PathBuf,
        /// SQLite's error.
        error: rusqlite::Error,
    },
    /// A file or directory operation failed.
    #[error("{file}: {error}", file = .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The file is not a usld database.
    #[error("{file} is not a usld database ({why}); refusing to touch it", file = .file.display())]
    NotOurs {
        /// The file.
        file: PathBuf,
        /// What gave it away.
        why: String,
    },
    /// The file was written by a newer usld.
    #[error(
        "{file} was written by a newer usld (format {found}; this usld reads formats {FORMAT_VERSION_OLDEST} to {FORMAT_VERSION}); \
         refusing to start rather than misread it",
        file = .file.display()
    )]
    NewerFormat {
        /// The file.
        file: PathBuf,
        /// Its format version.
        found: i64,
    },
    /// The file cannot be written.
    #[error(
        "{file} is read-only; usld must be able to write it, and to create its -wal and -shm \
         files in the same directory",
        file = .file.display()
    )]
    ReadOnly {
        /// The file.
        file: PathBuf,
    },
    /// The files on disk do not match the manifest.
    #[error("{0}")]
    Layout(String),
    /// A document's rows could not be read back.
    #[error("{file}: document '{id}': {source}; the file is damaged", file = .file.display())]
    BadDocument {
        /// The file.
        file: PathBuf,
        /// The document.
        id: String,
        /// What was wrong.
        source: StoreError,
    },
}

impl StorageError {
    /// Wraps SQLite's error with the file it concerns, recognising the ones that say the file
    /// is not a database at all.
    pub fn sqlite(file: &Path, error: rusqlite::Error) -> StorageError {
        let file = file.to_owned();
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StorageError::NotOurs {
                file,
                why: "not a SQLite database".into(),
            },
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => StorageError::Damaged { file, error },
            Some(rusqlite::ErrorCode::ReadOnly) => StorageError::ReadOnly { file },
            _ => StorageError::Sqlite { file, error },
        }
    }
}

/// Attaches the file's name to SQLite errors.
pub(crate) trait SqliteContext<T> {
    fn in_file(self, file: &Path) -> Result<T, StorageError>;
}

impl<T> SqliteContext<T> for rusqlite::Result<T> {
    fn in_file(self, file: &Path) -> Result<T, StorageError> {
        self.map_err(|e| StorageError::sqlite(file, e))
    }
}
