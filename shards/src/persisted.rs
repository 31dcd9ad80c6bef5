//! A document's persisted form: a snapshot of its whole state, and the incremental updates that
//! came after it.
//!
//! Storage (the `storage` module, behind the `sqlite` feature) keeps every document as opaque
//! bytes that the document layer makes and reads back, so a new strategy brings its own encoding
//! and the storage code does not change:
//!
//! - each change's incremental update, [`Document::update_for`] (the encoding MERGE takes), kept
//!   with the version the change made;
//! - now and then a snapshot of the whole state, [`Document::encode_state`], which replaces
//!   the updates before it.
//!
//! [`restore`] rebuilds a document from the newest snapshot and the updates after it, replayed in
//! version order with [`Document::replay`]. The result is the document as it was: the same GET
//! text (member order included), version, strategy and expiry, and the merge metadata replicas
//! depend on (register stamps, counter entries per replica, set tags, positions and removals,
//! and the version at which each changed, which `SYNC` answers from).
//!
//! The snapshot of the JSON strategies is one JSON object; stamps are `[ms, seq, replica]`:
//!
//! ```json
//! {"strategy": "lww", "version": 7, "root": {"name": "Alice"},
//!  "registers": [["name", [1718000000000, 0, 42], 7]]}
//! {"strategy": "crdt-counter", "version": 3, "counters": [["views", 42, 10, 2, 3]]}
//! {"strategy": "crdt-set", "version": 5, "elements": [["items", "milk",
//!   [1718000000000, 0, 42], [1718000000000, 0, 42], false, 5]]}
//! ```
//!
//! `lww` and `crdt-map` keep the tree itself (`root`) beside their registers' paths, stamps and
//! versions, because the tree's member order (the order keys were first written here) is not in
//! the registers. Counter entries are `[path, replica, inc, dec, version]`; set elements are
//! `[path, value, tag, position, removed, version]`.
//!
//! The snapshot of a `crdt-text` document is binary: the magic `UTX1`, the version (`u64`), the
//! yrs state as one Yjs v1 update, then the updates held back waiting for edits they build on
//! (see `text::held`), each length-prefixed (`u32`, little-endian throughout). Its incremental
//! updates are Yjs v1 updates, replayed through the same merge.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::document::Document;
use crate::error::StoreError;
use crate::hlc::{Clock, Stamp, REPLICA_MAX};
use crate::strategy::counter::Counters;
use crate::strategy::lww::{Register, Registers};
use crate::strategy::set::{Element, Sets};
use crate::strategy::Strategy;
use crate::sync::{check_path, from_wire, to_wire, WireStamp};
use crate::text::{TextDoc, TextError, TextLimits};

/// A snapshot as it is written: borrows the document's parts.
#[derive(Serialize)]
struct StateOut<'a> {
    strategy: &'static str,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<&'a Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registers: Vec<(&'a str, WireStamp, u64)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    counters: Vec<(&'a str, u64, &'a Number, &'a Number, u64)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    elements: Vec<(&'a str, &'a Value, WireStamp, WireStamp, bool, u64)>,
}

impl StateOut<'_> {
    fn empty(strategy: Strategy, version: u64) -> StateOut<'static> {
        StateOut {
            strategy: strategy.name(),
            version,
            root: None,
            registers: Vec::new(),
            counters: Vec::new(),
            elements: Vec::new(),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        // Serializing borrowed JSON values into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A snapshot as it is read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    strategy: String,
    version: u64,
    #[serde(default)]
    root: Option<Value>,
    #[serde(default)]
    registers: Vec<(String, WireStamp, u64)>,
    #[serde(default)]
    counters: Vec<(String, u64, Number, Number, u64)>,
    #[serde(default)]
    elements: Vec<(String, Value, WireStamp, WireStamp, bool, u64)>,
}

/// The snapshot of an `lww` or `crdt-map` document.
pub(crate) fn encode_registers(strategy: Strategy, version: u64, doc: &Registers) -> Vec<u8> {
    let mut state = StateOut::empty(strategy, version);
    state.root = Some(doc.root());
    state.registers = doc
        .registers()
        .iter()
        .map(|register| (&*register.path, to_wire(&register.stamp), register.version))
        .collect();
    state.to_bytes()
}

/// The snapshot of a `crdt-counter` document.
pub(crate) fn encode_counters(version: u64, doc: &Counters) -> Vec<u8> {
    let mut state = StateOut::empty(Strategy::CrdtCounter, version);
    for field in doc.fields() {
        for entry in &field.entries {
            state.counters.push((
                &field.path,
                entry.replica,
                &entry.inc,
                &entry.dec,
                entry.version,
            ));
        }
    }
    state.to_bytes()
}

/// The snapshot of a `crdt-set` document.
pub(crate) fn encode_sets(version: u64, doc: &Sets) -> Vec<u8> {
    let mut state = StateOut::empty(Strategy::CrdtSet, version);
    for set in doc.sets() {
        for element in &set.elements {
            state.elements.push((
                &set.path,
                &element.value,
                to_wire(&element.tag),
                to_wire(&element.position),
                element.removed,
                element.version,
            ));
        }
    }
    state.to_bytes()
}

/// The first bytes of a `crdt-text` snapshot.
const TEXT_MAGIC: &[u8; 4] = b"UTX1";

/// How many server replica ids after the given one a reloaded `crdt-text` document tries when
/// its history already holds the given one.
const TEXT_REPLICA_TRIES: u64 = 16;

/// The snapshot of a `crdt-text` document: its version, its yrs state, and its held updates.
pub(crate) fn encode_text<'a>(
    version: u64,
    state: &[u8],
    pending: impl Iterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let pending: Vec<&[u8]> = pending.collect();
    let mut out = Vec::with_capacity(20 + state.len());
    out.extend_from_slice(TEXT_MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    put_part(&mut out, state);
    out.extend_from_slice(&len_u32(pending.len()).to_le_bytes());
    for part in pending {
        put_part(&mut out, part);
    }
    out
}

/// Appends `part`, length first.
fn put_part(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&len_u32(part.len()).to_le_bytes());
    out.extend_from_slice(part);
}

/// A length as the snapshot stores it. Text documents are bounded far below 4 GiB
/// (`TextLimits`), so this never saturates.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// A `crdt-text` snapshot as it is read back.
pub(crate) struct TextState<'a> {
    /// The document's version.
    pub version: u64,
    /// The yrs state, one Yjs v1 update.
    state: &'a [u8],
    /// The held updates, each as received.
    pending: Vec<&'a [u8]>,
}

impl<'a> TextState<'a> {
    /// Reads a snapshot [`encode_text`] made.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<TextState<'a>, StoreError> {
        let mut rest = bytes
            .strip_prefix(TEXT_MAGIC)
            .ok_or_else(|| bad("the crdt-text snapshot does not start with UTX1"))?;
        let version = u64::from_le_bytes(take::<8>(&mut rest)?);
        let state = take_part(&mut rest)?;
        let count = u32::from_le_bytes(take::<4>(&mut rest)?);
        let pending = (0..count)
            .map(|_| take_part(&mut rest))
            .collect::<Result<Vec<_>, _>>()?;
        if !rest.is_empty() {
            return Err(bad("the crdt-text snapshot has trailing bytes"));
        }
        Ok(TextState {
            version,
            state,
            pending,
        })
    }

    /// Rebuilds the text document, writing from now on as `replica` or, when the document's
    /// history already holds that id, the first free one after it.
    pub(crate) fn load(&self, replica: u64) -> Result<TextDoc, StoreError> {
        let mut last = None;
        for offset in 0..TEXT_REPLICA_TRIES {
            let id = (replica + offset) & REPLICA_MAX;
            match TextDoc::from_state(self.state, &self.pending, id, TextLimits::default()) {
                Ok(doc) => return Ok(doc),
                Err(TextError::ClientIdInUse(_)) => last = Some(id),
                Err(e) => return Err(e.into()),
            }
        }
        Err(bad(format!(
            "no free Yjs client id for the crdt-text document near {}",
            last.unwrap_or(replica)
        )))
    }
}

/// Takes `N` bytes off the front of `rest`.
fn take<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], StoreError> {
    let (head, tail) = rest
        .split_first_chunk::<N>()
        .ok_or_else(|| bad("the crdt-text snapshot is truncated"))?;
    *rest = tail;
    Ok(*head)
}

/// Takes one length-prefixed part off the front of `rest`.
fn take_part<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], StoreError> {
    let len = u32::from_le_bytes(take::<4>(rest)?) as usize;
    if rest.len() < len {
        return Err(bad("the crdt-text snapshot is truncated"));
    }
    let (part, tail) = rest.split_at(len);
    *rest = tail;
    Ok(part)
}

fn bad(what: impl Into<String>) -> StoreError {
    StoreError::BadPersisted(what.into())
}

impl State {
    /// Reads a snapshot of a `strategy` document.
    pub(crate) fn parse(bytes: &[u8], strategy: Strategy) -> Result<State, StoreError> {
        let state: State = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("the snapshot is not one ({e})")))?;
        if state.strategy != strategy.name() {
            return Err(bad(format!(
                "the snapshot is of a {} document, the document is {strategy}",
                state.strategy
            )));
        }
        Ok(state)
    }

    /// The document version the snapshot holds.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// The registers of an `lww` or `crdt-map` snapshot, every stamp observed by `clock`.
    pub(crate) fn into_registers(self, clock: &mut Clock) -> Result<Registers, StoreError> {
        let root = match self.root {
            Some(root @ Value::Object(_)) => root,
            _ => return Err(bad("the snapshot's root is not a map")),
        };
        let mut registers = Vec::with_capacity(self.registers.len());
        for (path, stamp, version) in self.registers {
            check_path(&path)?;
            let stamp = observed(clock, stamp);
            registers.push(Register {
                path: path.into(),
                stamp,
                version,
            });
        }
        if !registers.windows(2).all(|pair| pair[0].path < pair[1].path) {
            return Err(bad("the snapshot's registers are not sorted by path"));
        }
        Ok(Registers::from_parts(root, registers))
    }

    /// The fields of a `crdt-counter` snapshot.
    pub(crate) fn into_counters(self) -> Result<Counters, StoreError> {
        let mut counters = Counters::new();
        for (path, replica, inc, dec, version) in self.counters {
            check_path(&path)?;
            counters.merge(&path, replica, inc, dec, version);
        }
        Ok(counters)
    }

    /// The sets of a `crdt-set` snapshot, every stamp observed by `clock`.
    pub(crate) fn into_sets(self, clock: &mut Clock) -> Result<Sets, StoreError> {
        let mut sets = Sets::new();
        for (path, value, tag, position, removed, version) in self.elements {
            check_path(&path)?;
            let element = Element {
                value,
                tag: observed(clock, tag),
                position: observed(clock, position),
                removed,
                version,
            };
            sets.merge(&path, element);
        }
        Ok(sets)
    }
}

/// A stamp read back from storage, after moving `clock` past it: stamps the server hands out
/// after a restart must stay later than every stamp it held before.
fn observed(clock: &mut Clock, stamp: WireStamp) -> Stamp {
    let stamp = from_wire(stamp);
    clock.observe(&stamp);
    stamp
}

/// What storage holds of one document, to rebuild it with [`restore`].
#[derive(Debug, Clone, Copy)]
pub struct Persisted<'a, U> {
    /// The strategy the document was created with.
    pub strategy: Strategy,
    /// When it expires, in milliseconds on the store's clock; `None` without a TTL.
    pub expires_at_ms: Option<u64>,
    /// The newest snapshot ([`Document::encode_state`]), if one was taken.
    pub snapshot: Option<&'a [u8]>,
    /// The incremental updates after the snapshot, as `(version, bytes)` in version order.
    pub updates: U,
}

/// Rebuilds a document from its snapshot and the updates after it, moving `clock` past every
/// stamp it holds; `replica` is the server's replica id for it from now on. Fails with [`StoreError::BadPersisted`] (or the error of the update that
/// could not be replayed) when the bytes are not what the document layer wrote.
pub fn restore<'a, U>(
    persisted: Persisted<'a, U>,
    clock: &mut Clock,
    replica: u64,
) -> Result<Document, StoreError>
where
    U: IntoIterator<Item = (u64, &'a [u8])>,
{
    let mut document = match persisted.snapshot {
        Some(state) => Document::from_state(
            persisted.strategy,
            persisted.expires_at_ms,
            state,
            clock,
            replica,
        )?,
        None => Document::new(persisted.strategy, persisted.expires_at_ms, replica)?,
    };
    for (version, update) in persisted.updates {
        document.replay(version, update, clock)?;
    }
    Ok(document)
}
