//! The ways a client's bytes can fail to become a request (steps bytes in →
//! frame and frame → args), worded as Redis words them so that existing
//! clients and tests recognise them, and whether the connection can go on
//! after each.

use std::fmt;

/// Why the bytes at the front of a read buffer are not a valid request.
///
/// The texts are Redis's own; the server sends them prefixed with `ERR `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The `*<n>` header of a multibulk request is not a strict decimal
    /// integer, or declares more arguments than an authenticated
    /// connection may send.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// An argument of a multibulk request does not start with `$`.
    #[error("Protocol error: expected '$', got '{}'", PrintableByte(*.got))]
    ExpectedDollar {
        /// The byte found where `$` was expected.
        got: u8,
    },
    /// A `$<len>` header is not a strict non-negative decimal integer, or
    /// declares more bytes than an authenticated connection may send in
    /// one argument.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// The bytes right after a bulk argument's data are not `\r\n`.
    ///
    /// Redis skips these two bytes unchecked; checking them catches a
    /// client whose declared lengths are wrong before it desynchronises
    /// the stream.
    #[error("Protocol error: expected CRLF after bulk data")]
    MissingBulkTerminator,
    /// An inline request's line is longer than the limit allows, with or
    /// without its newline having arrived.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// An inline request's line has a quote that is never closed, or a
    /// closing quote followed by something other than whitespace.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A connection that has not authenticated declared more arguments
    /// than it may send (Redis's CVE-2021-32675 defence).
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A connection that has not authenticated declared a bigger argument
    /// than it may send (Redis's CVE-2021-32675 defence).
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// The arguments declared so far add up to more bytes than one request
    /// may hold.
    #[error(
        "Protocol error: request too large ({request_bytes} bytes, limit {request_bytes_max})"
    )]
    RequestTooLarge {
        /// Bytes declared by the request when it crossed the limit.
        request_bytes: usize,
        /// The limit it crossed.
        request_bytes_max: usize,
    },
}

impl ProtocolError {
    /// Whether the connection must be closed after replying with this
    /// error.
    ///
    /// A framing error leaves the read position somewhere inside a frame
    /// whose end is unknown, so nothing after it can be trusted. Only
    /// unbalanced quotes are not fatal: by then the whole inline line has
    /// been consumed and the next request starts cleanly.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ProtocolError::UnbalancedQuotes)
    }
}

/// Shows a byte as itself when it is printable ASCII and as `\xHH`
/// otherwise, so an error text never carries control bytes (in particular
/// `\r` or `\n`) back to the client.
struct PrintableByte(u8);

impl fmt::Display for PrintableByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() || self.0 == b' ' {
            write!(f, "{}", char::from(self.0))
        } else {
            write!(f, "\\x{:02x}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_dollar_shows_printable_byte_as_itself() {
        let error = ProtocolError::ExpectedDollar { got: b'X' };
        assert_eq!(error.to_string(), "Protocol error: expected '$', got 'X'");
    }

    #[test]
    fn expected_dollar_shows_control_byte_as_hex_escape() {
        let error = ProtocolError::ExpectedDollar { got: b'\r' };
        assert_eq!(
            error.to_string(),
            "Protocol error: expected '$', got '\\x0d'"
        );
    }

    #[test]
    fn request_too_large_names_size_and_limit() {
        let error = ProtocolError::RequestTooLarge {
            request_bytes: 20,
            request_bytes_max: 10,
        };
        assert_eq!(
            error.to_string(),
            "Protocol error: request too large (20 bytes, limit 10)"
        );
    }

    #[test]
    fn only_unbalanced_quotes_is_not_fatal() {
        assert!(!ProtocolError::UnbalancedQuotes.is_fatal());
        assert!(ProtocolError::InvalidMultibulkLength.is_fatal());
        assert!(ProtocolError::InvalidBulkLength.is_fatal());
        assert!(ProtocolError::TooBigInline.is_fatal());
        assert!(ProtocolError::MissingBulkTerminator.is_fatal());
        assert!(ProtocolError::UnauthenticatedBulkLength.is_fatal());
        assert!(ProtocolError::UnauthenticatedMultibulkLength.is_fatal());
        assert!(ProtocolError::ExpectedDollar { got: b'x' }.is_fatal());
    }
}
