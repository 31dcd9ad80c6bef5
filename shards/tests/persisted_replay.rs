//! Seeded randomized checks that a document rebuilt from its persisted form is the document that
//! was persisted, for every JSON strategy.
//!
//! A scenario makes random live writes on a server store and merges a peer replica's edits into
//! it, keeping what storage would keep: each change's incremental update ([`Document::update_for`])
//! with its version, and now and then a snapshot ([`Document::encode_state`]) that the updates up
//! to it fold into. The document is then rebuilt ([`Store::restore`]) from the snapshot and the
//! later updates, and must read the same (GET text, member order included), have the same
//! version, strategy and expiry, and answer `SYNC` from every version exactly as the original
//! does, which shows every stamp, counter entry, set tag and per-element version came back. A
//! write after the rebuild must win over everything before it (the clock came back too), and the
//! peer must merge into the rebuilt document exactly as into the original.
//!
//! Every scenario prints its seed; `USSL_SEED=<seed> cargo test -p ussl-shards --test
//! persisted_replay` replays exactly that seed.

mod seeded;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Number, Value};
use ussl_shards::persisted::Persisted;
use ussl_shards::text::{TextDoc, TextLimits};
use ussl_shards::{Change, Edit, Op, Path, Store, Strategy, SyncReply};

/// How many seeds each strategy runs when no seed is given.
const SCENARIOS: u64 = 50;
/// Steps (writes, merges, snapshots) per scenario.
const STEPS: usize = 150;
const DOC: &str = "doc";

/// What storage holds of the document: the last snapshot and the updates after it.
#[derive(Default)]
struct Stored {
    snapshot: Option<Vec<u8>>,
    updates: Vec<(u64, Vec<u8>)>,
}

impl Stored {
    /// Keeps what a change made, as the server's writer does.
    fn keep(&mut self, server: &mut Store, change: &Change, now_ms: u64) {
        if change.op == Op::Drop {
            *self = Stored::default();
            return;
        }
        let document = server
            .document(DOC, now_ms)
            .expect("changed document exists");
        if change.version == 1 {
            *self = Stored::default();
        }
        self.updates
            .push((change.version, document.update_for(change)));
    }

    /// Folds every update into a new snapshot of the document as it is now.
    fn fold(&mut self, server: &mut Store, now_ms: u64) {
        if let Some(document) = server.document(DOC, now_ms) {
            self.snapshot = Some(document.encode_state().expect("the state encodes"));
            self.updates.clear();
        }
    }
}

fn path(text: &str) -> Path {
    Path::parse(text).expect("valid path")
}

fn value(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..6) {
        0 => json!(rng.gen_range(-3..9)),
        1 => json!(format!("v{}", rng.gen_range(0..6))),
        2 => json!({"q": rng.gen_range(0..3), "p": {"z": rng.gen_range(0..3)}}),
        3 => json!([rng.gen_range(0..3), "a", {"k": 1}]),
        4 => json!(f64::from(rng.gen_range(-5..5)) / 4.0),
        _ => json!(null),
    }
}

fn number(rng: &mut StdRng) -> Number {
    match rng.gen_range(0..4) {
        0 => Number::from(0),
        1 => Number::from_f64(f64::from(rng.gen_range(-6..6)) / 2.0).expect("finite"),
        _ => Number::from(rng.gen_range(-5..6)),
    }
}

/// One random live write for a document of `strategy`.
fn write(rng: &mut StdRng, strategy: Strategy) -> (Path, Edit) {
    let at: &[&str] = match strategy {
        Strategy::CrdtCounter => &["views", "stock", "stats.likes", "stats.shares"],
        Strategy::CrdtSet => &["items", "tags", "items.0.done", "items.1"],
        _ => &[
            "zeta", "alpha", "m.b", "m.a", "m.a.deep", "list", "list.0.k",
        ],
    };
    let at = path(at[rng.gen_range(0..at.len())]);
    let edit = match rng.gen_range(0..10) {
        0..=3 => Edit::Set(value(rng)),
        4 => Edit::Delete,
        5 | 6 => Edit::Push(value(rng)),
        7 => Edit::Pull(value(rng)),
        _ => Edit::Increment(number(rng)),
    };
    match (strategy, edit) {
        (Strategy::CrdtCounter, Edit::Set(_)) => (at, Edit::Set(json!(rng.gen_range(-4..4)))),
        (Strategy::CrdtCounter, _) => (at, Edit::Increment(number(rng))),
        (_, edit) => (at, edit),
    }
}

/// What SYNC answers from every version, and the GET text: everything a reader or a replica
/// can learn of the document.
fn observable(store: &mut Store, now_ms: u64) -> Observed {
    let mut text = Vec::new();
    assert!(store.write_json(DOC, None, now_ms, &mut text));
    let document = store.document(DOC, now_ms).expect("exists");
    let (version, strategy, expires) = (
        document.version(),
        document.strategy(),
        document.expires_at_ms(),
    );
    let answers = (0..=version)
        .map(|since| {
            let update = seeded::json_since(store, DOC, since, now_ms).expect("exists");
            String::from_utf8(update.to_bytes()).expect("utf-8")
        })
        .collect();
    (
        String::from_utf8(text).expect("utf-8"),
        answers,
        version,
        strategy,
        expires,
    )
}

type Observed = (String, Vec<String>, u64, Strategy, Option<u64>);

/// Asserts two documents observe the same, naming the first difference only (the SYNC answers
/// of a long scenario are too long to print whole).
fn assert_same(actual: &Observed, expected: &Observed, what: &str) {
    let (text, answers, version, strategy, expires) = actual;
    assert_eq!(text, &expected.0, "{what}: GET differs");
    assert_eq!(
        (version, strategy, expires),
        (&expected.2, &expected.3, &expected.4),
        "{what}: version, strategy or expiry differ"
    );
    // A `crdt-map` shows its members sorted, so the order inside its registers' values is not
    // observable, and a replay may differ in it: those answers compare as JSON values, where
    // member order does not count. Every other strategy must answer byte for byte the same.
    let same = |a: Option<&String>, b: Option<&String>| match (a, b, strategy) {
        (Some(a), Some(b), Strategy::CrdtMap) => {
            serde_json::from_str::<Value>(a).ok() == serde_json::from_str::<Value>(b).ok()
        }
        _ => a == b,
    };
    if let Some(since) = (0..answers.len()).find(|&i| !same(answers.get(i), expected.1.get(i))) {
        panic!(
            "{what}: SYNC {since} differs:\n  rebuilt:  {}\n  original: {}",
            answers[since],
            expected.1.get(since).map_or("(none)", String::as_str)
        );
    }
}

fn rebuild(stored: &Stored, strategy: Strategy, expires_at_ms: Option<u64>, now_ms: u64) -> Store {
    let mut restored = Store::with_replica_seed(99);
    let persisted = Persisted {
        strategy,
        expires_at_ms,
        snapshot: stored.snapshot.as_deref(),
        updates: stored
            .updates
            .iter()
            .map(|(version, bytes)| (*version, bytes.as_slice())),
    };
    let kept = restored
        .restore(DOC, persisted, now_ms)
        .expect("the persisted form rebuilds");
    assert!(kept, "a live document was dropped as expired");
    restored
}

fn run_scenario(seed: u64, strategy: Strategy) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut now_ms = 1_000_000;
    let ttl = rng.gen_bool(0.5).then_some(1_000_000_000);
    let mut server = Store::with_replica_seed(1);
    let mut peer = Store::with_replica_seed(2);
    let mut stored = Stored::default();
    let change = server.create(DOC, strategy, ttl, now_ms).expect("create");
    let expires_at_ms = ttl.map(|ttl| now_ms + ttl);
    stored.keep(&mut server, &change, now_ms);
    peer.create(DOC, strategy, None, now_ms).expect("create");
    for _ in 0..STEPS {
        now_ms += rng.gen_range(0..3);
        match rng.gen_range(0..20) {
            0..=11 => {
                let (at, edit) = write(&mut rng, strategy);
                if let Ok((_, Some(change))) = server.edit(DOC, at, edit, now_ms) {
                    stored.keep(&mut server, &change, now_ms);
                }
            }
            12..=15 => {
                let (at, edit) = write(&mut rng, strategy);
                // The peer's clock runs ahead and behind, so its stamps interleave.
                let skew = rng.gen_range(0..6);
                let _ = peer.edit(DOC, at, edit, now_ms + skew - 3);
            }
            16 | 17 => {
                let since = rng.gen_range(0..=3);
                let update =
                    seeded::json_since(&mut peer, DOC, since, now_ms).expect("peer holds it");
                let merged = server.merge(DOC, &update.to_bytes(), now_ms);
                if let Ok(Some(change)) = merged {
                    stored.keep(&mut server, &change, now_ms);
                }
            }
            18 => stored.fold(&mut server, now_ms),
            _ => {
                let update =
                    seeded::json_since(&mut server, DOC, 0, now_ms).expect("server holds it");
                peer.merge(DOC, &update.to_bytes(), now_ms).expect("merges");
            }
        }
    }
    let expected = observable(&mut server, now_ms);
    let mut restored = rebuild(&stored, strategy, expires_at_ms, now_ms);
    let what = format!("seed {seed}: {strategy} rebuilt from its updates");
    assert_same(&observable(&mut restored, now_ms), &expected, &what);
    stored.fold(&mut server, now_ms);
    let mut from_snapshot = rebuild(&stored, strategy, expires_at_ms, now_ms);
    let what = format!("seed {seed}: {strategy} rebuilt from a snapshot");
    assert_same(&observable(&mut from_snapshot, now_ms), &expected, &what);

    // The peer, which synced before the "restart", merges into both alike.
    let update = seeded::json_since(&mut peer, DOC, 0, now_ms)
        .expect("peer")
        .to_bytes();
    server.merge(DOC, &update, now_ms).expect("merges");
    restored.merge(DOC, &update, now_ms).expect("merges");
    let (text, answers, ..) = observable(&mut server, now_ms);
    let (restored_text, restored_answers, ..) = observable(&mut restored, now_ms);
    assert_eq!(
        (restored_text, restored_answers.last()),
        (text, answers.last()),
        "seed {seed}: {strategy} merges the peer differently after the rebuild"
    );

    // A write after the rebuild, even at a time behind every stamp, wins.
    if strategy != Strategy::CrdtCounter {
        let at = if strategy == Strategy::CrdtSet {
            "fresh"
        } else {
            "alpha"
        };
        let edit = match strategy {
            Strategy::CrdtSet => Edit::Push(json!("newest")),
            _ => Edit::Set(json!("newest")),
        };
        restored.edit(DOC, path(at), edit, 0).expect("write");
        let after = seeded::json_since(&mut restored, DOC, 0, now_ms).expect("exists");
        restored.merge(DOC, &update, now_ms).expect("merges");
        let shown = restored
            .get(DOC, Some(&path(at)), now_ms)
            .map(|v| v.into_owned());
        let wanted = match strategy {
            Strategy::CrdtSet => Some(json!(["newest"])),
            _ => Some(json!("newest")),
        };
        assert_eq!(
            shown,
            wanted,
            "seed {seed}: a write after the rebuild lost to an older one ({})",
            String::from_utf8_lossy(&after.to_bytes())
        );
    }
}

fn run(strategy: Strategy) {
    seeded::run(strategy.name(), SCENARIOS, |seed| {
        run_scenario(seed, strategy)
    });
}

#[test]
fn lww_rebuilds_exactly() {
    run(Strategy::Lww);
}

#[test]
fn crdt_map_rebuilds_exactly() {
    run(Strategy::CrdtMap);
}

#[test]
fn crdt_counter_rebuilds_exactly() {
    run(Strategy::CrdtCounter);
}

#[test]
fn crdt_set_rebuilds_exactly() {
    run(Strategy::CrdtSet);
}

#[test]
fn an_expired_document_is_not_restored() {
    let mut store = Store::new();
    let persisted = Persisted {
        strategy: Strategy::Lww,
        expires_at_ms: Some(500),
        snapshot: None,
        updates: std::iter::empty(),
    };
    assert_eq!(store.restore(DOC, persisted, 500), Ok(false));
    assert!(store.is_empty());
}

#[test]
fn damaged_snapshots_are_refused() {
    for (strategy, bytes) in [
        (Strategy::Lww, &b"not json"[..]),
        (Strategy::Lww, br#"{"strategy": "crdt-set", "version": 1}"#),
        (Strategy::Lww, br#"{"strategy": "lww", "version": 1, "root": [1]}"#),
        (
            Strategy::Lww,
            br#"{"strategy": "lww", "version": 2, "root": {}, "registers": [["b", [1, 0, 1], 1], ["a", [1, 0, 1], 2]]}"#,
        ),
        (
            Strategy::CrdtCounter,
            br#"{"strategy": "crdt-counter", "version": 1, "counters": [["a..b", 1, 1, 0, 1]]}"#,
        ),
    ] {
        let mut store = Store::new();
        let persisted = Persisted {
            strategy,
            expires_at_ms: None,
            snapshot: Some(bytes),
            updates: std::iter::empty(),
        };
        let result = store.restore(DOC, persisted, 0);
        assert!(result.is_err(), "{}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn an_empty_set_write_to_a_missing_set_changes_nothing() {
    // An empty set has nothing an update could carry, so it must not exist live either: the
    // document reads the same before and after a rebuild.
    let mut store = Store::new();
    store
        .create(DOC, Strategy::CrdtSet, None, 0)
        .expect("create");
    let (_, change) = store
        .edit(DOC, path("items"), Edit::Set(json!([])), 0)
        .expect("write");
    assert_eq!(change, None);
    assert_eq!(
        store.get(DOC, None, 0).map(|v| v.into_owned()),
        Some(json!({}))
    );
}

/// The GET text of the document, and its version.
fn text_and_version(store: &mut Store, now_ms: u64) -> (String, u64) {
    let mut text = Vec::new();
    assert!(store.write_json(DOC, None, now_ms, &mut text));
    let version = store.document(DOC, now_ms).expect("exists").version();
    (String::from_utf8(text).expect("utf-8"), version)
}

/// The update a `crdt-text` replica at `state_vector` is missing of the store's document.
fn yjs_since(store: &mut Store, state_vector: &[u8], now_ms: u64) -> Vec<u8> {
    match store.sync(DOC, state_vector, now_ms).expect("syncs") {
        Some(SyncReply::Yjs { update, .. }) => update,
        other => panic!("not a crdt-text answer: {other:?}"),
    }
}

#[test]
fn crdt_text_rebuilds_from_a_snapshot_and_the_updates_after_it() {
    let now_ms = 1_000;
    let mut server = Store::with_replica_seed(7);
    let mut stored = Stored::default();
    let change = server
        .create(DOC, Strategy::CrdtText, None, now_ms)
        .expect("create");
    stored.keep(&mut server, &change, now_ms);
    let splice = |index, delete, text: &str| Edit::Splice {
        index,
        delete,
        text: text.to_owned(),
    };
    // A peer replica that will sync before the "restart" and edit offline.
    let mut peer = TextDoc::new(4242, TextLimits::default()).expect("peer");
    for (step, edit) in [
        splice(0, 0, "Meeting agenda"),
        splice(14, 0, ":\n1. Q4 🎉"),
        splice(0, 7, "Team"),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, change) = server
            .edit(DOC, path("notes"), edit, now_ms)
            .expect("splice");
        stored.keep(&mut server, &change.expect("changed"), now_ms);
        if step == 1 {
            stored.fold(&mut server, now_ms);
            let update = yjs_since(&mut server, &peer.state_vector(), now_ms);
            peer.merge(&update).expect("peer catches up");
        }
    }
    let expected = text_and_version(&mut server, now_ms);
    let mut restored = rebuild(&stored, Strategy::CrdtText, None, now_ms);
    assert_eq!(text_and_version(&mut restored, now_ms), expected);
    // The peer, which synced before the rebuild, edits offline and merges into both alike.
    peer.splice("notes", 0, 0, "[peer] ").expect("offline edit");
    let mine = peer.diff(&[0]).expect("diff");
    server.merge(DOC, &mine, now_ms).expect("merges");
    restored.merge(DOC, &mine, now_ms).expect("merges");
    let (text, _) = text_and_version(&mut server, now_ms);
    assert_eq!(text_and_version(&mut restored, now_ms).0, text);
    assert!(
        text.contains("[peer] ") && text.contains(r"Team agenda:\n1. Q4 🎉"),
        "no edit may be lost: {text}"
    );
    // The rebuilt document writes on, under a client id of its own.
    restored
        .edit(DOC, path("notes"), splice(0, 0, ">"), now_ms)
        .expect("writes after the rebuild");
    let update = yjs_since(&mut restored, &peer.state_vector(), now_ms);
    peer.merge(&update).expect("the peer takes it");
    assert!(peer.field("notes").expect("text").starts_with('>'));
}
