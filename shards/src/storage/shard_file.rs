//! One shard's database file: committing the shard's records in groups, and loading its
//! documents back at start.
//!
//! A [`ShardFile`] is owned by the one thread that writes it (the server's per-shard writer), so
//! it needs no locking. Each [`ShardFile::commit`] is one SQLite transaction holding every record
//! handed in, in order: many writes share one commit, which is what keeps durability cheap.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::compact::{self, Compactor, Fold};
use super::schema::{self, Kind};
use super::{Created, Options, Record, SqliteContext, StorageError};
use crate::persisted::Persisted;
use crate::store::Store;
use crate::strategy::Strategy;

/// One shard's open database file.
pub struct ShardFile {
    conn: Connection,
    path: PathBuf,
    /// Documents whose updates may be due for folding into a snapshot.
    compactor: Compactor,
}

/// What one commit wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commit {
    /// Records committed.
    pub records: usize,
    /// Bytes of updates and ids they held.
    pub bytes: usize,
}

/// What loading found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Documents put back in the store.
    pub documents: usize,
    /// Documents found expired, whose rows were removed.
    pub expired: usize,
    /// Incremental updates replayed.
    pub updates: usize,
}

impl ShardFile {
    /// Opens (creating when missing) a shard file.
    pub fn open(path: &Path, options: &Options) -> Result<ShardFile, StorageError> {
        let conn = schema::open(path, Kind::Shard, options)?;
        Ok(ShardFile {
            conn,
            path: path.to_owned(),
            compactor: Compactor::default(),
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits `records` in one transaction, in order. On error nothing of them is written and
    /// the caller keeps them to try again.
    pub fn commit(&mut self, records: &[Record]) -> Result<Commit, StorageError> {
        let file = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .in_file(file)?;
        let mut done = Commit::default();
        for record in records {
            apply(&tx, record).in_file(file)?;
            done.records += 1;
            done.bytes += record.size_bytes();
        }
        tx.commit().in_file(file)?;
        for record in records {
            self.compactor.note(record);
        }
        Ok(done)
    }

    /// Puts every live document of this file into `store`, and removes the rows of the ones that
    /// expired by `now_ms`. `owned` tells whether a document belongs to this shard; one that does
    /// not means the files were not re-homed, and loading stops.
    pub fn load(
        &mut self,
        store: &mut Store,
        now_ms: u64,
        owned: impl Fn(&str) -> bool,
    ) -> Result<Loaded, StorageError> {
        let file = self.path.clone();
        let mut loaded = Loaded::default();
        let mut expired = Vec::new();
        {
            let mut documents = self
                .conn
                .prepare(
                    "SELECT id, strategy, expires_at_ms, version, state FROM documents ORDER BY id",
                )
                .in_file(&file)?;
            let mut updates = self
                .conn
                .prepare("SELECT id, version, bytes FROM updates ORDER BY id, version")
                .in_file(&file)?;
            let mut documents = documents.query([]).in_file(&file)?;
            let mut updates = UpdateRows {
                rows: updates.query([]).in_file(&file)?,
                next: None,
            };
            updates.advance(&file)?;
            while let Some(row) = documents.next().in_file(&file)? {
                let id: String = row.get(0).in_file(&file)?;
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
                updates.refuse_orphans(Some(&id), &file)?;
                let strategy: String = row.get(1).in_file(&file)?;
                let strategy = Strategy::parse(&strategy).map_err(bad)?;
                let expires_at_ms: Option<i64> = row.get(2).in_file(&file)?;
                let version: i64 = row.get(3).in_file(&file)?;
                let state: Option<Vec<u8>> = row.get(4).in_file(&file)?;
                let own = updates.take_for(&id, &file)?;
                loaded.updates += own.len();
                let persisted = Persisted {
                    strategy,
                    expires_at_ms: expires_at_ms.map(|ms| ms.max(0) as u64),
                    snapshot: state.as_deref().filter(|_| version > 0),
                    updates: own.iter().map(|(v, bytes)| (*v, bytes.as_slice())),
                };
                if store.restore(&id, persisted, now_ms).map_err(bad)? {
                    loaded.documents += 1;
                } else {
                    expired.push(id);
                }
            }
            updates.refuse_orphans(None, &file)?;
        }
        loaded.expired = expired.len();
        if !expired.is_empty() {
            let removals: Vec<Record> = expired
                .into_iter()
                .map(|id| Record::Remove { id: id.into() })
                .collect();
            self.commit(&removals)?;
        }
        Ok(loaded)
    }

    /// Folds at most one document's updates into a new snapshot, if one is due: `None` when
    /// none is. The work is bounded by that one document's size.
    pub fn compact_step(&mut self) -> Option<Result<Fold, StorageError>> {
        compact::step(&mut self.conn, &self.path, &mut self.compactor)
    }

    /// Whether documents wait to be checked for folding.
    pub fn compaction_due(&self) -> bool {
        !self.compactor.is_idle()
    }

    /// How many update rows and documents the file holds, for INFO and tests.
    pub fn counts(&self) -> Result<(u64, u64), StorageError> {
        let count = |table: &str| -> Result<u64, StorageError> {
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .in_file(&self.path)?;
            Ok(n.max(0) as u64)
        };
        Ok((count("documents")?, count("updates")?))
    }

    /// The version of document `id` the file holds committed: its newest update's, or its
    /// snapshot's; `None` when the file has no such document.
    pub fn committed_version(&self, id: &str) -> Result<Option<u64>, StorageError> {
        committed_version(&self.conn, id).in_file(&self.path)
    }
}

/// The newest version of document `id` in the file: its last update, or its snapshot.
pub fn committed_version(conn: &Connection, id: &str) -> rusqlite::Result<Option<u64>> {
    conn.query_row(
        "SELECT max(d.version, coalesce((SELECT max(u.version) FROM updates u WHERE u.id = d.id), 0))
         FROM documents d WHERE d.id = ?1",
        [id],
        |row| row.get::<_, i64>(0),
    )
    .optional()
    .map(|version| version.map(|v| v.max(0) as u64))
}

/// Writes one record inside the commit's transaction.
fn apply(conn: &Connection, record: &Record) -> rusqlite::Result<()> {
    match record {
        Record::Update {
            id,
            version,
            bytes,
            created,
        } => {
            if let Some(Created {
                strategy,
                expires_at_ms,
            }) = created
            {
                conn.prepare_cached("DELETE FROM updates WHERE id = ?1")?
                    .execute([&**id])?;
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO documents (id, strategy, expires_at_ms, version, state)
                     VALUES (?1, ?2, ?3, 0, NULL)",
                )?
                .execute(params![
                    &**id,
                    strategy.name(),
                    expires_at_ms.map(|ms| ms as i64)
                ])?;
            }
            conn.prepare_cached(
                "INSERT OR REPLACE INTO updates (id, version, bytes) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![&**id, *version as i64, bytes])?;
        }
        Record::Remove { id } => {
            conn.prepare_cached("DELETE FROM documents WHERE id = ?1")?
                .execute([&**id])?;
            conn.prepare_cached("DELETE FROM updates WHERE id = ?1")?
                .execute([&**id])?;
        }
    }
    Ok(())
}

/// The `updates` table read in id order beside `documents`, one row ahead.
struct UpdateRows<'s> {
    rows: rusqlite::Rows<'s>,
    /// The row read but not yet taken: (id, version, bytes).
    next: Option<(String, u64, Vec<u8>)>,
}

impl UpdateRows<'_> {
    fn advance(&mut self, file: &Path) -> Result<(), StorageError> {
        self.next = match self.rows.next().in_file(file)? {
            Some(row) => Some((
                row.get(0).in_file(file)?,
                row.get::<_, i64>(1).in_file(file)?.max(0) as u64,
                row.get(2).in_file(file)?,
            )),
            None => None,
        };
        Ok(())
    }

    /// Refuses update rows of a document that has no document row: those whose id sorts before
    /// `next_document`, or any left at the end (`None`). They cannot be rebuilt without it, and
    /// must not be dropped silently.
    fn refuse_orphans(&self, next_document: Option<&str>, file: &Path) -> Result<(), StorageError> {
        match (&self.next, next_document) {
            (Some((orphan, ..)), next) if next.is_none_or(|id| orphan.as_str() < id) => {
                Err(StorageError::Layout(format!(
                    "{}: updates of document '{orphan}' have no document row; the file is damaged",
                    file.display()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Takes the updates of document `id`, in version order.
    fn take_for(&mut self, id: &str, file: &Path) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let mut own = Vec::new();
        while let Some((next_id, ..)) = &self.next {
            if next_id != id {
                break;
            }
            if let Some((_, version, bytes)) = self.next.take() {
                own.push((version, bytes));
            }
            self.advance(file)?;
        }
        Ok(own)
    }
}
