//! One shard's database file: appending the shard's records in groups, and loading its
//! documents back at start by replaying the log.
//!
//! A [`ShardFile`] is owned by the one thread that writes it (the server's per-shard writer), so
//! it needs no locking. Each [`ShardFile::commit`] is one SQLite transaction appending every
//! record handed in, in order: many writes share one commit, and since they are appended at the
//! end of the log, they share its pages too.
//!
//! The rows of the log, by `kind`:
//!
//! | kind | row | replayed as |
//! |---|---|---|
//! | 0 update | `id`, `version`, `bytes`: one change | the document's [`crate::Document::replay`] |
//! | 1 create | the same, for version 1, with `strategy` and `expires_at_ms` | a new document, then its first change; replaces any earlier one |
//! | 2 snapshot | `id`, `version`, `strategy`, `expires_at_ms`, `bytes`: the whole state | the document rebuilt from it; replaces any earlier one |
//! | 3 remove | `id` | the document deleted |
//! | 4 rewrite start | `version` 0 | nothing: a rewrite's snapshots follow |
//! | 5 rewrite end | `version`: the `seq` of its start | nothing: rows before that `seq` are garbage |
//!
//! An update can come before the create or snapshot of its document when a rewrite deleted
//! what came before (the rewrite's snapshot of the document then follows it and replaces it) or
//! when its document is removed later; loading holds such updates until one of those rows comes,
//! and refuses the file if one is left at the end.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::rewrite::{self, Rewrites};
use super::schema::{self, Kind};
use super::{Created, Options, Record, SqliteContext, StorageError};
use crate::persisted::Persisted;
use crate::store::Store;
use crate::strategy::Strategy;

/// The `kind` of each row of the log (see the module documentation).
pub(crate) mod row {
    pub const UPDATE: i64 = 0;
    pub const CREATE: i64 = 1;
    pub const SNAPSHOT: i64 = 2;
    pub const REMOVE: i64 = 3;
    pub const REWRITE_START: i64 = 4;
    pub const REWRITE_END: i64 = 5;
}

/// One shard's open database file.
pub struct ShardFile {
    conn: Connection,
    path: PathBuf,
    /// The log's size, and the state of rewrites.
    rewrites: Rewrites,
}

/// What one commit wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commit {
    /// Records committed.
    pub records: usize,
    /// Bytes of updates and ids they held.
    pub bytes: usize,
    /// Whether a rewrite ended with this commit.
    pub rewrite_ended: bool,
}

/// What loading found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Documents put back in the store.
    pub documents: usize,
    /// Documents found expired, and dropped.
    pub expired: usize,
    /// Log rows replayed.
    pub rows: usize,
}

impl ShardFile {
    /// Opens (creating when missing) a shard file.
    pub fn open(path: &Path, options: &Options) -> Result<ShardFile, StorageError> {
        let conn = schema::open(path, Kind::Shard, options)?;
        let rewrites = Rewrites::read(&conn, path, options.rewrite_min_bytes)?;
        Ok(ShardFile {
            conn,
            path: path.to_owned(),
            rewrites,
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops this connection from checkpointing inside its commits: a [`super::Checkpointer`]
    /// on another thread does it. Without one, the write-ahead log would grow without bound.
    pub fn checkpoint_elsewhere(&self) -> Result<(), StorageError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .in_file(&self.path)
    }

    /// Appends `records` in one transaction, in order. On error nothing of them is written and
    /// the caller keeps them to try again.
    pub fn commit(&mut self, records: &[Record]) -> Result<Commit, StorageError> {
        let file = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .in_file(file)?;
        let mut rewrites = self.rewrites;
        let mut done = Commit::default();
        for record in records {
            let seq = append(&tx, record, rewrites.started_at()).in_file(file)?;
            done.rewrite_ended |= rewrites.note(record, seq);
            done.records += 1;
            done.bytes += record.size_bytes();
        }
        tx.commit().in_file(file)?;
        self.rewrites = rewrites;
        Ok(done)
    }

    /// Whether the log has grown enough since the last rewrite that another is due.
    pub fn rewrite_due(&self) -> bool {
        self.rewrites.due()
    }

    /// Whether a finished rewrite left garbage rows to delete.
    pub fn garbage_left(&self) -> bool {
        self.rewrites.garbage_left()
    }

    /// Deletes a bounded number of garbage rows (see [`rewrite`]); how many.
    pub fn delete_garbage_step(&mut self) -> Result<usize, StorageError> {
        rewrite::delete_garbage_step(&self.conn, &self.path, &mut self.rewrites)
    }

    /// Puts every document of this file into `store` by replaying the log, and drops those that
    /// expired by `now_ms`. `owned` tells whether a document belongs to this shard; one that does
    /// not means the files were not re-homed, and loading stops.
    pub fn load(
        &mut self,
        store: &mut Store,
        now_ms: u64,
        owned: impl Fn(&str) -> bool,
    ) -> Result<Loaded, StorageError> {
        let file = &self.path;
        let mut loaded = Loaded::default();
        // Updates waiting for the create, snapshot or remove row of their document.
        let mut held: HashSet<String> = HashSet::new();
        let mut rows = self
            .conn
            .prepare(
                "SELECT id, kind, version, strategy, expires_at_ms, bytes FROM log
                 WHERE seq >= ?1 AND kind < ?2 ORDER BY seq",
            )
            .in_file(file)?;
        let mut rows = rows
            .query(params![self.rewrites.cut(), row::REWRITE_START])
            .in_file(file)?;
        while let Some(entry) = rows.next().in_file(file)? {
            let id: String = entry.get(0).in_file(file)?;
            let kind: i64 = entry.get(1).in_file(file)?;
            let version = entry.get::<_, i64>(2).in_file(file)?.max(0) as u64;
            let bytes = entry.get_ref(5).in_file(file)?;
            let bytes = bytes.as_blob_or_null().unwrap_or(None).unwrap_or_default();
            let bad = |source| StorageError::BadDocument {
                file: file.clone(),
                id: id.clone(),
                source,
            };
            if !owned(&id) {
                return Err(StorageError::Layout(format!(
                    "{}: document '{id}' belongs to another shard; the files were not \
                     re-homed to this shard count",
                    file.display()
                )));
            }
            loaded.rows += 1;
            match kind {
                row::UPDATE => {
                    if !store.replay(&id, version, bytes).map_err(bad)? {
                        held.insert(id);
                    }
                    continue;
                }
                row::CREATE | row::SNAPSHOT => {
                    let strategy: String = entry.get(3).in_file(file)?;
                    let expires_at_ms: Option<i64> = entry.get(4).in_file(file)?;
                    let persisted = Persisted {
                        strategy: Strategy::parse(&strategy).map_err(bad)?,
                        expires_at_ms: expires_at_ms.map(|ms| ms.max(0) as u64),
                        snapshot: (kind == row::SNAPSHOT).then_some(bytes),
                        updates: (kind == row::CREATE).then_some((version, bytes)),
                    };
                    // Expiry is applied once the whole log is replayed.
                    store.restore(&id, persisted, 0).map_err(bad)?;
                }
                row::REMOVE => {
                    store.delete_document(&id, 0);
                }
                other => {
                    return Err(StorageError::Layout(format!(
                        "{}: a log row of unknown kind {other}; the file is damaged",
                        file.display()
                    )))
                }
            }
            held.remove(&id);
        }
        if let Some(orphan) = held.into_iter().next() {
            return Err(StorageError::Layout(format!(
                "{}: updates of document '{orphan}' have nothing they apply to (no create or \
                 snapshot row); the file is damaged",
                file.display()
            )));
        }
        loaded.expired = store.purge_expired(now_ms);
        store.take_expired();
        loaded.documents = store.len();
        Ok(loaded)
    }

    /// How many rows the log holds (garbage included), for tests and INFO.
    pub fn rows(&self) -> Result<u64, StorageError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM log", [], |row| row.get(0))
            .in_file(&self.path)?;
        Ok(n.max(0) as u64)
    }

    /// The version of document `id` the file holds committed: the version of its newest row;
    /// `None` when the file has no row for it.
    pub fn committed_version(&self, id: &str) -> Result<Option<u64>, StorageError> {
        committed_version(&self.conn, id).in_file(&self.path)
    }
}

/// The version the newest row of document `id` brings it to; `None` without a row (a removed
/// document counts as none). Scans the log: for tests and tools, not for the write path.
pub fn committed_version(conn: &Connection, id: &str) -> rusqlite::Result<Option<u64>> {
    let newest: Option<(i64, i64)> = conn
        .query_row(
            "SELECT kind, version FROM log WHERE id = ?1 ORDER BY seq DESC LIMIT 1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    Ok(newest
        .filter(|(kind, _)| *kind != row::REMOVE)
        .map(|(_, version)| version.max(0) as u64))
}

/// Appends one record inside the commit's transaction; returns its row's `seq`.
fn append(conn: &Connection, record: &Record, rewrite_start: Option<i64>) -> rusqlite::Result<i64> {
    type Row<'a> = (&'a str, i64, u64, Option<&'a Created>, Option<&'a [u8]>);
    let (id, kind, version, created, bytes): Row<'_> = match record {
        Record::Update {
            id,
            version,
            bytes,
            created,
        } => {
            let kind = if created.is_some() {
                row::CREATE
            } else {
                row::UPDATE
            };
            (id, kind, *version, created.as_ref(), Some(bytes))
        }
        Record::Snapshot {
            id,
            version,
            created,
            state,
        } => (id, row::SNAPSHOT, *version, Some(created), Some(state)),
        Record::Remove { id } => (id, row::REMOVE, 0, None, None),
        Record::RewriteStart => ("", row::REWRITE_START, 0, None, None),
        Record::RewriteEnd => {
            let start = rewrite_start.unwrap_or(0).max(0) as u64;
            ("", row::REWRITE_END, start, None, None)
        }
    };
    conn.prepare_cached(
        "INSERT INTO log (id, kind, version, strategy, expires_at_ms, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        kind,
        version as i64,
        created.map(|created| created.strategy.name()),
        created.and_then(|created| created.expires_at_ms.map(|ms| ms as i64)),
        bytes
    ])?;
    Ok(conn.last_insert_rowid())
}
