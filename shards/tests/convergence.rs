//! Seeded randomized convergence scenarios for every JSON strategy, in the style of yrs's
//! `run_scenario`: random live writes on several replicas (each a [`Store`], as a shard or a
//! client library would hold it), exchanged as sync updates delivered late, out of order, twice,
//! or not at all while a link is partitioned; then the partitions heal and every replica syncs
//! with every other. All replicas must then read the same document, and no increment or set add
//! may be lost.
//!
//! Every scenario prints its seed; `USSL_SEED=<seed> cargo test -p ussl-shards --test
//! convergence` replays exactly that seed (and only it).

mod seeded;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Number, Value};
use ussl_shards::{Edit, Path, Store, Strategy};

/// How many seeds each strategy runs when no seed is given.
const SCENARIOS: u64 = 150;
/// Live writes per scenario, over all replicas.
const WRITES: usize = 120;
const DOC: &str = "doc";

/// A message in flight: an update from one replica to another, and the sender's version.
struct Message {
    from: usize,
    to: usize,
    update: Vec<u8>,
    version: u64,
}

/// The replicas of one scenario and what they know of each other.
struct Net {
    replicas: Vec<Store>,
    /// `seen[to][from]`: the version of `from` that `to` has merged everything up to.
    seen: Vec<Vec<u64>>,
    in_flight: Vec<Message>,
    /// Links cut by a partition: `cut[a][b]` drops messages from a to b.
    cut: Vec<Vec<bool>>,
    now_ms: u64,
}

impl Net {
    fn new(count: usize, strategy: Strategy, rng: &mut StdRng) -> Net {
        let replicas = (0..count)
            .map(|i| {
                let mut store = Store::with_replica_seed(rng.gen::<u64>() ^ i as u64);
                store.create(DOC, strategy, None, 0).expect("create");
                store
            })
            .collect();
        Net {
            replicas,
            seen: vec![vec![0; count]; count],
            in_flight: Vec::new(),
            cut: vec![vec![false; count]; count],
            now_ms: 1_000,
        }
    }

    /// Queues what `to` is missing of `from`, as `SYNC id version` would answer it.
    fn send(&mut self, from: usize, to: usize) {
        let since = self.seen[to][from];
        let update = self.replicas[from]
            .document(DOC, self.now_ms)
            .expect("document exists")
            .json_since(since);
        self.in_flight.push(Message {
            from,
            to,
            version: update.version,
            update: update.to_bytes(),
        });
    }

    /// Delivers message `index` (kept in flight when `duplicate`), unless its link is cut.
    fn deliver(&mut self, index: usize, duplicate: bool) {
        let message = if duplicate {
            let m = &self.in_flight[index];
            Message {
                from: m.from,
                to: m.to,
                update: m.update.clone(),
                version: m.version,
            }
        } else {
            self.in_flight.swap_remove(index)
        };
        if self.cut[message.from][message.to] {
            return;
        }
        self.replicas[message.to]
            .merge(DOC, &message.update, self.now_ms)
            .expect("a replica's own update merges");
        let seen = &mut self.seen[message.to][message.from];
        *seen = (*seen).max(message.version);
    }

    /// Heals every partition and syncs all pairs: one round gives every replica everything
    /// (each replica sends after it has received from those before it), and a second round
    /// must then change nothing, or the merge is not idempotent.
    fn settle(&mut self, seed: u64) {
        self.cut.iter_mut().flatten().for_each(|c| *c = false);
        self.in_flight.clear();
        let count = self.replicas.len();
        for round in 0..2 {
            for from in 0..count {
                for to in (0..count).filter(|&to| to != from) {
                    let update = self.replicas[from]
                        .document(DOC, self.now_ms)
                        .expect("document exists")
                        .json_since(0);
                    let change = self.replicas[to]
                        .merge(DOC, &update.to_bytes(), self.now_ms)
                        .expect("a replica's own update merges");
                    assert!(
                        round == 0 || change.is_none(),
                        "seed {seed}: a settled replica {to} still changed on {from}'s state"
                    );
                }
            }
        }
    }

    fn read(&mut self, replica: usize) -> Value {
        self.replicas[replica]
            .get(DOC, None, self.now_ms)
            .expect("document exists")
            .into_owned()
    }
}

/// What must survive: counter totals, and set values added and never removed by anyone.
#[derive(Default)]
struct Expected {
    totals: BTreeMap<String, f64>,
    kept: BTreeMap<String, Vec<Value>>,
}

fn path(text: &str) -> Path {
    Path::parse(text).expect("valid path")
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn small_value(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..5) {
        0 => json!(rng.gen_range(0..5)),
        1 => json!(format!("s{}", rng.gen_range(0..5))),
        2 => json!({"x": rng.gen_range(0..3), "y": {"z": rng.gen_range(0..3)}}),
        3 => json!([rng.gen_range(0..3), "a"]),
        _ => json!(null),
    }
}

/// One random live write on a tree document (`lww` or `crdt-map`).
fn tree_write(rng: &mut StdRng) -> (Path, Edit) {
    let at = path(pick(
        rng,
        &["a", "a.x", "a.y", "a.y.z", "b", "c.d", "list", "n"],
    ));
    let edit = match rng.gen_range(0..10) {
        0..=4 => Edit::Set(small_value(rng)),
        5 => Edit::Delete,
        6 => Edit::Push(small_value(rng)),
        7 => Edit::Pull(small_value(rng)),
        _ => Edit::Increment(Number::from(rng.gen_range(-3..4))),
    };
    (at, edit)
}

/// One random live write on a `crdt-counter` document, with what it adds.
fn counter_write(rng: &mut StdRng, expected: &mut Expected) -> (Path, Edit) {
    let at = pick(rng, &["views", "stock", "stats.likes", "stats.shares"]);
    // Halves keep every float sum exact, so the expected totals can be compared exactly.
    let delta = f64::from(rng.gen_range(-8..12)) / 2.0;
    *expected.totals.entry(at.to_owned()).or_default() += delta;
    let number = if delta.fract() == 0.0 {
        Number::from(delta as i64)
    } else {
        Number::from_f64(delta).expect("finite")
    };
    (path(at), Edit::Increment(number))
}

/// One random live write on a `crdt-set` document. `kept` values are only ever added; the
/// others are added, removed and edited.
fn set_write(
    rng: &mut StdRng,
    replica: usize,
    step: usize,
    expected: &mut Expected,
) -> (Path, Edit) {
    match rng.gen_range(0..10) {
        0..=2 => {
            let value = json!(format!("keep-{replica}-{step}"));
            expected
                .kept
                .entry("kept".into())
                .or_default()
                .push(value.clone());
            (path("kept"), Edit::Push(value))
        }
        3..=4 => (path("tmp"), Edit::Push(json!(rng.gen_range(0..6)))),
        5..=6 => (path("tmp"), Edit::Pull(json!(rng.gen_range(0..6)))),
        7 => (path("edits"), Edit::Push(json!({"n": rng.gen_range(0..4)}))),
        8 => {
            let at = format!("edits.{}.done", rng.gen_range(0..3));
            (path(&at), Edit::Set(json!(rng.gen_bool(0.5))))
        }
        _ => (path(pick(rng, &["tmp", "edits"])), Edit::Delete),
    }
}

fn run_scenario(seed: u64, strategy: Strategy) {
    let mut rng = StdRng::seed_from_u64(seed);
    let count = rng.gen_range(3..=5);
    let mut net = Net::new(count, strategy, &mut rng);
    let mut expected = Expected::default();
    for step in 0..WRITES {
        net.now_ms += rng.gen_range(0..3);
        let replica = rng.gen_range(0..count);
        let (at, edit) = match strategy {
            Strategy::CrdtCounter => counter_write(&mut rng, &mut expected),
            Strategy::CrdtSet => set_write(&mut rng, replica, step, &mut expected),
            _ => tree_write(&mut rng),
        };
        // Replicas' clocks are skewed and jitter, so their stamps interleave.
        let skew = (replica as u64) * 3 + rng.gen_range(0..8);
        let result = net.replicas[replica].edit(DOC, at.clone(), edit.clone(), net.now_ms + skew);
        // A write the replica refuses (a type clash, an index past the end) changes nothing
        // there; counters refuse nothing.
        if let (Err(error), Strategy::CrdtCounter) = (&result, strategy) {
            panic!("seed {seed}: counter write {at} {edit:?} refused: {error}");
        }
        match rng.gen_range(0..10) {
            0..=3 => {
                let from = rng.gen_range(0..count);
                let to = (from + rng.gen_range(1..count)) % count;
                net.send(from, to);
            }
            4..=6 if !net.in_flight.is_empty() => {
                let index = rng.gen_range(0..net.in_flight.len());
                net.deliver(index, rng.gen_bool(0.3));
            }
            7 => {
                let a = rng.gen_range(0..count);
                let b = rng.gen_range(0..count);
                net.cut[a][b] = !net.cut[a][b];
            }
            _ => {}
        }
    }
    net.settle(seed);
    let first = net.read(0);
    let text = ussl_shards::json_text::to_text(&first);
    for replica in 1..count {
        let other = net.read(replica);
        assert_eq!(
            other, first,
            "seed {seed}: replica {replica} differs from replica 0"
        );
        // `lww` members show in the order each replica first saw them; every other strategy
        // reads byte for byte the same everywhere.
        if strategy != Strategy::Lww {
            let other_text = ussl_shards::json_text::to_text(&other);
            assert_eq!(
                other_text, text,
                "seed {seed}: replica {replica} reads differently"
            );
        }
    }
    for (at, total) in &expected.totals {
        let shown = ussl_shards::value::get(&first, &path(at)).and_then(Value::as_f64);
        assert_eq!(
            shown,
            Some(*total),
            "seed {seed}: counter {at} lost an increment: {first}"
        );
    }
    for (at, values) in &expected.kept {
        let shown = ussl_shards::value::get(&first, &path(at))
            .cloned()
            .unwrap_or(Value::Null);
        for value in values {
            let present = shown.as_array().is_some_and(|items| items.contains(value));
            assert!(
                present,
                "seed {seed}: set add {value} lost from {at}: {shown}"
            );
        }
    }
}

fn run(strategy: Strategy) {
    seeded::run(strategy.name(), SCENARIOS, |seed| {
        run_scenario(seed, strategy)
    });
}

#[test]
fn lww_replicas_converge() {
    run(Strategy::Lww);
}

#[test]
fn crdt_map_replicas_converge() {
    run(Strategy::CrdtMap);
}

#[test]
fn crdt_counter_replicas_converge_and_count_every_increment() {
    run(Strategy::CrdtCounter);
}

#[test]
fn crdt_set_replicas_converge_and_keep_every_add() {
    run(Strategy::CrdtSet);
}
