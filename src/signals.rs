//! SIGINT and SIGTERM handling. glommio has no signal API, so a plain thread waits for signals
//! (signal-hook) and tells every shard to stop through a oneshot channel each, whose waker works
//! across threads. A second signal while shutting down exits at once.
//!
//! SIGHUP is logged and ignored, as Redis does: usld has no configuration to reload, and the
//! default action (the terminal that started usld closing, a `kill -HUP` meant as "reload")
//! would end the process on the spot, without the clean stop that SIGTERM gives.

use futures_channel::oneshot;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Starts the signal thread; each sender is one shard's stop request.
pub fn spawn(stops: Vec<oneshot::Sender<()>>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("usld-signals".into())
        .spawn(move || {
            let mut stops = Some(stops);
            for signal in signals.forever() {
                if signal == SIGHUP {
                    tracing::warn!(
                        "SIGHUP ignored: usld does not reload its configuration; restart it to \
                         apply a change (SIGTERM stops it cleanly)"
                    );
                    continue;
                }
                match stops.take() {
                    Some(stops) => {
                        tracing::info!(signal, "shutting down");
                        for stop in stops {
                            let _ = stop.send(());
                        }
                    }
                    None => {
                        tracing::warn!(signal, "second signal: exiting now");
                        std::process::exit(1);
                    }
                }
            }
        })?;
    Ok(())
}
