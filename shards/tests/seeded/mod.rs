//! Running a seeded randomized scenario over many seeds, printing them, and replaying one: the
//! harness the randomized tests of the engine share; and small helpers those tests have in
//! common.

#![allow(dead_code)]

use ussl_shards::sync::Update;
use ussl_shards::{Store, SyncReply};

/// What `SYNC id since` answers for a JSON document of `store`: the update holding the changes
/// after version `since`; `None` when there is no such document.
pub fn json_since(store: &mut Store, id: &str, since: u64, now_ms: u64) -> Option<Update> {
    let since = since.to_string();
    match store
        .sync(id, since.as_bytes(), now_ms)
        .expect("the state vector is valid")?
    {
        SyncReply::Json(update) => Some(update),
        SyncReply::Yjs { .. } => panic!("{id} is a crdt-text document, not a JSON one"),
    }
}

/// Runs `scenario` for `scenarios` consecutive seeds from a random base, printing the range and
/// any failing seed; with `USSL_SEED=<seed>` set, runs that one seed only.
pub fn run(name: &str, scenarios: u64, scenario: impl Fn(u64) + std::panic::RefUnwindSafe) {
    if let Ok(seed) = std::env::var("USSL_SEED") {
        let seed = seed.parse().expect("USSL_SEED is a number");
        println!("replaying seed {seed} for {name}");
        scenario(seed);
        return;
    }
    let base: u64 = rand::random();
    println!(
        "{name}: seeds {base}..{} (replay one with USSL_SEED=<seed>)",
        base.wrapping_add(scenarios)
    );
    for offset in 0..scenarios {
        let seed = base.wrapping_add(offset);
        if let Err(panic) = std::panic::catch_unwind(|| scenario(seed)) {
            println!("{name}: failing seed {seed}");
            std::panic::resume_unwind(panic);
        }
    }
}
