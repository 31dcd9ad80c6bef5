//! Replica sync: state vectors, diffs and merging replica updates, in
//! standard Yjs v1 encoding.
//!
//! This is the replica half of the text commands: a client that kept a
//! replica (browser Yjs, pycrdt, yrs) asks for what it is missing with its
//! state vector ([`TextDoc::diff`]) and hands in its own edits as an update
//! ([`TextDoc::merge`], or many at once with [`TextDoc::merge_batch`]).
//!
//! A merge runs every incoming update through the structural check
//! (`validate`), integrates the ones the document can take whole
//! through the verified path (`verify`), and holds back the ones
//! that build on edits not yet received (`held`) until those
//! arrive, in any order. Merging is idempotent and commutative: the same
//! updates in any order, duplicates included, give the same document.
//!
//! # What readers see of held updates
//!
//! Nothing, until they integrate: GET shows integrated text only, the state
//! vector counts integrated edits only (so replicas resend what the server
//! lacks), and a diff holds integrated edits only. Held updates are bounded
//! by [`TextLimits::pending_bytes_max`](super::TextLimits) and persisted
//! beside the state (see [`super::persist`]).

use std::borrow::Cow;

use yrs::updates::encoder::Encode;
use yrs::{ClientID, ReadTxn, StateVector, Transact};

use super::error::TextError;
use super::held::{Clocks, HeldUpdate};
use super::validate::{self, UpdateSummary};
use super::verify::contained;
use super::TextDoc;

/// What became of one merged update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeStatus {
    /// Its edits are integrated (some may have been known already).
    /// Persist [`Merged::update`] (or the update itself).
    Integrated,
    /// It builds on edits the document has not received and waits for
    /// them, invisible. Persist it as received (see
    /// [`TextDoc::pending_updates`]).
    Held,
    /// It carried nothing the document lacks. Nothing to persist.
    Duplicate,
}

/// What [`TextDoc::merge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// What became of the update.
    pub status: MergeStatus,
    /// The Yjs v1 update of what the merge integrated: this update's edits
    /// and any held ones it unblocked. Empty when nothing changed. This is
    /// what subscribers are sent and what to persist.
    pub update: Vec<u8>,
}

/// An update a merge considers: an incoming one or one held before.
struct Candidate<'a> {
    bytes: Cow<'a, [u8]>,
    summary: UpdateSummary,
    /// The index of an incoming update; `None` for one held before.
    incoming: Option<usize>,
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

    /// Merges a Yjs v1 update from a replica. A refused update changes
    /// nothing.
    pub fn merge(&mut self, update: &[u8]) -> Result<Merged, TextError> {
        let (mut results, update) = self.merge_batch(&[update]);
        let status = results.pop().unwrap_or(Ok(MergeStatus::Duplicate))?;
        Ok(Merged { status, update })
    }

    /// Merges many Yjs v1 updates at once, in one transaction with one
    /// reload proof, so a shard can merge a document's queued replica
    /// updates per loop turn at about the cost of one merge. Returns what
    /// became of each update, and one v1 update of everything integrated
    /// (empty when nothing). A refused update changes nothing and does not
    /// affect the others.
    pub fn merge_batch(
        &mut self,
        updates: &[&[u8]],
    ) -> (Vec<Result<MergeStatus, TextError>>, Vec<u8>) {
        let mut clocks = Clocks::of(&self.doc);
        let mut waiting: Vec<Candidate> = std::mem::take(&mut self.held)
            .into_iter()
            .map(|held| Candidate {
                bytes: Cow::Owned(held.bytes),
                summary: held.summary,
                incoming: None,
            })
            .collect();
        let mut results = Vec::with_capacity(updates.len());
        for (i, &update) in updates.iter().enumerate() {
            let result = self.check_incoming(update).map(|summary| {
                if clocks.knows_all(&summary) {
                    return MergeStatus::Duplicate;
                }
                waiting.push(Candidate {
                    bytes: Cow::Borrowed(update),
                    summary,
                    incoming: Some(i),
                });
                MergeStatus::Held
            });
            results.push(result);
        }
        let plan = take_applicable(&mut waiting, &mut clocks);
        let update = self.integrate(plan, &mut waiting, &mut results);
        self.hold(waiting, &mut results);
        (results, update)
    }

    /// Checks an incoming update: its structure, and that it claims no
    /// edits under this document's own client id beyond what it wrote
    /// (integrating those would make its next local edits collide).
    fn check_incoming(&self, update: &[u8]) -> Result<UpdateSummary, TextError> {
        let summary = validate::check_update(update, &self.limits)?;
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
        Ok(summary)
    }

    /// Integrates the planned updates, all at once if they pass together,
    /// else one by one so a failing one is found and the others still
    /// integrate. Updates that can no longer apply (what they build on
    /// failed) go back to `waiting`. Returns the v1 update of what was
    /// integrated.
    fn integrate<'a>(
        &mut self,
        plan: Vec<Candidate<'a>>,
        waiting: &mut Vec<Candidate<'a>>,
        results: &mut [Result<MergeStatus, TextError>],
    ) -> Vec<u8> {
        if plan.is_empty() {
            return Vec::new();
        }
        let all: Vec<&[u8]> = plan.iter().map(|c| c.bytes.as_ref()).collect();
        let before = self.doc.transact().state_vector();
        let failure = match self.merge_verified(&all) {
            Ok(update) => {
                mark_integrated(&plan, results);
                return update;
            }
            Err(error) => error,
        };
        if let [only] = plan.as_slice() {
            if let Some(i) = only.incoming {
                results[i] = Err(failure);
            }
            return Vec::new();
        }
        for candidate in plan {
            if !Clocks::of(&self.doc).can_apply(&candidate.summary) {
                waiting.push(candidate);
                continue;
            }
            match self.merge_verified(&[candidate.bytes.as_ref()]) {
                Ok(_) => mark_integrated(std::slice::from_ref(&candidate), results),
                // A held update that fails is dropped: it can never apply.
                Err(error) => {
                    if let Some(i) = candidate.incoming {
                        results[i] = Err(error);
                    }
                }
            }
        }
        self.changes_since(&before)
    }

    /// What the document integrated since it had `state_vector`, as one
    /// update (empty when nothing): the new edits and the whole delete set.
    fn changes_since(&self, state_vector: &StateVector) -> Vec<u8> {
        let txn = self.doc.transact();
        if txn.state_vector() == *state_vector {
            return Vec::new();
        }
        contained("state", || Ok(txn.encode_diff_v1(state_vector))).unwrap_or_default()
    }

    /// Keeps the updates still waiting, within
    /// [`TextLimits::pending_bytes_max`](super::TextLimits): those held
    /// before first, then new ones in order; a new one that does not fit is
    /// refused, and one identical to an update already held is not kept
    /// twice.
    fn hold(&mut self, waiting: Vec<Candidate>, results: &mut [Result<MergeStatus, TextError>]) {
        let (mut held, mut held_bytes) = (Vec::new(), 0);
        let (old, new): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|c| c.incoming.is_none());
        for candidate in old.into_iter().chain(new) {
            let bytes = candidate.bytes.len();
            let known = held
                .iter()
                .any(|h: &HeldUpdate| h.bytes == candidate.bytes.as_ref());
            let fits = held_bytes + bytes <= self.limits.pending_bytes_max;
            match candidate.incoming {
                Some(i) if !known && !fits => {
                    results[i] = Err(TextError::PendingTooLarge {
                        bytes: held_bytes + bytes,
                        bytes_max: self.limits.pending_bytes_max,
                    });
                }
                _ if known => {}
                _ => {
                    held_bytes += bytes;
                    held.push(HeldUpdate {
                        bytes: candidate.bytes.into_owned(),
                        summary: candidate.summary,
                    });
                }
            }
        }
        self.held = held;
    }
}

/// Moves every waiting update that can apply, given what the document and
/// the updates planned before it hold, into the plan, in an order where
/// each one's dependencies come first.
fn take_applicable<'a>(
    waiting: &mut Vec<Candidate<'a>>,
    clocks: &mut Clocks,
) -> Vec<Candidate<'a>> {
    let mut plan = Vec::new();
    loop {
        let (ready, still): (Vec<_>, Vec<_>) = std::mem::take(waiting)
            .into_iter()
            .partition(|c| clocks.can_apply(&c.summary));
        *waiting = still;
        if ready.is_empty() {
            return plan;
        }
        for candidate in &ready {
            clocks.advance(&candidate.summary);
        }
        plan.extend(ready);
    }
}

/// Marks the incoming updates among `integrated` as integrated.
fn mark_integrated(integrated: &[Candidate], results: &mut [Result<MergeStatus, TextError>]) {
    for candidate in integrated {
        if let Some(i) = candidate.incoming {
            results[i] = Ok(MergeStatus::Integrated);
        }
    }
}
