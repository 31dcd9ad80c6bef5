//! The `ussl` command line: where to connect, how to authenticate, what to run and how to print
//! the replies. Every flag is described in `docs/cli.md`.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Parser;

use crate::render::Format;

/// Default most bytes one reply may hold: Redis's largest bulk string (`proto-max-bulk-len`), so
/// any reply a Redis-class server sends fits, while a broken peer cannot exhaust memory.
pub const REPLY_BYTES_MAX_DEFAULT: usize = 512 * 1024 * 1024;

/// The USSL command-line client. With no command it opens a prompt; with -c it runs one
/// command; with commands piped on stdin it runs them one by one.
#[derive(Debug, Parser)]
#[command(name = "ussl", version)]
pub struct Args {
    /// Server host name or address
    #[arg(short = 'H', long, default_value = "127.0.0.1")]
    pub host: String,

    /// Server TCP port
    #[arg(short = 'p', long, default_value_t = 6380)]
    pub port: u16,

    /// Password to AUTH with after connecting
    #[arg(short = 'a', long, env = "USSL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Run one command and exit (exit status 1 on an error reply)
    #[arg(short = 'c', long = "command", value_name = "COMMAND")]
    pub command: Option<String>,

    /// Run the -c command N times (-1: until interrupted)
    #[arg(
        short = 'r',
        long = "repeat",
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true,
        requires = "command"
    )]
    pub repeat: i64,

    /// Seconds to wait between repeats of the -c command (fractions allowed)
    #[arg(
        short = 'i',
        long = "interval",
        value_name = "SECS",
        default_value_t = 0.0
    )]
    pub interval: f64,

    /// Print replies raw (the default when stdout is not a terminal)
    #[arg(long, conflicts_with_all = ["no_raw", "json"])]
    pub raw: bool,

    /// Print replies typed, as on a terminal, even when stdout is not one
    #[arg(long, conflicts_with = "json")]
    pub no_raw: bool,

    /// Print each reply as one line of JSON
    #[arg(long)]
    pub json: bool,

    /// Seconds to wait for the TCP connection to be established
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub connect_timeout: f64,

    /// Most bytes one reply may hold before the connection is dropped
    #[arg(long, value_name = "BYTES", default_value_t = REPLY_BYTES_MAX_DEFAULT)]
    pub max_reply_bytes: usize,
}

impl Args {
    /// How replies are printed: the flags first, else typed on a terminal and raw otherwise.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.raw {
            Format::Raw
        } else if self.no_raw || std::io::stdout().is_terminal() {
            Format::Typed
        } else {
            Format::Raw
        }
    }

    /// The pause between repeats, refused when it is not a finite, non-negative number.
    pub fn interval(&self) -> Result<Duration, String> {
        seconds(self.interval, "--interval")
    }

    /// The connection timeout, refused when it is not a finite, positive number.
    pub fn connect_timeout(&self) -> Result<Duration, String> {
        match seconds(self.connect_timeout, "--connect-timeout")? {
            d if d.is_zero() => Err("--connect-timeout must be more than 0 seconds".into()),
            d => Ok(d),
        }
    }

    /// How many times to run the `-c` command; `None` for "until interrupted".
    pub fn repeat(&self) -> Result<Option<u64>, String> {
        match self.repeat {
            -1 => Ok(None),
            n => u64::try_from(n)
                .map(Some)
                .map_err(|_| format!("--repeat must be -1 or a count, got {n}")),
        }
    }
}

fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("{flag} must be a non-negative number of seconds, got {value}"))
}
