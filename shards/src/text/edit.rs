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

use std::sync::Arc;

use yrs::{GetString, ReadTxn, Text, TextRef, Transact, TransactionMut, WriteTxn};

use super::codepoints::AstralIndex;
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
        self.one(|txn, fields, limits| splice_in(txn, fields, limits, field, index, delete, insert))
    }

    /// Makes `field`'s whole text `text`, as one edit (SET). Only the part
    /// that differs is rewritten: the common prefix and suffix stay, so
    /// concurrent edits there survive and the update stays small.
    pub fn replace(&mut self, field: &str, text: &str) -> Result<Vec<u8>, TextError> {
        self.one(|txn, fields, limits| replace_in(txn, fields, limits, field, text))
    }

    /// Deletes `field`'s whole text (DEL of the field). The field then reads
    /// as absent; see the module docs on empty fields.
    pub fn clear(&mut self, field: &str) -> Result<Vec<u8>, TextError> {
        self.replace(field, "")
    }

    /// Applies `edits` in order in one yrs transaction. Returns, per edit,
    /// the field's length afterwards (in code points) or why it was refused,
    /// and one Yjs v1 update holding every applied edit (empty when none
    /// changed anything). A refused edit changes nothing and does not affect
    /// the others.
    pub fn apply_batch(&mut self, edits: &[TextEdit]) -> (Vec<Result<usize, TextError>>, Vec<u8>) {
        let mut txn = self.doc.transact_mut();
        let results = edits
            .iter()
            .map(|edit| apply_in(&mut txn, &mut self.fields, &self.limits, edit))
            .collect();
        (results, encode_changes(&txn))
    }

    /// Runs one edit in its own transaction and returns its update.
    fn one(
        &mut self,
        edit: impl FnOnce(&mut TransactionMut, &mut FieldIndex, &TextLimits) -> Result<usize, TextError>,
    ) -> Result<Vec<u8>, TextError> {
        let mut txn = self.doc.transact_mut();
        edit(&mut txn, &mut self.fields, &self.limits)?;
        Ok(encode_changes(&txn))
    }
}

/// The v1 update of what `txn` changed so far, or an empty vector.
fn encode_changes(txn: &TransactionMut) -> Vec<u8> {
    if txn.has_changes() {
        txn.encode_update_v1()
    } else {
        Vec::new()
    }
}

/// Applies one batched edit.
fn apply_in(
    txn: &mut TransactionMut,
    fields: &mut FieldIndex,
    limits: &TextLimits,
    edit: &TextEdit,
) -> Result<usize, TextError> {
    match edit {
        TextEdit::Splice {
            field,
            index,
            delete,
            insert,
        } => splice_in(txn, fields, limits, field, *index, *delete, insert),
        TextEdit::Replace { field, text } => replace_in(txn, fields, limits, field, text),
        TextEdit::Clear { field } => replace_in(txn, fields, limits, field, ""),
    }
}

/// Makes `field`'s text `text` by splicing only the middle that differs.
fn replace_in(
    txn: &mut TransactionMut,
    fields: &mut FieldIndex,
    limits: &TextLimits,
    field: &str,
    text: &str,
) -> Result<usize, TextError> {
    check_field_name(field, limits)?;
    let old = txn
        .get_text(field)
        .map(|current| current.get_string(txn))
        .unwrap_or_default();
    let (prefix, suffix) = common_ends(&old, text);
    let old_chars = old.chars().count();
    let new_chars: Vec<(usize, char)> = text.char_indices().collect();
    let middle_start = new_chars.get(prefix).map_or(text.len(), |&(at, _)| at);
    let middle_end = new_chars
        .get(new_chars.len() - suffix)
        .map_or(text.len(), |&(at, _)| at);
    splice_in(
        txn,
        fields,
        limits,
        field,
        prefix,
        old_chars - prefix - suffix,
        &text[middle_start..middle_end],
    )
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

/// Applies one splice inside `txn`, after checking it against the field
/// and the limits. Returns the field's new length in code points.
fn splice_in(
    txn: &mut TransactionMut,
    fields: &mut FieldIndex,
    limits: &TextLimits,
    field: &str,
    index: usize,
    delete: usize,
    insert: &str,
) -> Result<usize, TextError> {
    check_field_name(field, limits)?;
    let existing = txn.get_text(field);
    let astral_count = fields.astral.get(field).map_or(0, AstralIndex::count);
    let len = existing
        .as_ref()
        .map_or(0, |text| (text.len(txn) - astral_count) as usize);
    if index > len || delete > len - index {
        return Err(TextError::OutOfRange {
            field: field.to_owned(),
            index,
            delete,
            len,
        });
    }
    if delete == 0 && insert.is_empty() {
        return Ok(len);
    }
    let inserted = insert.chars().count();
    let chars = fields.chars - delete + inserted;
    if inserted > delete && chars > limits.chars_max() {
        return Err(TextError::TextTooLarge {
            chars,
            chars_max: limits.chars_max(),
        });
    }
    let text = match existing {
        Some(text) => text,
        None => create_field(txn, limits, field)?,
    };
    // Every position is below the text limit, which fits in u32.
    let (index32, delete32) = (index as u32, delete as u32);
    let astral = fields.astral.get(field);
    let at = astral.map_or(index32, |a| a.utf16_offset(index32));
    let delete_units = astral.map_or(delete32, |a| a.utf16_len(index32, delete32));
    if delete_units > 0 {
        text.remove_range(txn, at, delete_units);
    }
    if !insert.is_empty() {
        text.insert(txn, at, insert);
    }
    update_astral(fields, field, index32, delete32, insert);
    fields.chars = chars;
    Ok(len - delete + inserted)
}

/// Creates the root text type for a field not written before, if the field
/// limit allows another.
fn create_field(
    txn: &mut TransactionMut,
    limits: &TextLimits,
    field: &str,
) -> Result<TextRef, TextError> {
    if txn.root_refs().count() >= limits.fields_max {
        return Err(TextError::TooManyFields {
            fields_max: limits.fields_max,
        });
    }
    Ok(txn.get_or_insert_text(field))
}

/// Keeps `field`'s astral index in step with a splice, adding an entry when
/// the first astral character arrives and dropping it when the last goes.
fn update_astral(fields: &mut FieldIndex, field: &str, index: u32, delete: u32, insert: &str) {
    match fields.astral.get_mut(field) {
        Some(astral) => {
            astral.splice(index, delete, insert);
            if astral.is_empty() {
                fields.astral.remove(field);
            }
        }
        None => {
            let mut astral = AstralIndex::default();
            astral.splice(index, delete, insert);
            if !astral.is_empty() {
                fields.astral.insert(Arc::from(field), astral);
            }
        }
    }
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
