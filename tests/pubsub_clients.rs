//! Real clients consuming change events: redis-py's `pubsub()` API with RESP2 and RESP3 pushes,
//! and the seed README's smart-switch device code run as written.

mod common;

use std::process::{Command, Output};

use common::{py_script, require_redis_py, require_tool, run_bounded, stdout_text, Server};

fn python(script: &str, args: &[&str]) -> Output {
    run_bounded(
        Command::new(require_tool("python3"))
            .arg(py_script(script))
            .args(args),
        b"",
    )
}

fn assert_passed(output: &Output, expected: &str) {
    let stdout = stdout_text(output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim_end(), expected, "{stderr}");
}

#[test]
fn redis_py_pubsub_consumes_events_over_resp2() {
    require_redis_py();
    let server = Server::start(&["--shards", "2"]);
    let output = python("redis_py_pubsub.py", &["2", &server.port.to_string()]);
    assert_passed(&output, "redis-py pubsub: ok");
}

#[test]
fn redis_py_pubsub_consumes_events_as_resp3_pushes() {
    require_redis_py();
    let server = Server::start(&["--shards", "2"]);
    let output = python("redis_py_pubsub.py", &["3", &server.port.to_string()]);
    assert_passed(&output, "redis-py pubsub: ok");
}

#[test]
fn the_seed_smart_switch_example_sees_the_phone_turn_it_off() {
    let server = Server::start(&["--shards", "2", "--password", "device-key"]);
    let output = python("seed_iot_switch.py", &[&server.port.to_string()]);
    assert_passed(&output, "relay off");
}
