//! Replica sync against a real `usld --shards 2`: clients that keep their own replica (the
//! `ussl_shards` engine, as a device or a browser would run it) work offline, hand in their edits
//! with `MERGE` and catch up with `SYNC`, over real sockets.
//!
//! The randomized scenario prints its seed; `USSL_SEED=<seed>` replays it.

mod common;

use common::{base64, bulk, int, ok, unbase64, Client, Resp, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Number, Value};
use ussl_shards::{Edit, Path, Store, Strategy, SyncReply};

/// A client's replica of some documents, and how far it has synced each with the server.
struct Replica {
    store: Store,
    /// Per document: the server version last synced from, and the local version last pushed.
    marks: std::collections::HashMap<String, (u64, u64)>,
    /// Per `crdt-text` document: the server's Yjs state vector from the last SYNC.
    text_marks: std::collections::HashMap<String, Vec<u8>>,
}

impl Replica {
    fn new(seed: u64) -> Replica {
        Replica {
            store: Store::with_replica_seed(seed),
            marks: Default::default(),
            text_marks: Default::default(),
        }
    }

    fn edit(&mut self, id: &str, path: &str, edit: Edit) {
        let path = Path::parse(path).expect("valid path");
        let _ = self.store.edit(id, path, edit, now_ms());
    }

    /// Hands the server what changed here since the last push (`MERGE`).
    fn push(&mut self, client: &mut Client, id: &str) {
        if id.starts_with("r:text") {
            return self.push_text(client, id);
        }
        let pushed = self.marks.get(id).map_or(0, |m| m.1);
        let Some(update) = self
            .store
            .document(id, now_ms())
            .map(|d| d.json_since(pushed))
        else {
            return;
        };
        let reply = client.cmd(&[
            "MERGE",
            id,
            &String::from_utf8(update.to_bytes()).expect("utf-8"),
        ]);
        assert!(
            matches!(reply, Resp::Int(0 | 1)),
            "MERGE answered {reply:?}"
        );
        self.marks.entry(id.into()).or_default().1 = update.version;
    }

    /// Hands a `crdt-text` document's edits the server lacks (by its last state vector) to
    /// the server, as base64 on an inline line.
    fn push_text(&mut self, client: &mut Client, id: &str) {
        let server_vector = self.text_marks.get(id).cloned().unwrap_or_default();
        let Ok(Some(SyncReply::Yjs { update, .. })) = self.store.sync(id, &server_vector, now_ms())
        else {
            return;
        };
        let reply = client.inline(&format!("MERGE {id} {}", base64(&update)));
        assert!(
            matches!(reply, Resp::Int(0 | 1)),
            "MERGE answered {reply:?}"
        );
    }

    /// Takes what the server has of a `crdt-text` document that this replica lacks.
    fn pull_text(&mut self, client: &mut Client, id: &str) {
        let own_vector = match self.store.sync(id, b"", now_ms()) {
            Ok(Some(SyncReply::Yjs { state_vector, .. })) => base64(&state_vector),
            _ => String::new(),
        };
        let reply = client.inline(&format!("SYNC {id} {own_vector}"));
        let Resp::Array(Some(parts)) = reply else {
            panic!("SYNC answered {reply:?}");
        };
        let update = unbase64(&parts[0].text());
        let _ = self
            .store
            .merge(id, &update, now_ms())
            .expect("server update merges");
        self.text_marks
            .insert(id.into(), unbase64(&parts[1].text()));
    }

    /// Takes what the server has that this replica is missing (`SYNC`).
    fn pull(&mut self, client: &mut Client, id: &str) {
        if id.starts_with("r:text") {
            return self.pull_text(client, id);
        }
        let since = self.marks.get(id).map_or(0, |m| m.0);
        let reply = client.cmd(&["SYNC", id, &since.to_string()]);
        let Resp::Array(Some(parts)) = reply else {
            panic!("SYNC answered {reply:?}");
        };
        let (update, version) = (parts[0].text(), parts[1].text());
        if update != "null" {
            // Merging its own edits back changes nothing here; anything else is news.
            let _ = self
                .store
                .merge(id, update.as_bytes(), now_ms())
                .expect("server update merges");
        }
        // What came from the server will be pushed back with the next MERGE, which is
        // harmless: merging is idempotent.
        self.marks.entry(id.into()).or_default().0 = version.parse().expect("version");
    }

    fn read(&mut self, id: &str) -> Value {
        self.store
            .get(id, None, now_ms())
            .map_or(Value::Null, |v| v.into_owned())
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[test]
fn an_offline_replica_catches_up_and_hands_in_its_edits() {
    let server = Server::start(&["--shards", "2"]);
    let mut online = server.connect();
    let mut device = server.connect();
    assert_eq!(
        online.cmd(&["CREATE", "cart", "STRATEGY", "crdt-set"]),
        ok()
    );
    assert_eq!(online.cmd(&["PUSH", "cart", "items", "milk"]), int(1));

    let mut replica = Replica::new(7);
    replica.pull(&mut device, "cart");
    assert_eq!(replica.read("cart"), json!({"items": ["milk"]}));

    // Offline: the device removes milk and adds eggs; meanwhile the server gets bread, and
    // milk again (a concurrent add, which survives the device's remove).
    replica.edit("cart", "items", Edit::Pull(json!("milk")));
    replica.edit("cart", "items", Edit::Push(json!("eggs")));
    assert_eq!(online.cmd(&["PUSH", "cart", "items", "bread"]), int(2));

    replica.push(&mut device, "cart");
    replica.pull(&mut device, "cart");
    let server_view = online.cmd(&["GET", "cart"]).json();
    assert_eq!(server_view, replica.read("cart"));
    // Both adds happened within moments of each other: their order is their stamps' order.
    let mut items: Vec<String> = server_view["items"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item.as_str().expect("a string").to_owned())
        .collect();
    items.sort();
    assert_eq!(items, ["bread", "eggs"]);
}

#[test]
fn merging_the_same_update_twice_changes_nothing_the_second_time() {
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    let update = r#"{"strategy": "crdt-counter", "counters": [{"path": "views", "replica": 99, "inc": 5, "dec": 1}]}"#;
    assert_eq!(client.cmd(&["MERGE", "views", update]), int(1));
    assert_eq!(client.cmd(&["MERGE", "views", update]), int(0));
    assert_eq!(client.cmd(&["INC", "views", "views", "2"]), int(6));
    assert_eq!(client.cmd(&["GET", "views"]), bulk(r#"{"views": 6}"#));
}

#[test]
fn a_hand_written_update_on_an_inline_line_merges() {
    // What a small device sends: plain JSON after `MERGE id`, no client library.
    let server = Server::start(&["--shards", "2"]);
    let mut device = server.connect();
    let line = r#"MERGE sensor:1 {"strategy": "lww", "registers": [{"path": "temp", "stamp": [1700000000000, 0, 42], "value": 21.5}]}"#;
    assert_eq!(device.inline(line), int(1));
    assert_eq!(device.cmd(&["GET", "sensor:1"]), bulk(r#"{"temp": 21.5}"#));
    // A later live SET wins over the old stamp; an older offline write then loses.
    assert_eq!(device.cmd(&["SET", "sensor:1", "temp", "22"]), ok());
    let stale = r#"MERGE sensor:1 {"strategy": "lww", "registers": [{"path": "temp", "stamp": [1700000000001, 0, 42], "value": 0}]}"#;
    assert_eq!(device.inline(stale), int(0));
    assert_eq!(device.cmd(&["GET", "sensor:1"]), bulk(r#"{"temp": 22}"#));
}

#[test]
fn bad_updates_and_state_vectors_are_refused_and_harm_nothing() {
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "doc", "a", "1"]), ok());
    let cases: [(&[&str], &str); 7] = [
        // Not JSON, so taken for a Yjs update: one for crdt-text, not for this lww document.
        (&["MERGE", "doc", "not json"], "WRONGTYPE"),
        (&["MERGE", "doc", "{not json"], "ERR invalid update"),
        (
            &["MERGE", "doc", r#"{"strategy": "crdt-set"}"#],
            "WRONGTYPE",
        ),
        (
            &[
                "MERGE",
                "doc",
                r#"{"strategy": "lww", "registers": [{"path": "a", "stamp": [1, 0, 1]}]}"#,
            ],
            "ERR invalid update",
        ),
        (
            &[
                "MERGE",
                "doc",
                r#"{"strategy": "lww", "registers": [{"path": "a", "stamp": [99999999999999999, 0, 1], "value": 2}]}"#,
            ],
            "ERR invalid update",
        ),
        (&["SYNC", "doc", "-5"], "ERR invalid update"),
        (&["MERGE", "doc", "\u{1}\u{0}"], "WRONGTYPE"),
    ];
    for (args, prefix) in cases {
        let reply = client.cmd(args);
        assert!(reply.is_error(prefix), "{args:?}: {reply:?}");
    }
    assert_eq!(client.cmd(&["GET", "doc"]), bulk(r#"{"a": 1}"#));
    let reply = client.cmd(&["SYNC", "missing"]);
    assert_eq!(reply, Resp::Array(Some(vec![bulk("null"), bulk("0")])));
}

/// One random live write for a document of `strategy`; `lengths` gives a text field's length
/// in code points on the replica that writes.
fn random_edit(
    rng: &mut StdRng,
    strategy: Strategy,
    tag: &str,
    lengths: impl Fn(&str) -> usize,
) -> (&'static str, Edit) {
    match strategy {
        Strategy::CrdtText if rng.gen_bool(0.5) => {
            // Only inserts: every token must survive.
            let index = rng.gen_range(0..=lengths("kept"));
            let text = format!("<{tag}>");
            (
                "kept",
                Edit::Splice {
                    index,
                    delete: 0,
                    text,
                },
            )
        }
        Strategy::CrdtText => {
            let len = lengths("scratch");
            let index = rng.gen_range(0..=len);
            let delete = rng.gen_range(0..=(len - index).min(3));
            (
                "scratch",
                Edit::Splice {
                    index,
                    delete,
                    text: "ab".into(),
                },
            )
        }
        Strategy::CrdtCounter => (
            ["hits", "stats.errors"][rng.gen_range(0..2)],
            Edit::Increment(Number::from(rng.gen_range(-3..6))),
        ),
        Strategy::CrdtSet => match rng.gen_range(0..3) {
            0 => ("tmp", Edit::Pull(json!(rng.gen_range(0..4)))),
            1 => ("tmp", Edit::Push(json!(rng.gen_range(0..4)))),
            _ => ("kept", Edit::Push(json!(tag))),
        },
        _ => {
            let path = ["a", "a.b", "c", "d.e"][rng.gen_range(0..4)];
            match rng.gen_range(0..4) {
                0 => (path, Edit::Delete),
                1 => (path, Edit::Set(json!({"v": tag}))),
                _ => (path, Edit::Set(json!(tag))),
            }
        }
    }
}

#[test]
fn replicas_and_the_server_converge_under_random_offline_edits() {
    let seed: u64 = std::env::var("USSL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (replay with USSL_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let server = Server::start(&["--shards", "2"]);
    let docs = [
        ("r:lww", Strategy::Lww),
        ("r:map", Strategy::CrdtMap),
        ("r:counter", Strategy::CrdtCounter),
        ("r:set", Strategy::CrdtSet),
        ("r:text", Strategy::CrdtText),
    ];
    let mut admin = server.connect();
    for (id, strategy) in docs {
        assert_eq!(
            admin.cmd(&["CREATE", id, "STRATEGY", strategy.name()]),
            ok()
        );
    }
    let mut replicas: Vec<(Replica, Client)> = (0..3)
        .map(|i| (Replica::new(rng.gen::<u64>() ^ i), server.connect()))
        .collect();
    for (replica, client) in &mut replicas {
        for (id, _) in docs {
            replica.pull(client, id);
        }
    }
    let mut expected_counter = std::collections::BTreeMap::<&str, i64>::new();
    let mut kept = Vec::new();
    let mut kept_text = Vec::new();
    let mut online = vec![true; replicas.len()];
    for step in 0..300 {
        let r = rng.gen_range(0..replicas.len());
        let (id, strategy) = docs[rng.gen_range(0..docs.len())];
        let tag = format!("w{step}");
        match rng.gen_range(0..10) {
            0..=5 => {
                let shown = replicas[r].0.read(id);
                let lengths = |field: &str| shown[field].as_str().map_or(0, |t| t.chars().count());
                let (path, edit) = random_edit(&mut rng, strategy, &tag, lengths);
                if path == "kept" && strategy == Strategy::CrdtText {
                    kept_text.push(format!("<{tag}>"));
                }
                if let Edit::Increment(delta) = &edit {
                    *expected_counter.entry(path).or_default() += delta.as_i64().unwrap_or(0);
                }
                if matches!(edit, Edit::Push(_)) && path == "kept" {
                    kept.push(json!(tag));
                }
                replicas[r].0.edit(id, path, edit);
            }
            6 if online[r] => {
                let (replica, client) = &mut replicas[r];
                replica.push(client, id);
                // Sometimes the same update goes twice (a retry after a lost reply).
                if rng.gen_bool(0.3) {
                    if let Some(marks) = replica.marks.get_mut(id) {
                        marks.1 = 0;
                    }
                    replica.push(client, id);
                }
            }
            7 if online[r] => {
                let (replica, client) = &mut replicas[r];
                replica.pull(client, id);
            }
            8 => online[r] = !online[r],
            _ => {
                // A live write straight to the server, as an online client makes it.
                if strategy == Strategy::CrdtCounter {
                    *expected_counter.entry("hits").or_default() += 1;
                    admin.cmd(&["INC", id, "hits", "1"]);
                } else if strategy != Strategy::CrdtSet {
                    admin.cmd(&["SET", id, "c", &format!("\"live{step}\"")]);
                }
            }
        }
    }
    // Everyone comes online; two rounds of push then pull bring everyone everything.
    for _ in 0..2 {
        for (replica, client) in &mut replicas {
            for (id, _) in docs {
                replica.push(client, id);
            }
        }
        for (replica, client) in &mut replicas {
            for (id, _) in docs {
                replica.pull(client, id);
            }
        }
    }
    for (id, _) in docs {
        let on_server = admin.cmd(&["GET", id]).json();
        for (index, (replica, _)) in replicas.iter_mut().enumerate() {
            assert_eq!(
                replica.read(id),
                on_server,
                "seed {seed}: replica {index} differs on {id}"
            );
        }
    }
    let counters = admin.cmd(&["GET", "r:counter"]).json();
    for (path, total) in expected_counter {
        let shown = ussl_shards::value::get(&counters, &Path::parse(path).expect("path"));
        assert_eq!(
            shown,
            Some(&json!(total)),
            "seed {seed}: counter {path} lost an increment"
        );
    }
    // Inserts land anywhere, inside other inserts too, so compare the characters: every
    // inserted character is there, and nothing else.
    let text = admin.cmd(&["GET", "r:text", "PATH", "kept"]).json();
    let mut shown: Vec<char> = text.as_str().unwrap_or_default().chars().collect();
    let mut inserted: Vec<char> = kept_text.concat().chars().collect();
    shown.sort_unstable();
    inserted.sort_unstable();
    assert_eq!(
        shown, inserted,
        "seed {seed}: a text insert was lost: {text}"
    );
    let sets = admin.cmd(&["GET", "r:set", "PATH", "kept"]).json();
    for value in kept {
        assert!(
            sets.as_array().is_some_and(|items| items.contains(&value)),
            "seed {seed}: set add {value} lost: {sets}"
        );
    }
}
