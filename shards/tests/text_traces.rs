//! Replays real editing traces (shards/tests/data, CC BY 4.0, see its
//! README) through crdt-text documents and checks the final text against
//! the trace's `endContent`: sequential traces through splices, batches and
//! replica sync, and a concurrent two-author trace through two replicas that
//! merge.

use std::io::Read;
use std::path::Path;

use ussl_shards::text::trace::{replay, Trace};
use ussl_shards::text::{MergeStatus, TextDoc, TextLimits};

/// The field traces are replayed into.
const FIELD: &str = "content";

fn load(name: &str) -> Trace {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut json)
        .unwrap();
    Trace::from_json(&json).unwrap()
}

fn doc(client_id: u64) -> TextDoc {
    TextDoc::new(client_id, TextLimits::default()).unwrap()
}

/// Asserts that `doc`'s text is `expected`, showing where they part.
fn assert_text(doc: &TextDoc, expected: &str) {
    let actual = doc.field(FIELD).unwrap_or_default();
    if actual != expected {
        let at = actual
            .chars()
            .zip(expected.chars())
            .take_while(|(a, b)| a == b)
            .count();
        panic!(
            "text differs at code point {at} (lengths {} and {})",
            actual.chars().count(),
            expected.chars().count()
        );
    }
}

#[test]
fn automerge_paper_through_splices() {
    let trace = load("automerge-paper.json.gz");
    assert_eq!(trace.patches().count(), 259_778);
    let mut doc = doc(1);
    for patch in trace.patches() {
        doc.splice(FIELD, patch.position, patch.delete, &patch.insert)
            .unwrap();
    }
    assert_text(&doc, &trace.end_content);
    assert_eq!(doc.field_len(FIELD), trace.end_content.chars().count());
}

#[test]
fn automerge_paper_through_batches() {
    let trace = load("automerge-paper.json.gz");
    let edits = trace.edits(FIELD);
    for batch in [7, 1024, 100_000] {
        let mut doc = doc(1);
        replay(&mut doc, &edits, batch).unwrap();
        assert_text(&doc, &trace.end_content);
    }
}

#[test]
fn seph_blog_through_batches_and_back() {
    // A trace with non-ASCII text; its state reloads and a reloaded replica
    // syncs from an empty state vector.
    let trace = load("seph-blog1.json.gz");
    let mut doc = doc(1);
    replay(&mut doc, &trace.edits(FIELD), 100).unwrap();
    assert_text(&doc, &trace.end_content);
    let reloaded =
        TextDoc::from_state(&doc.encode_state().unwrap(), &[], 2, TextLimits::default()).unwrap();
    assert_text(&reloaded, &trace.end_content);
    let mut replica = self::doc(3);
    replica
        .merge(&doc.diff(&replica.state_vector()).unwrap())
        .unwrap();
    assert_text(&replica, &trace.end_content);
}

/// Replays automerge-paper on an editing replica while a second one keeps
/// up in turn by asking for a diff with its state vector, by merging the
/// editor's updates as pushed in one batch (each twice), and by merging them
/// one at a time (each twice); both are rebuilt from their encoded state now
/// and then and carry on under fresh client ids.
#[test]
fn automerge_paper_through_replica_sync() {
    const EDITS_PER_TRANSACTION: usize = 256;
    const TRANSACTIONS_PER_SYNC: usize = 8;
    const SYNCS_PER_RELOAD: usize = 20;
    let trace = load("automerge-paper.json.gz");
    let edits = trace.edits(FIELD);
    let mut editor = doc(1);
    let mut follower = doc(2);
    let mut next_client = 3;
    let mut pushed: Vec<Vec<u8>> = Vec::new();
    let mut syncs = 0;
    for (i, chunk) in edits.chunks(EDITS_PER_TRANSACTION).enumerate() {
        pushed.extend(replay(&mut editor, chunk, EDITS_PER_TRANSACTION).unwrap());
        if (i + 1) % TRANSACTIONS_PER_SYNC != 0 {
            continue;
        }
        syncs += 1;
        match syncs % 3 {
            0 => {
                let diff = editor.diff(&follower.state_vector()).unwrap();
                follower.merge(&diff).unwrap();
            }
            1 => {
                let twice: Vec<&[u8]> = pushed.iter().flat_map(|u| [&u[..], &u[..]]).collect();
                let (results, update) = follower.merge_batch(&twice);
                assert!(
                    results.iter().all(|r| *r == Ok(MergeStatus::Integrated)),
                    "{results:?}"
                );
                assert!(!update.is_empty() && !follower.has_pending());
            }
            _ => {
                for update in &pushed {
                    follower.merge(update).unwrap();
                    assert!(follower.merge(update).unwrap().update.is_empty());
                }
            }
        }
        pushed.clear();
        assert_eq!(follower.to_json(), editor.to_json(), "after sync {syncs}");
        if syncs % SYNCS_PER_RELOAD == 0 {
            for replica in [&mut editor, &mut follower] {
                let state = replica.encode_state().unwrap();
                *replica =
                    TextDoc::from_state(&state, &[], next_client, TextLimits::default()).unwrap();
                next_client += 1;
            }
        }
    }
    follower
        .merge(&editor.diff(&follower.state_vector()).unwrap())
        .unwrap();
    assert_text(&editor, &trace.end_content);
    assert_text(&follower, &trace.end_content);
    assert_eq!(editor.state_vector().len(), follower.state_vector().len());
}

/// Replays friendsforever, two authors typing at once: each transaction is
/// applied on its author's replica after that replica has merged every
/// transaction in its parents' history, as the trace's README prescribes;
/// finally the replicas merge each other's state.
#[test]
fn friendsforever_through_two_replicas() {
    let trace = load("friendsforever.json.gz");
    let agents = trace.txns.iter().map(|txn| txn.agent).max().unwrap_or(0) + 1;
    assert_eq!(agents, 2);
    let mut replicas: Vec<TextDoc> = (0..agents).map(|a| doc(a as u64 + 1)).collect();
    // Which transactions each replica holds, and each transaction's update.
    let mut holds = vec![vec![false; trace.txns.len()]; agents];
    let mut updates: Vec<Vec<u8>> = Vec::with_capacity(trace.txns.len());
    let mut merges = 0;
    for (index, txn) in trace.txns.iter().enumerate() {
        let agent = txn.agent;
        let missing = missing_history(&trace, &holds[agent], &txn.parents);
        if !missing.is_empty() {
            let parts: Vec<&[u8]> = missing
                .iter()
                .map(|&t| updates[t].as_slice())
                .filter(|update| !update.is_empty())
                .collect();
            let update = yrs::merge_updates_v1(parts).unwrap();
            replicas[agent].merge(&update).unwrap();
            merges += 1;
            for t in missing {
                holds[agent][t] = true;
            }
        }
        let edits: Vec<_> = txn.patches.iter().map(|p| p.edit(FIELD)).collect();
        let produced = replay(&mut replicas[agent], &edits, edits.len()).unwrap();
        updates.push(produced.concat());
        holds[agent][index] = true;
    }
    assert!(
        merges > 100,
        "only {merges} merges: the trace was not replayed concurrently"
    );
    let (first, second) = replicas.split_at_mut(1);
    let (a, b) = (&mut first[0], &mut second[0]);
    b.merge(&a.diff(&b.state_vector()).unwrap()).unwrap();
    a.merge(&b.diff(&a.state_vector()).unwrap()).unwrap();
    assert_text(a, &trace.end_content);
    assert_text(b, &trace.end_content);
}

/// The transactions in the history of `parents` (the parents and all their
/// ancestors) that `held` does not mark, in an order where parents come
/// first.
fn missing_history(trace: &Trace, held: &[bool], parents: &[usize]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<usize> = parents.iter().copied().filter(|&p| !held[p]).collect();
    let mut found = Vec::new();
    while let Some(t) = stack.pop() {
        if held[t] || !seen.insert(t) {
            continue;
        }
        found.push(t);
        stack.extend(trace.txns[t].parents.iter().copied());
    }
    // Indexes already come parents-first in the trace.
    found.sort_unstable();
    found
}
