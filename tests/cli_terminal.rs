//! `ussl`'s interactive prompt under a real pseudo-terminal (expectrl), typed at as a person
//! would: the seed's transcript, `help`, history across sessions, Ctrl-C, quit/exit/Ctrl-D.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{RedisServer, Server};
use expectrl::process::unix::{PtyStream, UnixProcess};
use expectrl::{ControlCode, Eof, Expect, Session};

type Terminal = Session<UnixProcess, PtyStream>;

/// How long to wait for expected output before failing: it only turns a hang into a failure.
const EXPECT_WAIT: Duration = Duration::from_secs(20);
/// The Up arrow, as a terminal sends it.
const UP: &str = "\x1b[A";

/// A fresh home directory, so history starts empty and stays inside the test; removed when
/// dropped.
fn temp_home() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp home")
}

/// `ussl` on a pseudo-terminal, aimed at `port`, with `home` as its home directory.
fn prompt(port: u16, home: &Path) -> Terminal {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ussl"));
    command
        .args(["-p", &port.to_string()])
        .env("HOME", home)
        .env("TERM", "xterm")
        .env_remove("USSL_PASSWORD")
        .env_remove("USSL_HISTFILE");
    let mut terminal = Session::spawn(command).expect("spawn ussl on a pty");
    terminal.set_expect_timeout(Some(EXPECT_WAIT));
    terminal.expect("ussl> ").expect("first prompt");
    terminal
}

/// Types `line`, then waits for each of `expected` in order and for the next prompt.
fn run(terminal: &mut Terminal, line: &str, expected: &[&str]) {
    terminal.send_line(line).expect("type a line");
    for text in expected {
        if let Err(e) = terminal.expect(*text) {
            panic!("after {line:?}: {text:?} not shown: {e}");
        }
    }
    terminal.expect("ussl> ").expect("prompt again");
}

/// Waits for the program to end and returns its exit code.
fn exit_code(mut terminal: Terminal) -> i32 {
    terminal.expect(Eof).expect("ussl exits");
    match terminal.get_process_mut().wait().expect("wait") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("ussl did not exit normally: {other:?}"),
    }
}

#[test]
fn seed_transcript_help_and_quit() {
    let server = Server::start(&[]);
    let home = temp_home();
    let mut terminal = prompt(server.port, home.path());
    run(&mut terminal, "PING", &["PONG"]);
    run(&mut terminal, r#"SET user:1 name "Alice""#, &["+OK"]);
    run(&mut terminal, "GET user:1", &[r#"{"name": "Alice"}"#]);
    run(&mut terminal, "INC counter:views count 1", &["\n1\r"]);
    terminal.send_line("KEYS *").expect("type");
    let listed = terminal.expect("ussl> ").expect("KEYS listed");
    let listed = String::from_utf8_lossy(listed.before());
    for key in ["user:1", "counter:views"] {
        assert!(
            listed.contains(&format!("1) {key}")) || listed.contains(&format!("2) {key}")),
            "{listed:?}"
        );
    }
    run(
        &mut terminal,
        "help",
        &["SET <id> <path> <value>", "SUB <pattern>", "quit, exit"],
    );
    run(&mut terminal, "help inc", &["INC <id> <path> <delta>"]);
    terminal.send_line("quit").expect("type quit");
    assert_eq!(exit_code(terminal), 0);
}

#[test]
fn history_is_kept_across_sessions_without_passwords() {
    let server = Server::start(&[]);
    let home = temp_home();
    let mut first = prompt(server.port, home.path());
    run(&mut first, "SET h n 41", &["+OK"]);
    run(&mut first, "AUTH not-remembered", &["(error)"]);
    run(
        &mut first,
        "hello 2 auth default not-remembered-either",
        &["usld"],
    );
    run(&mut first, "INC h n 1", &["42"]);
    first.send_line("exit").expect("type exit");
    assert_eq!(exit_code(first), 0);

    let saved = std::fs::read_to_string(home.path().join(".ussl_history")).expect("history file");
    assert!(
        saved.contains("INC h n 1") && saved.contains("SET h n 41"),
        "{saved}"
    );
    assert!(
        !saved.contains("not-remembered"),
        "AUTH and HELLO ... AUTH lines must not be saved: {saved}"
    );

    // In a new session, Up recalls the last command of the previous one; Enter runs it again.
    let mut second = prompt(server.port, home.path());
    second.send(UP).expect("press Up");
    second.expect("INC h n 1").expect("recalled line");
    second.send("\r").expect("press Enter");
    second.expect("43").expect("the recalled command ran");
    second.expect("ussl> ").expect("prompt");
    second.send(ControlCode::EndOfTransmission).expect("Ctrl-D");
    assert_eq!(exit_code(second), 0);
}

#[test]
fn usld_changes_stream_after_sub_until_ctrl_c() {
    let server = Server::start(&["--shards", "2"]);
    let home = temp_home();
    let mut terminal = prompt(server.port, home.path());
    terminal.send_line("SUB user:*").expect("type");
    terminal.expect("1) psubscribe").expect("confirmation");
    terminal.expect("press Ctrl-C to stop").expect("hint");
    let mut writer = server.connect();
    assert_eq!(writer.cmd(&["SET", "user:7", "name", "Ann"]), common::ok());
    terminal.expect("1) pmessage").expect("event");
    terminal.expect("3) user:7").expect("document id");
    terminal
        .expect(r#""value": "Ann""#)
        .expect("the change's delta");
    terminal.send(ControlCode::EndOfText).expect("Ctrl-C");
    terminal.expect("(stopped)").expect("stream stopped");
    run(&mut terminal, "GET user:7", &[r#"{"name": "Ann"}"#]);
    // Ctrl-C at the prompt clears the line instead of ending the program.
    terminal.send("GET half-typed").expect("type");
    terminal.send(ControlCode::EndOfText).expect("Ctrl-C");
    terminal.expect("ussl> ").expect("fresh prompt");
    run(&mut terminal, "PING", &["PONG"]);
    terminal.send_line("QUIT").expect("type QUIT");
    assert_eq!(exit_code(terminal), 0);
}

#[test]
fn subscription_stream_stops_on_ctrl_c() {
    // The streaming path, against Redis's PSUBSCRIBE (the shape usld's SUB will push).
    let redis = RedisServer::start();
    let home = temp_home();
    let mut terminal = prompt(redis.port, home.path());
    terminal.send_line("PSUBSCRIBE news:*").expect("type");
    terminal.expect("1) psubscribe").expect("confirmation");
    terminal.expect("press Ctrl-C to stop").expect("hint");
    let mut publisher = redis.connect();
    assert_eq!(
        publisher.cmd(&["PUBLISH", "news:1", "hello"]),
        common::int(1)
    );
    terminal.expect("1) pmessage").expect("message");
    terminal.expect("3) news:1").expect("channel");
    terminal.expect("4) hello").expect("payload");
    terminal.send(ControlCode::EndOfText).expect("Ctrl-C");
    terminal.expect("(stopped)").expect("stream stopped");
    terminal
        .expect("ussl (not connected)> ")
        .expect("prompt back");
    // The next command reconnects, so the old subscription is gone.
    run(&mut terminal, "PING", &["PONG"]);
    assert_eq!(
        publisher.cmd(&["PUBLISH", "news:2", "again"]),
        common::int(0)
    );
    terminal
        .send(ControlCode::EndOfTransmission)
        .expect("Ctrl-D");
    assert_eq!(exit_code(terminal), 0);
}
