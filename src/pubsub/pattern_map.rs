//! A map keyed by subscription patterns that finds the entries matching a document id quickly:
//! literal patterns (no glob syntax, the common `SUB user:1`) with one hash lookup, glob patterns
//! by matching each in turn, in time bounded by the glob matcher.

use ahash::AHashMap;
use bytes::Bytes;
use ussl_shards::{glob_match, is_literal};

/// Values keyed by pattern.
#[derive(Debug)]
pub struct PatternMap<V> {
    /// Literal patterns: the document id itself.
    literal: AHashMap<Bytes, V>,
    /// Glob patterns.
    globs: AHashMap<Bytes, V>,
}

impl<V> Default for PatternMap<V> {
    fn default() -> Self {
        PatternMap {
            literal: AHashMap::new(),
            globs: AHashMap::new(),
        }
    }
}

impl<V: Default> PatternMap<V> {
    /// The value for `pattern`, inserted as the default when missing.
    pub fn entry(&mut self, pattern: Bytes) -> &mut V {
        self.table_mut(&pattern).entry(pattern).or_default()
    }
}

impl<V> PatternMap<V> {
    /// Whether no pattern is present.
    pub fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.globs.is_empty()
    }

    /// The value for `pattern`, if present.
    pub fn get_mut(&mut self, pattern: &[u8]) -> Option<&mut V> {
        self.table_mut(pattern).get_mut(pattern)
    }

    /// Removes `pattern`.
    pub fn remove(&mut self, pattern: &[u8]) {
        self.table_mut(pattern).remove(pattern);
    }

    /// Every pattern matching document `id`, with its value.
    pub fn matching<'a>(&'a self, id: &'a [u8]) -> impl Iterator<Item = (&'a Bytes, &'a V)> {
        let literal = self.literal.get_key_value(id);
        let globs = self
            .globs
            .iter()
            .filter(move |(pattern, _)| glob_match(pattern, id));
        literal.into_iter().chain(globs)
    }

    fn table_mut(&mut self, pattern: &[u8]) -> &mut AHashMap<Bytes, V> {
        if is_literal(pattern) {
            &mut self.literal
        } else {
            &mut self.globs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matching(map: &PatternMap<u32>, id: &str) -> Vec<u32> {
        let mut values: Vec<u32> = map.matching(id.as_bytes()).map(|(_, v)| *v).collect();
        values.sort_unstable();
        values
    }

    #[test]
    fn literal_and_glob_patterns_both_match() {
        let mut map = PatternMap::default();
        *map.entry(Bytes::from("user:1")) = 1;
        *map.entry(Bytes::from("user:*")) = 2;
        *map.entry(Bytes::from("*:1")) = 3;
        *map.entry(Bytes::from("order:*")) = 4;
        assert_eq!(matching(&map, "user:1"), [1, 2, 3]);
        assert_eq!(matching(&map, "user:2"), [2]);
        assert_eq!(matching(&map, "x"), Vec::<u32>::new());
    }

    #[test]
    fn removed_patterns_no_longer_match() {
        let mut map = PatternMap::default();
        *map.entry(Bytes::from("a")) = 1;
        *map.entry(Bytes::from("a*")) = 2;
        map.remove(b"a");
        map.remove(b"a*");
        assert!(map.is_empty());
        assert!(map.get_mut(b"a").is_none());
    }
}
