//! Commands that Redis client tools send on connect (`SELECT`, `CLIENT`, `CONFIG GET`,
//! `COMMAND`), answered well enough that redis-cli, redis-py and redis-benchmark proceed
//! unchanged. USSL has one keyspace, no runtime config changes and no command table to report;
//! each answer below says what it stands for.

use bytes::Bytes;
use ussl_shards::glob::glob_match;

use super::ArgReader;
use crate::protocol::Reply;
use crate::session::Session;
use crate::shared::Shared;

/// A parsed `SELECT db`: only database 0 exists.
#[derive(Debug)]
pub struct Select {
    /// The database index asked for.
    pub db: i64,
}

impl Select {
    /// Parses `SELECT index`.
    pub fn parse(args: &mut ArgReader) -> Result<Select, Reply> {
        let db = args.integer()?;
        args.finish()?;
        Ok(Select { db })
    }

    /// `+OK` for 0, the Redis error otherwise.
    pub fn apply(self) -> Reply {
        if self.db == 0 {
            Reply::ok()
        } else {
            Reply::error("DB index is out of range")
        }
    }
}

/// A parsed `CLIENT` subcommand.
#[derive(Debug)]
pub enum Client {
    SetName(String),
    GetName,
    Id,
    SetInfo { attribute: String, value: String },
    Info,
}

/// Reads a connection name (`CLIENT SETNAME`, `HELLO ... SETNAME`): printable ASCII without
/// spaces, as Redis requires, so that `CLIENT INFO`'s space-separated fields stay readable.
pub fn client_name(args: &mut ArgReader) -> Result<String, Reply> {
    let name = args.string()?;
    if name.chars().any(|c| !('!'..='~').contains(&c)) {
        return Err(Reply::error(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(name)
}

impl Client {
    /// Parses `CLIENT SETNAME|GETNAME|ID|SETINFO|INFO ...`.
    pub fn parse(args: &mut ArgReader) -> Result<Client, Reply> {
        let sub = args.string()?;
        let client = match sub.to_ascii_uppercase().as_str() {
            "SETNAME" => Client::SetName(client_name(args)?),
            "GETNAME" => Client::GetName,
            "ID" => Client::Id,
            "INFO" => Client::Info,
            "SETINFO" => Client::SetInfo {
                attribute: args.string()?,
                value: args.string()?,
            },
            _ => {
                return Err(Reply::error(format!(
                    "unknown subcommand '{}'. Try SETNAME, GETNAME, ID, SETINFO or INFO.",
                    super::printable(sub.as_bytes())
                )))
            }
        };
        args.finish()?;
        Ok(client)
    }

    /// Reads or updates the session.
    pub fn apply(self, session: &mut Session) -> Reply {
        match self {
            Client::SetName(name) => {
                session.name = (!name.is_empty()).then_some(name);
                Reply::ok()
            }
            Client::GetName => match &session.name {
                Some(name) => Reply::Bulk(Bytes::from(name.clone())),
                None => Reply::Nil,
            },
            Client::Id => Reply::Integer(i64::try_from(session.id).unwrap_or(i64::MAX)),
            Client::SetInfo { attribute, value } => {
                match attribute.to_ascii_uppercase().as_str() {
                    "LIB-NAME" => session.lib_name = Some(value),
                    "LIB-VER" => session.lib_ver = Some(value),
                    _ => return Reply::error(format!("Unrecognized option '{attribute}'")),
                }
                Reply::ok()
            }
            Client::Info => {
                let addr = session.peer.map(|p| p.to_string()).unwrap_or_default();
                Reply::Bulk(Bytes::from(format!(
                    "id={} addr={} shard={} name={} lib-name={} lib-ver={}\n",
                    session.id,
                    addr,
                    session.shard,
                    session.name.as_deref().unwrap_or(""),
                    session.lib_name.as_deref().unwrap_or(""),
                    session.lib_ver.as_deref().unwrap_or("")
                )))
            }
        }
    }
}

/// A parsed `CONFIG GET pattern...`; `CONFIG SET` is refused because settings are fixed at start.
#[derive(Debug)]
pub struct ConfigGet {
    /// Globs naming the parameters wanted.
    pub patterns: Vec<String>,
}

impl ConfigGet {
    /// Parses `CONFIG GET pattern [pattern ...]`.
    pub fn parse(args: &mut ArgReader) -> Result<ConfigGet, Reply> {
        let sub = args.string()?;
        if !sub.eq_ignore_ascii_case("GET") {
            return Err(Reply::error(format!(
                "CONFIG {} is not supported: usld settings are fixed at start (flags, USSL_* \
                 variables or the config file)",
                super::printable(sub.as_bytes())
            )));
        }
        if args.remaining() == 0 {
            return Err(args.wrong_arity());
        }
        let mut patterns = Vec::new();
        while args.remaining() > 0 {
            patterns.push(args.string()?);
        }
        Ok(ConfigGet { patterns })
    }

    /// Answers name/value pairs for the parameters that match, Redis style. `save` is empty (usld
    /// takes no snapshots); `appendonly` says whether `--db` keeps a log of every write, and
    /// `appendfsync` how it syncs (`always` with `--fsync`, `no` otherwise: SQLite's checkpoints
    /// sync it).
    pub fn apply(self, shared: &Shared) -> Reply {
        let config = &shared.config;
        let yes_no = |on: bool| if on { "yes" } else { "no" }.to_string();
        let fsync = if config.fsync { "always" } else { "no" };
        let params: [(&str, String); 8] = [
            ("save", String::new()),
            ("appendonly", yes_no(config.db.is_some())),
            ("appendfsync", fsync.to_string()),
            ("maxclients", config.clients_max.to_string()),
            ("port", config.tcp_addr.map_or(0, |a| a.port()).to_string()),
            (
                "bind",
                config
                    .tcp_addr
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default(),
            ),
            ("databases", "1".to_string()),
            ("proto-max-bulk-len", config.request_bytes_max.to_string()),
        ];
        let mut out = Vec::new();
        for (name, value) in params {
            let wanted = self
                .patterns
                .iter()
                .any(|p| glob_match(p.to_ascii_lowercase().as_bytes(), name.as_bytes()));
            if wanted {
                out.push((
                    Reply::Bulk(Bytes::from_static(name.as_bytes())),
                    Reply::Bulk(Bytes::from(value)),
                ));
            }
        }
        Reply::Map(out)
    }
}

/// A parsed `COMMAND [DOCS|INFO|LIST|COUNT ...]`. usld publishes no command table: the listing
/// forms answer an empty array (redis-cli then just shows no hints) and `COUNT` the number of
/// commands in `docs/protocol.md`.
#[derive(Debug)]
pub struct CommandDocs {
    /// True for `COMMAND COUNT`.
    pub count: bool,
}

/// How many commands usld answers, for `COMMAND COUNT`.
const COMMAND_COUNT: i64 = 19;

impl CommandDocs {
    /// Parses `COMMAND [subcommand args...]`.
    pub fn parse(args: &mut ArgReader) -> Result<CommandDocs, Reply> {
        if args.remaining() == 0 {
            return Ok(CommandDocs { count: false });
        }
        let sub = args.string()?.to_ascii_uppercase();
        let count = match sub.as_str() {
            "COUNT" => true,
            "DOCS" | "INFO" | "LIST" => false,
            _ => {
                return Err(Reply::error(format!(
                    "unknown subcommand '{}'. Try COMMAND DOCS, INFO, LIST or COUNT.",
                    super::printable(sub.as_bytes())
                )))
            }
        };
        while args.remaining() > 0 {
            args.slice()?;
        }
        Ok(CommandDocs { count })
    }

    /// The answer described on the type.
    pub fn apply(self) -> Reply {
        if self.count {
            Reply::Integer(COMMAND_COUNT)
        } else {
            Reply::Array(Vec::new())
        }
    }
}
