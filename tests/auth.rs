//! `--password`: what works before `AUTH` (PING, AUTH, QUIT, HELLO with AUTH), the exact NOAUTH
//! refusal and that refused commands have no effect, wrong passwords, `AUTH default`, `AUTH`
//! without a configured password, and the small pre-auth request limits (CVE-2021-32675).

mod common;

use common::{bulk, encode, ok, Client, Resp, Server};

const NOAUTH: &str = "ERR NOAUTH Authentication required. Use AUTH <password>";

fn secured() -> Server {
    Server::start(&["--password", "secret"])
}

#[test]
fn commands_before_auth_are_refused_with_noauth_and_have_no_effect() {
    let server = secured();
    let mut client = server.connect();
    for args in [
        &["SET", "u", "name", "Mallory"][..],
        &["GET", "u"],
        &["KEYS", "*"],
        &["INFO"],
        &["CREATE", "v"],
    ] {
        assert_eq!(client.cmd(args), Resp::Error(NOAUTH.into()), "{args:?}");
    }
    assert_eq!(client.cmd(&["AUTH", "secret"]), ok());
    assert_eq!(client.cmd(&["GET", "u"]), bulk("null"));
    assert_eq!(client.cmd(&["KEYS", "*"]), Resp::Array(Some(vec![])));
}

#[test]
fn ping_is_answered_before_auth() {
    let server = secured();
    let mut client = server.connect();
    assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn quit_is_answered_before_auth() {
    let server = secured();
    let mut client = server.connect();
    assert_eq!(client.cmd(&["QUIT"]), ok());
    assert!(client.is_closed());
}

#[test]
fn hello_with_auth_authenticates() {
    let server = secured();
    let mut client = server.connect();
    let reply = client.cmd(&["HELLO", "2", "AUTH", "default", "secret"]);
    assert!(matches!(reply, Resp::Array(Some(_))), "{reply:?}");
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
}

#[test]
fn hello_without_auth_is_refused_before_auth() {
    let server = secured();
    let mut client = server.connect();
    let reply = client.cmd(&["HELLO", "2"]);
    assert!(reply.is_error("NOAUTH"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), Resp::Error(NOAUTH.into()));
}

#[test]
fn hello_with_a_wrong_password_is_wrongpass() {
    let server = secured();
    let mut client = server.connect();
    let reply = client.cmd(&["HELLO", "2", "AUTH", "default", "guess"]);
    assert!(reply.is_error("WRONGPASS"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), Resp::Error(NOAUTH.into()));
}

#[test]
fn wrong_password_is_wrongpass_and_the_connection_stays_open() {
    let server = secured();
    let mut client = server.connect();
    let reply = client.cmd(&["AUTH", "guess"]);
    assert!(reply.is_error("WRONGPASS"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), Resp::Error(NOAUTH.into()));
    assert_eq!(client.cmd(&["AUTH", "secret"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"a": 1}"#));
}

#[test]
fn auth_with_the_default_user_works() {
    let server = secured();
    let mut client = server.connect();
    assert_eq!(client.cmd(&["AUTH", "default", "secret"]), ok());
    assert_eq!(client.cmd(&["GET", "u"]), bulk("null"));
}

#[test]
fn auth_with_another_user_is_wrongpass() {
    let server = secured();
    let mut client = server.connect();
    let reply = client.cmd(&["AUTH", "admin", "secret"]);
    assert!(reply.is_error("WRONGPASS"), "{reply:?}");
    assert_eq!(client.cmd(&["GET", "u"]), Resp::Error(NOAUTH.into()));
}

#[test]
fn authentication_is_per_connection() {
    let server = secured();
    let mut first = server.connect();
    assert_eq!(first.cmd(&["AUTH", "secret"]), ok());
    let mut second = server.connect();
    assert_eq!(second.cmd(&["GET", "u"]), Resp::Error(NOAUTH.into()));
}

#[test]
fn auth_without_a_configured_password_is_an_error() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    let reply = client.cmd(&["AUTH", "anything"]);
    assert!(reply.is_error("ERR"), "{reply:?}");
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
}

/// Writes `u` through an authenticated connection, for checking the server afterwards.
fn write_marker(server: &Server) {
    let mut client = server.connect();
    assert_eq!(client.cmd(&["AUTH", "secret"]), ok());
    assert_eq!(client.cmd(&["SET", "u", "a", "1"]), ok());
}

/// The server still serves an authenticated client and kept `u`.
fn assert_still_serving(server: &Server) {
    let mut client = server.connect();
    assert_eq!(client.cmd(&["AUTH", "secret"]), ok());
    assert_eq!(client.cmd(&["GET", "u"]), bulk(r#"{"a": 1}"#));
}

fn assert_refused_unauthenticated(client: &mut Client) {
    let reply = client.read();
    assert!(
        reply.is_error("ERR Protocol error: unauthenticated"),
        "{reply:?}"
    );
    assert!(client.is_closed(), "connection left open");
}

#[test]
fn unauthenticated_multibulk_of_more_than_10_args_is_refused_and_closed() {
    let server = secured();
    write_marker(&server);
    let mut client = server.connect();
    client.send(b"*11\r\n");
    assert_refused_unauthenticated(&mut client);
    assert_still_serving(&server);
}

#[test]
fn unauthenticated_bulk_over_16384_bytes_is_refused_and_closed() {
    let server = secured();
    write_marker(&server);
    let mut client = server.connect();
    client.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    assert_refused_unauthenticated(&mut client);
    assert_still_serving(&server);
}

#[test]
fn authenticated_clients_may_exceed_the_pre_auth_limits() {
    let server = secured();
    let mut client = server.connect();
    assert_eq!(client.cmd(&["AUTH", "secret"]), ok());
    let big = "x".repeat(20_000);
    assert_eq!(client.cmd(&["SET", "big", "v", &big]), ok());
    let words: Vec<&str> = ["SET", "u", "note"].into_iter().chain(["w"; 12]).collect();
    client.send(&encode(&words));
    assert_eq!(client.read(), ok());
    let note = client.cmd(&["GET", "u", "PATH", "note"]).json();
    assert_eq!(note, serde_json::json!(["w"; 12].join(" ")));
}

/// Replies to the commands `script` makes for a document id, sent one at a time on one
/// connection (each waiting for its reply), and sent in one write on a second connection, with
/// another document id: the server parses a pipeline ahead of running it, which must change
/// nothing, AUTH included.
fn sequential_and_pipelined(
    server: &Server,
    script: impl Fn(&str) -> Vec<Vec<String>>,
) -> (Vec<Resp>, Vec<Resp>) {
    let mut one_by_one = server.connect();
    let sequential = script("one")
        .iter()
        .map(|c| one_by_one.cmd(&as_strs(c)))
        .collect();
    let commands = script("all");
    let mut pipelined = server.connect();
    let write: Vec<u8> = commands.iter().flat_map(|c| encode(&as_strs(c))).collect();
    pipelined.send(&write);
    let replies = commands.iter().map(|_| pipelined.read()).collect();
    (sequential, replies)
}

fn as_strs(command: &[String]) -> Vec<&str> {
    command.iter().map(String::as_str).collect()
}

#[test]
fn a_pipeline_through_auth_is_answered_as_the_same_commands_one_by_one() {
    let server = secured();
    let big = "x".repeat(20_000);
    let script = |id: &str| -> Vec<Vec<String>> {
        let commands: [&[&str]; 9] = [
            &["GET", id],
            &["SET", id, "a", "1"],
            &["AUTH", "secret"],
            // Past the pre-auth bulk limit: parsed only once AUTH has run.
            &["SET", id, "big", &big],
            &["GET", id, "PATH", "a"],
            &["AUTH", "wrong"],
            &["SET", id, "a", "2"],
            &["GET", id, "PATH", "a"],
            &["PING"],
        ];
        commands
            .iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect()
    };
    let (sequential, pipelined) = sequential_and_pipelined(&server, script);
    assert_eq!(sequential[0], Resp::Error(NOAUTH.into()));
    assert_eq!(sequential[2], ok());
    assert_eq!(sequential[3], ok());
    assert_eq!(sequential[7], bulk("2"));
    assert_eq!(pipelined, sequential);
}
