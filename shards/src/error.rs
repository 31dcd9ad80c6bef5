//! The error vocabulary of the document engine.
//!
//! Every fallible store operation returns [`StoreError`]. Its messages are
//! written for the client (lower-case sentences naming the id or path), and
//! [`StoreError::kind`] tells the server which reply family to use, so the
//! server never has to match on individual variants.

use std::fmt;

use serde_json::Value;

use crate::path::PathError;
use crate::strategy::Strategy;

/// Why a store operation failed. The document is unchanged whenever one of
/// these is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The path text was malformed or over a limit.
    #[error(transparent)]
    InvalidPath(#[from] PathError),
    /// The strategy name is not one the engine knows.
    #[error(
        "unknown strategy '{0}'; expected one of lww, crdt-counter, crdt-set, crdt-map, crdt-text"
    )]
    UnknownStrategy(String),
    /// The strategy is known but cannot be used yet.
    #[error("strategy '{0}' is not yet supported")]
    NotSupported(Strategy),
    /// CREATE named a document that already exists.
    #[error("document '{0}' already exists")]
    AlreadyExists(String),
    /// CREATE was given a TTL of zero, which would expire the document at
    /// once.
    #[error("ttl must be at least 1 millisecond")]
    InvalidTtl,
    /// An array index was more than one past the end; only replacing an
    /// element or appending right after the last is allowed.
    #[error("index {index} is out of range for the array at '{path}' (length {len})")]
    IndexOutOfRange {
        /// The path of the array.
        path: String,
        /// The index that was asked for.
        index: usize,
        /// The array's length.
        len: usize,
    },
    /// The path goes through a scalar, which has no members. Writes refuse
    /// rather than silently overwrite it.
    #[error("path '{path}' goes through {found}, not a map or array")]
    NotAContainer {
        /// The path prefix that holds the scalar.
        path: String,
        /// What kind of scalar is there.
        found: JsonKind,
    },
    /// A non-numeric key was applied to an array, which only has indexes.
    #[error("path '{path}' is an array, which has no key '{key}'")]
    KeyOnArray {
        /// The path of the array.
        path: String,
        /// The key that was asked for.
        key: String,
    },
    /// PUSH found something other than an array at the path.
    #[error("path '{path}' holds {found}, not an array")]
    NotAnArray {
        /// The full path given to PUSH.
        path: String,
        /// What is there instead.
        found: JsonKind,
    },
    /// INC found something other than a number at the path.
    #[error("path '{path}' holds {found}, not a number")]
    NotANumber {
        /// The full path given to INC.
        path: String,
        /// What is there instead.
        found: JsonKind,
    },
    /// A live write would put a field around fields that are already below its path
    /// (`crdt-counter` and `crdt-set` keep their fields apart).
    #[error("path '{path}' has other fields below it")]
    Clash {
        /// The path written.
        path: String,
    },
    /// The command does not apply to the document's strategy.
    #[error("{command} does not apply to a {strategy} document: {hint}")]
    WrongStrategy {
        /// The command, as clients spell it.
        command: &'static str,
        /// The document's strategy.
        strategy: Strategy,
        /// What to do instead.
        hint: &'static str,
    },
    /// A MERGE's update is for another strategy than the document's.
    #[error("the update is for a {update} document, but the document is {document}")]
    StrategyMismatch {
        /// The document's strategy.
        document: Strategy,
        /// The strategy the update is for.
        update: Strategy,
    },
    /// A MERGE's update or a SYNC's state vector could not be read, or breaks a rule or limit.
    /// Nothing of it was applied.
    #[error("invalid update: {0}")]
    InvalidUpdate(String),
    /// A crdt-text edit, update or state vector was refused (see [`crate::text::TextError`]).
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    /// A persisted state or update (see [`crate::persisted`]) could not be read back: the
    /// storage holding it is damaged or was written by something else.
    #[error("unreadable persisted document: {0}")]
    BadPersisted(String),
    /// INC's result does not fit: an `i64` overflow, or a non-finite float.
    #[error("incrementing '{path}' would overflow")]
    Overflow {
        /// The full path given to INC.
        path: String,
    },
}

/// Which family of error reply a [`StoreError`] belongs to.
///
/// The server maps `WrongType` to `-WRONGTYPE ...` and `Err` to `-ERR ...`,
/// following Redis, so clients can tell type mistakes from other failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A generic error: bad arguments, missing or existing documents, limits.
    Err,
    /// The operation met a value of the wrong JSON type.
    WrongType,
}

impl StoreError {
    /// Returns the reply family for this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotAContainer { .. }
            | StoreError::KeyOnArray { .. }
            | StoreError::NotAnArray { .. }
            | StoreError::NotANumber { .. }
            | StoreError::Clash { .. }
            | StoreError::WrongStrategy { .. }
            | StoreError::StrategyMismatch { .. } => ErrorKind::WrongType,
            StoreError::InvalidPath(_)
            | StoreError::UnknownStrategy(_)
            | StoreError::NotSupported(_)
            | StoreError::AlreadyExists(_)
            | StoreError::InvalidTtl
            | StoreError::IndexOutOfRange { .. }
            | StoreError::InvalidUpdate(_)
            | StoreError::Text(_)
            | StoreError::BadPersisted(_)
            | StoreError::Overflow { .. } => ErrorKind::Err,
        }
    }

    /// This error with the first segment of its path, `from`, replaced by the path `to`: an
    /// error raised inside a value that was wrapped to be edited, told in the caller's terms.
    pub(crate) fn rebased(mut self, from: &str, to: &str) -> StoreError {
        if let StoreError::IndexOutOfRange { path, .. }
        | StoreError::NotAContainer { path, .. }
        | StoreError::KeyOnArray { path, .. }
        | StoreError::NotAnArray { path, .. }
        | StoreError::NotANumber { path, .. }
        | StoreError::Clash { path, .. }
        | StoreError::Overflow { path } = &mut self
        {
            if let Some(rest) = path.strip_prefix(from) {
                if rest.is_empty() || rest.starts_with('.') {
                    *path = format!("{to}{rest}");
                }
            }
        }
        self
    }
}

/// The JSON type of a value, named in type-mismatch errors.
///
/// Displays with an article (`a string`, `an array`, `a map`, `null`) so it
/// reads naturally inside messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// Any JSON number.
    Number,
    /// A JSON string.
    String,
    /// A JSON array.
    Array,
    /// A JSON object, called a map in messages.
    Map,
}

impl JsonKind {
    /// Returns the kind of `value`.
    pub fn of(value: &Value) -> JsonKind {
        match value {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Map,
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Map => "a map",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_mismatches_are_wrong_type() {
        let path = String::from("a");
        let wrong_type = [
            StoreError::NotAContainer {
                path: path.clone(),
                found: JsonKind::String,
            },
            StoreError::KeyOnArray {
                path: path.clone(),
                key: "b".into(),
            },
            StoreError::NotAnArray {
                path: path.clone(),
                found: JsonKind::Map,
            },
            StoreError::NotANumber {
                path: path.clone(),
                found: JsonKind::Null,
            },
        ];
        for error in wrong_type {
            assert_eq!(error.kind(), ErrorKind::WrongType, "{error}");
        }
    }

    #[test]
    fn other_errors_are_plain_errors() {
        let plain = [
            StoreError::InvalidPath(PathError::Empty),
            StoreError::UnknownStrategy("x".into()),
            StoreError::NotSupported(Strategy::CrdtText),
            StoreError::AlreadyExists("doc".into()),
            StoreError::InvalidTtl,
            StoreError::IndexOutOfRange {
                path: "a".into(),
                index: 5,
                len: 2,
            },
            StoreError::Overflow { path: "a".into() },
        ];
        for error in plain {
            assert_eq!(error.kind(), ErrorKind::Err, "{error}");
        }
    }

    #[test]
    fn not_a_container_message_names_path_and_type() {
        let error = StoreError::NotAContainer {
            path: "a.b".into(),
            found: JsonKind::String,
        };
        assert_eq!(
            error.to_string(),
            "path 'a.b' goes through a string, not a map or array"
        );
    }

    #[test]
    fn path_errors_keep_their_message() {
        let error = StoreError::from(PathError::Empty);
        assert_eq!(error.to_string(), "path is empty");
    }

    #[test]
    fn not_supported_message_names_the_strategy() {
        let error = StoreError::NotSupported(Strategy::CrdtCounter);
        assert_eq!(
            error.to_string(),
            "strategy 'crdt-counter' is not yet supported"
        );
    }

    #[test]
    fn json_kind_reads_with_an_article() {
        assert_eq!(JsonKind::of(&Value::Null).to_string(), "null");
        assert_eq!(JsonKind::of(&Value::Bool(true)).to_string(), "a boolean");
        assert_eq!(JsonKind::of(&serde_json::json!(1)).to_string(), "a number");
        assert_eq!(
            JsonKind::of(&serde_json::json!("x")).to_string(),
            "a string"
        );
        assert_eq!(JsonKind::of(&serde_json::json!([])).to_string(), "an array");
        assert_eq!(JsonKind::of(&serde_json::json!({})).to_string(), "a map");
    }
}
