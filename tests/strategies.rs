//! The CRDT strategies over a real socket: the seed README's use cases as written (shopping list,
//! game state, counters), and the refusals of `docs/strategies.md`'s command table.

mod common;

use common::{bulk, int, ok, Resp, Server};

#[test]
fn the_shopping_list_works_as_the_readme_writes_it() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.inline("CREATE list:groceries STRATEGY crdt-set"),
        ok()
    );
    assert_eq!(
        client.inline(r#"PUSH list:groceries items {"name": "Milk", "qty": 2}"#),
        int(1)
    );
    assert_eq!(
        client.inline(r#"PUSH list:groceries items {"name": "Bread", "qty": 1}"#),
        int(2)
    );
    assert_eq!(
        client.inline("SET list:groceries items.0.bought true"),
        ok()
    );
    assert_eq!(
        client.cmd(&["GET", "list:groceries"]),
        bulk(
            r#"{"items": [{"name": "Milk", "qty": 2, "bought": true}, {"name": "Bread", "qty": 1}]}"#
        )
    );
    assert_eq!(
        client.inline(r#"PULL list:groceries items {"name": "Bread", "qty": 1}"#),
        int(1)
    );
    assert_eq!(
        client.inline(r#"PULL list:groceries items "nothing""#),
        int(0)
    );
    assert_eq!(
        client.cmd(&["GET", "list:groceries", "PATH", "items.0.name"]),
        bulk(r#""Milk""#)
    );
}

#[test]
fn sets_hold_each_value_once_in_the_order_first_added() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "tags", "STRATEGY", "crdt-set"]),
        ok()
    );
    for (tag, size) in [("red", 1), ("blue", 2), ("red", 2)] {
        assert_eq!(client.cmd(&["PUSH", "tags", "all", tag]), int(size));
    }
    assert_eq!(
        client.cmd(&["GET", "tags"]),
        bulk(r#"{"all": ["red", "blue"]}"#)
    );
    assert_eq!(client.cmd(&["SET", "tags", "all", r#"["x", "y"]"#]), ok());
    assert_eq!(client.cmd(&["GET", "tags"]), bulk(r#"{"all": ["x", "y"]}"#));
    assert_eq!(client.cmd(&["DEL", "tags", "PATH", "all.0"]), int(1));
    assert_eq!(client.cmd(&["DEL", "tags", "PATH", "all"]), int(1));
    assert_eq!(client.cmd(&["GET", "tags"]), bulk(r#"{"all": []}"#));
}

#[test]
fn the_game_state_merges_key_by_key() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "game:room-123", "STRATEGY", "crdt-map"]),
        ok()
    );
    let tower = r#"{"x": 100, "y": 200, "type": "tower", "owner": "player-a"}"#;
    assert_eq!(
        client.cmd(&["SET", "game:room-123", "buildings.tower1", tower]),
        ok()
    );
    assert_eq!(
        client.inline(r#"SET game:room-123 units.soldier1.position {"x": 150, "y": 180}"#),
        ok()
    );
    assert_eq!(
        client.cmd(&["GET", "game:room-123"]),
        bulk(
            r#"{"buildings": {"tower1": {"owner": "player-a", "type": "tower", "x": 100, "y": 200}}, "units": {"soldier1": {"position": {"x": 150, "y": 180}}}}"#
        )
    );
    assert_eq!(
        client.cmd(&["GET", "game:room-123", "PATH", "units.soldier1.position.x"]),
        bulk("150")
    );
}

#[test]
fn counters_take_negative_and_fractional_deltas() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "counter:views", "STRATEGY", "crdt-counter"]),
        ok()
    );
    assert_eq!(client.inline("INC counter:views count 1"), int(1));
    assert_eq!(client.inline("INC counter:views count -3"), int(-2));
    assert_eq!(client.inline("INC counter:views count 0.5"), bulk("-1.5"));
    assert_eq!(client.cmd(&["SET", "counter:views", "stock", "10"]), ok());
    assert_eq!(client.cmd(&["INC", "counter:views", "stock", "-4"]), int(6));
    assert_eq!(
        client.cmd(&["GET", "counter:views"]),
        bulk(r#"{"count": -1.5, "stock": 6}"#)
    );
}

#[test]
fn commands_a_strategy_does_not_define_are_refused_as_wrong_type() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "c", "STRATEGY", "crdt-counter"]),
        ok()
    );
    assert_eq!(client.cmd(&["CREATE", "s", "STRATEGY", "crdt-set"]), ok());
    assert_eq!(client.cmd(&["INC", "c", "n", "1"]), int(1));
    assert_eq!(client.cmd(&["PUSH", "s", "items", "a"]), int(1));
    let refused: [&[&str]; 8] = [
        &["PUSH", "c", "n", "1"],
        &["PULL", "c", "n", "1"],
        &["DEL", "c", "PATH", "n"],
        &["SET", "c", "n", "\"text\""],
        &["INC", "c", "n.deeper", "1"],
        &["SET", "s", "items", "5"],
        &["INC", "s", "items", "1"],
        &["SET", "s", "name", "x"],
    ];
    for args in refused {
        let reply = client.cmd(args);
        assert!(reply.is_error("WRONGTYPE"), "{args:?}: {reply:?}");
    }
    assert_eq!(client.cmd(&["GET", "c"]), bulk(r#"{"n": 1}"#));
    assert_eq!(client.cmd(&["GET", "s"]), bulk(r#"{"items": ["a"]}"#));
}

#[test]
fn lww_pull_removes_equal_elements_from_an_array() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for item in ["a", "b", "a"] {
        client.cmd(&["PUSH", "l", "items", item]);
    }
    assert_eq!(client.cmd(&["PULL", "l", "items", "a"]), int(2));
    assert_eq!(client.cmd(&["PULL", "l", "missing", "a"]), int(0));
    assert_eq!(client.cmd(&["GET", "l"]), bulk(r#"{"items": ["b"]}"#));
    assert!(matches!(
        client.cmd(&["PULL", "l", "items"]),
        Resp::Error(_)
    ));
}

/// A write inside an element of a `crdt-set` that does not fit names the element's own path
/// (`items.0.s`) in its error, and changes nothing.
#[test]
fn errors_inside_a_set_element_name_its_path() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["CREATE", "cs", "STRATEGY", "crdt-set"]), ok());
    assert_eq!(
        client.inline(r#"PUSH cs items {"n": 1, "s": "x", "arr": [1]}"#),
        int(1)
    );
    assert!(client
        .cmd(&["INC", "cs", "items.0.s", "1"])
        .is_error("WRONGTYPE path 'items.0.s' holds a string, not a number"));
    assert!(client
        .cmd(&["SET", "cs", "items.0.arr.5", "1"])
        .is_error("ERR index 5 is out of range for the array at 'items.0.arr' (length 1)"));
    assert_eq!(
        client.cmd(&["GET", "cs"]),
        bulk(r#"{"items": [{"n": 1, "s": "x", "arr": [1]}]}"#)
    );
}
