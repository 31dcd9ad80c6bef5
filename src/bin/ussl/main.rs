//! `ussl`, the USSL command-line client.
//!
//! Three ways to run, chosen in [`main`]: `-c "COMMAND"` runs one command (repeated with `-r`),
//! commands piped on stdin run one per line, and otherwise the prompt opens ([`repl`]). Each goes
//! through a [`session::Session`], which splits a line exactly as the server splits an inline
//! request, sends it over a [`connection::Connection`], and prints the reply with [`render`].
//!
//! Exit status: 0 when every reply was a success, 1 when a reply was an error or the server could
//! not be reached, 2 for a bad command line.

mod args;
mod connection;
mod help;
mod render;
mod repl;
mod session;

use std::io::{BufRead, IsTerminal};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

use args::Args;
use connection::Target;
use session::{Outcome, Session};

fn main() {
    let args = Args::parse();
    std::process::exit(match run(&args) {
        Ok(status) => status,
        Err(message) => {
            eprintln!("ussl: {message}");
            2
        }
    });
}

/// Runs the mode the arguments ask for and returns the exit status; `Err` for a bad command line.
fn run(args: &Args) -> Result<i32, String> {
    let target = Target {
        host: args.host.clone(),
        port: args.port,
        password: args.password.clone().filter(|p| !p.is_empty()),
        connect_timeout: args.connect_timeout()?,
        reply_bytes_max: args.max_reply_bytes,
    };
    let interval = args.interval()?;
    let repeat = args.repeat()?;
    let interactive = args.command.is_none() && std::io::stdin().is_terminal();
    let interrupt = Arc::new(AtomicBool::new(false));
    let mut session = Session::new(target, args.format(), Arc::clone(&interrupt), interactive);
    if let Err(e) = session.connect() {
        eprintln!("ussl: {e}");
        return Ok(1);
    }
    if let Some(command) = &args.command {
        return Ok(one_shot(&mut session, command, repeat, interval));
    }
    if interactive {
        return Ok(repl::run(&mut session, &interrupt));
    }
    Ok(piped(&mut session))
}

/// Runs `command` `repeat` times (forever when `None`), pausing `interval` between runs.
fn one_shot(
    session: &mut Session,
    command: &str,
    repeat: Option<u64>,
    interval: std::time::Duration,
) -> i32 {
    let mut status = 0;
    let mut done = 0u64;
    while repeat.is_none_or(|n| done < n) {
        if done > 0 && !interval.is_zero() {
            std::thread::sleep(interval);
        }
        match session.run_line(command) {
            Outcome::Ok | Outcome::Quit => {}
            Outcome::Error => status = 1,
            Outcome::Failed => return 1,
        }
        done += 1;
    }
    status
}

/// Runs each line of stdin; stops at `quit`/`exit` or when the server cannot be reached.
fn piped(session: &mut Session) -> i32 {
    let mut status = 0;
    for line in std::io::stdin().lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("ussl: cannot read stdin: {e}");
                return 1;
            }
        };
        match session.run_line(&line) {
            Outcome::Ok => {}
            Outcome::Error => status = 1,
            Outcome::Failed => return 1,
            Outcome::Quit => break,
        }
    }
    status
}
