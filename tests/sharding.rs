//! Hash-partitioned documents across shards, with `--shards 2` and with `--shards 4` (more shards
//! than this machine's cores): connections spread over every shard by the kernel each read the
//! others' writes, `KEYS` gathers ids from every shard, `INFO shards` shows every shard owns
//! documents, and every shard accepts connections as soon as the server answers.

mod common;

use std::collections::BTreeSet;

use common::{encode, ok, Client, Resp, Server};

const IDS: usize = 200;
/// Fewest connections the cross-shard tests use.
const CONNECTIONS: usize = 32;
/// Connections are opened in batches of this many...
const BATCH: usize = 8;
/// ...at most this many batches, until every shard has accepted some.
const BATCHES_MAX: usize = 64;

fn id(i: usize) -> String {
    format!("doc:{i}")
}

/// Writes every id once, round-robin over the connections.
fn write_all(clients: &mut [Client]) {
    for i in 0..IDS {
        let client = &mut clients[i % clients.len()];
        assert_eq!(client.cmd(&["SET", &id(i), "n", &i.to_string()]), ok());
    }
}

/// Every connection reads every id (one pipelined write each) and sees its writer's value.
fn read_all(clients: &mut [Client]) {
    let requests: Vec<u8> = (0..IDS)
        .flat_map(|i| encode(&["GET", &id(i), "PATH", "n"]))
        .collect();
    for client in clients.iter_mut() {
        client.send(&requests);
        for i in 0..IDS {
            assert_eq!(client.read().text(), i.to_string(), "{}", id(i));
        }
    }
}

/// The `shardN:` lines of `INFO shards`.
fn shard_lines(client: &mut Client) -> Vec<String> {
    let info = client.cmd(&["INFO", "shards"]).text();
    info.lines()
        .filter(|l| l.starts_with("shard"))
        .map(str::to_string)
        .collect()
}

/// The number after `key=` in an INFO shard line.
fn shard_field(line: &str, key: &str) -> u64 {
    let prefix = format!("{key}=");
    let value = line
        .split([':', ','])
        .find_map(|part| part.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    value.parse().expect("numeric shard field")
}

/// At least [`CONNECTIONS`] admitted connections, opened in batches until every one of `shards`
/// shards has accepted some.
fn connections(server: &Server, shards: usize) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::new();
    for _ in 0..BATCHES_MAX {
        clients.extend((0..BATCH).map(|_| server.connect_admitted()));
        let lines = shard_lines(&mut clients[0]);
        assert_eq!(lines.len(), shards, "{lines:?}");
        let every_shard = lines.iter().all(|l| shard_field(l, "connections") > 0);
        if every_shard && clients.len() >= CONNECTIONS {
            return clients;
        }
    }
    panic!("{} connections never reached every shard", clients.len());
}

fn start(shards: usize) -> Server {
    Server::start(&["--shards", &shards.to_string()])
}

fn connections_read_each_others_writes(shards: usize) {
    check_each_others_writes(start(shards), shards);
}

fn check_each_others_writes(server: Server, shards: usize) {
    let mut clients = connections(&server, shards);
    write_all(&mut clients);
    read_all(&mut clients);
}

fn keys_gathers_every_shard(shards: usize) {
    let server = start(shards);
    let mut clients = connections(&server, shards);
    write_all(&mut clients);
    let expected: BTreeSet<String> = (0..IDS).map(id).collect();
    for client in clients.iter_mut().take(BATCH) {
        let keys = client.cmd(&["KEYS", "doc:*"]).texts();
        assert_eq!(keys.len(), IDS, "duplicates or misses");
        assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), expected);
    }
}

fn every_shard_owns_documents(shards: usize) {
    let server = start(shards);
    let mut clients = connections(&server, shards);
    write_all(&mut clients);
    let lines = shard_lines(&mut clients[0]);
    let total: u64 = lines.iter().map(|l| shard_field(l, "documents")).sum();
    assert_eq!(total, IDS as u64, "{lines:?}");
    for line in &lines {
        assert!(shard_field(line, "documents") > 0, "{lines:?}");
    }
}

#[test]
fn two_shards_connections_read_each_others_writes() {
    connections_read_each_others_writes(2);
}

/// With `--idle-spin-us 0` a shard out of work sleeps at once, so every reply from the other
/// shard has to wake it (the default spin catches most replies awake).
#[test]
fn two_shards_that_sleep_at_once_read_each_others_writes() {
    check_each_others_writes(Server::start(&["--shards", "2", "--idle-spin-us", "0"]), 2);
}

/// Unpinned shards (`--no-pin`) spin before sleeping too, on threads the kernel may move.
#[test]
fn two_unpinned_shards_read_each_others_writes() {
    check_each_others_writes(Server::start(&["--shards", "2", "--no-pin"]), 2);
}

#[test]
fn two_shards_keys_gathers_ids_from_every_shard() {
    keys_gathers_every_shard(2);
}

#[test]
fn two_shards_every_shard_owns_documents() {
    every_shard_owns_documents(2);
}

#[test]
fn four_shards_connections_read_each_others_writes() {
    connections_read_each_others_writes(4);
}

#[test]
fn four_shards_keys_gathers_ids_from_every_shard() {
    keys_gathers_every_shard(4);
}

#[test]
fn four_shards_every_shard_owns_documents() {
    every_shard_owns_documents(4);
}

#[test]
fn increments_from_rotating_connections_all_count() {
    let server = start(4);
    let mut clients = connections(&server, 4);
    let count = clients.len();
    for round in 1..=3 {
        for i in 0..IDS {
            let client = &mut clients[(i + round) % count];
            let reply = client.cmd(&["INC", &id(i), "hits", "1"]);
            assert_eq!(reply, Resp::Int(round as i64), "{}", id(i));
        }
    }
}

#[test]
fn every_shard_accepts_connections_once_the_server_answers() {
    const OPENED: u64 = 160;
    let server = start(16);
    // A burst, as when a fleet of clients reconnects after a restart: connect all, then talk.
    let mut clients: Vec<Client> = (0..OPENED).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
    }
    let lines = shard_lines(&mut clients[0]);
    let busiest = lines.iter().map(|l| shard_field(l, "connections")).max();
    assert!(
        busiest.is_some_and(|n| n <= OPENED / 4),
        "connections opened right after start-up crowd one shard: {lines:#?}"
    );
}
