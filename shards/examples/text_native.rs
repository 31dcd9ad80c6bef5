//! Native crdt-text benchmark: replays a recorded editing trace through
//! [`TextDoc`] in-process, one yrs transaction per edit and batched, and
//! measures what replica sync costs on the finished document. The trace
//! loading and replay live in `ussl_shards::text::trace`, so the
//! through-the-server benchmark replays the same edits.
//!
//! ```text
//! cargo run --release -p ussl-shards --example text_native -- \
//!     [--trace shards/tests/data/automerge-paper.json.gz] [--rounds 3] [--batch 1024]
//! ```
//!
//! Rounds alternate the two modes so machine noise hits both alike; the
//! median round is reported. Every round checks the final text against the
//! trace's `endContent`.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ussl_shards::text::trace::{replay, Trace};
use ussl_shards::text::{TextDoc, TextLimits};

/// The field the trace is replayed into.
const FIELD: &str = "content";

struct Args {
    trace: PathBuf,
    rounds: usize,
    batch: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        trace: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/automerge-paper.json.gz"),
        rounds: 3,
        batch: 1024,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let value = words.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--trace" => args.trace = PathBuf::from(value),
            "--rounds" => args.rounds = value.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--batch" => args.batch = value.parse().map_err(|e| format!("--batch: {e}"))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

fn load_trace(path: &PathBuf) -> Result<Trace, Box<dyn std::error::Error>> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut json)?;
    Ok(Trace::from_json(&json)?)
}

/// Replays the trace with one transaction per edit through `splice`.
fn per_edit(trace: &Trace) -> Result<(Duration, TextDoc), Box<dyn std::error::Error>> {
    let mut doc = TextDoc::new(1, TextLimits::default())?;
    let started = Instant::now();
    for patch in trace.patches() {
        doc.splice(FIELD, patch.position, patch.delete, &patch.insert)?;
    }
    Ok((started.elapsed(), doc))
}

/// Replays the trace with `batch` edits per transaction.
fn batched(trace: &Trace, batch: usize) -> Result<(Duration, TextDoc), Box<dyn std::error::Error>> {
    let edits = trace.edits(FIELD);
    let mut doc = TextDoc::new(1, TextLimits::default())?;
    let started = Instant::now();
    replay(&mut doc, &edits, batch)?;
    Ok((started.elapsed(), doc))
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(work: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let result = work();
    (started.elapsed(), result)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// How many one-character replica updates the merge-batching row merges.
const MERGE_BATCH: usize = 100;

/// Measures replica sync on the finished document: encoding, loading, a
/// full diff, merging one small update, merging it again, and merging
/// `MERGE_BATCH` small updates one by one and as one batch.
fn sync_costs(doc: &TextDoc) -> Result<(), Box<dyn std::error::Error>> {
    let (encode, state) = time(|| doc.encode_state());
    let state = state?;
    let limits = TextLimits::default();
    let (load, loaded) = time(|| TextDoc::from_state(&state, &[], 2, limits));
    let mut server = loaded?;
    let mut replica = TextDoc::from_state(&state, &[], 3, limits)?;
    let (diff, full) = time(|| server.diff(&[0]));
    let full = full?;
    let edit = replica.splice(FIELD, 0, 0, "x")?;
    let (merge, merged) = time(|| server.merge(&edit));
    let changed = merged?.update.len();
    let (resend, _) = time(|| server.merge(&edit));
    let updates = (0..MERGE_BATCH)
        .map(|i| replica.splice(FIELD, i, 0, "y"))
        .collect::<Result<Vec<_>, _>>()?;
    let parts: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
    let mut one_by_one = TextDoc::from_state(&server.encode_state()?, &[], 4, limits)?;
    let (singly, _) = time(|| parts.iter().try_for_each(|u| one_by_one.merge(u).map(drop)));
    let (batched, (results, _)) = time(|| server.merge_batch(&parts));
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.to_json(), one_by_one.to_json());
    println!();
    println!(
        "Replica sync on the finished document ({} chars):",
        doc.chars()
    );
    println!("| step | bytes | ms |");
    println!("| --- | ---: | ---: |");
    println!("| encode_state | {} | {:.2} |", state.len(), millis(encode));
    println!("| from_state | {} | {:.2} |", state.len(), millis(load));
    println!(
        "| diff from an empty state vector | {} | {:.2} |",
        full.len(),
        millis(diff)
    );
    println!(
        "| merge of a one-character update | {} | {:.2} |",
        edit.len(),
        millis(merge)
    );
    println!(
        "| merge of the same update again | {} | {:.3} |",
        changed,
        millis(resend)
    );
    println!(
        "| merge of {MERGE_BATCH} one-character updates, one by one | {} | {:.2} |",
        parts.iter().map(|u| u.len()).sum::<usize>(),
        millis(singly)
    );
    println!(
        "| merge of the same {MERGE_BATCH} updates as one merge_batch | {} | {:.2} |",
        parts.iter().map(|u| u.len()).sum::<usize>(),
        millis(batched)
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let trace = load_trace(&args.trace)?;
    let edits = trace.patches().count();
    let (mut one, mut many) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..args.rounds.max(1) {
        let (elapsed, doc) = per_edit(&trace)?;
        assert_eq!(doc.field(FIELD).unwrap_or_default(), trace.end_content);
        one.push(elapsed);
        let (elapsed, doc) = batched(&trace, args.batch)?;
        assert_eq!(doc.field(FIELD).unwrap_or_default(), trace.end_content);
        many.push(elapsed);
        last = Some(doc);
    }
    let (one, many) = (median(&mut one), median(&mut many));
    let rate = |d: Duration| edits as f64 / d.as_secs_f64();
    println!(
        "Trace {} ({edits} edits), median of {} rounds:",
        args.trace.display(),
        args.rounds
    );
    println!("| mode | seconds | edits/s |");
    println!("| --- | ---: | ---: |");
    println!(
        "| one transaction per edit | {:.3} | {:.0} |",
        one.as_secs_f64(),
        rate(one)
    );
    println!(
        "| {} edits per transaction | {:.3} | {:.0} |",
        args.batch,
        many.as_secs_f64(),
        rate(many)
    );
    println!("batched / per-edit: {:.2}x", rate(many) / rate(one));
    if let Some(doc) = last {
        sync_costs(&doc)?;
    }
    Ok(())
}
