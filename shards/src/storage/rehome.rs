//! Preparing the files before the shards start: checking them against the manifest, creating
//! what is missing, and re-homing documents when the shard count changed.
//!
//! Document `id` lives in file `owner(id, shards)`. Started with another `--shards` than the
//! files were written with, [`prepare`] moves every document to its new owner's file before any
//! shard serves a client. Each move is a copy followed by a delete, each its own transaction
//! committed with `synchronous=FULL`:
//!
//! 1. The manifest is rewritten first: the new shard count, how many files may still hold data,
//!    and `complete = false`. Then every file's batch rows are expanded into rows of their own
//!    (see [`super::shard_file::unbatch`]), one transaction per file, which changes no document.
//! 2. For every file and every other target, the log rows of the documents the target now owns
//!    are appended to the target's log in their order (after deleting any copy of them already
//!    there), and committed. Garbage rows (before the source's last finished rewrite) stay.
//! 3. Only then are the moved rows deleted from the source, and files past the new count, now
//!    empty, removed.
//! 4. The manifest is marked complete.
//!
//! A crash at any point leaves every document in its old file, its new one, or both, and the
//! manifest still incomplete, so the next start repeats the work (with whatever `--shards` it is
//! given). Nothing is lost, since a row is deleted only after its copy committed; nothing ends
//! up twice, since copying replaces a copy left by an interrupted run and the source rows are
//! then deleted. The two copies are the same rows: a document is only moved while no shard
//! serves, so it cannot change between the copy and the delete. (Were they ever to differ, both
//! still merge: CRDT merges are idempotent; but that never has to happen.)

use std::path::Path;

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection};

use super::layout::{Layout, Manifest};
use super::schema::{self, Kind};
use super::shard_file::{row, unbatch};
use super::{Options, SqliteContext, StorageError};
use crate::hash::owner_shard;

/// What [`prepare`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// The shard count the files were written with, `None` for new files.
    pub previous_shards: Option<usize>,
    /// Documents moved to another file.
    pub moved: usize,
}

/// Checks the manifest and the files for `shards` shards, creates what is missing, and re-homes
/// documents when the shard count changed. Refuses files that are missing, extra, not ours or
/// newer, with a message naming them.
pub fn prepare(layout: &Layout, shards: usize) -> Result<Prepared, StorageError> {
    layout.create_dir()?;
    let manifest_path = layout.manifest();
    let existed = manifest_path.exists();
    let mut manifest_db = schema::open(manifest_path, Kind::Manifest, &Options::default())?;
    let recorded = Manifest::read(&manifest_db, manifest_path)?;
    let existing = layout.existing_shards()?;
    let recorded = match recorded {
        Some(recorded) => recorded,
        None => {
            if let Some(&index) = existing.first() {
                let why = if existed {
                    "holds no shard count"
                } else {
                    "was missing"
                };
                return Err(StorageError::Layout(format!(
                    "{} exists but the manifest {} {why}; usld will not guess which files hold \
                     the data: restore the manifest or move the shard files away",
                    layout.shard(index).display(),
                    manifest_path.display()
                )));
            }
            Manifest {
                shards,
                files: shards,
                complete: false,
            }
        }
    };
    check_files(layout, &recorded, &existing)?;
    let prepared = Prepared {
        previous_shards: existed.then_some(recorded.shards),
        moved: 0,
    };
    let target = Manifest {
        shards,
        files: shards,
        complete: true,
    };
    if recorded == target {
        return Ok(prepared);
    }
    let span = recorded.files.max(shards);
    let working = Manifest {
        shards,
        files: span,
        complete: false,
    };
    working.write(&mut manifest_db, manifest_path)?;
    let moved = rehome(layout, shards, span)?;
    target.write(&mut manifest_db, manifest_path)?;
    Ok(Prepared { moved, ..prepared })
}

/// Refuses a layout that does not match the manifest: a file it needs that is missing, or a file
/// it does not list.
fn check_files(
    layout: &Layout,
    manifest: &Manifest,
    existing: &[usize],
) -> Result<(), StorageError> {
    let listed = manifest.files.max(manifest.shards);
    if let Some(&extra) = existing.iter().find(|&&index| index >= listed) {
        return Err(StorageError::Layout(format!(
            "{} is not listed in the manifest {} (it records {} shard files); usld will not \
             guess whether it holds data: move it away or restore the manifest",
            layout.shard(extra).display(),
            layout.manifest().display(),
            listed
        )));
    }
    if manifest.complete {
        if let Some(missing) = (0..manifest.shards).find(|index| !existing.contains(index)) {
            return Err(StorageError::Layout(format!(
                "{} is missing, but the manifest {} says the data was written with {} shards; \
                 restore the file (usld refuses to start without it rather than lose its \
                 documents)",
                layout.shard(missing).display(),
                layout.manifest().display(),
                manifest.shards
            )));
        }
        if let Some(index) = (0..manifest.shards).find(|&index| emptied(&layout.shard(index))) {
            return Err(StorageError::Layout(format!(
                "{} is empty, but the manifest {} says it holds the data of shard {index} of \
                 {}; restore the file (usld refuses to start rather than take it for a new, \
                 empty one and lose its documents)",
                layout.shard(index).display(),
                layout.manifest().display(),
                manifest.shards
            )));
        }
    }
    Ok(())
}

/// Whether a shard file is empty (0 bytes, truncated or overwritten) with no write-ahead log
/// beside it that could still hold its first pages: SQLite would take it for a new database.
fn emptied(file: &Path) -> bool {
    let len = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    len(file) == 0 && len(Path::new(&wal)) == 0
}

/// Moves every document in files `0..span` to its owner among `shards`, then removes the files
/// from `shards` on. Returns how many documents moved.
fn rehome(layout: &Layout, shards: usize, span: usize) -> Result<usize, StorageError> {
    // Re-homing is rare and must not lose a copy to a power cut between the copy and the delete.
    let options = Options {
        fsync: true,
        ..Options::default()
    };
    // Moving is done row by row in SQL, which needs every record in a row of its own.
    for source in 0..span {
        let path = layout.shard(source);
        if path.exists() {
            unbatch(&schema::open(&path, Kind::Shard, &options)?, &path)?;
        }
    }
    let mut moved = 0;
    for source in 0..span {
        let source_path = layout.shard(source);
        if !source_path.exists() {
            continue;
        }
        let source_db = schema::open(&source_path, Kind::Shard, &options)?;
        add_owner_function(&source_db, &source_path)?;
        for target in targets(&source_db, &source_path, shards, source)? {
            let target_path = layout.shard(target);
            let target_db = schema::open(&target_path, Kind::Shard, &options)?;
            add_owner_function(&target_db, &target_path)?;
            moved += copy(&target_db, &target_path, &source_path, shards, target)?;
        }
        // Every copy has committed: the moved rows (all of them, past the new count) can go.
        let foreign = if source < shards {
            format!(
                "WHERE kind < {} AND ussl_owner(id, {shards}) != {source}",
                row::REWRITE_START
            )
        } else {
            String::new()
        };
        source_db
            .execute(&format!("DELETE FROM log {foreign}"), [])
            .in_file(&source_path)?;
        drop(source_db);
        if source >= shards {
            layout.remove_shard(source)?;
        }
    }
    for index in 0..shards {
        // Opening creates the file of a shard that had none, and checks the others.
        schema::open(&layout.shard(index), Kind::Shard, &options)?;
    }
    Ok(moved)
}

/// The other shards among `shards` that own rows in file `source`.
fn targets(
    source_db: &Connection,
    source_path: &Path,
    shards: usize,
    source: usize,
) -> Result<Vec<usize>, StorageError> {
    let mut statement = source_db
        .prepare("SELECT DISTINCT ussl_owner(id, ?1) FROM log WHERE kind < ?2")
        .in_file(source_path)?;
    let owners = statement
        .query_map(params![shards as i64, row::REWRITE_START], |row| {
            row.get::<_, i64>(0)
        })
        .in_file(source_path)?;
    let mut found = Vec::new();
    for owner in owners {
        let owner = owner.in_file(source_path)?.max(0) as usize;
        if owner != source {
            found.push(owner);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Appends the live log rows of the documents in `source` that `target` owns among `shards` to
/// the target's log, in their order, after deleting any copy of them already there (left by an
/// interrupted run); one transaction. Returns how many documents.
fn copy(
    target_db: &Connection,
    target_path: &Path,
    source_path: &Path,
    shards: usize,
    target: usize,
) -> Result<usize, StorageError> {
    let source_name = source_path.to_str().ok_or_else(|| {
        StorageError::Layout(format!("{} is not a UTF-8 path", source_path.display()))
    })?;
    target_db
        .execute("ATTACH DATABASE ?1 AS source", [source_name])
        .in_file(target_path)?;
    let moving = format!(
        "SELECT seq, id, kind, version, strategy, expires_at_ms, bytes FROM source.log
         WHERE kind < {start} AND ussl_owner(id, {shards}) = {target}
         AND seq >= coalesce((SELECT version FROM source.log WHERE kind = {end}
                              ORDER BY seq DESC LIMIT 1), 0)",
        start = row::REWRITE_START,
        end = row::REWRITE_END,
    );
    let run = || -> rusqlite::Result<usize> {
        target_db.execute_batch("BEGIN IMMEDIATE")?;
        target_db.execute(
            &format!("DELETE FROM main.log WHERE id IN (SELECT id FROM ({moving}))"),
            [],
        )?;
        target_db.execute(
            &format!(
                "INSERT INTO main.log (id, kind, version, strategy, expires_at_ms, bytes)
                 SELECT id, kind, version, strategy, expires_at_ms, bytes FROM ({moving})
                 ORDER BY seq"
            ),
            [],
        )?;
        let count = target_db.query_row(
            &format!("SELECT count(DISTINCT id) FROM ({moving})"),
            [],
            |row| row.get::<_, i64>(0),
        )?;
        target_db.execute_batch("COMMIT")?;
        Ok(count.max(0) as usize)
    };
    let result = run();
    if result.is_err() {
        let _ = target_db.execute_batch("ROLLBACK");
    }
    let detached = target_db.execute_batch("DETACH DATABASE source");
    let count = result.in_file(target_path)?;
    detached.in_file(target_path)?;
    Ok(count)
}

/// Registers `ussl_owner(id, shards)`: the shard that owns document `id`, as the server routes it.
fn add_owner_function(conn: &Connection, file: &Path) -> Result<(), StorageError> {
    conn.create_scalar_function(
        "ussl_owner",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let id = context.get_raw(0).as_bytes().unwrap_or_default();
            let shards = context.get::<i64>(1)?.max(1) as usize;
            Ok(owner_shard(id, shards) as i64)
        },
    )
    .in_file(file)
}
