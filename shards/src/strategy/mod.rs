//! Merge strategies: how a document resolves concurrent writes, one module each.
//!
//! A document picks its strategy once, at CREATE. This module owns the names clients use;
//! the submodules hold each strategy's state and rules:
//!
//! - [`lww`]: a JSON tree of last-writer-wins registers stamped by a hybrid logical clock
//!   (`lww`), and the register engine [`map`] builds `crdt-map` on;
//! - [`counter`]: PN-counter fields (`crdt-counter`);
//! - [`set`]: add-wins observed-remove sets (`crdt-set`);
//! - [`fields`]: what counters and sets share, named fields shown as one JSON object;
//! - [`compact`]: the one-buffer form small `lww` and `crdt-map` documents are kept in.

pub mod compact;
pub mod counter;
pub mod fields;
pub mod lww;
pub mod map;
pub mod set;

use std::fmt;

use crate::error::StoreError;

/// How a document merges concurrent writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Last writer wins: each write replaces what it addresses.
    Lww,
    /// A counter whose concurrent increments all count.
    CrdtCounter,
    /// A set whose concurrent adds and removes merge (add-wins).
    CrdtSet,
    /// A map whose members merge key by key.
    CrdtMap,
    /// Text whose concurrent edits interleave.
    CrdtText,
}

impl Strategy {
    /// Every strategy, in the order of their names in messages.
    pub const ALL: [Strategy; 5] = [
        Strategy::Lww,
        Strategy::CrdtCounter,
        Strategy::CrdtSet,
        Strategy::CrdtMap,
        Strategy::CrdtText,
    ];

    /// Parses a strategy name as clients write it, ignoring ASCII case.
    ///
    /// Unknown names give [`StoreError::UnknownStrategy`] carrying the name,
    /// so the reply can say what was wrong.
    pub fn parse(name: &str) -> Result<Strategy, StoreError> {
        Strategy::ALL
            .into_iter()
            .find(|strategy| strategy.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| StoreError::UnknownStrategy(name.to_owned()))
    }

    /// Returns the canonical lower-case name, as [`Strategy::parse`] accepts
    /// it and as replies show it.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Lww => "lww",
            Strategy::CrdtCounter => "crdt-counter",
            Strategy::CrdtSet => "crdt-set",
            Strategy::CrdtMap => "crdt-map",
            Strategy::CrdtText => "crdt-text",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_every_name() {
        for strategy in Strategy::ALL {
            assert_eq!(Strategy::parse(strategy.name()), Ok(strategy));
        }
    }

    #[test]
    fn parse_ignores_case() {
        assert_eq!(Strategy::parse("LWW"), Ok(Strategy::Lww));
        assert_eq!(Strategy::parse("Crdt-Counter"), Ok(Strategy::CrdtCounter));
    }

    #[test]
    fn parse_rejects_unknown_names_naming_them() {
        assert_eq!(
            Strategy::parse("crdt_set"),
            Err(StoreError::UnknownStrategy("crdt_set".into()))
        );
        assert_eq!(
            Strategy::parse(""),
            Err(StoreError::UnknownStrategy(String::new()))
        );
    }

    #[test]
    fn display_is_the_name() {
        assert_eq!(Strategy::CrdtMap.to_string(), "crdt-map");
    }
}
