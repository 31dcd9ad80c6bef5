//! The seed README's examples, byte for byte against a real usld: the `nc` session, the
//! authentication session, the Python raw-socket example (run by `python3`), and the fleet and
//! sensor examples.

mod common;

use std::process::Command;

use common::{bulk, ok, py_script, require_tool, run_bounded, stdout_text, Client, Server};

/// Sends one inline line and checks the exact bytes answered.
fn exchange(client: &mut Client, line: &str, expected: &[u8]) {
    client.send(format!("{line}\r\n").as_bytes());
    let reply = client.read_bytes(expected.len());
    assert_eq!(
        String::from_utf8_lossy(&reply),
        String::from_utf8_lossy(expected),
        "reply to {line}"
    );
}

#[test]
fn nc_session_answers_byte_for_byte() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    exchange(&mut client, "PING", b"+PONG\r\n");
    exchange(&mut client, "CREATE user:123 STRATEGY lww", b"+OK\r\n");
    exchange(&mut client, r#"SET user:123 name "Alice""#, b"+OK\r\n");
    exchange(
        &mut client,
        "GET user:123",
        b"$17\r\n{\"name\": \"Alice\"}\r\n",
    );
    exchange(&mut client, "INC counter:views count 1", b":1\r\n");
    exchange(&mut client, "QUIT", b"+OK\r\n");
    assert!(client.is_closed(), "connection open after QUIT");
}

#[test]
fn auth_session_answers_byte_for_byte() {
    let server = Server::start(&["--password", "mysecret"]);
    let mut client = server.connect();
    let noauth = b"-ERR NOAUTH Authentication required. Use AUTH <password>\r\n";
    exchange(&mut client, "GET user:1", noauth);
    exchange(&mut client, "AUTH mysecret", b"+OK\r\n");
    exchange(&mut client, "GET user:1", b"$4\r\nnull\r\n");
}

#[test]
fn python_raw_socket_examples_run_as_written() {
    let python = require_tool("python3");
    let server = Server::start(&["--password", "mypassword"]);
    let script = py_script("readme_raw_socket.py");
    let output = run_bounded(
        Command::new(python)
            .arg(script)
            .arg(server.port.to_string()),
        b"",
    );
    let stdout = stdout_text(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for example in [
        "raw socket example: ok",
        "sensor example: ok",
        "fleet example: ok",
    ] {
        assert!(stdout.contains(example), "{stdout}");
    }
}

#[test]
fn fleet_example_stores_the_json_object_sent_unquoted() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let data = r#"{"lat": 45.1, "lon": 9.2, "speed": 80, "fuel": 0.65, "engine_temp": 90.5}"#;
    assert_eq!(
        client.inline(&format!("SET vehicle:truck-42 data {data}")),
        ok()
    );
    let doc = client.cmd(&["GET", "vehicle:truck-42"]);
    assert_eq!(doc, bulk(&format!(r#"{{"data": {data}}}"#)));
}

#[test]
fn sensor_example_stores_the_reading_as_a_number() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.inline("SET sensor:temp-01 value 21.5"), ok());
    assert_eq!(client.inline("GET sensor:temp-01 PATH value"), bulk("21.5"));
}
