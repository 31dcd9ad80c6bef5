//! Running what the user typed: split the line as the server would, send it, print the reply, and
//! for subscriptions keep printing the pushed messages until interrupted. Shared by the prompt,
//! `-c` and piped stdin.
//!
//! The connection is opened lazily and dropped whenever its state is unknown (an I/O error, an
//! interrupted read, a subscription left behind); the next command opens a fresh one.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use redis_protocol::resp2::types::OwnedFrame;

use crate::connection::{ConnectError, Connection, ReadError, Target};
use crate::help;
use crate::render::{render, Format};

/// Commands after which the server keeps pushing messages on the connection.
const STREAMING_COMMANDS: &[&str] = &["SUB", "PSUBSCRIBE", "SUBSCRIBE", "SSUBSCRIBE", "MONITOR"];

/// What running one line came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do (a blank line) or a reply that is not an error.
    Ok,
    /// The server answered with an error reply, or the line does not parse (unbalanced quotes).
    Error,
    /// The line could not be run: the server is unreachable or the connection was lost.
    Failed,
    /// The user asked to leave (`quit`, `exit`).
    Quit,
}

/// A client session: the target, the open connection if any, and how to print.
pub struct Session {
    target: Target,
    connection: Option<Connection>,
    format: Format,
    /// Raised by SIGINT while the prompt is not reading a line; ends a wait for the server.
    interrupt: Arc<AtomicBool>,
    /// Whether a person is watching (the prompt), to show hints such as "press Ctrl-C".
    interactive: bool,
}

impl Session {
    /// A session that connects on first use.
    pub fn new(
        target: Target,
        format: Format,
        interrupt: Arc<AtomicBool>,
        interactive: bool,
    ) -> Session {
        Session {
            target,
            connection: None,
            format,
            interrupt,
            interactive,
        }
    }

    /// Opens the connection now, so a wrong address or password is reported before anything else.
    pub fn connect(&mut self) -> Result<(), ConnectError> {
        let (connection, warning) = Connection::open(&self.target)?;
        if let Some(warning) = warning {
            eprintln!("ussl: warning: {warning}");
        }
        self.connection = Some(connection);
        Ok(())
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.connection.is_some()
    }

    /// Runs one line of input.
    pub fn run_line(&mut self, line: &str) -> Outcome {
        let args =
            match usld::protocol::request::split_inline(&Bytes::copy_from_slice(line.as_bytes())) {
                Ok(args) => args,
                Err(e) => {
                    eprintln!("ussl: {e}");
                    return Outcome::Error;
                }
            };
        let Some(first) = args.first() else {
            return Outcome::Ok;
        };
        let name = String::from_utf8_lossy(first).to_ascii_uppercase();
        match name.as_str() {
            "QUIT" | "EXIT" => return Outcome::Quit,
            // The server would answer, and push, in RESP3 from then on, which ussl cannot read.
            "HELLO" if args.get(1).is_some_and(|version| version.as_ref() == b"3") => {
                eprintln!("ussl: ussl reads RESP2 replies only; HELLO 3 would switch to RESP3");
                return Outcome::Error;
            }
            "HELP" => {
                let topic = args.get(1).map(|t| String::from_utf8_lossy(t).into_owned());
                write_stdout(&help::text(topic.as_deref()));
                return Outcome::Ok;
            }
            _ => {}
        }
        self.run_command(&name, &args)
    }

    fn run_command(&mut self, name: &str, args: &[Bytes]) -> Outcome {
        if self.connection.is_none() {
            if let Err(e) = self.connect() {
                eprintln!("ussl: {e}");
                return Outcome::Failed;
            }
        }
        self.interrupt.store(false, Ordering::Relaxed);
        let Some(connection) = self.connection.as_mut() else {
            return Outcome::Failed;
        };
        if let Err(e) = connection.send(args) {
            return self.lost(ReadError::Io(e));
        }
        let reply = match connection.read_reply(&self.interrupt) {
            Ok(reply) => reply,
            Err(e) => return self.lost(e),
        };
        let outcome = self.print(&reply);
        if outcome == Outcome::Ok && STREAMING_COMMANDS.contains(&name) {
            return self.stream();
        }
        outcome
    }

    /// Prints every message the server pushes until the user interrupts or the server closes.
    /// The connection is dropped afterwards: it is still subscribed.
    fn stream(&mut self) -> Outcome {
        if self.interactive {
            eprintln!("(streaming; press Ctrl-C to stop)");
        }
        let Some(mut connection) = self.connection.take() else {
            return Outcome::Failed;
        };
        loop {
            match connection.read_reply(&self.interrupt) {
                Ok(message) => {
                    self.print(&message);
                }
                Err(ReadError::Interrupted) => {
                    eprintln!("(stopped)");
                    return Outcome::Ok;
                }
                Err(e) => return self.lost(e),
            }
        }
    }

    /// Reports a connection that can no longer be trusted, and forgets it.
    fn lost(&mut self, error: ReadError) -> Outcome {
        self.connection = None;
        match error {
            ReadError::Interrupted => eprintln!("(interrupted; the next command reconnects)"),
            error => {
                let again = if self.interactive {
                    "; the next command reconnects"
                } else {
                    ""
                };
                eprintln!(
                    "ussl: connection to {} lost: {error}{again}",
                    self.target.address()
                );
            }
        }
        Outcome::Failed
    }

    /// Prints a reply and says whether it was an error.
    fn print(&self, reply: &OwnedFrame) -> Outcome {
        let rendered = render(reply, self.format);
        if rendered.to_stderr {
            // Best effort, as eprintln!, without its panic on a closed stderr.
            let _ = std::io::stderr().lock().write_all(rendered.text.as_bytes());
        } else {
            write_stdout(&rendered.text);
        }
        match reply {
            OwnedFrame::Error(_) => Outcome::Error,
            _ => Outcome::Ok,
        }
    }
}

/// Prints and flushes `text` (so a stream shows up as it arrives). A closed stdout
/// (`ussl ... | head -1`) is not worth a panic: the text is dropped.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
