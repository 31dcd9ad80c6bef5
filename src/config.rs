//! Server configuration: command-line flags, `USSL_*` environment variables and the optional TOML
//! file, merged into one [`Config`] before any shard starts.
//!
//! Precedence, highest first: a flag on the command line, its environment variable, the config file
//! (`-c/--config`), the built-in default. Flags are `Option`s so that "not given" can be told apart
//! from "given the default value", which is what lets the file fill the gaps.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde::Deserialize;

/// Default TCP port, one above Redis's so both can run side by side.
pub const TCP_PORT_DEFAULT: u16 = 6380;
/// Default WebSocket port.
pub const WS_PORT_DEFAULT: u16 = 6381;
/// Default bind address: every interface, as the original README promises.
pub const BIND_DEFAULT: &str = "0.0.0.0";
/// Default most simultaneous client connections (Redis's `maxclients` default).
pub const CLIENTS_MAX_DEFAULT: usize = 10_000;
/// Default most bytes one request may hold: large enough for big JSON values, small enough that a
/// handful of hostile clients cannot exhaust memory.
pub const REQUEST_BYTES_MAX_DEFAULT: usize = 64 * 1024 * 1024;
/// Default capacity of each shard-to-shard channel, in messages (each message is one connection's
/// batch of commands for that shard), so a slow shard pushes back instead of queueing without bound.
pub const CROSS_SHARD_QUEUE_DEFAULT: usize = 1024;
/// Default microseconds a shard that ran out of work keeps polling, yielding its core
/// between polls, before it sleeps: long enough that a client's next request, or the other
/// shard's reply, usually arrives before the shard would sleep, so it is not woken from the
/// kernel (Seastar's `--idle-poll-time-us` is the same knob). Measured in bench/RESULTS.md.
pub const IDLE_SPIN_US_DEFAULT: u64 = 200;
/// Longest idle spin accepted: beyond a millisecond it is a busy loop, not a wait.
pub const IDLE_SPIN_MAX: Duration = Duration::from_millis(1);
/// Default most notices (change events, pattern announcements) one shard queues for the others
/// before its clients' writes wait.
pub const CROSS_SHARD_NOTICES_DEFAULT: usize = 65_536;
/// Default most bytes of events queued for one subscriber before it is disconnected: Redis's
/// `client-output-buffer-limit pubsub` hard limit.
pub const PUBSUB_OUTPUT_BYTES_MAX_DEFAULT: usize = 32 * 1024 * 1024;
/// Default most patterns one connection may subscribe to.
pub const SUBSCRIPTIONS_MAX_DEFAULT: usize = 1024;
/// Default longest glob pattern, in bytes, for KEYS and SUB.
pub const PATTERN_BYTES_MAX_DEFAULT: usize = 4096;
/// Default most bytes of JSON in one presence entry.
pub const PRESENCE_BYTES_MAX_DEFAULT: usize = 16 * 1024;
/// Default most batches of writes a shard has in flight to its database writer; more writes wait
/// in the shard's open batch, which only makes the next commit's group larger.
pub const COMMIT_QUEUE_DEFAULT: usize = 1024;
/// Default most bytes of applied writes a shard holds uncommitted before its clients wait.
pub const UNCOMMITTED_BYTES_MAX_DEFAULT: usize = 64 * 1024 * 1024;
/// The smallest `--max-db-bytes`: room for the tables of an empty file.
pub const DB_FILE_BYTES_MIN: u64 = 64 * 1024;

/// `usld`: the USSL server. Flags override environment variables, which override the config file.
#[derive(Debug, Parser)]
#[command(name = "usld", version, about, long_about = None)]
pub struct Args {
    /// TCP port for USSP (RESP-compatible) clients [default: 6380]
    #[arg(long, env = "USSL_TCP_PORT")]
    pub tcp_port: Option<u16>,

    /// WebSocket port [default: 6381]
    #[arg(long, env = "USSL_WS_PORT")]
    pub ws_port: Option<u16>,

    /// Address to bind [default: 0.0.0.0]
    #[arg(long, env = "USSL_BIND")]
    pub bind: Option<String>,

    /// Log level: off, error, warn, info, debug, trace, or a tracing filter such as
    /// usld=debug,info [default: info]
    #[arg(long, env = "USSL_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// SQLite persistence: the manifest's path; each shard's file sits beside it
    /// (PATH data.db: data.shard0.db, data.shard1.db, ...) [default: in memory only]
    #[arg(long, env = "USSL_DB")]
    pub db: Option<PathBuf>,

    /// With --db: sync every commit to disk, so acknowledged writes survive power loss, not only
    /// a killed usld (slower writes)
    /// [env: USSL_FSYNC: true/false, 1/0, yes/no, on/off; `--fsync=false` overrides the file]
    #[arg(long, env = "USSL_FSYNC", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), hide_env = true)]
    pub fsync: Option<bool>,

    /// With --db: most bytes one shard's database file may grow to; past it writes are refused
    /// as on a full disk [default: no bound]
    #[arg(long, env = "USSL_MAX_DB_BYTES")]
    pub max_db_bytes: Option<u64>,

    /// With --db: least growth of a shard's log, in bytes, before it is rewritten [default:
    /// 67108864]
    #[arg(long, env = "USSL_DB_REWRITE_MIN_BYTES")]
    pub db_rewrite_min_bytes: Option<u64>,

    /// With --db: most batches of writes a shard has in flight to its database writer
    /// [default: 1024]
    #[arg(long, env = "USSL_COMMIT_QUEUE")]
    pub commit_queue: Option<usize>,

    /// With --db: most bytes of applied, not yet committed writes per shard before clients wait
    /// [default: 67108864]
    #[arg(long, env = "USSL_MAX_UNCOMMITTED_BYTES")]
    pub max_uncommitted_bytes: Option<usize>,

    /// Test-only: pause every commit this long (docs/persistence.md)
    #[arg(long, hide = true)]
    pub test_commit_delay_ms: Option<u64>,

    /// Require clients to AUTH with this password
    #[arg(long, env = "USSL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Disable the TCP listener
    #[arg(long)]
    pub no_tcp: bool,

    /// Disable the WebSocket listener
    #[arg(long)]
    pub no_ws: bool,

    /// Configuration file (TOML)
    #[arg(short = 'c', long = "config", env = "USSL_CONFIG")]
    pub config: Option<PathBuf>,

    /// Number of shards (one pinned thread each) [default: available cores]
    #[arg(long, env = "USSL_SHARDS")]
    pub shards: Option<usize>,

    /// Do not pin shards to cores: for machines shared with other busy processes
    #[arg(long)]
    pub no_pin: bool,

    /// Microseconds a shard out of work keeps looking, yielding its core, before it sleeps [default: 200]
    #[arg(long, env = "USSL_IDLE_SPIN_US")]
    pub idle_spin_us: Option<u64>,

    /// Most simultaneous client connections [default: 10000]
    #[arg(long, env = "USSL_MAX_CLIENTS")]
    pub max_clients: Option<usize>,

    /// Most bytes in one request [default: 67108864]
    #[arg(long, env = "USSL_MAX_REQUEST_BYTES")]
    pub max_request_bytes: Option<usize>,

    /// Capacity of each shard-to-shard channel, in batches [default: 1024]
    #[arg(long, env = "USSL_CROSS_SHARD_QUEUE")]
    pub cross_shard_queue: Option<usize>,

    /// Most change events and announcements a shard queues for the others [default: 65536]
    #[arg(long, env = "USSL_CROSS_SHARD_NOTICES")]
    pub cross_shard_notices: Option<usize>,

    /// Most bytes of events queued for a subscriber before it is disconnected [default: 33554432]
    #[arg(long, env = "USSL_MAX_PUBSUB_OUTPUT_BYTES")]
    pub max_pubsub_output_bytes: Option<usize>,

    /// Most patterns one connection may subscribe to [default: 1024]
    #[arg(long, env = "USSL_MAX_SUBSCRIPTIONS")]
    pub max_subscriptions: Option<usize>,

    /// Longest KEYS or SUB glob pattern, in bytes [default: 4096]
    #[arg(long, env = "USSL_MAX_PATTERN_BYTES")]
    pub max_pattern_bytes: Option<usize>,

    /// Most bytes of JSON in one PRESENCE entry [default: 16384]
    #[arg(long, env = "USSL_MAX_PRESENCE_BYTES")]
    pub max_presence_bytes: Option<usize>,

    /// A tool to run instead of the server
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Tools built into the server binary; with none, `usld` runs the server.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load generator: the seed's tests (conn, set, get, inc, mixed) and subscription fan-out,
    /// against usld or, with --target redis, against Redis
    Bench(ussl_bench::BenchArgs),
}

/// The config file's keys: the long flag names with `_` for `-`. Unknown keys are refused so a
/// typo is reported instead of silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    tcp_port: Option<u16>,
    ws_port: Option<u16>,
    bind: Option<String>,
    log_level: Option<String>,
    db: Option<PathBuf>,
    fsync: Option<bool>,
    max_db_bytes: Option<u64>,
    db_rewrite_min_bytes: Option<u64>,
    commit_queue: Option<usize>,
    max_uncommitted_bytes: Option<usize>,
    password: Option<String>,
    no_tcp: Option<bool>,
    no_ws: Option<bool>,
    no_pin: Option<bool>,
    idle_spin_us: Option<u64>,
    shards: Option<usize>,
    max_clients: Option<usize>,
    max_request_bytes: Option<usize>,
    cross_shard_queue: Option<usize>,
    cross_shard_notices: Option<usize>,
    max_pubsub_output_bytes: Option<usize>,
    max_subscriptions: Option<usize>,
    max_pattern_bytes: Option<usize>,
    max_presence_bytes: Option<usize>,
}

/// The merged, validated configuration every shard reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where TCP clients connect; `None` when `--no-tcp`.
    pub tcp_addr: Option<SocketAddr>,
    /// Requested WebSocket port; the WebSocket transport is not built yet, so start-up warns.
    pub ws_port: Option<u16>,
    /// The tracing filter.
    pub log_level: String,
    /// The database manifest's path (`--db`); `None` keeps documents in memory only.
    pub db: Option<PathBuf>,
    /// Sync every commit to disk (`--fsync`).
    pub fsync: bool,
    /// Most bytes one shard's database file may grow to.
    pub db_file_bytes_max: Option<u64>,
    /// Least growth of a shard's log before it is rewritten.
    pub db_rewrite_min_bytes: u64,
    /// Most batches a shard has in flight to its database writer.
    pub commit_queue: usize,
    /// Most bytes of uncommitted writes a shard holds before its clients wait.
    pub uncommitted_bytes_max: usize,
    /// Test-only pause before every commit, in milliseconds (0: none).
    pub commit_delay_ms: u64,
    /// The password clients must AUTH with, if any.
    pub password: Option<String>,
    /// Number of shards, each one executor.
    pub shards: usize,
    /// Whether each shard's thread is pinned to one core.
    pub pin_shards: bool,
    /// How long a shard that ran out of work polls again, yielding its core between
    /// polls, before it sleeps until woken (`--idle-spin-us`; see `server::idle_spin`).
    pub idle_spin: Duration,
    /// Most simultaneous client connections.
    pub clients_max: usize,
    /// Most bytes one authenticated request may hold.
    pub request_bytes_max: usize,
    /// Capacity of each shard-to-shard channel.
    pub cross_shard_queue: usize,
    /// Most notices one shard queues for the others before its clients' writes wait.
    pub cross_shard_notices: usize,
    /// Most bytes of events queued for one subscriber before it is disconnected.
    pub pubsub_output_bytes_max: usize,
    /// Most patterns one connection may hold.
    pub subscriptions_max: usize,
    /// Longest KEYS or SUB pattern, in bytes.
    pub pattern_bytes_max: usize,
    /// Most bytes of JSON in one presence entry.
    pub presence_bytes_max: usize,
    /// The config file that was read, for INFO.
    pub config_file: Option<PathBuf>,
}

impl Config {
    /// Merges flags, environment and file into a validated configuration.
    pub fn load(args: Args) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let port = args.tcp_port.or(file.tcp_port).unwrap_or(TCP_PORT_DEFAULT);
        let bind = args
            .bind
            .or(file.bind)
            .unwrap_or_else(|| BIND_DEFAULT.to_string());
        let ip: IpAddr = bind
            .parse()
            .with_context(|| format!("--bind {bind:?} is not an IP address"))?;
        let no_tcp = args.no_tcp || file.no_tcp.unwrap_or(false);
        let no_ws = args.no_ws || file.no_ws.unwrap_or(false);
        let shards = match args.shards.or(file.shards) {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let config = Config {
            tcp_addr: (!no_tcp).then_some(SocketAddr::new(ip, port)),
            ws_port: (!no_ws).then_some(args.ws_port.or(file.ws_port).unwrap_or(WS_PORT_DEFAULT)),
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".to_string()),
            db: args.db.or(file.db),
            fsync: args.fsync.or(file.fsync).unwrap_or(false),
            db_file_bytes_max: args.max_db_bytes.or(file.max_db_bytes),
            db_rewrite_min_bytes: args
                .db_rewrite_min_bytes
                .or(file.db_rewrite_min_bytes)
                .unwrap_or(ussl_shards::storage::REWRITE_MIN_BYTES_DEFAULT),
            commit_queue: args
                .commit_queue
                .or(file.commit_queue)
                .unwrap_or(COMMIT_QUEUE_DEFAULT),
            uncommitted_bytes_max: args
                .max_uncommitted_bytes
                .or(file.max_uncommitted_bytes)
                .unwrap_or(UNCOMMITTED_BYTES_MAX_DEFAULT),
            commit_delay_ms: args.test_commit_delay_ms.unwrap_or(0),
            password: args.password.or(file.password),
            shards,
            pin_shards: !(args.no_pin || file.no_pin.unwrap_or(false)),
            idle_spin: Duration::from_micros(
                args.idle_spin_us
                    .or(file.idle_spin_us)
                    .unwrap_or(IDLE_SPIN_US_DEFAULT),
            ),
            clients_max: args
                .max_clients
                .or(file.max_clients)
                .unwrap_or(CLIENTS_MAX_DEFAULT),
            request_bytes_max: args
                .max_request_bytes
                .or(file.max_request_bytes)
                .unwrap_or(REQUEST_BYTES_MAX_DEFAULT),
            cross_shard_queue: args
                .cross_shard_queue
                .or(file.cross_shard_queue)
                .unwrap_or(CROSS_SHARD_QUEUE_DEFAULT),
            cross_shard_notices: args
                .cross_shard_notices
                .or(file.cross_shard_notices)
                .unwrap_or(CROSS_SHARD_NOTICES_DEFAULT),
            pubsub_output_bytes_max: args
                .max_pubsub_output_bytes
                .or(file.max_pubsub_output_bytes)
                .unwrap_or(PUBSUB_OUTPUT_BYTES_MAX_DEFAULT),
            subscriptions_max: args
                .max_subscriptions
                .or(file.max_subscriptions)
                .unwrap_or(SUBSCRIPTIONS_MAX_DEFAULT),
            pattern_bytes_max: args
                .max_pattern_bytes
                .or(file.max_pattern_bytes)
                .unwrap_or(PATTERN_BYTES_MAX_DEFAULT),
            presence_bytes_max: args
                .max_presence_bytes
                .or(file.max_presence_bytes)
                .unwrap_or(PRESENCE_BYTES_MAX_DEFAULT),
            config_file: args.config,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        check_log_level(&self.log_level)?;
        if self.password.as_deref() == Some("") {
            // Most likely an empty `USSL_PASSWORD=`, which must not quietly turn off the
            // password a config file sets.
            bail!("--password is empty: give a password, or leave it out to run without one");
        }
        if !(1..=1024).contains(&self.shards) {
            bail!("--shards must be between 1 and 1024, got {}", self.shards);
        }
        if self.clients_max == 0 {
            bail!("--max-clients must be at least 1");
        }
        if self.request_bytes_max < 1024 {
            bail!("--max-request-bytes must be at least 1024");
        }
        if self.idle_spin > IDLE_SPIN_MAX {
            bail!(
                "--idle-spin-us must be at most {}, got {}",
                IDLE_SPIN_MAX.as_micros(),
                self.idle_spin.as_micros()
            );
        }
        if self.cross_shard_queue == 0 {
            bail!("--cross-shard-queue must be at least 1");
        }
        for (flag, value) in [
            ("--cross-shard-notices", self.cross_shard_notices),
            ("--max-pubsub-output-bytes", self.pubsub_output_bytes_max),
            ("--max-subscriptions", self.subscriptions_max),
            ("--max-pattern-bytes", self.pattern_bytes_max),
            ("--max-presence-bytes", self.presence_bytes_max),
        ] {
            if value == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        for (flag, value) in [
            ("--commit-queue", self.commit_queue),
            ("--max-uncommitted-bytes", self.uncommitted_bytes_max),
        ] {
            if value == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        if self
            .db_file_bytes_max
            .is_some_and(|bytes| bytes < DB_FILE_BYTES_MIN)
        {
            bail!("--max-db-bytes must be at least {DB_FILE_BYTES_MIN}");
        }
        if self.tcp_addr.is_none() {
            bail!(
                "--no-tcp leaves no listener: the WebSocket transport is not available \
                 in this version yet"
            );
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// The levels `--log-level` takes by name.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// `--log-level` is a level, or a tracing filter each of whose directives is a level or names
/// one (`usld=debug,info`). A bare word that is neither (`verbose`, `warnn`) would be read as a
/// filter for a module of that name and log nothing at all, so it is refused instead.
fn check_log_level(filter: &str) -> anyhow::Result<()> {
    let is_level = |word: &str| {
        LOG_LEVELS
            .iter()
            .any(|l| l.eq_ignore_ascii_case(word.trim()))
    };
    let directives = filter.split(',').all(|d| is_level(d) || d.contains('='));
    if !directives || tracing_subscriber::EnvFilter::try_new(filter).is_err() {
        bail!(
            "--log-level {filter:?} is neither a level ({}) nor a filter such as usld=debug,info",
            LOG_LEVELS.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> anyhow::Result<Config> {
        let args = Args::try_parse_from(std::iter::once("usld").chain(argv.iter().copied()))?;
        Config::load(args)
    }

    /// Writes `contents` to a config file in a directory of its own; returns the directory,
    /// removed when dropped, and the file's path.
    fn config_file(contents: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("ussl.toml");
        std::fs::write(&file, contents).expect("write");
        let path = file.to_str().expect("utf-8 path").to_owned();
        (dir, path)
    }

    #[test]
    fn flags_override_file_and_file_overrides_defaults() {
        let (_file_dir, file) = config_file("tcp_port = 7000\nshards = 3\nmax_clients = 5\n");
        let file_arg = file.as_str();
        let config = parse(&["-c", file_arg, "--shards", "2"]).expect("valid");
        assert_eq!(config.tcp_addr.map(|a| a.port()), Some(7000));
        assert_eq!(config.shards, 2);
        assert_eq!(config.clients_max, 5);
    }

    #[test]
    fn log_levels_and_filters_are_taken_and_other_words_refused() {
        for good in [
            "info",
            "WARN",
            "off",
            "usld=debug,info",
            "usld::server=trace",
        ] {
            let config = parse(&["--log-level", good]).expect(good);
            assert_eq!(config.log_level, good);
        }
        for bad in ["verbose", "warnn", "", "info,nosuchlevel", "usld=loud"] {
            let err = parse(&["--log-level", bad]).expect_err(bad);
            assert!(
                format!("{err:#}").contains("is neither a level"),
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn an_empty_password_is_refused_rather_than_turning_auth_off() {
        let (_file_dir, file) = config_file("password = \"from-file\"\n");
        let file_arg = file.as_str();
        let from_file = parse(&["-c", file_arg]).expect("valid");
        assert_eq!(from_file.password.as_deref(), Some("from-file"));
        let err = parse(&["-c", file_arg, "--password", ""]).expect_err("empty refused");
        assert!(
            format!("{err:#}").contains("--password is empty"),
            "{err:#}"
        );
        let (_empty_dir, empty) = config_file("password = \"\"\n");
        assert!(parse(&["-c", &empty]).is_err());
    }

    #[test]
    fn fsync_from_flag_or_environment_overrides_the_file_either_way() {
        let (_file_dir, file) = config_file("fsync = true\n");
        let file_arg = file.as_str();
        assert!(parse(&["-c", file_arg]).expect("valid").fsync);
        assert!(
            !parse(&["-c", file_arg, "--fsync=false"])
                .expect("valid")
                .fsync
        );
        assert!(
            !parse(&["-c", file_arg, "--fsync", "no"])
                .expect("valid")
                .fsync
        );
        assert!(parse(&["--fsync"]).expect("valid").fsync);
        assert!(parse(&["--fsync", "--shards", "1"]).expect("valid").fsync);
        assert!(parse(&["--fsync=on"]).expect("valid").fsync);
        assert!(!parse(&[]).expect("valid").fsync);
        assert!(parse(&["--fsync=maybe"]).is_err());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let (_file_dir, file) = config_file("tcp_prot = 7000\n");
        let err = parse(&["-c", &file]).expect_err("typo refused");
        assert!(format!("{err:#}").contains("tcp_prot"), "{err:#}");
    }

    #[test]
    fn db_flags_come_from_flags_and_file() {
        let (_file_dir, file) = config_file("db = \"/tmp/x.db\"\nfsync = true\ncommit_queue = 8\n");
        let config = parse(&["-c", &file]).expect("valid");
        assert_eq!(config.db.as_deref(), Some(Path::new("/tmp/x.db")));
        assert!(config.fsync);
        assert_eq!(config.commit_queue, 8);
        assert_eq!(config.uncommitted_bytes_max, UNCOMMITTED_BYTES_MAX_DEFAULT);
        let err = parse(&["--db", "/tmp/x.db", "--max-db-bytes", "10"]).expect_err("too small");
        assert!(err.to_string().contains("--max-db-bytes"), "{err}");
    }

    #[test]
    fn the_shipped_config_file_is_valid() {
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/ussl.toml");
        let config = parse(&["-c", shipped]).expect("systemd/ussl.toml loads");
        assert_eq!(
            config.db.as_deref(),
            Some(Path::new("/var/lib/ussl/data.db"))
        );
    }

    #[test]
    fn idle_spin_comes_from_flag_or_file_and_is_bounded() {
        assert_eq!(
            parse(&[]).expect("defaults").idle_spin,
            Duration::from_micros(IDLE_SPIN_US_DEFAULT)
        );
        assert_eq!(
            parse(&["--idle-spin-us", "0"]).expect("valid").idle_spin,
            Duration::ZERO
        );
        let (_file_dir, file) = config_file("idle_spin_us = 40\n");
        let config = parse(&["-c", &file]).expect("valid");
        assert_eq!(config.idle_spin, Duration::from_micros(40));
        let err = parse(&["--idle-spin-us", "1001"]).expect_err("too long");
        assert!(err.to_string().contains("--idle-spin-us"), "{err}");
    }

    #[test]
    fn bad_bind_address_is_a_clear_error() {
        let err = parse(&["--bind", "not-an-ip"]).expect_err("refused");
        assert!(err.to_string().contains("not-an-ip"), "{err}");
    }

    #[test]
    fn no_tcp_is_refused_while_there_is_no_other_transport() {
        let err = parse(&["--no-tcp"]).expect_err("refused");
        assert!(err.to_string().contains("no listener"), "{err}");
    }
}
