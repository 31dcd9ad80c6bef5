//! Applying replica updates so that a yrs failure can never break the
//! document: every merge proves its result encodes and reloads.
//!
//! Incoming updates reach this step only after the structural check
//! ([`super::validate`]) and only once they can be integrated whole
//! ([`super::held`]). yrs 0.28 still has inputs after which encoding a
//! document panics, and its decoders and integration may panic on input it
//! does not expect. So [`TextDoc::merge_verified`] keeps the encoded state
//! from before, applies the updates, encodes the result and loads that
//! encoding into a fresh document, all under `catch_unwind`. Only if every
//! step succeeds, within the limits, does the reloaded document become the
//! live one; otherwise the state from before is loaded back. The live
//! document is therefore always exactly what a restart would rebuild from
//! its encoding, and that encoding always loads.
//!
//! The price is an encode and a load of the whole document per merge that
//! brings something new (see `bench/RESULTS.md`); batching merges
//! ([`TextDoc::merge_batch`]) pays it once for many updates. On wasm32 a
//! panic aborts instead of unwinding, so there the structural check is the
//! only guard.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::error::TextError;
use super::{yrs_options, FieldIndex, TextDoc};

impl TextDoc {
    /// Applies `updates` (checked, and applicable whole) in one transaction,
    /// proves the result encodes and reloads within the limits, and keeps
    /// the reloaded document; otherwise puts the document back as it was.
    /// Returns the v1 update of what the updates changed.
    pub(crate) fn merge_verified(&mut self, updates: &[&[u8]]) -> Result<Vec<u8>, TextError> {
        let backup = self.encode_state()?;
        let client_id = self.client_id;
        let doc = &self.doc;
        let applied = contained("update", || {
            let changes = apply(doc, updates)?;
            let state = encode(doc);
            let reloaded = load(&state, client_id)?;
            check_stable(doc, &state, &reloaded, client_id)?;
            let fields = FieldIndex::of(&reloaded);
            Ok((reloaded, changes, fields))
        });
        let checked = applied.and_then(|(reloaded, changes, fields)| {
            self.check_growth(&fields)?;
            Ok((reloaded, changes, fields))
        });
        match checked {
            Ok((reloaded, changes, fields)) => {
                self.doc = reloaded;
                self.fields = fields;
                Ok(changes)
            }
            Err(error) => {
                // The live document took the updates (or part of them before
                // a contained panic): put back the state from before, which
                // was proven to load when it was taken.
                self.doc = contained("state", || load(&backup, client_id))?;
                Err(error)
            }
        }
    }

    /// Refuses a merge result that grew the document past its limits. A
    /// bound is only enforced when the merge grows past it, so a document
    /// over a since-lowered limit can still take updates that shrink it.
    fn check_growth(&self, fields: &FieldIndex) -> Result<(), TextError> {
        let limits = &self.limits;
        if fields.chars > limits.chars_max() && fields.chars > self.fields.chars {
            return Err(TextError::TextTooLarge {
                chars: fields.chars,
                chars_max: limits.chars_max(),
            });
        }
        if fields.count > limits.fields_max && fields.count > self.fields.count {
            return Err(TextError::TooManyFields {
                fields_max: limits.fields_max,
            });
        }
        Ok(())
    }
}

/// Applies v1 updates to `doc` in one transaction and returns the update
/// of what they changed (empty when nothing). Call under [`contained`].
fn apply(doc: &Doc, updates: &[&[u8]]) -> Result<Vec<u8>, TextError> {
    let mut txn = doc.transact_mut();
    for update in updates {
        let update = Update::decode_v1(update).map_err(|e| refused("update", e))?;
        txn.apply_update(update).map_err(|e| refused("update", e))?;
    }
    Ok(if txn.has_changes() {
        txn.encode_update_v1()
    } else {
        Vec::new()
    })
}

/// Checks that text survives encoding and reloading: `reloaded` (loaded
/// from `state`, the encoding of `doc`) must read as `doc` does, and so
/// must a document loaded from `reloaded`'s own encoding when that differs
/// from `state`. An item whose right origin does not lie right of
/// its left origin (no honest replica makes one) lands wherever yrs's block
/// splitting happens to put it, so the text would move on every restart
/// and differ between replicas. Call under [`contained`].
fn check_stable(doc: &Doc, state: &[u8], reloaded: &Doc, client_id: u64) -> Result<(), TextError> {
    let text = TextDoc::json_of(reloaded);
    let mut stable = TextDoc::json_of(doc) == text;
    if stable {
        let again = encode(reloaded);
        if again != state {
            stable = TextDoc::json_of(&load(&again, client_id)?) == text;
        }
    }
    if stable {
        Ok(())
    } else {
        Err(TextError::Unstable)
    }
}

/// `doc`'s whole state as one v1 update. Call under [`contained`].
pub(crate) fn encode(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// Loads a v1 state into a new yrs document writing under `client_id`.
/// Call under [`contained`].
pub(crate) fn load(state: &[u8], client_id: u64) -> Result<Doc, TextError> {
    let doc = Doc::with_options(yrs_options(client_id));
    let update = Update::decode_v1(state).map_err(|e| refused("state", e))?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| refused("state", e))?;
    Ok(doc)
}

/// Wraps a yrs error.
pub(crate) fn refused(what: &'static str, error: impl std::fmt::Display) -> TextError {
    TextError::Refused {
        what,
        reason: error.to_string(),
    }
}

/// Runs `work`, turning a yrs panic into [`TextError::Refused`].
///
/// Only for work whose partial effects are thrown away on failure (scratch
/// documents, read-only encodes): a panic must never leave a half-changed
/// live document behind.
pub(crate) fn contained<T>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, TextError>,
) -> Result<T, TextError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        Err(TextError::Refused {
            what,
            reason: format!("internal failure: {}", panic_message(payload.as_ref())),
        })
    })
}

/// The message a panic carried, when it is text.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}
