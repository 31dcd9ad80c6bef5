//! Where the files live, and the manifest that says which of them hold data.
//!
//! `--db PATH` names the manifest, a small SQLite database at `PATH` itself. Each shard's data
//! is in its own file beside it, named after `PATH` with the shard's index before the extension:
//!
//! ```text
//! --db /var/lib/ussl/data.db   ->  /var/lib/ussl/data.db           the manifest
//!                                  /var/lib/ussl/data.shard0.db    shard 0 (with -wal, -shm)
//!                                  /var/lib/ussl/data.shard1.db    shard 1 ...
//! --db ./store                 ->  ./store, ./store.shard0, ./store.shard1 ...
//! ```
//!
//! The manifest records the shard count the data belongs to (`shards`), how many files may hold
//! data (`files`, more than `shards` while a re-homing to fewer shards is under way) and whether
//! the files are complete (`complete`, false while they are being created or re-homed). See
//! [`super::rehome`] for how these make a restart with another shard count crash-safe.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use super::{SqliteContext, StorageError};

/// The file names derived from `--db PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    manifest: PathBuf,
    dir: PathBuf,
    /// The manifest's file name before its extension (`data` for `data.db`).
    stem: String,
    /// The manifest's extension with its dot (`.db`), or nothing.
    extension: String,
}

impl Layout {
    /// The layout for `--db path`. Refuses a path that names a directory or has no file name.
    pub fn new(path: &Path) -> Result<Layout, StorageError> {
        let refuse = |why: &str| {
            StorageError::Layout(format!(
                "--db {}: {why}; give the path of a database file, such as /var/lib/ussl/data.db",
                path.display()
            ))
        };
        if path.is_dir() {
            return Err(refuse("is a directory"));
        }
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| refuse("has no file name (or one that is not UTF-8)"))?;
        let (stem, extension) = match name.rfind('.') {
            Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
            _ => (name, ""),
        };
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        Ok(Layout {
            manifest: path.to_owned(),
            dir,
            stem: stem.to_owned(),
            extension: extension.to_owned(),
        })
    }

    /// The manifest's path (`--db PATH` itself).
    pub fn manifest(&self) -> &Path {
        &self.manifest
    }

    /// The directory every file lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of shard `index`'s file.
    pub fn shard(&self, index: usize) -> PathBuf {
        self.dir
            .join(format!("{}.shard{index}{}", self.stem, self.extension))
    }

    /// Creates the directory the files live in, with its parents, when missing.
    pub fn create_dir(&self) -> Result<(), StorageError> {
        std::fs::create_dir_all(&self.dir).map_err(|error| StorageError::Io {
            file: self.dir.clone(),
            error,
        })
    }

    /// The indexes of the shard files that exist now, in order.
    pub fn existing_shards(&self) -> Result<Vec<usize>, StorageError> {
        let io = |error| StorageError::Io {
            file: self.dir.clone(),
            error,
        };
        let prefix = format!("{}.shard", self.stem);
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let index = name
                .to_str()
                .and_then(|name| name.strip_prefix(&prefix))
                .and_then(|rest| rest.strip_suffix(&self.extension))
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<usize>().ok());
            found.extend(index);
        }
        found.sort_unstable();
        Ok(found)
    }

    /// Deletes shard `index`'s file and SQLite's files beside it. Only for a file that holds no
    /// data any more.
    pub fn remove_shard(&self, index: usize) -> Result<(), StorageError> {
        let file = self.shard(index);
        for suffix in ["-wal", "-shm", ""] {
            let mut path = file.clone().into_os_string();
            path.push(suffix);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StorageError::Io {
                        file: PathBuf::from(path),
                        error: e,
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// What the manifest records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    /// The shard count the data belongs to: document `id` is in file `owner(id, shards)`.
    pub shards: usize,
    /// How many files may hold data: files `0..files`.
    pub files: usize,
    /// Whether every file `0..shards` exists and re-homing is done.
    pub complete: bool,
}

impl Manifest {
    /// Creates the manifest's table in a new manifest file.
    pub(crate) const SCHEMA: &'static str =
        "CREATE TABLE manifest (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);";

    /// Reads the manifest; `None` when it records nothing yet (a file just created).
    pub fn read(conn: &Connection, file: &Path) -> Result<Option<Manifest>, StorageError> {
        let get = |key: &str| -> Result<Option<i64>, StorageError> {
            conn.query_row("SELECT value FROM manifest WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .in_file(file)
        };
        let (Some(shards), Some(files), Some(complete)) =
            (get("shards")?, get("files")?, get("complete")?)
        else {
            return Ok(None);
        };
        let count = |value: i64, key: &str| {
            usize::try_from(value)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| StorageError::NotOurs {
                    file: file.to_owned(),
                    why: format!("its manifest says {key} = {value}"),
                })
        };
        Ok(Some(Manifest {
            shards: count(shards, "shards")?,
            files: count(files, "files")?,
            complete: complete != 0,
        }))
    }

    /// Replaces the manifest, in one transaction.
    pub fn write(&self, conn: &mut Connection, file: &Path) -> Result<(), StorageError> {
        let tx = conn.transaction().in_file(file)?;
        for (key, value) in [
            ("shards", self.shards as i64),
            ("files", self.files as i64),
            ("complete", i64::from(self.complete)),
        ] {
            tx.execute(
                "INSERT OR REPLACE INTO manifest (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .in_file(file)?;
        }
        tx.commit().in_file(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_files_sit_beside_the_manifest() {
        let layout = Layout::new(Path::new("/var/lib/ussl/data.db")).expect("valid");
        assert_eq!(layout.manifest(), Path::new("/var/lib/ussl/data.db"));
        assert_eq!(layout.shard(0), Path::new("/var/lib/ussl/data.shard0.db"));
        assert_eq!(layout.shard(12), Path::new("/var/lib/ussl/data.shard12.db"));
    }

    #[test]
    fn a_name_without_extension_gets_a_suffix() {
        let layout = Layout::new(Path::new("store")).expect("valid");
        assert_eq!(layout.dir(), Path::new("."));
        assert_eq!(layout.shard(1), Path::new("./store.shard1"));
        let hidden = Layout::new(Path::new("/tmp/.hidden")).expect("valid");
        assert_eq!(hidden.shard(0), Path::new("/tmp/.hidden.shard0"));
    }

    #[test]
    fn a_directory_is_refused() {
        let error = Layout::new(Path::new("/tmp")).expect_err("a directory");
        assert!(error.to_string().contains("is a directory"), "{error}");
    }
}
