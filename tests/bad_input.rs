//! Bad input over real sockets: malformed RESP, unbalanced quotes, oversize requests, idle and
//! half-sent clients, HTTP requests and `--max-clients`. Each gets its documented answer (error
//! then close, or error and stay open), and afterwards the server still serves other clients and
//! still holds what was written before.

mod common;

use common::{bulk, ok, Client, Resp, Server};

const MARKER: &str = r#"{"a": 1}"#;

/// A server with document `marker` written, to check later that bad input lost nothing.
fn server_with_marker(flags: &[&str]) -> Server {
    let server = Server::start(flags);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "marker", "a", "1"]), ok());
    server
}

/// Sends `bytes` on a fresh connection and returns the error reply, asserting the server then
/// closed the connection.
fn refused_then_closed(server: &Server, bytes: &[u8]) -> String {
    let mut client = server.connect();
    client.send(bytes);
    let reply = client.read();
    assert!(client.is_closed(), "connection left open after {reply:?}");
    match reply {
        Resp::Error(text) => text,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn non_numeric_multibulk_length_is_a_protocol_error_then_close() {
    let server = server_with_marker(&[]);
    let error = refused_then_closed(&server, b"*abc\r\n");
    assert_eq!(error, "ERR Protocol error: invalid multibulk length");
    server.assert_serving("marker", MARKER);
}

#[test]
fn argument_without_dollar_is_a_protocol_error_then_close() {
    let server = server_with_marker(&[]);
    let error = refused_then_closed(&server, b"*1\r\n+x\r\n");
    assert!(
        error.starts_with("ERR Protocol error: expected '$'"),
        "{error}"
    );
    server.assert_serving("marker", MARKER);
}

#[test]
fn garbage_bulk_length_is_a_protocol_error_then_close() {
    let server = server_with_marker(&[]);
    let error = refused_then_closed(&server, b"*1\r\n$-x9\r\nPING\r\n");
    assert_eq!(error, "ERR Protocol error: invalid bulk length");
    server.assert_serving("marker", MARKER);
}

#[test]
fn wrong_bulk_length_is_a_protocol_error_then_close() {
    let server = server_with_marker(&[]);
    let error = refused_then_closed(&server, b"*1\r\n$2\r\nPING\r\n");
    assert!(error.starts_with("ERR Protocol error"), "{error}");
    server.assert_serving("marker", MARKER);
}

#[test]
fn requests_before_a_malformed_frame_are_answered() {
    let server = server_with_marker(&[]);
    let mut client = server.connect();
    client.send(b"SET marker b 2\r\n*abc\r\nSET marker c 3\r\n");
    assert_eq!(client.read(), ok());
    assert!(client.read().is_error("ERR Protocol error"));
    assert!(client.is_closed());
    server.assert_serving("marker", r#"{"a": 1, "b": 2}"#);
}

const UNBALANCED: &str = "ERR Protocol error: unbalanced quotes in request";

#[test]
fn unbalanced_quotes_are_an_error_and_the_connection_stays_open() {
    let server = server_with_marker(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.inline(r#"GET "marker"#),
        Resp::Error(UNBALANCED.into())
    );
    assert_eq!(
        client.inline(r#"SET "a b c"#),
        Resp::Error(UNBALANCED.into())
    );
    assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(client.cmd(&["GET", "a b c"]), bulk("null"));
    server.assert_serving("marker", MARKER);
}

#[test]
fn set_value_with_unbalanced_quotes_is_an_error_and_the_connection_stays_open() {
    let server = server_with_marker(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.inline(r#"SET a b "c"#),
        Resp::Error(UNBALANCED.into())
    );
    assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(client.cmd(&["GET", "a"]), bulk("null"));
    server.assert_serving("marker", MARKER);
}

#[test]
fn oversize_request_is_refused_then_closed() {
    let server = server_with_marker(&["--max-request-bytes", "4096"]);
    let error = refused_then_closed(
        &server,
        b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$10000\r\n",
    );
    assert!(error.starts_with("ERR Protocol error"), "{error}");
    server.assert_serving("marker", MARKER);
    server.assert_serving("k", "null");
}

#[test]
fn inline_line_over_64_kib_is_refused_then_closed() {
    let server = server_with_marker(&[]);
    // Two bytes past the limit with no newline: the whole line is read, then refused.
    let line = vec![b'a'; 64 * 1024 + 2];
    let error = refused_then_closed(&server, &line);
    assert_eq!(error, "ERR Protocol error: too big inline request");
    server.assert_serving("marker", MARKER);
}

#[test]
fn requests_under_the_size_limit_are_served() {
    let server = server_with_marker(&["--max-request-bytes", "4096"]);
    let mut client = server.connect();
    let value = "y".repeat(3000);
    assert_eq!(client.cmd(&["SET", "k", "v", &value]), ok());
    assert_eq!(
        client.cmd(&["GET", "k", "PATH", "v"]).json(),
        serde_json::json!(value)
    );
}

#[test]
fn an_idle_client_does_not_block_others() {
    let server = server_with_marker(&[]);
    let idle: Vec<Client> = (0..8).map(|_| server.connect()).collect();
    let mut half = server.connect();
    half.send(b"*2\r\n$4\r\nPING\r\n");
    server.assert_serving("marker", MARKER);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "other", "a", "1"]), ok());
    drop(idle);
}

#[test]
fn a_client_leaving_mid_frame_harms_nothing() {
    let server = server_with_marker(&[]);
    for _ in 0..4 {
        let mut client = server.connect();
        client.send(b"*3\r\n$3\r\nSET\r\n$1");
    }
    server.assert_serving("marker", MARKER);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["KEYS", "*"]).texts(), ["marker"]);
}

#[test]
fn an_http_request_is_closed_without_a_reply() {
    let server = server_with_marker(&[]);
    let mut client = server.connect();
    client.send(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        client.is_closed(),
        "got a reply or the connection stayed open"
    );
    server.assert_serving("marker", MARKER);
}

#[test]
fn binary_garbage_gets_an_error_and_harms_nothing() {
    let server = server_with_marker(&[]);
    let mut client = server.connect();
    client.send(b"\x00\xff\xfe garbage \x01\r\n");
    assert!(client.read().is_error("ERR"));
    server.assert_serving("marker", MARKER);
}

#[test]
fn third_client_over_max_clients_is_refused_and_closed() {
    let server = server_with_marker(&["--max-clients", "2"]);
    let _first = server.connect_admitted();
    let _second = server.connect_admitted();
    let mut third = server.connect();
    let reply = third.read();
    assert_eq!(
        reply,
        Resp::Error("ERR max number of clients reached".into())
    );
    assert!(third.is_closed());
}

#[test]
fn a_closed_client_frees_its_slot_under_max_clients() {
    let server = server_with_marker(&["--max-clients", "2"]);
    let first = server.connect_admitted();
    let mut second = server.connect_admitted();
    drop(first);
    let mut newcomer = server.connect_admitted();
    assert_eq!(newcomer.cmd(&["GET", "marker"]), bulk(MARKER));
    assert_eq!(second.cmd(&["GET", "marker"]), bulk(MARKER));
}

/// JSON nested deeper than 127 levels is refused with an error, inline and multibulk, instead
/// of being stored as the string of its text; 127 levels are stored as JSON.
#[test]
fn json_nested_too_deep_is_refused() {
    let server = server_with_marker(&[]);
    let mut client = server.connect();
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(client.cmd(&["SET", "deep", "v", &nested(127)]), ok());
    assert_eq!(
        client.cmd(&["GET", "deep", "PATH", "v"]).text(),
        nested(127).replace("][", "], [")
    );
    let refused = "ERR value is JSON nested more than 127 levels deep";
    assert!(client
        .cmd(&["SET", "deep", "v", &nested(128)])
        .is_error(refused));
    let deep_map = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
    assert!(client
        .inline(&format!("SET deep v {deep_map}"))
        .is_error(refused));
    assert!(client
        .cmd(&["PUSH", "list", "items", &nested(130)])
        .is_error(refused));
    assert_eq!(client.cmd(&["GET", "list"]), bulk("null"));
    server.assert_serving("marker", MARKER);
}
