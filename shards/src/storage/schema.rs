//! Opening a database file: recognising ours, refusing anything else, and the tables.
//!
//! Every usld file carries SQLite's `application_id` [`APPLICATION_ID`] and the format version
//! in `user_version`. Opening refuses, with a message naming the file:
//!
//! - a file that is not a SQLite database, or one another program made (another
//!   `application_id`, or tables in a database without ours);
//! - a file of a newer format than this build reads;
//! - a file or directory usld cannot write (SQLite would otherwise open it read-only and fail on
//!   the first write);
//! - a manifest where a shard file is expected, and the other way round.
//!
//! A missing or empty file is created with the tables of its kind. A damaged file is found when
//! its pages are read: SQLite reports it as corrupt, and loading stops there (see
//! [`super::shard_file`]).
//!
//! A shard file holds one table, `log`, in the order records were committed (see
//! [`super::shard_file`] for what each kind of row means and how loading replays them).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::layout::Manifest;
use super::{
    Options, SqliteContext, StorageError, APPLICATION_ID, FORMAT_VERSION, FORMAT_VERSION_OLDEST,
};

/// Which kind of usld file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The manifest at `--db PATH`.
    Manifest,
    /// One shard's data.
    Shard,
}

impl Kind {
    /// The table every file of this kind has.
    fn table(self) -> &'static str {
        match self {
            Kind::Manifest => "manifest",
            Kind::Shard => "log",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Kind::Manifest => Manifest::SCHEMA,
            Kind::Shard => SHARD_SCHEMA,
        }
    }
}

/// The table of a shard file: the log, in commit order. `kind` is one of the row kinds of
/// [`super::shard_file`]; `id` is empty for the rewrite markers.
const SHARD_SCHEMA: &str = "
    CREATE TABLE log (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        kind INTEGER NOT NULL,
        version INTEGER NOT NULL,
        strategy TEXT,
        expires_at_ms INTEGER,
        bytes BLOB
    );";

/// How long a connection waits for a lock another connection holds (a reader checkpointing, a
/// backup tool) before failing, in milliseconds.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// The WAL file is truncated back to this size when it starts over, so one large transaction
/// (re-homing, a huge document) does not leave a large file behind: the size the checkpointer
/// lets it reach (`checkpoint::WAL_RESTART_FRAMES` pages).
const WAL_KEPT_BYTES: i64 = 16 * 1024 * 1024;

/// Opens (creating when missing) a usld file of `kind`, checks it is ours and current, and sets
/// it up: WAL and the chosen sync level for shard files, a synchronous rollback journal for the
/// manifest.
pub fn open(file: &Path, kind: Kind, options: &Options) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(file, flags).in_file(file)?;
    if conn.is_readonly(rusqlite::MAIN_DB).in_file(file)? {
        return Err(StorageError::ReadOnly {
            file: file.to_owned(),
        });
    }
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
        .in_file(file)?;
    identify(&conn, file, kind)?;
    match kind {
        Kind::Manifest => conn
            .pragma_update(None, "synchronous", "FULL")
            .in_file(file)?,
        Kind::Shard => {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .in_file(file)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StorageError::Layout(format!(
                    "{}: SQLite cannot use a write-ahead log here (journal mode stays {mode})",
                    file.display()
                )));
            }
            let sync = if options.fsync { "FULL" } else { "NORMAL" };
            conn.pragma_update(None, "synchronous", sync)
                .in_file(file)?;
            conn.pragma_update(None, "journal_size_limit", WAL_KEPT_BYTES)
                .in_file(file)?;
            if let Some(bytes) = options.file_bytes_max {
                let page: i64 = conn
                    .pragma_query_value(None, "page_size", |row| row.get(0))
                    .in_file(file)?;
                let pages = (bytes / page.max(1) as u64).max(1);
                conn.pragma_update(None, "max_page_count", pages as i64)
                    .in_file(file)?;
            }
        }
    }
    Ok(conn)
}

/// Checks the file is a usld file of `kind` and of a format this build reads, or an empty
/// database, which it turns into one.
fn identify(conn: &Connection, file: &Path, kind: Kind) -> Result<(), StorageError> {
    let application_id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .in_file(file)?;
    let format: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .in_file(file)?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .in_file(file)?;
    let not_ours = |why: String| StorageError::NotOurs {
        file: file.to_owned(),
        why,
    };
    if application_id == 0 && tables == 0 {
        return create(conn, file, kind);
    }
    if application_id != APPLICATION_ID {
        return Err(not_ours(format!(
            "its SQLite application_id is {application_id:#x}, usld's is {APPLICATION_ID:#x}"
        )));
    }
    if format > FORMAT_VERSION {
        return Err(StorageError::NewerFormat {
            file: file.to_owned(),
            found: format,
        });
    }
    if format < FORMAT_VERSION_OLDEST {
        return Err(not_ours(format!("unknown format version {format}")));
    }
    let has_table: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [kind.table()],
            |row| row.get(0),
        )
        .in_file(file)?;
    if has_table == 0 {
        let found = match kind {
            Kind::Manifest => "a usld shard file where the manifest was expected",
            Kind::Shard => "a usld manifest where a shard file was expected",
        };
        return Err(not_ours(found.into()));
    }
    if format < FORMAT_VERSION {
        // Older formats are read as they are; what this build writes from now on needs its own.
        conn.pragma_update(None, "user_version", FORMAT_VERSION)
            .in_file(file)?;
    }
    Ok(())
}

/// Makes an empty database a usld file of `kind`, in one transaction.
fn create(conn: &Connection, file: &Path, kind: Kind) -> Result<(), StorageError> {
    let batch = format!(
        "BEGIN; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {FORMAT_VERSION}; \
         {} COMMIT;",
        kind.schema()
    );
    conn.execute_batch(&batch).in_file(file)
}
