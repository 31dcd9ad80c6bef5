//! Which shards have subscribers for which patterns: the table a document's owner consults after a
//! write, so that it sends the change only to shards where some connection wants it.
//!
//! Every shard keeps a full copy. A shard announces a pattern to all shards (itself included) when
//! its first local subscriber for it arrives, and withdraws it when its last one leaves; the
//! announcements travel over the same ordered links as events (see [`super::links`]), so each
//! copy sees them in the order they were made. Literal patterns (no glob syntax, the common
//! `SUB user:1`) are found with one hash lookup; glob patterns are matched one by one, each in
//! bounded time.

use bytes::Bytes;

use super::pattern_map::PatternMap;

/// Patterns of every shard, and the shards holding each.
#[derive(Debug, Default)]
pub struct Routes {
    /// Pattern → the shards with a subscriber for it.
    shards: PatternMap<Vec<usize>>,
}

impl Routes {
    /// An empty table.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Whether no shard has any subscriber, so no write needs an event.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// Records that `shard` has subscribers for `pattern`.
    pub fn add(&mut self, pattern: Bytes, shard: usize) {
        let shards = self.shards.entry(pattern);
        if !shards.contains(&shard) {
            shards.push(shard);
        }
    }

    /// Records that `shard` has no subscribers for `pattern` any more.
    pub fn remove(&mut self, pattern: &[u8], shard: usize) {
        if let Some(shards) = self.shards.get_mut(pattern) {
            shards.retain(|&s| s != shard);
            if shards.is_empty() {
                self.shards.remove(pattern);
            }
        }
    }

    /// Sets `out` to the shards with a subscriber whose pattern matches document `id`, each once,
    /// in increasing order.
    pub fn destinations(&self, id: &[u8], out: &mut Vec<usize>) {
        out.clear();
        for (_, shards) in self.shards.matching(id) {
            out.extend_from_slice(shards);
        }
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destinations(routes: &Routes, id: &str) -> Vec<usize> {
        let mut out = vec![99];
        routes.destinations(id.as_bytes(), &mut out);
        out
    }

    #[test]
    fn literal_and_glob_patterns_route_to_their_shards_once_each() {
        let mut routes = Routes::new();
        assert!(routes.is_empty());
        routes.add(Bytes::from("sensor:*"), 2);
        routes.add(Bytes::from("sensor:1"), 0);
        routes.add(Bytes::from("*"), 2);
        routes.add(Bytes::from("sensor:1"), 0);
        assert_eq!(destinations(&routes, "sensor:1"), [0, 2]);
        assert_eq!(destinations(&routes, "sensor:2"), [2]);
        assert_eq!(destinations(&routes, "user:1"), [2]);
    }

    #[test]
    fn removing_the_last_shard_forgets_the_pattern() {
        let mut routes = Routes::new();
        routes.add(Bytes::from("a*"), 0);
        routes.add(Bytes::from("a*"), 1);
        routes.remove(b"a*", 0);
        assert_eq!(destinations(&routes, "ab"), [1]);
        routes.remove(b"a*", 1);
        assert!(destinations(&routes, "ab").is_empty());
        assert!(routes.is_empty());
        routes.remove(b"never", 3);
        assert!(routes.is_empty());
    }
}
