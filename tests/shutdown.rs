//! Shutdown by signal: SIGTERM makes usld exit with status 0, idle or with clients connected,
//! and a new usld can start on the same port right after, again and again.

mod common;

use common::{ok, Client, Server};

#[test]
fn sigterm_exits_with_status_zero() {
    let mut server = Server::start(&[]);
    server.terminate();
    assert_eq!(server.wait_exit(), Some(0));
}

#[test]
fn sigterm_with_connected_clients_exits_with_status_zero() {
    let mut server = Server::start(&["--shards", "2"]);
    let mut busy = server.connect();
    assert_eq!(busy.cmd(&["SET", "u", "a", "1"]), ok());
    let mut half = server.connect();
    half.send(b"*3\r\n$3\r\nSET\r\n");
    server.terminate();
    assert_eq!(server.wait_exit(), Some(0));
    assert!(
        busy.is_closed(),
        "a client of the stopped server was left open"
    );
}

#[test]
fn restart_on_the_same_port_after_sigterm_with_clients_connected_succeeds() {
    let mut first = Server::start(&[]);
    let port = first.port;
    let clients: Vec<Client> = (0..4).map(|_| first.connect_admitted()).collect();
    first.terminate();
    assert_eq!(first.wait_exit(), Some(0));
    for mut client in clients {
        assert!(
            client.is_closed(),
            "a client of the stopped server was left open"
        );
    }
    let second = Server::try_start_on(port, &[]).expect("restart on the same port");
    let mut client = second.connect();
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
}

#[test]
fn restarts_in_a_row_on_the_same_port_all_succeed() {
    // A usld that just exited may hold its listening socket a moment longer (its io_uring rings
    // are torn down after the process); the next start must wait for it, not fail. By hand
    // (release build, stopped right after a redis-benchmark run) about one quick restart in ten
    // failed that way; this runs the same sequence: two shards, then one, with pipelined
    // clients served just before each stop.
    let mut server = Server::start(&["--shards", "2"]);
    let port = server.port;
    for round in 0..6 {
        let mut clients: Vec<Client> = (0..50).map(|_| server.connect_admitted()).collect();
        for (i, client) in clients.iter_mut().enumerate() {
            let burst: Vec<u8> = (0..64)
                .flat_map(|n| format!("SET d:{i}:{n} n 1\r\n").into_bytes())
                .collect();
            client.send(&burst);
        }
        for client in &mut clients {
            for _ in 0..64 {
                assert_eq!(client.read(), ok());
            }
        }
        drop(clients);
        server.terminate();
        assert_eq!(server.wait_exit(), Some(0));
        let shards = if round % 2 == 0 { "1" } else { "2" };
        server = Server::try_start_on(port, &["--shards", shards])
            .unwrap_or_else(|e| panic!("restart {round} on the same port: {e}"));
    }
    assert_eq!(server.connect().cmd(&["SET", "u", "a", "1"]), ok());
}
