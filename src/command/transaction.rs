//! `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`: usld has no transactions, and says so.
//!
//! A client library may wrap a pipeline in `MULTI` … `EXEC` by default (redis-py's
//! `pipeline()`). Were `MULTI` merely refused, the commands behind it would each apply on their
//! own while the client reports the transaction failed, and a retry would apply them twice. So
//! after a `MULTI` every command is refused, unapplied, until `EXEC` or `DISCARD` ends it.

use crate::protocol::Reply;

/// The answer to the transaction commands themselves.
const NO_TRANSACTIONS: &str = "usld has no transactions (MULTI, EXEC, WATCH): each command \
     applies on its own, so pipeline without them (redis-py: pipeline(transaction=False))";

/// The answer to a command sent after `MULTI`.
const NOT_RUN: &str = "command not run: it follows a MULTI, and usld has no transactions \
     (EXEC or DISCARD ends the MULTI)";

/// The reply in place of running command `name`, if it is refused; `open` says whether a
/// `MULTI` awaits its `EXEC` or `DISCARD` on this connection, and is updated.
pub fn refuse(name: &[u8], open: &mut bool) -> Option<Reply> {
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("MULTI") {
        *open = true;
    } else if is("EXEC") || is("DISCARD") {
        *open = false;
    } else if !is("WATCH") && !is("UNWATCH") {
        return (*open && !is("QUIT")).then(|| Reply::error(NOT_RUN));
    }
    Some(Reply::error(NO_TRANSACTIONS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_between_multi_and_exec_are_refused() {
        let mut open = false;
        assert_eq!(refuse(b"GET", &mut open), None);
        assert_eq!(
            refuse(b"watch", &mut open),
            Some(Reply::error(NO_TRANSACTIONS))
        );
        assert!(!open);
        assert_eq!(
            refuse(b"multi", &mut open),
            Some(Reply::error(NO_TRANSACTIONS))
        );
        assert!(open);
        assert_eq!(refuse(b"SET", &mut open), Some(Reply::error(NOT_RUN)));
        assert_eq!(refuse(b"QUIT", &mut open), None);
        assert_eq!(
            refuse(b"EXEC", &mut open),
            Some(Reply::error(NO_TRANSACTIONS))
        );
        assert!(!open);
        assert_eq!(refuse(b"SET", &mut open), None);
        refuse(b"MULTI", &mut open);
        assert_eq!(
            refuse(b"DISCARD", &mut open),
            Some(Reply::error(NO_TRANSACTIONS))
        );
        assert_eq!(refuse(b"SET", &mut open), None);
    }
}
