//! Connection-level commands over a real socket: `PING`, `ECHO`, `QUIT`, case-insensitive
//! command names, and the inline and multibulk request forms meaning the same thing.

mod common;

use common::{bulk, ok, Resp, Server};

#[test]
fn ping_answers_pong() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(client.inline("PING"), Resp::Simple("PONG".into()));
}

#[test]
fn ping_with_a_message_answers_it_as_bulk() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["PING", "hello there"]), bulk("hello there"));
    assert_eq!(client.inline("PING hi"), bulk("hi"));
}

#[test]
fn echo_answers_its_argument_as_bulk() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["ECHO", "a b c"]), bulk("a b c"));
    assert_eq!(client.inline("ECHO \"quoted words\""), bulk("quoted words"));
}

#[test]
fn quit_answers_ok_then_the_server_closes() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"QUIT\r\n");
    assert_eq!(client.read_bytes(5), b"+OK\r\n");
    assert!(client.is_closed(), "connection still open after QUIT");
}

#[test]
fn requests_after_quit_in_the_same_write_are_not_answered() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"PING\r\nQUIT\r\nSET late x 1\r\n");
    assert_eq!(client.read(), Resp::Simple("PONG".into()));
    assert_eq!(client.read(), ok());
    assert!(client.is_closed(), "connection still open after QUIT");
    server.assert_serving("late", "null");
}

#[test]
fn command_names_are_case_insensitive() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("pInG"), Resp::Simple("PONG".into()));
    assert_eq!(client.cmd(&["set", "u", "name", "Alice"]), ok());
    assert_eq!(client.inline("Get u"), bulk(r#"{"name": "Alice"}"#));
    assert_eq!(client.cmd(&["inc", "u", "n", "2"]), Resp::Int(2));
}

#[test]
fn inline_and_multibulk_requests_share_one_connection() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("SET doc a 1"), ok());
    assert_eq!(client.cmd(&["SET", "doc", "b", "2"]), ok());
    assert_eq!(client.inline("GET doc"), bulk(r#"{"a": 1, "b": 2}"#));
    assert_eq!(client.cmd(&["GET", "doc"]), bulk(r#"{"a": 1, "b": 2}"#));
}

#[test]
fn inline_lines_may_end_with_a_bare_newline() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"SET doc a 1\nGET doc\n");
    assert_eq!(client.read(), ok());
    assert_eq!(client.read(), bulk(r#"{"a": 1}"#));
}
