//! Rewrites: keeping a shard's log in proportion to its live documents.
//!
//! Every write appends to the log, so the log grows without bound unless what is superseded goes.
//! As Redis rewrites its append-only file, usld rewrites the log: the shard appends a
//! rewrite-start row, then a snapshot of every document live at that moment (in bounded steps,
//! between its other work), then a rewrite-end row. Once the end row is committed, every row
//! before the start row is garbage (each document it concerned is either snapshotted after it or
//! removed after it), and the writer deletes those rows a bounded step at a time between commits.
//! A crash before the end row leaves the log as it was; a crash while deleting garbage leaves
//! garbage, which loading skips and the next start goes on deleting.
//!
//! A rewrite is due when the log has grown since the last one by as much as that rewrite wrote
//! (the live documents' size then), and by at least [`super::Options::rewrite_min_bytes`]: each
//! byte of live state is rewritten at most once per byte of changes, so a write costs, amortized,
//! at most about twice its change, on a 100-byte document and on a 1 MB one alike; and loading
//! replays at most about twice the live state.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::shard_file::row;
use super::{Record, SqliteContext, StorageError};

/// The default least growth of the log between two rewrites (Redis's `auto-aof-rewrite-min-size`).
pub const REWRITE_MIN_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// The most garbage rows one step deletes.
pub const GARBAGE_ROWS_PER_STEP: i64 = 4096;

/// A shard log's size and the state of its rewrites, kept by its writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewrites {
    /// Bytes of the rows from `cut` on (the live part of the log).
    log_bytes: u64,
    /// Bytes of snapshots the last finished rewrite wrote.
    last_rewrite_bytes: u64,
    /// The rewrite in progress.
    in_progress: Option<InProgress>,
    /// Rows before this `seq` are garbage.
    cut: i64,
    /// Whether garbage rows may remain before `cut`.
    garbage: bool,
    /// The least growth between rewrites.
    min_bytes: u64,
}

/// A rewrite that has started and not ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InProgress {
    /// The `seq` of its start row.
    start: i64,
    /// Bytes of the snapshots it wrote.
    snapshots: u64,
    /// Bytes of every row since its start: the live part of the log once it ends.
    since_start: u64,
}

impl Rewrites {
    /// Reads the state of the log of an opened file.
    pub(crate) fn read(
        conn: &Connection,
        file: &Path,
        min_bytes: u64,
    ) -> Result<Rewrites, StorageError> {
        let last_end: Option<(i64, i64)> = conn
            .query_row(
                "SELECT seq, version FROM log WHERE kind = ?1 ORDER BY seq DESC LIMIT 1",
                [row::REWRITE_END],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .in_file(file)?;
        let (end, cut) = last_end.unwrap_or((0, 0));
        let size = "coalesce(sum(octet_length(id) + coalesce(length(bytes), 0)), 0)";
        let sum = |sql: &str, args: &[i64]| -> Result<u64, StorageError> {
            let n: i64 = conn
                .query_row(sql, rusqlite::params_from_iter(args), |row| row.get(0))
                .in_file(file)?;
            Ok(n.max(0) as u64)
        };
        let log_bytes = sum(&format!("SELECT {size} FROM log WHERE seq >= ?1"), &[cut])?;
        // The snapshots of the last rewrite are rows of their own or inside the batch rows
        // between its start and end; counting those batch rows whole also counts the writes
        // made while it ran, which only puts the next rewrite off a little.
        let last_rewrite_bytes = sum(
            &format!("SELECT {size} FROM log WHERE seq >= ?1 AND seq < ?2 AND kind IN (?3, ?4)"),
            &[cut, end, row::SNAPSHOT, row::BATCH],
        )?;
        let garbage = sum("SELECT count(*) FROM log WHERE seq < ?1", &[cut])? > 0;
        Ok(Rewrites {
            log_bytes,
            last_rewrite_bytes,
            in_progress: None,
            cut,
            garbage,
            min_bytes,
        })
    }

    /// The first `seq` of the live part of the log.
    pub(crate) fn cut(&self) -> i64 {
        self.cut
    }

    /// The `seq` of the start row of the rewrite in progress.
    pub(crate) fn started_at(&self) -> Option<i64> {
        self.in_progress.map(|rewrite| rewrite.start)
    }

    /// Accounts for a record appended at `seq`; returns whether it ended a rewrite.
    pub(crate) fn note(&mut self, record: &Record, seq: i64) -> bool {
        let bytes = record.size_bytes() as u64;
        self.log_bytes += bytes;
        if let Some(rewrite) = &mut self.in_progress {
            rewrite.since_start += bytes;
            if let Record::Snapshot { .. } = record {
                rewrite.snapshots += bytes;
            }
        }
        match record {
            Record::RewriteStart => {
                self.in_progress = Some(InProgress {
                    start: seq,
                    snapshots: 0,
                    since_start: 0,
                });
                false
            }
            Record::RewriteEnd => match self.in_progress.take() {
                Some(rewrite) => {
                    self.cut = rewrite.start;
                    self.garbage = true;
                    self.last_rewrite_bytes = rewrite.snapshots;
                    self.log_bytes = rewrite.since_start;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Whether a rewrite is due: none is in progress, and the log grew since the last one by as
    /// much as that one wrote, and by at least the minimum.
    pub fn due(&self) -> bool {
        let growth = self.log_bytes.saturating_sub(self.last_rewrite_bytes);
        self.in_progress.is_none() && growth >= self.last_rewrite_bytes.max(self.min_bytes)
    }

    /// Whether garbage rows may remain.
    pub fn garbage_left(&self) -> bool {
        self.garbage
    }
}

/// Deletes up to [`GARBAGE_ROWS_PER_STEP`] garbage rows, oldest first; returns how many.
pub fn delete_garbage_step(
    conn: &Connection,
    file: &Path,
    rewrites: &mut Rewrites,
) -> Result<usize, StorageError> {
    if !rewrites.garbage {
        return Ok(0);
    }
    let deleted = conn
        .execute(
            "DELETE FROM log WHERE seq < min(?1, (SELECT min(seq) FROM log) + ?2)",
            params![rewrites.cut, GARBAGE_ROWS_PER_STEP],
        )
        .in_file(file)?;
    if deleted == 0 {
        rewrites.garbage = false;
    }
    Ok(deleted)
}
