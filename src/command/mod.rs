//! Step 4 of the request path: a request's arguments become a typed [`Command`].
//!
//! One command, one file, one struct with `parse` and an `apply`. This enum only dispatches: it
//! says where a command runs. Document commands ([`DocCommand`]) run on the shard that owns the
//! document; [`Command::Keys`] and [`Command::Info`] gather from every shard; the rest concern only
//! the connection and run where it was accepted.

pub mod auth;
pub mod compat;
pub mod create;
pub mod del;
pub mod get;
pub mod inc;
pub mod info;
pub mod keys;
pub mod merge;
pub mod ping;
pub mod presence;
pub mod pull;
pub mod push;
pub mod set;
pub mod splice;
pub mod subscribe;
pub mod sync;
pub mod transaction;

use bytes::Bytes;
use serde_json::Value;
use smallvec::SmallVec;
use ussl_shards::{Change, ErrorKind, Outcome, Path, Store, StoreError};

use crate::config::Config;
use crate::protocol::{Reply, Request};

pub use auth::{Auth, Hello};
pub use compat::{Client, CommandDocs, ConfigGet, Select};
pub use create::Create;
pub use del::Del;
pub use get::Get;
pub use inc::Inc;
pub use info::Info;
pub use keys::Keys;
pub use merge::Merge;
pub use ping::{Echo, Ping};
pub use presence::Presence;
pub use pull::Pull;
pub use push::Push;
pub use set::Set;
pub use splice::Splice;
pub use subscribe::{Subscribe, Unsubscribe};
pub use sync::Sync;

/// Every command the server understands, after parsing.
#[derive(Debug)]
pub enum Command {
    Ping(Ping),
    Echo(Echo),
    Auth(Auth),
    Hello(Hello),
    Quit,
    Select(Select),
    Client(Client),
    ConfigGet(ConfigGet),
    CommandDocs(CommandDocs),
    Info(Info),
    Keys(Keys),
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
    Presence(Presence),
    Doc(DocCommand),
}

/// A command on one document: it runs on the document's owner shard, so it is `Send` and is
/// carried there whole when the connection lives on another shard.
#[derive(Debug)]
pub enum DocCommand {
    Create(Create),
    Get(Get),
    Set(Set),
    Del(Del),
    Push(Push),
    Pull(Pull),
    Inc(Inc),
    Sync(Sync),
    Merge(Merge),
    Splice(Splice),
}

impl DocCommand {
    /// The document this command touches; it decides the owner shard.
    pub fn id(&self) -> &str {
        match self {
            DocCommand::Create(c) => &c.id,
            DocCommand::Get(c) => &c.id,
            DocCommand::Set(c) => &c.id,
            DocCommand::Del(c) => &c.id,
            DocCommand::Push(c) => &c.id,
            DocCommand::Pull(c) => &c.id,
            DocCommand::Inc(c) => &c.id,
            DocCommand::Sync(c) => &c.id,
            DocCommand::Merge(c) => &c.id,
            DocCommand::Splice(c) => &c.id,
        }
    }

    /// Whether the command may change the document (everything but GET and SYNC): such
    /// commands are refused while the shard's database cannot commit.
    pub fn is_write(&self) -> bool {
        !matches!(self, DocCommand::Get(_) | DocCommand::Sync(_))
    }

    /// Applies the command to the owner shard's documents, returning its reply and, when it
    /// changed the document, the change (for events and persistence). Must run on the owner
    /// shard only.
    pub fn apply(self, store: &mut Store, now_ms: u64) -> (Reply, Option<Change>) {
        match self {
            DocCommand::Create(c) => c.apply(store, now_ms),
            DocCommand::Get(c) => (c.apply(store, now_ms), None),
            DocCommand::Set(c) => c.apply(store, now_ms),
            DocCommand::Del(c) => c.apply(store, now_ms),
            DocCommand::Push(c) => c.apply(store, now_ms),
            DocCommand::Pull(c) => c.apply(store, now_ms),
            DocCommand::Inc(c) => c.apply(store, now_ms),
            DocCommand::Sync(c) => (c.apply(store, now_ms), None),
            DocCommand::Merge(c) => c.apply(store, now_ms),
            DocCommand::Splice(c) => c.apply(store, now_ms),
        }
    }
}

/// Commands a client may send before it has authenticated; everything else is refused.
pub fn allowed_before_auth(name: &[u8]) -> bool {
    ["PING", "AUTH", "QUIT", "HELLO"]
        .iter()
        .any(|allowed| name.eq_ignore_ascii_case(allowed.as_bytes()))
}

/// Parses one request's arguments into a command, or the error reply to send instead. `inline`
/// says the request came as an inline line, where binary arguments travel as base64; `client`
/// is the sending connection's id; `config` holds the limits arguments are checked against.
pub fn parse(request: Request, config: &Config, client: u64) -> Result<Command, Reply> {
    let mut args = ArgReader::new(request)?;
    // A copy on the stack, since parsing takes the reader.
    let name: SmallVec<[u8; 16]> = SmallVec::from_slice(args.name());
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    let command = if is("GET") {
        Command::Doc(DocCommand::Get(Get::parse(&mut args)?))
    } else if is("SET") {
        Command::Doc(DocCommand::Set(Set::parse(&mut args)?))
    } else if is("INC") {
        Command::Doc(DocCommand::Inc(Inc::parse(&mut args)?))
    } else if is("PUSH") {
        Command::Doc(DocCommand::Push(Push::parse(&mut args)?))
    } else if is("PULL") {
        Command::Doc(DocCommand::Pull(Pull::parse(&mut args)?))
    } else if is("SYNC") {
        Command::Doc(DocCommand::Sync(Sync::parse(&mut args)?))
    } else if is("MERGE") {
        Command::Doc(DocCommand::Merge(Merge::parse(&mut args)?))
    } else if is("SPLICE") {
        Command::Doc(DocCommand::Splice(Splice::parse(&mut args)?))
    } else if is("DEL") {
        Command::Doc(DocCommand::Del(Del::parse(&mut args)?))
    } else if is("CREATE") {
        Command::Doc(DocCommand::Create(Create::parse(&mut args)?))
    } else if is("PING") {
        Command::Ping(Ping::parse(&mut args)?)
    } else if is("ECHO") {
        Command::Echo(Echo::parse(&mut args)?)
    } else if is("KEYS") {
        Command::Keys(Keys::parse(&mut args, config.pattern_bytes_max)?)
    } else if is("SUB") || is("PSUBSCRIBE") {
        Command::Subscribe(Subscribe::parse(&mut args, config.pattern_bytes_max)?)
    } else if is("UNSUB") || is("PUNSUBSCRIBE") {
        Command::Unsubscribe(Unsubscribe::parse(&mut args, config.pattern_bytes_max)?)
    } else if is("PRESENCE") {
        Command::Presence(Presence::parse(
            &mut args,
            client,
            config.presence_bytes_max,
        )?)
    } else if is("INFO") {
        Command::Info(Info::parse(&mut args)?)
    } else if is("AUTH") {
        Command::Auth(Auth::parse(&mut args)?)
    } else if is("HELLO") {
        Command::Hello(Hello::parse(&mut args)?)
    } else if is("QUIT") {
        Command::Quit
    } else if is("SELECT") {
        Command::Select(Select::parse(&mut args)?)
    } else if is("CLIENT") {
        Command::Client(Client::parse(&mut args)?)
    } else if is("CONFIG") {
        Command::ConfigGet(ConfigGet::parse(&mut args)?)
    } else if is("COMMAND") {
        Command::CommandDocs(CommandDocs::parse(&mut args)?)
    } else {
        return Err(unknown_command(&name, args.rest_for_error()));
    };
    Ok(command)
}

/// Redis's wording for an unknown command, so client libraries recognise it.
fn unknown_command(name: &[u8], args: String) -> Reply {
    Reply::error(format!(
        "unknown command '{}', with args beginning with: {args}",
        printable(name)
    ))
}

/// Text of client bytes safe to echo in an error: lossy UTF-8, at most 128 characters.
pub fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(128).collect()
}

/// Reads a request's arguments in order and turns shortfalls into Redis-worded errors.
pub struct ArgReader {
    /// The request, command name first.
    request: Request,
    /// The index of the next argument to read.
    next: usize,
}

/// A document id as a command holds it: most ids fit inline, so parsing one allocates nothing.
pub type DocId = compact_str::CompactString;

/// An argument as text.
fn utf8(bytes: &[u8]) -> Result<&str, Reply> {
    std::str::from_utf8(bytes).map_err(|_| Reply::error("argument is not valid UTF-8"))
}

impl ArgReader {
    fn new(request: Request) -> Result<ArgReader, Reply> {
        if request.is_empty() {
            return Err(Reply::error("empty request"));
        }
        Ok(ArgReader { request, next: 1 })
    }

    /// Whether the request came as an inline line: binary arguments (Yjs updates and state
    /// vectors) are then base64 text, and so are binary replies.
    pub fn inline(&self) -> bool {
        self.request.inline
    }

    /// The command name as sent.
    fn name(&self) -> &[u8] {
        self.request.arg(0).unwrap_or_default()
    }

    /// The command name, lower-cased, as Redis names it in arity errors.
    fn lower_name(&self) -> String {
        printable(self.name()).to_ascii_lowercase()
    }

    /// The arity error for this command.
    pub fn wrong_arity(&self) -> Reply {
        Reply::error(format!(
            "wrong number of arguments for '{}' command",
            self.lower_name()
        ))
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.request.len() - self.next
    }

    /// The next argument, borrowed, or the arity error.
    pub fn slice(&mut self) -> Result<&[u8], Reply> {
        match self.request.arg(self.next) {
            Some(arg) => {
                self.next += 1;
                Ok(arg)
            }
            None => Err(self.wrong_arity()),
        }
    }

    /// The next argument as bytes of its own, for a command that keeps it, or the arity error.
    pub fn bytes(&mut self) -> Result<Bytes, Reply> {
        match self.request.arg_bytes(self.next) {
            Some(arg) => {
                self.next += 1;
                Ok(arg)
            }
            None => Err(self.wrong_arity()),
        }
    }

    /// The next argument as UTF-8 text.
    pub fn string(&mut self) -> Result<String, Reply> {
        utf8(self.slice()?).map(str::to_owned)
    }

    /// The next argument as a document id: non-empty UTF-8.
    pub fn id(&mut self) -> Result<DocId, Reply> {
        let id = DocId::from(utf8(self.slice()?)?);
        if id.is_empty() {
            return Err(Reply::error("document id must not be empty"));
        }
        Ok(id)
    }

    /// The next argument as a dotted path.
    pub fn path(&mut self) -> Result<Path, Reply> {
        Path::parse(utf8(self.slice()?)?).map_err(|e| store_error(StoreError::from(e)))
    }

    /// The next argument as an integer.
    pub fn integer(&mut self) -> Result<i64, Reply> {
        std::str::from_utf8(self.slice()?)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Reply::error("value is not an integer or out of range"))
    }

    /// The next argument as a non-negative integer that fits `usize`, named `what` in the error.
    pub fn count(&mut self, what: &str) -> Result<usize, Reply> {
        std::str::from_utf8(self.slice()?)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Reply::error(format!("{what} is not a non-negative integer")))
    }

    /// The next argument if it equals `keyword` (case-insensitive); consumes it only then.
    pub fn keyword(&mut self, keyword: &str) -> bool {
        let matches = self
            .request
            .arg(self.next)
            .is_some_and(|a| a.eq_ignore_ascii_case(keyword.as_bytes()));
        if matches {
            self.next += 1;
        }
        matches
    }

    /// The rest of the arguments as one JSON value: joined by single spaces, then read as JSON, or
    /// as the string they spell when they are not JSON. Joining mirrors the inline form, where the
    /// value is the rest of the line, so a client that split an unquoted value still means it.
    pub fn value(&mut self) -> Result<Value, Reply> {
        if self.remaining() == 1 {
            return json_value(self.slice()?);
        }
        json_value(&self.rest_bytes()?)
    }

    /// The rest of the arguments joined by single spaces, as [`ArgReader::value`] reads them;
    /// at least one must be left.
    pub fn rest_bytes(&mut self) -> Result<Bytes, Reply> {
        if self.remaining() <= 1 {
            return self.bytes();
        }
        let rest: Vec<&[u8]> = self.request.args().skip(self.next).collect();
        self.next = self.request.len();
        Ok(Bytes::from(rest.join(&b' ')))
    }

    /// Ends parsing: any argument left over is an arity error.
    pub fn finish(&self) -> Result<(), Reply> {
        if self.remaining() > 0 {
            return Err(self.wrong_arity());
        }
        Ok(())
    }

    /// An error for an argument that is not one of the command's options.
    pub fn syntax_error(&self) -> Reply {
        Reply::error("syntax error")
    }

    /// The remaining arguments quoted, as Redis echoes them in an unknown-command error.
    fn rest_for_error(&self) -> String {
        self.request
            .args()
            .skip(self.next)
            .take(8)
            .map(|a| format!("'{}' ", printable(a)))
            .collect()
    }
}

/// Deepest nesting of arrays and objects a JSON value may have: serde_json's recursion limit.
const JSON_DEPTH_MAX: usize = 127;

/// A value argument: JSON when it parses as JSON, else the UTF-8 string it spells; JSON nested
/// deeper than [`JSON_DEPTH_MAX`] is refused.
pub fn json_value(bytes: &[u8]) -> Result<Value, Reply> {
    // Plain words (`Alice`, `ON`) are the common non-JSON value; text whose first character
    // cannot begin JSON skips the parser, whose error path allocates a message.
    let parsed = if may_begin_json(bytes) {
        match serde_json::from_slice(bytes) {
            Ok(value) => Some(value),
            // JSON deeper than the parser goes: storing its text as a string would keep a
            // different value from the one sent, so it is refused.
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                return Err(Reply::error(format!(
                    "value is JSON nested more than {JSON_DEPTH_MAX} levels deep"
                )));
            }
            Err(_) => None,
        }
    } else {
        None
    };
    match parsed {
        Some(value) => Ok(value),
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Value::String(text.to_string())),
            Err(_) => Err(Reply::error("value is neither JSON nor UTF-8 text")),
        },
    }
}

/// Whether `bytes` could be JSON: its first non-blank byte can begin a JSON value.
fn may_begin_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .is_some_and(|b| {
            matches!(
                b,
                b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
            )
        })
}

/// Turns a document-layer error into its reply: `-WRONGTYPE` for type clashes, `-ERR` otherwise.
pub fn store_error(error: StoreError) -> Reply {
    match error.kind() {
        ErrorKind::WrongType => Reply::error_with_code("WRONGTYPE", error.to_string()),
        ErrorKind::Err => Reply::error(error.to_string()),
    }
}

/// The reply of a live write: `+OK` for SET, the count or length for DEL, PUSH and PULL, and the
/// number for INC (an integer reply when it is whole, else a bulk string holding the JSON
/// number, as Redis's `HINCRBYFLOAT` answers).
///
/// The change, when there is one, goes on to events and persistence.
pub fn edit_reply(
    result: Result<(Outcome, Option<Change>), StoreError>,
) -> (Reply, Option<Change>) {
    match result {
        Ok((outcome, change)) => (outcome_reply(Ok(outcome)), change),
        Err(e) => (store_error(e), None),
    }
}

/// The reply of one live write's outcome (see [`edit_reply`]).
pub fn outcome_reply(result: Result<Outcome, StoreError>) -> Reply {
    let count = |n: usize| Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    match result {
        Ok(Outcome::Done) => Reply::ok(),
        Ok(Outcome::Deleted(deleted)) => Reply::Integer(i64::from(deleted)),
        Ok(Outcome::Length(n) | Outcome::Removed(n)) => count(n),
        Ok(Outcome::Number(n)) => match n.as_i64() {
            Some(i) => Reply::Integer(i),
            None => Reply::Bulk(Bytes::from(n.to_string())),
        },
        Err(e) => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        json_value(text.as_bytes()).expect("a value")
    }

    #[test]
    fn values_are_json_when_they_parse_and_text_otherwise() {
        assert_eq!(value("Alice"), json!("Alice"));
        assert_eq!(value("\"Alice\""), json!("Alice"));
        assert_eq!(value(" {\"a\": [1, 2]}"), json!({"a": [1, 2]}));
        assert_eq!(value("-1.5"), json!(-1.5));
        assert_eq!(value("true"), json!(true));
        assert_eq!(value("null"), Value::Null);
        // Starts like JSON but is not: the text itself.
        assert_eq!(value("nope"), json!("nope"));
        assert_eq!(value("12 apples"), json!("12 apples"));
        assert_eq!(value(""), json!(""));
        assert!(json_value(b"\xff\xfe").is_err());
    }

    #[test]
    fn json_deeper_than_the_limit_is_refused_not_taken_as_text() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(value(&nested(JSON_DEPTH_MAX)).is_array());
        let refused = json_value(nested(JSON_DEPTH_MAX + 1).as_bytes()).expect_err("too deep");
        assert_eq!(
            refused,
            Reply::error("value is JSON nested more than 127 levels deep")
        );
    }
}
