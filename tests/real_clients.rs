//! Real Redis clients against a real usld: redis-cli (one-shot commands, a REPL session fed
//! through stdin, `-a` with a password), redis-py (run from `tests/py/redis_py_client.py`, with
//! RESP2 and with its default protocol) and redis-benchmark. Missing tools fail with a message
//! naming `scripts/install-test-deps.sh`.

mod common;

use std::process::{Command, Output};

use common::{py_script, require_redis_py, require_tool, run_bounded, stdout_text, Server};

fn redis_cli(server: &Server, args: &[&str], stdin: &[u8]) -> Output {
    let cli = require_tool("redis-cli");
    let port = server.port.to_string();
    let output = run_bounded(
        Command::new(cli)
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args),
        stdin,
    );
    assert!(
        output.status.success(),
        "redis-cli {args:?} failed: {output:?}"
    );
    output
}

fn redis_py(args: &[&str]) -> Output {
    let python = require_tool("python3");
    require_redis_py();
    run_bounded(
        Command::new(python)
            .arg(py_script("redis_py_client.py"))
            .args(args),
        b"",
    )
}

fn assert_script_passed(output: &Output, expected: &str) {
    let stdout = stdout_text(output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(expected), "{stdout}");
}

#[test]
fn redis_cli_ping_answers_pong() {
    let server = Server::start(&[]);
    let output = redis_cli(&server, &["PING"], b"");
    assert_eq!(stdout_text(&output), "PONG\n");
}

#[test]
fn redis_cli_set_then_get_returns_the_json_document() {
    let server = Server::start(&[]);
    let set = redis_cli(&server, &["SET", "u", "name", "Alice"], b"");
    assert_eq!(stdout_text(&set), "OK\n");
    let get = redis_cli(&server, &["GET", "u"], b"");
    assert_eq!(stdout_text(&get), "{\"name\": \"Alice\"}\n");
}

#[test]
fn redis_cli_session_through_stdin_runs_every_line() {
    let server = Server::start(&[]);
    let output = redis_cli(&server, &[], b"SET a x 1\nGET a\nINC a n 2\nKEYS a*\n");
    assert_eq!(stdout_text(&output), "OK\n{\"x\": 1}\n2\na\n");
}

#[test]
fn redis_cli_with_password_authenticates() {
    let server = Server::start(&["--password", "secret"]);
    let set = redis_cli(&server, &["-a", "secret", "SET", "u", "x", "1"], b"");
    assert_eq!(stdout_text(&set), "OK\n");
    let get = redis_cli(&server, &["-a", "secret", "GET", "u"], b"");
    assert_eq!(stdout_text(&get), "{\"x\": 1}\n");
    let anonymous = redis_cli(&server, &["GET", "u"], b"");
    assert!(stdout_text(&anonymous).contains("NOAUTH"), "{anonymous:?}");
}

#[test]
fn redis_py_resp2_commands_and_pipeline_work() {
    let server = Server::start(&[]);
    let output = redis_py(&["2", "basic", &server.port.to_string()]);
    assert_script_passed(&output, "redis-py basic: ok");
}

#[test]
fn redis_py_resp2_password_auth_works_and_wrong_password_raises() {
    let server = Server::start(&["--password", "secret"]);
    let output = redis_py(&["2", "auth", &server.port.to_string(), "secret"]);
    assert_script_passed(&output, "redis-py auth: ok");
}

#[test]
fn redis_py_default_protocol_commands_and_pipeline_work() {
    let server = Server::start(&[]);
    let output = redis_py(&["default", "basic", &server.port.to_string()]);
    assert_script_passed(&output, "redis-py basic: ok");
}

#[test]
fn redis_py_default_protocol_password_auth_works() {
    let server = Server::start(&["--password", "secret"]);
    let output = redis_py(&["default", "auth", &server.port.to_string(), "secret"]);
    assert_script_passed(&output, "redis-py auth: ok");
}

#[test]
fn redis_benchmark_completes_and_reports_throughput() {
    let benchmark = require_tool("redis-benchmark");
    let server = Server::start(&[]);
    let port = server.port.to_string();
    let output = run_bounded(
        Command::new(benchmark)
            .args(["-h", "127.0.0.1", "-p", &port])
            .args([
                "-n",
                "2000",
                "-c",
                "10",
                "-q",
                "SET",
                "doc:__rand_int__",
                "name",
                "Alice",
            ]),
        b"",
    );
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout_text(&output).contains("requests per second"),
        "{output:?}"
    );
    let mut client = server.connect();
    assert!(!client.cmd(&["KEYS", "doc:*"]).texts().is_empty());
}
