//! The Redis wire protocol (RESP2) as `usld` speaks it: the first two steps
//! of the request path, bytes in → frame → args, and the last one, reply →
//! bytes out.
//!
//! [`parse_request`] cuts one request (multibulk or inline) off the front of
//! a connection's read buffer and hands back its arguments as zero-copy
//! slices of that buffer, checking every size against [`RequestLimits`] as
//! soon as it is declared so a client cannot make the server buffer more
//! than the limits allow. [`inline`] holds the word-splitting rules of
//! inline requests (typed by people at a `telnet` or `nc` prompt), and
//! [`Reply`] turns a command's answer into RESP2 bytes.

pub mod error;
pub mod inline;
pub mod limits;
pub mod reply;
pub mod request;

pub use error::ProtocolError;
pub use limits::RequestLimits;
pub use reply::{Protocol, Reply};
pub use request::{parse_request, Request};
