//! The little state all shards share: the configuration, the password digest and the counters
//! that must be global (connected clients, client ids). No document state is shared; these are
//! atomics because they are touched once per connection, not once per command.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::config::Config;

/// Server-wide state, behind an `Arc`, read by every shard.
#[derive(Debug)]
pub struct Shared {
    /// The merged configuration.
    pub config: Config,
    /// SHA-256 of the configured password, compared in constant time.
    password_digest: Option<[u8; 32]>,
    /// Connections open now, across all shards, to enforce `--max-clients`.
    clients: AtomicUsize,
    /// Next client id; ids are unique for the life of the process.
    next_client_id: AtomicU64,
    /// When the server started, for `uptime_in_seconds`.
    pub started: Instant,
}

impl Shared {
    /// Builds the shared state from the configuration.
    pub fn new(config: Config) -> Shared {
        let password_digest = config.password.as_deref().map(digest);
        Shared {
            config,
            password_digest,
            clients: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
        }
    }

    /// Whether clients must AUTH first.
    pub fn requires_password(&self) -> bool {
        self.password_digest.is_some()
    }

    /// Compares a password with the configured one in constant time.
    pub fn password_matches(&self, password: &[u8]) -> bool {
        self.password_digest
            .is_some_and(|d| constant_time_eq::constant_time_eq_32(&d, &digest(password)))
    }

    /// Counts a new connection in, or refuses it when `--max-clients` are already open.
    pub fn admit_client(&self) -> Option<u64> {
        let max = self.config.clients_max;
        let admitted = self
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| self.next_client_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Counts a closed connection out.
    pub fn release_client(&self) {
        self.clients.fetch_sub(1, Ordering::AcqRel);
    }

    /// Connections open now.
    pub fn connected_clients(&self) -> usize {
        self.clients.load(Ordering::Acquire)
    }
}

fn digest(password: impl AsRef<[u8]>) -> [u8; 32] {
    Sha256::digest(password.as_ref()).into()
}
