//! One load-generating connection on a glommio executor: connect, AUTH, write a batch, decode
//! replies in place (`redis-protocol`'s range decoder: no copy, no allocation for flat replies).

use std::io;
use std::time::Instant;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use redis_protocol::resp2::decode::decode_range;
use redis_protocol::resp2::types::RangeFrame;

use crate::args::Settings;
use crate::workload::encode;

/// Initial read buffer per connection.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Largest reply a connection will buffer; a bigger one means the workload is not what this tool
/// sends (its largest reply is one hash or document), so the client stops with an error.
const REPLY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A connection and its read buffer.
pub struct Conn {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Start of the bytes not yet decoded.
    start: usize,
    /// End of the bytes read.
    end: usize,
}

impl Conn {
    /// Connects and authenticates; errors are messages for the report.
    pub async fn open(settings: &Settings) -> Result<Conn, String> {
        let stream = TcpStream::connect(settings.socket)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", settings.address))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("cannot set TCP_NODELAY: {e}"))?;
        stream
            .set_read_timeout(Some(settings.timeout))
            .map_err(|e| format!("cannot set the read timeout: {e}"))?;
        let mut conn = Conn {
            stream,
            buffer: vec![0; READ_BUFFER_BYTES],
            start: 0,
            end: 0,
        };
        if let Some(password) = &settings.password {
            let mut request = Vec::new();
            encode(&mut request, &[b"AUTH", password.as_bytes()]);
            conn.write(&request)
                .await
                .map_err(|e| format!("AUTH: {e}"))?;
            let (reply, _) = conn.next_reply().await.map_err(|e| format!("AUTH: {e}"))?;
            if let Some(error) = conn.error_text(&reply) {
                return Err(format!("AUTH refused: {error}"));
            }
        }
        Ok(conn)
    }

    /// Writes `bytes` whole.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Decodes the next reply already buffered, if a whole one is there. Its ranges index
    /// [`Conn::bytes`] until the next read.
    pub fn try_reply(&mut self) -> Result<Option<RangeFrame>, String> {
        match decode_range(&self.buffer[self.start..self.end]) {
            Ok(Some((frame, used))) => {
                let frame = shift(frame, self.start);
                self.start += used;
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(format!("unreadable reply: {e}")),
        }
    }

    /// Reads more bytes, waiting at most the read timeout; returns when they arrived.
    pub async fn fill(&mut self) -> Result<Instant, String> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buffer.len() {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buffer.len() < REPLY_BYTES_MAX {
                self.buffer
                    .resize((self.buffer.len() * 2).min(REPLY_BYTES_MAX), 0);
            } else {
                return Err(format!("reply larger than {REPLY_BYTES_MAX} bytes"));
            }
        }
        match self.stream.read(&mut self.buffer[self.end..]).await {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(n) => {
                self.end += n;
                Ok(Instant::now())
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                Err("timed out waiting for a reply".into())
            }
            Err(e) => Err(format!("read failed: {e}")),
        }
    }

    /// Waits for the next reply and returns it with its arrival time.
    pub async fn next_reply(&mut self) -> Result<(RangeFrame, Instant), String> {
        let mut arrived = Instant::now();
        loop {
            if let Some(frame) = self.try_reply()? {
                return Ok((frame, arrived));
            }
            arrived = self.fill().await?;
        }
    }

    /// The bytes a range of the last decoded reply refers to.
    pub fn bytes(&self, range: (usize, usize)) -> &[u8] {
        &self.buffer[range.0..range.1]
    }

    /// The text of an error reply, `None` for any other reply.
    pub fn error_text(&self, frame: &RangeFrame) -> Option<String> {
        match frame {
            RangeFrame::Error(range) => {
                Some(String::from_utf8_lossy(self.bytes(*range)).into_owned())
            }
            _ => None,
        }
    }
}

/// Moves a frame's ranges from the decoded slice into whole-buffer positions.
fn shift(frame: RangeFrame, by: usize) -> RangeFrame {
    let moved = |(start, end): (usize, usize)| (start + by, end + by);
    match frame {
        RangeFrame::SimpleString(range) => RangeFrame::SimpleString(moved(range)),
        RangeFrame::Error(range) => RangeFrame::Error(moved(range)),
        RangeFrame::BulkString(range) => RangeFrame::BulkString(moved(range)),
        RangeFrame::Array(items) => {
            RangeFrame::Array(items.into_iter().map(|f| shift(f, by)).collect())
        }
        other => other,
    }
}
