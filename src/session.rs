//! One client connection's own state: who it is and whether it has authenticated.
//!
//! It lives on the shard that accepted the connection and never moves; no document state is here.

use std::net::SocketAddr;

use crate::protocol::Protocol;

/// Per-connection state read by connection-level commands.
#[derive(Debug)]
pub struct Session {
    /// Server-wide unique id, for `CLIENT ID` and `HELLO`.
    pub id: u64,
    /// The peer's address, for logs and `CLIENT INFO`.
    pub peer: Option<SocketAddr>,
    /// The shard that accepted the connection and runs it, for `CLIENT INFO`.
    pub shard: usize,
    /// Whether commands beyond PING/AUTH/QUIT/HELLO are allowed; true from the start when the
    /// server has no password.
    pub authenticated: bool,
    /// Set by `CLIENT SETNAME` or `HELLO ... SETNAME`.
    pub name: Option<String>,
    /// Set by `CLIENT SETINFO LIB-NAME`, reported by `CLIENT INFO`.
    pub lib_name: Option<String>,
    /// Set by `CLIENT SETINFO LIB-VER`, reported by `CLIENT INFO`.
    pub lib_ver: Option<String>,
    /// The RESP version replies are encoded in; `HELLO 3` switches to RESP3.
    pub protocol: Protocol,
    /// A refused `MULTI` awaits its `EXEC` or `DISCARD`: the commands between are refused too
    /// (see [`crate::command::transaction`]).
    pub in_multi: bool,
}

impl Session {
    /// A new session; `authenticated` is true when no password is required.
    pub fn new(id: u64, peer: Option<SocketAddr>, shard: usize, authenticated: bool) -> Session {
        Session {
            id,
            peer,
            shard,
            authenticated,
            name: None,
            lib_name: None,
            lib_ver: None,
            protocol: Protocol::Resp2,
            in_multi: false,
        }
    }
}
