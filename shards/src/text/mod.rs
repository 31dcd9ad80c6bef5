//! crdt-text documents: named text fields that many writers edit at once,
//! merged by Yjs rules (yrs).
//!
//! A [`TextDoc`] is one crdt-text document. Its fields are the root-level
//! `Y.Text` types of a yrs document, so any Yjs implementation (browser Yjs,
//! pycrdt, yrs) can hold a replica of it and sync with standard v1 updates
//! and state vectors. Clients address text in Unicode code points.
//!
//! Where it sits in the request path: a text command (SET, DEL, a splice)
//! or a replica-sync command reaches the document's owner shard, which calls
//! the matching method here; the returned Yjs update is what the shard
//! persists and publishes. The module is plain synchronous Rust with no
//! clock or randomness of its own, so it builds for wasm32.
//!
//! - [`edit`]: splice, replace and clear, alone or batched in one
//!   transaction ([`TextEdit`]).
//! - `compose`: a batch's splices of one field folded into one yrs delta.
//! - [`sync`]: state vectors, diffs and merging replica updates.
//! - `validate`: the bounded structural check every incoming update and
//!   state vector passes before yrs sees it.
//! - `held`: updates held back until the edits they build on arrive.
//! - `verify`: applying updates so that a yrs failure cannot break the
//!   document (every merge proves its result reloads).
//! - [`persist`]: the persisted state and rebuilding from it.
//! - `codepoints`: code-point positions over yrs's UTF-16 positions.
//! - [`limits`]: the bounds, [`TextLimits`].
//! - [`trace`]: loading and replaying recorded editing traces, for tests and
//!   benchmarks.
//!
//! # Client ids
//!
//! Every Yjs replica writes under a 53-bit client id, and two writers must
//! never share one: if a server reloaded a document under the id it used
//! before, and some edit it had published under that id was not persisted,
//! its next edit would reuse that clock with different content and replicas
//! would diverge. So a `TextDoc` never picks or keeps an id itself: the
//! caller passes one to [`TextDoc::new`] and [`TextDoc::from_state`], and
//! must pass a fresh random one on every load (the server draws it from its
//! own random source). [`TextDoc::from_state`] refuses an id that already
//! appears in the state or the held updates, so an unlucky draw is caught
//! and redrawn.
//!
//! # Empty fields
//!
//! A Yjs root type cannot be deleted, so a field, once written, stays in the
//! document for good. A field whose text is empty reads as absent:
//! [`TextDoc::to_json`] leaves it out and [`TextDoc::field`] returns `None`.
//! DEL of a field ([`TextDoc::clear`]) therefore reads back exactly like a
//! field never written, and `SET field ""` does the same.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use yrs::types::text::YChange;
use yrs::{ClientID, Doc, GetString, OffsetKind, Options, ReadTxn, Text, Transact};

mod codepoints;
mod compose;
pub mod edit;
mod error;
mod held;
pub mod limits;
pub mod persist;
pub mod sync;
pub mod trace;
mod validate;
mod verify;

use codepoints::AstralIndex;
pub use edit::TextEdit;
pub use error::TextError;
use held::HeldUpdate;
pub use limits::TextLimits;
pub use sync::{MergeStatus, Merged};

/// The largest Yjs client id: client ids are 53-bit so JavaScript numbers
/// hold them exactly.
pub const CLIENT_ID_MAX: u64 = (1 << 53) - 1;

/// The document guid given to yrs. It only matters for subdocuments, which
/// text documents do not have; a constant keeps yrs from drawing a random
/// one (which needs an entropy source on wasm32).
const DOC_GUID: &str = "ussl-crdt-text";

/// One crdt-text document: text fields merged by Yjs rules.
///
/// See the [module docs](self) for how client ids must be chosen and how
/// empty fields read.
pub struct TextDoc {
    /// The yrs document. Its root types are the text fields; it counts
    /// positions in UTF-16 code units, translated by `fields`.
    doc: Doc,
    /// This replica's Yjs client id, under which local edits are written.
    client_id: u64,
    /// The bounds this document enforces.
    limits: TextLimits,
    /// Per-field bookkeeping kept beside yrs: astral characters and the
    /// total text size.
    fields: FieldIndex,
    /// Replica updates waiting for edits they build on (see `held`).
    held: Vec<HeldUpdate>,
}

/// What the document tracks about its fields beside yrs, so that positions
/// translate and the text-size limit checks in constant time.
#[derive(Debug, Default)]
struct FieldIndex {
    /// Astral-character positions of the fields that have any; fields
    /// without astral characters have no entry, keeping small documents
    /// small.
    astral: HashMap<Arc<str>, AstralIndex>,
    /// Fields holding formatting marks (from rich-text replicas), whose
    /// edits bypass composition; see [`TextDoc::apply_batch`].
    formatted: HashSet<Arc<str>>,
    /// The text of all fields together, in code points.
    chars: usize,
    /// How many fields (root types) the document has, empty ones included.
    count: usize,
}

impl FieldIndex {
    /// Builds the index from the document's current text.
    fn of(doc: &Doc) -> FieldIndex {
        let txn = doc.transact();
        let mut index = FieldIndex::default();
        for (name, _) in txn.root_refs() {
            index.count += 1;
            let Some(text) = txn.get_text(name) else {
                continue;
            };
            let content = text.get_string(&txn);
            index.chars += content.chars().count();
            index.set_astral(name, AstralIndex::of(&content));
            let formatted = text
                .diff(&txn, YChange::identity)
                .iter()
                .any(|chunk| chunk.attributes.as_ref().is_some_and(|a| !a.is_empty()));
            if formatted {
                index.formatted.insert(Arc::from(name));
            }
        }
        index
    }

    /// Records `field`'s astral index, keeping entries only for fields that
    /// have astral characters.
    fn set_astral(&mut self, field: &str, astral: AstralIndex) {
        if astral.is_empty() {
            self.astral.remove(field);
        } else if let Some(entry) = self.astral.get_mut(field) {
            *entry = astral;
        } else {
            self.astral.insert(Arc::from(field), astral);
        }
    }
}

/// The yrs options every text document uses: the given client id, UTF-16
/// positions, garbage collection of deleted text on.
fn yrs_options(client_id: u64) -> Options {
    let mut options = Options::with_guid_and_client_id(DOC_GUID.into(), ClientID::new(client_id));
    options.offset_kind = OffsetKind::Utf16;
    options
}

/// Checks that `client_id` fits in the 53 bits Yjs uses.
fn check_client_id(client_id: u64) -> Result<(), TextError> {
    if client_id > CLIENT_ID_MAX {
        return Err(TextError::InvalidClientId(client_id));
    }
    Ok(())
}

impl TextDoc {
    /// Creates an empty document that writes under `client_id`, which must
    /// be fresh (see [Client ids](self#client-ids)) and at most
    /// [`CLIENT_ID_MAX`].
    pub fn new(client_id: u64, limits: TextLimits) -> Result<TextDoc, TextError> {
        check_client_id(client_id)?;
        Ok(TextDoc {
            doc: Doc::with_options(yrs_options(client_id)),
            client_id,
            limits,
            fields: FieldIndex::default(),
            held: Vec::new(),
        })
    }

    /// The Yjs client id this document writes under.
    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    /// The bounds this document enforces.
    pub fn limits(&self) -> &TextLimits {
        &self.limits
    }

    /// The whole document as plain JSON: an object mapping each non-empty
    /// field to its text, keys in ascending order so every replica prints
    /// the same bytes.
    pub fn to_json(&self) -> Value {
        TextDoc::json_of(&self.doc)
    }

    pub(crate) fn json_of(doc: &Doc) -> Value {
        let txn = doc.transact();
        let mut fields: Vec<(String, String)> = txn
            .root_refs()
            .filter_map(|(name, _)| {
                let text = txn.get_text(name)?.get_string(&txn);
                (!text.is_empty()).then(|| (name.to_owned(), text))
            })
            .collect();
        fields.sort_unstable();
        let object: Map<String, Value> = fields
            .into_iter()
            .map(|(name, text)| (name, Value::String(text)))
            .collect();
        Value::Object(object)
    }

    /// The text of field `name`, or `None` when it is empty or was never
    /// written.
    pub fn field(&self, name: &str) -> Option<String> {
        let txn = self.doc.transact();
        let text = txn.get_text(name)?.get_string(&txn);
        (!text.is_empty()).then_some(text)
    }

    /// The length of field `name` in Unicode code points (0 when absent).
    pub fn field_len(&self, name: &str) -> usize {
        let txn = self.doc.transact();
        let Some(text) = txn.get_text(name) else {
            return 0;
        };
        let astral = self.fields.astral.get(name).map_or(0, AstralIndex::count);
        (text.len(&txn) - astral) as usize
    }

    /// The text of all fields together, in Unicode code points.
    pub fn chars(&self) -> usize {
        self.fields.chars
    }
}

impl std::fmt::Debug for TextDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextDoc")
            .field("client_id", &self.client_id)
            .field("chars", &self.fields.chars)
            .finish_non_exhaustive()
    }
}
