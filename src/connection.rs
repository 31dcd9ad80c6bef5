//! Step 2 of the request path: one client connection, from bytes read to replies written.
//!
//! The loop is: read what the socket has, frame every complete request in the buffer
//! ([`parse_request`]), turn each into a [`Command`] and add it to a [`Round`], then wait for the
//! round's replies and write them all in one go. A pipeline of thousands of requests in one write
//! is therefore answered in a few rounds, each costing one message per remote shard.
//!
//! A subscribed connection also receives change events, queued by other tasks in its
//! [`Outbox`] and written by the shard's sweeper. Events still queued when a round ends are
//! written after its replies; events the sweeper could not write (the socket was full) are
//! handed to this task, which waits for the socket. A subscriber whose outbox overflows is
//! disconnected, even while the task is stuck writing to a client that stopped reading.

use std::collections::VecDeque;
use std::rc::Rc;

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::command::{self, Command, DocId};
use crate::pipeline::Round;
use crate::protocol::{parse_request, ProtocolError, Reply, Request, RequestLimits};
use crate::pubsub::Outbox;
use crate::session::Session;
use crate::shard::Shard;
use crate::stats::ShardCounters;

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Most requests answered in one round; a longer pipeline is served in several rounds, so one
/// client's burst cannot build an unbounded reply buffer.
const ROUND_REQUESTS_MAX: usize = 1024;

/// Requests parsed ahead of routing, whose documents are prefetched together (at most 32:
/// [`Connection::parse_ahead`] keeps a bit for each in a `u32`).
const PARSE_AHEAD: usize = 16;
const _: () = assert!(PARSE_AHEAD <= 32);

/// Why a connection ends.
#[derive(Debug)]
enum Close {
    /// The client closed its side, or sent QUIT.
    Done,
    /// The socket failed.
    Io(std::io::Error),
    /// The client sent something that loses framing or looks like another protocol.
    Refused(&'static str),
    /// The client did not read its change events fast enough.
    SlowSubscriber,
}

/// What woke an idle connection.
enum Wake {
    /// The socket had bytes (or an end, or an error).
    Input(std::io::Result<usize>),
    /// Events were queued for the client.
    Push,
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
    /// Change events and presence updates waiting to be written.
    outbox: Rc<Outbox>,
    /// Documents this connection set presence on, to clear when it closes.
    presence_ids: Vec<DocId>,
    /// Requests parsed and not yet routed (see [`Connection::parse_ahead`]).
    ahead: VecDeque<Result<Request, ProtocolError>>,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream, shard: Rc<Shard>, session: Session) -> Connection {
        let config = &shard.shared.config;
        let limits = RequestLimits::authenticated(config.request_bytes_max);
        let outbox = Rc::new(Outbox::new(
            config.pubsub_output_bytes_max,
            session.protocol,
            std::os::fd::AsRawFd::as_raw_fd(&stream),
        ));
        Connection {
            outbox,
            presence_ids: Vec::new(),
            ahead: VecDeque::new(),
            stream,
            shard,
            session,
            input: BytesMut::with_capacity(READ_CHUNK_BYTES),
            output: BytesMut::with_capacity(READ_CHUNK_BYTES),
            limits,
            limits_unauthenticated: RequestLimits::unauthenticated(),
        }
    }

    /// Serves the client until it leaves or misbehaves; never panics on its input. Whatever
    /// ends the connection, its subscriptions and presence end with it.
    pub async fn serve(mut self) {
        let outbox = Rc::clone(&self.outbox);
        let overflow = async {
            outbox.overflow().await;
            Close::SlowSubscriber
        };
        let reason = futures_lite::future::or(self.run(), overflow).await;
        self.leave();
        match reason {
            Close::Done => {}
            Close::SlowSubscriber => tracing::warn!(
                client = self.session.id,
                peer = ?self.session.peer,
                limit_bytes = self.shard.shared.config.pubsub_output_bytes_max,
                "closing connection: subscriber fell behind its change events \
                 (--max-pubsub-output-bytes)"
            ),
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

    /// Ends this connection's subscriptions and presence, telling the shards concerned.
    fn leave(&mut self) {
        let client = self.session.id;
        let patterns = self.shard.subscribers.borrow().patterns(client);
        for pattern in patterns {
            self.shard.unsubscribe(client, &pattern);
        }
        for id in self.presence_ids.drain(..) {
            self.shard.presence_leave(id, client);
        }
    }

    async fn run(&mut self) -> Close {
        let mut chunk = vec![0u8; READ_CHUNK_BYTES];
        // Whether the last wake-up was for events rather than input: the socket was empty then.
        let mut pushed = false;
        loop {
            if !self.input.is_empty() {
                // Writers wait while other shards' subscribers are far behind, or while this
                // shard holds too many uncommitted writes.
                self.shard.links.room().await;
                self.shard.persist_room().await;
            }
            let mut round = Round::new(&self.shard);
            let outcome = self.frame_requests(&mut round);
            if !round.is_empty() {
                let replies = round.finish(&self.shard).await;
                self.outbox.drain_unfinished_into(&mut self.output);
                for reply in &replies {
                    reply.encode(&mut self.output, self.session.protocol);
                }
                self.outbox.set_protocol(self.session.protocol);
            }
            if self.outbox.has_overflowed() {
                return Close::SlowSubscriber;
            }
            self.outbox.drain_into(&mut self.output);
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
            let outbox = Rc::clone(&self.outbox);
            let waiting = std::mem::take(&mut pushed);
            let input = async { Wake::Input(self.read_some(&mut chunk, waiting).await) };
            let push = async {
                outbox.ready().await;
                Wake::Push
            };
            match futures_lite::future::or(input, push).await {
                Wake::Input(Ok(0)) => return Close::Done,
                Wake::Input(Ok(n)) => self.input.extend_from_slice(&chunk[..n]),
                Wake::Input(Err(e)) => return Close::Io(e),
                Wake::Push => pushed = true,
            }
        }
    }

    /// Reads what the client has sent, waiting for it if nothing is there.
    ///
    /// glommio waits for a socket by arming an io_uring poll, and arms one after every read that
    /// does not fill the buffer. Under load that poll costs more kernel time than the recv itself
    /// (a submission, a completion and a task-work interrupt per request), so this first yields
    /// to the shard's other ready connections, then tries a plain non-blocking `recv`: a busy
    /// client's next request is usually there by then. Only when the socket is empty does it fall
    /// back to glommio's read, which waits for readiness.
    ///
    /// `waiting` says the socket was found empty and nothing has arrived since (the connection
    /// woke only to write events): the direct `recv` would fail again, so glommio's read, whose
    /// readiness poll is still armed, is awaited at once.
    async fn read_some(&mut self, buf: &mut [u8], waiting: bool) -> std::io::Result<usize> {
        if waiting {
            return self.stream.read(buf).await;
        }
        futures_lite::future::yield_now().await;
        match recv_now(&self.stream, buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.stream.read(buf).await,
            done => done,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        self.outbox.set_writing(true);
        let written = self.stream.write_all(&self.output).await;
        self.outbox.set_writing(false);
        written?;
        self.output.clear();
        Ok(())
    }

    /// Frames and dispatches every complete request buffered, up to a round's worth.
    fn frame_requests(&mut self, round: &mut Round) -> Framed {
        while round.len() < ROUND_REQUESTS_MAX {
            if self.ahead.is_empty() {
                self.parse_ahead(ROUND_REQUESTS_MAX - round.len());
            }
            let request = match self.ahead.pop_front() {
                Some(Ok(request)) => request,
                None => return Framed::NeedMore,
                Some(Err(e)) => {
                    round.push_reply(Reply::error(e.to_string()));
                    if e.is_fatal() {
                        return Framed::Stop(Close::Refused("protocol error"));
                    }
                    continue;
                }
            };
            ShardCounters::add(&self.shard.counters.commands, 1);
            if let Some(close) = self.dispatch(request, round) {
                return Framed::Stop(close);
            }
        }
        Framed::RoundFull
    }

    /// Parses up to [`PARSE_AHEAD`] requests (at most `room`) into `ahead` and prefetches the
    /// documents they name. With many documents, finding one costs cache misses, each address
    /// read from the one before: the table's index, the document's slot, its body. Taken one
    /// step at a time for the whole pipeline, the misses of one step overlap instead of
    /// following one another: the index lookups of a tight loop run side by side in the CPU,
    /// and by the time the last slot is asked for, the first has arrived. Stops after AUTH or
    /// HELLO, the requests that change which limits the next one is parsed under.
    fn parse_ahead(&mut self, room: usize) {
        self.parse_some(room);
        let ids = || self.ahead.iter().flatten().filter_map(|r| r.arg(1));
        // Bit i: the i-th id is this shard's.
        let mut owned = 0u32;
        for (i, id) in ids().enumerate() {
            owned |= u32::from(self.shard.prefetch_slot(id)) << i;
        }
        for (i, id) in ids().enumerate() {
            if owned & (1 << i) != 0 {
                self.shard.prefetch_body(id);
            }
        }
    }

    /// The parsing of [`Connection::parse_ahead`].
    fn parse_some(&mut self, room: usize) {
        for _ in 0..PARSE_AHEAD.min(room) {
            let limits = if self.session.authenticated {
                &self.limits
            } else {
                &self.limits_unauthenticated
            };
            match parse_request(&mut self.input, limits) {
                Ok(Some(request)) => {
                    let name = request.arg(0).unwrap_or_default();
                    let last =
                        name.eq_ignore_ascii_case(b"AUTH") || name.eq_ignore_ascii_case(b"HELLO");
                    self.ahead.push_back(Ok(request));
                    if last {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.ahead.push_back(Err(e));
                    return;
                }
            }
        }
    }

    /// Routes one request; returns why to close when the request ends the connection.
    fn dispatch(&mut self, request: Request, round: &mut Round) -> Option<Close> {
        let name = request.arg(0).unwrap_or_default();
        if looks_like_http(name) {
            return Some(Close::Refused(
                "possible cross-protocol attack: an HTTP request was sent to the USSP port",
            ));
        }
        if !self.session.authenticated && !command::allowed_before_auth(name) {
            round.push_reply(Reply::error(
                "NOAUTH Authentication required. Use AUTH <password>",
            ));
            return None;
        }
        if let Some(refused) = command::transaction::refuse(name, &mut self.session.in_multi) {
            round.push_reply(refused);
            return None;
        }
        let config = &self.shard.shared.config;
        let command = match command::parse(request, config, self.session.id) {
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
            Command::Subscribe(c) => {
                let limit = config.subscriptions_max;
                let (reply, acks) = c.apply(&self.shard, self.session.id, &self.outbox, limit);
                round.push_acked(reply, acks);
                return None;
            }
            Command::Unsubscribe(c) => c.apply(&self.shard, self.session.id),
            Command::Presence(c) => {
                match self.remember_presence(&c) {
                    Ok(()) => round.push_presence(&self.shard, c),
                    Err(reply) => round.push_reply(reply),
                }
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

impl Connection {
    /// Notes a document this connection sets presence on, so that it can be cleared on close,
    /// and forgets one it clears (`DATA null`), which frees its place; refuses a new one past
    /// `--max-subscriptions` documents.
    fn remember_presence(&mut self, command: &command::Presence) -> Result<(), Reply> {
        let Some(data) = &command.data else {
            return Ok(());
        };
        if data.is_null() {
            self.presence_ids.retain(|id| *id != command.id);
            return Ok(());
        }
        if self.presence_ids.contains(&command.id) {
            return Ok(());
        }
        let limit = self.shard.shared.config.subscriptions_max;
        if self.presence_ids.len() >= limit {
            return Err(Reply::error(format!(
                "a connection may hold presence on at most {limit} documents"
            )));
        }
        self.presence_ids.push(command.id.clone());
        Ok(())
    }
}

impl Drop for Connection {
    /// The socket closes with the connection; the sweeper must not write to its descriptor after.
    fn drop(&mut self) {
        self.outbox.close();
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

/// One non-blocking `recv` on the socket: the bytes read, `Ok(0)` at end of stream, or
/// `WouldBlock` when nothing is buffered.
fn recv_now(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call, and the
    // descriptor is this connection's open socket, which `stream` keeps alive.
    let read = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(read).map_err(|_| std::io::Error::last_os_error())
}

/// Redis's defence against cross-protocol scripting: a browser tricked into POSTing to this port
/// sends `POST` and `Host:` lines, which no USSP client ever does.
fn looks_like_http(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"POST") || name.eq_ignore_ascii_case(b"Host:")
}
