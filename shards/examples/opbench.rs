//! In-process speed of the commonest writes and reads on small `lww` documents: SET and INC of
//! a top-level key and GET of the whole document, over 100,000 documents in one store.
//!
//! ```text
//! cargo run --release -p ussl-shards --example opbench
//! ```

use std::time::Instant;

use serde_json::{json, Number};
use ussl_shards::{Edit, Path, Store, StoreError};

const OPERATIONS: u64 = 1_000_000;
const DOCUMENTS: u64 = 100_000;

fn main() -> Result<(), StoreError> {
    let mut store = Store::with_replica_seed(1);
    let ids: Vec<String> = (0..DOCUMENTS).map(|i| format!("doc:{i:012}")).collect();
    // A fixed stride through the ids, so consecutive operations touch different documents.
    let id = |i: u64| &ids[(i * 7919 % DOCUMENTS) as usize];
    let started = Instant::now();
    for i in 0..OPERATIONS {
        store.edit(id(i), Path::parse("name")?, Edit::Set(json!("Alice")), i)?;
    }
    report("SET", started);
    let started = Instant::now();
    for i in 0..OPERATIONS {
        let delta = Edit::Increment(Number::from(1));
        store.edit(id(i), Path::parse("count")?, delta, i)?;
    }
    report("INC", started);
    let started = Instant::now();
    let mut bytes = 0;
    let mut out = Vec::new();
    for i in 0..OPERATIONS {
        out.clear();
        store.write_json(id(i), None, i, &mut out);
        bytes += out.len();
    }
    report("GET", started);
    println!("({bytes} bytes read)");
    Ok(())
}

fn report(name: &str, started: Instant) {
    let nanos = started.elapsed().as_nanos() as f64 / OPERATIONS as f64;
    println!("{name} {nanos:.0} ns/op");
}
