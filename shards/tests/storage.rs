//! The SQLite storage of one shard and of a set of shards, on real files: committing and
//! loading every strategy, rewriting the log while writes go on, re-homing to another shard
//! count (including after a re-homing that was cut short), and refusing files that are not ours.
#![cfg(feature = "sqlite")]

mod seeded;

use std::path::Path;

use serde_json::json;
use ussl_shards::storage::batch::ROW_BYTES_MAX;
use ussl_shards::storage::shard_file::{read_log, unbatch};
use ussl_shards::storage::{
    prepare, Created, Layout, Manifest, Options, Record, ShardFile, StorageError,
};
use ussl_shards::{owner_shard, Change, Edit, Op, Path as DocPath, Store, Strategy};

const NOW: u64 = 1_700_000_000_000;

fn path(text: &str) -> DocPath {
    DocPath::parse(text).expect("valid path")
}

/// The record a server makes of one change (see the server's `persist::record`).
fn record_of(store: &mut Store, id: &str, change: &Change) -> Record {
    if change.op == Op::Drop {
        return Record::Remove { id: id.into() };
    }
    let document = store.document(id, NOW).expect("changed document exists");
    Record::Update {
        id: id.into(),
        version: change.version,
        bytes: document.update_for(change),
        created: (change.version == 1).then(|| Created {
            strategy: document.strategy(),
            expires_at_ms: document.expires_at_ms(),
        }),
    }
}

/// Writes a few documents of every strategy to `store`, returning the records of every change.
fn write_some(store: &mut Store, prefix: &str, count: usize) -> Vec<Record> {
    let mut records = Vec::new();
    for i in 0..count {
        let strategy = Strategy::ALL[i % 4];
        let id = format!("{prefix}:{i}");
        let mut changes = vec![store
            .create(&id, strategy, (i % 5 == 0).then_some(3_600_000), NOW)
            .expect("create")];
        let edits = match strategy {
            Strategy::CrdtCounter => vec![
                ("views", Edit::Increment(i.into())),
                ("likes", Edit::Increment(2.into())),
            ],
            Strategy::CrdtSet => vec![
                ("items", Edit::Push(json!({"n": i}))),
                ("items", Edit::Push(json!("x"))),
                ("items", Edit::Pull(json!("x"))),
            ],
            _ => vec![
                ("b", Edit::Set(json!(i))),
                ("a.x", Edit::Set(json!({"deep": [1, 2]}))),
                ("b", Edit::Delete),
            ],
        };
        for (at, edit) in edits {
            if let (_, Some(change)) = store.edit(&id, path(at), edit, NOW).expect("edit") {
                changes.push(change);
            }
        }
        for change in &changes {
            records.push(record_of(store, &id, change));
        }
    }
    records
}

fn text(store: &mut Store, id: &str) -> Option<String> {
    let mut out = Vec::new();
    store
        .write_json(id, None, NOW, &mut out)
        .then(|| String::from_utf8(out).expect("utf-8"))
}

fn all_ids(store: &Store) -> Vec<String> {
    let mut ids = Vec::new();
    store.keys(b"*", NOW, usize::MAX, &mut ids);
    ids.sort();
    ids
}

/// Asserts `loaded` reads exactly as `original`, document by document.
fn assert_same_documents(original: &mut Store, loaded: &mut Store) {
    assert_eq!(all_ids(loaded), all_ids(original));
    for id in all_ids(original) {
        assert_eq!(text(loaded, &id), text(original, &id), "document {id}");
        let version = |store: &mut Store| store.document(&id, NOW).map(|d| d.version());
        assert_eq!(version(loaded), version(original), "version of {id}");
        let since =
            |store: &mut Store| seeded::json_since(store, &id, 0, NOW).map(|u| u.to_bytes());
        assert_eq!(since(loaded), since(original), "state of {id}");
    }
}

fn load(file: &Path) -> Store {
    let mut store = Store::new();
    ShardFile::open(file, &Options::default())
        .expect("open")
        .load(&mut store, NOW, |_| true)
        .expect("load");
    store
}

#[test]
fn committed_records_load_back_as_the_same_documents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.db");
    let mut original = Store::new();
    let records = write_some(&mut original, "doc", 40);
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    // Several commits, as groups arrive.
    for group in records.chunks(7) {
        shard.commit(group).expect("commit");
    }
    let deleted = original.delete_document("doc:3", NOW).expect("live");
    shard
        .commit(&[record_of(&mut original, "doc:3", &deleted)])
        .expect("commit");
    drop(shard);
    let mut loaded = load(&file);
    assert_same_documents(&mut original, &mut loaded);
    assert_eq!(text(&mut loaded, "doc:3"), None);
}

#[test]
fn expired_documents_are_not_loaded_and_lose_their_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.db");
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    let mut store = Store::new();
    let change = store
        .create("short", Strategy::Lww, Some(10), NOW)
        .expect("create");
    let short = record_of(&mut store, "short", &change);
    let change = store
        .create("long", Strategy::Lww, Some(10_000), NOW)
        .expect("create");
    let long = record_of(&mut store, "long", &change);
    shard.commit(&[short, long]).expect("commit");
    let mut loaded = Store::new();
    let counts = shard.load(&mut loaded, NOW + 10, |_| true).expect("load");
    assert_eq!((counts.documents, counts.expired), (1, 1));
    assert_eq!(all_ids(&loaded), ["long"]);
    assert_eq!(
        loaded.document("long", NOW).and_then(|d| d.expires_at_ms()),
        Some(NOW + 10_000)
    );
    // The records stay in the log until a rewrite; loading skips the expired document each time.
    assert_eq!(shard.records().expect("records"), 2);
}

/// The snapshot record of document `id` as it is now, as a shard's rewrite makes it.
fn snapshot_of(store: &mut Store, id: &str) -> Option<Record> {
    let document = store.document(id, NOW)?;
    Some(Record::Snapshot {
        id: id.into(),
        version: document.version(),
        created: Created {
            strategy: document.strategy(),
            expires_at_ms: document.expires_at_ms(),
        },
        state: document.encode_state().expect("the state encodes"),
    })
}

/// A new shard file in `dir` whose log is due a rewrite once it has grown by
/// `rewrite_min_bytes`: its path, its options and the file opened.
fn rewritten_from(dir: &Path, rewrite_min_bytes: u64) -> (std::path::PathBuf, Options, ShardFile) {
    let file = dir.join("one.db");
    let options = Options {
        rewrite_min_bytes,
        ..Options::default()
    };
    let shard = ShardFile::open(&file, &options).expect("open");
    (file, options, shard)
}

#[test]
fn a_rewrite_compacts_the_log_while_writes_go_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, _, mut shard) = rewritten_from(dir.path(), 4096);
    let mut original = Store::new();
    let mut records = write_some(&mut original, "doc", 40);
    for i in 0..200u64 {
        let id = format!("doc:{}", i % 4 * 4);
        let (_, change) = original
            .edit(&id, path("b"), Edit::Set(json!(i)), NOW)
            .expect("set");
        records.push(record_of(&mut original, &id, &change.expect("changed")));
    }
    shard.commit(&records).expect("commit");
    assert!(shard.rewrite_due(), "the log grew past the minimum");
    let before = shard.records().expect("records");
    // The rewrite, with writes between its snapshots: doc:0 changes before its snapshot, doc:4
    // is deleted before its turn, doc:new is created after the start.
    let ids = all_ids(&original);
    shard.commit(&[Record::RewriteStart]).expect("start");
    assert!(!shard.rewrite_due(), "a rewrite is in progress");
    let (_, change) = original
        .edit("doc:0", path("b"), Edit::Set(json!("late")), NOW)
        .expect("set");
    let late = record_of(&mut original, "doc:0", &change.expect("changed"));
    let deleted = original.delete_document("doc:4", NOW).expect("live");
    let removal = record_of(&mut original, "doc:4", &deleted);
    let (_, change) = original
        .edit("doc:new", path("x"), Edit::Set(json!(1)), NOW)
        .expect("set");
    let created = record_of(&mut original, "doc:new", &change.expect("changed"));
    shard.commit(&[late, removal, created]).expect("commit");
    for id in &ids {
        if let Some(snapshot) = snapshot_of(&mut original, id) {
            shard.commit(&[snapshot]).expect("snapshot");
        }
    }
    let ended = shard.commit(&[Record::RewriteEnd]).expect("end");
    assert!(ended.rewrite_ended);
    assert!(shard.garbage_left());
    while shard.delete_garbage_step().expect("delete") > 0 {}
    let after = shard.records().expect("records");
    assert!(
        after < before,
        "the log did not shrink: {before} -> {after} records"
    );
    drop(shard);
    let mut loaded = load(&file);
    assert_same_documents(&mut original, &mut loaded);
    assert_eq!(text(&mut loaded, "doc:4"), None);
}

#[test]
fn a_rewrite_batches_its_snapshots_and_is_not_due_again_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, options, mut shard) = rewritten_from(dir.path(), 1024);
    let mut original = Store::new();
    shard
        .commit(&write_some(&mut original, "doc", 60))
        .expect("commit");
    assert!(shard.rewrite_due(), "the log grew past the minimum");
    // As a shard's rewrite step sends them: many snapshots in one commit.
    let ids = all_ids(&original);
    let mut rewrite = vec![Record::RewriteStart];
    rewrite.extend(ids.iter().filter_map(|id| snapshot_of(&mut original, id)));
    rewrite.push(Record::RewriteEnd);
    let snapshots = rewrite.len() - 2;
    assert!(shard.commit(&rewrite).expect("rewrite").rewrite_ended);
    while shard.delete_garbage_step().expect("delete") > 0 {}
    drop(shard);
    assert_eq!(
        rows_of_kind(&file, SNAPSHOT),
        0,
        "no snapshot has a row to itself"
    );
    let batch_rows = rows_of_kind(&file, BATCH);
    assert!(
        batch_rows > 0 && batch_rows * 2 <= snapshots as i64,
        "{snapshots} snapshots in {batch_rows} batch rows"
    );
    // Reopened, the log holds just what the rewrite wrote: no rewrite is due.
    let shard = ShardFile::open(&file, &options).expect("reopen");
    assert!(!shard.rewrite_due(), "a rewrite is due right after one");
    drop(shard);
    let mut loaded = load(&file);
    assert_same_documents(&mut original, &mut loaded);
}

#[test]
fn an_interrupted_rewrite_leaves_the_log_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.db");
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    let mut original = Store::new();
    shard
        .commit(&write_some(&mut original, "doc", 12))
        .expect("commit");
    shard.commit(&[Record::RewriteStart]).expect("start");
    let snapshot = snapshot_of(&mut original, "doc:1").expect("live");
    shard.commit(&[snapshot]).expect("snapshot");
    // The server stops here: no end row.
    drop(shard);
    let mut loaded = load(&file);
    assert_same_documents(&mut original, &mut loaded);
}

/// Writes `count` documents spread over `shards` files as a server with `shards` shards would,
/// and returns the store holding all of them.
fn write_sharded(layout: &Layout, shards: usize, count: usize) -> Store {
    let prepared = prepare(layout, shards).expect("prepare");
    assert_eq!(prepared.moved, 0);
    let mut all = Store::new();
    let records = write_some(&mut all, "doc", count);
    let mut files: Vec<ShardFile> = (0..shards)
        .map(|index| ShardFile::open(&layout.shard(index), &Options::default()).expect("open"))
        .collect();
    for record in records {
        let id = match &record {
            Record::Update { id, .. } | Record::Remove { id } => id.clone(),
            other => panic!("write_some made {other:?}"),
        };
        let owner = owner_shard(id.as_bytes(), shards);
        files[owner].commit(&[record]).expect("commit");
    }
    all
}

/// Loads every file of `shards` shards, checking each document is in its owner's file.
fn load_sharded(layout: &Layout, shards: usize) -> Store {
    let mut all = Store::new();
    for index in 0..shards {
        ShardFile::open(&layout.shard(index), &Options::default())
            .expect("open")
            .load(&mut all, NOW, |id| {
                owner_shard(id.as_bytes(), shards) == index
            })
            .expect("load: every document in its owner's file");
    }
    all
}

fn manifest(layout: &Layout) -> Manifest {
    let conn = rusqlite::Connection::open(layout.manifest()).expect("open manifest");
    Manifest::read(&conn, layout.manifest())
        .expect("read")
        .expect("written")
}

#[test]
fn rehoming_moves_every_document_to_its_new_owner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = Layout::new(&dir.path().join("data.db")).expect("layout");
    let mut original = write_sharded(&layout, 2, 60);
    for shards in [3, 1, 4] {
        let prepared = prepare(&layout, shards).expect("re-home");
        assert!(prepared.moved > 0, "nothing moved to {shards} shards");
        let mut loaded = load_sharded(&layout, shards);
        assert_same_documents(&mut original, &mut loaded);
        assert_eq!(
            layout.existing_shards().expect("list"),
            (0..shards).collect::<Vec<_>>()
        );
        assert_eq!(
            manifest(&layout),
            Manifest {
                shards,
                files: shards,
                complete: true
            }
        );
    }
}

/// A re-homing from 2 to 3 shards cut short after copying some documents to their new file but
/// before deleting them from the old one (what a crash there leaves), then finished by the next
/// start with `shards` shards.
fn finish_interrupted_rehome(shards: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = Layout::new(&dir.path().join("data.db")).expect("layout");
    let mut original = write_sharded(&layout, 2, 60);
    {
        let mut conn = rusqlite::Connection::open(layout.manifest()).expect("manifest");
        let working = Manifest {
            shards: 3,
            files: 3,
            complete: false,
        };
        working.write(&mut conn, layout.manifest()).expect("write");
    }
    // What re-homing does first: every file's batch rows expanded into rows of their own.
    for index in 0..2 {
        let file = layout.shard(index);
        let conn = rusqlite::Connection::open(&file).expect("open");
        assert!(
            unbatch(&conn, &file).expect("unbatch"),
            "file {index} held batch rows"
        );
        assert!(
            !unbatch(&conn, &file).expect("unbatch"),
            "nothing left to expand"
        );
    }
    // The copy step into the new shard 2, for the documents of file 0 it owns.
    ShardFile::open(&layout.shard(2), &Options::default()).expect("create");
    let target = rusqlite::Connection::open(layout.shard(2)).expect("open");
    let source = layout.shard(0);
    target
        .execute(
            "ATTACH DATABASE ?1 AS source",
            [source.to_str().expect("utf-8")],
        )
        .expect("attach");
    let ids: Vec<String> = target
        .prepare("SELECT DISTINCT id FROM source.log")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("ids");
    let moving: Vec<&String> = ids
        .iter()
        .filter(|id| owner_shard(id.as_bytes(), 3) == 2)
        .collect();
    assert!(!moving.is_empty());
    for id in &moving {
        target
            .execute(
                "INSERT INTO main.log (id, kind, version, strategy, expires_at_ms, bytes)
                 SELECT id, kind, version, strategy, expires_at_ms, bytes FROM source.log
                 WHERE id = ?1 ORDER BY seq",
                [id],
            )
            .expect("copy");
    }
    drop(target);
    prepare(&layout, shards).expect("finish the re-homing");
    let mut loaded = load_sharded(&layout, shards);
    assert_same_documents(&mut original, &mut loaded);
    // Every document was created once, in one file.
    let mut creates = 0;
    for index in 0..shards {
        let conn = rusqlite::Connection::open(layout.shard(index)).expect("open");
        let log = read_log(&conn).expect("read the log");
        creates += log.iter().filter(|record| record.kind == 1).count();
    }
    assert_eq!(creates, all_ids(&original).len(), "one create per document");
}

#[test]
fn an_interrupted_rehoming_is_finished_by_the_next_start() {
    finish_interrupted_rehome(3);
}

#[test]
fn an_interrupted_rehoming_is_finished_with_another_shard_count() {
    finish_interrupted_rehome(2);
    finish_interrupted_rehome(1);
}

fn refused(result: Result<impl Sized, StorageError>, naming: &Path, saying: &str) {
    let Err(error) = result else {
        panic!("expected a refusal naming {}", naming.display());
    };
    let message = error.to_string();
    assert!(
        message.contains(&naming.display().to_string()) && message.contains(saying),
        "{message}"
    );
}

/// How many rows of `kind` the file's log holds (a batch row counts once).
fn rows_of_kind(file: &Path, kind: i64) -> i64 {
    rusqlite::Connection::open(file)
        .expect("open")
        .query_row("SELECT count(*) FROM log WHERE kind = ?1", [kind], |row| {
            row.get(0)
        })
        .expect("count")
}

const SNAPSHOT: i64 = 2;
const BATCH: i64 = 6;

#[test]
fn a_commit_stores_its_updates_and_removes_in_few_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.db");
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    let mut original = Store::new();
    // Small writes, as most are: a reading or a name, a hundred-odd bytes of update each.
    let mut records = Vec::new();
    for i in 0..100u64 {
        let id = format!("sensor:{}", i % 10);
        let (_, change) = original
            .edit(&id, path("temp"), Edit::Set(json!(i)), NOW)
            .expect("set");
        records.push(record_of(&mut original, &id, &change.expect("changed")));
    }
    let committed = shard.commit(&records).expect("commit");
    assert_eq!(committed.records, records.len());
    drop(shard);
    let conn = rusqlite::Connection::open(&file).expect("open");
    // Every row is a batch of up to ROW_BYTES_MAX bytes, or one record alone.
    let rows: Vec<(i64, i64, usize)> = conn
        .prepare("SELECT kind, version, length(bytes) FROM log")
        .expect("prepare")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(
        rows.len() > 1 && rows.len() * 4 < records.len(),
        "{} rows",
        rows.len()
    );
    for (kind, count, bytes) in &rows {
        assert_eq!(*kind, BATCH);
        assert!(
            *bytes <= ROW_BYTES_MAX || *count == 1,
            "{count} records in {bytes} bytes"
        );
    }
    let held: i64 = rows.iter().map(|(_, count, _)| count).sum();
    assert_eq!(held as usize, records.len());
    assert_eq!(read_log(&conn).expect("read").len(), records.len());
    let mut loaded = load(&file);
    assert_same_documents(&mut original, &mut loaded);
}

#[test]
fn expanding_batches_keeps_the_documents_and_the_last_rewrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.db");
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    let mut original = Store::new();
    for group in write_some(&mut original, "doc", 20).chunks(5) {
        shard.commit(group).expect("commit");
    }
    // A finished rewrite, then more writes: the end row names its start by `seq`.
    let mut rewrite = vec![Record::RewriteStart];
    rewrite.extend(
        all_ids(&original)
            .iter()
            .filter_map(|id| snapshot_of(&mut original, id)),
    );
    rewrite.push(Record::RewriteEnd);
    assert!(shard.commit(&rewrite).expect("rewrite").rewrite_ended);
    shard
        .commit(&write_some(&mut original, "late", 6))
        .expect("commit");
    drop(shard);
    let conn = rusqlite::Connection::open(&file).expect("open");
    let live_before: Vec<_> = {
        let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
        let mut store = Store::new();
        shard.load(&mut store, NOW, |_| true).expect("load");
        all_ids(&store)
    };
    assert!(unbatch(&conn, &file).expect("unbatch"));
    assert_eq!(rows_of_kind(&file, BATCH), 0);
    // The garbage before the rewrite is gone; its end row points at its start's new `seq`.
    let log = read_log(&conn).expect("read");
    assert_eq!(
        log.first().map(|record| record.kind),
        Some(4),
        "starts at the rewrite"
    );
    let start = log[0].seq as u64;
    assert!(log
        .iter()
        .any(|record| record.kind == 5 && record.version == start));
    drop(conn);
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    assert!(!shard.garbage_left());
    let mut loaded = Store::new();
    shard.load(&mut loaded, NOW, |_| true).expect("load");
    assert_eq!(all_ids(&loaded), live_before);
    assert_same_documents(&mut original, &mut loaded);
}

/// Commits `count` documents of every strategy to a new shard file at `file`, in one commit;
/// returns them.
fn file_with(file: &Path, count: usize) -> Store {
    let mut original = Store::new();
    let mut shard = ShardFile::open(file, &Options::default()).expect("open");
    shard
        .commit(&write_some(&mut original, "doc", count))
        .expect("commit");
    original
}

#[test]
fn files_of_older_formats_are_read_and_marked_current() {
    for format in [1, 2] {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("one.db");
        let mut original = file_with(&file, 10);
        // What both wrote for these records: a row each (format 2 batched only the updates,
        // creates and removes of pipelined commits), and their user_version.
        let conn = rusqlite::Connection::open(&file).expect("open");
        assert!(unbatch(&conn, &file).expect("unbatch"));
        conn.pragma_update(None, "user_version", format)
            .expect("version");
        drop(conn);
        let mut loaded = load(&file);
        assert_same_documents(&mut original, &mut loaded);
        let version: i64 = rusqlite::Connection::open(&file)
            .expect("open")
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("version");
        assert_eq!(
            version,
            ussl_shards::storage::FORMAT_VERSION,
            "from format {format}"
        );
    }
}

#[test]
fn a_damaged_batch_row_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.db");
    file_with(&file, 4);
    rusqlite::Connection::open(&file)
        .expect("open")
        .execute(
            "UPDATE log SET bytes = substr(bytes, 1, length(bytes) - 3) WHERE kind = ?1",
            [BATCH],
        )
        .expect("truncate");
    let mut shard = ShardFile::open(&file, &Options::default()).expect("open");
    refused(
        shard.load(&mut Store::new(), NOW, |_| true),
        &file,
        "batch row of the log is damaged",
    );
}

#[test]
fn files_that_are_not_ours_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"these are not the bytes of a database, not even close",
    )
    .expect("write");
    refused(
        ShardFile::open(&garbage, &Options::default()),
        &garbage,
        "not a SQLite database",
    );
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .expect("create")
        .execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
        .expect("table");
    refused(
        ShardFile::open(&foreign, &Options::default()),
        &foreign,
        "not a usld database",
    );
    let newer = dir.path().join("newer.db");
    ShardFile::open(&newer, &Options::default()).expect("create");
    rusqlite::Connection::open(&newer)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("version");
    refused(
        ShardFile::open(&newer, &Options::default()),
        &newer,
        "newer usld",
    );
}

#[test]
fn a_missing_or_unlisted_shard_file_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = Layout::new(&dir.path().join("data.db")).expect("layout");
    write_sharded(&layout, 2, 10);
    let stray = layout.shard(5);
    std::fs::copy(layout.shard(0), &stray).expect("copy");
    refused(prepare(&layout, 2), &stray, "not listed");
    std::fs::remove_file(&stray).expect("remove");
    layout.remove_shard(1).expect("remove");
    refused(prepare(&layout, 2), &layout.shard(1), "is missing");
    refused(prepare(&layout, 3), &layout.shard(1), "is missing");
}

#[test]
fn shard_files_without_a_manifest_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = Layout::new(&dir.path().join("data.db")).expect("layout");
    write_sharded(&layout, 2, 10);
    std::fs::remove_file(layout.manifest()).expect("remove");
    refused(prepare(&layout, 2), &layout.shard(0), "manifest");
}

#[test]
fn a_full_file_refuses_the_commit_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("small.db");
    let options = Options {
        file_bytes_max: Some(64 * 1024),
        ..Options::default()
    };
    let mut shard = ShardFile::open(&file, &options).expect("open");
    let mut store = Store::new();
    let mut committed = Vec::new();
    let mut failure = None;
    for i in 0..1000 {
        let id = format!("doc:{i}");
        let (_, change) = store
            .edit(&id, path("v"), Edit::Set(json!("y".repeat(500))), NOW)
            .expect("set");
        let record = record_of(&mut store, &id, &change.expect("changed"));
        match shard.commit(&[record]) {
            Ok(_) => committed.push(id),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let failure = failure.expect("the file filled up");
    let message = failure.to_string();
    assert!(
        message.contains("small.db") && message.contains("full"),
        "{message}"
    );
    drop(shard);
    let loaded = load(&file);
    assert_eq!(all_ids(&loaded).len(), committed.len());
}
