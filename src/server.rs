//! Starting and stopping the server: one pinned glommio executor per shard, joined in a channel
//! mesh, each listening on the TCP port and serving its share of connections and documents.
//! With `--db`, the database is opened and loaded first, one writer thread per shard is started
//! beside the executors, and on shutdown the writers commit what they were given before the
//! process exits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context};
use futures_channel::oneshot;
use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};

use crate::config::Config;
use crate::listener;
use crate::mesh::Mesh;
use crate::persist::{self, ShardInit};
use crate::shard::Shard;
use crate::shared::Shared;

/// Memory glommio registers per executor as I/O buffers: none (the vendored glommio reads 0 as
/// "register nothing"). usld does no file I/O through glommio, and registering pinned 6 MiB per
/// shard (the buffer's whole memory folio, once per ring) against the user's locked-memory
/// limit (`ulimit -l`, 8 MiB by default): without `CAP_IPC_LOCK`, every shard past the first
/// logged an out-of-memory warning at start.
const IO_MEMORY_BYTES: usize = 0;

/// The locked-memory limit (`ulimit -l`) below which glommio refuses to start an executor.
const MEMLOCK_MIN_BYTES: u64 = 512 * 1024;

/// How long a shard waits for all the others to connect at start-up before giving up: far more
/// than a healthy start needs (about a second for 32 shards on two cores), so it only turns a
/// shard that never started into a clear error instead of a hang.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the server until SIGINT or SIGTERM.
pub fn run(mut config: Config) -> anyhow::Result<()> {
    check_memlock_limit()?;
    let tcp_addr = config
        .tcp_addr
        .ok_or_else(|| anyhow!("no TCP listener configured"))?;
    let tcp_addr = listener::check_port_free(tcp_addr)
        .with_context(|| format!("cannot listen on {tcp_addr}"))?;
    // With `--tcp-port 0`, the port the kernel picked: the one logged and shown by INFO.
    config.tcp_addr = Some(tcp_addr);
    if let Some(port) = config.ws_port {
        tracing::warn!(
            port,
            "the WebSocket transport is not available in this version yet; only TCP is served \
             (pass --no-ws to silence this warning)"
        );
    }
    let shards = config.shards;
    let pin_shards = config.pin_shards;
    let spin = config.idle_spin;
    let queue = config.cross_shard_queue;
    let (inits, writers) = persist::start(&config)?;
    let inits = Arc::new(Mutex::new(inits.into_iter().map(Some).collect::<Vec<_>>()));
    let shared = Arc::new(Shared::new(config));

    let (stop_senders, stop_receivers): (Vec<_>, Vec<_>) =
        (0..shards).map(|_| oneshot::channel::<()>()).unzip();
    let stop_receivers = Arc::new(Mutex::new(
        stop_receivers.into_iter().map(Some).collect::<Vec<_>>(),
    ));
    crate::signals::spawn(stop_senders).context("cannot install signal handlers")?;

    let mesh = Arc::new(Mesh::new(shards, queue));
    let next_id = Arc::new(AtomicUsize::new(0));
    let placement = if pin_shards {
        pinned(shards)?
    } else {
        PoolPlacement::Unbound(shards)
    };
    let handles = idle_spin(LocalExecutorPoolBuilder::new(placement), spin)
        .name("usld-shard")
        .io_memory(IO_MEMORY_BYTES)
        .on_all_shards(move || {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let mesh = Arc::clone(&mesh);
            let shared = Arc::clone(&shared);
            let stops = Arc::clone(&stop_receivers);
            let inits = Arc::clone(&inits);
            async move { run_shard(id, &mesh, shared, stops, inits, tcp_addr).await }
        })
        .map_err(|e| anyhow!("cannot start the shard executors: {e}"))?;
    let mut failure = None;
    let results = handles.join_all();
    writers.join();
    for result in results {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(anyhow!("shard executor failed: {e}")),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => {
            tracing::info!("usld stopped");
            Ok(())
        }
    }
}

type StopReceivers = Arc<Mutex<Vec<Option<oneshot::Receiver<()>>>>>;
type ShardInits = Arc<Mutex<Vec<Option<ShardInit>>>>;

/// Takes entry `id` of a list shared by the shard executors.
fn take<T>(list: &Mutex<Vec<Option<T>>>, id: usize, what: &str) -> anyhow::Result<T> {
    list.lock()
        .map_err(|_| anyhow!("{what} list poisoned"))?
        .get_mut(id)
        .and_then(Option::take)
        .ok_or_else(|| anyhow!("no {what} for shard {id}"))
}

/// Shard `id`'s life: connect to the other shards, start serving peers and clients, stop when
/// told.
async fn run_shard(
    id: usize,
    mesh: &Mesh,
    shared: Arc<Shared>,
    stops: StopReceivers,
    inits: ShardInits,
    tcp_addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    // Bind before connecting the mesh: connecting waits for every shard, so once any shard
    // serves a client, all of them are listening and the kernel spreads connections over all.
    let listener = listener::bind(tcp_addr).context("cannot listen")?;
    let mut stop = take(&stops, id, "stop channel")?;
    let init = take(&inits, id, "store")?;
    let connected = match connect_mesh(id, mesh, &mut stop).await {
        Startup::Connected(connected) => connected,
        Startup::Stopped => return Ok(()),
        Startup::Failed(e) => return Err(e),
    };
    let count = connected.senders.len();
    let (shard, outcomes) = Shard::new(id, count, connected.senders, shared, init);
    let shard = std::rc::Rc::new(shard);
    if let (Some(barrier), Some(outcomes)) = (shard.barrier(), outcomes) {
        glommio::spawn_local(std::rc::Rc::clone(barrier).listen(outcomes)).detach();
    }
    for (_, receiver) in connected.receivers {
        glommio::spawn_local(std::rc::Rc::clone(&shard).serve_peer(receiver)).detach();
    }
    for to in (0..count).filter(|&to| to != id) {
        glommio::spawn_local(std::rc::Rc::clone(&shard).drain_link(to)).detach();
        glommio::spawn_local(std::rc::Rc::clone(&shard).drain_forwards(to)).detach();
    }
    glommio::spawn_local(std::rc::Rc::clone(&shard).sweep_expired()).detach();
    let sweeper = shard.subscribers.borrow().sweeper();
    sweeper
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start the event sweeper: {e}"))?;
    glommio::spawn_local(std::rc::Rc::clone(&shard).rewrite_log()).detach();
    if id == 0 {
        tracing::info!(shards = count, %tcp_addr, "usld ready to accept connections");
    }
    let accept = listener::accept_loop(std::rc::Rc::clone(&shard), listener);
    futures_lite::future::or(accept, async {
        let _ = stop.await;
    })
    .await;
    if let Some(barrier) = shard.barrier() {
        // The writer commits what it was sent, then stops; the process waits for it.
        barrier.close();
    }
    tracing::debug!(shard = id, "stopped");
    Ok(())
}

/// How a shard's start-up ended.
enum Startup {
    Connected(crate::mesh::Connected),
    /// A signal came first.
    Stopped,
    Failed(anyhow::Error),
}

/// Connects shard `id` to every other shard, unless a stop signal or [`STARTUP_TIMEOUT`] comes
/// first (a shard whose executor failed to start never connects, and would hold the rest).
async fn connect_mesh(id: usize, mesh: &Mesh, stop: &mut oneshot::Receiver<()>) -> Startup {
    let connect = async {
        match mesh.connect(id).await {
            Some(connected) => Startup::Connected(connected),
            None => Startup::Failed(anyhow!("shard {id} has no channels in the mesh")),
        }
    };
    let stopped = async {
        let _ = stop.await;
        Startup::Stopped
    };
    let timeout = async {
        glommio::timer::sleep(STARTUP_TIMEOUT).await;
        Startup::Failed(anyhow!(
            "shard {id}: the other shards did not all start within {}s",
            STARTUP_TIMEOUT.as_secs()
        ))
    };
    futures_lite::future::or(connect, futures_lite::future::or(stopped, timeout)).await
}

/// Sets how long a shard that ran out of work keeps polling before it sleeps (`--idle-spin-us`).
///
/// A shard with nothing to run sleeps in the kernel until a client or another shard wakes it, and
/// each sleep and wake costs system calls and two context switches. With two shards on two cores
/// beside the load generator, half of each shard's requests wait on the other shard's reply, so
/// each shard ran dry and slept many thousand times a second (3 `io_uring_enter` per request
/// against 0.5 with one shard); with one client, every request waited for a sleeping shard to be
/// woken, once or twice. Polling a little longer catches most of those arrivals awake. The
/// vendored glommio yields the core between polls (vendor/README.md), so the spin does not keep
/// a client or another shard from running on that core, pinned or not (`--no-pin`). Zero sleeps
/// at once.
fn idle_spin(builder: LocalExecutorPoolBuilder, spin: Duration) -> LocalExecutorPoolBuilder {
    if spin.is_zero() {
        builder
    } else {
        builder.spin_before_park(spin)
    }
}

/// One executor per shard, pinned round-robin to the CPUs this process may run on, so
/// `--shards` may exceed the number of cores (several shards then share a core). Those are the
/// online CPUs that its affinity allows: started under `taskset -c 1`, systemd's
/// `CPUAffinity=` or a container's cpuset, the default of one shard per available core pins
/// that shard to CPU 1, not to CPU 0, which the operator kept for something else.
///
/// Pinning keeps a shard's data in one core's caches, which pays on a machine that runs usld
/// alone. On a machine shared with other busy processes it costs: a pinned shard cannot move
/// off a core another process is using, and waits (measured with two shards on two cores beside
/// the load generator: 0.6-0.7x the throughput of unpinned shards). `--no-pin` leaves placement
/// to the kernel.
fn pinned(shards: usize) -> anyhow::Result<PoolPlacement> {
    let online = CpuSet::online().map_err(topology_error)?;
    let allowed = allowed_cpus();
    let mut cpus: Vec<usize> = online
        .iter()
        .map(|l| l.cpu)
        .filter(|cpu| allowed.as_ref().is_none_or(|allowed| allowed.contains(cpu)))
        .collect();
    cpus.sort_unstable();
    if cpus.is_empty() {
        return Ok(PoolPlacement::Unbound(shards));
    }
    let sets = (0..shards)
        .map(|i| {
            let cpu = cpus[i % cpus.len()];
            CpuSet::online().map(|set| set.filter(|l| l.cpu == cpu))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(topology_error)?;
    Ok(PoolPlacement::Custom(sets))
}

/// Refuses to start, saying what to raise, when the locked-memory limit is below what glommio's
/// io_uring setup requires of every shard. glommio checks it too, but only once the shards start, with an error
/// that names neither the limit nor the fix.
fn check_memlock_limit() -> anyhow::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` into `limit`, which outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return Ok(());
    }
    let current = limit.rlim_cur;
    if current != libc::RLIM_INFINITY && current < MEMLOCK_MIN_BYTES {
        anyhow::bail!(
            "the locked-memory limit is {} KiB, and io_uring needs at least {} KiB: raise it \
             (`ulimit -l 8192` in a shell, `LimitMEMLOCK=infinity` in a systemd unit, \
             `--ulimit memlock=-1` for docker run)",
            current / 1024,
            MEMLOCK_MIN_BYTES / 1024
        );
    }
    Ok(())
}

/// The CPUs the calling thread may run on (at start-up, before any shard is pinned: the
/// process's own affinity), or `None` when the kernel does not say.
fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: `cpu_set_t` is a plain bit array, for which all zeroes is a valid (empty) value;
    // `sched_getaffinity` writes at most `size_of::<cpu_set_t>()` bytes into it, and `CPU_ISSET`
    // reads bits below `CPU_SETSIZE` only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        let cpus = usize::try_from(libc::CPU_SETSIZE).unwrap_or(0);
        Some(
            (0..cpus)
                .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
                .collect(),
        )
    }
}

fn topology_error(e: glommio::GlommioError<()>) -> anyhow::Error {
    anyhow!("cannot read the CPU topology: {e}")
}
