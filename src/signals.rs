//! SIGINT and SIGTERM handling. glommio has no signal API, so a plain thread waits for signals
//! (signal-hook) and tells every shard to stop through a oneshot channel each, whose waker works
//! across threads. A second signal while shutting down exits at once.

use futures_channel::oneshot;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Starts the signal thread; each sender is one shard's stop request.
pub fn spawn(stops: Vec<oneshot::Sender<()>>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("usld-signals".into())
        .spawn(move || {
            let mut stops = Some(stops);
            for signal in signals.forever() {
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
