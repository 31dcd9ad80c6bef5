//! Folding a document's incremental updates into a new snapshot, in the background.
//!
//! Every write adds one small `updates` row, whatever the document's size: that is what keeps a
//! write's cost in proportion to the change. Left alone, the rows of a busy document would pile
//! up and make restarts replay them all, so now and then they are folded: the document is
//! rebuilt from its snapshot and updates, its new snapshot written, the folded rows deleted.
//!
//! A document is folded when its updates hold at least as many bytes as its snapshot (and at
//! least [`FOLD_FLOOR_BYTES`]): a snapshot of `n` bytes is rewritten only after `n` bytes of
//! updates came in, so folding at most doubles the bytes a write costs, on a 100-byte document
//! and on a 1 MB one alike, and a restart replays at most about a snapshot's worth of updates.
//!
//! Checking costs a query, so it is not done on every write: a document becomes a candidate on
//! every [`FOLD_CHECK_VERSIONS`]th version, or when one update alone passes the floor. One
//! [`step`] handles one candidate; the server's writer runs steps between commits, so a fold
//! never waits behind more than one commit, and a commit never waits behind more than one fold.

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Record, SqliteContext, StorageError};
use crate::hlc::Clock;
use crate::persisted::{self, Persisted};
use crate::strategy::Strategy;

/// A document is checked for folding on every version that is a multiple of this.
pub const FOLD_CHECK_VERSIONS: u64 = 64;

/// The least bytes of updates worth folding, so small documents are not rewritten on every
/// check.
pub const FOLD_FLOOR_BYTES: u64 = 4096;

/// The most documents waiting to be checked; past it new candidates are skipped (they come up
/// again at their next check version).
pub const CANDIDATES_MAX: usize = 4096;

/// The documents waiting to be checked for folding.
#[derive(Debug, Default)]
pub struct Compactor {
    queue: VecDeque<Box<str>>,
    queued: HashSet<Box<str>>,
}

impl Compactor {
    /// Notes a committed record: a document may become a candidate, and a removed one is none.
    pub(crate) fn note(&mut self, record: &Record) {
        match record {
            Record::Update {
                id, version, bytes, ..
            } => {
                let due =
                    version % FOLD_CHECK_VERSIONS == 0 || bytes.len() as u64 >= FOLD_FLOOR_BYTES;
                if due && self.queue.len() < CANDIDATES_MAX && !self.queued.contains(id) {
                    self.queued.insert(id.clone());
                    self.queue.push_back(id.clone());
                }
            }
            Record::Remove { id } => {
                if self.queued.remove(id) {
                    self.queue.retain(|queued| queued != id);
                }
            }
        }
    }

    /// Whether no document waits to be checked.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    fn pop(&mut self) -> Option<Box<str>> {
        let id = self.queue.pop_front()?;
        self.queued.remove(&id);
        Some(id)
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// The document checked.
    pub id: Box<str>,
    /// How many update rows were folded into its new snapshot; 0 when none was due.
    pub updates: usize,
    /// The new snapshot's size in bytes (0 when none was written).
    pub snapshot_bytes: usize,
}

/// Checks the next candidate and folds it if due; `None` when there is no candidate.
pub fn step(
    conn: &mut Connection,
    file: &Path,
    compactor: &mut Compactor,
) -> Option<Result<Fold, StorageError>> {
    let id = compactor.pop()?;
    Some(fold_if_due(conn, file, id))
}

fn fold_if_due(conn: &mut Connection, file: &Path, id: Box<str>) -> Result<Fold, StorageError> {
    let mut fold = Fold {
        id,
        updates: 0,
        snapshot_bytes: 0,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .in_file(file)?;
    let row = tx
        .query_row(
            "SELECT strategy, expires_at_ms, version, state, coalesce(length(state), 0)
             FROM documents WHERE id = ?1",
            [&*fold.id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<Vec<u8>>>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()
        .in_file(file)?;
    let Some((strategy, expires_at_ms, version, state, state_bytes)) = row else {
        return Ok(fold);
    };
    let pending: i64 = tx
        .query_row(
            "SELECT coalesce(sum(length(bytes)), 0) FROM updates WHERE id = ?1",
            [&*fold.id],
            |row| row.get(0),
        )
        .in_file(file)?;
    if (pending as u64) < (state_bytes as u64).max(FOLD_FLOOR_BYTES) {
        return Ok(fold);
    }
    let updates: Vec<(u64, Vec<u8>)> = tx
        .prepare("SELECT version, bytes FROM updates WHERE id = ?1 ORDER BY version")
        .in_file(file)?
        .query_map([&*fold.id], |row| {
            Ok((row.get::<_, i64>(0)?.max(0) as u64, row.get(1)?))
        })
        .in_file(file)?
        .collect::<Result<_, _>>()
        .in_file(file)?;
    let bad = |source| StorageError::BadDocument {
        file: file.to_owned(),
        id: fold.id.to_string(),
        source,
    };
    let strategy = Strategy::parse(&strategy).map_err(bad)?;
    let persisted = Persisted {
        strategy,
        expires_at_ms: expires_at_ms.map(|ms| ms.max(0) as u64),
        snapshot: state.as_deref().filter(|_| version > 0),
        updates: updates.iter().map(|(v, bytes)| (*v, bytes.as_slice())),
    };
    let document = persisted::restore(persisted, &mut Clock::new()).map_err(bad)?;
    let snapshot = document.encode_state();
    let folded_to = document.version() as i64;
    tx.execute(
        "UPDATE documents SET version = ?2, state = ?3 WHERE id = ?1",
        params![&*fold.id, folded_to, snapshot],
    )
    .in_file(file)?;
    tx.execute(
        "DELETE FROM updates WHERE id = ?1 AND version <= ?2",
        params![&*fold.id, folded_to],
    )
    .in_file(file)?;
    tx.commit().in_file(file)?;
    fold.updates = updates.len();
    fold.snapshot_bytes = snapshot.len();
    Ok(fold)
}
