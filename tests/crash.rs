//! The crash test: clients write continuously, over real sockets, to `usld --db --shards 2`,
//! recording every acknowledgement; the server is killed with SIGKILL in mid-stream; after a
//! restart every acknowledged write must be there, for every strategy, and for CREATE, DEL and
//! replica merges too. Several runs, each killing at a different moment.
//!
//! Each run prints its seed (which decides when the kill comes, and whether the logs are rewritten
//! during the stream: with a small `--db-rewrite-min-bytes`, rewrites run while writes go on and
//! the kill may land in one); `USSL_SEED=<seed>` replays one.
//! The strategies are listed once, in [`WRITERS`]; crdt-text writers SPLICE a marker into a
//! text field, pipelined, so their edits go through the server's batched yrs transactions.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Client, Db};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Runs per test, each with a fresh database.
const RUNS: usize = 3;
/// Acknowledgements every writer must have before the kill may come.
const ACKS_BEFORE_KILL: usize = 150;
/// Documents each writer spreads its writes over (on both shards).
const DOCS: usize = 4;
/// Commands a pipelining writer sends before reading their replies.
const PIPELINE: usize = 16;

/// A kind of write, its documents set up before the writers start.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Lww,
    Map,
    Counter,
    Set,
    Merge,
    Life,
    Text,
}

/// The writers of a run: a kind, and whether it pipelines.
const WRITERS: [(Kind, bool); 9] = [
    (Kind::Lww, false),
    (Kind::Lww, true),
    (Kind::Map, false),
    (Kind::Counter, false),
    (Kind::Counter, true),
    (Kind::Set, true),
    (Kind::Merge, false),
    (Kind::Life, false),
    (Kind::Text, true),
];

fn doc(kind: Kind, k: usize) -> String {
    format!("crash:{kind:?}:{k}")
}

/// The `n`th command of writer `w` of `kind`.
fn command(kind: Kind, w: usize, n: usize) -> Vec<String> {
    let id = doc(kind, n % DOCS);
    let field = format!("w{w}");
    let strings = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect();
    match kind {
        Kind::Lww | Kind::Map => strings(&["SET", &id, &field, &n.to_string()]),
        Kind::Counter => strings(&["INC", &id, &field, "1"]),
        Kind::Set => strings(&["PUSH", &id, "items", &format!("{field}-{n}")]),
        Kind::Merge => {
            let update = json!({"strategy": "crdt-counter", "counters": [
                {"path": field, "replica": 1000 + w, "inc": n + 1, "dec": 0}]});
            strings(&["MERGE", &id, &update.to_string()])
        }
        Kind::Text => strings(&["SPLICE", &id, "content", "0", "0", &text_marker(w, n)]),
        Kind::Life => match life(n) {
            Life::Create(i) => strings(&["CREATE", &life_id(w, i)]),
            Life::Delete(i) => strings(&["DEL", &life_id(w, i)]),
        },
    }
}

/// What the `n`th command of a `Life` writer does: even ones create document `n / 2`, odd ones
/// delete the document created before the last one (so one stays, one goes, at any time).
enum Life {
    Create(usize),
    Delete(usize),
}

/// The text writer `w`'s `n`th SPLICE inserts (at the start of the field).
fn text_marker(w: usize, n: usize) -> String {
    format!("[w{w}:{n}]")
}

fn life(n: usize) -> Life {
    if n % 2 == 0 {
        Life::Create(n / 2)
    } else {
        Life::Delete((n / 2).saturating_sub(1))
    }
}

fn life_id(w: usize, i: usize) -> String {
    format!("crash:life:{w}:{i}")
}

/// Reads one reply line: `Some(true)` for an acknowledgement, `None` once the server is gone.
fn read_ack(reader: &mut BufReader<TcpStream>, sent: &[String]) -> Option<bool> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    if !line.ends_with('\n') {
        return None;
    }
    match line.as_bytes().first() {
        Some(b'+' | b':') => Some(true),
        Some(b'-') => panic!("{sent:?} was refused: {line}"),
        _ => panic!("{sent:?}: unexpected reply {line:?}"),
    }
}

/// One writer: sends commands until the server dies, counting the acknowledged ones (the
/// first `acked` commands, in order).
fn write_until_killed(port: u16, w: usize, kind: Kind, pipeline: bool, acked: &Mutex<usize>) {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let depth = if pipeline { PIPELINE } else { 1 };
    let mut n = 0;
    loop {
        let commands: Vec<Vec<String>> = (n..n + depth).map(|i| command(kind, w, i)).collect();
        let mut bytes = Vec::new();
        for args in &commands {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            bytes.extend(common::encode(&args));
        }
        if writer.write_all(&bytes).is_err() {
            return;
        }
        for args in &commands {
            if read_ack(&mut reader, args).is_none() {
                return;
            }
            n += 1;
            *acked.lock().expect("lock") = n;
        }
    }
}

/// Checks that the first `acked` commands of writer `w` are all in the restarted server.
fn check(c: &mut Client, kind: Kind, w: usize, acked: usize) {
    let field = format!("w{w}");
    match kind {
        Kind::Lww | Kind::Map | Kind::Counter | Kind::Merge => {
            for k in 0..DOCS {
                // The commands of this writer on document k, acknowledged: n = k, k + DOCS, ...
                let on_doc = (0..acked).filter(|n| n % DOCS == k);
                let (Some(last), count) = (on_doc.clone().next_back(), on_doc.count()) else {
                    continue;
                };
                let shown = c.cmd(&["GET", &doc(kind, k), "PATH", &field]).json();
                let at_least = match kind {
                    Kind::Lww | Kind::Map => last,
                    Kind::Counter => count,
                    _ => last + 1,
                };
                let shown_n = shown
                    .as_u64()
                    .unwrap_or_else(|| panic!("{kind:?} {k} {field}: {shown}"));
                assert!(
                    shown_n >= at_least as u64,
                    "{kind:?} document {k}, writer {w}: shows {shown_n}, acknowledged {at_least}"
                );
            }
        }
        Kind::Set => {
            let mut items: HashMap<usize, Vec<Value>> = HashMap::new();
            for k in 0..DOCS {
                let shown = c.cmd(&["GET", &doc(kind, k), "PATH", "items"]).json();
                items.insert(k, shown.as_array().cloned().unwrap_or_default());
            }
            for n in 0..acked {
                let value = json!(format!("{field}-{n}"));
                assert!(
                    items[&(n % DOCS)].contains(&value),
                    "set add {value} acknowledged but lost"
                );
            }
        }
        Kind::Text => {
            let texts: Vec<String> = (0..DOCS)
                .map(|k| {
                    let shown = c.cmd(&["GET", &doc(kind, k), "PATH", "content"]).json();
                    shown.as_str().unwrap_or_default().to_owned()
                })
                .collect();
            for n in 0..acked {
                let marker = text_marker(w, n);
                assert!(
                    texts[n % DOCS].contains(&marker),
                    "text insert {marker} acknowledged but lost"
                );
            }
        }
        Kind::Life => {
            let mut live = std::collections::BTreeSet::new();
            let mut deleted = std::collections::BTreeSet::new();
            for n in 0..acked {
                match life(n) {
                    Life::Create(i) => {
                        live.insert(i);
                    }
                    Life::Delete(i) => {
                        if live.remove(&i) {
                            deleted.insert(i);
                        }
                    }
                }
            }
            // The first unacknowledged command may have been applied too.
            if let Life::Delete(i) = life(acked) {
                live.remove(&i);
            }
            for i in live {
                let id = life_id(w, i);
                let reply = c.cmd(&["GET", &id]);
                assert_ne!(
                    reply,
                    common::bulk("null"),
                    "{id}: created, acknowledged, lost"
                );
            }
            for i in deleted {
                let id = life_id(w, i);
                let reply = c.cmd(&["GET", &id]);
                assert_eq!(
                    reply,
                    common::bulk("null"),
                    "{id}: deleted, acknowledged, back"
                );
            }
        }
    }
}

fn run_once(seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let db = Db::new();
    // An odd seed rewrites the logs during the stream.
    let rewrite_flags: &[&str] = if seed % 2 == 1 {
        &["--db-rewrite-min-bytes", "65536"]
    } else {
        &[]
    };
    let mut server = db.start(2, rewrite_flags);
    let mut setup = server.connect();
    for (kind, strategy) in [
        (Kind::Map, "crdt-map"),
        (Kind::Counter, "crdt-counter"),
        (Kind::Set, "crdt-set"),
        (Kind::Text, "crdt-text"),
    ] {
        for k in 0..DOCS {
            assert_eq!(
                setup.cmd(&["CREATE", &doc(kind, k), "STRATEGY", strategy]),
                common::ok()
            );
        }
    }
    let acks: Vec<Arc<Mutex<usize>>> = WRITERS.iter().map(|_| Arc::default()).collect();
    let port = server.port;
    let threads: Vec<_> = WRITERS
        .iter()
        .enumerate()
        .map(|(w, &(kind, pipeline))| {
            let acked = Arc::clone(&acks[w]);
            std::thread::spawn(move || write_until_killed(port, w, kind, pipeline, &acked))
        })
        .collect();
    let started = Instant::now();
    while acks
        .iter()
        .any(|a| *a.lock().expect("lock") < ACKS_BEFORE_KILL)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "writers made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(rng.gen_range(0..200)));
    let info = setup.cmd(&["INFO", "persistence"]).text();
    let rewrites_done = info
        .lines()
        .find(|line| line.starts_with("db_rewrites:"))
        .map(str::to_owned);
    server.kill();
    for thread in threads {
        thread.join().expect("writer");
    }
    let acked: Vec<usize> = acks.iter().map(|a| *a.lock().expect("lock")).collect();
    println!(
        "seed {seed} ({rewrite_flags:?}, {rewrites_done:?}): killed after {acked:?} \
         acknowledgements"
    );
    let server = db.start(2, &[]);
    let mut c = server.connect();
    for (w, &(kind, _)) in WRITERS.iter().enumerate() {
        check(&mut c, kind, w, acked[w]);
    }
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    if let Ok(seed) = std::env::var("USSL_SEED") {
        run_once(seed.parse().expect("USSL_SEED is a number"));
        return;
    }
    for run in 0..RUNS {
        // The first run without rewrites, the others with them.
        let seed: u64 = (rand::random::<u64>() & !1) | u64::from(run > 0);
        println!("run {run}: seed {seed} (replay with USSL_SEED={seed})");
        run_once(seed);
    }
}
