//! Document commands over a real socket: `CREATE` (strategies, TTL), `SET` (value forms, paths,
//! array indexes, type clashes), `GET` (whole document, path, missing reads as `null`) and `DEL`.

mod common;

use common::{bulk, int, ok, Resp, Server};

#[test]
fn create_answers_ok_and_the_document_reads_empty() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["CREATE", "user:1"]), ok());
    assert_eq!(client.cmd(&["GET", "user:1"]), bulk("{}"));
    assert_eq!(client.cmd(&["KEYS", "*"]).texts(), ["user:1"]);
}

#[test]
fn create_with_strategy_lww_answers_ok() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("CREATE user:1 STRATEGY lww"), ok());
}

#[test]
fn create_of_an_existing_id_is_refused_and_keeps_the_document() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "user:1", "name", "Alice"]), ok());
    let reply = client.cmd(&["CREATE", "user:1"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
    assert!(format!("{reply:?}").contains("already exists"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "user:1"]), bulk(r#"{"name": "Alice"}"#));
}

#[test]
fn create_works_with_every_json_strategy() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for strategy in ["lww", "crdt-counter", "crdt-set", "crdt-map"] {
        let id = format!("doc:{strategy}");
        assert_eq!(client.cmd(&["CREATE", &id, "STRATEGY", strategy]), ok());
        assert_eq!(client.cmd(&["GET", &id]), bulk("{}"), "{strategy}");
    }
}

#[test]
fn create_with_an_unknown_strategy_is_refused() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["CREATE", "doc", "STRATEGY", "fastest"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
    assert!(format!("{reply:?}").contains("fastest"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "doc"]), bulk("null"));
}

#[test]
fn create_with_a_zero_negative_or_non_numeric_ttl_is_refused() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for ttl in ["0", "-5", "soon", "1.5"] {
        let reply = client.cmd(&["CREATE", "doc", "TTL", ttl]);
        assert!(reply.is_error("ERR"), "TTL {ttl}: {reply:?}");
    }
    assert_eq!(client.cmd(&["KEYS", "*"]), Resp::Array(Some(vec![])));
}

#[test]
fn create_with_a_ttl_counts_the_document_as_expiring() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.inline("CREATE session:1 STRATEGY lww TTL 600000"),
        ok()
    );
    let info = client.cmd(&["INFO", "keyspace"]).text();
    assert!(info.contains("db0:keys=1,expires=1"), "{info}");
}

#[test]
fn set_inline_unquoted_json_object_stores_the_object() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.inline(r#"SET vehicle:1 data {"lat": 45.1, "lon": 9.2}"#),
        ok()
    );
    let doc = client.cmd(&["GET", "vehicle:1"]);
    assert_eq!(doc, bulk(r#"{"data": {"lat": 45.1, "lon": 9.2}}"#));
}

#[test]
fn set_inline_bare_word_stores_a_string() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("SET u name Alice"), ok());
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"name": "Alice"}"#));
}

#[test]
fn set_inline_double_quoted_stores_the_string_without_quotes() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline(r#"SET u name "Alice""#), ok());
    assert_eq!(
        client.cmd(&["GET", "u", "PATH", "name"]),
        bulk(r#""Alice""#)
    );
}

#[test]
fn set_inline_single_quoted_stores_the_words_with_spaces() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("SET u name 'Alice Smith'"), ok());
    assert_eq!(
        client.cmd(&["GET", "u"]),
        bulk(r#"{"name": "Alice Smith"}"#)
    );
}

#[test]
fn set_inline_unquoted_words_store_the_rest_of_the_line() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("SET u note buy milk today"), ok());
    assert_eq!(
        client.cmd(&["GET", "u", "PATH", "note"]),
        bulk(r#""buy milk today""#)
    );
}

#[test]
fn set_multibulk_with_extra_arguments_joins_them_with_spaces() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice", "Smith"]), ok());
    assert_eq!(
        client.cmd(&["SET", "u", "pos", r#"{"lat":"#, "45.1}"]),
        ok()
    );
    let doc = client.cmd(&["GET", "u"]);
    assert_eq!(
        doc,
        bulk(r#"{"name": "Alice Smith", "pos": {"lat": 45.1}}"#)
    );
}

#[test]
fn set_stores_json_scalars_as_their_json_types() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for (path, value) in [("n", "42"), ("f", "-2.5"), ("t", "true"), ("z", "null")] {
        assert_eq!(client.cmd(&["SET", "u", path, value]), ok());
    }
    assert_eq!(client.cmd(&["SET", "u", "s", r#""42""#]), ok());
    let doc = client.cmd(&["GET", "u"]);
    assert_eq!(
        doc,
        bulk(r#"{"n": 42, "f": -2.5, "t": true, "z": null, "s": "42"}"#)
    );
}

#[test]
fn set_overwrites_the_value_at_a_path() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "name", "Bob"]), ok());
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"name": "Bob"}"#));
}

#[test]
fn get_formats_documents_with_spaced_separators() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "b", r#"[1,2,{"c":"d"}]"#]), ok());
    let doc = client.cmd(&["GET", "u"]);
    assert_eq!(doc, bulk(r#"{"a": 1, "b": [1, 2, {"c": "d"}]}"#));
}

#[test]
fn get_path_answers_that_value_as_json() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["SET", "u", "address", r#"{"city":"Rome","zip":100}"#]),
        ok()
    );
    assert_eq!(
        client.cmd(&["GET", "u", "PATH", "address.city"]),
        bulk(r#""Rome""#)
    );
    assert_eq!(
        client.cmd(&["GET", "u", "PATH", "address.zip"]),
        bulk("100")
    );
    let address = client.inline("GET u PATH address");
    assert_eq!(address, bulk(r#"{"city": "Rome", "zip": 100}"#));
}

#[test]
fn get_of_a_missing_document_is_exactly_bulk_null() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"GET nobody\r\n");
    assert_eq!(client.read_bytes(10), b"$4\r\nnull\r\n");
}

#[test]
fn get_of_a_missing_path_is_exactly_bulk_null() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice"]), ok());
    client.send(b"GET u PATH age\r\nGET u PATH name.first.x\r\n");
    assert_eq!(client.read_bytes(20), b"$4\r\nnull\r\n$4\r\nnull\r\n");
}

#[test]
fn set_on_a_deep_path_creates_the_maps_on_the_way() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["SET", "u", "preferences.ui.theme", "dark"]),
        ok()
    );
    let doc = client.cmd(&["GET", "u"]);
    assert_eq!(doc, bulk(r#"{"preferences": {"ui": {"theme": "dark"}}}"#));
}

#[test]
fn set_numeric_segment_replaces_an_array_element() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "items", "[1,2,3]"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "items.1", "9"]), ok());
    assert_eq!(
        client.cmd(&["GET", "u", "PATH", "items"]),
        bulk("[1, 9, 3]")
    );
    assert_eq!(client.cmd(&["GET", "u", "PATH", "items.2"]), bulk("3"));
}

#[test]
fn set_index_equal_to_the_length_appends() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "items", "[1,2]"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "items.2", "3"]), ok());
    assert_eq!(
        client.cmd(&["GET", "u", "PATH", "items"]),
        bulk("[1, 2, 3]")
    );
}

#[test]
fn set_index_beyond_the_length_is_refused_and_changes_nothing() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "items", "[1,2]"]), ok());
    let reply = client.cmd(&["SET", "u", "items.5", "3"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u", "PATH", "items"]), bulk("[1, 2]"));
}

#[test]
fn set_through_a_scalar_is_wrongtype_and_changes_nothing() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice"]), ok());
    let reply = client.cmd(&["SET", "u", "name.first", "Al"]);
    assert!(reply.is_error("WRONGTYPE"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"name": "Alice"}"#));
}

#[test]
fn set_of_a_named_key_on_an_array_is_wrongtype_and_changes_nothing() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "items", "[1]"]), ok());
    let reply = client.cmd(&["SET", "u", "items.name", "x"]);
    assert!(reply.is_error("WRONGTYPE"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"items": [1]}"#));
}

#[test]
fn set_with_an_empty_path_segment_is_refused() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for path in ["a..b", ".a", "a."] {
        let reply = client.cmd(&["SET", "u", path, "1"]);
        assert!(reply.is_error("ERR"), "{path}: {reply:?}");
    }
    assert_eq!(client.cmd(&["GET", "u"]), bulk("null"));
}

#[test]
fn set_on_a_missing_document_creates_it() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["KEYS", "*"]), Resp::Array(Some(vec![])));
    assert_eq!(client.cmd(&["SET", "fresh", "a", "1"]), ok());
    assert_eq!(client.cmd(&["KEYS", "*"]).texts(), ["fresh"]);
    let reply = client.cmd(&["CREATE", "fresh"]);
    assert!(
        reply.is_error("ERR"),
        "SET did not create the document: {reply:?}"
    );
}

#[test]
fn del_of_a_document_answers_one_then_zero() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice"]), ok());
    assert_eq!(client.cmd(&["DEL", "u"]), int(1));
    assert_eq!(client.cmd(&["GET", "u"]), bulk("null"));
    assert_eq!(client.cmd(&["DEL", "u"]), int(0));
    assert_eq!(client.cmd(&["KEYS", "*"]), Resp::Array(Some(vec![])));
}

#[test]
fn del_of_a_path_answers_one_then_zero_and_keeps_the_rest() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "u", "name", "Alice"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "age", "30"]), ok());
    assert_eq!(client.cmd(&["DEL", "u", "PATH", "age"]), int(1));
    assert_eq!(client.cmd(&["DEL", "u", "PATH", "age"]), int(0));
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"name": "Alice"}"#));
}

#[test]
fn del_of_a_path_in_a_missing_document_answers_zero() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["DEL", "ghost", "PATH", "a.b"]), int(0));
    assert_eq!(client.cmd(&["KEYS", "*"]), Resp::Array(Some(vec![])));
}
