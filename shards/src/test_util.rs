//! Helpers the unit tests of several modules share.

use serde_json::{Number, Value};

use crate::hlc::Stamp;
use crate::path::Path;

/// Parses a path the test knows is valid.
pub fn path(text: &str) -> Path {
    Path::parse(text).expect("valid test path")
}

/// A stamp at `ms` by `replica`.
pub fn stamp(ms: u64, replica: u64) -> Stamp {
    Stamp {
        ms,
        seq: 0,
        replica,
    }
}

/// The number a test knows `value` is.
pub fn number(value: Value) -> Number {
    match value {
        Value::Number(number) => number,
        other => panic!("not a number: {other}"),
    }
}
