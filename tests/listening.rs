//! Starting to listen: `--tcp-port 0` gives every shard the one port the kernel picked; a port
//! another server holds, or a locked-memory limit too small for io_uring, is refused at start
//! with a message that names it; and the shards pin no memory against that limit.

mod common;

use common::{listening_ports, ok, run_bounded, usld_command, Server};

/// With `--tcp-port 0` every shard listens on the same port (the kernel's pick), which `INFO`
/// reports, and connections to it reach every shard and see each other's writes.
#[test]
fn port_zero_gives_every_shard_one_port() {
    let server = Server::start_on_any_port(&["--shards", "2"]);
    let ports = listening_ports(server.pid());
    assert_eq!(ports, vec![server.port; 2], "each shard's listening port");
    assert_ne!(server.port, 0);

    let info = server.connect().cmd(&["INFO", "server"]).text();
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", server.port)),
        "{info}"
    );
    let mut clients = server.connect_each_shard(2);
    assert_eq!(clients[0].cmd(&["SET", "doc:1", "n", "1"]), ok());
    assert_eq!(clients[1].cmd(&["GET", "doc:1", "PATH", "n"]).text(), "1");
}

/// A second server on a port the first listens on exits at start with an error naming the
/// address, and the first keeps serving.
#[test]
fn a_port_in_use_is_refused_with_its_address() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(client.cmd(&["SET", "doc:1", "n", "1"]), ok());
    let output = run_bounded(&mut usld_command(server.port), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{}", server.port)),
        "{stderr}"
    );
    assert_eq!(client.cmd(&["GET", "doc:1", "PATH", "n"]).text(), "1");
}

/// Under a locked-memory limit too small for io_uring, usld exits at start with a message that
/// names the limit and how to raise it.
#[test]
fn a_low_locked_memory_limit_is_refused_with_the_fix() {
    let usld = usld_command(common::free_port());
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", "ulimit -l 64 && exec \"$0\" \"$@\""])
        .arg(usld.get_program())
        .args(usld.get_args());
    let output = run_bounded(&mut command, b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the locked-memory limit is 64 KiB") && stderr.contains("LimitMEMLOCK"),
        "{stderr}"
    );
}

/// Without `CAP_IPC_LOCK`, as any user but root runs it, usld pins no memory against the
/// locked-memory limit and starts without a warning. glommio registered an I/O buffer usld never
/// uses, which pinned 6 MiB per shard: under the default 8 MiB limit every shard past the first
/// logged an out-of-memory warning. As root, `setpriv` drops the capability.
#[test]
fn shards_pin_no_memory_and_start_without_a_warning() {
    let mut server = Server::start_under(
        "setpriv",
        &["--bounding-set", "-ipc_lock"],
        &["--shards", "2"],
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).expect("status");
    let pinned = status
        .lines()
        .find(|line| line.starts_with("VmPin:"))
        .expect("VmPin in /proc/PID/status");
    assert_eq!(
        pinned.split_whitespace().collect::<Vec<_>>(),
        ["VmPin:", "0", "kB"]
    );
    server.terminate();
    assert_eq!(server.wait_exit(), Some(0));
    let log = server.log();
    assert!(!log.contains("WARN"), "{log}");
}
