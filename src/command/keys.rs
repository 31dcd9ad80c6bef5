//! `KEYS [pattern]`: lists the documents whose ids match a glob, gathered from every shard.
//!
//! Matching is bounded: the glob matcher runs in O(pattern × id) time whatever the pattern, and the
//! pattern itself is at most `--max-pattern-bytes` long.

use ussl_shards::Store;

use super::ArgReader;
use crate::protocol::Reply;

/// A parsed `KEYS`.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The glob; `*` when not given.
    pub pattern: String,
}

impl Keys {
    /// Parses `KEYS [pattern]`, refusing patterns longer than `pattern_bytes_max`.
    pub fn parse(args: &mut ArgReader, pattern_bytes_max: usize) -> Result<Keys, Reply> {
        let pattern = if args.remaining() > 0 {
            args.string()?
        } else {
            "*".to_string()
        };
        args.finish()?;
        if pattern.len() > pattern_bytes_max {
            return Err(Reply::error(format!(
                "pattern is longer than {pattern_bytes_max} bytes"
            )));
        }
        Ok(Keys { pattern })
    }

    /// Collects one shard's matching ids. Runs on each shard in turn.
    pub fn collect(&self, store: &Store, now_ms: u64, out: &mut Vec<String>) {
        store.keys(self.pattern.as_bytes(), now_ms, usize::MAX, out);
    }
}
