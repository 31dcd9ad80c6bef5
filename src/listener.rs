//! Step 1 of the request path: each shard accepts connections on the shared TCP port.
//!
//! Every shard binds the same address with `SO_REUSEPORT` (glommio's `TcpListener::bind` sets it),
//! so the kernel spreads new connections across shards and no shard hands sockets to another.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::AsyncWriteExt;
use glommio::net::{TcpListener, TcpStream};

use crate::connection::Connection;
use crate::session::Session;
use crate::shard::Shard;
use crate::stats::ShardCounters;

/// The reply a client gets when `--max-clients` connections are already open (Redis's wording).
const TOO_MANY_CLIENTS: &[u8] = b"-ERR max number of clients reached\r\n";

/// Pending connections the kernel queues per shard before `accept` takes them.
const LISTEN_BACKLOG: i32 = 1024;

/// How long a start waits for a listener that is going away to release the port.
const PORT_RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Checks that no other process serves `addr`, before the shards bind it with `SO_REUSEPORT`,
/// and returns the address they are to bind. Without this check a second usld would silently
/// share the port with the first. Port 0 asks the kernel for a free port: the probe's is
/// returned, so that every shard binds that one port instead of each getting its own. The probe
/// sets `SO_REUSEADDR` (as the shards' sockets do), so connections of a previous run still in
/// TIME_WAIT do not make a restart fail; only a live listener does. It binds without listening:
/// a listening probe would accept (and, closing, reset) a client that connects meanwhile.
///
/// A usld that has just exited can hold its port a few milliseconds longer: the kernel tears
/// its io_uring rings down after the process is gone, and a ring's pending accept keeps the
/// listening socket open until then. A restart right after a stop found the port taken in
/// about one start in four (`usld --shards 1` after a `--shards 2` that served clients), so the
/// probe is repeated for up to [`PORT_RELEASE_WAIT`] before the port is reported in use.
pub fn check_port_free(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let deadline = Instant::now() + PORT_RELEASE_WAIT;
    loop {
        let probe = socket(addr)?;
        match probe.bind(&addr.into()) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
            Ok(()) => {
                let port = probe.local_addr()?.as_socket().map_or(0, |a| a.port());
                return Ok(SocketAddr::new(addr.ip(), port));
            }
        }
    }
}

/// A TCP socket for `addr` with `SO_REUSEADDR` set.
fn socket(addr: SocketAddr) -> std::io::Result<socket2::Socket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    Ok(socket)
}

/// Binds this shard's listening socket. glommio's own `TcpListener::bind` sets `SO_REUSEPORT` but
/// not `SO_REUSEADDR`, so a restart would fail for as long as the previous run's connections sit
/// in TIME_WAIT; the socket is therefore built here with both and handed to glommio.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use std::os::fd::{FromRawFd, IntoRawFd};

    let socket = socket(addr)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    // SAFETY: the descriptor is a bound, listening TCP socket that we own; `into_raw_fd` gives up
    // that ownership, so glommio's listener becomes its only owner.
    Ok(unsafe { TcpListener::from_raw_fd(socket.into_raw_fd()) })
}

/// Accepts connections forever, spawning one task per connection on this shard.
pub async fn accept_loop(shard: Rc<Shard>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok(stream) => admit(&shard, stream).await,
            Err(e) => {
                tracing::warn!(shard = shard.id, error = %e, "accept failed");
                // Typically EMFILE: back off briefly instead of spinning on the error.
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn admit(shard: &Rc<Shard>, mut stream: TcpStream) {
    let counters = &shard.counters;
    let Some(client_id) = shard.shared.admit_client() else {
        ShardCounters::add(&counters.connections_rejected, 1);
        let _ = stream.write_all(TOO_MANY_CLIENTS).await;
        return;
    };
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok();
    let session = Session::new(client_id, peer, shard.id, !shard.shared.requires_password());
    ShardCounters::add(&counters.connections_total, 1);
    ShardCounters::add(&counters.connections, 1);
    let shard = Rc::clone(shard);
    glommio::spawn_local(async move {
        Connection::new(stream, Rc::clone(&shard), session)
            .serve()
            .await;
        ShardCounters::sub_one(&shard.counters.connections);
        shard.shared.release_client();
    })
    .detach();
}
