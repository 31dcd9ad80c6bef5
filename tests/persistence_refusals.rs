//! `usld --db` refuses what it cannot use safely, with a message naming the file, and never
//! drops data silently: files that are not ours, a newer format, damaged or missing files, a
//! read-only directory or file, a second server on the same files; and a full disk refuses
//! writes while everything acknowledged stays.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{ok, Db, Resp};

/// Asserts usld refused to start, exiting 1 with a message naming `file` and saying `what`.
fn assert_refused(refusal: (Option<i32>, String), file: &std::path::Path, what: &str) {
    let (status, stderr) = refusal;
    assert_eq!(status, Some(1), "usld did not refuse to start: {stderr}");
    let named = file.display().to_string();
    assert!(
        stderr.contains(&named) && stderr.contains(what),
        "the refusal does not name {named} and say '{what}': {stderr}"
    );
}

/// A database with documents on both shards, cleanly stopped.
fn filled(db: &Db, documents: usize) {
    let mut server = db.start(2, &[]);
    let mut c = server.connect();
    let mut pipeline = Vec::new();
    for i in 0..documents {
        let value = format!("{}{i}", "v".repeat(200));
        pipeline.extend(common::encode(&["SET", &format!("doc:{i}"), "v", &value]));
    }
    let writer = c.send_concurrently(pipeline);
    for _ in 0..documents {
        assert_eq!(c.read(), ok());
    }
    writer.join().expect("pipeline written");
    server.stop();
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let db = Db::new();
    std::fs::write(db.path(), "name,email\nalice,alice@example.com\n").expect("write");
    assert_refused(db.refused(2, &[]), &db.path(), "not a SQLite database");
    // Untouched.
    let kept = std::fs::read_to_string(db.path()).expect("read");
    assert!(kept.starts_with("name,email"));
}

#[test]
fn another_programs_database_is_refused() {
    let db = Db::new();
    let conn = rusqlite::Connection::open(db.path()).expect("create");
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        .expect("table");
    drop(conn);
    assert_refused(db.refused(2, &[]), &db.path(), "not a usld database");
}

#[test]
fn a_newer_format_is_refused() {
    let db = Db::new();
    filled(&db, 10);
    let shard = db.shard_file(1);
    rusqlite::Connection::open(&shard)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("set version");
    assert_refused(db.refused(2, &[]), &shard, "newer usld");
}

#[test]
fn a_truncated_or_corrupt_shard_file_is_refused() {
    for damage in ["truncate", "overwrite"] {
        let db = Db::new();
        filled(&db, 3_000);
        let shard = db.shard_file(0);
        let size = std::fs::metadata(&shard).expect("size").len();
        assert!(size > 64 * 1024, "the file is too small to damage: {size}");
        match damage {
            "truncate" => std::fs::File::options()
                .write(true)
                .open(&shard)
                .and_then(|file| file.set_len(size / 2))
                .expect("truncate"),
            _ => {
                let mut bytes = std::fs::read(&shard).expect("read");
                let middle = (bytes.len() / 2) & !4095;
                bytes[middle..middle + 4096].fill(0xAB);
                std::fs::write(&shard, bytes).expect("write");
            }
        }
        assert_refused(db.refused(2, &[]), &shard, "is damaged");
    }
}

#[test]
fn a_missing_shard_file_is_refused() {
    let db = Db::new();
    filled(&db, 10);
    std::fs::remove_file(db.shard_file(1)).expect("remove");
    assert_refused(db.refused(2, &[]), &db.shard_file(1), "is missing");
    // A different shard count does not make usld forget the missing file.
    assert_refused(db.refused(3, &[]), &db.shard_file(1), "is missing");
}

/// A shard file emptied to 0 bytes is refused, not taken for a new, empty shard: its
/// documents would be gone without a word.
#[test]
fn an_emptied_shard_file_is_refused() {
    let db = Db::new();
    filled(&db, 10);
    std::fs::File::create(db.shard_file(0)).expect("truncate to 0 bytes");
    assert_refused(db.refused(2, &[]), &db.shard_file(0), "is empty");
    assert_refused(db.refused(3, &[]), &db.shard_file(0), "is empty");
    assert_eq!(
        std::fs::metadata(db.shard_file(0))
            .expect("still there")
            .len(),
        0,
        "the refused start wrote to the file"
    );
}

#[test]
fn a_second_server_on_the_same_files_is_refused() {
    let db = Db::new();
    let _first = db.start(2, &[]);
    assert_refused(db.refused(2, &[]), &db.path(), "in use by another usld");
}

/// Runs usld as an unprivileged user when the tests run as root (who may write anything), so
/// file permissions apply: `setpriv` from util-linux, present on every Debian.
fn refused_unprivileged(db: &Db) -> (Option<i32>, String) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let usld = common::usld_command(common::free_port());
    let mut command = if root {
        let mut command = Command::new(common::require_tool("setpriv"));
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(usld.get_program())
            .args(usld.get_args());
        command
    } else {
        usld
    };
    let db_path = db.path();
    command
        .args(["--shards", "2"])
        .args(["--db", db_path.to_str().expect("utf-8 path")]);
    let output = common::run_bounded(&mut command, b"");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn a_read_only_directory_or_file_is_refused() {
    // A new database in a directory nobody may write.
    let db = Db::new();
    chmod(db.dir(), 0o555);
    assert_refused(refused_unprivileged(&db), &db.path(), "ermission denied");
    // Files the server may write, in a directory where SQLite cannot make its log.
    chmod(db.dir(), 0o755);
    filled(&db, 10);
    for entry in std::fs::read_dir(db.dir()).expect("list") {
        chmod(&entry.expect("entry").path(), 0o666);
    }
    chmod(db.dir(), 0o555);
    assert_refused(refused_unprivileged(&db), &db.shard_file(0), "is read-only");
    // A shard file that may not be written.
    chmod(db.dir(), 0o777);
    chmod(&db.shard_file(0), 0o444);
    assert_refused(refused_unprivileged(&db), &db.shard_file(0), "is read-only");
    chmod(db.dir(), 0o755);
}

#[test]
fn a_full_disk_refuses_writes_and_keeps_every_acknowledged_one() {
    let db = Db::new();
    let mut server = db.start(2, &["--max-db-bytes", "131072"]);
    let mut c = server.connect();
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for i in 0..5_000 {
        let id = format!("doc:{i}");
        match c.cmd(&["SET", &id, "v", &"z".repeat(300)]) {
            Resp::Simple(s) if s == "OK" => acknowledged.push(id),
            Resp::Error(e) => {
                refusal = Some(e);
                break;
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    let refusal = refusal.expect("the files filled up");
    assert!(
        refusal.contains("data.shard") && refusal.contains("full"),
        "the refusal does not name the file or say it is full: {refusal}"
    );
    assert!(!acknowledged.is_empty());
    // Reads go on; writes are refused with the same message while the disk stays full.
    assert_eq!(
        c.cmd(&["GET", &acknowledged[0]]).json()["v"],
        "z".repeat(300)
    );
    let more = (0..50)
        .map(|i| c.cmd(&["SET", &format!("more:{i}"), "v", &"z".repeat(300)]))
        .find(|reply| matches!(reply, Resp::Error(_)));
    assert!(more.is_some(), "writes went on while the disk was full");
    let info = c.cmd(&["INFO", "persistence"]).text();
    assert!(info.contains("db_last_write_status:err"), "{info}");
    server.kill();
    // With room again, everything acknowledged is there.
    let server = db.start(2, &[]);
    let mut c = server.connect();
    for id in &acknowledged {
        assert_eq!(c.cmd(&["GET", id]).json()["v"], "z".repeat(300), "{id}");
    }
}
