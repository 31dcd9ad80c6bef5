//! `KEYS [glob]` over a real socket: listing every id, glob syntax (`*`, `?`, classes, negated
//! classes, escapes), the pattern length limit, and a backtracking pattern against long ids
//! answering instead of hanging (the matcher is O(pattern × id)).

mod common;

use std::collections::BTreeSet;

use common::{ok, Client, Resp, Server};

const IDS: [&str; 7] = [
    "user:1", "user:2", "user:10", "admin:1", "a*b", "axb", "Xyz",
];

fn store_ids(client: &mut Client) {
    for id in IDS {
        assert_eq!(client.cmd(&["SET", id, "v", "1"]), ok());
    }
}

fn keys(client: &mut Client, pattern: &str) -> BTreeSet<String> {
    client.cmd(&["KEYS", pattern]).texts().into_iter().collect()
}

fn set_of(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn keys_without_a_pattern_lists_every_id() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    let all: BTreeSet<String> = client.cmd(&["KEYS"]).texts().into_iter().collect();
    assert_eq!(all, set_of(&IDS));
    assert_eq!(keys(&mut client, "*"), set_of(&IDS));
}

#[test]
fn keys_star_matches_any_run_of_characters() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    assert_eq!(
        keys(&mut client, "user:*"),
        set_of(&["user:1", "user:2", "user:10"])
    );
    assert_eq!(keys(&mut client, "*:1"), set_of(&["user:1", "admin:1"]));
}

#[test]
fn keys_question_mark_matches_exactly_one_character() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    assert_eq!(keys(&mut client, "user:?"), set_of(&["user:1", "user:2"]));
    assert_eq!(keys(&mut client, "user:??"), set_of(&["user:10"]));
}

#[test]
fn keys_character_class_matches_a_range() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    assert_eq!(
        keys(&mut client, "[a-c]*"),
        set_of(&["admin:1", "a*b", "axb"])
    );
    assert_eq!(keys(&mut client, "user:[2-9]"), set_of(&["user:2"]));
}

#[test]
fn keys_negated_class_excludes_its_characters() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    assert_eq!(keys(&mut client, "[^ua]*"), set_of(&["Xyz"]));
}

#[test]
fn keys_backslash_escapes_a_glob_character() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    assert_eq!(keys(&mut client, r"a\*b"), set_of(&["a*b"]));
    assert_eq!(keys(&mut client, "a*b"), set_of(&["a*b", "axb"]));
}

#[test]
fn keys_with_no_match_answers_an_empty_array() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    assert_eq!(
        client.cmd(&["KEYS", "nothing:*"]),
        Resp::Array(Some(vec![]))
    );
}

#[test]
fn keys_pattern_longer_than_4096_bytes_is_refused() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    store_ids(&mut client);
    let longest = "*".repeat(4096);
    assert_eq!(keys(&mut client, &longest), set_of(&IDS));
    let too_long = "*".repeat(4097);
    let reply = client.cmd(&["KEYS", &too_long]);
    assert!(reply.is_error("ERR"), "{reply:?}");
}

#[test]
fn keys_backtracking_pattern_over_long_ids_answers_empty() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for len in 4990..=5000 {
        assert_eq!(client.cmd(&["SET", &"a".repeat(len), "v", "1"]), ok());
    }
    let reply = client.cmd(&["KEYS", "a*a*a*a*a*a*a*a*a*a*b"]);
    assert_eq!(reply, Resp::Array(Some(vec![])));
    assert_eq!(
        client.cmd(&["KEYS", "a*a*a*a*a*a*a*a*a*a"]).texts().len(),
        11
    );
}
