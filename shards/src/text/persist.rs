//! What a shard persists of a crdt-text document, and rebuilding from it.
//!
//! The persisted form is the document's integrated state as one standard
//! Yjs v1 update ([`TextDoc::encode_state`]; any Yjs implementation can load
//! it) plus the updates held back waiting for edits they build on
//! ([`TextDoc::pending_updates`], each as received). [`TextDoc::from_state`]
//! rebuilds from both: the held updates are held again until what they wait
//! for arrives. Held updates are not merged into the state because yrs 0.28
//! corrupts clocks when it merges an update with gaps into another (see
//! `held`).

use super::error::TextError;
use super::held::Clocks;
use super::limits::TextLimits;
use super::validate;
use super::verify::{contained, encode, load, refused};
use super::{check_client_id, FieldIndex, TextDoc};

impl TextDoc {
    /// The document's integrated state as one Yjs v1 update: what to
    /// persist (with [`TextDoc::pending_updates`]), and what
    /// [`TextDoc::from_state`] rebuilds from.
    ///
    /// The document only ever takes states proven to encode, so this fails
    /// only if yrs panics on state it built itself (a yrs bug, contained).
    pub fn encode_state(&self) -> Result<Vec<u8>, TextError> {
        contained("state", || Ok(encode(&self.doc)))
    }

    /// The updates held back because they build on edits the document has
    /// not received, each as it arrived. Persist them beside
    /// [`TextDoc::encode_state`]; they are not part of it.
    pub fn pending_updates(&self) -> impl Iterator<Item = &[u8]> {
        self.held.iter().map(|held| held.bytes.as_slice())
    }

    /// Whether any update is held back waiting for edits it builds on.
    pub fn has_pending(&self) -> bool {
        !self.held.is_empty()
    }

    /// Rebuilds a document from what was persisted: a state
    /// [`TextDoc::encode_state`] produced (or any v1 update holding only
    /// text and all it builds on) and the held updates
    /// [`TextDoc::pending_updates`] listed. It writes from now on under
    /// `client_id`, which must be fresh: an id that already appears in the
    /// state or the held updates is refused with
    /// [`TextError::ClientIdInUse`].
    ///
    /// The state passes the same structural check as merged updates, except
    /// the update size and field and text limits, which bound growth and do
    /// not apply to what was already accepted; the loaded document is
    /// proven to encode again. Unlike a merge, a load does not refuse text
    /// placed against inconsistent origins ([`TextError::Unstable`]): what
    /// was stored stays readable. Held updates are merged back and held again;
    /// one the limits now refuse is dropped (it was never visible, and
    /// replicas resend what the state vector lacks).
    pub fn from_state(
        state: &[u8],
        pending: &[&[u8]],
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
        if !Clocks::default().can_apply(&summary) {
            return Err(refused("state", "it builds on edits it does not hold"));
        }
        let held: Vec<_> = pending
            .iter()
            .filter_map(|update| validate::check_update(update, &limits).ok())
            .collect();
        let in_use = std::iter::once(&summary)
            .chain(&held)
            .flat_map(|summary| summary.structs.iter().chain(&summary.deletes))
            .any(|range| range.client == client_id);
        if in_use {
            return Err(TextError::ClientIdInUse(client_id));
        }
        let doc = contained("state", || {
            let loaded = load(state, client_id)?;
            // Prove the loaded document encodes again.
            encode(&loaded);
            Ok(loaded)
        })?;
        let fields = FieldIndex::of(&doc);
        let mut rebuilt = TextDoc {
            doc,
            client_id,
            limits,
            fields,
            held: Vec::new(),
        };
        rebuilt.merge_batch(pending);
        Ok(rebuilt)
    }
}
