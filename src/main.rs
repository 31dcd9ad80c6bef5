//! The `usld` binary: parse the configuration, start logging, run the server; or, with the
//! `bench` subcommand, run the load generator (the `ussl-bench` crate) instead.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use usld::config::{Args, Command, Config};

fn main() {
    let mut args = Args::parse();
    if let Some(Command::Bench(bench)) = args.command.take() {
        std::process::exit(run_bench(&bench));
    }
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
        // Once, on stderr, where the log goes too; printed even with `--log-level off`.
        eprintln!("usld: {e:#}");
        std::process::exit(1);
    }
}

/// Runs `usld bench` and returns the exit status: 0 when every operation succeeded, 1 when some
/// failed or the server could not be used, 2 for a bad flag.
fn run_bench(args: &ussl_bench::BenchArgs) -> i32 {
    match ussl_bench::run(args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("usld bench: {e}");
            match e {
                ussl_bench::BenchError::Usage(_) => 2,
                _ => 1,
            }
        }
    }
}

/// mimalloc instead of glibc malloc: each shard thread allocates and frees small buffers for
/// every request, and glibc's per-thread arenas grow and shrink their heaps with an `mprotect`
/// call each time (thousands a second under load). Redis links jemalloc for the same reason.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
