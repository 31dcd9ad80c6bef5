//! One client's part of the `conn`, `set`, `get`, `inc` and `mixed` tests, run as a task on an
//! event loop. A client sends `--pipeline` requests in one write, then decodes their replies as
//! they arrive; each reply's latency runs from the write of its batch to the read that completed
//! it, as redis-benchmark measures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use redis_protocol::resp2::types::RangeFrame;

use crate::args::Settings;
use crate::conn::Conn;
use crate::stats::Stats;
use crate::workload::{encode, Workload};

/// Runs `ops` requests of `workload` on an open connection.
pub async fn run_ops(
    conn: &mut Conn,
    mut workload: Workload,
    settings: &Settings,
    progress: &AtomicU64,
) -> Stats {
    let mut stats = Stats::new();
    let mut requests = Vec::with_capacity(settings.pipeline * (64 + settings.value_bytes));
    let mut remaining = settings.ops;
    let started = Instant::now();
    stats.start(started);
    while remaining > 0 {
        let batch = remaining.min(settings.pipeline as u64);
        requests.clear();
        (0..batch).for_each(|_| workload.encode_next(&mut requests));
        let sent = Instant::now();
        if let Err(e) = conn.write(&requests).await {
            stats.failure(remaining, || format!("write failed: {e}"));
            return stats;
        }
        if let Err((answered, e)) = read_batch(conn, batch, sent, &mut stats).await {
            stats.failure(remaining - answered, || e);
            return stats;
        }
        remaining -= batch;
        progress.fetch_add(batch, Ordering::Relaxed);
    }
    stats
}

/// Reads the `batch` replies of requests written at `sent`. On a broken connection, returns how
/// many replies had been read, with the reason.
pub(crate) async fn read_batch(
    conn: &mut Conn,
    batch: u64,
    sent: Instant,
    stats: &mut Stats,
) -> Result<(), (u64, String)> {
    let mut arrived = sent;
    let mut answered = 0;
    while answered < batch {
        match conn.try_reply().map_err(|e| (answered, e))? {
            Some(reply) => {
                answered += 1;
                match conn.error_text(&reply) {
                    Some(error) => stats.failure(1, || error),
                    None => stats.success(arrived - sent),
                }
            }
            None => arrived = conn.fill().await.map_err(|e| (answered, e))?,
        }
    }
    stats.finish(arrived);
    Ok(())
}

/// The `conn` test for one client: `ops` times connect, AUTH if needed, PING, close. The latency
/// of one is from the start of the connect to the PONG.
pub async fn run_connections(settings: Arc<Settings>, progress: Arc<AtomicU64>) -> Stats {
    let mut stats = Stats::new();
    let mut ping = Vec::new();
    encode(&mut ping, &[b"PING"]);
    stats.start(Instant::now());
    for done in 0..settings.ops {
        let began = Instant::now();
        let result = async {
            let mut conn = Conn::open(&settings).await?;
            conn.write(&ping)
                .await
                .map_err(|e| format!("write failed: {e}"))?;
            let (reply, arrived) = conn.next_reply().await?;
            match reply {
                RangeFrame::SimpleString(_) => Ok(arrived),
                other => Err(conn
                    .error_text(&other)
                    .unwrap_or_else(|| "PING was not answered PONG".into())),
            }
        }
        .await;
        match result {
            Ok(arrived) => {
                stats.success(arrived - began);
                stats.finish(arrived);
            }
            Err(e) => {
                // A refused connection will be refused again: count the rest and stop.
                stats.failure(settings.ops - done, || e);
                break;
            }
        }
        progress.fetch_add(1, Ordering::Relaxed);
    }
    stats
}
