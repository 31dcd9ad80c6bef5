//! Fuzzes crdt-text replica sync (`TextDoc::merge`, `diff`, `from_state`)
//! with mutated Yjs v1 updates and state vectors.
//!
//! Inputs are mutations of real updates: the first byte picks the operation
//! and a seed (real updates and state vectors made by `TextDoc` and by raw
//! yrs, text with non-ASCII, astral characters, deletions and formatting,
//! and a map update that must be refused), and the rest edits the seed's
//! bytes (overwrite, insert, remove, truncate). A first byte with the high
//! bit set feeds the rest of the input unmutated instead.
//!
//! For every input it checks that nothing panics out of the document, that
//! the document still encodes and its state (with its held updates)
//! reloads to the same text, that a refused update leaves the document's
//! state and held updates byte-for-byte as they were, and that merging an
//! accepted update again changes nothing.
//!
//! Set `TEXT_FUZZ_STRICT=1` to abort on any panic, even one the document
//! contains: that finds the yrs panics the structural check lets through.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ussl_shards::text::{TextDoc, TextError, TextLimits};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, StateVector, Text, Transact};

/// Real inputs the fuzzer mutates.
struct Seeds {
    /// The document every input is merged into, as its encoded state.
    base_state: Vec<u8>,
    /// Real updates.
    updates: Vec<Vec<u8>>,
    /// Real state vectors.
    state_vectors: Vec<Vec<u8>>,
}

/// Limits small enough for fuzz inputs to cross them.
fn limits() -> TextLimits {
    TextLimits {
        update_bytes_max: 1 << 16,
        state_vector_entries_max: 64,
        fields_max: 4,
        field_name_bytes_max: 16,
        document_chars_max: 256,
        pending_bytes_max: 1 << 12,
    }
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut base = TextDoc::new(1, limits()).unwrap();
        base.splice("body", 0, 0, "héllo 😀 wörld").unwrap();
        base.splice("title", 0, 0, "𝄞 notes").unwrap();
        let base_state = base.encode_state().unwrap();

        let mut replica = TextDoc::from_state(&base_state, &[], 2, limits()).unwrap();
        let edit = replica.splice("body", 6, 2, "ünï 🎉").unwrap();
        let delete = replica.splice("title", 0, 2, "").unwrap();
        let new_field = replica.splice("extra", 0, 0, "abc").unwrap();
        let replica_state = replica.encode_state().unwrap();

        let rich = Doc::with_client_id(3);
        let rich_text = rich.get_or_insert_text("body");
        let rich_update = {
            let mut txn = rich.transact_mut();
            rich_text.insert(&mut txn, 0, "bold");
            rich_text.format(&mut txn, 0, 4, Attrs::from([("b".into(), true.into())]));
            txn.encode_update_v1()
        };
        let map_doc = Doc::with_client_id(4);
        let map = map_doc.get_or_insert_map("body");
        let map_update = {
            let mut txn = map_doc.transact_mut();
            map.insert(&mut txn, "k", "v");
            txn.encode_update_v1()
        };
        let empty_sv = StateVector::default().encode_v1();
        Seeds {
            base_state,
            updates: vec![edit, delete, new_field, replica_state, rich_update, map_update],
            state_vectors: vec![replica.state_vector(), base.state_vector(), empty_sv],
        }
    })
}

/// Applies the mutations described by `ops` (three bytes each) to `bytes`.
fn mutate(mut bytes: Vec<u8>, ops: &[u8]) -> Vec<u8> {
    for op in ops.chunks_exact(3) {
        let at = usize::from(op[1]) % (bytes.len() + 1);
        match op[0] % 4 {
            0 if at < bytes.len() => bytes[at] = op[2],
            1 => bytes.insert(at, op[2]),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            _ => {}
        }
    }
    bytes
}

/// What a document means, independent of how yrs happens to split its
/// items: text, state vector, held updates.
#[derive(Debug, PartialEq)]
struct Meaning {
    json: serde_json::Value,
    state_vector: StateVector,
    held: Vec<Vec<u8>>,
}

fn meaning(doc: &TextDoc) -> Meaning {
    Meaning {
        json: doc.to_json(),
        state_vector: StateVector::decode_v1(&doc.state_vector()).expect("state vector decodes"),
        held: doc.pending_updates().map(<[u8]>::to_vec).collect(),
    }
}

/// Loads a persisted document under the first client id not already in
/// it, as a server drawing a fresh random id would.
fn load_fresh(state: &[u8], held: &[&[u8]]) -> Result<TextDoc, TextError> {
    (99..)
        .map(|id| TextDoc::from_state(state, held, id, limits()))
        .find(|loaded| !matches!(loaded, Err(TextError::ClientIdInUse(_))))
        .expect("ids run out")
}

/// Checks that `doc` encodes and that its persisted form (state and held
/// updates) reloads to the same meaning.
fn check_reloads(doc: &TextDoc) -> Meaning {
    let state = doc.encode_state().expect("document no longer encodes");
    let held: Vec<&[u8]> = doc.pending_updates().collect();
    let reloaded = load_fresh(&state, &held).expect("state does not reload");
    let expected = meaning(doc);
    assert_eq!(meaning(&reloaded), expected, "reload changed the document");
    expected
}

fuzz_target!(|data: &[u8]| {
    static STRICT: OnceLock<()> = OnceLock::new();
    STRICT.get_or_init(|| {
        if std::env::var_os("TEXT_FUZZ_STRICT").is_some() {
            std::panic::set_hook(Box::new(|info| {
                eprintln!("{info}");
                std::process::abort();
            }));
        }
    });
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let seeds = seeds();
    let mut doc = TextDoc::from_state(&seeds.base_state, &[], 1 << 40, limits()).unwrap();
    let input = |pool: &[Vec<u8>]| {
        if selector & 0x80 != 0 {
            rest.to_vec()
        } else {
            let (&pick, ops) = rest.split_first().unwrap_or((&0, &[]));
            mutate(pool[usize::from(pick) % pool.len()].clone(), ops)
        }
    };
    match selector % 3 {
        0 => {
            let update = input(&seeds.updates);
            let before = meaning(&doc);
            match doc.merge(&update) {
                Ok(_) => {
                    let after = check_reloads(&doc);
                    let again = doc.merge(&update).expect("second merge of an accepted update failed");
                    assert!(again.update.is_empty(), "second merge changed the text");
                    assert_eq!(meaning(&doc), after, "second merge changed the document");
                }
                Err(_) => {
                    assert_eq!(meaning(&doc), before, "refused update changed the document");
                }
            }
        }
        1 => {
            let state_vector = input(&seeds.state_vectors);
            if let Ok(diff) = doc.diff(&state_vector) {
                let mut replica = TextDoc::new(7, limits()).unwrap();
                // A diff against a state vector claiming edits this replica
                // lacks may be refused or held; it must not break it.
                let _ = replica.merge(&diff);
                check_reloads(&replica);
            }
        }
        _ => {
            let mut pool = seeds.updates.clone();
            pool.push(seeds.base_state.clone());
            let state = input(&pool);
            // Any state that loads must encode and load again. (A stored
            // state may hold text against inconsistent origins, which only
            // merges refuse, so its text may move on reload.)
            if let Ok(loaded) = TextDoc::from_state(&state, &[], 5, limits()) {
                let again = loaded.encode_state().expect("loaded state no longer encodes");
                let held: Vec<&[u8]> = loaded.pending_updates().collect();
                load_fresh(&again, &held).expect("loaded state does not reload");
            }
        }
    }
    check_reloads(&doc);
});
