//! `KEYS [pattern]`: lists the documents whose ids match a glob, gathered from every shard.
//!
//! Matching is bounded: the glob matcher runs in O(pattern × id) time whatever the pattern, and the
//! pattern itself is at most [`PATTERN_BYTES_MAX`] bytes.

use ussl_shards::Store;

use super::ArgReader;
use crate::protocol::Reply;

/// Longest glob pattern accepted, in bytes; longer ones are refused before any matching.
pub const PATTERN_BYTES_MAX: usize = 4096;

/// A parsed `KEYS`.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The glob; `*` when not given.
    pub pattern: String,
}

impl Keys {
    /// Parses `KEYS [pattern]`.
    pub fn parse(args: &mut ArgReader) -> Result<Keys, Reply> {
        let pattern = if args.remaining() > 0 {
            args.string()?
        } else {
            "*".to_string()
        };
        args.finish()?;
        if pattern.len() > PATTERN_BYTES_MAX {
            return Err(Reply::error(format!(
                "pattern is longer than {PATTERN_BYTES_MAX} bytes"
            )));
        }
        Ok(Keys { pattern })
    }

    /// Collects one shard's matching ids. Runs on each shard in turn.
    pub fn collect(&self, store: &Store, now_ms: u64, out: &mut Vec<String>) {
        store.keys(self.pattern.as_bytes(), now_ms, usize::MAX, out);
    }
}
