//! `usld --db`: documents come back after a restart (a crash or a clean stop) with their
//! strategy, TTL and merge state; a different `--shards` re-homes them; a replica that synced
//! before a restart merges after it; writes that change nothing, and presence, leave no rows;
//! and no reply is sent before the row holding its write is committed.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{ok, Client, Db, Resp, Server};
use serde_json::json;
use ussl_shards::{owner_shard, Edit, Path, Store, Strategy, SyncReply};

/// The kinds of log rows (`ussl_shards::storage::shard_file`).
const CREATE: i64 = 1;
const REMOVE: i64 = 3;

fn owner(id: &str, shards: usize) -> usize {
    owner_shard(id.as_bytes(), shards)
}

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    u64::try_from(since.as_millis()).expect("ms")
}

/// Writes documents of every strategy, with deletions, removals and a replica merge among the
/// writes, and returns their ids.
fn write_every_strategy(c: &mut Client, prefix: &str) -> Vec<String> {
    let id = |name: &str| format!("{prefix}:{name}");
    let script: Vec<Vec<String>> = vec![
        vec!["CREATE", &id("lww"), "STRATEGY", "lww"],
        vec!["SET", &id("lww"), "zeta", "1"],
        vec!["SET", &id("lww"), "alpha", r#"{"x": [1, 2], "y": "two"}"#],
        vec!["SET", &id("lww"), "alpha.y", "three"],
        vec!["DEL", &id("lww"), "PATH", "zeta"],
        vec!["PUSH", &id("lww"), "list", "a"],
        vec!["INC", &id("lww"), "n", "2.5"],
        vec!["CREATE", &id("map"), "STRATEGY", "crdt-map"],
        vec!["SET", &id("map"), "units.s1", r#"{"hp": 9, "pos": {"x": 1}}"#],
        vec!["SET", &id("map"), "units.s1.hp", "8"],
        vec!["SET", &id("map"), "units.s2", r#"{"hp": 3}"#],
        vec!["CREATE", &id("counter"), "STRATEGY", "crdt-counter"],
        vec!["INC", &id("counter"), "views", "3"],
        vec!["INC", &id("counter"), "views", "-1"],
        vec!["SET", &id("counter"), "stock", "10"],
        vec!["CREATE", &id("set"), "STRATEGY", "crdt-set"],
        vec!["PUSH", &id("set"), "items", r#"{"name": "Milk"}"#],
        vec!["PUSH", &id("set"), "items", r#"{"name": "Bread"}"#],
        vec!["SET", &id("set"), "items.0.bought", "true"],
        vec!["PULL", &id("set"), "items", r#"{"name": "Bread"}"#],
        vec![
            "MERGE",
            &id("merged"),
            r#"{"strategy": "crdt-counter", "counters": [{"path": "n", "replica": 7, "inc": 4, "dec": 1}]}"#,
        ],
        vec!["SET", &id("gone"), "a", "1"],
        vec!["DEL", &id("gone")],
    ]
    .into_iter()
    .map(|line| line.into_iter().map(str::to_owned).collect())
    .collect();
    for line in &script {
        let args: Vec<&str> = line.iter().map(String::as_str).collect();
        let reply = c.cmd(&args);
        assert!(!matches!(reply, Resp::Error(_)), "{args:?}: {reply:?}");
    }
    ["lww", "map", "counter", "set", "merged", "gone"]
        .iter()
        .map(|name| id(name))
        .collect()
}

/// What clients can observe of each document: GET and the whole SYNC answer (stamps, replica
/// ids, tags, counter entries, version).
fn observe(c: &mut Client, ids: &[String]) -> Vec<(Resp, Resp)> {
    ids.iter()
        .map(|id| (c.cmd(&["GET", id]), c.cmd(&["SYNC", id, "0"])))
        .collect()
}

#[test]
fn every_strategy_comes_back_after_a_crash() {
    let db = Db::new();
    let mut server = db.start(2, &[]);
    let mut c = server.connect();
    let ids = write_every_strategy(&mut c, "doc");
    let before = observe(&mut c, &ids);
    assert_eq!(before[5].0, common::bulk("null"), "the deleted document");
    server.kill();
    let server = db.start(2, &[]);
    let mut c = server.connect();
    assert_eq!(observe(&mut c, &ids), before);
}

#[test]
fn a_clean_stop_keeps_everything_and_leaves_no_log_behind() {
    let db = Db::new();
    let mut server = db.start(2, &[]);
    let mut c = server.connect();
    let ids = write_every_strategy(&mut c, "doc");
    let before = observe(&mut c, &ids);
    server.stop();
    for shard in 0..2 {
        let mut wal = db.shard_file(shard).into_os_string();
        wal.push("-wal");
        assert!(
            !std::path::Path::new(&wal).exists(),
            "the WAL of shard {shard} was not checkpointed on a clean stop"
        );
    }
    let server = db.start(2, &[]);
    assert_eq!(observe(&mut server.connect(), &ids), before);
}

#[test]
fn a_new_shard_count_rehomes_every_document() {
    let db = Db::new();
    let mut server = db.start(2, &[]);
    let mut ids = Vec::new();
    let mut c = server.connect();
    for round in 0..8 {
        ids.extend(write_every_strategy(&mut c, &format!("r{round}")));
    }
    let before = observe(&mut c, &ids);
    server.stop();
    let mut server = db.start(3, &[]);
    let mut c = server.connect();
    assert_eq!(observe(&mut c, &ids), before, "after 2 -> 3 shards");
    let more = write_every_strategy(&mut c, "three");
    let more_before = observe(&mut c, &more);
    server.kill();
    let server = db.start(1, &[]);
    let mut c = server.connect();
    assert_eq!(observe(&mut c, &ids), before, "after 3 -> 1 shards");
    assert_eq!(observe(&mut c, &more), more_before, "written with 3 shards");
    assert!(db.shard_file(0).exists());
    assert!(!db.shard_file(1).exists() && !db.shard_file(2).exists());
    // Each document was created once, and its rows are in the one file left.
    for id in ids.iter().chain(&more).filter(|id| !id.ends_with(":gone")) {
        assert_eq!(db.rows(0, Some(id), &[CREATE]), 1, "{id}");
    }
}

#[test]
fn ttl_is_an_absolute_time_that_survives_restarts() {
    let db = Db::new();
    let mut server = db.start(2, &[]);
    let mut c = server.connect();
    assert_eq!(c.cmd(&["CREATE", "t:short", "TTL", "300"]), ok());
    assert_eq!(c.cmd(&["CREATE", "t:long", "TTL", "600000"]), ok());
    assert_eq!(c.cmd(&["SET", "t:long", "a", "1"]), ok());
    let mid_created = Instant::now();
    assert_eq!(c.cmd(&["CREATE", "t:mid", "TTL", "4000"]), ok());
    let expiry_of = |id: &str| -> Option<u64> {
        let log = db.log(owner(id, 2));
        let created = log
            .iter()
            .rev()
            .find(|record| record.id == id && matches!(record.kind, 1 | 2));
        created.expect("a create or snapshot record").expires_at_ms
    };
    let long_expiry = expiry_of("t:long").expect("long has a TTL");
    server.kill();
    std::thread::sleep(Duration::from_millis(400));
    let server = db.start(2, &[]);
    let mut c = server.connect();
    assert_eq!(c.cmd(&["GET", "t:short"]), common::bulk("null"));
    assert_eq!(c.cmd(&["GET", "t:long"]), common::bulk(r#"{"a": 1}"#));
    assert_eq!(expiry_of("t:long"), Some(long_expiry));
    if mid_created.elapsed() < Duration::from_millis(3_500) {
        assert_eq!(c.cmd(&["GET", "t:mid"]), common::bulk("{}"));
    }
    std::thread::sleep(Duration::from_millis(4_100).saturating_sub(mid_created.elapsed()));
    assert_eq!(c.cmd(&["GET", "t:mid"]), common::bulk("null"));
    // The GET found it expired, and its reply waited for the commit of its removal.
    assert_eq!(db.rows(owner("t:mid", 2), Some("t:mid"), &[REMOVE]), 1);
}

/// A replica of a `strategy` document syncs, the server writes more and restarts, the replica
/// edits offline, then catches up from the version it had and hands in its edits.
fn replica_merges_after_a_restart(db: &Db, strategy: Strategy) {
    let id = format!("rep:{strategy}");
    let (server_write, replica_write, later_write): (Vec<&str>, (&str, Edit), Vec<&str>) =
        match strategy {
            Strategy::CrdtCounter => (
                vec!["INC", &id, "views", "2"],
                ("views", Edit::Increment(5.into())),
                vec!["INC", &id, "views", "10"],
            ),
            Strategy::CrdtSet => (
                vec!["PUSH", &id, "tags", "red"],
                ("tags", Edit::Push(json!("blue"))),
                vec!["PUSH", &id, "tags", "green"],
            ),
            _ => (
                vec!["SET", &id, "a", "1"],
                ("b.c", Edit::Set(json!("replica"))),
                vec!["SET", &id, "d", "server"],
            ),
        };
    let mut server = db.start(2, &[]);
    let mut c = server.connect();
    assert_eq!(c.cmd(&["CREATE", &id, "STRATEGY", strategy.name()]), ok());
    assert!(!matches!(c.cmd(&server_write), Resp::Error(_)));
    let mut replica = Store::with_replica_seed(4242);
    let synced = c.cmd(&["SYNC", &id, "0"]).texts();
    replica
        .merge(&id, synced[0].as_bytes(), now_ms())
        .expect("the server's state merges");
    let version = synced[1].clone();
    // The server moves on while the replica is away, then crashes.
    assert!(!matches!(c.cmd(&later_write), Resp::Error(_)));
    let expected_server = c.cmd(&["GET", &id]).json();
    server.kill();
    let (at, edit) = replica_write;
    // Offline, after the server's last write. Its stamp may carry this very millisecond (the
    // kill is quick), and a replica's edit in the same millisecond is concurrent with it, which
    // a set may order either way; a millisecond later it is after it.
    replica
        .edit(&id, Path::parse(at).expect("path"), edit, now_ms() + 1)
        .expect("offline edit");
    let server = db.start(2, &[]);
    let mut c = server.connect();
    // Catching up from the version it had brings exactly what it missed.
    let missed = c.cmd(&["SYNC", &id, &version]).texts();
    assert_ne!(missed[1], version, "the version moved on");
    replica
        .merge(&id, missed[0].as_bytes(), now_ms())
        .expect("merges");
    let mut with_server = expected_server.clone();
    let Some(SyncReply::Json(mine)) = replica.sync(&id, b"0", now_ms()).expect("syncs") else {
        panic!("{strategy}: the replica holds a JSON document");
    };
    let mine = mine.to_bytes();
    let mine = String::from_utf8(mine).expect("utf-8");
    assert!(!matches!(c.cmd(&["MERGE", &id, &mine]), Resp::Error(_)));
    let server_now = c.cmd(&["GET", &id]).json();
    let replica_now = replica
        .get(&id, None, now_ms())
        .expect("exists")
        .into_owned();
    assert_eq!(
        server_now, replica_now,
        "{strategy}: server and replica differ"
    );
    // Nothing the server had is lost, and the replica's edit arrived.
    match strategy {
        Strategy::CrdtCounter => {
            with_server["views"] = json!(17);
            assert_eq!(server_now, with_server);
        }
        Strategy::CrdtSet => {
            assert_eq!(server_now["tags"], json!(["red", "green", "blue"]));
        }
        _ => {
            with_server["b"] = json!({"c": "replica"});
            assert_eq!(server_now, with_server);
        }
    }
}

#[test]
fn a_replica_that_synced_before_a_restart_merges_after_it() {
    let db = Db::new();
    for strategy in [
        Strategy::Lww,
        Strategy::CrdtMap,
        Strategy::CrdtCounter,
        Strategy::CrdtSet,
    ] {
        replica_merges_after_a_restart(&db, strategy);
    }
}

#[test]
fn writes_that_change_nothing_and_presence_add_no_rows() {
    let db = Db::new();
    let server = db.start(2, &[]);
    let mut c = server.connect();
    let shard = owner("doc", 2);
    assert_eq!(c.cmd(&["SET", "doc", "a", "1"]), ok());
    assert_eq!(db.committed_version(shard, "doc"), Some(1));
    let rows = [db.rows(0, None, &[]), db.rows(1, None, &[])];
    assert_eq!(c.cmd(&["DEL", "doc", "PATH", "missing"]), common::int(0));
    assert!(c.cmd(&["PULL", "doc", "a", "5"]).is_error("WRONGTYPE"));
    assert!(c.cmd(&["INC", "doc", "a", "x"]).is_error("ERR"));
    let state = c.cmd(&["SYNC", "doc", "0"]).texts();
    assert_eq!(c.cmd(&["MERGE", "doc", &state[0]]), common::int(0));
    assert_eq!(
        c.cmd(&["PRESENCE", "doc", "DATA", r#"{"cursor": 3}"#]),
        ok()
    );
    assert_eq!(c.cmd(&["GET", "missing"]), common::bulk("null"));
    assert_eq!(c.cmd(&["DEL", "missing"]), common::int(0));
    assert_eq!([db.rows(0, None, &[]), db.rows(1, None, &[])], rows);
    assert_eq!(db.committed_version(shard, "doc"), Some(1));
}

#[test]
fn deleted_and_expired_documents_leave_the_log_at_the_next_rewrite() {
    let db = Db::new();
    let server = db.start(2, &["--db-rewrite-min-bytes", "65536"]);
    let mut c = server.connect();
    assert_eq!(c.cmd(&["SET", "gone", "a", "1"]), ok());
    assert_eq!(c.cmd(&["SET", "gone", "b", "2"]), ok());
    assert_eq!(c.cmd(&["DEL", "gone"]), common::int(1));
    assert_eq!(db.committed_version(owner("gone", 2), "gone"), None);
    assert_eq!(c.cmd(&["CREATE", "brief", "TTL", "200"]), ok());
    assert_eq!(c.cmd(&["SET", "kept", "a", "1"]), ok());
    std::thread::sleep(Duration::from_millis(300));
    // Enough writes on both shards for a rewrite of each log, then until the garbage is gone.
    let filler = "f".repeat(1000);
    let start = Instant::now();
    let mut i = 0;
    while db.rows(owner("gone", 2), Some("gone"), &[])
        + db.rows(owner("brief", 2), Some("brief"), &[])
        > 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rewrite removed the rows"
        );
        for _ in 0..50 {
            assert_eq!(
                c.cmd(&["SET", &format!("filler:{}", i % 40), "v", &filler]),
                ok()
            );
            i += 1;
        }
    }
    // The writer reports a rewrite's end before it deletes the garbage, but the shard may count
    // the report a moment after the rows are gone.
    loop {
        let info = c.cmd(&["INFO", "persistence"]).text();
        if !info.contains("db_rewrites:0") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the rows went without a rewrite: {info}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // What is live came through the rewrite.
    assert_eq!(c.cmd(&["GET", "kept"]), common::bulk(r#"{"a": 1}"#));
    drop(c);
    drop(server);
    let server = db.start(2, &[]);
    let mut c = server.connect();
    assert_eq!(c.cmd(&["GET", "kept"]), common::bulk(r#"{"a": 1}"#));
    assert_eq!(c.cmd(&["GET", "gone"]), common::bulk("null"));
    assert_eq!(c.cmd(&["GET", "brief"]), common::bulk("null"));
    assert_eq!(
        c.cmd(&["GET", "filler:1", "PATH", "v"]).json(),
        json!(filler)
    );
}

/// Reads every reply of `count` pipelined commands, checking after each one that its write is
/// committed in the file of the document's shard.
fn check_each_reply_committed(
    db: &Db,
    client: &mut Client,
    writes: &[(String, u64)],
    shards: usize,
) {
    for (id, version) in writes {
        assert_eq!(client.read(), ok());
        let committed = db.committed_version(owner(id, shards), id);
        assert!(
            committed >= Some(*version),
            "the reply to the write making version {version} of {id} came before its commit \
             (committed: {committed:?})"
        );
    }
}

#[test]
fn no_reply_comes_before_the_commit_of_its_write() {
    let db = Db::new();
    // Commits are slowed down, so a reply sent before its commit would be caught.
    let server: Server = db.start(2, &["--test-commit-delay-ms", "25"]);
    let mut versions: HashMap<String, u64> = HashMap::new();
    // A connection on each shard writes documents owned by both: applied locally, and sent to
    // the other shard.
    for mut client in server.connect_each_shard(2) {
        for i in 0..24 {
            let id = format!("b:{}", i % 6);
            let version = versions.entry(id.clone()).or_default();
            *version += 1;
            let value = i.to_string();
            client.send(&common::encode(&["SET", &id, "f", &value]));
            check_each_reply_committed(&db, &mut client, &[(id, *version)], 2);
        }
        // A pipeline: every reply of the round waits for the round's commits.
        let mut batch = Vec::new();
        let mut writes = Vec::new();
        for i in 0..12 {
            let id = format!("p:{}", i % 5);
            let version = versions.entry(id.clone()).or_default();
            *version += 1;
            batch.extend(common::encode(&["SET", &id, "f", &i.to_string()]));
            writes.push((id, *version));
        }
        client.send(&batch);
        check_each_reply_committed(&db, &mut client, &writes, 2);
    }
}

#[test]
fn the_seed_examples_work_as_written() {
    // `usld --db ./data.db --password secret123` and `USSL_DB=... usld`, from a directory of
    // their own.
    let db = Db::new();
    let mut server = Server::start_in(
        Some(db.dir()),
        &[],
        &[
            "--db",
            "./data.db",
            "--password",
            "secret123",
            "--shards",
            "2",
        ],
    );
    let mut c = server.connect();
    assert_eq!(c.cmd(&["AUTH", "secret123"]), ok());
    assert_eq!(c.cmd(&["SET", "user:123", "name", "Alice"]), ok());
    server.kill();
    assert!(db.dir().join("data.db").exists());
    let db_path = db.path();
    let env = [("USSL_DB", db_path.to_str().expect("utf-8 path"))];
    let server = Server::start_in(None, &env, &["--shards", "2"]);
    let mut c = server.connect();
    assert_eq!(c.cmd(&["GET", "user:123"]).json(), json!({"name": "Alice"}));
    // Redis tools asking whether writes are logged hear that they are.
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "append*"]),
        Resp::Array(Some(vec![
            common::bulk("appendonly"),
            common::bulk("yes"),
            common::bulk("appendfsync"),
            common::bulk("no"),
        ]))
    );
}
