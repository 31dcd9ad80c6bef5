//! `ussl-bench`: the load generator behind `usld bench`.
//!
//! It runs the seed README's five tests (connections, SET, GET, INC, and a 40/40/20 mix) and a
//! subscription fan-out test against usld, or the same workload against Redis with
//! `--target redis` (SET→HSET, GET→HGETALL, INC→HINCRBY on the same keys), and reports
//! throughput and latency percentiles from hdrhistogram.
//!
//! # How a run goes, in file order
//!
//! 1. [`args`]: the command line, checked into [`args::Settings`].
//! 2. [`run`] checks once that the server answers (and accepts the password), then for each test:
//! 3. [`runner`]: starts `--threads` glommio event loops; each opens its share of the
//!    connections ([`conn`]) and waits until all are ready;
//! 4. [`client`] (key-value and connection tests) or [`sub`] (fan-out) drive the load, with
//!    requests from [`workload`] (seeded keys, the target's commands), pipelined;
//! 5. [`stats`] collects counts and latencies per event loop, merged at the end;
//! 6. [`report`] prints a table row per test (or JSON), with a live progress line on a terminal.

pub mod args;
pub mod client;
pub mod conn;
pub mod report;
pub mod runner;
pub mod stats;
pub mod sub;
pub mod workload;

use std::io::{IsTerminal, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use args::BenchArgs;
use args::Settings;
use report::{Progress, TestResult};

/// Why a run could not be made (as opposed to operations that failed, which are counted).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag out of its bounds.
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("could not connect to {address}: {reason}; is the server running? (choose it with -H and -p)")]
    Unreachable { address: String, reason: String },
    /// The server refused the password (or wants one).
    #[error("the server at {address} refused to authenticate: {reply}")]
    Auth { address: String, reply: String },
    /// The event loops could not be started.
    #[error("cannot start the load threads: {0}")]
    Executor(String),
}

/// Runs every test and prints the results. Returns whether every operation succeeded.
pub fn run(args: &BenchArgs) -> Result<bool, BenchError> {
    let settings = Arc::new(args.settings()?);
    check_server(&settings)?;
    let show_progress = !settings.json && std::io::stdout().is_terminal();
    if !settings.json {
        println!("{}", report::header(&settings));
    }
    let mut results = Vec::new();
    for &test in &settings.tests {
        let ops = settings.clients as u64 * settings.ops;
        let progress = Arc::new(AtomicU64::new(0));
        let line = show_progress.then(|| Progress::start(test.label(), ops, Arc::clone(&progress)));
        let stats = runner::run_test(test, &settings, &progress)?;
        drop(line);
        let result = TestResult { test, ops, stats };
        if !settings.json {
            println!("{}", report::row(&result));
            let _ = std::io::stdout().flush();
        }
        results.push(result);
    }
    if settings.json {
        println!("{}", report::json_report(&settings, &results));
    }
    Ok(results
        .iter()
        .all(|r| r.stats.failed == 0 && r.stats.first_error.is_none()))
}

/// Connects once, authenticates and PINGs, so an unreachable server or a wrong password is one
/// clear message rather than a failure per client.
fn check_server(settings: &Settings) -> Result<(), BenchError> {
    let unreachable = |reason: String| BenchError::Unreachable {
        address: settings.address.clone(),
        reason,
    };
    let mut stream = TcpStream::connect_timeout(&settings.socket, settings.timeout)
        .map_err(|e| unreachable(e.to_string()))?;
    stream
        .set_read_timeout(Some(settings.timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    let mut request = Vec::new();
    if let Some(password) = &settings.password {
        workload::encode(&mut request, &[b"AUTH", password.as_bytes()]);
    }
    workload::encode(&mut request, &[b"PING"]);
    stream
        .write_all(&request)
        .map_err(|e| unreachable(e.to_string()))?;
    let expected = if settings.password.is_some() { 2 } else { 1 };
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut replies = Vec::new();
    while replies.len() < expected {
        match redis_protocol::resp2::decode::decode(&buffer) {
            Ok(Some((frame, used))) => {
                buffer.drain(..used);
                replies.push(frame);
                continue;
            }
            Ok(None) => {}
            Err(e) => return Err(unreachable(format!("unreadable reply: {e}"))),
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(unreachable("the server closed the connection".into())),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(unreachable(e.to_string())),
        }
    }
    for reply in replies {
        if let redis_protocol::resp2::types::OwnedFrame::Error(reply) = reply {
            return Err(BenchError::Auth {
                address: settings.address.clone(),
                reply,
            });
        }
    }
    Ok(())
}
