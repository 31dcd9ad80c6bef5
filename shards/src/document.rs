//! One stored document: its strategy's state, its version and its expiry.
//!
//! The store keeps these by id. A document's strategy is fixed when it is made, and decides how
//! every write applies: [`Document::edit`] dispatches a live write to the strategy's module
//! (see `docs/strategies.md` for the whole table), [`Document::merge`] joins a replica's update,
//! and [`Document::sync`] answers what a replica is missing. Every change bumps the version.

use std::borrow::Cow;
use std::num::NonZeroU64;

use serde_json::{json, Map, Number, Value};

use crate::change::{Change, Op};
use crate::error::{JsonKind, StoreError};
use crate::hlc::{Clock, Stamp};
use crate::path::{Path, Segment};
use crate::persisted;
use crate::strategy::compact::{RegisterDoc, TopLevel};
use crate::strategy::counter::Counters;
use crate::strategy::lww::Registers;
use crate::strategy::set::Sets;
use crate::strategy::{map, Strategy};
use crate::sync::{self, Update};
use crate::text::{MergeStatus, TextDoc, TextEdit, TextLimits};
use crate::value;

/// A document: its strategy's state, a version bumped by every change, and an optional expiry.
///
/// Kept small (48 bytes), since a shard holds millions: the strategies' state is boxed or
/// compact (see [`crate::strategy::compact`]).
#[derive(Debug)]
pub struct Document {
    body: Body,
    version: u64,
    /// Absolute expiry time in milliseconds; never zero, since it is a creation time plus a
    /// positive TTL.
    expires_at_ms: Option<NonZeroU64>,
}

/// The state of each strategy.
#[derive(Debug)]
enum Body {
    Lww(RegisterDoc),
    Map(RegisterDoc),
    Counter(Box<Counters>),
    Set(Box<Sets>),
    Text(Box<TextDoc>),
}

/// What SYNC answers: an update and the sender's state vector.
#[derive(Debug)]
pub enum SyncReply {
    /// A JSON-synced document: the update, which carries the version (its state vector).
    Json(Update),
    /// A `crdt-text` document: Yjs v1 bytes.
    Yjs {
        /// What the replica is missing.
        update: Vec<u8>,
        /// The document's own state vector.
        state_vector: Vec<u8>,
    },
}

/// A live write, addressed to a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// SET: write a value.
    Set(Value),
    /// DEL of a path.
    Delete,
    /// PUSH: add a value to an array or set.
    Push(Value),
    /// PULL: remove a value from an array or set.
    Pull(Value),
    /// INC: add to a number.
    Increment(Number),
    /// SPLICE: delete `delete` code points at `index` of a text, then insert `text` there.
    Splice {
        /// Where, in Unicode code points.
        index: usize,
        /// How many code points to delete.
        delete: usize,
        /// What to insert.
        text: String,
    },
}

impl Edit {
    /// The kind of change this edit makes.
    fn op(&self) -> Op {
        match self {
            Edit::Set(_) => Op::Set,
            Edit::Delete => Op::Delete,
            Edit::Push(_) => Op::Push,
            Edit::Pull(_) => Op::Pull,
            Edit::Increment(_) => Op::Increment,
            Edit::Splice { .. } => Op::Splice,
        }
    }

    /// The command's name, for errors.
    fn command(&self) -> &'static str {
        match self {
            Edit::Set(_) => "SET",
            Edit::Delete => "DEL",
            Edit::Push(_) => "PUSH",
            Edit::Pull(_) => "PULL",
            Edit::Increment(_) => "INC",
            Edit::Splice { .. } => "SPLICE",
        }
    }
}

/// What a live write answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Written (SET).
    Done,
    /// Whether something was deleted (DEL).
    Deleted(bool),
    /// The array's or set's new length (PUSH).
    Length(usize),
    /// How many elements were removed (PULL).
    Removed(usize),
    /// The number after the write (INC).
    Number(Number),
}

/// What a batch of text writes did: each write's outcome or error, and one change for them all
/// (`None` when none changed anything).
pub type TextBatch = (Vec<Result<Outcome, StoreError>>, Option<Change>);

/// Hands out stamps for one document's live writes: the store's clock, the time of the request,
/// and the document's own server replica id.
pub struct Stamper<'a> {
    /// The store's hybrid logical clock.
    pub clock: &'a mut Clock,
    /// The request's time.
    pub now_ms: u64,
    /// The server's replica id for this document.
    pub replica: u64,
}

impl Stamper<'_> {
    fn next(&mut self) -> Stamp {
        self.clock.tick(self.now_ms, self.replica)
    }
}

impl Document {
    /// Makes an empty document (it reads as `{}`).
    ///
    /// `expires_at_ms` is an absolute time in milliseconds on the same clock the store is given
    /// as `now_ms`, or `None` for a document that lives until deleted. `replica` is the
    /// server's replica id for the document, which `crdt-text` writes under as its Yjs client
    /// id (the other strategies take it per write).
    pub fn new(
        strategy: Strategy,
        expires_at_ms: Option<u64>,
        replica: u64,
    ) -> Result<Document, StoreError> {
        let body = match strategy {
            Strategy::Lww => Body::Lww(RegisterDoc::default()),
            Strategy::CrdtMap => Body::Map(RegisterDoc::default()),
            Strategy::CrdtCounter => Body::Counter(Box::default()),
            Strategy::CrdtSet => Body::Set(Box::default()),
            Strategy::CrdtText => {
                Body::Text(Box::new(TextDoc::new(replica, TextLimits::default())?))
            }
        };
        Ok(Document {
            body,
            version: 0,
            expires_at_ms: expires_at(expires_at_ms),
        })
    }

    /// Returns the strategy chosen when the document was created.
    pub fn strategy(&self) -> Strategy {
        match self.body {
            Body::Lww(_) => Strategy::Lww,
            Body::Map(_) => Strategy::CrdtMap,
            Body::Counter(_) => Strategy::CrdtCounter,
            Body::Set(_) => Strategy::CrdtSet,
            Body::Text(_) => Strategy::CrdtText,
        }
    }

    /// The document's version: how many changes it has taken.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Returns the document as readers see it: plain JSON, always an object.
    ///
    /// Borrowed for `lww`, whose members show in the order they were first written here;
    /// built on demand for the others, whose members show in an order every replica agrees on
    /// (`crdt-map` keys sorted, counters and sets by path).
    pub fn root(&self) -> Cow<'_, Value> {
        match &self.body {
            Body::Lww(RegisterDoc::Tree(doc)) => Cow::Borrowed(doc.root()),
            Body::Lww(doc) => Cow::Owned(doc.tree().root().clone()),
            Body::Map(doc) => Cow::Owned(sorted(doc.tree().root())),
            Body::Counter(doc) => Cow::Owned(doc.render()),
            Body::Set(doc) => Cow::Owned(doc.render()),
            Body::Text(doc) => Cow::Owned(doc.to_json()),
        }
    }

    /// Appends the JSON text readers see at `path` (the whole document for `None`) to `out`;
    /// `false` when nothing is there. A small `lww` document's text is copied out as stored.
    pub fn write_json(&self, path: Option<&Path>, out: &mut Vec<u8>) -> bool {
        if let (None, Body::Lww(doc)) = (path, &self.body) {
            if let Some(text) = doc.text() {
                out.extend_from_slice(text);
                return true;
            }
        }
        let shown = match path {
            None => Some(self.root()),
            Some(path) => self.get(path),
        };
        match shown {
            Some(value) => {
                crate::json_text::write_text(&value, out);
                true
            }
            None => false,
        }
    }

    /// Returns the value at `path` as readers see it, or `None` when nothing is there.
    pub fn get(&self, path: &Path) -> Option<Cow<'_, Value>> {
        match self.root() {
            Cow::Borrowed(root) => value::get(root, path).map(Cow::Borrowed),
            Cow::Owned(root) => value::get(&root, path).cloned().map(Cow::Owned),
        }
    }

    /// The address of the allocation a command on this document reads first (a compact
    /// document's buffer, or the box of its tree or state), for a caller that prefetches it.
    pub fn body_address(&self) -> *const u8 {
        match &self.body {
            Body::Lww(doc) | Body::Map(doc) => doc.address(),
            Body::Counter(counters) => std::ptr::from_ref::<Counters>(counters).cast(),
            Body::Set(sets) => std::ptr::from_ref::<Sets>(sets).cast(),
            Body::Text(text) => std::ptr::from_ref::<TextDoc>(text).cast(),
        }
    }

    /// Returns when the document expires, in milliseconds on the store's clock, or `None` when
    /// it has no TTL.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.expires_at_ms.map(NonZeroU64::get)
    }

    /// Reports whether the document has expired at `now_ms`.
    ///
    /// A document is gone from the moment its expiry time is reached, so a TTL of `n`
    /// milliseconds gives exactly `n` milliseconds of life.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms
            .is_some_and(|expires_at_ms| now_ms >= expires_at_ms.get())
    }

    /// Applies a live write at `path`; the change is `None` when the write changed nothing
    /// (a DEL or PULL that found nothing). On error the document is unchanged.
    pub fn edit(
        &mut self,
        path: Path,
        edit: Edit,
        stamper: &mut Stamper<'_>,
    ) -> Result<(Outcome, Option<Change>), StoreError> {
        let version = self.version + 1;
        let op = edit.op();
        if matches!(edit, Edit::Splice { .. }) && self.strategy() != Strategy::CrdtText {
            return Err(splice_refused(self.strategy()));
        }
        let mut text_update = None;
        let (outcome, changed) = match &mut self.body {
            Body::Text(doc) => {
                let (mut outcomes, update) = edit_text(doc, vec![(path.clone(), edit)]);
                let outcome = outcomes.pop().unwrap_or(Ok(Outcome::Done))?;
                let changed = !update.is_empty();
                text_update = changed.then(|| update.into_boxed_slice());
                (outcome, changed)
            }
            Body::Lww(doc) => edit_register_doc(doc, &path, edit, stamper.next(), version, false)?,
            Body::Map(doc) => edit_register_doc(doc, &path, edit, stamper.next(), version, true)?,
            Body::Counter(doc) => edit_counter(doc, &path, edit, stamper.replica, version)?,
            Body::Set(doc) => edit_set(doc, &path, edit, stamper, version)?,
        };
        if !changed {
            return Ok((outcome, None));
        }
        self.version = version;
        let change = Change {
            version,
            op,
            path: Some(path),
            text_update,
        };
        Ok((outcome, Some(change)))
    }

    /// Applies many live writes to a `crdt-text` document in one yrs transaction (a yrs
    /// transaction costs tens of microseconds, so a shard applies a round's queued SPLICEs of
    /// one document together). Returns each write's outcome or error (a refused write changes
    /// nothing and does not affect the others) and one change for them all, `None` when none
    /// changed anything. On a document of another strategy every write is refused.
    pub fn edit_text_batch(&mut self, edits: Vec<(Path, Edit)>) -> TextBatch {
        let Body::Text(doc) = &mut self.body else {
            let strategy = self.strategy();
            let refused = edits
                .iter()
                .map(|_| Err(splice_refused(strategy)))
                .collect();
            return (refused, None);
        };
        let (outcomes, update) = edit_text(doc, edits);
        if update.is_empty() {
            return (outcomes, None);
        }
        let version = self.version + 1;
        let change = self.bump(version, Op::Splice, Some(update.into_boxed_slice()));
        (outcomes, Some(change))
    }

    /// Records a whole-document change (CREATE, or a re-creation) as a new version.
    pub(crate) fn touch(&mut self, op: Op) -> Change {
        self.version += 1;
        Change {
            version: self.version,
            op,
            path: None,
            text_update: None,
        }
    }

    /// Joins a replica's update; `None` when it held nothing new. For `crdt-text` the update is
    /// a Yjs v1 update; for the other strategies the JSON of [`crate::sync`]. Every element is
    /// validated before any is applied, so a refused update leaves the document as it was.
    pub fn merge(
        &mut self,
        update: &[u8],
        clock: &mut Clock,
        now_ms: u64,
    ) -> Result<Option<Change>, StoreError> {
        let version = self.version + 1;
        let strategy = self.strategy();
        // A JSON update names its strategy; anything else is a Yjs update, for crdt-text.
        let json = if sync::is_json(update) {
            Some(Update::parse(update)?)
        } else {
            None
        };
        let named = match &json {
            Some(json) => json.strategy()?,
            None => Strategy::CrdtText,
        };
        if named != strategy {
            return Err(StoreError::StrategyMismatch {
                document: strategy,
                update: named,
            });
        }
        if let Body::Text(doc) = &mut self.body {
            let merged = doc.merge(update)?;
            if merged.status == MergeStatus::Duplicate {
                return Ok(None);
            }
            // A held update changes nothing visible yet, but is new state to keep.
            let bytes = match merged.status {
                MergeStatus::Held => update.to_vec(),
                _ => merged.update,
            };
            return Ok(Some(self.bump(
                version,
                Op::Merge,
                Some(bytes.into_boxed_slice()),
            )));
        }
        let Some(update) = json else {
            return Ok(None);
        };
        let mut changed = false;
        match &mut self.body {
            Body::Lww(doc) | Body::Map(doc) => {
                let writes = sync::read_registers(update, now_ms)?;
                with_tree(doc, |doc| {
                    for write in writes {
                        clock.observe(&write.stamp);
                        changed |= doc.merge(write, version);
                    }
                    Ok::<_, StoreError>(())
                })?;
            }
            Body::Counter(doc) => {
                for entry in sync::read_counters(update)? {
                    changed |= doc.merge(&entry.path, entry.replica, entry.inc, entry.dec, version);
                }
            }
            Body::Set(doc) => {
                for (path, mut element) in sync::read_elements(update, now_ms)? {
                    clock.observe(&element.tag);
                    element.version = version;
                    changed |= doc.merge(&path, element);
                }
            }
            Body::Text(_) => {}
        }
        Ok(changed.then(|| self.bump(version, Op::Merge, None)))
    }

    /// Moves to `version` and records a whole-document change.
    fn bump(&mut self, version: u64, op: Op, text_update: Option<Box<[u8]>>) -> Change {
        self.version = version;
        Change {
            version,
            op,
            path: None,
            text_update,
        }
    }

    /// What SYNC answers to a replica holding `state_vector`: for `crdt-text` the Yjs v1 diff
    /// against that state vector (empty for everything) and the document's own; for the other
    /// strategies the JSON update of what changed after the version `state_vector` spells in
    /// decimal (empty for everything).
    pub fn sync(&self, state_vector: &[u8]) -> Result<SyncReply, StoreError> {
        if let Body::Text(doc) = &self.body {
            // An empty Yjs state vector: zero clients.
            let state_vector = if state_vector.is_empty() {
                &[0][..]
            } else {
                state_vector
            };
            return Ok(SyncReply::Yjs {
                update: doc.diff(state_vector)?,
                state_vector: doc.state_vector(),
            });
        }
        let since = if state_vector.is_empty() {
            0
        } else {
            sync::parse_since(state_vector)?
        };
        Ok(SyncReply::Json(self.json_since(since)))
    }

    /// The JSON update holding everything that changed here after version `since`: what a
    /// replica that last synced at `since` is missing (`0` for everything). Empty for
    /// `crdt-text`, which syncs by Yjs state vector instead.
    pub fn json_since(&self, since: u64) -> Update {
        match &self.body {
            Body::Lww(doc) => {
                sync::registers_since(&doc.tree(), Strategy::Lww, self.version, since)
            }
            Body::Map(doc) => {
                sync::registers_since(&doc.tree(), Strategy::CrdtMap, self.version, since)
            }
            Body::Counter(doc) => sync::counters_since(doc, self.version, since),
            Body::Set(doc) => sync::elements_since(doc, self.version, since),
            Body::Text(_) => Update::empty(Strategy::CrdtText, self.version),
        }
    }

    /// The incremental update of one change: exactly what that version changed, to persist and
    /// replay through [`Document::merge`]. Must be called before the next change.
    ///
    /// A `crdt-text` change that edited no text (its CREATE) is the empty Yjs update: replaying
    /// it only moves the version on.
    pub fn update_for(&self, change: &Change) -> Vec<u8> {
        let since = change.version.saturating_sub(1);
        let straight = |doc: &RegisterDoc, strategy| {
            doc.update_since(strategy, self.version, since)
                .unwrap_or_else(|| self.json_since(since).to_bytes())
        };
        match (&change.text_update, &self.body) {
            (Some(update), _) => update.to_vec(),
            (None, Body::Text(_)) => EMPTY_YJS_UPDATE.to_vec(),
            (None, Body::Lww(doc)) => straight(doc, Strategy::Lww),
            (None, Body::Map(doc)) => straight(doc, Strategy::CrdtMap),
            (None, _) => self.json_since(since).to_bytes(),
        }
    }

    /// A snapshot of the whole document, to persist: what [`Document::from_state`] rebuilds it
    /// from (see [`crate::persisted`] for the encoding). The expiry is not in it; storage keeps
    /// that beside it. Fails only for a `crdt-text` document whose yrs state does not encode (a
    /// yrs bug, contained: the document stays as it was).
    pub fn encode_state(&self) -> Result<Vec<u8>, StoreError> {
        Ok(match &self.body {
            Body::Lww(doc) => register_state(doc, Strategy::Lww, self.version),
            Body::Map(doc) => register_state(doc, Strategy::CrdtMap, self.version),
            Body::Counter(doc) => persisted::encode_counters(self.version, doc),
            Body::Set(doc) => persisted::encode_sets(self.version, doc),
            Body::Text(doc) => {
                persisted::encode_text(self.version, &doc.encode_state()?, doc.pending_updates())
            }
        })
    }

    /// Rebuilds a `strategy` document from a snapshot [`Document::encode_state`] made, expiring
    /// at `expires_at_ms`; `clock` is moved past every stamp in it. `replica` is the server's
    /// replica id for the document from now on (see [`Document::new`]); a `crdt-text` document
    /// whose history already holds it writes under the next free id instead, since a Yjs client
    /// id must never be reused with a different history.
    pub fn from_state(
        strategy: Strategy,
        expires_at_ms: Option<u64>,
        state: &[u8],
        clock: &mut Clock,
        replica: u64,
    ) -> Result<Document, StoreError> {
        let (body, version) = match strategy {
            Strategy::CrdtText => {
                let text = persisted::TextState::parse(state)?;
                (Body::Text(Box::new(text.load(replica)?)), text.version)
            }
            json => {
                let state = persisted::State::parse(state, json)?;
                let version = state.version();
                let body = match json {
                    Strategy::Lww => Body::Lww(RegisterDoc::store(state.into_registers(clock)?)),
                    Strategy::CrdtMap => {
                        Body::Map(RegisterDoc::store(state.into_registers(clock)?))
                    }
                    Strategy::CrdtCounter => Body::Counter(Box::new(state.into_counters()?)),
                    // The one JSON strategy left: crdt-text took the arm above.
                    _ => Body::Set(Box::new(state.into_sets(clock)?)),
                };
                (body, version)
            }
        };
        Ok(Document {
            body,
            version,
            expires_at_ms: expires_at(expires_at_ms),
        })
    }

    /// Replays a persisted incremental update ([`Document::update_for`] of the change that made
    /// `version`): applies it as a merge would, but the elements it changes take `version`, and
    /// so does the document, exactly as when the change was first made. Stamps are not checked
    /// against the clock (they were when they came in); `clock` is moved past them. An update
    /// that does not come after the document's version is refused as damaged.
    pub fn replay(
        &mut self,
        version: u64,
        update: &[u8],
        clock: &mut Clock,
    ) -> Result<(), StoreError> {
        if version <= self.version {
            return Err(StoreError::BadPersisted(format!(
                "update {version} does not follow version {}",
                self.version
            )));
        }
        let before = self.version;
        self.version = version.saturating_sub(1);
        if let Err(error) = self.merge(update, clock, u64::MAX) {
            self.version = before;
            return Err(error);
        }
        self.version = version;
        Ok(())
    }

    /// The delta event of one change, for subscribers: the op, the path, what the path holds
    /// now (or the whole document for whole-document changes), and the version. Must be called
    /// before the next change.
    pub fn event(&self, id: &str, change: &Change) -> Value {
        let mut event = Map::new();
        event.insert("op".into(), json!(change.op.name()));
        event.insert("id".into(), json!(id));
        match &change.path {
            Some(path) => {
                event.insert("path".into(), json!(path.to_string()));
                let shown = self.get(path).map(Cow::into_owned);
                event.insert("value".into(), shown.unwrap_or(Value::Null));
            }
            None if change.op == Op::Drop => {}
            None => {
                event.insert("value".into(), self.root().into_owned());
            }
        }
        event.insert("version".into(), json!(change.version));
        Value::Object(event)
    }
}

/// Runs `operation` on a register document as a tree, and stores it back (compact again when it
/// is still small). The tree operations validate before they change anything, so on error the
/// document is stored back as it was.
fn with_tree<T, E>(
    doc: &mut RegisterDoc,
    operation: impl FnOnce(&mut Registers) -> Result<T, E>,
) -> Result<T, E> {
    let mut tree = doc.take();
    let result = operation(&mut tree);
    *doc = RegisterDoc::store(tree);
    result
}

/// Live writes on a `crdt-text` document, in one yrs transaction: SET of a string replaces a
/// field's text, DEL of a field empties it, SPLICE edits it; fields are top-level names.
/// Returns each write's outcome or error, and the Yjs v1 update of them all (empty when none
/// changed anything).
fn edit_text(
    doc: &mut TextDoc,
    edits: Vec<(Path, Edit)>,
) -> (Vec<Result<Outcome, StoreError>>, Vec<u8>) {
    let mut outcomes: Vec<Result<Outcome, StoreError>> = Vec::with_capacity(edits.len());
    let mut text_edits = Vec::with_capacity(edits.len());
    // Which outcome slot each text edit fills, and the kind of outcome it makes.
    let mut slots = Vec::with_capacity(edits.len());
    for (path, edit) in edits {
        match text_edit(doc, &path, edit) {
            Ok((text_edit, kind)) => {
                slots.push((outcomes.len(), kind));
                outcomes.push(Ok(Outcome::Done));
                text_edits.push(text_edit);
            }
            Err(error) => outcomes.push(Err(error)),
        }
    }
    let (results, update) = doc.apply_batch(&text_edits);
    for ((slot, kind), result) in slots.into_iter().zip(results) {
        outcomes[slot] = result.map_err(StoreError::from).map(|len| match kind {
            TextOutcome::Replaced => Outcome::Done,
            TextOutcome::Cleared(had_text) => Outcome::Deleted(had_text),
            TextOutcome::Spliced => Outcome::Length(len),
        });
    }
    (outcomes, update)
}

/// What a text write answers.
#[derive(Debug, Clone, Copy)]
enum TextOutcome {
    /// SET: `+OK`.
    Replaced,
    /// DEL: whether the field had text.
    Cleared(bool),
    /// SPLICE: the field's new length.
    Spliced,
}

/// Turns a live write on a `crdt-text` document into the text module's edit.
fn text_edit(
    doc: &TextDoc,
    path: &Path,
    edit: Edit,
) -> Result<(TextEdit, TextOutcome), StoreError> {
    let refuse = |command, hint| StoreError::WrongStrategy {
        command,
        strategy: Strategy::CrdtText,
        hint,
    };
    let [segment] = path.segments() else {
        return Err(refuse(
            edit.command(),
            "crdt-text fields are top-level names, such as 'content'",
        ));
    };
    let field = segment.key().into_owned();
    Ok(match edit {
        Edit::Set(Value::String(text)) => {
            (TextEdit::Replace { field, text }, TextOutcome::Replaced)
        }
        Edit::Delete => {
            let had_text = doc.field_len(&field) > 0;
            (TextEdit::Clear { field }, TextOutcome::Cleared(had_text))
        }
        Edit::Splice {
            index,
            delete,
            text,
        } => (
            TextEdit::Splice {
                field,
                index,
                delete,
                insert: text,
            },
            TextOutcome::Spliced,
        ),
        Edit::Set(_) => return Err(refuse("SET", "crdt-text fields hold text: SET a string")),
        other => {
            return Err(refuse(
                other.command(),
                "crdt-text documents take SET of a string, SPLICE and DEL",
            ))
        }
    })
}

/// A copy of `value` with every map's keys in sorted order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, member)| (key.clone(), sorted(member)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        scalar => scalar.clone(),
    }
}

/// The snapshot of a register document: straight from a compact one's buffer where it can be,
/// else from its tree.
fn register_state(doc: &RegisterDoc, strategy: Strategy, version: u64) -> Vec<u8> {
    doc.state(strategy, version)
        .unwrap_or_else(|| persisted::encode_registers(strategy, version, &doc.tree()))
}

/// A live write on a register document: on the compact text when it is a SET or INC of a
/// top-level key, else on the tree.
fn edit_register_doc(
    doc: &mut RegisterDoc,
    path: &Path,
    edit: Edit,
    stamp: Stamp,
    version: u64,
    expand_maps: bool,
) -> Result<(Outcome, bool), StoreError> {
    let fast = match &edit {
        Edit::Set(Value::Object(map)) if expand_maps && !map.is_empty() => None,
        Edit::Set(value) => Some(TopLevel::Set(value)),
        Edit::Increment(delta) => Some(TopLevel::Increment(delta)),
        _ => None,
    };
    if let Some(result) = fast.and_then(|fast| doc.edit_top_level(path, fast, stamp, version)) {
        return Ok(match result? {
            Some(number) => (Outcome::Number(number), true),
            None => (Outcome::Done, true),
        });
    }
    with_tree(doc, |doc| {
        edit_registers(doc, path, edit, stamp, version, expand_maps)
    })
}

/// A live write on `lww` (`expand_maps` false) or `crdt-map` (true); returns the outcome and
/// whether the document changed.
fn edit_registers(
    doc: &mut Registers,
    path: &Path,
    edit: Edit,
    stamp: Stamp,
    version: u64,
    expand_maps: bool,
) -> Result<(Outcome, bool), StoreError> {
    Ok(match edit {
        Edit::Set(value) if expand_maps => {
            map::set(doc, path, value, stamp, version)?;
            (Outcome::Done, true)
        }
        Edit::Set(value) => {
            doc.set(path, value, stamp, version)?;
            (Outcome::Done, true)
        }
        Edit::Delete => {
            let deleted = doc.delete(path, stamp, version)?;
            (Outcome::Deleted(deleted), deleted)
        }
        Edit::Push(value) => (
            Outcome::Length(doc.push(path, value, stamp, version)?),
            true,
        ),
        Edit::Pull(value) => {
            let removed = doc.pull(path, &value, stamp, version)?;
            (Outcome::Removed(removed), removed > 0)
        }
        Edit::Increment(delta) => {
            let sum = doc.increment(path, &delta, stamp, version)?;
            (Outcome::Number(sum), true)
        }
        Edit::Splice { .. } => return Err(splice_refused(Strategy::Lww)),
    })
}

/// SPLICE on a document that holds no text. [`Document::edit`] refuses it before dispatching;
/// the strategies' functions refuse it too rather than assume.
fn splice_refused(strategy: Strategy) -> StoreError {
    StoreError::WrongStrategy {
        command: "SPLICE",
        strategy,
        hint: "SPLICE edits crdt-text documents",
    }
}

/// A live write on `crdt-counter`.
fn edit_counter(
    doc: &mut Counters,
    path: &Path,
    edit: Edit,
    replica: u64,
    version: u64,
) -> Result<(Outcome, bool), StoreError> {
    match edit {
        Edit::Increment(delta) => Ok((
            Outcome::Number(doc.increment(path, &delta, replica, version)?),
            true,
        )),
        Edit::Set(target) => {
            doc.set(path, &target, replica, version)?;
            Ok((Outcome::Done, true))
        }
        edit => Err(StoreError::WrongStrategy {
            command: edit.command(),
            strategy: Strategy::CrdtCounter,
            hint:
                "counters only take INC (or SET to a number); DEL the whole document to drop them",
        }),
    }
}

/// A live write on `crdt-set`: on a set itself, or inside one of its elements.
fn edit_set(
    doc: &mut Sets,
    path: &Path,
    edit: Edit,
    stamper: &mut Stamper<'_>,
    version: u64,
) -> Result<(Outcome, bool), StoreError> {
    let text = path.to_string();
    match doc.locate(&text) {
        Some((index, None)) => edit_whole_set(doc, index, path, edit, stamper, version),
        Some((index, Some(_))) => {
            let depth = doc.set(index).path.split('.').count();
            edit_element(doc, index, path, depth, edit, stamper, version)
        }
        None => match edit {
            Edit::Push(value) => {
                let set = doc.set_for_write(&text)?;
                set.add(value, stamper.next(), version);
                Ok((Outcome::Length(set.len()), true))
            }
            // A set shows once it holds an element: an empty one has nothing a replica or a
            // replayed update could carry, so SET to `[]` of a missing set changes nothing.
            Edit::Set(Value::Array(values)) if values.is_empty() => Ok((Outcome::Done, false)),
            Edit::Set(Value::Array(values)) => {
                let set = doc.set_for_write(&text)?;
                for value in values {
                    set.add(value, stamper.next(), version);
                }
                Ok((Outcome::Done, true))
            }
            Edit::Pull(_) => Ok((Outcome::Removed(0), false)),
            Edit::Delete => Ok((Outcome::Deleted(false), false)),
            edit => Err(not_a_set(edit)),
        },
    }
}

/// A live write addressed to a whole set.
fn edit_whole_set(
    doc: &mut Sets,
    index: usize,
    path: &Path,
    edit: Edit,
    stamper: &mut Stamper<'_>,
    version: u64,
) -> Result<(Outcome, bool), StoreError> {
    let set = doc.set_mut(index);
    Ok(match edit {
        Edit::Push(value) => {
            set.add(value, stamper.next(), version);
            (Outcome::Length(set.len()), true)
        }
        Edit::Pull(value) => {
            let removed = set.remove_value(&value, version).is_some();
            (Outcome::Removed(usize::from(removed)), removed)
        }
        Edit::Delete => {
            let cleared = set.clear(version);
            (Outcome::Deleted(cleared), cleared)
        }
        Edit::Set(Value::Array(values)) => {
            set.clear(version);
            for value in values {
                set.add(value, stamper.next(), version);
            }
            (Outcome::Done, true)
        }
        Edit::Set(other) => {
            return Err(StoreError::NotAnArray {
                path: path.to_string(),
                found: JsonKind::of(&other),
            })
        }
        Edit::Increment(_) => {
            return Err(StoreError::NotANumber {
                path: path.to_string(),
                found: JsonKind::Array,
            })
        }
        Edit::Splice { .. } => return Err(splice_refused(Strategy::CrdtSet)),
    })
}

/// A live write inside element `path[depth]` of a set: the element is edited as an `lww` value
/// would be, then replaces the old element at the same position.
fn edit_element(
    doc: &mut Sets,
    index: usize,
    path: &Path,
    depth: usize,
    edit: Edit,
    stamper: &mut Stamper<'_>,
    version: u64,
) -> Result<(Outcome, bool), StoreError> {
    let segments = path.segments();
    let set = doc.set_mut(index);
    let position = match &segments[depth] {
        Segment::Index(position) => *position,
        Segment::Key(key) => {
            return Err(StoreError::KeyOnArray {
                path: path.prefix_text(depth),
                key: key.to_string(),
            })
        }
    };
    let Some(old) = set.get(position).cloned() else {
        return match edit {
            Edit::Delete => Ok((Outcome::Deleted(false), false)),
            Edit::Pull(_) => Ok((Outcome::Removed(0), false)),
            _ => Err(StoreError::IndexOutOfRange {
                path: path.prefix_text(depth),
                index: position,
                len: set.len(),
            }),
        };
    };
    if segments.len() == depth + 1 {
        match edit {
            Edit::Delete => {
                set.remove_value(&old, version);
                return Ok((Outcome::Deleted(true), true));
            }
            Edit::Set(value) => {
                set.replace(position, value, stamper.next(), version);
                return Ok((Outcome::Done, true));
            }
            _ => {}
        }
    }
    // Edit a copy of the element under a one-key wrapper, with the path inside the element;
    // errors name the element's own path instead of the wrapper's key.
    const WRAPPER: &str = "e";
    let inner = std::iter::once(WRAPPER.to_owned())
        .chain(segments[depth + 1..].iter().map(|s| s.key().into_owned()))
        .collect::<Vec<_>>()
        .join(".");
    let inner = Path::parse(&inner)?;
    let mut wrapper = json!({ WRAPPER: old });
    let edited = edit_wrapped(&mut wrapper, &inner, edit);
    let (outcome, changed) =
        edited.map_err(|e| e.rebased(WRAPPER, &path.prefix_text(depth + 1)))?;
    if changed {
        let edited = wrapper
            .as_object_mut()
            .and_then(|map| map.remove(WRAPPER))
            .unwrap_or(Value::Null);
        set.replace(position, edited, stamper.next(), version);
    }
    Ok((outcome, changed))
}

/// `edit` applied at `inner` in `wrapper`, as on an `lww` value: the outcome, and whether it
/// changed anything.
fn edit_wrapped(
    wrapper: &mut Value,
    inner: &Path,
    edit: Edit,
) -> Result<(Outcome, bool), StoreError> {
    Ok(match edit {
        Edit::Set(value) => {
            value::set(wrapper, inner, value)?;
            (Outcome::Done, true)
        }
        Edit::Delete => {
            let deleted = value::delete(wrapper, inner)?;
            (Outcome::Deleted(deleted), deleted)
        }
        Edit::Push(value) => (Outcome::Length(value::push(wrapper, inner, value)?), true),
        Edit::Pull(value) => {
            let removed = value::pull(wrapper, inner, &value)?;
            (Outcome::Removed(removed), removed > 0)
        }
        Edit::Increment(delta) => (
            Outcome::Number(value::increment(wrapper, inner, &delta)?),
            true,
        ),
        Edit::Splice { .. } => return Err(splice_refused(Strategy::CrdtSet)),
    })
}

fn not_a_set(edit: Edit) -> StoreError {
    StoreError::WrongStrategy {
        command: edit.command(),
        strategy: Strategy::CrdtSet,
        hint: "crdt-set documents hold sets: PUSH and PULL values, SET a set to an array, or \
               edit inside an element (SET items.0.done true)",
    }
}

/// A Yjs v1 update that holds nothing: no client's structs, an empty delete set.
const EMPTY_YJS_UPDATE: [u8; 2] = [0, 0];

/// The stored form of an expiry time: absent, or a time after the epoch.
fn expires_at(expires_at_ms: Option<u64>) -> Option<NonZeroU64> {
    expires_at_ms.map(|ms| NonZeroU64::new(ms).unwrap_or(NonZeroU64::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::path;
    use serde_json::json;

    fn edit(
        doc: &mut Document,
        clock: &mut Clock,
        at: &str,
        edit: Edit,
    ) -> Result<Outcome, StoreError> {
        let mut stamper = Stamper {
            clock,
            now_ms: 1_000,
            replica: 1,
        };
        doc.edit(path(at), edit, &mut stamper)
            .map(|(outcome, _)| outcome)
    }

    #[test]
    fn new_document_is_an_empty_object() {
        for strategy in [
            Strategy::Lww,
            Strategy::CrdtMap,
            Strategy::CrdtCounter,
            Strategy::CrdtSet,
        ] {
            let document = Document::new(strategy, None, 1).expect("supported");
            assert_eq!(document.root().as_ref(), &json!({}));
            assert_eq!(document.strategy(), strategy);
            assert_eq!(document.version(), 0);
        }
    }

    #[test]
    fn a_document_is_small() {
        assert!(
            std::mem::size_of::<Document>() <= 48,
            "{}",
            std::mem::size_of::<Document>()
        );
    }

    #[test]
    fn document_without_ttl_never_expires() {
        let document = Document::new(Strategy::Lww, None, 1).expect("lww");
        assert!(!document.is_expired(u64::MAX));
    }

    #[test]
    fn document_expires_when_its_time_is_reached() {
        let document = Document::new(Strategy::Lww, Some(1_000), 1).expect("lww");
        assert!(!document.is_expired(999));
        assert!(document.is_expired(1_000));
    }

    #[test]
    fn every_change_bumps_the_version_and_no_op_writes_do_not() {
        let mut clock = Clock::new();
        let mut doc = Document::new(Strategy::Lww, None, 1).expect("lww");
        edit(&mut doc, &mut clock, "a", Edit::Set(json!(1))).expect("set");
        edit(&mut doc, &mut clock, "b", Edit::Delete).expect("del");
        assert_eq!(doc.version(), 1);
        edit(&mut doc, &mut clock, "a", Edit::Increment(Number::from(2))).expect("inc");
        assert_eq!(doc.version(), 2);
    }

    #[test]
    fn the_shopping_list_marks_the_first_item_bought() {
        let mut clock = Clock::new();
        let mut list = Document::new(Strategy::CrdtSet, None, 1).expect("set");
        edit(
            &mut list,
            &mut clock,
            "items",
            Edit::Push(json!({"name": "Milk", "qty": 2})),
        )
        .expect("push");
        edit(
            &mut list,
            &mut clock,
            "items",
            Edit::Push(json!({"name": "Bread", "qty": 1})),
        )
        .expect("push");
        edit(
            &mut list,
            &mut clock,
            "items.0.bought",
            Edit::Set(json!(true)),
        )
        .expect("set");
        assert_eq!(
            list.root().as_ref(),
            &json!({"items": [{"name": "Milk", "qty": 2, "bought": true}, {"name": "Bread", "qty": 1}]})
        );
    }

    #[test]
    fn counters_refuse_what_they_cannot_do() {
        let mut clock = Clock::new();
        let mut doc = Document::new(Strategy::CrdtCounter, None, 1).expect("counter");
        let error = edit(&mut doc, &mut clock, "a", Edit::Push(json!(1))).expect_err("push");
        assert_eq!(error.kind(), crate::ErrorKind::WrongType);
    }

    #[test]
    fn events_show_the_value_after_the_write() {
        let mut clock = Clock::new();
        let mut doc = Document::new(Strategy::CrdtCounter, None, 1).expect("counter");
        let mut stamper = Stamper {
            clock: &mut clock,
            now_ms: 1,
            replica: 9,
        };
        let (_, change) = doc
            .edit(
                path("views"),
                Edit::Increment(Number::from(3)),
                &mut stamper,
            )
            .expect("inc");
        let change = change.expect("changed");
        assert_eq!(
            doc.event("c", &change),
            json!({"op": "inc", "id": "c", "path": "views", "value": 3, "version": 1})
        );
        let update = doc.update_for(&change);
        let mut replica = Document::new(Strategy::CrdtCounter, None, 1).expect("counter");
        replica.merge(&update, &mut Clock::new(), 1).expect("merge");
        assert_eq!(replica.root(), doc.root());
    }
}
