//! Starting and stopping the server: one pinned glommio executor per shard, joined in a channel
//! mesh, each listening on the TCP port and serving its share of connections and documents.
//! With `--db`, the database is opened and loaded first, one writer thread per shard is started
//! beside the executors, and on shutdown the writers commit what they were given before the
//! process exits.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use futures_channel::oneshot;
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};

use crate::config::Config;
use crate::listener;
use crate::persist::{self, ShardInit};
use crate::router::ShardMessage;
use crate::shard::Shard;
use crate::shared::Shared;

/// Memory glommio reserves per executor for registered I/O buffers. usld does no direct file I/O
/// through glommio, so a small pool keeps each shard well inside a default `ulimit -l` of 8 MiB.
const IO_MEMORY_BYTES: usize = 512 * 1024;

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    let tcp_addr = config
        .tcp_addr
        .ok_or_else(|| anyhow!("no TCP listener configured"))?;
    listener::check_port_free(tcp_addr).with_context(|| format!("cannot listen on {tcp_addr}"))?;
    if let Some(port) = config.ws_port {
        tracing::warn!(
            port,
            "the WebSocket transport is not available in this version yet; only TCP is served \
             (pass --no-ws to silence this warning)"
        );
    }
    let shards = config.shards;
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

    let mesh = MeshBuilder::<ShardMessage, _>::full(shards, queue);
    let handles = LocalExecutorPoolBuilder::new(placement(shards)?)
        .name("usld-shard")
        .io_memory(IO_MEMORY_BYTES)
        .on_all_shards(move || {
            let shared = Arc::clone(&shared);
            let stops = Arc::clone(&stop_receivers);
            let inits = Arc::clone(&inits);
            async move { run_shard(mesh, shared, stops, inits, tcp_addr).await }
        })
        .map_err(|e| anyhow!("cannot start the shard executors: {e}"))?;
    let mut failure = None;
    for result in handles.join_all() {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(anyhow!("shard executor failed: {e}")),
        }
    }
    writers.join();
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

/// One shard's life: join the mesh, start serving peers and clients, stop when told.
async fn run_shard(
    mesh: MeshBuilder<ShardMessage, glommio::channels::channel_mesh::Full>,
    shared: Arc<Shared>,
    stops: StopReceivers,
    inits: ShardInits,
    tcp_addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    // Bind before joining the mesh: the join waits for every shard, so once any shard serves a
    // client, all of them are listening and the kernel spreads connections over all of them.
    let listener = listener::bind(tcp_addr).context("cannot listen")?;
    let (senders, mut receivers) = mesh
        .join()
        .await
        .map_err(|e| anyhow!("cannot join the shard mesh: {e}"))?;
    let id = senders.peer_id();
    let count = senders.nr_consumers();
    let stop = take(&stops, id, "stop channel")?;
    let init = take(&inits, id, "store")?;
    let (shard, outcomes) = Shard::new(id, count, senders, shared, init);
    let shard = std::rc::Rc::new(shard);
    if let (Some(barrier), Some(outcomes)) = (shard.barrier(), outcomes) {
        glommio::spawn_local(std::rc::Rc::clone(barrier).listen(outcomes)).detach();
    }
    for (_, receiver) in receivers.streams() {
        glommio::spawn_local(std::rc::Rc::clone(&shard).serve_peer(receiver)).detach();
    }
    for to in (0..count).filter(|&to| to != id) {
        glommio::spawn_local(std::rc::Rc::clone(&shard).drain_link(to)).detach();
    }
    glommio::spawn_local(std::rc::Rc::clone(&shard).sweep_expired()).detach();
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

/// One executor per shard, pinned round-robin to the online CPUs, so `--shards` may exceed the
/// number of cores (several shards then share a core).
fn placement(shards: usize) -> anyhow::Result<PoolPlacement> {
    let online = CpuSet::online().map_err(topology_error)?;
    let mut cpus: Vec<usize> = online.iter().map(|l| l.cpu).collect();
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

fn topology_error(e: glommio::GlommioError<()>) -> anyhow::Error {
    anyhow!("cannot read the CPU topology: {e}")
}
