//! `PRESENCE` against a real usld: set, read and broadcast to the document's subscribers across
//! shards; cleared with `null`, when the client disconnects, and when the client process is
//! killed; bounded in size and in documents per connection.

mod common;

use std::process::{Command, Stdio};

use common::{bulk, ok, require_tool, Client, Server};
use serde_json::{json, Value};

fn presence(client: &mut Client, id: &str) -> Value {
    client.cmd(&["PRESENCE", id]).json()
}

/// A subscriber to `pattern`, confirmation read.
fn subscriber(server: &Server, pattern: &str) -> Client {
    let mut client = server.connect();
    client.subscribe(&[pattern]);
    client
}

#[test]
fn presence_is_set_read_and_broadcast_on_every_shard() {
    let server = Server::start(&["--shards", "3"]);
    let mut watchers: Vec<Client> = server
        .connect_each_shard(3)
        .into_iter()
        .map(|mut c| {
            c.subscribe(&["doc:*"]);
            c
        })
        .collect();
    let mut alice = server.connect();
    let alice_id = alice.cmd(&["CLIENT", "ID"]);
    let common::Resp::Int(alice_id) = alice_id else {
        panic!("CLIENT ID: {alice_id:?}")
    };
    assert_eq!(
        alice.inline(
            r#"PRESENCE doc:notes DATA {"user": "Alice", "cursor": {"line": 1, "col": 15}}"#
        ),
        ok()
    );
    let expected = json!({"user": "Alice", "cursor": {"line": 1, "col": 15}});
    for watcher in &mut watchers {
        let (pattern, id, delta) = watcher.event();
        assert_eq!((pattern.as_str(), id.as_str()), ("doc:*", "doc:notes"));
        assert_eq!(
            delta,
            json!({"op": "presence", "id": "doc:notes", "client": alice_id, "data": expected})
        );
    }
    let mut bob = server.connect();
    assert_eq!(bob.cmd(&["PRESENCE", "doc:notes", "DATA", "\"Bob\""]), ok());
    let all = presence(&mut bob, "doc:notes");
    assert_eq!(all.as_object().map(|m| m.len()), Some(2), "{all}");
    assert_eq!(all[alice_id.to_string()], expected);
    assert_eq!(presence(&mut bob, "doc:empty"), json!({}));
}

#[test]
fn null_and_disconnect_end_presence_with_an_event() {
    let server = Server::start(&["--shards", "2"]);
    let mut watcher = subscriber(&server, "doc");
    let mut a = server.connect();
    let mut b = server.connect();
    assert_eq!(a.cmd(&["PRESENCE", "doc", "DATA", "1"]), ok());
    assert_eq!(b.cmd(&["PRESENCE", "doc", "DATA", "2"]), ok());
    assert_eq!(watcher.event().2["data"], json!(1));
    assert_eq!(watcher.event().2["data"], json!(2));
    assert_eq!(a.cmd(&["PRESENCE", "doc", "DATA", "null"]), ok());
    assert_eq!(watcher.event().2["data"], Value::Null);
    drop(b);
    assert_eq!(watcher.event().2["data"], Value::Null);
    assert_eq!(presence(&mut a, "doc"), json!({}));
}

#[test]
fn presence_of_a_killed_client_process_ends() {
    let server = Server::start(&["--shards", "2"]);
    let mut watcher = subscriber(&server, "room:*");
    // A separate process that sets presence and then hangs until killed.
    let script = format!(
        "import socket, time\n\
         s = socket.create_connection(('127.0.0.1', {}))\n\
         s.sendall(b'PRESENCE room:1 DATA {{\"user\": \"carol\"}}\\r\\n')\n\
         assert s.recv(16) == b'+OK\\r\\n'\n\
         print('set', flush=True)\n\
         time.sleep(600)\n",
        server.port
    );
    let mut child = Command::new(require_tool("python3"))
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let (_, _, set) = watcher.event();
    assert_eq!(set["data"], json!({"user": "carol"}));
    child.kill().expect("kill the client process");
    child.wait().expect("reap it");
    let (_, id, left) = watcher.event();
    assert_eq!((id.as_str(), &left["data"]), ("room:1", &Value::Null));
    assert_eq!(presence(&mut server.connect(), "room:1"), json!({}));
}

#[test]
fn presence_is_bounded_in_size_and_documents() {
    let server = Server::start(&["--max-presence-bytes", "32", "--max-subscriptions", "2"]);
    let mut client = server.connect();
    let big = format!("\"{}\"", "x".repeat(40));
    assert!(client
        .cmd(&["PRESENCE", "a", "DATA", &big])
        .is_error("ERR presence data is larger than 32 bytes"));
    assert_eq!(client.cmd(&["PRESENCE", "a", "DATA", "1"]), ok());
    assert_eq!(client.cmd(&["PRESENCE", "b", "DATA", "1"]), ok());
    assert_eq!(client.cmd(&["PRESENCE", "a", "DATA", "2"]), ok());
    assert!(client
        .cmd(&["PRESENCE", "c", "DATA", "1"])
        .is_error("ERR a connection may hold presence on at most 2 documents"));
    assert_eq!(presence(&mut client, "c"), json!({}));
    // Clearing presence on a document frees its place for another.
    assert_eq!(client.cmd(&["PRESENCE", "a", "DATA", "null"]), ok());
    assert_eq!(client.cmd(&["PRESENCE", "c", "DATA", "1"]), ok());
    assert_eq!(
        presence(&mut client, "c").as_object().map(|o| o.len()),
        Some(1)
    );
    assert!(client
        .cmd(&["PRESENCE", "a", "DATA", "1"])
        .is_error("ERR a connection may hold presence on at most 2 documents"));
    assert!(client
        .cmd(&["PRESENCE", "a", "CURSOR", "1"])
        .is_error("ERR syntax error"));
    assert_eq!(client.cmd(&["GET", "a"]), bulk("null"));
}
