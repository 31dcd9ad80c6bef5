//! `ussl` driven as a script would: one-shot `-c`, commands piped on stdin, `-r/-i`, the output
//! formats, passwords, and the messages for an unreachable server and a lost connection. The
//! interactive prompt is tested under a pseudo-terminal in `cli_terminal.rs`.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, run_bounded, RedisServer, Server, Watchdog};

/// `ussl` aimed at `port`, with no password from the test runner's environment.
fn ussl(port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ussl"));
    command
        .args(["-p", &port.to_string()])
        .env_remove("USSL_PASSWORD");
    command
}

fn run(command: &mut Command) -> Output {
    run_bounded(command, b"")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn one_shot_prints_the_seed_transcript() {
    let server = Server::start(&[]);
    let shown = |line: &str| {
        let output = run(ussl(server.port).args(["--no-raw", "-c", line]));
        assert_eq!(output.status.code(), Some(0), "{line}: {}", stderr(&output));
        stdout(&output)
    };
    assert_eq!(shown("PING"), "PONG\n");
    assert_eq!(shown(r#"SET user:1 name "Alice""#), "+OK\n");
    assert_eq!(shown("GET user:1"), "{\"name\": \"Alice\"}\n");
    assert_eq!(shown("INC counter:views count 1"), "1\n");
    let keys: BTreeSet<String> = shown("KEYS *").lines().map(str::to_string).collect();
    let expected: BTreeSet<String> = ["1) user:1", "2) counter:views"].map(String::from).into();
    let renumbered: BTreeSet<String> = ["1) counter:views", "2) user:1"].map(String::from).into();
    assert!(keys == expected || keys == renumbered, "{keys:?}");
}

#[test]
fn one_shot_error_reply_exits_non_zero() {
    let server = Server::start(&[]);
    let typed = run(ussl(server.port).args(["--no-raw", "-c", "NOSUCH thing"]));
    assert_eq!(typed.status.code(), Some(1));
    assert!(
        stdout(&typed).starts_with("(error) ERR unknown command"),
        "{}",
        stdout(&typed)
    );
    let raw = run(ussl(server.port).args(["--raw", "-c", "INC doc path notanumber"]));
    assert_eq!(raw.status.code(), Some(1));
    assert_eq!(stdout(&raw), "", "raw errors stay off stdout");
    assert!(stderr(&raw).starts_with("ERR"), "{}", stderr(&raw));
}

/// ussl reads RESP2 only: `HELLO 3` is refused before it is sent, and the connection goes on
/// answering in RESP2.
#[test]
fn hello_3_is_refused_by_ussl_itself() {
    let server = Server::start(&[]);
    let output = run(ussl(server.port).args(["-c", "HELLO 3"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("ussl reads RESP2 replies only"),
        "{}",
        stderr(&output)
    );
    let piped = run_bounded(&mut ussl(server.port), b"HELLO 3\nSET h n 1\nGET h\n");
    assert_eq!(stdout(&piped), "OK\n{\"n\": 1}\n");
}

#[test]
fn unreachable_server_is_a_clear_message() {
    let port = free_port();
    let output = run(ussl(port).args(["-c", "PING"]));
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("could not connect to 127.0.0.1:{port}")),
        "{message}"
    );
    assert!(message.contains("is usld running"), "{message}");
}

#[test]
fn wrong_password_is_a_clear_message_and_the_right_one_works() {
    let server = Server::start(&["--password", "s3cret"]);
    let wrong = run(ussl(server.port).args(["-a", "nope", "-c", "PING"]));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("authentication failed: wrong password"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(stdout(&wrong), "");
    let right = run(ussl(server.port).args(["-a", "s3cret", "-c", "SET a b 1"]));
    assert_eq!(right.status.code(), Some(0), "{}", stderr(&right));
    assert_eq!(stdout(&right), "OK\n");
}

#[test]
fn ussl_password_from_the_environment() {
    let server = Server::start(&["--password", "s3cret"]);
    let with_env = run(ussl(server.port)
        .env("USSL_PASSWORD", "s3cret")
        .args(["-c", "SET d n 5"]));
    assert_eq!(with_env.status.code(), Some(0), "{}", stderr(&with_env));
    let without = run(ussl(server.port).args(["-c", "GET d"]));
    assert_eq!(without.status.code(), Some(1));
    assert!(stderr(&without).contains("NOAUTH"), "{}", stderr(&without));
}

#[test]
fn piped_stdin_runs_each_line_and_keeps_going_after_an_error() {
    let server = Server::start(&[]);
    let script = b"SET u name \"Alice\"\nGET u\n\nNOSUCH\nINC c n 2\nKEYS u*\nGET u PATH name\n";
    let output = run_bounded(&mut ussl(server.port), script);
    assert_eq!(
        stdout(&output),
        "OK\n{\"name\": \"Alice\"}\n2\nu\n\"Alice\"\n"
    );
    assert!(
        stderr(&output).contains("unknown command 'NOSUCH'"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "an error reply makes the exit status 1"
    );
    let clean = run_bounded(&mut ussl(server.port), b"PING\nquit\nPING\n");
    assert_eq!(
        (stdout(&clean).as_str(), clean.status.code()),
        ("PONG\n", Some(0))
    );
}

#[test]
fn repeat_runs_the_command_n_times_with_the_interval_between() {
    let server = Server::start(&[]);
    let began = Instant::now();
    let output = run(ussl(server.port).args(["-r", "3", "-i", "0.1", "-c", "INC hits n 1"]));
    assert_eq!(stdout(&output), "1\n2\n3\n");
    assert_eq!(output.status.code(), Some(0));
    // Two pauses of 0.1 s separate three runs: a lower bound that a sleep guarantees.
    assert!(
        began.elapsed() >= Duration::from_millis(200),
        "{:?}",
        began.elapsed()
    );
}

#[test]
fn raw_and_json_formats() {
    let server = Server::start(&[]);
    run(ussl(server.port).args(["-c", "SET doc tags [1, 2]"]));
    let raw = run(ussl(server.port).args(["--raw", "-c", "GET doc"]));
    assert_eq!(stdout(&raw), "{\"tags\": [1, 2]}\n");
    let json = run(ussl(server.port).args(["--json", "-c", "GET doc"]));
    assert_eq!(stdout(&json), "{\"tags\":[1,2]}\n");
    let keys = run(ussl(server.port).args(["--json", "-c", "KEYS *"]));
    assert_eq!(stdout(&keys), "[\"doc\"]\n");
    let error = run(ussl(server.port).args(["--json", "-c", "NOSUCH"]));
    let value: serde_json::Value = serde_json::from_str(stdout(&error).trim()).expect("json");
    assert!(
        value["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("ERR unknown command")),
        "{value}"
    );
    assert_eq!(error.status.code(), Some(1));
}

/// Starts `command` with its standard streams piped, killed if it outlives the harness's bound.
fn spawn_watched(command: &mut Command) -> (Child, Watchdog) {
    let child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ussl");
    let watchdog = Watchdog::new(child.id());
    (child, watchdog)
}

/// Reads the next `count` lines a child printed.
fn read_lines(output: &mut impl BufRead, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let mut line = String::new();
            output.read_line(&mut line).expect("read a line");
            line
        })
        .collect()
}

#[test]
fn lost_connection_is_reported() {
    let server = Server::start(&[]);
    let (mut child, _watchdog) = spawn_watched(&mut ussl(server.port));
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    input.write_all(b"PING\n").expect("write");
    assert_eq!(read_lines(&mut output, 1), ["PONG\n"]);
    drop(server);
    input.write_all(b"PING\n").expect("write");
    drop(input);
    let result = child.wait_with_output().expect("wait");
    assert_eq!(result.status.code(), Some(1));
    let message = stderr(&result);
    assert!(
        message.contains("connection to 127.0.0.1:") && message.contains("lost"),
        "{message}"
    );
}

#[test]
fn one_shot_subscription_streams_messages() {
    // SUB is not in usld yet; the streaming path is the same for Redis's PSUBSCRIBE.
    let redis = RedisServer::start();
    let (mut child, _watchdog) =
        spawn_watched(ussl(redis.port).args(["--raw", "-c", "PSUBSCRIBE news:*"]));
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    assert_eq!(
        read_lines(&mut output, 3),
        ["psubscribe\n", "news:*\n", "1\n"]
    );
    let mut publisher = redis.connect();
    assert_eq!(
        publisher.cmd(&["PUBLISH", "news:1", "{\"a\": 1}"]),
        common::int(1)
    );
    assert_eq!(
        read_lines(&mut output, 4),
        ["pmessage\n", "news:*\n", "news:1\n", "{\"a\": 1}\n"]
    );
    let _ = child.kill();
    let _ = child.wait();
}
