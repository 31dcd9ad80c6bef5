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
//! | 6 batch | `version`: how many records; `bytes`: updates, creates and removes, one after the other ([`super::batch`]) | each record as the row of its kind |
//!
//! A commit writes each run of consecutive updates, creates and removes as batch rows of up to
//! [`batch::ROW_BYTES_MAX`] bytes, so a pipelined write costs SQLite a share of a row rather than
//! a row. Files of format 1 hold no batch rows and are read the same way.
//!
//! An update can come before the create or snapshot of its document when a rewrite deleted
//! what came before (the rewrite's snapshot of the document then follows it and replaces it) or
//! when its document is removed later; loading holds such updates until one of those rows comes,
//! and refuses the file if one is left at the end.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::types::{Type, ValueRef};
use rusqlite::{params, Connection, TransactionBehavior};

use super::batch::{self, Entry};
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
    pub const BATCH: i64 = 6;
}

/// One shard's open database file.
pub struct ShardFile {
    conn: Connection,
    path: PathBuf,
    /// The log's size, and the state of rewrites.
    rewrites: Rewrites,
    /// The bytes of the batch row being built, kept to be reused by the next commit.
    batch: Vec<u8>,
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

impl Commit {
    /// Accounts for `records`, appended in the row at `seq`.
    fn note_all(&mut self, records: &[Record], seq: i64, rewrites: &mut Rewrites) {
        for record in records {
            self.rewrite_ended |= rewrites.note(record, seq);
            self.records += 1;
            self.bytes += record.size_bytes();
        }
    }
}

/// What loading found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Documents put back in the store.
    pub documents: usize,
    /// Documents found expired, and dropped.
    pub expired: usize,
    /// Log records replayed (a batch row holds many).
    pub records: usize,
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
            batch: Vec::new(),
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

    /// Appends `records` in one transaction, in order: each run of updates, creates, snapshots
    /// and removes in batch rows, rewrite markers as rows of their own. On error nothing of them
    /// is written and the caller keeps them to try again.
    pub fn commit(&mut self, records: &[Record]) -> Result<Commit, StorageError> {
        let file = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .in_file(file)?;
        let mut rewrites = self.rewrites;
        let mut done = Commit::default();
        let mut run = 0..0;
        for (index, record) in records.iter().enumerate() {
            let entry = entry_of(record, rewrites.started_at());
            if batch::batched(&entry) {
                if run.is_empty() {
                    run = index..index;
                    self.batch.clear();
                }
                let before = self.batch.len();
                batch::push(&entry, &mut self.batch);
                if before > 0 && self.batch.len() > batch::ROW_BYTES_MAX {
                    // The row is full without this record, which starts the next one.
                    let seq = append_batch(&tx, &self.batch[..before], run.len()).in_file(file)?;
                    done.note_all(&records[run], seq, &mut rewrites);
                    self.batch.drain(..before);
                    run = index..index;
                }
                run.end = index + 1;
                continue;
            }
            if !run.is_empty() {
                let seq = append_batch(&tx, &self.batch, run.len()).in_file(file)?;
                done.note_all(&records[run.clone()], seq, &mut rewrites);
                run = 0..0;
            }
            let seq = insert(&tx, &entry).in_file(file)?;
            done.note_all(std::slice::from_ref(record), seq, &mut rewrites);
        }
        if !run.is_empty() {
            let seq = append_batch(&tx, &self.batch, run.len()).in_file(file)?;
            done.note_all(&records[run], seq, &mut rewrites);
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
        let mut replay = Replay {
            store,
            file,
            owned,
            held: HashSet::new(),
            records: 0,
        };
        let mut rows = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM log WHERE seq >= ?1 AND kind NOT IN (?2, ?3) ORDER BY seq"
            ))
            .in_file(file)?;
        let mut rows = rows
            .query(params![
                self.rewrites.cut(),
                row::REWRITE_START,
                row::REWRITE_END
            ])
            .in_file(file)?;
        while let Some(row) = rows.next().in_file(file)? {
            for entry in records_of(entry_at(row).in_file(file)?) {
                replay.entry(entry.map_err(|why| damaged_batch(file, &why))?)?;
            }
        }
        let Replay {
            store,
            held,
            records,
            ..
        } = replay;
        if let Some(orphan) = held.into_iter().next() {
            return Err(StorageError::Layout(format!(
                "{}: updates of document '{orphan}' have nothing they apply to (no create or \
                 snapshot row); the file is damaged",
                file.display()
            )));
        }
        let mut loaded = Loaded {
            records,
            ..Loaded::default()
        };
        loaded.expired = store.purge_expired(now_ms);
        store.take_expired();
        loaded.documents = store.len();
        Ok(loaded)
    }

    /// How many records the log holds, garbage included, each record of a batch row counted: for
    /// tests.
    pub fn records(&self) -> Result<usize, StorageError> {
        Ok(read_log(&self.conn).in_file(&self.path)?.len())
    }

    /// The version of document `id` the file holds committed: the version of its newest row;
    /// `None` when the file has no row for it.
    pub fn committed_version(&self, id: &str) -> Result<Option<u64>, StorageError> {
        committed_version(&self.conn, id).in_file(&self.path)
    }
}

/// The version the newest record of document `id` brings it to; `None` without a record (a
/// removed document counts as none). Reads the whole log: for tests and tools, not for the write
/// path.
pub fn committed_version(conn: &Connection, id: &str) -> rusqlite::Result<Option<u64>> {
    let newest = read_log(conn)?
        .into_iter()
        .rev()
        .find(|record| record.id == id);
    Ok(newest
        .filter(|record| record.kind != row::REMOVE)
        .map(|record| record.version))
}

/// One record of the log as [`read_log`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRecord {
    /// The `seq` of the row holding it (many records of a batch share one).
    pub seq: i64,
    /// Its kind: one of the row kinds, never a batch.
    pub kind: i64,
    /// The document; empty for the rewrite markers.
    pub id: String,
    /// The row's `version` column for it.
    pub version: u64,
    /// The strategy, for a create or snapshot.
    pub strategy: Option<String>,
    /// The expiry, for a create or snapshot.
    pub expires_at_ms: Option<u64>,
    /// The change or state.
    pub bytes: Vec<u8>,
}

/// Every record of the log in order, batch rows expanded, garbage included: what a tool or a
/// test inspecting a file sees. A damaged batch is a conversion error of its `bytes` column.
pub fn read_log(conn: &Connection) -> rusqlite::Result<Vec<LoggedRecord>> {
    let mut statement = conn.prepare(&format!("SELECT seq, {COLUMNS} FROM log ORDER BY seq"))?;
    let mut rows = statement.query([])?;
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        for entry in records_of(entry_at(row)?) {
            let entry = entry.map_err(conversion_failure)?;
            records.push(LoggedRecord {
                seq,
                kind: entry.kind,
                id: entry.id.to_owned(),
                version: entry.version,
                strategy: entry.strategy.map(str::to_owned),
                expires_at_ms: entry.expires_at_ms,
                bytes: entry.bytes.to_vec(),
            });
        }
    }
    Ok(records)
}

/// Rewrites the live part of the log (from the last finished rewrite's start on) with every
/// batch row expanded into rows of its own, in the same order, and drops the rest; one
/// transaction. Re-homing moves documents row by row with SQL, which needs each record's id in
/// its row. Returns whether the file held batch rows.
pub fn unbatch(conn: &Connection, file: &Path) -> Result<bool, StorageError> {
    let run = || -> rusqlite::Result<bool> {
        let batches: i64 = conn.query_row(
            "SELECT count(*) FROM log WHERE kind = ?1",
            [row::BATCH],
            |row| row.get(0),
        )?;
        if batches == 0 {
            return Ok(false);
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let last: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM log", [], |row| {
            row.get(0)
        })?;
        let cut: i64 = conn.query_row(
            "SELECT coalesce((SELECT version FROM log WHERE kind = ?1 ORDER BY seq DESC LIMIT 1), 0)",
            [row::REWRITE_END],
            |row| row.get(0),
        )?;
        let mut starts = std::collections::HashMap::new();
        let mut select = conn.prepare(&format!(
            "SELECT seq, {COLUMNS} FROM log WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq"
        ))?;
        let mut rows = select.query([cut, last])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            for entry in records_of(entry_at(row)?) {
                let mut entry = entry.map_err(conversion_failure)?;
                if entry.kind == row::REWRITE_END {
                    // The end row names its start by `seq`, which the copy changes.
                    entry.version = starts.get(&entry.version).copied().unwrap_or(entry.version);
                }
                let new_seq = insert(conn, &entry)?;
                if entry.kind == row::REWRITE_START {
                    starts.insert(seq as u64, new_seq as u64);
                }
            }
        }
        drop(rows);
        conn.execute("DELETE FROM log WHERE seq <= ?1", [last])?;
        conn.execute_batch("COMMIT")?;
        Ok(true)
    };
    let result = run();
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result.in_file(file)
}

/// The columns every read of the log selects, in the order [`entry_at`] reads them.
const COLUMNS: &str = "id, kind, version, strategy, expires_at_ms, bytes";

/// The row's [`COLUMNS`], which come last in its statement.
fn entry_at<'r>(row: &'r rusqlite::Row<'_>) -> rusqlite::Result<Entry<'r>> {
    let at = row.as_ref().column_count() - 6;
    let expires_at_ms: Option<i64> = row.get(at + 4)?;
    Ok(Entry {
        id: row.get_ref(at)?.as_str()?,
        kind: row.get(at + 1)?,
        version: row.get::<_, i64>(at + 2)?.max(0) as u64,
        strategy: row.get_ref(at + 3)?.as_str_or_null()?,
        expires_at_ms: expires_at_ms.map(|ms| ms.max(0) as u64),
        bytes: blob(row.get_ref(at + 5)?),
    })
}

/// The records a row holds: itself, or a batch row's records; an `Err` says what of a batch
/// is damaged.
fn records_of(entry: Entry<'_>) -> impl Iterator<Item = Result<Entry<'_>, String>> {
    let (single, batch) = if entry.kind == row::BATCH {
        (None, Some(batch::entries(entry.bytes)))
    } else {
        (Some(Ok(entry)), None)
    };
    single.into_iter().chain(batch.into_iter().flatten())
}

/// A damaged batch, as SQLite-level readers report it: its `bytes` column did not convert.
fn conversion_failure(why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(6, Type::Blob, why.into())
}

/// The bytes of a `bytes` column: empty for NULL.
fn blob<'a>(value: ValueRef<'a>) -> &'a [u8] {
    value.as_blob_or_null().unwrap_or(None).unwrap_or_default()
}

/// The error for a batch row that cannot be read.
fn damaged_batch(file: &Path, why: &str) -> StorageError {
    StorageError::Layout(format!(
        "{}: a batch row of the log is damaged ({why}); the file is damaged",
        file.display()
    ))
}

/// Replays records into a store while loading.
struct Replay<'a, F> {
    store: &'a mut Store,
    file: &'a Path,
    owned: F,
    /// Updates waiting for the create, snapshot or remove record of their document.
    held: HashSet<String>,
    /// Records replayed.
    records: usize,
}

impl<F: Fn(&str) -> bool> Replay<'_, F> {
    fn entry(&mut self, entry: Entry<'_>) -> Result<(), StorageError> {
        let file = self.file;
        let id = entry.id;
        let bad = |source| StorageError::BadDocument {
            file: file.to_owned(),
            id: id.to_owned(),
            source,
        };
        if !(self.owned)(id) {
            return Err(StorageError::Layout(format!(
                "{}: document '{id}' belongs to another shard; the files were not \
                 re-homed to this shard count",
                file.display()
            )));
        }
        self.records += 1;
        match entry.kind {
            row::UPDATE => {
                if !self
                    .store
                    .replay(id, entry.version, entry.bytes)
                    .map_err(bad)?
                {
                    self.held.insert(id.to_owned());
                }
                return Ok(());
            }
            row::CREATE | row::SNAPSHOT => {
                let strategy = entry.strategy.unwrap_or_default();
                let persisted = Persisted {
                    strategy: Strategy::parse(strategy).map_err(bad)?,
                    expires_at_ms: entry.expires_at_ms,
                    snapshot: (entry.kind == row::SNAPSHOT).then_some(entry.bytes),
                    updates: (entry.kind == row::CREATE).then_some((entry.version, entry.bytes)),
                };
                // Expiry is applied once the whole log is replayed.
                self.store.restore(id, persisted, 0).map_err(bad)?;
            }
            row::REMOVE => {
                self.store.delete_document(id, 0);
            }
            other => {
                return Err(StorageError::Layout(format!(
                    "{}: a log row of unknown kind {other}; the file is damaged",
                    file.display()
                )))
            }
        }
        self.held.remove(id);
        Ok(())
    }
}

/// Appends the batch row holding `count` records encoded in `bytes`; returns its `seq`.
fn append_batch(conn: &Connection, bytes: &[u8], count: usize) -> rusqlite::Result<i64> {
    insert(
        conn,
        &Entry {
            kind: row::BATCH,
            id: "",
            version: count as u64,
            strategy: None,
            expires_at_ms: None,
            bytes,
        },
    )
}

/// The row of `record`; `rewrite_start` is the `seq` of the rewrite in progress, which its end
/// row names.
pub(crate) fn entry_of(record: &Record, rewrite_start: Option<i64>) -> Entry<'_> {
    let (id, kind, version, created, bytes): (&str, i64, u64, Option<&Created>, &[u8]) =
        match record {
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
                (id, kind, *version, created.as_ref(), bytes)
            }
            Record::Snapshot {
                id,
                version,
                created,
                state,
            } => (id, row::SNAPSHOT, *version, Some(created), state),
            Record::Remove { id } => (id, row::REMOVE, 0, None, &[]),
            Record::RewriteStart => ("", row::REWRITE_START, 0, None, &[]),
            Record::RewriteEnd => {
                let start = rewrite_start.unwrap_or(0).max(0) as u64;
                ("", row::REWRITE_END, start, None, &[])
            }
        };
    Entry {
        kind,
        id,
        version,
        strategy: created.map(|created| created.strategy.name()),
        expires_at_ms: created.and_then(|created| created.expires_at_ms),
        bytes,
    }
}

/// Inserts one row; returns its `seq`.
fn insert(conn: &Connection, entry: &Entry<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO log (id, kind, version, strategy, expires_at_ms, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        entry.id,
        entry.kind,
        entry.version as i64,
        entry.strategy,
        entry.expires_at_ms.map(|ms| ms as i64),
        entry.bytes,
    ])?;
    Ok(conn.last_insert_rowid())
}
