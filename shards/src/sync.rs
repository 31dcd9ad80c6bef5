//! Replica sync for the JSON-encoded strategies (`lww`, `crdt-map`, `crdt-counter`,
//! `crdt-set`): the update format SYNC answers and MERGE takes.
//!
//! An update is one JSON object naming its strategy, the sender's document version, and the
//! state elements it carries:
//!
//! ```json
//! {"strategy": "lww", "version": 7, "registers": [
//!   {"path": "name", "stamp": [1718000000000, 0, 42], "value": "Alice"},
//!   {"path": "old", "stamp": [1718000000500, 1, 42], "deleted": true}]}
//! {"strategy": "crdt-counter", "version": 3, "counters": [
//!   {"path": "views", "replica": 42, "inc": 10, "dec": 2}]}
//! {"strategy": "crdt-set", "version": 5, "elements": [
//!   {"path": "items", "value": "milk", "tag": [1718000000000, 0, 42],
//!    "position": [1718000000000, 0, 42], "removed": false}]}
//! ```
//!
//! A stamp is `[milliseconds, sequence, replica]` (see [`crate::hlc`]); every number fits a
//! JavaScript number. Elements are state, not operations: merging is a join (per-path latest
//! stamp; per-replica maximum; union with sticky removal), so an update merged twice, or updates
//! merged in any order, give the same document. A replica sends any subset of its elements, and
//! `SYNC id version` answers the elements that changed on the server after `version`, which is
//! what a replica that last synced at `version` is missing.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::error::StoreError;
use crate::hlc::{check_remote, Stamp, REPLICA_MAX};
use crate::path::Path;
use crate::strategy::counter::{self, Counters};
use crate::strategy::lww::{RegisterWrite, Registers};
use crate::strategy::set::{Element, Sets};
use crate::strategy::Strategy;

/// The most state elements (registers, counter entries, set elements) one update may carry.
///
/// Merging an element costs up to the size of the document, so an unbounded update would let
/// one request hold a shard for minutes; a replica with more to hand in sends several updates.
pub const UPDATE_ELEMENTS_MAX: usize = 10_000;

/// A stamp on the wire: `[ms, seq, replica]`.
pub(crate) type WireStamp = (u64, u32, u64);

/// An update as it travels.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// The strategy of the document it came from.
    pub strategy: String,
    /// The sender's version of the document when it made the update.
    #[serde(default)]
    pub version: u64,
    /// `lww` and `crdt-map` registers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<WireRegister>,
    /// `crdt-counter` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counters: Vec<WireCounter>,
    /// `crdt-set` elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<WireElement>,
}

/// One register: its path, stamp, and value or deletion.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRegister {
    /// Dotted map keys.
    pub path: String,
    /// The write's stamp.
    pub stamp: WireStamp,
    /// The value; absent for a deletion. A present `null` is the value null.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub value: Option<Value>,
    /// True for a deletion.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

/// One replica's totals for one counter field.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCounter {
    /// Dotted path of the field.
    pub path: String,
    /// The replica.
    pub replica: u64,
    /// The sum of its positive increments.
    pub inc: Number,
    /// The sum of the magnitudes of its negative increments.
    pub dec: Number,
}

/// One element of a set.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireElement {
    /// Dotted path of the set.
    pub path: String,
    /// The value.
    pub value: Value,
    /// The add's unique stamp.
    pub tag: WireStamp,
    /// The stamp that orders it for display.
    pub position: WireStamp,
    /// Whether it has been removed.
    #[serde(default)]
    pub removed: bool,
}

/// Reads a field that is present as `Some`, even when it is `null` (serde's default would read a
/// present `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

fn is_false(flag: &bool) -> bool {
    !flag
}

pub(crate) fn to_wire(stamp: &Stamp) -> WireStamp {
    (stamp.ms, stamp.seq, stamp.replica)
}

pub(crate) fn from_wire(stamp: WireStamp) -> Stamp {
    Stamp {
        ms: stamp.0,
        seq: stamp.1,
        replica: stamp.2,
    }
}

impl Update {
    /// An update carrying nothing.
    pub fn empty(strategy: Strategy, version: u64) -> Update {
        Update {
            strategy: strategy.name().to_owned(),
            version,
            registers: Vec::new(),
            counters: Vec::new(),
            elements: Vec::new(),
        }
    }

    /// The JSON text of the update.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing owned JSON values into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an update, refusing text that is not one.
    pub fn parse(bytes: &[u8]) -> Result<Update, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::InvalidUpdate(e.to_string()))
    }

    /// The strategy the update names.
    pub fn strategy(&self) -> Result<Strategy, StoreError> {
        Strategy::parse(&self.strategy)
    }
}

/// The registers of `doc` that changed after `since`.
pub fn registers_since(doc: &Registers, strategy: Strategy, version: u64, since: u64) -> Update {
    let mut update = Update::empty(strategy, version);
    for register in doc.registers().iter().filter(|r| r.version > since) {
        let value = doc.content(&register.path).cloned();
        update.registers.push(WireRegister {
            path: register.path.to_string(),
            stamp: to_wire(&register.stamp),
            deleted: value.is_none(),
            value,
        });
    }
    update
}

/// The counter entries of `doc` that changed after `since`.
pub fn counters_since(doc: &Counters, version: u64, since: u64) -> Update {
    let mut update = Update::empty(Strategy::CrdtCounter, version);
    for field in doc.fields() {
        for entry in field.entries.iter().filter(|e| e.version > since) {
            update.counters.push(WireCounter {
                path: field.path.to_string(),
                replica: entry.replica,
                inc: entry.inc.clone(),
                dec: entry.dec.clone(),
            });
        }
    }
    update
}

/// The set elements of `doc` that changed after `since`.
pub fn elements_since(doc: &Sets, version: u64, since: u64) -> Update {
    let mut update = Update::empty(Strategy::CrdtSet, version);
    for set in doc.sets() {
        for element in set.elements.iter().filter(|e| e.version > since) {
            update.elements.push(WireElement {
                path: set.path.to_string(),
                value: element.value.clone(),
                tag: to_wire(&element.tag),
                position: to_wire(&element.position),
                removed: element.removed,
            });
        }
    }
    update
}

/// Checks a path from an update: the same syntax and limits as a command's path.
pub(crate) fn check_path(text: &str) -> Result<(), StoreError> {
    Path::parse(text).map(|_| ()).map_err(StoreError::from)
}

fn check_stamp(stamp: &Stamp, now_ms: u64) -> Result<(), StoreError> {
    check_remote(stamp, now_ms).map_err(StoreError::InvalidUpdate)
}

/// Validates every register of an update before any is applied, and converts them.
pub fn read_registers(update: Update, now_ms: u64) -> Result<Vec<RegisterWrite>, StoreError> {
    refuse_other_elements(update.counters.is_empty() && update.elements.is_empty())?;
    check_count(update.registers.len())?;
    update
        .registers
        .into_iter()
        .map(|register| {
            check_path(&register.path)?;
            let stamp = from_wire(register.stamp);
            check_stamp(&stamp, now_ms)?;
            let value = match (register.value, register.deleted) {
                (Some(_), true) => {
                    return Err(StoreError::InvalidUpdate(format!(
                        "register '{}' has both a value and deleted",
                        register.path
                    )))
                }
                (None, false) => {
                    return Err(StoreError::InvalidUpdate(format!(
                        "register '{}' has neither a value nor deleted",
                        register.path
                    )))
                }
                (value, _) => value,
            };
            Ok(RegisterWrite {
                path: register.path,
                stamp,
                value,
            })
        })
        .collect()
}

/// Validates every counter entry of an update before any is applied.
pub fn read_counters(update: Update) -> Result<Vec<WireCounter>, StoreError> {
    refuse_other_elements(update.registers.is_empty() && update.elements.is_empty())?;
    check_count(update.counters.len())?;
    for entry in &update.counters {
        check_path(&entry.path)?;
        if entry.replica > REPLICA_MAX {
            return Err(StoreError::InvalidUpdate(format!(
                "replica id {} is over the limit of 2^53 - 1",
                entry.replica
            )));
        }
        if counter::is_negative(&entry.inc) || counter::is_negative(&entry.dec) {
            return Err(StoreError::InvalidUpdate(format!(
                "counter '{}': inc and dec are sums of magnitudes and cannot be negative",
                entry.path
            )));
        }
    }
    Ok(update.counters)
}

/// Validates every set element of an update before any is applied, and converts them.
pub fn read_elements(update: Update, now_ms: u64) -> Result<Vec<(String, Element)>, StoreError> {
    refuse_other_elements(update.registers.is_empty() && update.counters.is_empty())?;
    check_count(update.elements.len())?;
    update
        .elements
        .into_iter()
        .map(|element| {
            check_path(&element.path)?;
            let tag = from_wire(element.tag);
            let position = from_wire(element.position);
            check_stamp(&tag, now_ms)?;
            check_stamp(&position, now_ms)?;
            Ok((
                element.path,
                Element {
                    value: element.value,
                    tag,
                    position,
                    removed: element.removed,
                    version: 0,
                },
            ))
        })
        .collect()
}

/// Refuses an update carrying more than [`UPDATE_ELEMENTS_MAX`] elements.
fn check_count(count: usize) -> Result<(), StoreError> {
    if count > UPDATE_ELEMENTS_MAX {
        return Err(StoreError::InvalidUpdate(format!(
            "{count} elements, over the limit of {UPDATE_ELEMENTS_MAX} per update; send several \
             updates"
        )));
    }
    Ok(())
}

fn refuse_other_elements(only_own: bool) -> Result<(), StoreError> {
    if only_own {
        Ok(())
    } else {
        Err(StoreError::InvalidUpdate(
            "the update carries elements of another strategy".into(),
        ))
    }
}

/// Whether `bytes` are a JSON update (an object) rather than a Yjs one: the first byte that is
/// not whitespace is `{`.
pub fn is_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'{')
}

/// Reads a JSON strategy's state vector: the decimal document version a replica last synced
/// at (`0`, or nothing, for everything).
pub fn parse_since(bytes: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| {
            StoreError::InvalidUpdate(
                "the state vector of a JSON-synced document is the version last seen, a \
                 non-negative integer"
                    .into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registers_round_trip_through_json() {
        let text = br#"{"strategy": "lww", "version": 3, "registers": [
            {"path": "a.b", "stamp": [100, 0, 7], "value": {"x": 1}},
            {"path": "c", "stamp": [101, 2, 7], "deleted": true}]}"#;
        let update = Update::parse(text).expect("parses");
        assert_eq!(update.strategy(), Ok(Strategy::Lww));
        let writes = read_registers(update, 1_000).expect("valid");
        assert_eq!(writes[0].value, Some(json!({"x": 1})));
        assert_eq!(writes[1].value, None);
        assert_eq!(
            writes[1].stamp,
            Stamp {
                ms: 101,
                seq: 2,
                replica: 7
            }
        );
    }

    #[test]
    fn a_null_value_is_not_a_deletion() {
        let text = br#"{"strategy": "lww", "registers": [{"path": "a", "stamp": [1, 0, 1], "value": null}]}"#;
        let writes = read_registers(Update::parse(text).expect("parses"), 1_000).expect("valid");
        assert_eq!(writes[0].value, Some(Value::Null));
    }

    #[test]
    fn malformed_updates_are_refused() {
        for text in [
            &b"not json"[..],
            br#"{"strategy": "lww", "registers": [{"path": "a", "stamp": [1, 0, 1]}]}"#,
            br#"{"strategy": "lww", "registers": [{"path": "a..b", "stamp": [1, 0, 1], "value": 1}]}"#,
            br#"{"strategy": "lww", "registers": [{"path": "a", "stamp": [1, 0, 1], "value": 1, "deleted": true}]}"#,
            br#"{"strategy": "lww", "extra": 1}"#,
        ] {
            let result = Update::parse(text).and_then(|u| read_registers(u, 1_000));
            assert!(result.is_err(), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn negative_counter_totals_are_refused() {
        let text = br#"{"strategy": "crdt-counter", "counters": [{"path": "n", "replica": 1, "inc": -1, "dec": 0}]}"#;
        let update = Update::parse(text).expect("parses");
        assert!(read_counters(update).is_err());
    }

    #[test]
    fn stamps_far_in_the_future_are_refused() {
        let text = br#"{"strategy": "crdt-set", "elements": [{"path": "s", "value": 1, "tag": [999999999999999, 0, 1], "position": [1, 0, 1]}]}"#;
        let update = Update::parse(text).expect("parses");
        assert!(read_elements(update, 1_000).is_err());
    }

    #[test]
    fn updates_over_the_element_limit_are_refused() {
        let counter = r#"{"path": "n", "replica": 1, "inc": 1, "dec": 0}"#;
        let many = vec![counter; UPDATE_ELEMENTS_MAX + 1].join(", ");
        let text = format!(r#"{{"strategy": "crdt-counter", "counters": [{many}]}}"#);
        let update = Update::parse(text.as_bytes()).expect("parses");
        assert!(read_counters(update).is_err());
    }

    #[test]
    fn since_is_a_decimal_version() {
        assert_eq!(parse_since(b"12"), Ok(12));
        assert!(parse_since(b"-1").is_err());
        assert!(parse_since(b"x").is_err());
    }
}
