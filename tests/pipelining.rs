//! Pipelining: 10,000 requests (multibulk and inline, on documents spread over every shard) sent in
//! ONE write are answered in request order, proving per-connection order across shards.

mod common;

use common::{bulk, encode, ok, Client, Resp, Server};

const GROUPS: usize = 2_500;
/// Distinct documents written by the SETs, spread over the shards.
const DOCS: usize = 97;

/// One group of four requests: count up on one document, write another document, read it back,
/// and read the counter back.
fn group(i: usize) -> Vec<u8> {
    let doc = format!("doc:{}", i % DOCS);
    let mut bytes = encode(&["INC", "counter", "n", "1"]);
    bytes.extend_from_slice(format!("SET {doc} v {{\"i\": {i}}}\r\n").as_bytes());
    bytes.extend_from_slice(&encode(&["GET", &doc, "PATH", "v.i"]));
    bytes.extend_from_slice(b"GET counter PATH n\r\n");
    bytes
}

fn check_group(client: &mut Client, i: usize) {
    let count = i64::try_from(i + 1).expect("small");
    assert_eq!(client.read(), Resp::Int(count), "INC of group {i}");
    assert_eq!(client.read(), ok(), "SET of group {i}");
    assert_eq!(client.read(), bulk(&i.to_string()), "GET of group {i}");
    assert_eq!(
        client.read(),
        bulk(&count.to_string()),
        "GET counter of group {i}"
    );
}

fn pipeline_in_one_write(shards: &str) {
    let server = Server::start(&["--shards", shards]);
    let mut client = server.connect();
    let requests: Vec<u8> = (0..GROUPS).flat_map(group).collect();
    let sending = client.send_concurrently(requests);
    for i in 0..GROUPS {
        check_group(&mut client, i);
    }
    sending.join().expect("pipeline written");
    assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn ten_thousand_pipelined_requests_are_answered_in_order_on_two_shards() {
    pipeline_in_one_write("2");
}

#[test]
fn ten_thousand_pipelined_requests_are_answered_in_order_on_four_shards() {
    pipeline_in_one_write("4");
}

#[test]
fn pipelined_errors_keep_their_place_in_the_reply_order() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let mut requests = Vec::new();
    for i in 0..1_000 {
        requests.extend_from_slice(&encode(&["SET", &format!("d{i}"), "n", "1"]));
        requests.extend_from_slice(&encode(&["PUSH", &format!("d{i}"), "n", "x"]));
        requests.extend_from_slice(&encode(&["NOPE"]));
    }
    let sending = client.send_concurrently(requests);
    for i in 0..1_000 {
        assert_eq!(client.read(), ok(), "SET {i}");
        assert!(client.read().is_error("WRONGTYPE"), "PUSH {i}");
        assert!(client.read().is_error("ERR unknown command"), "NOPE {i}");
    }
    sending.join().expect("pipeline written");
}
