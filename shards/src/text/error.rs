//! Why a crdt-text operation failed.
//!
//! Messages are written for the client: lower-case sentences naming the
//! field, position or byte offset. Whenever a [`TextError`] is returned the
//! document is unchanged.

/// Why a [`TextDoc`](super::TextDoc) operation failed. The document is
/// unchanged whenever one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// A field name was empty.
    #[error("text field name is empty")]
    EmptyFieldName,
    /// A field name was longer than the limit.
    #[error("text field name is {bytes} bytes long, over the limit of {bytes_max} bytes")]
    FieldNameTooLong {
        /// The name's length, in UTF-8 bytes.
        bytes: usize,
        /// The limit, in UTF-8 bytes.
        bytes_max: usize,
    },
    /// An edit addressed code points beyond the end of the field.
    #[error(
        "cannot delete {delete} characters at index {index} of text field '{field}' \
         (length {len})"
    )]
    OutOfRange {
        /// The field edited.
        field: String,
        /// The index asked for, in code points.
        index: usize,
        /// How many code points were to be deleted.
        delete: usize,
        /// The field's length, in code points.
        len: usize,
    },
    /// The document already holds the most fields allowed.
    #[error("document already has {fields_max} text fields, the limit")]
    TooManyFields {
        /// The limit, in fields.
        fields_max: usize,
    },
    /// The edit or update would make the document's text larger than the
    /// limit.
    #[error("document text would be {chars} characters, over the limit of {chars_max}")]
    TextTooLarge {
        /// The size the text would have had, in code points.
        chars: usize,
        /// The limit, in code points.
        chars_max: usize,
    },
    /// An update was larger than the limit.
    #[error("update is {bytes} bytes, over the limit of {bytes_max} bytes")]
    UpdateTooLarge {
        /// The update's size, in bytes.
        bytes: usize,
        /// The limit, in bytes.
        bytes_max: usize,
    },
    /// A state vector or update claimed more clients than the limit.
    #[error("{what} lists {entries} clients, over the limit of {entries_max}")]
    TooManyClients {
        /// `"state vector"` or `"update"`.
        what: &'static str,
        /// How many the input claimed.
        entries: usize,
        /// The limit, in clients.
        entries_max: usize,
    },
    /// An update is not well-formed Yjs v1.
    #[error("malformed Yjs v1 update at byte {offset}: {reason}")]
    MalformedUpdate {
        /// Where the parse stopped, in bytes from the start.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// A state vector is not well-formed Yjs v1.
    #[error("malformed Yjs v1 state vector at byte {offset}: {reason}")]
    MalformedStateVector {
        /// Where the parse stopped, in bytes from the start.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// An update holds content a text document does not have: map entries,
    /// nested types, embeds or JSON values.
    #[error("update holds {content} at byte {offset}; a crdt-text document holds only text")]
    NotText {
        /// What the update held, as a phrase (`"a nested type"`).
        content: &'static str,
        /// Where it was, in bytes from the start.
        offset: usize,
    },
    /// An update claims edits by this document's own client id that this
    /// document never made, which would corrupt its future edits.
    #[error("update claims edits by the server's own client id {client_id}")]
    ForeignOwnEdits {
        /// The document's client id.
        client_id: u64,
    },
    /// Updates waiting for edits they depend on would take more memory than
    /// the limit.
    #[error(
        "updates waiting for missing edits would take {bytes} bytes, over the limit of \
         {bytes_max} bytes; send the missing edits first (ask with the state vector)"
    )]
    PendingTooLarge {
        /// The size the pending updates would have had, in bytes.
        bytes: usize,
        /// The limit, in bytes.
        bytes_max: usize,
    },
    /// An update's items are placed against inconsistent origins (a right
    /// origin that is not right of the left one), so where its text lands
    /// depends on how the document happens to be stored: it would move on
    /// restart and differ between replicas.
    #[error(
        "update places text against inconsistent origins; its position would depend on \
         storage and differ between replicas"
    )]
    Unstable,
    /// A client id is outside the 53-bit range Yjs uses.
    #[error("client id {0} is over the Yjs maximum of 2^53 - 1")]
    InvalidClientId(u64),
    /// A state to load already holds edits by the client id given for this
    /// load; a fresh id must be chosen.
    #[error("client id {0} already appears in the document; choose a fresh one")]
    ClientIdInUse(u64),
    /// yrs refused the input, or failed on it (a panic contained here).
    /// The document is unchanged.
    #[error("the text engine refused the {what}: {reason}")]
    Refused {
        /// What was being processed: `"update"`, `"state"`, ...
        what: &'static str,
        /// yrs's own message.
        reason: String,
    },
}
