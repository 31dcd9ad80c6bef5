//! Helpers the unit tests of several modules share.

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
