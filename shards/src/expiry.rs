//! TTL bookkeeping for one store: when each expiring document is due, and which documents
//! expired since the server last asked, so it can tell their subscribers.
//!
//! Due times sit in a min-heap, so a sweep costs time in the documents that actually expire, not
//! in the size of the shard. The heap may hold entries that no longer apply (the document was
//! deleted, or re-created with another TTL); a sweep checks each entry against the document
//! before removing anything, and drops stale ones.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The expiry state of one store.
#[derive(Debug, Default)]
pub struct Expiry {
    /// (due time in ms, document id), earliest first.
    due: BinaryHeap<Reverse<(u64, Box<str>)>>,
    /// Live documents that have a TTL.
    count: usize,
    /// The sum of their due times, in ms: with `count`, their total time left, from which
    /// `INFO` reports the mean (Redis's `avg_ttl`) without a walk over the documents.
    due_sum_ms: u128,
    /// Documents removed because they expired, not yet taken by [`Expiry::take_expired`].
    expired: Vec<Box<str>>,
}

impl Expiry {
    /// How many live documents have a TTL.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The time left, in ms, before the live documents with a TTL are due at `now_ms`, summed
    /// over them; 0 when the documents due but not yet removed outweigh the rest.
    pub fn ms_left(&self, now_ms: u64) -> u128 {
        let now_sum_ms = u128::from(now_ms) * self.count as u128;
        self.due_sum_ms.saturating_sub(now_sum_ms)
    }

    /// Records a document with a TTL coming in, due at `at_ms`.
    pub(crate) fn add(&mut self, id: &str, at_ms: u64) {
        self.count += 1;
        self.due_sum_ms += u128::from(at_ms);
        self.due.push(Reverse((at_ms, id.into())));
    }

    /// Records a document with a TTL, due at `at_ms`, going away for any reason.
    pub(crate) fn forget(&mut self, at_ms: u64) {
        self.count -= 1;
        self.due_sum_ms -= u128::from(at_ms);
    }

    /// Records that document `id`, due at `at_ms`, was removed because it expired.
    pub(crate) fn expired(&mut self, id: &str, at_ms: u64) {
        self.forget(at_ms);
        self.expired.push(id.into());
    }

    /// Pops the next entry due at or before `now_ms`, stale or not.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<(u64, Box<str>)> {
        match self.due.peek() {
            Some(Reverse((at_ms, _))) if *at_ms <= now_ms => {
                self.due.pop().map(|Reverse(entry)| entry)
            }
            _ => None,
        }
    }

    /// Takes the ids of the documents that expired since the last call, in expiry order.
    pub fn take_expired(&mut self) -> Vec<Box<str>> {
        std::mem::take(&mut self.expired)
    }

    /// Whether any expired id waits to be taken.
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_documents_in_and_out() {
        let mut expiry = Expiry::default();
        assert_eq!(expiry.ms_left(0), 0);
        expiry.add("a", 1_000);
        expiry.add("b", 3_000);
        assert_eq!(expiry.ms_left(500), 3_000);
        expiry.forget(3_000);
        assert_eq!(expiry.ms_left(500), 500);
        // Due but not yet removed: no time left, not a negative one.
        assert_eq!(expiry.ms_left(2_000), 0);
        expiry.expired("a", 1_000);
        assert_eq!(expiry.ms_left(500), 0);
    }

    #[test]
    fn entries_come_due_in_time_order() {
        let mut expiry = Expiry::default();
        expiry.add("late", 30);
        expiry.add("early", 10);
        expiry.add("middle", 20);
        assert_eq!(expiry.count(), 3);
        assert_eq!(expiry.pop_due(5), None);
        assert_eq!(expiry.pop_due(25), Some((10, "early".into())));
        assert_eq!(expiry.pop_due(25), Some((20, "middle".into())));
        assert_eq!(expiry.pop_due(25), None);
    }

    #[test]
    fn expired_ids_are_taken_once() {
        let mut expiry = Expiry::default();
        expiry.add("a", 1);
        expiry.expired("a", 1);
        assert_eq!(expiry.count(), 0);
        assert!(expiry.has_expired());
        assert_eq!(expiry.take_expired(), vec![Box::<str>::from("a")]);
        assert!(!expiry.has_expired());
    }
}
