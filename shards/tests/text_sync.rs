//! Replica sync of crdt-text documents with other Yjs implementations
//! (plain yrs documents stand in for browser Yjs and pycrdt), held updates
//! delivered out of order, client ids across reloads, and persistence.

use serde_json::json;
use ussl_shards::text::{MergeStatus, TextDoc, TextEdit, TextError, TextLimits, CLIENT_ID_MAX};
use yrs::types::text::YChange;
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

fn doc(client_id: u64) -> TextDoc {
    TextDoc::new(client_id, TextLimits::default()).unwrap()
}

/// Brings a plain yrs document up to date with `server`.
fn pull(replica: &Doc, server: &TextDoc) {
    let state_vector = replica.transact().state_vector().encode_v1();
    let diff = server.diff(&state_vector).unwrap();
    replica
        .transact_mut()
        .apply_update(Update::decode_v1(&diff).unwrap())
        .unwrap();
}

/// Hands a plain yrs document's edits to `server`.
fn push(replica: &Doc, server: &mut TextDoc) -> MergeStatus {
    let state_vector = StateVector::decode_v1(&server.state_vector()).unwrap();
    let update = replica.transact().encode_diff_v1(&state_vector);
    server.merge(&update).unwrap().status
}

#[test]
fn a_yrs_replica_and_the_server_edit_in_code_points_and_converge() {
    let mut server = doc(1);
    server.replace("content", "naïve 😀 café").unwrap();
    let replica = Doc::with_client_id(2);
    let text = replica.get_or_insert_text("content");
    pull(&replica, &server);
    assert_eq!(text.get_string(&replica.transact()), "naïve 😀 café");
    // The replica counts UTF-8 bytes (yrs's default); the server code points.
    {
        let mut txn = replica.transact_mut();
        let at = "naïve 😀 ".len() as u32;
        text.insert(&mut txn, at, "🎉 ");
    }
    server.splice("content", 0, 5, "Naive").unwrap();
    assert_eq!(push(&replica, &mut server), MergeStatus::Integrated);
    pull(&replica, &server);
    let expected = "Naive 😀 🎉 café";
    assert_eq!(server.field("content").unwrap(), expected);
    assert_eq!(text.get_string(&replica.transact()), expected);
    assert_eq!(server.field_len("content"), expected.chars().count());
    // Positions after astral characters count them once.
    server.splice("content", 8, 2, "").unwrap();
    assert_eq!(server.field("content").unwrap(), "Naive 😀 café");
}

#[test]
fn updates_delivered_out_of_order_wait_invisibly_and_survive_a_reload() {
    let mut writer = doc(2);
    let first = writer.splice("notes", 0, 0, "hello").unwrap();
    let second = writer.splice("notes", 5, 0, " world").unwrap();
    let third = writer.splice("notes", 0, 1, "H").unwrap();
    let mut server = doc(1);
    assert_eq!(server.merge(&third).unwrap().status, MergeStatus::Held);
    assert_eq!(server.merge(&second).unwrap().status, MergeStatus::Held);
    assert_eq!(server.to_json(), json!({}));
    assert!(server.has_pending());
    assert_eq!(server.pending_updates().count(), 2);
    // A held update sent again is not kept twice.
    assert_eq!(server.merge(&second).unwrap().status, MergeStatus::Held);
    assert_eq!(server.pending_updates().count(), 2);
    // The state holds integrated edits only; held updates persist beside it.
    let state = server.encode_state().unwrap();
    let held: Vec<Vec<u8>> = server.pending_updates().map(<[u8]>::to_vec).collect();
    let parts: Vec<&[u8]> = held.iter().map(Vec::as_slice).collect();
    let mut reloaded = TextDoc::from_state(&state, &parts, 3, TextLimits::default()).unwrap();
    assert_eq!(reloaded.to_json(), json!({}));
    assert_eq!(reloaded.pending_updates().count(), 2);
    // A fresh id must not appear in the held updates either.
    assert_eq!(
        TextDoc::from_state(&state, &parts, 2, TextLimits::default()).unwrap_err(),
        TextError::ClientIdInUse(2)
    );
    let merged = reloaded.merge(&first).unwrap();
    assert_eq!(merged.status, MergeStatus::Integrated);
    assert!(!reloaded.has_pending());
    assert_eq!(reloaded.field("notes").unwrap(), "Hello world");
    // The returned update carries the unblocked edits too.
    let mut subscriber = doc(4);
    subscriber.merge(&merged.update).unwrap();
    assert_eq!(subscriber.to_json(), reloaded.to_json());
}

#[test]
fn merging_in_any_order_and_twice_gives_the_same_document() {
    let mut a = doc(2);
    let mut b = doc(3);
    let mut updates = vec![
        a.splice("t", 0, 0, "abc").unwrap(),
        b.splice("t", 0, 0, "xyz").unwrap(),
        b.splice("u", 0, 0, "ü").unwrap(),
    ];
    updates.push(a.splice("t", 1, 1, "B").unwrap());
    updates.push(a.clear("t").unwrap());
    updates.push(b.splice("t", 3, 0, "!").unwrap());
    let orders: [&[usize]; 4] = [
        &[0, 1, 2, 3, 4, 5],
        &[5, 4, 3, 2, 1, 0],
        &[3, 5, 0, 4, 1, 2],
        &[4, 4, 0, 3, 3, 2, 1, 5, 0],
    ];
    let mut results = Vec::new();
    for order in orders {
        let mut server = doc(1);
        for &i in order {
            server.merge(&updates[i]).unwrap();
        }
        assert!(!server.has_pending(), "order {order:?}");
        results.push(server.to_json());
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    assert_eq!(results[0], json!({"t": "xyz!", "u": "ü"}));
}

#[test]
fn a_reloaded_server_keeps_syncing_with_a_replica_that_synced_before() {
    let mut server = doc(1);
    server.replace("notes", "shared").unwrap();
    let mut replica = doc(2);
    replica
        .merge(&server.diff(&replica.state_vector()).unwrap())
        .unwrap();
    let state = server.encode_state().unwrap();
    // The server restarts under a fresh client id.
    let mut server = TextDoc::from_state(&state, &[], 3, TextLimits::default()).unwrap();
    server.splice("notes", 6, 0, " text").unwrap();
    let from_replica = replica.splice("notes", 0, 0, "our ").unwrap();
    server.merge(&from_replica).unwrap();
    replica
        .merge(&server.diff(&replica.state_vector()).unwrap())
        .unwrap();
    assert_eq!(server.field("notes").unwrap(), "our shared text");
    assert_eq!(replica.to_json(), server.to_json());
}

#[test]
fn client_ids_are_53_bit_and_never_reused_on_load() {
    assert_eq!(
        TextDoc::new(CLIENT_ID_MAX + 1, TextLimits::default()).unwrap_err(),
        TextError::InvalidClientId(CLIENT_ID_MAX + 1)
    );
    let mut server = doc(CLIENT_ID_MAX);
    server.replace("t", "x").unwrap();
    let state = server.encode_state().unwrap();
    assert_eq!(
        TextDoc::from_state(&state, &[], CLIENT_ID_MAX, TextLimits::default()).unwrap_err(),
        TextError::ClientIdInUse(CLIENT_ID_MAX)
    );
    let reloaded = TextDoc::from_state(&state, &[], 7, TextLimits::default()).unwrap();
    assert_eq!(reloaded.client_id(), 7);
    assert_eq!(reloaded.to_json(), json!({"t": "x"}));
}

#[test]
fn a_state_with_gaps_does_not_load() {
    let mut writer = doc(2);
    writer.splice("t", 0, 0, "a").unwrap();
    let second = writer.splice("t", 1, 0, "b").unwrap();
    let error = TextDoc::from_state(&second, &[], 3, TextLimits::default()).unwrap_err();
    assert!(
        matches!(error, TextError::Refused { what: "state", .. }),
        "{error}"
    );
}

#[test]
fn the_state_loads_in_plain_yrs() {
    let mut server = doc(1);
    server.replace("a", "alpha 😀").unwrap();
    server.replace("b", "beta").unwrap();
    let replica = Doc::new();
    replica
        .transact_mut()
        .apply_update(Update::decode_v1(&server.encode_state().unwrap()).unwrap())
        .unwrap();
    let txn = replica.transact();
    assert_eq!(txn.get_text("a").unwrap().get_string(&txn), "alpha 😀");
    assert_eq!(txn.get_text("b").unwrap().get_string(&txn), "beta");
}

/// Text typed inside a bold range from a rich-text replica stays bold,
/// whether it arrives as one splice or in a batch.
#[test]
fn edits_inside_formatting_inherit_it_singly_and_batched() {
    let rich = Doc::with_client_id(2);
    let text = rich.get_or_insert_text("body");
    {
        let mut txn = rich.transact_mut();
        text.insert(&mut txn, 0, "plain bold plain");
        text.format(&mut txn, 6, 4, Attrs::from([("b".into(), true.into())]));
    }
    let mut single = doc(1);
    let mut batched = doc(3);
    for server in [&mut single, &mut batched] {
        assert_eq!(push(&rich, server), MergeStatus::Integrated);
    }
    single.splice("body", 8, 0, "X").unwrap();
    single.splice("body", 9, 0, "Y").unwrap();
    let edits = [8, 9].map(|index| TextEdit::Splice {
        field: "body".into(),
        index,
        delete: 0,
        insert: if index == 8 { "X" } else { "Y" }.into(),
    });
    let (results, _) = batched.apply_batch(&edits);
    assert_eq!(results, vec![Ok(17), Ok(18)]);
    for server in [&single, &batched] {
        assert_eq!(server.field("body").unwrap(), "plain boXYld plain");
        let replica = Doc::with_client_id(4);
        let body = replica.get_or_insert_text("body");
        pull(&replica, server);
        let txn = replica.transact();
        let chunks = body.diff(&txn, YChange::identity);
        let bold: String = chunks
            .iter()
            .filter(|chunk| chunk.attributes.is_some())
            .map(|chunk| chunk.insert.clone().to_string(&txn))
            .collect();
        assert_eq!(bold, "boXYld");
    }
}
