//! Hybrid logical clocks: the timestamps that order register writes across replicas.
//!
//! A [`Stamp`] is `(ms, seq, replica)`: wall-clock milliseconds, a logical counter that orders
//! writes within one millisecond (or while the wall clock lags behind a time already seen), and
//! the id of the replica that wrote. Stamps compare in that order, so two replicas never produce
//! equal stamps and concurrent writes resolve by time, ties by replica id. A [`Clock`] hands out
//! stamps that always increase, even when the wall clock steps back, and moves forward past every
//! remote stamp it observes, which is what makes causally later writes win.
//!
//! The engine never reads a clock itself: callers pass `now_ms`, which keeps it deterministic and
//! wasm-friendly.

use std::cmp::Ordering;

/// The largest replica id: ids are JSON numbers on the wire, and JavaScript reads integers
/// exactly only up to 2^53 - 1 (Yjs client ids obey the same bound).
pub const REPLICA_MAX: u64 = (1 << 53) - 1;

/// How far ahead of the receiving clock a remote stamp may be, in milliseconds.
///
/// A replica with a clock far in the future would otherwise win every conflict until real time
/// catches up, and drag every clock that sees its stamps along; such stamps are refused.
pub const STAMP_AHEAD_MS_MAX: u64 = 24 * 60 * 60 * 1000;

/// When and by whom a register was written; ordered by `(ms, seq, replica)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// Wall-clock milliseconds since the Unix epoch, as the writer's clock read them (or later).
    pub ms: u64,
    /// Orders writes that share `ms`.
    pub seq: u32,
    /// The replica that wrote.
    pub replica: u64,
}

impl Stamp {
    /// The stamp below every real stamp: what an unwritten register has.
    pub const ZERO: Stamp = Stamp {
        ms: 0,
        seq: 0,
        replica: 0,
    };

    /// The `(ms, seq)` pair a clock compares: the time part of the stamp.
    fn time(&self) -> (u64, u32) {
        (self.ms, self.seq)
    }
}

impl Ord for Stamp {
    fn cmp(&self, other: &Stamp) -> Ordering {
        (self.ms, self.seq, self.replica).cmp(&(other.ms, other.seq, other.replica))
    }
}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Stamp) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One replica's hybrid logical clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// The latest time handed out or observed.
    last: (u64, u32),
}

impl Clock {
    /// A clock that has seen nothing yet.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Returns a stamp for a new write by `replica`, later than every stamp this clock has
    /// handed out or observed.
    pub fn tick(&mut self, now_ms: u64, replica: u64) -> Stamp {
        let (ms, seq) = self.last;
        self.last = if now_ms > ms {
            (now_ms, 0)
        } else if seq < u32::MAX {
            (ms, seq + 1)
        } else {
            (ms + 1, 0)
        };
        Stamp {
            ms: self.last.0,
            seq: self.last.1,
            replica,
        }
    }

    /// Moves the clock past a stamp received from another replica, so that this replica's next
    /// write is ordered after it.
    pub fn observe(&mut self, stamp: &Stamp) {
        self.last = self.last.max(stamp.time());
    }
}

/// Checks a stamp received from a client before it is merged: a valid replica id, and a time
/// not more than [`STAMP_AHEAD_MS_MAX`] ahead of `now_ms`.
pub fn check_remote(stamp: &Stamp, now_ms: u64) -> Result<(), String> {
    if stamp.replica > REPLICA_MAX {
        return Err(format!(
            "replica id {} is over the limit of 2^53 - 1",
            stamp.replica
        ));
    }
    if stamp.ms > now_ms.saturating_add(STAMP_AHEAD_MS_MAX) {
        return Err(format!(
            "stamp time {} ms is more than {} ms ahead of the server clock",
            stamp.ms, STAMP_AHEAD_MS_MAX
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(ms: u64, seq: u32, replica: u64) -> Stamp {
        Stamp { ms, seq, replica }
    }

    #[test]
    fn stamps_order_by_time_then_replica() {
        assert!(stamp(1, 0, 9) < stamp(2, 0, 1));
        assert!(stamp(1, 0, 9) < stamp(1, 1, 1));
        assert!(stamp(1, 1, 1) < stamp(1, 1, 2));
        assert!(Stamp::ZERO < stamp(0, 0, 1));
    }

    #[test]
    fn tick_follows_the_wall_clock() {
        let mut clock = Clock::new();
        assert_eq!(clock.tick(100, 7), stamp(100, 0, 7));
        assert_eq!(clock.tick(200, 7), stamp(200, 0, 7));
    }

    #[test]
    fn tick_increases_when_the_wall_clock_stands_still_or_steps_back() {
        let mut clock = Clock::new();
        let first = clock.tick(100, 7);
        let second = clock.tick(100, 7);
        let third = clock.tick(50, 7);
        assert!(first < second && second < third);
        assert_eq!(third, stamp(100, 2, 7));
    }

    #[test]
    fn observe_orders_the_next_tick_after_a_remote_stamp() {
        let mut clock = Clock::new();
        clock.observe(&stamp(500, 3, 1));
        assert_eq!(clock.tick(100, 7), stamp(500, 4, 7));
    }

    #[test]
    fn seq_overflow_carries_into_ms() {
        let mut clock = Clock::new();
        clock.observe(&stamp(10, u32::MAX, 1));
        assert_eq!(clock.tick(0, 2), stamp(11, 0, 2));
    }

    #[test]
    fn remote_stamps_far_ahead_or_with_huge_ids_are_refused() {
        assert!(check_remote(&stamp(1_000, 0, 1), 1_000).is_ok());
        assert!(check_remote(&stamp(1_000 + STAMP_AHEAD_MS_MAX + 1, 0, 1), 1_000).is_err());
        assert!(check_remote(&stamp(1, 0, REPLICA_MAX + 1), 1_000).is_err());
    }
}
