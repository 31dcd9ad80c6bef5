//! `SUB`/`UNSUB` (and their Redis names `PSUBSCRIBE`/`PUNSUBSCRIBE`) against a real usld over
//! real sockets: confirmations shaped like Redis's, events reaching subscribers on every shard,
//! pattern matching, per-document ordering, events that rebuild the document, DEL events,
//! commands on a subscribed connection, limits, and a subscriber that never reads.

mod common;

use common::{bulk, encode, int, ok, Resp, Server};
use serde_json::{json, Value};

/// A confirmation frame: kind, pattern, count.
fn confirmation(kind: &str, pattern: &str, count: i64) -> Resp {
    Resp::Array(Some(vec![bulk(kind), bulk(pattern), int(count)]))
}

#[test]
fn confirmations_have_the_shape_of_redis_pattern_subscriptions() {
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    client.subscribe(&["user:*", "order:1"]);
    client.send(&encode(&["PSUBSCRIBE", "user:*", "x?"]));
    assert_eq!(client.read(), confirmation("psubscribe", "user:*", 2));
    assert_eq!(client.read(), confirmation("psubscribe", "x?", 3));
    client.send(&encode(&["UNSUB", "order:1", "never"]));
    assert_eq!(client.read(), confirmation("punsubscribe", "order:1", 2));
    assert_eq!(client.read(), confirmation("punsubscribe", "never", 2));
    client.send(&encode(&["PUNSUBSCRIBE"]));
    assert_eq!(client.read(), confirmation("punsubscribe", "user:*", 1));
    assert_eq!(client.read(), confirmation("punsubscribe", "x?", 0));
    assert_eq!(
        client.cmd(&["UNSUB"]),
        Resp::Array(Some(vec![bulk("punsubscribe"), Resp::Bulk(None), int(0)]))
    );
    assert!(client
        .cmd(&["SUB"])
        .is_error("ERR wrong number of arguments"));
}

#[test]
fn writes_on_any_shard_reach_subscribers_on_every_shard() {
    const SHARDS: usize = 4;
    let server = Server::start(&["--shards", &SHARDS.to_string()]);
    let mut subscribers = server.connect_each_shard(SHARDS);
    for subscriber in &mut subscribers {
        subscriber.subscribe(&["sensor:*"]);
    }
    // Enough ids that every shard owns some, written from a connection on each shard.
    let mut writers = server.connect_each_shard(SHARDS);
    let ids: Vec<String> = (0..32).map(|i| format!("sensor:{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let writer = &mut writers[i % SHARDS];
        assert_eq!(writer.cmd(&["SET", id, "temp", &i.to_string()]), ok());
    }
    for subscriber in &mut subscribers {
        let mut seen: Vec<(String, Value)> = (0..ids.len())
            .map(|_| {
                let (pattern, id, delta) = subscriber.event();
                assert_eq!(pattern, "sensor:*");
                (id, delta)
            })
            .collect();
        seen.sort_by_key(|(id, _)| ids.iter().position(|i| i == id));
        for (i, (id, delta)) in seen.iter().enumerate() {
            assert_eq!(id, &ids[i]);
            assert_eq!(
                delta,
                &json!({"op": "set", "id": id, "path": "temp", "value": i, "version": 1})
            );
        }
    }
}

#[test]
fn only_matching_documents_are_delivered() {
    let server = Server::start(&["--shards", "2"]);
    let mut subscriber = server.connect();
    subscriber.subscribe(&["user:[12]", "order:7"]);
    let mut writer = server.connect();
    for id in [
        "user:3", "order:70", "user:1", "xuser:1", "order:7", "user:2",
    ] {
        assert_eq!(writer.cmd(&["SET", id, "n", "1"]), ok());
    }
    let received: Vec<String> = (0..3).map(|_| subscriber.event().1).collect();
    let mut sorted = received.clone();
    sorted.sort();
    assert_eq!(sorted, ["order:7", "user:1", "user:2"]);
    // Nothing else is queued: the next frame is the reply to this PING.
    assert_eq!(subscriber.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn events_of_one_document_arrive_in_write_order() {
    let server = Server::start(&["--shards", "4"]);
    let mut subscribers = server.connect_each_shard(4);
    for subscriber in &mut subscribers {
        subscriber.subscribe(&["counter"]);
    }
    let mut writer = server.connect();
    let writes: Vec<u8> = (0..500)
        .flat_map(|_| encode(&["INC", "counter", "n", "1"]))
        .collect();
    writer.send(&writes);
    for n in 1..=500 {
        assert_eq!(writer.read(), int(n));
    }
    for subscriber in &mut subscribers {
        for n in 1..=500 {
            let (_, _, delta) = subscriber.event();
            assert_eq!(delta["value"], json!(n));
            assert_eq!(delta["version"], json!(n));
        }
    }
}

/// Applies one event to a local copy of a document, as docs/protocol.md tells subscribers to.
fn apply(document: &mut Value, delta: &Value) {
    let op = delta["op"].as_str().expect("op");
    let Some(path) = delta.get("path").and_then(Value::as_str) else {
        *document = match op {
            "del" | "expire" => Value::Null,
            _ => delta["value"].clone(),
        };
        return;
    };
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments.split_last().expect("non-empty path");
    let mut at = document;
    if at.is_null() {
        *at = json!({});
    }
    for segment in parents {
        at = match at {
            Value::Array(items) => &mut items[segment.parse::<usize>().expect("index")],
            other => other
                .as_object_mut()
                .expect("map")
                .entry(segment.to_string())
                .or_insert_with(|| json!({})),
        };
    }
    match (op, at) {
        ("del", Value::Array(items)) => {
            items.remove(last.parse::<usize>().expect("index"));
        }
        ("del", Value::Object(map)) => {
            map.shift_remove(*last);
        }
        (_, Value::Array(items)) => {
            let index = last.parse::<usize>().expect("index");
            if index == items.len() {
                items.push(delta["value"].clone());
            } else {
                items[index] = delta["value"].clone();
            }
        }
        (_, Value::Object(map)) => {
            map.insert(last.to_string(), delta["value"].clone());
        }
        (_, other) => panic!("cannot apply {delta} to {other}"),
    }
}

#[test]
fn events_applied_to_a_snapshot_give_the_current_document() {
    let server = Server::start(&["--shards", "2"]);
    let mut writer = server.connect();
    assert_eq!(writer.cmd(&["SET", "doc", "title", "\"Plan\""]), ok());
    let mut subscriber = server.connect();
    subscriber.subscribe(&["doc"]);
    let mut local: Value = subscriber.cmd(&["GET", "doc"]).json();
    let writes: &[&[&str]] = &[
        &["SET", "doc", "meta.owner", "alice"],
        &["PUSH", "doc", "items", "{\"name\": \"Milk\"}"],
        &["PUSH", "doc", "items", "\"Bread\""],
        &["SET", "doc", "items.0.bought", "true"],
        &["INC", "doc", "views", "3"],
        &["INC", "doc", "views", "-1.5"],
        &["DEL", "doc", "PATH", "items.1"],
        &[
            "SET",
            "doc",
            "meta",
            "{\"owner\": \"bob\", \"tags\": [1, 2]}",
        ],
        &["DEL", "doc", "PATH", "title"],
    ];
    for write in writes {
        assert!(!matches!(writer.cmd(write), Resp::Error(_)), "{write:?}");
    }
    for _ in writes {
        let (_, _, delta) = subscriber.event();
        apply(&mut local, &delta);
    }
    assert_eq!(local, writer.cmd(&["GET", "doc"]).json());
    assert_eq!(writer.cmd(&["DEL", "doc"]), int(1));
    let (_, id, delta) = subscriber.event();
    assert_eq!(id, "doc");
    assert_eq!(delta["op"], "del");
    assert!(delta.get("path").is_none(), "{delta}");
    apply(&mut local, &delta);
    assert_eq!(local, Value::Null);
}

#[test]
fn a_subscribed_connection_may_still_send_any_command() {
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    client.subscribe(&["mine"]);
    assert_eq!(client.cmd(&["SET", "other", "a", "1"]), ok());
    assert_eq!(client.cmd(&["GET", "other"]), bulk("{\"a\": 1}"));
    // A write to a watched document: its reply comes first, then its own event.
    assert_eq!(client.cmd(&["SET", "mine", "a", "2"]), ok());
    let (_, id, delta) = client.event();
    assert_eq!((id.as_str(), &delta["value"]), ("mine", &json!(2)));
    assert_eq!(
        client.cmd(&["KEYS", "mine"]),
        Resp::Array(Some(vec![bulk("mine")]))
    );
}

#[test]
fn subscriptions_are_bounded_per_connection_and_in_pattern_length() {
    let server = Server::start(&["--max-subscriptions", "3", "--max-pattern-bytes", "16"]);
    let mut client = server.connect();
    client.subscribe(&["a", "b"]);
    let refused = client.cmd(&["SUB", "c", "d"]);
    assert!(
        refused.is_error("ERR a connection may hold at most 3"),
        "{refused:?}"
    );
    // Nothing of the refused command took effect: one more still fits.
    client.send(&encode(&["SUB", "a", "c"]));
    assert_eq!(client.read(), confirmation("psubscribe", "a", 2));
    assert_eq!(client.read(), confirmation("psubscribe", "c", 3));
    let long = "x".repeat(17);
    assert!(client
        .cmd(&["SUB", &long])
        .is_error("ERR pattern is longer than 16 bytes"));
    assert!(client
        .cmd(&["KEYS", &long])
        .is_error("ERR pattern is longer than 16 bytes"));
}

#[test]
fn patterns_built_to_backtrack_are_matched_in_bounded_work() {
    let server = Server::start(&["--shards", "2"]);
    let mut subscriber = server.connect();
    let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    subscriber.subscribe(&[pattern]);
    let mut writer = server.connect();
    let id = "a".repeat(2000);
    assert_eq!(writer.cmd(&["SET", &id, "n", "1"]), ok());
    assert_eq!(writer.cmd(&["SET", &format!("{id}b"), "n", "1"]), ok());
    let (matched, delivered, _) = subscriber.event();
    assert_eq!((matched.as_str(), delivered), (pattern, format!("{id}b")));
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_and_others_keep_receiving() {
    let server = Server::start(&["--shards", "2", "--max-pubsub-output-bytes", "1048576"]);
    let mut stuck = server.connect();
    stuck.subscribe(&["feed"]);
    let mut reader = server.connect();
    reader.subscribe(&["feed"]);
    let mut writer = server.connect();
    let value = format!("\"{}\"", "v".repeat(4000));
    // 16 MB of events: far more than the socket buffers of a client that reads nothing plus the
    // 1 MiB bound hold, so the stuck subscriber falls behind and is cut off. The reader drains
    // each round's 200 KB before the next, well inside the bound.
    for round in 0..80 {
        let writes: Vec<u8> = (0..50)
            .flat_map(|_| encode(&["SET", "feed", "v", &value]))
            .collect();
        writer.send(&writes);
        for _ in 0..50 {
            assert_eq!(writer.read(), ok());
        }
        for _ in 0..50 {
            let (_, id, _) = reader.event();
            assert_eq!(id, "feed", "round {round}");
        }
    }
    // The stuck client's connection was closed: after what the kernel buffered, EOF.
    let mut drained = 0usize;
    while !stuck.is_closed() {
        drained += 1;
        assert!(
            drained < 64 * 1024 * 1024,
            "the stuck subscriber was never disconnected"
        );
    }
    assert_eq!(writer.cmd(&["GET", "feed", "PATH", "v"]), bulk(&value));
}

#[test]
fn a_subscriber_that_falls_behind_and_catches_up_gets_every_event_whole_and_in_order() {
    let server = Server::start(&["--shards", "2"]);
    let mut subscriber = server.connect();
    subscriber.subscribe(&["feed:*"]);
    let mut writer = server.connect();
    // 400 events of 8 KB while the subscriber reads nothing: far more than its socket buffers
    // take, so the server's writes stop part-way through a frame and wait for the socket.
    const EVENTS: usize = 400;
    let filler = "x".repeat(8000);
    let writes: Vec<u8> = (0..EVENTS)
        .flat_map(|n| encode(&["SET", "feed:1", "v", &format!("\"{n}:{filler}\"")]))
        .collect();
    writer.send(&writes);
    for _ in 0..EVENTS {
        assert_eq!(writer.read(), ok());
    }
    // A command sent while events are still queued: its reply must come whole, between frames.
    subscriber.send(&encode(&["PING"]));
    let mut next = 0;
    let mut pongs = 0;
    while next < EVENTS || pongs == 0 {
        match subscriber.read() {
            Resp::Simple(pong) => {
                assert_eq!(pong, "PONG");
                pongs += 1;
            }
            frame => {
                let parts = frame.texts();
                assert_eq!(parts[0], "pmessage", "{frame:?}");
                assert_eq!(parts[2], "feed:1");
                let delta: serde_json::Value = serde_json::from_str(&parts[3]).expect("JSON");
                assert_eq!(delta["value"], format!("{next}:{filler}"), "event {next}");
                next += 1;
            }
        }
    }
    assert_eq!(pongs, 1);
}
