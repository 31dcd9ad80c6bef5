//! `usld`, the USSL server: JSON documents kept in sync between clients, spoken to over USSP, a
//! RESP-compatible protocol that redis-cli, redis-py and `nc` can speak.
//!
//! # The path of a request, in file order
//!
//! 1. [`listener`]: each shard accepts connections on the shared port (`SO_REUSEPORT`).
//! 2. [`connection`]: bytes are read, framed and answered in request order.
//! 3. [`protocol`]: bytes become one request's arguments ([`protocol::request`],
//!    [`protocol::inline`]) and replies become bytes ([`protocol::reply`]).
//! 4. [`command`]: arguments become a typed command; connection-level commands are answered
//!    where the connection lives.
//! 5. [`router`], [`pipeline`] and [`forward`]: a document command goes to the shard that owns
//!    the document, batched per shard with the other connections' commands of the same turn, and
//!    its reply comes back into the connection's order.
//! 6. [`shard`]: the owner applies the command to its documents (the `ussl_shards` crate).
//! 7. [`persist`]: with `--db`, the change is committed to the shard's SQLite file by its writer
//!    thread, and the reply waits for that commit.
//! 8. [`pubsub`]: the change is fanned out to subscribers on every shard.
//!
//! [`server`] starts one pinned glommio executor per shard and [`mesh`] connects them; [`signals`]
//! stops them; [`config`] merges flags, environment and file; [`shared`] holds the few
//! server-wide counters.
//!
//! Beside the server: the `ussl` client (`src/bin/ussl/`, which splits typed lines with
//! [`protocol::request::split_inline`], as the server does) and the `usld bench` load generator
//! (the `ussl-bench` crate in `bench/`, run by the `bench` subcommand of [`config::Args`]).

pub mod command;
pub mod config;
pub mod connection;
pub mod forward;
pub mod listener;
pub mod mesh;
pub mod persist;
pub mod pipeline;
pub mod protocol;
pub mod pubsub;
pub mod router;
pub mod server;
pub mod session;
pub mod shard;
pub mod shared;
pub mod signals;
pub mod stats;
