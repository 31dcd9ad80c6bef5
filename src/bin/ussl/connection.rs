//! One blocking RESP connection to the server: connect, AUTH, send a command, read its reply.
//!
//! Reads wake up every [`INTERRUPT_POLL`] to look at the interrupt flag the prompt raises on
//! Ctrl-C, so a long wait (a subscription stream, a slow command) can be abandoned without
//! killing the program. Replies are decoded with `redis-protocol`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::types::OwnedFrame;

/// How often a blocked read looks at the interrupt flag: short enough that Ctrl-C feels instant.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);
/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Where and how to connect; kept so a dropped connection can be opened again.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or address, as given.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Password to AUTH with, if any.
    pub password: Option<String>,
    /// Longest wait for the TCP handshake.
    pub connect_timeout: Duration,
    /// Most bytes one reply may hold.
    pub reply_bytes_max: usize,
}

impl Target {
    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("could not connect to {address}: {source}; is usld running there? (choose the server with -H and -p)")]
    Unreachable { address: String, source: io::Error },
    #[error("authentication failed: wrong password ({reply})")]
    WrongPassword { reply: String },
    #[error("authentication failed: {reply}")]
    AuthRefused { reply: String },
    #[error("connection to {address} lost during AUTH: {source}")]
    Lost { address: String, source: ReadError },
}

/// Why a reply could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the server closed the connection")]
    Closed,
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("unreadable reply: {0}")]
    Protocol(String),
    #[error("reply larger than --max-reply-bytes ({0} bytes)")]
    TooLarge(usize),
}

/// An open connection.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet decoded into a reply.
    buffer: BytesMut,
    reply_bytes_max: usize,
}

/// The outcome of AUTH when the server has no password set: worth a warning, not a failure, so
/// that a `USSL_PASSWORD` left in the environment does not lock the user out.
pub const NO_PASSWORD_CONFIGURED: &str = "without any password configured";

impl Connection {
    /// Connects to `target` and authenticates when it has a password. Returns the connection and
    /// a warning to show, if any.
    pub fn open(target: &Target) -> Result<(Connection, Option<String>), ConnectError> {
        let address = target.address();
        let stream = connect(target).map_err(|source| ConnectError::Unreachable {
            address: address.clone(),
            source,
        })?;
        let mut connection = Connection {
            stream,
            buffer: BytesMut::with_capacity(READ_CHUNK_BYTES),
            reply_bytes_max: target.reply_bytes_max,
        };
        let Some(password) = &target.password else {
            return Ok((connection, None));
        };
        let never = AtomicBool::new(false);
        let lost = |source| ConnectError::Lost {
            address: address.clone(),
            source,
        };
        connection
            .send(&[b"AUTH".as_slice(), password.as_bytes()])
            .map_err(|e| lost(ReadError::Io(e)))?;
        match connection.read_reply(&never).map_err(lost)? {
            OwnedFrame::Error(reply) if reply.contains(NO_PASSWORD_CONFIGURED) => Ok((
                connection,
                Some("the server requires no password; AUTH was ignored".to_string()),
            )),
            OwnedFrame::Error(reply) if reply.starts_with("WRONGPASS") => {
                Err(ConnectError::WrongPassword { reply })
            }
            OwnedFrame::Error(reply) => Err(ConnectError::AuthRefused { reply }),
            _ => Ok((connection, None)),
        }
    }

    /// Sends one command as a RESP multibulk.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        let mut out =
            Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            let arg = arg.as_ref();
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&out)
    }

    /// Reads the next reply, giving up with [`ReadError::Interrupted`] once `interrupt` is set.
    pub fn read_reply(&mut self, interrupt: &AtomicBool) -> Result<OwnedFrame, ReadError> {
        loop {
            if let Some((frame, used)) =
                decode(&self.buffer).map_err(|e| ReadError::Protocol(e.to_string()))?
            {
                self.buffer.advance(used);
                return Ok(frame);
            }
            if self.buffer.len() > self.reply_bytes_max {
                return Err(ReadError::TooLarge(self.reply_bytes_max));
            }
            self.fill(interrupt)?;
        }
    }

    /// Reads more bytes into the buffer, waking up to check `interrupt`.
    fn fill(&mut self, interrupt: &AtomicBool) -> Result<(), ReadError> {
        let start = self.buffer.len();
        self.buffer.resize(start + READ_CHUNK_BYTES, 0);
        loop {
            if interrupt.load(Ordering::Relaxed) {
                self.buffer.truncate(start);
                return Err(ReadError::Interrupted);
            }
            match self.stream.read(&mut self.buffer[start..]) {
                Ok(0) => {
                    self.buffer.truncate(start);
                    return Err(ReadError::Closed);
                }
                Ok(n) => {
                    self.buffer.truncate(start + n);
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    self.buffer.truncate(start);
                    return Err(ReadError::Io(e));
                }
            }
        }
    }
}

/// Opens the TCP connection, trying each address the host resolves to.
fn connect(target: &Target) -> io::Result<TcpStream> {
    let addresses: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()?
        .collect();
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        "the host name resolves to no address",
    );
    for address in addresses {
        match TcpStream::connect_timeout(&address, target.connect_timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(INTERRUPT_POLL))?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
