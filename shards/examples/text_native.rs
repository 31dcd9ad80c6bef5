//! Native crdt-text benchmark: replays a recorded editing trace through
//! [`TextDoc`] in-process, one yrs transaction per edit and batched, and
//! measures what replica sync costs on the finished document.
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

/// Measures replica sync on the finished document.
fn sync_costs(doc: &mut TextDoc) -> Result<(), Box<dyn std::error::Error>> {
    let (encode, state) = time(|| doc.encode_state());
    let state = state?;
    let (load, loaded) = time(|| TextDoc::from_state(&state, &[], 2, TextLimits::default()));
    let mut replica = loaded?;
    let (diff, full) = time(|| doc.diff(&[0]));
    let full = full?;
    let edit = replica.splice(FIELD, 0, 0, "x")?;
    let (merge, merged) = time(|| doc.merge(&edit));
    let changed = merged?.update.len();
    let (resend, _) = time(|| doc.merge(&edit));
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
    if let Some(mut doc) = last {
        sync_costs(&mut doc)?;
    }
    Ok(())
}
