//! What a test measured: operation counts, the first error seen, and the latency histogram, kept
//! per event loop and merged at the end.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Lowest latency the histogram tells apart, in nanoseconds.
const LATENCY_NANOS_MIN: u64 = 1_000;
/// Highest latency recorded exactly, in nanoseconds (an hour); longer ones are clamped to it.
const LATENCY_NANOS_MAX: u64 = 3_600_000_000_000;
/// Significant decimal digits kept per latency.
const LATENCY_DIGITS: u8 = 3;

/// Counts and latencies of one test, from one or many clients.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Operations answered with a success.
    pub ok: u64,
    /// Operations answered with an error, or never answered.
    pub failed: u64,
    /// The first failure's message, to show what went wrong.
    pub first_error: Option<String>,
    /// Latency of every successful operation, in nanoseconds.
    pub latency: Histogram<u64>,
    /// When the first operation was sent.
    pub started: Option<Instant>,
    /// When the last answer arrived.
    pub finished: Option<Instant>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    /// Empty counts.
    pub fn new() -> Stats {
        Stats {
            ok: 0,
            failed: 0,
            first_error: None,
            // The bounds are constants that hdrhistogram accepts (low >= 1, high >= 2 * low,
            // digits <= 5), so this cannot fail.
            latency: Histogram::new_with_bounds(
                LATENCY_NANOS_MIN,
                LATENCY_NANOS_MAX,
                LATENCY_DIGITS,
            )
            .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid")),
            started: None,
            finished: None,
        }
    }

    /// Records a success that took `latency`.
    pub fn success(&mut self, latency: Duration) {
        self.ok += 1;
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency.saturating_record(nanos.max(LATENCY_NANOS_MIN));
    }

    /// Records `count` failed operations and keeps the first message.
    pub fn failure(&mut self, count: u64, message: impl FnOnce() -> String) {
        self.failed += count;
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }

    /// Notes that operations started at `at`.
    pub fn start(&mut self, at: Instant) {
        self.started = Some(self.started.map_or(at, |s| s.min(at)));
    }

    /// Notes that an answer arrived at `at`.
    pub fn finish(&mut self, at: Instant) {
        self.finished = Some(self.finished.map_or(at, |f| f.max(at)));
    }

    /// Adds another client's or event loop's counts.
    pub fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.failed += other.failed;
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        if let Some(at) = other.started {
            self.start(at);
        }
        if let Some(at) = other.finished {
            self.finish(at);
        }
    }

    /// Wall time from the first send to the last answer.
    pub fn elapsed(&self) -> Duration {
        match (self.started, self.finished) {
            (Some(s), Some(f)) => f.saturating_duration_since(s),
            _ => Duration::ZERO,
        }
    }

    /// Successful operations per second.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed().as_secs_f64();
        if seconds > 0.0 {
            self.ok as f64 / seconds
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_keeps_the_first_error() {
        let t0 = Instant::now();
        let mut a = Stats::new();
        a.start(t0);
        a.success(Duration::from_micros(100));
        a.finish(t0 + Duration::from_millis(1));
        let mut b = Stats::new();
        b.failure(2, || "ERR first".into());
        b.failure(1, || "ERR second".into());
        b.success(Duration::from_micros(300));
        b.finish(t0 + Duration::from_millis(2));
        a.merge(b);
        assert_eq!((a.ok, a.failed), (2, 3));
        assert_eq!(a.first_error.as_deref(), Some("ERR first"));
        assert_eq!(a.elapsed(), Duration::from_millis(2));
        assert_eq!(a.latency.len(), 2);
        assert!(a.latency.max() >= 299_000, "{}", a.latency.max());
    }
}
