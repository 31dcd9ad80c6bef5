//! Hostile replica input: concrete updates and state vectors that yrs 0.28
//! mishandles on its own (allocation bombs, debug-assertion panics, clock
//! overflow, content a text field cannot hold, text that moves on reload),
//! each refused with a clear error that leaves the document exactly as it
//! was, still encodable and reloadable.

use serde_json::json;
use ussl_shards::text::{MergeStatus, TextDoc, TextError, TextLimits};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{Array, ArrayPrelim, Doc, Map, ReadTxn, StateVector, Text, Transact};

/// The server's document: two fields with non-ASCII and astral text.
fn server() -> TextDoc {
    let mut doc = TextDoc::new(1, TextLimits::default()).unwrap();
    doc.splice("body", 0, 0, "héllo 😀 wörld").unwrap();
    doc.splice("title", 0, 0, "𝄞 notes").unwrap();
    doc
}

/// A replica that synced with the server, under client id 2.
fn replica(server: &TextDoc) -> TextDoc {
    TextDoc::from_state(
        &server.encode_state().unwrap(),
        &[],
        2,
        TextLimits::default(),
    )
    .unwrap()
}

/// What a document is: its text, its state vector and its held updates.
fn meaning(doc: &TextDoc) -> (serde_json::Value, StateVector, Vec<Vec<u8>>) {
    (
        doc.to_json(),
        StateVector::decode_v1(&doc.state_vector()).unwrap(),
        doc.pending_updates().map(<[u8]>::to_vec).collect(),
    )
}

/// Merges `update` into `doc`, expects the refusal `expected` describes,
/// and checks the document is unchanged, encodes and reloads.
fn assert_refused(doc: &mut TextDoc, update: &[u8], expected: impl Fn(&TextError) -> bool) {
    let before = meaning(doc);
    let error = doc.merge(update).expect_err("hostile update was accepted");
    assert!(expected(&error), "unexpected error: {error}");
    assert_eq!(
        meaning(doc),
        before,
        "a refused update changed the document"
    );
    let reloaded =
        TextDoc::from_state(&doc.encode_state().unwrap(), &[], 99, TextLimits::default()).unwrap();
    assert_eq!(reloaded.to_json(), doc.to_json());
}

/// `value` as a lib0 variable-length unsigned integer.
fn varint(mut value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    while value >= 0x80 {
        bytes.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
    bytes
}

#[test]
fn state_vector_claiming_2_to_the_29_entries_is_refused_without_allocating() {
    // yrs reserves space for the claimed count before reading entries.
    let doc = server();
    let error = doc.diff(&[0x80, 0x80, 0x80, 0x80, 0x02]).unwrap_err();
    assert!(
        matches!(error, TextError::MalformedStateVector { .. }),
        "{error}"
    );
}

#[test]
fn state_vector_with_a_client_over_53_bits_is_refused() {
    // yrs debug-asserts client ids fit 53 bits; release builds alias them.
    let doc = server();
    let mut sv = vec![1];
    sv.extend(varint(1 << 60));
    sv.push(0);
    assert!(matches!(
        doc.diff(&sv).unwrap_err(),
        TextError::MalformedStateVector { .. }
    ));
}

#[test]
fn state_vector_with_trailing_bytes_is_refused() {
    let doc = server();
    let mut sv = doc.state_vector();
    sv.push(0);
    assert!(matches!(
        doc.diff(&sv).unwrap_err(),
        TextError::MalformedStateVector { .. }
    ));
}

#[test]
fn update_with_a_client_over_53_bits_is_refused() {
    let mut doc = server();
    // One GC range of length 1 by client 2^53.
    let mut update = vec![1, 1];
    update.extend(varint(1 << 53));
    update.extend([0, 0, 1, 0]);
    assert_refused(
        &mut doc,
        &update,
        |e| matches!(e, TextError::MalformedUpdate { reason, .. } if reason.contains("53")),
    );
}

#[test]
fn update_whose_clock_overflows_is_refused() {
    // A GC range of 2^32 - 1 clock ticks from clock 1: yrs 0.28 applies it
    // unchecked and panics ("attempt to divide by zero", release build).
    let mut doc = server();
    let update = [1, 2, 7, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1, 0];
    assert_refused(&mut doc, &update, |e| {
        matches!(e, TextError::MalformedUpdate { .. })
    });
}

#[test]
fn delete_range_that_overflows_is_refused() {
    let mut doc = server();
    let update = [0, 1, 1, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f];
    assert_refused(&mut doc, &update, |e| {
        matches!(e, TextError::MalformedUpdate { .. })
    });
}

#[test]
fn every_truncation_of_a_real_update_is_refused() {
    let mut doc = server();
    let update = replica(&doc).splice("body", 6, 2, "ünï 🎉").unwrap();
    for len in 0..update.len() {
        assert_refused(&mut doc, &update[..len], |e| {
            matches!(e, TextError::MalformedUpdate { .. })
        });
    }
    doc.merge(&update).unwrap();
    assert_eq!(doc.field("body").unwrap(), "héllo ünï 🎉wörld");
}

#[test]
fn map_entries_are_not_text() {
    let mut doc = server();
    let map_doc = Doc::with_client_id(5);
    let map = map_doc.get_or_insert_map("body");
    let update = {
        let mut txn = map_doc.transact_mut();
        map.insert(&mut txn, "key", "value");
        txn.encode_update_v1()
    };
    assert_refused(&mut doc, &update, |e| {
        matches!(
            e,
            TextError::NotText {
                content: "a map entry",
                ..
            }
        )
    });
}

#[test]
fn arrays_and_nested_types_are_not_text() {
    let mut doc = server();
    let array_doc = Doc::with_client_id(5);
    let array = array_doc.get_or_insert_array("body");
    let update = {
        let mut txn = array_doc.transact_mut();
        array.insert(&mut txn, 0, ArrayPrelim::from(["nested"]));
        txn.encode_update_v1()
    };
    assert_refused(&mut doc, &update, |e| {
        matches!(
            e,
            TextError::NotText {
                content: "a nested type",
                ..
            }
        )
    });
    let values = {
        let mut txn = array_doc.transact_mut();
        array.push_back(&mut txn, 42);
        txn.encode_update_v1()
    };
    assert_refused(&mut doc, &values, |e| {
        matches!(e, TextError::NotText { .. })
    });
}

#[test]
fn embeds_in_text_are_refused_and_formatting_is_kept() {
    let mut doc = server();
    let rich = Doc::with_client_id(5);
    let text = rich.get_or_insert_text("body");
    let embed = {
        let mut txn = rich.transact_mut();
        text.insert_embed(&mut txn, 0, yrs::Any::from(true));
        txn.encode_update_v1()
    };
    assert_refused(&mut doc, &embed, |e| {
        matches!(
            e,
            TextError::NotText {
                content: "an embed",
                ..
            }
        )
    });
    // Formatting marks are text-field content Quill bindings produce: they
    // merge, and GET still shows the plain text.
    let bold_doc = Doc::with_client_id(6);
    let bold_text = bold_doc.get_or_insert_text("notes");
    let bold = {
        let mut txn = bold_doc.transact_mut();
        bold_text.insert(&mut txn, 0, "bold");
        bold_text.format(&mut txn, 0, 4, Attrs::from([("b".into(), true.into())]));
        txn.encode_update_v1()
    };
    assert_eq!(doc.merge(&bold).unwrap().status, MergeStatus::Integrated);
    assert_eq!(doc.field("notes").unwrap(), "bold");
}

#[test]
fn updates_claiming_the_servers_own_client_id_are_refused() {
    let mut doc = server();
    // Client 1 (the server) has written 22 clock ticks; claim the next one.
    let forged = [1, 1, 1, 22, 4, 1, 4, b'b', b'o', b'd', b'y', 1, b'x', 0];
    assert_refused(&mut doc, &forged, |e| {
        *e == TextError::ForeignOwnEdits { client_id: 1 }
    });
    // Deleting ahead of the server's clock would delete its future edits.
    let forged_delete = [0, 1, 1, 1, 30, 2];
    assert_refused(&mut doc, &forged_delete, |e| {
        matches!(e, TextError::ForeignOwnEdits { .. })
    });
}

#[test]
fn text_placed_against_inconsistent_origins_is_refused() {
    // Found by fuzzing (fuzz/fuzz_targets/text_merge.rs): a real splice
    // update whose right origin was changed from 1#6 to 1#4, left of its
    // left origin 1#5. yrs places such text wherever its block splits
    // happen to lead, so it would land elsewhere after every reload.
    let mut doc = server();
    let mut update = replica(&doc).splice("body", 6, 2, "ünï 🎉").unwrap();
    assert_eq!(update[8], 6, "the right origin's clock byte moved");
    update[8] = 4;
    assert_refused(&mut doc, &update, |e| *e == TextError::Unstable);
}

#[test]
fn items_inside_nested_types_and_bad_field_names_are_refused() {
    let mut doc = server();
    // An item whose parent is given by id (a nested type).
    let nested = [1, 1, 5, 0, 4, 0, 1, 0, 1, b'x', 0];
    assert_refused(&mut doc, &nested, |e| {
        matches!(e, TextError::NotText { .. })
    });
    let mut long_name = vec![1, 1, 5, 0, 4, 1];
    long_name.extend(varint(300));
    long_name.extend(std::iter::repeat_n(b'n', 300));
    long_name.extend([1, b'x', 0]);
    assert_refused(&mut doc, &long_name, |e| {
        matches!(e, TextError::FieldNameTooLong { bytes: 300, .. })
    });
}

#[test]
fn limits_bound_what_merges_may_add() {
    let limits = TextLimits {
        fields_max: 2,
        document_chars_max: 30,
        update_bytes_max: 64,
        pending_bytes_max: 40,
        ..TextLimits::default()
    };
    let mut doc = TextDoc::from_state(&server().encode_state().unwrap(), &[], 9, limits).unwrap();
    let mut writer = replica(&doc);
    let third_field = writer.splice("third", 0, 0, "x").unwrap();
    assert_refused(&mut doc, &third_field, |e| {
        *e == TextError::TooManyFields { fields_max: 2 }
    });
    let mut writer = replica(&doc);
    let long_text = writer.splice("body", 0, 0, "0123456789abcdefghij").unwrap();
    assert_refused(&mut doc, &long_text, |e| {
        matches!(e, TextError::TextTooLarge { .. })
    });
    let mut writer = replica(&doc);
    let huge = writer.splice("body", 0, 0, &"y".repeat(100)).unwrap();
    assert_refused(&mut doc, &huge, |e| {
        matches!(e, TextError::UpdateTooLarge { bytes_max: 64, .. })
    });
    // Updates that wait for missing edits are bounded too.
    let mut writer = replica(&doc);
    let first = writer.splice("body", 0, 0, "a").unwrap();
    let mut waiting = Vec::new();
    for i in 0..4 {
        waiting.push(writer.splice("body", i + 1, 0, "b").unwrap());
    }
    for update in &waiting[..3] {
        assert_eq!(doc.merge(update).unwrap().status, MergeStatus::Held);
    }
    assert_refused(&mut doc, &waiting[3], |e| {
        matches!(e, TextError::PendingTooLarge { .. })
    });
    doc.merge(&first).unwrap();
    doc.merge(&waiting[3]).unwrap();
    assert!(!doc.has_pending());
    assert_eq!(doc.field("body").unwrap(), "abbbbhéllo 😀 wörld");
}

#[test]
fn a_document_full_of_hostile_refusals_still_syncs() {
    let mut doc = server();
    for bytes in [&[0xff][..], &[1, 1, 1], &[0, 1], &[9; 12]] {
        assert!(doc.merge(bytes).is_err());
    }
    let mut other = TextDoc::new(3, TextLimits::default()).unwrap();
    other
        .merge(&doc.diff(&other.state_vector()).unwrap())
        .unwrap();
    assert_eq!(
        other.to_json(),
        json!({"body": "héllo 😀 wörld", "title": "𝄞 notes"})
    );
}

#[test]
fn a_stored_state_holding_inconsistent_origins_still_loads() {
    // The inconsistent-origins update above, applied by plain yrs and
    // stored: merging refuses such text, but what was stored stays
    // readable and persistable.
    let doc = server();
    let mut update = replica(&doc).splice("body", 6, 2, "ünï 🎉").unwrap();
    update[8] = 4;
    let plain = Doc::with_client_id(7);
    for bytes in [doc.encode_state().unwrap(), update] {
        plain
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
            .unwrap();
    }
    let state = plain
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let loaded = TextDoc::from_state(&state, &[], 99, TextLimits::default()).unwrap();
    assert!(loaded.field("body").unwrap().contains("ünï 🎉"));
    let again = loaded.encode_state().unwrap();
    TextDoc::from_state(&again, &[], 100, TextLimits::default()).unwrap();
}
