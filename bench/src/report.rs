//! Showing the results: a table row per test as it finishes, or one JSON document at the end, and
//! a live progress line while a test runs (only on a terminal).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::{Settings, Target, TestName};
use crate::stats::Stats;

/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// One finished test.
pub struct TestResult {
    /// Which test.
    pub test: TestName,
    /// Operations it should have completed.
    pub ops: u64,
    /// What it measured.
    pub stats: Stats,
}

/// The line describing the run, printed above the table.
pub fn header(settings: &Settings) -> String {
    let target = match settings.target {
        Target::Usld => "usld",
        Target::Redis => "redis",
    };
    format!(
        "usld bench: {target} at {}, {} clients x {} ops, pipeline {}, keyspace {}, value {} B, seed {}, {} thread{}\n\n\
         {:<6} {:>9} {:>7} {:>8} {:>17} {:>9} {:>9} {:>9} {:>9} {:>9}",
        settings.address,
        settings.clients,
        settings.ops,
        settings.pipeline,
        settings.keyspace,
        settings.value_bytes,
        settings.seed,
        settings.threads,
        if settings.threads == 1 { "" } else { "s" },
        "test", "ops", "failed", "seconds", "throughput", "avg", "p50", "p99", "p99.9", "max",
    )
}

/// One table row, with the first error on the next line when there was one.
pub fn row(result: &TestResult) -> String {
    let s = &result.stats;
    let l = &s.latency;
    let empty = l.is_empty();
    let at = |q: f64| {
        if empty {
            "-".to_string()
        } else {
            duration(l.value_at_quantile(q))
        }
    };
    let mut line = format!(
        "{:<6} {:>9} {:>7} {:>8.3} {:>17} {:>9} {:>9} {:>9} {:>9} {:>9}",
        result.test.label(),
        result.ops,
        s.failed,
        s.elapsed().as_secs_f64(),
        format!("{} {}", thousands(s.throughput()), result.test.unit()),
        if empty {
            "-".to_string()
        } else {
            duration(l.mean() as u64)
        },
        at(0.5),
        at(0.99),
        at(0.999),
        if empty {
            "-".to_string()
        } else {
            duration(l.max())
        },
    );
    if let Some(error) = &s.first_error {
        line.push_str(&format!("\n       first error: {error}"));
    }
    line
}

/// The whole run as one JSON document; latencies in microseconds.
pub fn json_report(settings: &Settings, results: &[TestResult]) -> Value {
    let tests: Vec<Value> = results
        .iter()
        .map(|r| {
            let s = &r.stats;
            let l = &s.latency;
            let micros = |nanos: u64| nanos as f64 / 1000.0;
            let latency = (!l.is_empty()).then(|| {
                json!({
                    "avg": l.mean() / 1000.0,
                    "p50": micros(l.value_at_quantile(0.5)),
                    "p99": micros(l.value_at_quantile(0.99)),
                    "p99_9": micros(l.value_at_quantile(0.999)),
                    "max": micros(l.max()),
                })
            });
            json!({
                "test": r.test.label(),
                "ops": r.ops,
                "ok": s.ok,
                "failed": s.failed,
                "seconds": s.elapsed().as_secs_f64(),
                "throughput": s.throughput(),
                "unit": r.test.unit(),
                "latency_us": latency,
                "first_error": s.first_error,
            })
        })
        .collect();
    json!({
        "target": match settings.target { Target::Usld => "usld", Target::Redis => "redis" },
        "address": settings.address,
        "clients": settings.clients,
        "ops_per_client": settings.ops,
        "pipeline": settings.pipeline,
        "keyspace": settings.keyspace,
        "value_size": settings.value_bytes,
        "seed": settings.seed,
        "threads": settings.threads,
        "tests": tests,
    })
}

/// A nanosecond count as µs, ms or s with three significant digits or so.
fn duration(nanos: u64) -> String {
    let micros = nanos as f64 / 1000.0;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1_000_000.0)
    }
}

/// A rate with thousands separators.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The live progress line of one test, redrawn by its own thread until dropped.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts redrawing `label: done/total` from `counter`.
    pub fn start(label: &'static str, total: u64, counter: Arc<AtomicU64>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("bench-progress".into())
            .spawn(move || {
                let began = Instant::now();
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(PROGRESS_EVERY);
                    let done = counter.load(Ordering::Relaxed);
                    let rate = done as f64 / began.elapsed().as_secs_f64().max(1e-9);
                    let mut out = std::io::stdout().lock();
                    let _ = write!(
                        out,
                        "\r\x1b[K{label}: {done}/{total}  {}/s",
                        thousands(rate)
                    );
                    let _ = out.flush();
                }
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "\r\x1b[K");
                let _ = out.flush();
            })
            .ok();
        Progress { stop, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(duration(57_000), "57 µs");
        assert_eq!(duration(3_900_000), "3.90 ms");
        assert_eq!(duration(2_500_000_000), "2.50 s");
    }
}
