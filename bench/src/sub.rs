//! The `sub` test: subscription fan-out. Every client subscribes with `PSUBSCRIBE bench:sub:*`;
//! once all are subscribed, one extra publisher connection makes `-n` writes to `bench:sub:<n>`
//! keys (usld: `SET`, which pushes a change to subscribers; Redis: `PUBLISH`). Each subscriber
//! must receive all `-n` messages, in the Redis pattern-message shape
//! (`pmessage`, pattern, channel, payload), so one delivery is one operation and throughput is
//! deliveries per second. A message's latency runs from the publisher's write to its arrival;
//! the send time travels inside the payload (see [`crate::workload::find_stamp`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis_protocol::resp2::types::RangeFrame;

use crate::args::Settings;
use crate::client::read_batch;
use crate::conn::Conn;
use crate::stats::Stats;
use crate::workload::{encode, find_stamp, Workload, SUB_PATTERN};

/// Subscribes `conn` to the test's pattern; `Err` with the server's answer when it refuses.
pub async fn subscribe(conn: &mut Conn) -> Result<(), String> {
    let mut request = Vec::new();
    encode(&mut request, &[b"PSUBSCRIBE", SUB_PATTERN.as_bytes()]);
    conn.write(&request)
        .await
        .map_err(|e| format!("write failed: {e}"))?;
    let (reply, _) = conn.next_reply().await?;
    if let Some(error) = conn.error_text(&reply) {
        return Err(format!("the server refused PSUBSCRIBE: {error}"));
    }
    match &reply {
        RangeFrame::Array(items) if first_word_is(conn, items, b"psubscribe") => Ok(()),
        _ => Err("PSUBSCRIBE was not confirmed with a psubscribe message".into()),
    }
}

/// Receives `expected` pattern messages, recording each one's latency.
pub async fn receive(mut conn: Conn, expected: u64, epoch: Instant, progress: &AtomicU64) -> Stats {
    let mut stats = Stats::new();
    let mut received = 0;
    let mut arrived = Instant::now();
    while received < expected {
        let reply = match conn.try_reply() {
            Ok(Some(reply)) => reply,
            Ok(None) => match conn.fill().await {
                Ok(at) => {
                    arrived = at;
                    continue;
                }
                Err(e) => {
                    stats.failure(expected - received, || {
                        format!("after {received} messages: {e}")
                    });
                    return stats;
                }
            },
            Err(e) => {
                stats.failure(expected - received, || e);
                return stats;
            }
        };
        let RangeFrame::Array(items) = &reply else {
            continue;
        };
        if !first_word_is(&conn, items, b"pmessage") {
            continue;
        }
        received += 1;
        progress.fetch_add(1, Ordering::Relaxed);
        let stamp = match items.get(3) {
            Some(RangeFrame::BulkString(payload)) => find_stamp(conn.bytes(*payload)),
            _ => None,
        };
        match stamp {
            Some(nanos) => {
                stats.success(
                    arrived.saturating_duration_since(epoch + Duration::from_nanos(nanos)),
                );
                stats.finish(arrived);
            }
            None => stats.failure(1, || "a pmessage without the publisher's time stamp".into()),
        }
    }
    stats
}

/// Publishes `settings.ops` messages, `--pipeline` per write, paced by `--rate` if given. Returns
/// the publishing start time and the first error (error replies mean messages that subscribers
/// will miss, counted there).
pub async fn publish(
    mut conn: Conn,
    mut workload: Workload,
    settings: &Settings,
    epoch: Instant,
) -> Stats {
    let mut stats = Stats::new();
    let mut requests = Vec::new();
    let mut remaining = settings.ops;
    let start = Instant::now();
    stats.start(start);
    let mut writes = 0u32;
    while remaining > 0 {
        if let Some(interval) = settings.publish_interval {
            let due = start + interval * writes;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                glommio::timer::sleep(wait).await;
            }
            writes = writes.saturating_add(1);
        }
        let batch = remaining.min(settings.pipeline as u64);
        requests.clear();
        let sent = Instant::now();
        let stamp =
            u64::try_from(sent.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX);
        (0..batch).for_each(|_| workload.encode_publish(&mut requests, stamp));
        if let Err(e) = conn.write(&requests).await {
            stats.failure(remaining, || format!("publisher: write failed: {e}"));
            break;
        }
        if let Err((_, e)) = read_batch(&mut conn, batch, sent, &mut stats).await {
            stats.failure(remaining, || format!("publisher: {e}"));
            break;
        }
        remaining -= batch;
    }
    stats
}

/// Whether the first item of an array reply is the bulk or status text `word`.
fn first_word_is(conn: &Conn, items: &[RangeFrame], word: &[u8]) -> bool {
    match items.first() {
        Some(RangeFrame::BulkString(range) | RangeFrame::SimpleString(range)) => {
            conn.bytes(*range).eq_ignore_ascii_case(word)
        }
        _ => false,
    }
}
