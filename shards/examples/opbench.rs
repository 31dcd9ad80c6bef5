use serde_json::{json, Number};
use std::time::Instant;
use ussl_shards::{Edit, Path, Store};

fn main() {
    let mut store = Store::with_replica_seed(1);
    let n = 1_000_000u64;
    let keys: Vec<String> = (0..100_000).map(|i| format!("doc:{i:012}")).collect();
    let t = Instant::now();
    for i in 0..n {
        let id = &keys[(i * 7919 % 100_000) as usize];
        let path = Path::parse("name").unwrap();
        store.edit(id, path, Edit::Set(json!("Alice")), i).unwrap();
    }
    println!("SET {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    for i in 0..n {
        let id = &keys[(i * 7919 % 100_000) as usize];
        let path = Path::parse("count").unwrap();
        store
            .edit(id, path, Edit::Increment(Number::from(1)), i)
            .unwrap();
    }
    println!("INC {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    let mut total = 0;
    for i in 0..n {
        let id = &keys[(i * 7919 % 100_000) as usize];
        let mut out = Vec::new();
        store.write_json(id, None, i, &mut out);
        total += out.len();
    }
    println!(
        "GET {:.0} ns/op ({total})",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}
