//! Step 2 of the request path: one client connection, from bytes read to replies written.
//!
//! The loop is: read what the socket has, frame every complete request in the buffer
//! ([`parse_request`]), turn each into a [`Command`] and add it to a [`Round`], then wait for the
//! round's replies and write them all in one go. A pipeline of thousands of requests in one write
//! is therefore answered in a few rounds, each costing one message per remote shard.

use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::command::{self, Command};
use crate::pipeline::Round;
use crate::protocol::{parse_request, Reply, RequestLimits};
use crate::session::Session;
use crate::shard::Shard;
use crate::stats::ShardCounters;

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Most requests answered in one round; a longer pipeline is served in several rounds, so one
/// client's burst cannot build an unbounded reply buffer.
const ROUND_REQUESTS_MAX: usize = 1024;

/// Why a connection ends.
#[derive(Debug)]
enum Close {
    /// The client closed its side, or sent QUIT.
    Done,
    /// The socket failed.
    Io(std::io::Error),
    /// The client sent something that loses framing or looks like another protocol.
    Refused(&'static str),
}

/// One client connection on the shard that accepted it.
pub struct Connection {
    stream: TcpStream,
    shard: Rc<Shard>,
    session: Session,
    /// Bytes received and not yet framed.
    input: BytesMut,
    /// Replies encoded and not yet written.
    output: BytesMut,
    /// Request limits once authenticated.
    limits: RequestLimits,
    /// The small limits that hold before AUTH (Redis's CVE-2021-32675 defence).
    limits_unauthenticated: RequestLimits,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream, shard: Rc<Shard>, session: Session) -> Connection {
        let limits = RequestLimits::authenticated(shard.shared.config.request_bytes_max);
        Connection {
            stream,
            shard,
            session,
            input: BytesMut::with_capacity(READ_CHUNK_BYTES),
            output: BytesMut::with_capacity(READ_CHUNK_BYTES),
            limits,
            limits_unauthenticated: RequestLimits::unauthenticated(),
        }
    }

    /// Serves the client until it leaves or misbehaves; never panics on its input.
    pub async fn serve(mut self) {
        let reason = self.run().await;
        match reason {
            Close::Done => {}
            Close::Io(e) => {
                tracing::debug!(client = self.session.id, error = %e, "connection error")
            }
            Close::Refused(why) => tracing::warn!(
                client = self.session.id,
                peer = ?self.session.peer,
                "closing connection: {why}"
            ),
        }
    }

    async fn run(&mut self) -> Close {
        let mut chunk = vec![0u8; READ_CHUNK_BYTES];
        loop {
            let mut round = Round::new(self.shard.count);
            let outcome = self.frame_requests(&mut round);
            if !round.is_empty() {
                let replies = round.finish(&self.shard).await;
                for reply in &replies {
                    reply.encode(&mut self.output, self.session.protocol);
                }
            }
            match outcome {
                Framed::NeedMore => {}
                Framed::RoundFull => {
                    if let Err(e) = self.flush().await {
                        return Close::Io(e);
                    }
                    continue;
                }
                Framed::Stop(close) => {
                    let flushed = self.flush().await;
                    return match flushed {
                        Err(e) => Close::Io(e),
                        Ok(()) => close,
                    };
                }
            }
            if let Err(e) = self.flush().await {
                return Close::Io(e);
            }
            match self.stream.read(&mut chunk).await {
                Ok(0) => return Close::Done,
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) => return Close::Io(e),
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        self.stream.write_all(&self.output).await?;
        self.output.clear();
        Ok(())
    }

    /// Frames and dispatches every complete request buffered, up to a round's worth.
    fn frame_requests(&mut self, round: &mut Round) -> Framed {
        while round.len() < ROUND_REQUESTS_MAX {
            let limits = if self.session.authenticated {
                &self.limits
            } else {
                &self.limits_unauthenticated
            };
            let request = match parse_request(&mut self.input, limits) {
                Ok(Some(request)) => request,
                Ok(None) => return Framed::NeedMore,
                Err(e) => {
                    round.push_reply(Reply::error(e.to_string()));
                    if e.is_fatal() {
                        return Framed::Stop(Close::Refused("protocol error"));
                    }
                    continue;
                }
            };
            ShardCounters::add(&self.shard.counters.commands, 1);
            if let Some(close) = self.dispatch(request.args, request.inline, round) {
                return Framed::Stop(close);
            }
        }
        Framed::RoundFull
    }

    /// Routes one request (`inline` when it came as an inline line); returns why to close when
    /// the request ends the connection.
    fn dispatch(&mut self, args: Vec<Bytes>, inline: bool, round: &mut Round) -> Option<Close> {
        let name = args.first().cloned().unwrap_or_default();
        if looks_like_http(&name) {
            return Some(Close::Refused(
                "possible cross-protocol attack: an HTTP request was sent to the USSP port",
            ));
        }
        if !self.session.authenticated && !command::allowed_before_auth(&name) {
            round.push_reply(Reply::error(
                "NOAUTH Authentication required. Use AUTH <password>",
            ));
            return None;
        }
        let command = match command::parse(args, inline) {
            Ok(command) => command,
            Err(reply) => {
                round.push_reply(reply);
                return None;
            }
        };
        let shared = &self.shard.shared;
        let reply = match command {
            Command::Doc(doc) => {
                round.push_doc(&self.shard, doc);
                return None;
            }
            Command::Keys(keys) => {
                round.push_keys(&self.shard, keys);
                return None;
            }
            Command::Info(info) => {
                round.push_info(&self.shard, info);
                return None;
            }
            Command::Quit => {
                round.push_reply(Reply::ok());
                return Some(Close::Done);
            }
            Command::Ping(c) => c.apply(),
            Command::Echo(c) => c.apply(),
            Command::Auth(c) => c.apply(&mut self.session, shared),
            Command::Hello(c) => c.apply(&mut self.session, shared),
            Command::Select(c) => c.apply(),
            Command::Client(c) => c.apply(&mut self.session),
            Command::ConfigGet(c) => c.apply(shared),
            Command::CommandDocs(c) => c.apply(),
        };
        round.push_reply(reply);
        None
    }
}

/// What framing the buffer produced.
enum Framed {
    /// The buffer holds no further complete request.
    NeedMore,
    /// The round is full; more requests may be buffered.
    RoundFull,
    /// Answer what is queued, then close.
    Stop(Close),
}

/// Redis's defence against cross-protocol scripting: a browser tricked into POSTing to this port
/// sends `POST` and `Host:` lines, which no USSP client ever does.
fn looks_like_http(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"POST") || name.eq_ignore_ascii_case(b"Host:")
}
