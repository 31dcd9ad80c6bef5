//! `usld bench` with small counts against a real usld and a real redis-server: every test runs,
//! counts add up, the writes really land, seeds replay, and failures are reported, not hung on.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Output};

use common::{free_port, run_bounded, Client, RedisServer, Resp, Server};
use serde_json::Value;

/// `usld bench` aimed at `port`, with no password from the test runner's environment.
fn bench(port: u16, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_usld"));
    command
        .arg("bench")
        .args(["-p", &port.to_string()])
        .args(extra)
        .env_remove("USSL_PASSWORD");
    run_bounded(&mut command, b"")
}

/// Runs with `--json` and returns the report.
fn bench_json(port: u16, extra: &[&str]) -> (Value, Option<i32>) {
    let output = bench(port, &[extra, &["--json"]].concat());
    let text = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.code())
}

/// The report of test `name`.
fn test<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tests"]
        .as_array()
        .and_then(|tests| tests.iter().find(|t| t["test"] == name))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

fn assert_all_ok(report: &Value, names: &[&str], ops: u64) {
    for name in names {
        let t = test(report, name);
        assert_eq!(t["ok"], ops, "{t}");
        assert_eq!(t["failed"], 0, "{t}");
        assert!(t["throughput"].as_f64().is_some_and(|x| x > 0.0), "{t}");
        for q in ["avg", "p50", "p99", "p99_9", "max"] {
            assert!(
                t["latency_us"][q].as_f64().is_some_and(|x| x > 0.0),
                "{q}: {t}"
            );
        }
    }
}

/// Checks that `usld bench` exited with `code` and said `message` on stderr.
fn assert_failed(output: &Output, code: i32, message: &str) {
    assert_eq!(output.status.code(), Some(code));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(message), "{stderr}");
}

fn keys(client: &mut Client, pattern: &str) -> BTreeSet<String> {
    client.cmd(&["KEYS", pattern]).texts().into_iter().collect()
}

#[test]
fn seed_tests_against_usld() {
    let server = Server::start(&[]);
    let (report, status) = bench_json(server.port, &["-c", "2", "-n", "50", "--keyspace", "20"]);
    assert_eq!(status, Some(0), "{report}");
    assert_all_ok(&report, &["conn", "set", "get", "inc", "mixed"], 100);
    assert_eq!(report["clients"], 2);
    assert_eq!(report["ops_per_client"], 50);
    // The writes landed: documents under the bench keys with the value and the counter.
    let mut client = server.connect();
    let written = keys(&mut client, "bench:*");
    assert!(!written.is_empty() && written.len() <= 20, "{written:?}");
    let increments: i64 = written
        .iter()
        .map(|key| {
            client
                .cmd(&["GET", key, "PATH", "count"])
                .json()
                .as_i64()
                .unwrap_or(0)
        })
        .sum();
    // 100 INC operations plus the mixed test's share (20% of 100, drawn by the seed).
    assert!(increments > 100, "{increments}");
    let any = written.iter().next().expect("a key");
    assert_eq!(client.cmd(&["GET", any, "PATH", "value"]).json(), "xxx");
}

#[test]
fn human_output_has_a_row_per_test_and_no_progress_line_when_piped() {
    let server = Server::start(&[]);
    let output = bench(
        server.port,
        &["-c", "2", "-n", "50", "--tests", "set,get", "-P", "8"],
    );
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("usld bench: usld at 127.0.0.1:"), "{text}");
    assert!(text.contains("pipeline 8"), "{text}");
    for row in ["\nset ", "\nget "] {
        let line = text
            .split_once(row)
            .map(|(_, rest)| rest.lines().next().unwrap_or(""))
            .unwrap_or("");
        assert!(
            line.contains("100") && line.contains("ops/s"),
            "{row:?} row: {line:?}\n{text}"
        );
    }
    assert!(
        ["p50", "p99", "p99.9", "max", "failed"]
            .iter()
            .all(|h| text.contains(h)),
        "{text}"
    );
    assert!(
        !text.contains('\r'),
        "a progress line was drawn on a pipe: {text:?}"
    );
}

#[test]
fn sub_against_usld_delivers_every_change_to_every_subscriber() {
    let server = Server::start(&["--shards", "2"]);
    let (report, status) = bench_json(server.port, &["-c", "3", "-n", "40", "--tests", "sub"]);
    assert_eq!(status, Some(0), "{report}");
    // Three subscribers each receive all forty changes, each carrying its send time.
    assert_all_ok(&report, &["sub"], 120);
}

#[test]
fn a_paced_publisher_keeps_its_rate_and_still_delivers_everything() {
    let server = Server::start(&["--shards", "2"]);
    let (report, status) = bench_json(
        server.port,
        &["-c", "3", "-n", "20", "--tests", "sub", "--rate", "100"],
    );
    assert_eq!(status, Some(0), "{report}");
    assert_all_ok(&report, &["sub"], 60);
    // Twenty writes at 100 a second start 10 ms apart: the last one 190 ms after the first.
    let seconds = test(&report, "sub")["seconds"].as_f64().expect("seconds");
    assert!(seconds >= 0.19, "paced run took only {seconds} s");

    let zero = bench(server.port, &["--tests", "sub", "--rate", "0"]);
    assert_failed(&zero, 2, "--rate must be a positive number");
}

#[test]
fn redis_target_runs_every_test_on_hashes() {
    let redis = RedisServer::start();
    let (report, status) = bench_json(
        redis.port,
        &[
            "--target",
            "redis",
            "-c",
            "2",
            "-n",
            "50",
            "--tests",
            "all",
            "--keyspace",
            "20",
        ],
    );
    assert_eq!(status, Some(0), "{report}");
    assert_eq!(report["target"], "redis");
    assert_all_ok(&report, &["conn", "set", "get", "inc", "mixed", "sub"], 100);
    let mut client = redis.connect();
    let written = keys(&mut client, "bench:*");
    let any = written
        .iter()
        .find(|k| !k.starts_with("bench:sub:"))
        .expect("a hash");
    assert_eq!(client.cmd(&["HGET", any, "value"]), common::bulk("xxx"));
    assert!(matches!(client.cmd(&["TYPE", any]), Resp::Simple(t) if t == "hash"));
}

#[test]
fn same_seed_same_keys() {
    let keys_written = |seed: &str| {
        let server = Server::start(&[]);
        let args = [
            "-c",
            "2",
            "-n",
            "30",
            "--tests",
            "set",
            "--keyspace",
            "1000",
            "--seed",
            seed,
        ];
        let (_, status) = bench_json(server.port, &args);
        assert_eq!(status, Some(0));
        keys(&mut server.connect(), "*")
    };
    assert_eq!(keys_written("7"), keys_written("7"));
    assert_ne!(keys_written("7"), keys_written("8"));
}

#[test]
fn password_and_unreachable_are_clear_errors() {
    let server = Server::start(&["--password", "s3cret"]);
    let (report, status) = bench_json(
        server.port,
        &["-a", "s3cret", "-c", "2", "-n", "20", "--tests", "conn,set"],
    );
    assert_eq!(status, Some(0), "{report}");
    assert_all_ok(&report, &["conn", "set"], 40);

    let wrong = bench(server.port, &["-a", "nope", "-c", "2", "-n", "20"]);
    assert_failed(&wrong, 1, "refused to authenticate: WRONGPASS");

    let port = free_port();
    let unreachable = bench(port, &["-c", "2", "-n", "20"]);
    assert_failed(
        &unreachable,
        1,
        &format!("could not connect to 127.0.0.1:{port}"),
    );

    let bad = bench(port, &["--pipeline", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}
