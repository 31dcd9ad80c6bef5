//! The `usld` binary: parse the configuration, start logging, run the server.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use usld::config::{Args, Config};

fn main() {
    let args = Args::parse();
    let config = match Config::load(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("usld: {e:#}");
            std::process::exit(2);
        }
    };
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(e) = usld::server::run(config) {
        tracing::error!("{e:#}");
        eprintln!("usld: {e:#}");
        std::process::exit(1);
    }
}

/// mimalloc instead of glibc malloc: each shard thread allocates and frees small buffers for
/// every request, and glibc's per-thread arenas grow and shrink their heaps with an `mprotect`
/// call each time (thousands a second under load). Redis links jemalloc for the same reason.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
