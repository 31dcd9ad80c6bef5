//! `usld bench`'s command line: the seed's options (`-H -p -a -c -n`) plus the workload's shape.
//! Every flag is described in `docs/cli.md`.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::BenchError;

/// Default operations per client, as the seed's benchmark.
pub const OPS_PER_CLIENT_DEFAULT: u64 = 1000;
/// Default concurrent clients, as the seed's benchmark.
pub const CLIENTS_DEFAULT: usize = 10;
/// Default number of distinct keys the tests touch.
pub const KEYSPACE_DEFAULT: u64 = 10_000;
/// Default value size in bytes: redis-benchmark's default (`-d 3`), so loads line up.
pub const VALUE_BYTES_DEFAULT: usize = 3;
/// Most concurrent clients: each holds a socket and two buffers, and the default file-descriptor
/// limit of most systems is far below this anyway.
pub const CLIENTS_MAX: usize = 100_000;
/// Largest value size accepted.
pub const VALUE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Deepest pipeline accepted.
pub const PIPELINE_MAX: usize = 100_000;
/// Most load-generating threads.
pub const THREADS_MAX: usize = 64;

/// Options of `usld bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Server host name or address
    #[arg(short = 'H', long, default_value = "127.0.0.1")]
    pub host: String,

    /// Server port [default: 6380, or 6379 with --target redis]
    #[arg(short = 'p', long)]
    pub port: Option<u16>,

    /// Password to AUTH with on every connection
    #[arg(short = 'a', long, env = "USSL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Concurrent clients (connections)
    #[arg(short = 'c', long, default_value_t = CLIENTS_DEFAULT)]
    pub clients: usize,

    /// Operations per client (for `sub`: messages each subscriber receives)
    #[arg(short = 'n', long = "ops", default_value_t = OPS_PER_CLIENT_DEFAULT)]
    pub ops: u64,

    /// Requests each client sends before reading their replies
    #[arg(short = 'P', long, default_value_t = 1)]
    pub pipeline: usize,

    /// Distinct keys the tests choose from
    #[arg(long, default_value_t = KEYSPACE_DEFAULT)]
    pub keyspace: u64,

    /// Bytes in each written value
    #[arg(long, default_value_t = VALUE_BYTES_DEFAULT)]
    pub value_size: usize,

    /// Seed of the key and operation choices (client i uses seed + i)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Tests to run, in order: conn, set, get, inc, mixed, sub, or `all`
    #[arg(long, value_delimiter = ',', default_value = "conn,set,get,inc,mixed")]
    pub tests: Vec<TestName>,

    /// Server kind: usld commands, or their Redis hash equivalents (SET→HSET, GET→HGETALL,
    /// INC→HINCRBY)
    #[arg(long, value_enum, default_value_t = Target::Usld)]
    pub target: Target,

    /// Load-generating threads (each one event loop driving its share of the clients)
    #[arg(long, default_value_t = 1)]
    pub threads: usize,

    /// `sub` test: the publisher's writes per second (one pipeline of -P writes at a time);
    /// unset, it writes as fast as the server acknowledges. Latency is only comparable between
    /// servers at a rate both sustain
    #[arg(long, value_name = "WRITES_PER_SEC")]
    pub rate: Option<f64>,

    /// Seconds without a reply after which a client gives up (counted as failures)
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,

    /// Print the results as one JSON document
    #[arg(long)]
    pub json: bool,
}

/// Which server the load speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// usld: SET, GET, INC on JSON documents.
    Usld,
    /// Redis: HSET, HGETALL, HINCRBY on hashes with the same keys and fields.
    Redis,
}

/// A test as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestName {
    /// Connection set-up: connect, AUTH if needed, PING, close.
    Conn,
    /// Writes.
    Set,
    /// Reads.
    Get,
    /// Counter increments.
    Inc,
    /// 40% writes, 40% reads, 20% increments.
    Mixed,
    /// Subscription fan-out: every client subscribes, one publisher writes.
    Sub,
    /// All of the above, in that order.
    All,
}

/// The tests to run, `all` expanded, in the order given.
pub const ALL_TESTS: [TestName; 6] = [
    TestName::Conn,
    TestName::Set,
    TestName::Get,
    TestName::Inc,
    TestName::Mixed,
    TestName::Sub,
];

impl TestName {
    /// The name shown in reports.
    pub fn label(self) -> &'static str {
        match self {
            TestName::Conn => "conn",
            TestName::Set => "set",
            TestName::Get => "get",
            TestName::Inc => "inc",
            TestName::Mixed => "mixed",
            TestName::Sub => "sub",
            TestName::All => "all",
        }
    }

    /// What one operation of this test is called in the throughput column.
    pub fn unit(self) -> &'static str {
        match self {
            TestName::Conn => "conn/s",
            TestName::Sub => "msg/s",
            _ => "ops/s",
        }
    }
}

/// The validated settings every client reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `host:port` as given, for messages.
    pub address: String,
    /// Where to connect, resolved once.
    pub socket: std::net::SocketAddr,
    /// Password for AUTH.
    pub password: Option<String>,
    /// Concurrent clients.
    pub clients: usize,
    /// Operations per client.
    pub ops: u64,
    /// Pipeline depth.
    pub pipeline: usize,
    /// Distinct keys.
    pub keyspace: u64,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Seed of client 0.
    pub seed: u64,
    /// Tests in order.
    pub tests: Vec<TestName>,
    /// Server kind.
    pub target: Target,
    /// Event-loop threads (never more than clients).
    pub threads: usize,
    /// The `sub` publisher's pace: time between the starts of two writes.
    pub publish_interval: Option<Duration>,
    /// Longest wait for a reply.
    pub timeout: Duration,
    /// JSON output.
    pub json: bool,
}

impl BenchArgs {
    /// Checks the bounds and resolves the address.
    pub fn settings(&self) -> Result<Settings, BenchError> {
        let bad = |m: String| Err(BenchError::Usage(m));
        if !(1..=CLIENTS_MAX).contains(&self.clients) {
            return bad(format!("-c/--clients must be between 1 and {CLIENTS_MAX}"));
        }
        if self.ops == 0 {
            return bad("-n/--ops must be at least 1".into());
        }
        if !(1..=PIPELINE_MAX).contains(&self.pipeline) {
            return bad(format!("--pipeline must be between 1 and {PIPELINE_MAX}"));
        }
        if self.keyspace == 0 {
            return bad("--keyspace must be at least 1".into());
        }
        if !(1..=VALUE_BYTES_MAX).contains(&self.value_size) {
            return bad(format!(
                "--value-size must be between 1 and {VALUE_BYTES_MAX}"
            ));
        }
        if !(1..=THREADS_MAX).contains(&self.threads) {
            return bad(format!("--threads must be between 1 and {THREADS_MAX}"));
        }
        let publish_interval = match self.rate {
            None => None,
            Some(rate) if rate.is_finite() && rate > 0.0 => {
                Some(Duration::from_secs_f64(self.pipeline as f64 / rate))
            }
            Some(rate) => return bad(format!("--rate must be a positive number, got {rate}")),
        };
        let timeout = match Duration::try_from_secs_f64(self.timeout) {
            Ok(t) if !t.is_zero() => t,
            _ => {
                return bad(format!(
                    "--timeout must be a positive number of seconds, got {}",
                    self.timeout
                ))
            }
        };
        let port = self.port.unwrap_or(match self.target {
            Target::Usld => 6380,
            Target::Redis => 6379,
        });
        let address = format!("{}:{port}", self.host);
        let socket = std::net::ToSocketAddrs::to_socket_addrs(&(self.host.as_str(), port))
            .ok()
            .and_then(|mut addresses| addresses.next())
            .ok_or_else(|| BenchError::Unreachable {
                address: address.clone(),
                reason: "the host name resolves to no address".into(),
            })?;
        let mut tests = Vec::new();
        for test in &self.tests {
            match test {
                TestName::All => tests.extend(ALL_TESTS),
                test => tests.push(*test),
            }
        }
        Ok(Settings {
            address,
            socket,
            password: self.password.clone().filter(|p| !p.is_empty()),
            clients: self.clients,
            ops: self.ops,
            pipeline: self.pipeline,
            keyspace: self.keyspace,
            value_bytes: self.value_size,
            seed: self.seed,
            tests,
            target: self.target,
            threads: self.threads.min(self.clients),
            publish_interval,
            timeout,
            json: self.json,
        })
    }
}
