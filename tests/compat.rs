//! The Redis commands client tools send on connect, answered so redis-cli, redis-py and
//! redis-benchmark proceed: `COMMAND`, `CONFIG GET/SET`, `CLIENT`, `HELLO`, `SELECT`; and
//! Redis's exact wording for unknown commands and wrong arity.

mod common;

use common::{bulk, ok, Resp, Server};

#[test]
fn command_docs_answers_an_empty_array() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["COMMAND", "DOCS"]), Resp::Array(Some(vec![])));
    client.send(b"COMMAND DOCS\r\n");
    assert_eq!(client.read_bytes(4), b"*0\r\n");
}

#[test]
fn command_count_answers_an_integer() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["COMMAND", "COUNT"]);
    assert!(matches!(reply, Resp::Int(n) if n > 0), "{reply:?}");
}

#[test]
fn config_get_save_answers_an_empty_value() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["CONFIG", "GET", "save"]);
    assert_eq!(reply, Resp::Array(Some(vec![bulk("save"), bulk("")])));
}

#[test]
fn config_get_appendonly_answers_no() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["CONFIG", "GET", "appendonly"]);
    assert_eq!(
        reply,
        Resp::Array(Some(vec![bulk("appendonly"), bulk("no")]))
    );
}

#[test]
fn config_set_is_refused() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["CONFIG", "SET", "maxclients", "5"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
}

#[test]
fn client_setinfo_lib_name_answers_ok() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
        ok()
    );
    assert_eq!(client.cmd(&["CLIENT", "SETINFO", "LIB-VER", "5.0.0"]), ok());
}

#[test]
fn client_getname_returns_the_name_set() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["CLIENT", "GETNAME"]), Resp::Bulk(None));
    assert_eq!(client.cmd(&["CLIENT", "SETNAME", "worker-7"]), ok());
    assert_eq!(client.cmd(&["CLIENT", "GETNAME"]), bulk("worker-7"));
}

/// Names with spaces, newlines or other characters outside printable ASCII are refused by
/// `CLIENT SETNAME` and by `HELLO ... SETNAME` alike (which then changes nothing), as in Redis.
#[test]
fn client_names_must_be_printable_without_spaces() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let refused = "ERR Client names cannot contain spaces, newlines or special characters.";
    for bad in ["has space", "new\nline", "caf\u{e9}"] {
        assert!(
            client.cmd(&["CLIENT", "SETNAME", bad]).is_error(refused),
            "{bad:?}"
        );
        assert!(
            client
                .cmd(&["HELLO", "3", "SETNAME", bad])
                .is_error(refused),
            "{bad:?}"
        );
    }
    // The refused HELLO switched nothing: replies are still RESP2.
    assert_eq!(client.cmd(&["CLIENT", "GETNAME"]), Resp::Bulk(None));
    assert!(!client
        .cmd(&["HELLO", "2", "SETNAME", "ok-name"])
        .is_error(""));
    assert_eq!(client.cmd(&["CLIENT", "GETNAME"]), bulk("ok-name"));
}

#[test]
fn client_id_is_an_integer_distinct_per_connection() {
    let server = Server::start(&[]);
    let mut first = server.connect();
    let mut second = server.connect();
    let a = first.cmd(&["CLIENT", "ID"]);
    let b = second.cmd(&["CLIENT", "ID"]);
    assert!(matches!(a, Resp::Int(_)), "{a:?}");
    assert!(matches!(b, Resp::Int(_)), "{b:?}");
    assert_ne!(a, b);
    assert_eq!(
        first.cmd(&["CLIENT", "ID"]),
        a,
        "id changed within a connection"
    );
}

fn assert_hello_map(reply: &Resp) {
    let Resp::Array(Some(items)) = reply else {
        panic!("HELLO did not answer an array: {reply:?}");
    };
    assert_eq!(items.len() % 2, 0, "not a flat map: {items:?}");
    let field = |name: &str| {
        let at = items.iter().position(|i| *i == bulk(name));
        items[at.unwrap_or_else(|| panic!("no {name} in {items:?}")) + 1].clone()
    };
    assert_eq!(field("server"), bulk("usld"));
    assert_eq!(field("proto"), Resp::Int(2));
}

#[test]
fn hello_without_a_version_answers_the_server_map() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_hello_map(&client.cmd(&["HELLO"]));
}

#[test]
fn hello_2_answers_the_server_map() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_hello_map(&client.cmd(&["HELLO", "2"]));
}

#[test]
fn hello_3_switches_the_connection_to_resp3() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(&common::encode(&["HELLO", "3"]));
    // A RESP3 map header, then seven key/value pairs.
    assert_eq!(client.read_bytes(4), b"%7\r\n");
    let mut pairs = Vec::new();
    for _ in 0..14 {
        pairs.push(client.read());
    }
    assert_eq!(pairs[4], bulk("proto"));
    assert_eq!(pairs[5], Resp::Int(3));
    // The absent value is RESP3's null type from now on.
    client.send(&common::encode(&["CLIENT", "GETNAME"]));
    assert_eq!(client.read_bytes(3), b"_\r\n");
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
}

#[test]
fn hello_with_an_unknown_version_is_refused_with_noproto() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["HELLO", "4"]);
    assert!(reply.is_error("NOPROTO"), "{reply:?}");
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
}

#[test]
fn select_0_answers_ok_and_select_1_is_refused() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SELECT", "0"]), ok());
    let reply = client.cmd(&["SELECT", "1"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
}

#[test]
fn unknown_command_is_named_with_its_first_arguments() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["FLUSHALL", "ASYNC", "now"]);
    let expected = "ERR unknown command 'FLUSHALL', with args beginning with: 'ASYNC' 'now' ";
    assert_eq!(reply, Resp::Error(expected.into()));
    let reply = client.inline("NOPE");
    let expected = "ERR unknown command 'NOPE', with args beginning with: ";
    assert_eq!(reply, Resp::Error(expected.into()));
}

#[test]
fn wrong_arity_names_the_command_in_lower_case() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let expected = |name: &str| {
        Resp::Error(format!(
            "ERR wrong number of arguments for '{name}' command"
        ))
    };
    assert_eq!(client.cmd(&["GET"]), expected("get"));
    assert_eq!(client.cmd(&["SET", "u", "path"]), expected("set"));
    assert_eq!(client.cmd(&["Inc", "u"]), expected("inc"));
    assert_eq!(client.cmd(&["ECHO"]), expected("echo"));
}
