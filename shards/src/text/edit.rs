//! Local edits: splice, replace and clear, alone or many in one transaction.
//!
//! These are the write half of the text commands: the owner shard calls
//! them and gets back the Yjs v1 update the edit produced, which it persists
//! and publishes. A yrs transaction costs tens of microseconds however small
//! its edit, so [`TextDoc::apply_batch`] runs any number of queued edits (on
//! any fields) in one transaction; a shard that drains a document's queue
//! per loop turn pays that cost once per turn instead of once per edit.
//!
//! Every edit is checked (field name, range, limits) before it touches yrs,
//! so a refused edit changes nothing, and in a batch it leaves the others
//! unaffected.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::{GetString, ReadTxn, Text, Transact, TransactionMut, WriteTxn};

use super::codepoints::AstralIndex;
use super::compose::Composer;
use super::error::TextError;
use super::limits::TextLimits;
use super::validate::check_field_name;
use super::{FieldIndex, TextDoc};

/// One edit of one field, for [`TextDoc::apply_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextEdit {
    /// Delete `delete` code points at `index`, then insert `insert` there
    /// (JavaScript `splice` semantics).
    Splice {
        /// The field edited.
        field: String,
        /// Where the edit starts, in code points.
        index: usize,
        /// How many code points to delete.
        delete: usize,
        /// The text inserted at `index` after the deletion.
        insert: String,
    },
    /// Make the field's whole text `text` (SET).
    Replace {
        /// The field edited.
        field: String,
        /// Its new text.
        text: String,
    },
    /// Delete the field's whole text (DEL of the field).
    Clear {
        /// The field edited.
        field: String,
    },
}

impl TextEdit {
    /// The field this edit changes.
    pub fn field(&self) -> &str {
        match self {
            TextEdit::Splice { field, .. }
            | TextEdit::Replace { field, .. }
            | TextEdit::Clear { field } => field,
        }
    }
}

impl TextDoc {
    /// Deletes `delete` code points at `index` of `field`, then inserts
    /// `insert` there, as one transaction. Returns the Yjs v1 update of the
    /// edit, or an empty vector when it changed nothing.
    ///
    /// A range past the end of the field is [`TextError::OutOfRange`] and
    /// changes nothing; a field never written has length 0.
    pub fn splice(
        &mut self,
        field: &str,
        index: usize,
        delete: usize,
        insert: &str,
    ) -> Result<Vec<u8>, TextError> {
        self.apply_one(TextEdit::Splice {
            field: field.to_owned(),
            index,
            delete,
            insert: insert.to_owned(),
        })
    }

    /// Makes `field`'s whole text `text`, as one edit (SET). Only the part
    /// that differs is rewritten: the common prefix and suffix stay, so
    /// concurrent edits there survive and the update stays small.
    pub fn replace(&mut self, field: &str, text: &str) -> Result<Vec<u8>, TextError> {
        self.apply_one(TextEdit::Replace {
            field: field.to_owned(),
            text: text.to_owned(),
        })
    }

    /// Deletes `field`'s whole text (DEL of the field). The field then reads
    /// as absent; see the module docs on empty fields.
    pub fn clear(&mut self, field: &str) -> Result<Vec<u8>, TextError> {
        self.apply_one(TextEdit::Clear {
            field: field.to_owned(),
        })
    }

    /// Applies `edits` in order in one yrs transaction. Returns, per edit,
    /// the field's length afterwards (in code points) or why it was refused,
    /// and one Yjs v1 update holding every applied edit (empty when none
    /// changed anything). A refused edit changes nothing and does not affect
    /// the others.
    ///
    /// The edits of each field are composed and reach yrs as one delta (see
    /// `compose`), so a batch costs one walk of each field it
    /// touches rather than one per edit. Fields holding formatting marks
    /// from rich-text replicas are the exception: their edits go to yrs one
    /// by one, so inserted text takes on the formatting around it as a
    /// single `Y.Text.insert` does.
    pub fn apply_batch(&mut self, edits: &[TextEdit]) -> (Vec<Result<usize, TextError>>, Vec<u8>) {
        let mut txn = self.doc.transact_mut();
        let mut batch = Batch {
            txn: &mut txn,
            fields: &mut self.fields,
            limits: &self.limits,
            open: HashMap::new(),
        };
        let results = edits.iter().map(|edit| batch.apply(edit)).collect();
        batch.finish();
        (results, encode_changes(&txn))
    }

    /// Runs one edit in its own transaction and returns its update.
    fn apply_one(&mut self, edit: TextEdit) -> Result<Vec<u8>, TextError> {
        let (mut results, update) = self.apply_batch(std::slice::from_ref(&edit));
        results.pop().unwrap_or(Ok(0))?;
        Ok(update)
    }
}

/// The most pieces a field's composed batch may reach before it is handed
/// to yrs and composing starts afresh. Each composed splice scans the
/// pieces, so this bounds the work per edit of arbitrarily large batches;
/// typing keeps pieces few, and random edits flush at most every 2,048
/// edits or so.
const SEGMENTS_MAX: usize = 4096;

/// The v1 update of what `txn` changed so far, or an empty vector.
fn encode_changes(txn: &TransactionMut) -> Vec<u8> {
    if txn.has_changes() {
        txn.encode_update_v1()
    } else {
        Vec::new()
    }
}

/// One edit resolved to a splice, in code points.
struct Splice<'a> {
    index: usize,
    delete: usize,
    insert: &'a str,
}

impl<'a> Splice<'a> {
    /// Resolves `edit` against the field's current length and text (the
    /// text is read only for a replace).
    fn of(edit: &'a TextEdit, len: usize, text: impl FnOnce() -> String) -> Splice<'a> {
        match edit {
            TextEdit::Splice {
                index,
                delete,
                insert,
                ..
            } => Splice {
                index: *index,
                delete: *delete,
                insert,
            },
            TextEdit::Replace { text: new, .. } => replacing(&text(), new),
            TextEdit::Clear { .. } => Splice {
                index: 0,
                delete: len,
                insert: "",
            },
        }
    }
}

/// The splice that turns `old` into `new`, rewriting only the middle that
/// differs.
fn replacing<'a>(old: &str, new: &'a str) -> Splice<'a> {
    let (prefix, suffix) = common_ends(old, new);
    let new_chars: Vec<(usize, char)> = new.char_indices().collect();
    let byte_at = |chars: usize| new_chars.get(chars).map_or(new.len(), |&(at, _)| at);
    Splice {
        index: prefix,
        delete: old.chars().count() - prefix - suffix,
        insert: &new[byte_at(prefix)..byte_at(new_chars.len() - suffix)],
    }
}

/// The lengths, in code points, of the longest common prefix of `a` and
/// `b` and of the longest common suffix of what follows it.
fn common_ends(a: &str, b: &str) -> (usize, usize) {
    let prefix = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let a_rest = a.chars().count() - prefix;
    let b_rest = b.chars().count() - prefix;
    let suffix = a
        .chars()
        .rev()
        .zip(b.chars().rev())
        .take(a_rest.min(b_rest))
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, suffix)
}

/// The edits of one transaction.
struct Batch<'t, 'doc> {
    txn: &'t mut TransactionMut<'doc>,
    fields: &'t mut FieldIndex,
    limits: &'t TextLimits,
    /// The fields edited so far whose edits are being composed.
    open: HashMap<Arc<str>, FieldBatch>,
}

/// The composed edits of one field in a batch.
struct FieldBatch {
    composer: Composer,
    /// The field's text when composing (re)started, read on the first
    /// replace that needs it.
    original: Option<String>,
}

impl Batch<'_, '_> {
    /// Checks and applies one edit.
    fn apply(&mut self, edit: &TextEdit) -> Result<usize, TextError> {
        let field = edit.field();
        check_field_name(field, self.limits)?;
        if self.fields.formatted.contains(field) {
            return self.apply_direct(field, edit);
        }
        if !self.open.contains_key(field) {
            let len = field_len(self.txn, self.fields, field) as u32;
            let opened = FieldBatch {
                composer: Composer::new(len),
                original: None,
            };
            self.open.insert(Arc::from(field), opened);
        }
        let Some(open) = self.open.get_mut(field) else {
            return Ok(0);
        };
        let txn = &*self.txn;
        let len = open.composer.len() as usize;
        let splice = Splice::of(edit, len, || {
            let original = open.original.get_or_insert_with(|| text_of(txn, field));
            open.composer.text(original)
        });
        let Some(inserted) = check_splice(self.txn, self.fields, self.limits, field, len, &splice)?
        else {
            return Ok(len);
        };
        let composer = &mut open.composer;
        // Every position is below the text limit, which fits in u32.
        composer.splice(
            splice.index as u32,
            splice.delete as u32,
            splice.insert,
            inserted as u32,
        );
        self.fields.chars = self.fields.chars - splice.delete + inserted;
        let new_len = composer.len() as usize;
        if composer.segments() > SEGMENTS_MAX {
            self.flush(field);
        }
        Ok(new_len)
    }

    /// Applies one edit straight to yrs, for fields with formatting.
    fn apply_direct(&mut self, field: &str, edit: &TextEdit) -> Result<usize, TextError> {
        let len = field_len(self.txn, self.fields, field);
        let txn = &*self.txn;
        let splice = Splice::of(edit, len, || text_of(txn, field));
        let Some(inserted) = check_splice(self.txn, self.fields, self.limits, field, len, &splice)?
        else {
            return Ok(len);
        };
        let Some(text) = self.txn.get_text(field) else {
            return Ok(len);
        };
        // Every position is below the text limit, which fits in u32.
        let (index, delete) = (splice.index as u32, splice.delete as u32);
        let astral = self.fields.astral.get(field);
        let at = astral.map_or(index, |a| a.utf16_offset(index));
        let delete_units = astral.map_or(delete, |a| a.utf16_len(index, delete));
        if delete_units > 0 {
            text.remove_range(self.txn, at, delete_units);
        }
        if !splice.insert.is_empty() {
            text.insert(self.txn, at, splice.insert);
        }
        let mut astral = self.fields.astral.remove(field).unwrap_or_default();
        astral.splice(index, delete, splice.insert);
        self.fields.set_astral(field, astral);
        self.fields.chars = self.fields.chars - splice.delete + inserted;
        Ok(len - splice.delete + inserted)
    }

    /// Hands `field`'s composed edits to yrs as one delta and starts
    /// composing afresh from the result.
    fn flush(&mut self, field: &str) {
        let Some(open) = self.open.get_mut(field) else {
            return;
        };
        let fresh = Composer::new(open.composer.len());
        let composer = std::mem::replace(&mut open.composer, fresh);
        open.original = None;
        if composer.is_unchanged() {
            return;
        }
        let Some(text) = self.txn.get_text(field) else {
            return;
        };
        let before = self.fields.astral.get(field);
        let delta = composer.delta(before);
        let astral = composer.astral(before);
        text.apply_delta(self.txn, delta);
        self.fields.set_astral(field, astral);
    }

    /// Flushes every field.
    fn finish(mut self) {
        let fields: Vec<Arc<str>> = self.open.keys().cloned().collect();
        for field in fields {
            self.flush(&field);
        }
    }
}

/// Field `field`'s current text in `txn`.
fn text_of(txn: &TransactionMut, field: &str) -> String {
    txn.get_text(field)
        .map(|text| text.get_string(txn))
        .unwrap_or_default()
}

/// Field `field`'s current length in `txn`, in code points.
fn field_len(txn: &TransactionMut, fields: &FieldIndex, field: &str) -> usize {
    let astral = fields.astral.get(field).map_or(0, AstralIndex::count);
    txn.get_text(field)
        .map_or(0, |text| (text.len(txn) - astral) as usize)
}

/// Checks a resolved splice of a field of `len` code points against the
/// field and the limits, creating the field if it inserts into a new one.
/// Returns how many code points it inserts, or `None` when it changes
/// nothing.
fn check_splice(
    txn: &mut TransactionMut,
    fields: &mut FieldIndex,
    limits: &TextLimits,
    field: &str,
    len: usize,
    splice: &Splice,
) -> Result<Option<usize>, TextError> {
    if splice.index > len || splice.delete > len - splice.index {
        return Err(TextError::OutOfRange {
            field: field.to_owned(),
            index: splice.index,
            delete: splice.delete,
            len,
        });
    }
    if splice.delete == 0 && splice.insert.is_empty() {
        return Ok(None);
    }
    let inserted = splice.insert.chars().count();
    let chars = fields.chars - splice.delete + inserted;
    if inserted > splice.delete && chars > limits.chars_max() {
        return Err(TextError::TextTooLarge {
            chars,
            chars_max: limits.chars_max(),
        });
    }
    if txn.get_text(field).is_none() {
        create_field(txn, limits, field)?;
    }
    Ok(Some(inserted))
}

/// Creates the root text type for a field not written before, if the field
/// limit allows another.
fn create_field(
    txn: &mut TransactionMut,
    limits: &TextLimits,
    field: &str,
) -> Result<(), TextError> {
    if txn.root_refs().count() >= limits.fields_max {
        return Err(TextError::TooManyFields {
            fields_max: limits.fields_max,
        });
    }
    txn.get_or_insert_text(field);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> TextDoc {
        TextDoc::new(1, TextLimits::default()).unwrap()
    }

    #[test]
    fn splice_inserts_and_deletes_in_code_points() {
        let mut doc = doc();
        assert!(!doc.splice("t", 0, 0, "héllo wörld").unwrap().is_empty());
        doc.splice("t", 6, 5, "ünïcödé").unwrap();
        assert_eq!(doc.field("t").as_deref(), Some("héllo ünïcödé"));
        assert_eq!(doc.field_len("t"), 13);
    }

    #[test]
    fn astral_characters_count_as_one_position() {
        let mut doc = doc();
        doc.splice("t", 0, 0, "a😀b𝄞c").unwrap();
        assert_eq!(doc.field_len("t"), 5);
        doc.splice("t", 2, 1, "🎉").unwrap();
        assert_eq!(doc.field("t").as_deref(), Some("a😀🎉𝄞c"));
        doc.splice("t", 1, 3, "").unwrap();
        assert_eq!(doc.field("t").as_deref(), Some("ac"));
        assert_eq!(doc.field_len("t"), 2);
        assert!(doc.fields.astral.is_empty());
    }

    #[test]
    fn out_of_range_changes_nothing() {
        let mut doc = doc();
        doc.splice("t", 0, 0, "abc").unwrap();
        let error = doc.splice("t", 2, 2, "x").unwrap_err();
        assert_eq!(
            error,
            TextError::OutOfRange {
                field: "t".into(),
                index: 2,
                delete: 2,
                len: 3
            }
        );
        assert!(doc.splice("t", 4, 0, "x").is_err());
        assert!(doc.splice("u", 1, 0, "x").is_err());
        assert_eq!(doc.to_json(), json!({"t": "abc"}));
    }

    #[test]
    fn no_op_edits_give_empty_updates_and_no_field() {
        let mut doc = doc();
        assert!(doc.splice("t", 0, 0, "").unwrap().is_empty());
        assert!(doc.clear("t").unwrap().is_empty());
        assert_eq!(doc.doc.transact().root_refs().count(), 0);
    }

    #[test]
    fn replace_rewrites_only_the_middle() {
        let mut doc = doc();
        doc.replace("t", "Hello world").unwrap();
        let before = doc.state_vector();
        doc.replace("t", "Hello brave world").unwrap();
        assert_eq!(doc.field("t").as_deref(), Some("Hello brave world"));
        // Only "brave " (6 code units) was written since `before`.
        let mut other = TextDoc::new(2, TextLimits::default()).unwrap();
        other.merge(&doc.encode_state().unwrap()).unwrap();
        assert_eq!(other.field("t").as_deref(), Some("Hello brave world"));
        let diff = doc.diff(&before).unwrap();
        assert!(diff.len() < 30, "diff of {} bytes", diff.len());
        doc.replace("t", "😀 world").unwrap();
        assert_eq!(doc.field("t").as_deref(), Some("😀 world"));
        doc.replace("t", "😀😀 world😀").unwrap();
        assert_eq!(doc.field("t").as_deref(), Some("😀😀 world😀"));
    }

    #[test]
    fn common_ends_do_not_overlap() {
        assert_eq!(common_ends("aaa", "aaaa"), (3, 0));
        assert_eq!(common_ends("abca", "abcbca"), (3, 1));
        assert_eq!(common_ends("", "x"), (0, 0));
        assert_eq!(common_ends("x😀y", "x😀😀y"), (2, 1));
    }

    #[test]
    fn clear_makes_the_field_read_as_absent() {
        let mut doc = doc();
        doc.replace("a", "one").unwrap();
        doc.replace("b", "two").unwrap();
        assert!(!doc.clear("a").unwrap().is_empty());
        assert_eq!(doc.field("a"), None);
        assert_eq!(doc.field_len("a"), 0);
        assert_eq!(doc.to_json(), json!({"b": "two"}));
    }

    #[test]
    fn batch_runs_edits_on_many_fields_and_isolates_failures() {
        let mut doc = doc();
        let edits = vec![
            TextEdit::Splice {
                field: "a".into(),
                index: 0,
                delete: 0,
                insert: "hello".into(),
            },
            TextEdit::Splice {
                field: "a".into(),
                index: 9,
                delete: 0,
                insert: "bad".into(),
            },
            TextEdit::Replace {
                field: "b".into(),
                text: "wörld".into(),
            },
            TextEdit::Splice {
                field: "a".into(),
                index: 5,
                delete: 0,
                insert: "!".into(),
            },
            TextEdit::Clear { field: "".into() },
        ];
        let (results, update) = doc.apply_batch(&edits);
        assert_eq!(results[0], Ok(5));
        assert!(matches!(results[1], Err(TextError::OutOfRange { .. })));
        assert_eq!(results[2], Ok(5));
        assert_eq!(results[3], Ok(6));
        assert_eq!(results[4], Err(TextError::EmptyFieldName));
        assert_eq!(doc.to_json(), json!({"a": "hello!", "b": "wörld"}));
        let mut replica = TextDoc::new(2, TextLimits::default()).unwrap();
        replica.merge(&update).unwrap();
        assert_eq!(replica.to_json(), doc.to_json());
    }

    #[test]
    fn limits_are_enforced() {
        let limits = TextLimits {
            fields_max: 1,
            document_chars_max: 5,
            field_name_bytes_max: 3,
            ..TextLimits::default()
        };
        let mut doc = TextDoc::new(1, limits).unwrap();
        doc.splice("a", 0, 0, "1234").unwrap();
        assert_eq!(
            doc.splice("b", 0, 0, "x").unwrap_err(),
            TextError::TooManyFields { fields_max: 1 }
        );
        assert_eq!(
            doc.splice("a", 0, 0, "56").unwrap_err(),
            TextError::TextTooLarge {
                chars: 6,
                chars_max: 5
            }
        );
        // Shrinking or same-size edits pass even at the limit.
        doc.splice("a", 0, 1, "😀").unwrap();
        assert!(matches!(
            doc.splice("abcd", 0, 0, "x").unwrap_err(),
            TextError::FieldNameTooLong { .. }
        ));
        assert_eq!(doc.to_json(), json!({"a": "😀234"}));
        assert_eq!(doc.chars(), 4);
    }
}
