//! `AUTH [user] password` and `HELLO [protover [AUTH user password] [SETNAME name]]`.
//!
//! Passwords are compared as SHA-256 digests in constant time, so neither the content nor the
//! length of the configured password leaks through reply timing. A wrong password is an error
//! reply; the connection stays open, as in Redis.

use bytes::Bytes;

use super::ArgReader;
use crate::protocol::{Protocol, Reply};
use crate::session::Session;
use crate::shared::Shared;

/// The only user name accepted, as Redis's default user, for clients that always send one.
const DEFAULT_USER: &str = "default";

/// A parsed `AUTH`.
#[derive(Debug)]
pub struct Auth {
    /// `None` for the one-argument form.
    pub user: Option<String>,
    /// The password as sent.
    pub password: Bytes,
}

impl Auth {
    /// Parses `AUTH password` or `AUTH user password`.
    pub fn parse(args: &mut ArgReader) -> Result<Auth, Reply> {
        let auth = match args.remaining() {
            1 => Auth {
                user: None,
                password: args.bytes()?,
            },
            2 => Auth {
                user: Some(args.string()?),
                password: args.bytes()?,
            },
            _ => return Err(args.wrong_arity()),
        };
        Ok(auth)
    }

    /// Checks the password and marks the session authenticated when it matches.
    pub fn apply(self, session: &mut Session, shared: &Shared) -> Reply {
        if !shared.requires_password() {
            return Reply::error(
                "AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            );
        }
        check(self.user.as_deref(), &self.password, session, shared)
    }
}

/// Authenticates the session when user and password match; the reply for either outcome.
fn check(user: Option<&str>, password: &[u8], session: &mut Session, shared: &Shared) -> Reply {
    let user_ok = user.is_none_or(|u| u == DEFAULT_USER);
    if shared.password_matches(password) && user_ok {
        session.authenticated = true;
        Reply::ok()
    } else {
        tracing::debug!(client = session.id, "wrong password");
        Reply::error_with_code("WRONGPASS", "invalid username-password pair")
    }
}

/// A parsed `HELLO`.
#[derive(Debug)]
pub struct Hello {
    /// Requested protocol version: 2 (RESP2) or 3 (RESP3).
    pub protover: Option<i64>,
    /// Credentials to authenticate with at the same time.
    pub auth: Option<(String, Bytes)>,
    /// Connection name to set at the same time.
    pub setname: Option<String>,
}

impl Hello {
    /// Parses `HELLO [protover [AUTH user password] [SETNAME name]]`.
    pub fn parse(args: &mut ArgReader) -> Result<Hello, Reply> {
        let mut hello = Hello {
            protover: None,
            auth: None,
            setname: None,
        };
        if args.remaining() == 0 {
            return Ok(hello);
        }
        hello.protover = Some(
            args.integer()
                .map_err(|_| Reply::error("Protocol version is not an integer or out of range"))?,
        );
        while args.remaining() > 0 {
            if args.keyword("AUTH") {
                hello.auth = Some((args.string()?, args.bytes()?));
            } else if args.keyword("SETNAME") {
                hello.setname = Some(super::compat::client_name(args)?);
            } else {
                return Err(args.syntax_error());
            }
        }
        Ok(hello)
    }

    /// Answers the handshake with the server's properties, after any AUTH and SETNAME it
    /// carries, and switches the connection to the protocol version asked for.
    pub fn apply(self, session: &mut Session, shared: &Shared) -> Reply {
        let protocol = match self.protover {
            None => session.protocol,
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => {
                return Reply::error_with_code(
                    "NOPROTO",
                    "sorry, this protocol version is not supported",
                )
            }
        };
        if let Some((user, password)) = &self.auth {
            let reply = if shared.requires_password() {
                check(Some(user), password, session, shared)
            } else {
                Reply::ok()
            };
            if matches!(reply, Reply::Error(_)) {
                return reply;
            }
        }
        if !session.authenticated {
            return Reply::error_with_code(
                "NOAUTH",
                "HELLO must be called with the client already authenticated, otherwise the \
                 HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client \
                 and select the RESP protocol version at the same time",
            );
        }
        if let Some(name) = self.setname {
            session.name = Some(name);
        }
        session.protocol = protocol;
        let text = |s: &str| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()));
        let proto = match protocol {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        };
        Reply::Map(vec![
            (text("server"), text("usld")),
            (text("version"), text(env!("CARGO_PKG_VERSION"))),
            (text("proto"), Reply::Integer(proto)),
            (
                text("id"),
                Reply::Integer(i64::try_from(session.id).unwrap_or(i64::MAX)),
            ),
            (text("mode"), text("standalone")),
            (text("role"), text("master")),
            (text("modules"), Reply::Array(Vec::new())),
        ])
    }
}
