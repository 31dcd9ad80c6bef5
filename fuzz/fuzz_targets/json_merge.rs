//! Fuzzes replica sync for the JSON strategies: arbitrary bytes handed to `Store::merge` on a
//! document of each JSON strategy (and on a missing one), then the document is read, synced and
//! merged into a second replica. Nothing may panic, a refused update must leave the document as
//! it was, and an accepted one must merge the same way twice (idempotence).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use ussl_shards::{Edit, Path, Store, Strategy, SyncReply};

const NOW_MS: u64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    for strategy in [Strategy::Lww, Strategy::CrdtMap, Strategy::CrdtCounter, Strategy::CrdtSet] {
        let mut store = Store::with_replica_seed(1);
        store.create("d", strategy, None, NOW_MS).expect("create");
        let path = Path::parse("items").expect("path");
        let seed = match strategy {
            Strategy::CrdtCounter => Edit::Increment(serde_json::Number::from(2)),
            _ => Edit::Push(json!({"a": 1})),
        };
        let _ = store.edit("d", path, seed, NOW_MS);
        let before = store.get("d", None, NOW_MS).map(|v| v.into_owned());
        match store.merge("d", data, NOW_MS) {
            Err(_) => {
                let after = store.get("d", None, NOW_MS).map(|v| v.into_owned());
                assert_eq!(before, after, "a refused update changed the document");
            }
            Ok(_) => {
                let once = store.get("d", None, NOW_MS).map(|v| v.into_owned());
                let again = store.merge("d", data, NOW_MS).expect("merged once, merges again");
                assert!(again.is_none(), "merging the same update twice changed the document");
                assert_eq!(once, store.get("d", None, NOW_MS).map(|v| v.into_owned()));
            }
        }
        // Whatever the document holds now syncs into a fresh replica and reads the same there.
        let Ok(Some(SyncReply::Json(update))) = store.sync("d", b"", NOW_MS) else {
            panic!("a JSON document syncs");
        };
        let mut replica = Store::with_replica_seed(2);
        replica
            .merge("d", &update.to_bytes(), NOW_MS)
            .expect("a document's own state merges");
        assert_eq!(
            replica.get("d", None, NOW_MS).map(|v| v.into_owned()),
            store.get("d", None, NOW_MS).map(|v| v.into_owned())
        );
    }
    let mut store = Store::with_replica_seed(3);
    let _ = store.merge("fresh", data, NOW_MS);
    let _ = store.get("fresh", None, NOW_MS);
});
