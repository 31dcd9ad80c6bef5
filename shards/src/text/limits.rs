//! The bounds a crdt-text document enforces, with their defaults.
//!
//! Every input that reaches a [`TextDoc`](super::TextDoc) (an edit from a
//! command, an update or state vector from a replica) is checked against
//! these before it costs memory or time, so one client cannot make a shard
//! allocate or work without bound. The server may configure them; the
//! defaults are the `*_DEFAULT` constants below.

/// Default for [`TextLimits::update_bytes_max`]: 4 MiB.
///
/// An update of this size holds at most about a million minimal items, so
/// merging one costs at most a few hundred megabytes of transient memory;
/// a full-state sync of a large document (the 260,000-edit
/// automerge-paper trace encodes to well under 1 MiB) still fits.
pub const UPDATE_BYTES_DEFAULT: usize = 4 << 20;

/// Default for [`TextLimits::state_vector_entries_max`]: 65,536 clients.
///
/// A state vector holds one entry per client that ever edited the document;
/// real documents have tens to thousands.
pub const STATE_VECTOR_ENTRIES_DEFAULT: usize = 1 << 16;

/// Default for [`TextLimits::fields_max`]: 1,024 text fields per document.
pub const FIELDS_DEFAULT: usize = 1024;

/// Default for [`TextLimits::field_name_bytes_max`]: 256 bytes.
pub const FIELD_NAME_BYTES_DEFAULT: usize = 256;

/// Default for [`TextLimits::document_chars_max`]: 16 Mi code points.
pub const DOCUMENT_CHARS_DEFAULT: usize = 16 << 20;

/// Default for [`TextLimits::pending_bytes_max`]: 4 MiB.
pub const PENDING_BYTES_DEFAULT: usize = 4 << 20;

/// The largest [`TextLimits::document_chars_max`] that may be configured.
///
/// yrs counts text positions in UTF-16 code units held in `u32`; a code
/// point takes at most two units, so half of `u32::MAX` keeps every
/// position and length representable.
pub const DOCUMENT_CHARS_CEILING: usize = (u32::MAX / 2) as usize;

/// The bounds one crdt-text document enforces. Units are in the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimits {
    /// The largest Yjs update [`merge`](super::TextDoc::merge) accepts, in
    /// bytes; a larger one is refused before it is parsed.
    pub update_bytes_max: usize,
    /// The most entries a state vector handed to
    /// [`diff`](super::TextDoc::diff) may claim, and the most client groups
    /// an update may carry.
    pub state_vector_entries_max: usize,
    /// The most text fields (Yjs root types) a document may hold. A field,
    /// once created, stays for the document's life (Yjs cannot delete a
    /// root type), so this also bounds per-document bookkeeping.
    pub fields_max: usize,
    /// The longest field name, in UTF-8 bytes.
    pub field_name_bytes_max: usize,
    /// The most text the document may hold across all its fields, in
    /// Unicode code points. Capped at [`DOCUMENT_CHARS_CEILING`].
    pub document_chars_max: usize,
    /// The most bytes of not-yet-applicable updates (waiting for edits they
    /// depend on) the document keeps, measured as their v1 encoding.
    pub pending_bytes_max: usize,
}

impl Default for TextLimits {
    fn default() -> Self {
        TextLimits {
            update_bytes_max: UPDATE_BYTES_DEFAULT,
            state_vector_entries_max: STATE_VECTOR_ENTRIES_DEFAULT,
            fields_max: FIELDS_DEFAULT,
            field_name_bytes_max: FIELD_NAME_BYTES_DEFAULT,
            document_chars_max: DOCUMENT_CHARS_DEFAULT,
            pending_bytes_max: PENDING_BYTES_DEFAULT,
        }
    }
}

impl TextLimits {
    /// The document text bound actually enforced: the configured one, capped
    /// at [`DOCUMENT_CHARS_CEILING`].
    pub(crate) fn chars_max(&self) -> usize {
        self.document_chars_max.min(DOCUMENT_CHARS_CEILING)
    }
}
