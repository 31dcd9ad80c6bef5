//! `PUSH` (append to arrays) and `INC` (add to numbers) over a real socket: their integer and
//! bulk replies, the values they create, and the errors for wrong types, bad deltas and overflow.

mod common;

use common::{bulk, int, ok, Server};

#[test]
fn push_creates_the_array_and_answers_the_new_length() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["PUSH", "cart", "items", "apple"]), int(1));
    assert_eq!(client.cmd(&["PUSH", "cart", "items", "42"]), int(2));
    assert_eq!(
        client.inline(r#"PUSH cart items {"sku": "x-1", "qty": 2}"#),
        int(3)
    );
    let items = client.cmd(&["GET", "cart", "PATH", "items"]);
    assert_eq!(items, bulk(r#"["apple", 42, {"sku": "x-1", "qty": 2}]"#));
}

#[test]
fn push_on_a_deep_missing_path_creates_the_maps_and_the_array() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["PUSH", "log", "days.mon.events", "start"]),
        int(1)
    );
    let doc = client.cmd(&["GET", "log"]);
    assert_eq!(doc, bulk(r#"{"days": {"mon": {"events": ["start"]}}}"#));
}

#[test]
fn push_onto_a_non_array_is_wrongtype_and_changes_nothing() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "cart", "items", "7"]), ok());
    let reply = client.cmd(&["PUSH", "cart", "items", "apple"]);
    assert!(reply.is_error("WRONGTYPE"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "cart"]), bulk(r#"{"items": 7}"#));
}

#[test]
fn inc_on_a_missing_path_counts_from_zero() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["INC", "counter:views", "count", "1"]), int(1));
    assert_eq!(client.cmd(&["INC", "counter:views", "count", "5"]), int(6));
    assert_eq!(
        client.cmd(&["INC", "counter:views", "count", "-10"]),
        int(-4)
    );
    assert_eq!(
        client.cmd(&["GET", "counter:views"]),
        bulk(r#"{"count": -4}"#)
    );
}

#[test]
fn inc_with_a_fractional_result_answers_a_bulk_json_number() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["INC", "sensor", "temp", "1.5"]), bulk("1.5"));
    assert_eq!(client.cmd(&["INC", "sensor", "temp", "0.25"]), bulk("1.75"));
    assert_eq!(client.cmd(&["GET", "sensor", "PATH", "temp"]), bulk("1.75"));
}

#[test]
fn inc_on_a_non_number_is_wrongtype_and_changes_nothing() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice"]), ok());
    let reply = client.cmd(&["INC", "u", "name", "1"]);
    assert!(reply.is_error("WRONGTYPE"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"name": "Alice"}"#));
}

#[test]
fn inc_with_a_non_number_delta_is_an_error_and_changes_nothing() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "c", "n", "3"]), ok());
    for delta in ["abc", r#""5""#, "[1]", ""] {
        let reply = client.cmd(&["INC", "c", "n", delta]);
        assert!(reply.is_error("ERR"), "delta {delta:?}: {reply:?}");
    }
    assert_eq!(client.cmd(&["GET", "c", "PATH", "n"]), bulk("3"));
}

#[test]
fn inc_past_i64_max_is_an_error_and_keeps_the_value() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "c", "n", "9223372036854775807"]), ok());
    let reply = client.cmd(&["INC", "c", "n", "1"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
    let value = client.cmd(&["GET", "c", "PATH", "n"]);
    assert_eq!(value, bulk("9223372036854775807"));
}

#[test]
fn inc_below_i64_min_is_an_error_and_keeps_the_value() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "c", "n", "-9223372036854775808"]), ok());
    let reply = client.cmd(&["INC", "c", "n", "-1"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
    let value = client.cmd(&["GET", "c", "PATH", "n"]);
    assert_eq!(value, bulk("-9223372036854775808"));
}
