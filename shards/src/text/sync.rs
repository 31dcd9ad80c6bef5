//! Replica sync and persistence: state vectors, diffs, merges, and the
//! document's full state, all in standard Yjs v1 encoding.
//!
//! This is the replica half of the text commands: a client that kept a
//! replica (browser Yjs, pycrdt, yrs) asks for what it is missing with its
//! state vector ([`TextDoc::diff`]) and hands in its own edits as an update
//! ([`TextDoc::merge`]); the shard persists [`TextDoc::encode_state`] and
//! rebuilds with [`TextDoc::from_state`].
//!
//! # Hostile input
//!
//! Incoming bytes first pass [`super::validate`], a bounded structural check
//! that refuses malformed v1 and anything but text. Then, because yrs 0.28
//! still has inputs after which encoding the document panics, a merge is
//! never applied to the live document directly: it is applied to a scratch
//! copy rebuilt from the current state, the result is encoded and that
//! encoding is loaded again, all under `catch_unwind`. Only if every step
//! succeeds does the reloaded copy replace the live document, so the live
//! document always encodes, and what it encodes always loads: a restart
//! cannot meet a state that fails. The price is a few passes over the whole
//! document per merge that brings something new (see `bench/RESULTS.md`);
//! merges of nothing new (a resent update) skip them.
//!
//! On wasm32 a panic aborts instead of unwinding, so there the structural
//! check is the only guard.
//!
//! # Pending updates
//!
//! An update whose dependencies (edits it builds on) have not arrived yet
//! cannot be integrated. yrs keeps it pending and integrates it once they
//! arrive, in any order. Pending edits are invisible: GET shows only
//! integrated text, the state vector does not count them (so replicas resend
//! what they build on), and [`Merged::update`] does not hold them until they
//! integrate. [`TextDoc::encode_state`] does include them, so a document
//! rebuilt from its state still integrates them when the dependencies come.
//! Their size is bounded by [`TextLimits::pending_bytes_max`].

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update, WriteTxn};

use super::error::TextError;
use super::limits::TextLimits;
use super::validate::{self, UpdateSummary};
use super::{check_client_id, yrs_options, FieldIndex, TextDoc};

/// What [`TextDoc::merge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// The Yjs v1 update of what became visible: the edits integrated by
    /// this merge, including earlier pending ones it unblocked. Empty when
    /// nothing changed. This is what subscribers are sent.
    pub update: Vec<u8>,
    /// Whether the document holds pending (not yet integrated) edits after
    /// this merge. While it does, `update` does not capture everything the
    /// merge stored: persist the merged update itself, or
    /// [`TextDoc::encode_state`], rather than only `update`.
    pub pending: bool,
}

impl TextDoc {
    /// The document's Yjs v1 state vector: how many edits of each client it
    /// has integrated.
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// The Yjs v1 update holding every integrated edit that the holder of
    /// `state_vector` (a v1 state vector) is missing.
    pub fn diff(&self, state_vector: &[u8]) -> Result<Vec<u8>, TextError> {
        let state_vector = validate::decode_state_vector(state_vector, &self.limits)?;
        contained("state vector", || {
            Ok(self.doc.transact().encode_diff_v1(&state_vector))
        })
    }

    /// Merges a Yjs v1 update from a replica. Merging is idempotent and
    /// commutative: the same update twice, or updates in any order, give the
    /// same state. A refused update changes nothing.
    pub fn merge(&mut self, update: &[u8]) -> Result<Merged, TextError> {
        let summary = validate::check_update(update, &self.limits)?;
        self.check_own_edits(&summary)?;
        if self.knows_all(&summary) {
            return Ok(Merged {
                update: Vec::new(),
                pending: self.has_pending(),
            });
        }
        let backup = self.encode_state()?;
        let client_id = self.client_id;
        let doc = &self.doc;
        let applied = contained("update", || {
            let changes = apply(doc, update)?;
            let state = doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            let reloaded = load(&state, client_id)?;
            let pending_bytes = reloaded
                .transact_mut()
                .prune_pending()
                .map_or(0, |pending| pending.encode_v1().len());
            Ok((changes, pending_bytes, FieldIndex::of(doc)))
        });
        let checked = applied.and_then(|(changes, pending_bytes, fields)| {
            self.check_growth(&fields, pending_bytes)?;
            let merged = Merged {
                update: changes,
                pending: pending_bytes > 0,
            };
            Ok((merged, fields))
        });
        match checked {
            Ok((merged, fields)) => {
                self.fields = fields;
                Ok(merged)
            }
            Err(error) => {
                // The live document took the update (or part of it before a
                // contained panic): put back the state from before it, which
                // was proven to load when it was taken.
                self.doc = contained("state", || load(&backup, client_id))?;
                Err(error)
            }
        }
    }

    /// Whether the document holds edits waiting for edits they depend on.
    pub fn has_pending(&self) -> bool {
        self.doc.transact().has_missing_updates()
    }

    /// The document's full state as one Yjs v1 update, pending edits
    /// included: what to persist, and what [`TextDoc::from_state`] rebuilds
    /// from. Any Yjs replica can also load it.
    ///
    /// The document only ever takes states proven to encode, so this fails
    /// only if yrs panics on state it built itself (a yrs bug, contained).
    pub fn encode_state(&self) -> Result<Vec<u8>, TextError> {
        contained("state", || {
            Ok(self
                .doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default()))
        })
    }

    /// Rebuilds a document from a state [`TextDoc::encode_state`] produced
    /// (or any v1 update holding only text), writing from now on under
    /// `client_id`, which must be fresh: an id that already appears in the
    /// state is refused with [`TextError::ClientIdInUse`].
    ///
    /// The state passes the same structural check as merged updates, except
    /// the update size and field and text limits, which bound growth and do
    /// not apply to what was already accepted.
    pub fn from_state(
        state: &[u8],
        client_id: u64,
        limits: TextLimits,
    ) -> Result<TextDoc, TextError> {
        check_client_id(client_id)?;
        let state_limits = TextLimits {
            update_bytes_max: usize::MAX,
            state_vector_entries_max: usize::MAX,
            ..limits
        };
        let summary = validate::check_update(state, &state_limits)?;
        if summary
            .structs
            .iter()
            .any(|range| range.client == client_id)
        {
            return Err(TextError::ClientIdInUse(client_id));
        }
        let doc = contained("state", || load(state, client_id))?;
        let fields = FieldIndex::of(&doc);
        Ok(TextDoc {
            doc,
            client_id,
            limits,
            fields,
        })
    }

    /// Refuses updates that claim edits (or deletions) under this
    /// document's own client id beyond what it wrote: integrating them would
    /// make its next local edits collide with them.
    fn check_own_edits(&self, summary: &UpdateSummary) -> Result<(), TextError> {
        let written = self
            .doc
            .transact()
            .state_vector()
            .get(&ClientID::new(self.client_id));
        let foreign = summary
            .structs
            .iter()
            .chain(&summary.deletes)
            .any(|range| range.client == self.client_id && range.end > written);
        if foreign {
            return Err(TextError::ForeignOwnEdits {
                client_id: self.client_id,
            });
        }
        Ok(())
    }

    /// Whether the document already holds everything `summary` describes:
    /// no deletions, and every struct below the document's clock for its
    /// client. Such an update (a resend) changes nothing.
    fn knows_all(&self, summary: &UpdateSummary) -> bool {
        if !summary.deletes.is_empty() {
            return false;
        }
        let state_vector = self.doc.transact().state_vector();
        summary
            .structs
            .iter()
            .all(|range| range.end <= state_vector.get(&ClientID::new(range.client)))
    }

    /// Refuses a merge result that grew the document past its limits. A
    /// bound is only enforced when the merge grows past it, so a document
    /// over a since-lowered limit can still take updates that shrink it.
    fn check_growth(&self, fields: &FieldIndex, pending_bytes: usize) -> Result<(), TextError> {
        let limits = &self.limits;
        if fields.chars > limits.chars_max() && fields.chars > self.fields.chars {
            return Err(TextError::TextTooLarge {
                chars: fields.chars,
                chars_max: limits.chars_max(),
            });
        }
        let field_count = fields.count;
        if field_count > limits.fields_max && field_count > self.fields.count {
            return Err(TextError::TooManyFields {
                fields_max: limits.fields_max,
            });
        }
        if pending_bytes > limits.pending_bytes_max {
            return Err(TextError::PendingTooLarge {
                bytes: pending_bytes,
                bytes_max: limits.pending_bytes_max,
            });
        }
        Ok(())
    }
}

/// Applies a v1 update to `doc` and returns the update of what became
/// visible (empty when nothing did). Call under [`contained`].
fn apply(doc: &Doc, update: &[u8]) -> Result<Vec<u8>, TextError> {
    let update = Update::decode_v1(update).map_err(|e| refused("update", e))?;
    let mut txn = doc.transact_mut();
    txn.apply_update(update).map_err(|e| refused("update", e))?;
    Ok(if txn.has_changes() {
        txn.encode_update_v1()
    } else {
        Vec::new()
    })
}

/// Loads a v1 state into a new yrs document writing under `client_id`.
/// Call under [`contained`]: yrs may panic on input it does not expect.
fn load(state: &[u8], client_id: u64) -> Result<Doc, TextError> {
    let doc = Doc::with_options(yrs_options(client_id));
    let update = Update::decode_v1(state).map_err(|e| refused("state", e))?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| refused("state", e))?;
    Ok(doc)
}

/// Wraps a yrs error.
fn refused(what: &'static str, error: impl std::fmt::Display) -> TextError {
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
fn contained<T>(
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
