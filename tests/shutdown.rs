//! Shutdown by signal: SIGTERM makes usld exit with status 0, idle or with clients connected,
//! and a new usld can start on the same port right after.

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
