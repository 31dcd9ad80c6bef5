//! Document TTLs against a real usld: an expired document is gone for GET and KEYS, its
//! subscribers get an `expire` event whether or not anyone touches it, writes keep the TTL set
//! at CREATE, and a write after expiry starts a fresh document without one.

mod common;

use std::time::{Duration, Instant};

use common::{bulk, ok, Client, Resp, Server};
use serde_json::json;

/// Waits (bounded) until GET of `id` answers null.
fn wait_gone(client: &mut Client, id: &str) {
    let start = Instant::now();
    while client.cmd(&["GET", id]) != bulk("null") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{id} never expired"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_expired_document_is_gone_for_get_and_keys() {
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["CREATE", "temp:1", "TTL", "150"]), ok());
    assert_eq!(client.cmd(&["SET", "temp:1", "n", "1"]), ok());
    assert_eq!(client.cmd(&["SET", "keep:1", "n", "1"]), ok());
    assert_eq!(client.cmd(&["GET", "temp:1"]), bulk("{\"n\": 1}"));
    wait_gone(&mut client, "temp:1");
    assert_eq!(
        client.cmd(&["KEYS", "*:1"]),
        Resp::Array(Some(vec![bulk("keep:1")]))
    );
    assert!(client
        .cmd(&["INFO", "keyspace"])
        .text()
        .contains("keys=1,expires=0"));
}

#[test]
fn subscribers_hear_when_an_untouched_document_expires() {
    let server = Server::start(&["--shards", "3"]);
    let mut subscribers = server.connect_each_shard(3);
    for subscriber in &mut subscribers {
        subscriber.subscribe(&["session:*"]);
    }
    let mut writer = server.connect();
    assert_eq!(
        writer.cmd(&[
            "CREATE",
            "session:abc",
            "STRATEGY",
            "crdt-map",
            "TTL",
            "100"
        ]),
        ok()
    );
    for subscriber in &mut subscribers {
        let (_, id, created) = subscriber.event();
        assert_eq!(
            (id.as_str(), &created["op"]),
            ("session:abc", &json!("create"))
        );
        // Nobody touches the document: the shard's sweep removes it and says so.
        let (_, id, expired) = subscriber.event();
        assert_eq!(id, "session:abc");
        assert_eq!(expired, json!({"op": "expire", "id": "session:abc"}));
    }
    assert_eq!(writer.cmd(&["GET", "session:abc"]), bulk("null"));
}

#[test]
fn writes_keep_the_ttl_and_a_write_after_expiry_starts_afresh() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["CREATE", "cart", "TTL", "200"]), ok());
    assert_eq!(
        client.cmd(&["PUSH", "cart", "items", "\"milk\""]),
        Resp::Int(1)
    );
    assert_eq!(client.cmd(&["SET", "cart", "owner", "ann"]), ok());
    wait_gone(&mut client, "cart");
    assert_eq!(client.cmd(&["SET", "cart", "owner", "bob"]), ok());
    assert!(client
        .cmd(&["INFO", "keyspace"])
        .text()
        .contains("keys=1,expires=0"));
    assert_eq!(client.cmd(&["GET", "cart"]), bulk("{\"owner\": \"bob\"}"));
}

/// A write that lands on an expired document before the sweep removes it starts a new one; its
/// subscribers hear the old one expire first, so replaying events in order leaves the new
/// document in place. (When the sweep comes first the order is the same, by another path.)
#[test]
fn subscribers_hear_the_expiry_before_the_write_that_follows_it() {
    let server = Server::start(&["--shards", "1"]);
    let mut subscriber = server.connect();
    subscriber.subscribe(&["ex:*"]);
    let mut writer = server.connect();
    assert_eq!(writer.cmd(&["CREATE", "ex:0", "TTL", "30"]), ok());
    assert_eq!(subscriber.event().2["op"], json!("create"));
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(writer.cmd(&["SET", "ex:0", "a", "1"]), ok());
    let (_, id, first) = subscriber.event();
    assert_eq!(
        (id.as_str(), first),
        ("ex:0", json!({"op": "expire", "id": "ex:0"}))
    );
    let (_, _, second) = subscriber.event();
    assert_eq!(
        (&second["op"], &second["value"], &second["version"]),
        (&json!("set"), &json!(1), &json!(1))
    );
    assert_eq!(writer.cmd(&["GET", "ex:0"]), bulk("{\"a\": 1}"));
}
