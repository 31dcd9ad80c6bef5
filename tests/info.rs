//! `INFO` over a real socket: every section and its key fields, asking for one section, and the
//! counters (commands processed, connected clients, documents per shard, keyspace) moving with
//! what clients do.

mod common;

use common::{ok, Client, Server};

const SECTIONS: [&str; 7] = [
    "# Server",
    "# Clients",
    "# Memory",
    "# Persistence",
    "# Stats",
    "# Shards",
    "# Keyspace",
];

/// The value of `field:` in INFO text, as a number.
fn field(info: &str, name: &str) -> u64 {
    let prefix = format!("{name}:");
    let line = info
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name} in INFO:\n{info}"));
    line[prefix.len()..].trim().parse().expect("numeric field")
}

fn info(client: &mut Client, sections: &[&str]) -> String {
    let mut args = vec!["INFO"];
    args.extend_from_slice(sections);
    client.cmd(&args).text()
}

#[test]
fn info_has_every_section() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let text = info(&mut client, &[]);
    for section in SECTIONS {
        assert!(text.contains(section), "no {section} in:\n{text}");
    }
    assert!(text.contains("\r\nloading:0\r\n"), "{text}");
    field(&text, "total_commands_processed");
    field(&text, "connected_clients");
}

#[test]
fn info_with_a_section_answers_only_that_section() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let text = info(&mut client, &["persistence"]);
    assert!(text.starts_with("# Persistence\r\n"), "{text}");
    assert!(text.contains("loading:0"), "{text}");
    for other in SECTIONS.iter().filter(|s| **s != "# Persistence") {
        assert!(!text.contains(other), "{other} in:\n{text}");
    }
}

#[test]
fn info_shards_has_one_line_per_shard() {
    let server = Server::start(&["--shards", "3"]);
    let mut client = server.connect();
    let text = info(&mut client, &["shards"]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("shard")).collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("shard{i}:documents=")), "{text}");
    }
}

#[test]
fn info_keyspace_counts_documents_only_when_there_are_some() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert!(!info(&mut client, &["keyspace"]).contains("db0:"));
    for id in ["a", "b", "c"] {
        assert_eq!(client.cmd(&["SET", id, "v", "1"]), ok());
    }
    let text = info(&mut client, &["keyspace"]);
    assert!(text.contains("db0:keys=3,"), "{text}");
}

/// `avg_ttl` is the mean time left of the documents with a TTL, over every shard, in ms; the
/// documents without one count only in `keys`.
#[test]
fn info_keyspace_avg_ttl_is_the_mean_time_left_over_all_shards() {
    const HOUR_MS: u64 = 3_600_000;
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    for (id, ttl_ms) in [("t1", HOUR_MS), ("t2", 2 * HOUR_MS), ("t3", 3 * HOUR_MS)] {
        let ttl = ttl_ms.to_string();
        assert_eq!(client.cmd(&["CREATE", id, "TTL", &ttl]), ok());
    }
    assert_eq!(client.cmd(&["SET", "forever", "v", "1"]), ok());
    let text = info(&mut client, &["keyspace"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("db0:"))
        .unwrap_or_else(|| panic!("no db0 line in {text}"));
    let fields: Vec<&str> = line["db0:".len()..].split(',').collect();
    assert_eq!(fields[..2], ["keys=4", "expires=3"], "{line}");
    let avg_ttl: u64 = fields[2]
        .strip_prefix("avg_ttl=")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no avg_ttl in {line}"));
    // The mean of one, two and three hours, less the time the test has taken so far.
    assert!(
        avg_ttl <= 2 * HOUR_MS && avg_ttl > 2 * HOUR_MS - 600_000,
        "avg_ttl {avg_ttl} is not about two hours"
    );
}

#[test]
fn info_total_commands_processed_counts_each_command() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let before = field(&info(&mut client, &["stats"]), "total_commands_processed");
    for _ in 0..5 {
        client.cmd(&["PING"]);
    }
    let after = field(&info(&mut client, &["stats"]), "total_commands_processed");
    assert_eq!(after - before, 6, "5 PINGs and one INFO");
}

#[test]
fn info_connected_clients_counts_open_connections() {
    let server = Server::start(&[]);
    let mut clients: Vec<Client> = (0..4).map(|_| server.connect_admitted()).collect();
    let text = info(&mut clients[0], &["clients"]);
    let connected = field(&text, "connected_clients");
    assert!(connected >= 4, "4 clients open, INFO says {connected}");
}
