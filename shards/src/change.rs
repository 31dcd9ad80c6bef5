//! [`Change`]: what one applied write did to a document, small enough to hand on.
//!
//! Every write that changes a document bumps its `version` and returns a `Change`. The server
//! turns it into the two things that follow a write:
//!
//! - a **delta event** for subscribers, [`crate::Document::event`]: a small JSON object
//!   `{"op": "set", "path": "a.b", "value": ..., "version": 7}` where `value` is what the path
//!   holds after the write (the counter's total, the set's array, the text);
//! - an **incremental update** for persistence, [`crate::Document::update_for`]: the bytes of
//!   exactly what this version changed, in the same encoding MERGE takes (see [`crate::sync`]),
//!   so replaying the stored updates through the merge path rebuilds the document.
//!
//! A `Change` holds only the version, the kind of write and its path; both renderings read the
//! document, so they must be made before the next write to the same document. That keeps the
//! write path free of copies nobody asked for.

use crate::path::Path;

/// What one applied write did.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The document's version after the write.
    pub version: u64,
    /// The kind of write.
    pub op: Op,
    /// The path written; `None` for whole-document changes.
    pub path: Option<Path>,
    /// For `crdt-text`: the Yjs v1 update the write produced (yrs hands it over anyway, and it
    /// cannot be rebuilt from the document afterwards). `None` for the JSON strategies, whose
    /// update is read back from the document.
    pub text_update: Option<Box<[u8]>>,
}

/// The kind of write a [`Change`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// CREATE made the document.
    Create,
    /// SET wrote a value.
    Set,
    /// DEL removed a path.
    Delete,
    /// DEL removed the whole document (or it expired).
    Drop,
    /// PUSH added a value.
    Push,
    /// PULL removed a value.
    Pull,
    /// INC added to a number.
    Increment,
    /// SPLICE edited a text.
    Splice,
    /// MERGE applied a replica's update.
    Merge,
}

impl Op {
    /// The name events use: the command's name in lower case.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Set => "set",
            Op::Delete | Op::Drop => "del",
            Op::Push => "push",
            Op::Pull => "pull",
            Op::Increment => "inc",
            Op::Splice => "splice",
            Op::Merge => "merge",
        }
    }
}
