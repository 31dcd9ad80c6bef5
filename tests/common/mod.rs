//! Test harness: starts a real `usld` binary on a free loopback port and talks RESP to it over a
//! real TCP socket. Every integration test goes through this; nothing is mocked.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for the server to accept connections or for a reply before failing.
/// A generous bound: it only turns a hang into a failure, it never decides a result.
const WAIT: Duration = Duration::from_secs(20);

/// How many times [`Server::start`] tries a fresh port.
const START_ATTEMPTS: usize = 5;

/// How many connections [`Server::connect_each_shard`] opens at most.
const CONNECT_EACH_SHARD_ATTEMPTS: usize = 256;

/// A running `usld`, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

/// Ports handed out by [`free_port`] lie in `PORTS_FIRST..PORTS_FIRST + PORTS_SPAN`, below the
/// kernel's ephemeral range (32768 and up), so no client socket of any test can hold one.
const PORTS_FIRST: u16 = 20_000;
const PORTS_SPAN: u16 = 12_000;

/// A port nobody listens on right now, different from every other port this test process has
/// handed out. Tests run in parallel threads and servers bind with `SO_REUSEPORT`, so two
/// servers started at the same instant on one port would share it; counting through a range
/// (from a start that differs per process) rules that out within a run.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(997) % u32::from(PORTS_SPAN),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..PORTS_SPAN {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % u32::from(PORTS_SPAN);
        let port = PORTS_FIRST + u16::try_from(offset).expect("offset within the span");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!(
        "no free port in {PORTS_FIRST}..{}",
        PORTS_FIRST + PORTS_SPAN
    );
}

/// The `usld` command the tests run: on loopback port `port`, TCP only, logging warnings.
pub fn usld_command(port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_usld"));
    command
        .args([
            "--bind",
            "127.0.0.1",
            "--tcp-port",
            &port.to_string(),
            "--no-ws",
        ])
        .args(["--log-level", "warn"]);
    command
}

impl Server {
    /// Starts `usld` with the given extra flags, on loopback, and waits until it accepts. The
    /// port is picked free just before, so another process may take it in between (tests run in
    /// parallel); a server that exits at start-up is therefore started again on another port, a
    /// bounded number of times.
    pub fn start(extra: &[&str]) -> Server {
        Server::start_in(None, &[], extra)
    }

    /// Starts `usld` as [`Server::start`] does, run from directory `dir` (when given) with the
    /// environment variables `env` set.
    pub fn start_in(dir: Option<&std::path::Path>, env: &[(&str, &str)], extra: &[&str]) -> Server {
        Server::start_with(|port| Server::try_start_in(port, dir, env, extra))
    }

    /// Starts `usld` as [`Server::start`] does, under `taskset -c cpus`: a process its operator
    /// allowed only some of the machine's CPUs.
    pub fn start_on_cpus(cpus: &str, extra: &[&str]) -> Server {
        Server::start_under("taskset", &["-c", cpus], extra)
    }

    /// Starts `usld` as [`Server::start`] does, run by `tool` with `tool_args` (which exec it, so
    /// [`Server::pid`] is usld's), keeping what it logs for [`Server::log`].
    pub fn start_under(tool: &str, tool_args: &[&str], extra: &[&str]) -> Server {
        Server::start_with(|port| {
            let usld = usld_command(port);
            let mut command = Command::new(require_tool(tool));
            command
                .args(tool_args)
                .arg(usld.get_program())
                .args(usld.get_args())
                .args(extra);
            Server::spawn_and_wait(command, port, Stdio::piped())
        })
    }

    /// Starts `usld` as [`Server::start`] does, keeping what it logs for [`Server::log`].
    pub fn start_logging(extra: &[&str]) -> Server {
        Server::start_with(|port| {
            let mut command = usld_command(port);
            command.args(extra);
            Server::spawn_and_wait(command, port, Stdio::piped())
        })
    }

    /// What a server started with [`Server::start_logging`] logged, read once it has exited.
    pub fn log(&mut self) -> String {
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut log).expect("read the log");
        }
        log
    }

    /// Starts `usld --tcp-port 0` (the kernel picks the port) with the given flags and waits
    /// until it answers `PING` on the port its listening sockets hold.
    pub fn start_on_any_port(extra: &[&str]) -> Server {
        let child = usld_command(0)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn usld");
        let mut server = Server { child, port: 0 };
        let start = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().expect("try_wait") {
                panic!("usld exited at start-up: {status}");
            }
            if let Some(&port) = listening_ports(server.pid()).first() {
                if answers_ping(port) {
                    server.port = port;
                    return server;
                }
            }
            assert!(start.elapsed() < WAIT, "usld did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Calls `try_start` with a free port until a server starts, a bounded number of times.
    fn start_with(try_start: impl Fn(u16) -> Result<Server, String>) -> Server {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match try_start(free_port()) {
                Ok(server) => return server,
                Err(e) => failures.push(e),
            }
        }
        panic!("usld did not start: {failures:?}");
    }

    /// A new client connection.
    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// One connection on each shard of a server started with `shards` shards (the kernel
    /// spreads connections; extra ones are opened until every shard has one, a bounded number
    /// of times).
    pub fn connect_each_shard(&self, shards: usize) -> Vec<Client> {
        let mut found: Vec<Option<Client>> = (0..shards).map(|_| None).collect();
        for _ in 0..CONNECT_EACH_SHARD_ATTEMPTS {
            let mut client = self.connect();
            let shard = client.shard();
            if found[shard].is_none() {
                found[shard] = Some(client);
            }
            if found.iter().all(Option::is_some) {
                return found.into_iter().flatten().collect();
            }
        }
        panic!("no connection landed on some shard after {CONNECT_EACH_SHARD_ATTEMPTS} attempts");
    }

    /// The process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit and returns its status code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(start.elapsed() < WAIT, "usld did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A RESP2 reply as read off the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    /// The text of a bulk reply; panics with the reply otherwise.
    pub fn text(&self) -> String {
        match self {
            Resp::Bulk(Some(b)) => String::from_utf8(b.clone()).expect("utf-8 bulk"),
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }

    /// The bulk texts of an array reply.
    pub fn texts(&self) -> Vec<String> {
        match self {
            Resp::Array(Some(items)) => items.iter().map(Resp::text).collect(),
            other => panic!("expected an array, got {other:?}"),
        }
    }

    /// A bulk reply parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text()).expect("bulk holds JSON")
    }

    /// Whether this is an error reply starting with `prefix`.
    pub fn is_error(&self, prefix: &str) -> bool {
        matches!(self, Resp::Error(e) if e.starts_with(prefix))
    }
}

/// A blocking RESP client over a real socket.
pub struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects to `port` on loopback.
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Sends a command as a RESP multibulk and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Resp {
        self.send(&encode(args));
        self.read()
    }

    /// Sends an inline command line (CRLF added) and reads its reply.
    pub fn inline(&mut self, line: &str) -> Resp {
        self.send(format!("{line}\r\n").as_bytes());
        self.read()
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Resp {
        read_resp(&mut self.reader)
    }

    /// Reads exactly `n` bytes (for byte-for-byte checks).
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.reader.read_exact(&mut buf).expect("read bytes");
        buf
    }

    /// Subscribes a connection that holds no subscription yet to `patterns` (`SUB`) and checks
    /// each confirmation: `psubscribe`, the pattern, the running count.
    pub fn subscribe(&mut self, patterns: &[&str]) {
        let mut args = vec!["SUB"];
        args.extend_from_slice(patterns);
        self.send(&encode(&args));
        for (i, pattern) in patterns.iter().enumerate() {
            let count = i64::try_from(i + 1).expect("count");
            let expected = Resp::Array(Some(vec![bulk("psubscribe"), bulk(pattern), int(count)]));
            assert_eq!(self.read(), expected);
        }
    }

    /// Reads one change event (a `pmessage` push): its pattern, document id and JSON delta.
    pub fn event(&mut self) -> (String, String, serde_json::Value) {
        let frame = self.read();
        let parts = frame.texts();
        assert!(
            parts.len() == 4 && parts[0] == "pmessage",
            "expected a pmessage, got {frame:?}"
        );
        let delta = serde_json::from_str(&parts[3])
            .unwrap_or_else(|e| panic!("event payload is not JSON ({e}): {}", parts[3]));
        (parts[1].clone(), parts[2].clone(), delta)
    }

    /// The shard this connection runs on, from `CLIENT INFO`.
    pub fn shard(&mut self) -> usize {
        let info = self.cmd(&["CLIENT", "INFO"]).text();
        info.split_whitespace()
            .find_map(|field| field.strip_prefix("shard="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no shard= in CLIENT INFO: {info}"))
    }

    /// True when the server has closed the connection (reads EOF or a reset).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

/// Encodes a command as a RESP multibulk.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    let n = reader.read_line(&mut line).expect("read reply line");
    assert!(n > 0, "connection closed while waiting for a reply");
    line.trim_end_matches(['\r', '\n']).to_string()
}

/// Reads one reply (RESP2, plus the RESP3 null, map and push types).
pub fn read_resp(reader: &mut impl BufRead) -> Resp {
    let line = read_line(reader);
    let (kind, rest) = line.split_at(1);
    match kind {
        "+" => Resp::Simple(rest.to_string()),
        "-" => Resp::Error(rest.to_string()),
        ":" => Resp::Int(rest.parse().expect("integer reply")),
        "$" => {
            let len: i64 = rest.parse().expect("bulk length");
            if len < 0 {
                return Resp::Bulk(None);
            }
            let mut buf = vec![0u8; usize::try_from(len).expect("length") + 2];
            reader.read_exact(&mut buf).expect("bulk body");
            buf.truncate(buf.len() - 2);
            Resp::Bulk(Some(buf))
        }
        // RESP3 (after `HELLO 3`): the null type, and maps read as flat arrays of pairs.
        "_" => Resp::Bulk(None),
        "%" => {
            let pairs: usize = rest.parse().expect("map length");
            Resp::Array(Some((0..pairs * 2).map(|_| read_resp(reader)).collect()))
        }
        // RESP3 pushes (subscription confirmations and events) read as arrays.
        "*" | ">" => {
            let len: i64 = rest.parse().expect("array length");
            if len < 0 {
                return Resp::Array(None);
            }
            Resp::Array(Some((0..len).map(|_| read_resp(reader)).collect()))
        }
        _ => panic!("not a RESP reply: {line:?}"),
    }
}

/// The `+OK` reply.
pub fn ok() -> Resp {
    Resp::Simple("OK".into())
}

/// How many connection attempts [`Server::connect_admitted`] makes before failing.
const ADMIT_ATTEMPTS: usize = 400;

impl Server {
    /// A connection the server has admitted (its `PING` answered `+PONG`). Under `--max-clients`
    /// a slot is released only once the server notices an earlier close, so a refused attempt is
    /// retried, a bounded number of times.
    pub fn connect_admitted(&self) -> Client {
        for _ in 0..ADMIT_ATTEMPTS {
            let mut client = self.connect();
            match client.cmd(&["PING"]) {
                Resp::Simple(pong) if pong == "PONG" => return client,
                Resp::Error(e) if e.contains("max number of clients") => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => panic!("unexpected reply to PING: {other:?}"),
            }
        }
        panic!("no connection admitted after {ADMIT_ATTEMPTS} attempts");
    }

    /// Sends SIGTERM to the server process.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Asserts the server still answers a new client: `PING` and a read of `id`, which must
    /// hold the JSON text `expected`.
    pub fn assert_serving(&self, id: &str, expected: &str) {
        let mut client = self.connect();
        assert_eq!(client.cmd(&["PING"]), Resp::Simple("PONG".into()));
        assert_eq!(client.cmd(&["GET", id]), bulk(expected));
    }
}

/// A bulk reply holding `text`.
pub fn bulk(text: &str) -> Resp {
    Resp::Bulk(Some(text.as_bytes().to_vec()))
}

/// An integer reply.
pub fn int(n: i64) -> Resp {
    Resp::Int(n)
}

/// The path of an external program a test drives; fails with how to install it when missing.
pub fn require_tool(name: &str) -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{name}` is not installed: run scripts/install-test-deps.sh (or `make test`)")
    })
}

/// Fails with how to install redis-py when `python3` cannot import it.
pub fn require_redis_py() {
    let python = require_tool("python3");
    let status = Command::new(python)
        .args(["-c", "import redis"])
        .stderr(Stdio::null())
        .status()
        .expect("run python3");
    assert!(
        status.success(),
        "redis-py is not installed: run scripts/install-test-deps.sh (or `pip install redis`)"
    );
}

/// The path of a script in `tests/py/`.
pub fn py_script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// Runs a program to completion, feeding it `stdin`, and returns its output. A program still
/// running after the harness's wait bound is killed and the test fails, so a hang is a failure.
pub fn run_bounded(command: &mut Command, stdin: &[u8]) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn program");
    let pid = child.id();
    let mut input = child.stdin.take().expect("stdin pipe");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(WAIT) {
        Ok(output) => output.expect("program output"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{command:?} did not finish within {WAIT:?}");
        }
    }
}

/// A program's stdout as text.
pub fn stdout_text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Client {
    /// Sends `bytes` in one write from another thread, so the caller can read replies while a
    /// large pipeline is still going out (neither side's socket buffer can then fill and stall
    /// both). Join the handle to learn that the write finished.
    pub fn send_concurrently(&self, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
        let mut writer = self.writer.try_clone().expect("clone socket");
        std::thread::spawn(move || writer.write_all(&bytes).expect("write pipeline"))
    }
}

impl Server {
    /// Starts `usld` on a given port (to restart on the port of a server that stopped) and waits
    /// until it answers `PING`; `Err` with its exit status when the process exits first.
    pub fn try_start_on(port: u16, extra: &[&str]) -> Result<Server, String> {
        Server::try_start_in(port, None, &[], extra)
    }

    /// [`Server::try_start_on`], run from directory `dir` (when given) with `env` set.
    fn try_start_in(
        port: u16,
        dir: Option<&std::path::Path>,
        env: &[(&str, &str)],
        extra: &[&str],
    ) -> Result<Server, String> {
        let mut command = usld_command(port);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command.envs(env.iter().copied()).args(extra);
        Server::spawn_and_wait(command, port, Stdio::inherit())
    }

    /// Runs `command`, a server on `port` logging to `stderr`, and waits until it answers
    /// `PING`; `Err` with its exit status when the process exits first.
    fn spawn_and_wait(mut command: Command, port: u16, stderr: Stdio) -> Result<Server, String> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn usld");
        let mut server = Server { child, port };
        let start = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().expect("try_wait") {
                return Err(format!("usld exited at start-up: {status}"));
            }
            if answers_ping(port) {
                return Ok(server);
            }
            assert!(start.elapsed() < WAIT, "usld did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The local port of each TCP socket process `pid` listens on (one per shard), read from
/// `/proc`: the sockets among its descriptors whose state in `/proc/net/tcp` is `LISTEN`.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .filter_map(|target| {
                    let target = target.to_str()?;
                    Some(
                        target
                            .strip_prefix("socket:[")?
                            .strip_suffix(']')?
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(&"0A"), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if inodes.iter().any(|own| own == inode) {
                let port = local.rsplit(':').next().unwrap_or_default();
                ports.push(u16::from_str_radix(port, 16).expect("a hex port"));
            }
        }
    }
    ports
}

/// Whether a server on `port` answers `PING` now. A connection that fails in any way (refused,
/// reset, closed) means "not serving yet": the question is asked again until the start-up bound.
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut reply = [0u8; 7];
    stream.set_read_timeout(Some(WAIT)).is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

impl Client {
    /// Wraps a connected socket.
    fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }
}

/// A running `redis-server` (Debian's), on a free loopback port, without persistence; killed when
/// dropped. For the tests that drive `ussl` and `usld bench` against Redis.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    /// Starts `redis-server` and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        let port = free_port();
        let child = Command::new(require_tool("redis-server"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn redis-server");
        let server = RedisServer { child, port };
        let start = Instant::now();
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                if Client::from_stream(stream).cmd(&["PING"]) == Resp::Simple("PONG".into()) {
                    return server;
                }
            }
            assert!(
                start.elapsed() < WAIT,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new client connection.
    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills a process that is still running when the harness's wait bound passes, so a test that
/// reads a child's output line by line fails instead of hanging. Disarmed when dropped.
pub struct Watchdog {
    disarm: Option<std::sync::mpsc::Sender<()>>,
}

impl Watchdog {
    /// Watches the process `pid`.
    pub fn new(pid: u32) -> Watchdog {
        let (disarm, disarmed) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(WAIT) {
                eprintln!("watchdog: process {pid} still running after {WAIT:?}; killing it");
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        });
        Watchdog {
            disarm: Some(disarm),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(disarm) = self.disarm.take() {
            let _ = disarm.send(());
        }
    }
}

/// Binary data as base64 text, as inline requests carry Yjs updates and state vectors.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of base64 text from an inline request's reply.
pub fn unbase64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 reply")
}

impl Server {
    /// Kills the server with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL usld");
        self.child.wait().expect("reap usld");
    }

    /// Stops the server with SIGTERM and waits for a clean exit (status 0).
    pub fn stop(&mut self) {
        self.terminate();
        assert_eq!(self.wait_exit(), Some(0), "usld did not stop cleanly");
    }
}

/// A database directory for `usld --db`, removed when dropped.
pub struct Db {
    dir: tempfile::TempDir,
}

impl Db {
    /// A fresh, empty directory.
    pub fn new() -> Db {
        Db {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The `--db` path: the manifest.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("data.db")
    }

    /// The path of shard `index`'s file.
    pub fn shard_file(&self, index: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("data.shard{index}.db"))
    }

    /// Starts `usld --db <this> --shards <shards>` with `extra` flags.
    pub fn start(&self, shards: usize, extra: &[&str]) -> Server {
        let db = self.path();
        let shards = shards.to_string();
        let mut args = vec![
            "--db",
            db.to_str().expect("utf-8 path"),
            "--shards",
            &shards,
        ];
        args.extend_from_slice(extra);
        Server::start(&args)
    }

    /// Runs `usld --db <this> --shards <shards>` expecting it to refuse to start: its exit
    /// status and what it printed on stderr.
    pub fn refused(&self, shards: usize, extra: &[&str]) -> (Option<i32>, String) {
        let db = self.path();
        let mut command = usld_command(free_port());
        command
            .args(["--db", db.to_str().expect("utf-8 path")])
            .args(["--shards", &shards.to_string()])
            .args(extra);
        let output = run_bounded(&mut command, b"");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// A read-only connection on shard `shard`'s file, as another process would open it; it waits
    /// out the moments the server's checkpointer holds the log.
    pub fn reader(&self, shard: usize) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.shard_file(shard),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the shard file read-only");
        conn.busy_timeout(WAIT).expect("busy timeout");
        conn
    }

    /// The newest committed version of document `id` in shard `shard`'s file, read by a separate
    /// SQLite connection as another process would: `None` when the file has no row for it.
    pub fn committed_version(&self, shard: usize, id: &str) -> Option<u64> {
        let conn = self.reader(shard);
        ussl_shards::storage::shard_file::committed_version(&conn, id).expect("query")
    }

    /// How many log records shard `shard`'s file holds for document `id` (`None`: for every
    /// document), of the given kinds (`ussl_shards::storage::shard_file` lists them; empty: all);
    /// each record of a batch row counts.
    pub fn rows(&self, shard: usize, id: Option<&str>, kinds: &[i64]) -> usize {
        self.log(shard)
            .iter()
            .filter(|record| id.is_none_or(|id| record.id == id))
            .filter(|record| kinds.is_empty() || kinds.contains(&record.kind))
            .count()
    }

    /// Every record of shard `shard`'s log, in order, batch rows expanded.
    pub fn log(&self, shard: usize) -> Vec<ussl_shards::storage::shard_file::LoggedRecord> {
        ussl_shards::storage::shard_file::read_log(&self.reader(shard)).expect("read the log")
    }
}
