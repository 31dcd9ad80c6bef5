//! Running one test: `--threads` glommio executors (event loops), each driving its share of the
//! clients as tasks, so a thousand clients cost a thousand sockets, not a thousand threads.
//!
//! Every test first opens its connections (and, for `sub`, subscribes), then waits at a `Gate`
//! until all event loops are ready, so the clock measures the load alone. The executors are not
//! pinned: the server under test usually shares the machine and owns its cores.
//!
//! The `sub` test's publisher has an event loop of its own, as a real writer is a client of its
//! own: sharing a loop with a thousand subscribers, each of its writes would wait for the
//! generator to read the previous write's deliveries, and the test would measure how fast the
//! generator reads rather than how fast the server delivers.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use glommio::{LocalExecutorPoolBuilder, PoolPlacement};

use crate::args::{Settings, TestName};
use crate::client::{run_connections, run_ops};
use crate::conn::Conn;
use crate::stats::Stats;
use crate::sub::{publish, receive, subscribe};
use crate::workload::Workload;
use crate::BenchError;

/// Memory glommio locks per executor for its io_uring buffers; the bench does no file I/O, so the
/// minimum keeps many threads inside a default `ulimit -l` of 8 MiB.
const IO_MEMORY_BYTES: usize = 512 * 1024;
/// Client index of the `sub` test's publisher (it is not a subscriber), for its key seed.
const PUBLISHER_CLIENT: usize = usize::MAX;

/// Runs `test` and returns the merged measurements of every client.
pub fn run_test(
    test: TestName,
    settings: &Arc<Settings>,
    progress: &Arc<AtomicU64>,
) -> Result<Stats, BenchError> {
    let threads = settings.threads + usize::from(test == TestName::Sub);
    let shared = Arc::new(TestRun {
        test,
        settings: Arc::clone(settings),
        progress: Arc::clone(progress),
        next_thread: AtomicUsize::new(0),
        gate: Gate::new(threads),
        refused: AtomicBool::new(false),
        epoch: Instant::now(),
    });
    let handles = LocalExecutorPoolBuilder::new(PoolPlacement::Unbound(threads))
        .name("usld-bench")
        .io_memory(IO_MEMORY_BYTES)
        .on_all_shards(move || {
            let run = Arc::clone(&shared);
            async move {
                let thread = run.next_thread.fetch_add(1, Ordering::Relaxed);
                run.event_loop(thread).await
            }
        })
        .map_err(|e| BenchError::Executor(e.to_string()))?;
    let mut total = Stats::new();
    for result in handles.join_all() {
        match result {
            Ok(stats) => total.merge(stats),
            Err(e) => return Err(BenchError::Executor(e.to_string())),
        }
    }
    Ok(total)
}

/// What the event loops of one test share.
struct TestRun {
    test: TestName,
    settings: Arc<Settings>,
    /// Operations completed, for the progress line.
    progress: Arc<AtomicU64>,
    /// Hands each event loop its index.
    next_thread: AtomicUsize,
    /// Opens when every event loop has its connections ready.
    gate: Gate,
    /// Set when a subscriber's PSUBSCRIBE was refused, so nobody publishes or waits.
    refused: AtomicBool,
    /// Time zero of the `sub` test's time stamps.
    epoch: Instant,
}

impl TestRun {
    /// One event loop's share: clients `thread`, `thread + threads`, ... (none for the `sub`
    /// test's publisher loop, the one past `--threads`).
    async fn event_loop(&self, thread: usize) -> Stats {
        let clients: Vec<usize> = match thread < self.settings.threads {
            true => (thread..self.settings.clients)
                .step_by(self.settings.threads)
                .collect(),
            false => Vec::new(),
        };
        match self.test {
            TestName::Conn => self.connections(&clients).await,
            TestName::Sub => self.fan_out(thread, &clients).await,
            _ => self.key_value(&clients).await,
        }
    }

    fn workload(&self, client: usize) -> Workload {
        let s = &self.settings;
        Workload::new(
            self.test,
            s.target,
            s.keyspace,
            s.value_bytes,
            s.seed,
            client,
        )
    }

    /// Waits at the gate; a timed-out wait means another event loop never started.
    fn wait_for_all(&self, stats: &mut Stats) -> bool {
        let ready = self.gate.wait(self.settings.timeout);
        if !ready {
            stats.failure(0, || "another load thread did not start in time".into());
        }
        ready
    }

    async fn connections(&self, clients: &[usize]) -> Stats {
        let mut total = Stats::new();
        if !self.wait_for_all(&mut total) {
            return total;
        }
        let tasks: Vec<_> = clients
            .iter()
            .map(|_| {
                glommio::spawn_local(run_connections(
                    Arc::clone(&self.settings),
                    Arc::clone(&self.progress),
                ))
            })
            .collect();
        for task in tasks {
            total.merge(task.await);
        }
        total
    }

    async fn key_value(&self, clients: &[usize]) -> Stats {
        let mut total = Stats::new();
        let conns = open_all(&self.settings, clients.len()).await;
        if !self.wait_for_all(&mut total) {
            return total;
        }
        let mut tasks = Vec::new();
        for (conn, &client) in conns.into_iter().zip(clients) {
            match conn {
                Ok(mut conn) => {
                    let workload = self.workload(client);
                    let settings = Arc::clone(&self.settings);
                    let progress = Arc::clone(&self.progress);
                    tasks.push(glommio::spawn_local(async move {
                        run_ops(&mut conn, workload, &settings, &progress).await
                    }));
                }
                Err(e) => total.failure(self.settings.ops, || e),
            }
        }
        for task in tasks {
            total.merge(task.await);
        }
        total
    }

    async fn fan_out(&self, thread: usize, clients: &[usize]) -> Stats {
        let settings = &self.settings;
        let mut total = Stats::new();
        let mut subscribers = Vec::new();
        for conn in open_all(settings, clients.len()).await {
            let subscribed = match conn {
                Ok(mut conn) => subscribe(&mut conn).await.map(|()| conn),
                Err(e) => Err(e),
            };
            match subscribed {
                Ok(conn) => subscribers.push(conn),
                Err(e) => {
                    self.refused.store(true, Ordering::Relaxed);
                    total.failure(settings.ops, || e);
                }
            }
        }
        let publisher = match thread == settings.threads {
            true => Some(Conn::open(settings).await),
            false => None,
        };
        if !self.wait_for_all(&mut total) || self.refused.load(Ordering::Relaxed) {
            let never = subscribers.len() as u64 * settings.ops;
            total.failure(never, || "not run: a subscription was refused".into());
            return total;
        }
        let epoch = self.epoch;
        let publishing = match publisher {
            Some(Ok(conn)) => {
                let workload = self.workload(PUBLISHER_CLIENT);
                let settings = Arc::clone(settings);
                Some(glommio::spawn_local(async move {
                    publish(conn, workload, &settings, epoch).await
                }))
            }
            Some(Err(e)) => {
                total.failure(0, || format!("publisher: {e}"));
                None
            }
            None => None,
        };
        let receivers: Vec<_> = subscribers
            .into_iter()
            .map(|conn| {
                let (ops, progress) = (settings.ops, Arc::clone(&self.progress));
                glommio::spawn_local(async move { receive(conn, ops, epoch, &progress).await })
            })
            .collect();
        if let Some(task) = publishing {
            // Only the publisher's start time and first error count: its messages are counted
            // where they are delivered.
            let published = task.await;
            let mut marks = Stats::new();
            marks.started = published.started;
            marks.first_error = published.first_error;
            total.merge(marks);
        }
        for task in receivers {
            total.merge(task.await);
        }
        total
    }
}

/// Opens `count` connections concurrently.
async fn open_all(settings: &Arc<Settings>, count: usize) -> Vec<Result<Conn, String>> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let settings = Arc::clone(settings);
            glommio::spawn_local(async move { Conn::open(&settings).await })
        })
        .collect();
    let mut conns = Vec::with_capacity(count);
    for task in tasks {
        conns.push(task.await);
    }
    conns
}

/// A one-shot rendezvous of the event loops, with a time limit so that a thread that failed to
/// start cannot hang the others.
struct Gate {
    waiting: Mutex<usize>,
    opened: Condvar,
}

impl Gate {
    fn new(parties: usize) -> Gate {
        Gate {
            waiting: Mutex::new(parties),
            opened: Condvar::new(),
        }
    }

    /// Blocks this event loop until all parties arrived (true) or `limit` passed (false). The
    /// block is deliberate: before the gate opens the loop has nothing else to do.
    fn wait(&self, limit: Duration) -> bool {
        let Ok(mut waiting) = self.waiting.lock() else {
            return false;
        };
        *waiting = waiting.saturating_sub(1);
        if *waiting == 0 {
            self.opened.notify_all();
            return true;
        }
        match self.opened.wait_timeout_while(waiting, limit, |w| *w > 0) {
            Ok((_, timeout)) => !timeout.timed_out(),
            Err(_) => false,
        }
    }
}
