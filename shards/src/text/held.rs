//! Updates held back until the edits they build on arrive.
//!
//! Replicas may deliver updates in any order, so an update can build on
//! edits the document has not seen: it continues a client's edits past a
//! gap, places text against an item not yet received, or deletes one. yrs
//! 0.28 integrates such updates partly out of order and keeps the rest
//! "pending", and encoding a document in that state can rewrite clocks and
//! lose edits (a bug in its update merging, reproduced in
//! `shards/tests/text_hostile.rs`). So the document never hands yrs an
//! update it cannot integrate whole: [`Clocks`] decides from an update's
//! [`UpdateSummary`] alone whether the document (plus the updates planned
//! before it) holds everything it builds on, and a [`HeldUpdate`] waits,
//! as received, until it does.
//!
//! It sits between the structural check ([`super::validate`]) and the
//! verified merge ([`super::sync`]).

use std::collections::HashMap;

use yrs::{Doc, ReadTxn, Transact};

use super::validate::UpdateSummary;

/// An update waiting for edits it builds on, kept as received.
#[derive(Debug, Clone)]
pub(crate) struct HeldUpdate {
    /// The update's Yjs v1 bytes.
    pub bytes: Vec<u8>,
    /// What the structural check learned about it.
    pub summary: UpdateSummary,
}

/// How far each client's edits reach (one past the last clock) in the
/// document plus the updates planned to be applied so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clocks(HashMap<u64, u32>);

impl Clocks {
    /// The document's clocks: its state vector.
    pub fn of(doc: &Doc) -> Clocks {
        let txn = doc.transact();
        Clocks(
            txn.state_vector()
                .iter()
                .map(|(client, &clock)| (client.get(), clock))
                .collect(),
        )
    }

    /// How far `client`'s edits reach.
    pub fn get(&self, client: u64) -> u32 {
        self.0.get(&client).copied().unwrap_or(0)
    }

    /// Whether the update adds nothing: it deletes nothing and every struct
    /// it carries is already held.
    pub fn knows_all(&self, summary: &UpdateSummary) -> bool {
        summary.deletes.is_empty()
            && summary
                .structs
                .iter()
                .all(|range| range.end <= self.get(range.client))
    }

    /// Whether the update can be integrated whole: each client's structs
    /// continue that client's edits without a gap (skipped ranges only over
    /// edits already held), and every item it places text against and every
    /// edit it deletes is held or arrives in the update itself.
    pub fn can_apply(&self, summary: &UpdateSummary) -> bool {
        let contiguous = summary
            .structs
            .iter()
            .all(|range| range.start <= self.get(range.client))
            && summary
                .skips
                .iter()
                .all(|range| range.end <= self.get(range.client));
        if !contiguous {
            return false;
        }
        let after = |client: u64| {
            let carried = summary
                .structs
                .iter()
                .filter(|range| range.client == client)
                .map(|range| range.end)
                .max()
                .unwrap_or(0);
            self.get(client).max(carried)
        };
        summary
            .references
            .iter()
            .all(|&(client, clock)| clock < after(client))
            && summary
                .deletes
                .iter()
                .all(|range| range.end <= after(range.client))
    }

    /// Records that the update will be applied.
    pub fn advance(&mut self, summary: &UpdateSummary) {
        for range in &summary.structs {
            let clock = self.0.entry(range.client).or_insert(0);
            *clock = (*clock).max(range.end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::validate::ClockRange;

    fn range(client: u64, start: u32, end: u32) -> ClockRange {
        ClockRange { client, start, end }
    }

    fn clocks(pairs: &[(u64, u32)]) -> Clocks {
        Clocks(pairs.iter().copied().collect())
    }

    #[test]
    fn a_gap_in_a_clients_edits_waits() {
        let summary = UpdateSummary {
            structs: vec![range(1, 5, 8)],
            ..UpdateSummary::default()
        };
        assert!(!clocks(&[(1, 4)]).can_apply(&summary));
        assert!(clocks(&[(1, 5)]).can_apply(&summary));
        assert!(clocks(&[(1, 6)]).can_apply(&summary));
        assert!(clocks(&[(1, 8)]).knows_all(&summary));
    }

    #[test]
    fn origins_and_deletes_must_be_held_or_carried() {
        let summary = UpdateSummary {
            structs: vec![range(1, 0, 3)],
            references: vec![(2, 4), (1, 1)],
            deletes: vec![range(3, 0, 2)],
            ..UpdateSummary::default()
        };
        assert!(!clocks(&[(2, 4), (3, 2)]).can_apply(&summary));
        assert!(!clocks(&[(2, 5), (3, 1)]).can_apply(&summary));
        let mut held = clocks(&[(2, 5), (3, 2)]);
        assert!(held.can_apply(&summary));
        held.advance(&summary);
        assert_eq!(held.get(1), 3);
    }

    #[test]
    fn skips_must_cover_held_edits() {
        let summary = UpdateSummary {
            structs: vec![range(1, 0, 10)],
            skips: vec![range(1, 3, 6)],
            ..UpdateSummary::default()
        };
        assert!(!clocks(&[(1, 5)]).can_apply(&summary));
        assert!(clocks(&[(1, 6)]).can_apply(&summary));
    }
}
