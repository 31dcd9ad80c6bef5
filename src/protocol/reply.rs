//! Replies and their encoding: the last step of the request path, a
//! command's answer → bytes appended to the connection's write buffer.
//!
//! Connections speak RESP2 unless they ask for RESP3 with `HELLO 3` (as
//! redis-py 8 does by default). The two differ only where a RESP3 type has
//! no RESP2 form: the absent value is `_` instead of `$-1`/`*-1`, and a map
//! is `%n` followed by key/value pairs instead of a flat array.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

/// Which RESP version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default for every new connection.
    #[default]
    Resp2,
    /// RESP3, chosen with `HELLO 3`.
    Resp3,
}

/// A command's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A short status such as `OK` (`+OK\r\n`). Any `\r` or `\n` in it is
    /// sent as a space so it cannot break the framing.
    Simple(Cow<'static, str>),
    /// An error, code word first (`-ERR message\r\n`). Any `\r` or `\n` in
    /// it is sent as a space, since messages may quote client input.
    Error(Cow<'static, str>),
    /// A signed integer (`:42\r\n`).
    Integer(i64),
    /// Binary-safe data (`$3\r\nabc\r\n`).
    Bulk(Bytes),
    /// The absent value (`$-1\r\n`).
    Nil,
    /// A list of replies (`*2\r\n...`).
    Array(Vec<Reply>),
    /// The absent list (`*-1\r\n`).
    NilArray,
    /// Key/value pairs: a RESP3 map, or a flat array of `2n` items in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// Out-of-band data the server sends unasked (subscription confirmations and change
    /// events): a RESP3 push (`>3\r\n...`), or a plain array in RESP2, as Redis sends
    /// pub/sub messages.
    Push(Vec<Reply>),
    /// Several replies sent back to back for one request, as Redis answers `PSUBSCRIBE a b`
    /// with one confirmation per pattern. Nothing marks where the sequence starts or ends.
    Sequence(Vec<Reply>),
}

impl Reply {
    /// `+OK`, the answer of commands that only report success.
    pub fn ok() -> Reply {
        Reply::Simple(Cow::Borrowed("OK"))
    }

    /// A status reply with the given text.
    pub fn simple(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Simple(text.into())
    }

    /// A generic error: `message` (given without a prefix) is sent after
    /// `ERR `, the code clients treat as "the command failed".
    pub fn error(message: impl Into<Cow<'static, str>>) -> Reply {
        Reply::error_with_code("ERR", message)
    }

    /// An error with a specific code word (such as `WRONGTYPE` or
    /// `NOPROTO`) that clients can match on, followed by `message`.
    pub fn error_with_code(code: &'static str, message: impl Into<Cow<'static, str>>) -> Reply {
        let message = message.into();
        let mut text = String::with_capacity(code.len() + 1 + message.len());
        text.push_str(code);
        text.push(' ');
        text.push_str(&message);
        Reply::Error(Cow::Owned(text))
    }

    /// A bulk reply holding `data`.
    pub fn bulk(data: impl Into<Bytes>) -> Reply {
        Reply::Bulk(data.into())
    }

    /// Appends this reply's encoding in `protocol` to `out`.
    pub fn encode(&self, out: &mut BytesMut, protocol: Protocol) {
        match self {
            Reply::Simple(text) => put_line(out, b'+', text.as_bytes()),
            Reply::Error(text) => put_line(out, b'-', text.as_bytes()),
            Reply::Integer(value) => {
                out.reserve(1 + DECIMAL_BYTES_MAX + 2);
                out.put_u8(b':');
                put_decimal(out, *value < 0, value.unsigned_abs());
                out.put_slice(b"\r\n");
            }
            Reply::Bulk(data) => {
                out.reserve(1 + DECIMAL_BYTES_MAX + 2 + data.len() + 2);
                put_length(out, b'$', data.len());
                out.put_slice(data);
                out.put_slice(b"\r\n");
            }
            Reply::Nil | Reply::NilArray if protocol == Protocol::Resp3 => out.put_slice(b"_\r\n"),
            Reply::Nil => out.put_slice(b"$-1\r\n"),
            Reply::NilArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                put_length(out, b'*', items.len());
                for item in items {
                    item.encode(out, protocol);
                }
            }
            Reply::Push(items) => {
                match protocol {
                    Protocol::Resp2 => put_length(out, b'*', items.len()),
                    Protocol::Resp3 => put_length(out, b'>', items.len()),
                }
                for item in items {
                    item.encode(out, protocol);
                }
            }
            Reply::Sequence(replies) => {
                for reply in replies {
                    reply.encode(out, protocol);
                }
            }
            Reply::Map(pairs) => {
                match protocol {
                    Protocol::Resp2 => put_length(out, b'*', pairs.len() * 2),
                    Protocol::Resp3 => put_length(out, b'%', pairs.len()),
                }
                for (key, value) in pairs {
                    key.encode(out, protocol);
                    value.encode(out, protocol);
                }
            }
        }
    }
}

/// Most bytes a `u64` takes in decimal.
const DECIMAL_BYTES_MAX: usize = 20;

/// Appends `<kind><text>\r\n`, with `\r` and `\n` in `text` sent as spaces.
fn put_line(out: &mut BytesMut, kind: u8, text: &[u8]) {
    out.reserve(1 + text.len() + 2);
    out.put_u8(kind);
    if text.iter().any(|&byte| byte == b'\r' || byte == b'\n') {
        out.extend(text.iter().map(|&byte| match byte {
            b'\r' | b'\n' => b' ',
            other => other,
        }));
    } else {
        out.put_slice(text);
    }
    out.put_slice(b"\r\n");
}

/// Appends a `<kind><len>\r\n` header.
fn put_length(out: &mut BytesMut, kind: u8, len: usize) {
    out.reserve(1 + DECIMAL_BYTES_MAX + 2);
    out.put_u8(kind);
    put_decimal(out, false, u64::try_from(len).unwrap_or(u64::MAX));
    out.put_slice(b"\r\n");
}

/// Appends `magnitude` in decimal, preceded by `-` when `negative`,
/// formatted on the stack.
fn put_decimal(out: &mut BytesMut, negative: bool, mut magnitude: u64) {
    let mut digits = [0u8; DECIMAL_BYTES_MAX];
    let mut start = digits.len();
    loop {
        start -= 1;
        // The remainder is below ten, so it fits a byte.
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        out.put_u8(b'-');
    }
    out.put_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        reply.encode(&mut out, Protocol::Resp2);
        out.to_vec()
    }

    fn encoded_resp3(reply: &Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        reply.encode(&mut out, Protocol::Resp3);
        out.to_vec()
    }

    #[test]
    fn resp3_absent_values_are_the_null_type() {
        assert_eq!(encoded_resp3(&Reply::Nil), b"_\r\n");
        assert_eq!(encoded_resp3(&Reply::NilArray), b"_\r\n");
        assert_eq!(encoded(&Reply::Nil), b"$-1\r\n");
    }

    #[test]
    fn maps_are_flat_arrays_in_resp2_and_maps_in_resp3() {
        let map = Reply::Map(vec![(Reply::bulk("k"), Reply::Integer(1))]);
        assert_eq!(encoded(&map), b"*2\r\n$1\r\nk\r\n:1\r\n");
        assert_eq!(encoded_resp3(&map), b"%1\r\n$1\r\nk\r\n:1\r\n");
    }

    #[test]
    fn pushes_are_arrays_in_resp2_and_pushes_in_resp3() {
        let push = Reply::Push(vec![Reply::bulk("pmessage"), Reply::Integer(2)]);
        assert_eq!(encoded(&push), b"*2\r\n$8\r\npmessage\r\n:2\r\n");
        assert_eq!(encoded_resp3(&push), b">2\r\n$8\r\npmessage\r\n:2\r\n");
    }

    #[test]
    fn a_sequence_is_its_replies_back_to_back() {
        let sequence = Reply::Sequence(vec![Reply::ok(), Reply::Integer(1)]);
        assert_eq!(encoded(&sequence), b"+OK\r\n:1\r\n");
        assert_eq!(encoded(&Reply::Sequence(Vec::new())), b"");
    }

    #[test]
    fn ok_is_simple_ok() {
        assert_eq!(encoded(&Reply::ok()), b"+OK\r\n");
    }

    #[test]
    fn error_gets_err_prefix() {
        assert_eq!(
            encoded(&Reply::error("no such key")),
            b"-ERR no such key\r\n"
        );
    }

    #[test]
    fn error_with_code_uses_the_code() {
        let reply = Reply::error_with_code("WRONGTYPE", "not a list");
        assert_eq!(encoded(&reply), b"-WRONGTYPE not a list\r\n");
    }

    #[test]
    fn newlines_in_error_and_simple_become_spaces() {
        assert_eq!(encoded(&Reply::error("a\r\nb\nc")), b"-ERR a  b c\r\n");
        assert_eq!(encoded(&Reply::simple("x\ry")), b"+x y\r\n");
    }

    #[test]
    fn integers_encode_in_decimal() {
        assert_eq!(encoded(&Reply::Integer(0)), b":0\r\n");
        assert_eq!(encoded(&Reply::Integer(42)), b":42\r\n");
        assert_eq!(encoded(&Reply::Integer(-7)), b":-7\r\n");
        assert_eq!(
            encoded(&Reply::Integer(i64::MIN)),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(
            encoded(&Reply::Integer(i64::MAX)),
            b":9223372036854775807\r\n"
        );
    }

    #[test]
    fn bulk_is_length_prefixed_and_binary_safe() {
        assert_eq!(encoded(&Reply::bulk(&b"a\r\nb"[..])), b"$4\r\na\r\nb\r\n");
        assert_eq!(encoded(&Reply::bulk(Bytes::new())), b"$0\r\n\r\n");
    }

    #[test]
    fn nils_encode_as_minus_one() {
        assert_eq!(encoded(&Reply::Nil), b"$-1\r\n");
        assert_eq!(encoded(&Reply::NilArray), b"*-1\r\n");
    }

    #[test]
    fn arrays_nest() {
        let reply = Reply::Array(vec![
            Reply::Integer(1),
            Reply::Array(vec![Reply::Nil, Reply::bulk("x")]),
            Reply::Array(vec![]),
        ]);
        assert_eq!(
            encoded(&reply),
            b"*3\r\n:1\r\n*2\r\n$-1\r\n$1\r\nx\r\n*0\r\n"
        );
    }

    #[test]
    fn encode_appends_to_existing_output() {
        let mut out = BytesMut::from(&b"+A\r\n"[..]);
        Reply::ok().encode(&mut out, Protocol::Resp2);
        assert_eq!(&out[..], b"+A\r\n+OK\r\n");
    }
}
