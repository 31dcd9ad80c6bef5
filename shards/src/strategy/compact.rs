//! The compact form of small `lww` and `crdt-map` documents: one byte buffer holding the
//! document's JSON text and its registers.
//!
//! Most documents are small (a sensor's reading, a user's profile), and a JSON tree of maps costs
//! several hundred bytes of allocations even for one field. So a register document whose JSON
//! text is at most [`SMALL_TEXT_BYTES_MAX`] bytes, with at most [`SMALL_REGISTERS_MAX`]
//! registers, is kept as one buffer: a whole-document GET copies its text out as is, and a write
//! decodes it, applies, and encodes it again (which costs a few hundred nanoseconds at this size).
//! A document that grows past either bound is kept as a [`Registers`] tree instead.
//!
//! Layout: the text's length in one byte, the text, then as LEB128 varints `register_count` and
//! per register `path_len path ms seq replica version`. `seq` (which orders the writes of one
//! millisecond, so runs into the hundreds under load) is always written in [`SEQ_BYTES`] bytes,
//! padded with continuation bits, so that a new write's register has the old one's length and
//! the document is rewritten in place rather than reallocated.

use std::cell::RefCell;
use std::io::Write;

use serde_json::{Number, Value};

use crate::error::{JsonKind, StoreError};
use crate::hlc::Stamp;
use crate::path::Path;
use crate::strategy::lww::{is_below, Register, Registers};
use crate::strategy::Strategy;
use crate::value::add_numbers;

/// The longest JSON text a document may have and stay compact, in bytes.
pub const SMALL_TEXT_BYTES_MAX: usize = 192;

/// The most registers a document may have and stay compact.
pub const SMALL_REGISTERS_MAX: usize = 8;

/// The bytes a register's `seq` takes at least: three hold every `seq` below 2^21, far more
/// writes than one document takes in a millisecond.
const SEQ_BYTES: usize = 3;

thread_local! {
    /// Where [`RegisterDoc::store`] encodes, so that a write allocates only the final buffer.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A register document, compact while small.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterDoc {
    /// The encoded form described in the module documentation.
    Small(Box<[u8]>),
    /// The tree, for documents past the small bounds.
    Tree(Box<Registers>),
}

impl Default for RegisterDoc {
    fn default() -> RegisterDoc {
        RegisterDoc::store(Registers::new())
    }
}

impl RegisterDoc {
    /// Keeps `doc` compact when it is small enough, else as a tree.
    pub fn store(doc: Registers) -> RegisterDoc {
        if doc.registers().len() > SMALL_REGISTERS_MAX {
            return RegisterDoc::Tree(Box::new(doc));
        }
        SCRATCH.with(|scratch| {
            let mut out = scratch.borrow_mut();
            out.clear();
            // The text's length fits one byte; it is filled in once the text is written.
            out.push(0);
            if !crate::json_text::write_text_within(doc.root(), &mut out, SMALL_TEXT_BYTES_MAX) {
                return RegisterDoc::Tree(Box::new(doc));
            }
            out[0] = (out.len() - 1) as u8;
            put(&mut out, doc.registers().len() as u64);
            for register in doc.registers() {
                put_register(&mut out, &register.path, register.stamp, register.version);
            }
            RegisterDoc::Small(Box::from(&out[..]))
        })
    }

    /// Where the document's bytes (or its tree) live.
    pub fn address(&self) -> *const u8 {
        match self {
            RegisterDoc::Small(bytes) => bytes.as_ptr(),
            RegisterDoc::Tree(tree) => std::ptr::from_ref::<Registers>(tree).cast(),
        }
    }

    /// The JSON text of a compact document, as replies show it; `None` for a tree.
    pub fn text(&self) -> Option<&[u8]> {
        match self {
            RegisterDoc::Small(bytes) => {
                let len = usize::from(*bytes.first()?);
                bytes.get(1..1 + len)
            }
            RegisterDoc::Tree(_) => None,
        }
    }

    /// Takes the document out as a tree, decoding it when compact.
    pub fn take(&mut self) -> Registers {
        match std::mem::replace(self, RegisterDoc::Small(Box::default())) {
            RegisterDoc::Small(bytes) => decode(&bytes),
            RegisterDoc::Tree(doc) => *doc,
        }
    }

    /// The document as a tree: borrowed when it is one, decoded when compact.
    pub fn tree(&self) -> std::borrow::Cow<'_, Registers> {
        match self {
            RegisterDoc::Small(bytes) => std::borrow::Cow::Owned(decode(bytes)),
            RegisterDoc::Tree(doc) => std::borrow::Cow::Borrowed(doc),
        }
    }

    /// The JSON update of the registers changed after `since`, made straight from a compact
    /// document's buffer: what [`crate::sync::registers_since`] makes from the decoded tree, with
    /// each value written as the document's text holds it. With `--db` every write is persisted
    /// as this update, and decoding the whole document into a tree to find one register cost
    /// more than the write itself.
    ///
    /// `None` for a tree, and where the scanner does not follow the text (a key JSON must
    /// escape, a register below an array or a missing map); the caller takes the general path.
    pub fn update_since(&self, strategy: Strategy, version: u64, since: u64) -> Option<Vec<u8>> {
        let mut int = itoa::Buffer::new();
        let (text, encoded, mut out) = self.persisted_head(strategy, version, &mut int)?;
        let mut first = true;
        for (path, stamp, changed_at) in registers(encoded) {
            if changed_at <= since {
                continue;
            }
            let path = plain_path(path)?;
            out.extend_from_slice(if first { b",\"registers\":[" } else { b"," });
            first = false;
            out.extend_from_slice(b"{\"path\":\"");
            out.extend_from_slice(path.as_bytes());
            out.extend_from_slice(b"\",\"stamp\":");
            put_stamp(&mut out, &mut int, stamp);
            out.push(b',');
            match value_at(text, path)? {
                Some(value) => {
                    out.extend_from_slice(b"\"value\":");
                    out.extend_from_slice(value);
                }
                None => out.extend_from_slice(b"\"deleted\":true"),
            }
            out.push(b'}');
        }
        if !first {
            out.push(b']');
        }
        out.push(b'}');
        Some(out)
    }

    /// The snapshot of a compact document (the `lww` and `crdt-map` form of
    /// [`crate::persisted`]), written from its buffer: its text as the root, then every
    /// register. A rewrite snapshots every live document, and decoding each into a tree only to
    /// serialize it again was most of what a rewrite cost the shard (27% of its samples while
    /// rewrites ran back to back).
    ///
    /// `None` for a tree, and for a register path JSON must escape; the caller takes the general
    /// path.
    pub fn state(&self, strategy: Strategy, version: u64) -> Option<Vec<u8>> {
        let mut int = itoa::Buffer::new();
        let (text, encoded, mut out) = self.persisted_head(strategy, version, &mut int)?;
        out.extend_from_slice(b",\"root\":");
        out.extend_from_slice(text);
        let mut first = true;
        for (path, stamp, changed_at) in registers(encoded) {
            let path = plain_path(path)?;
            out.extend_from_slice(if first {
                b",\"registers\":[[\""
            } else {
                b",[\""
            });
            first = false;
            out.extend_from_slice(path.as_bytes());
            out.extend_from_slice(b"\",");
            put_stamp(&mut out, &mut int, stamp);
            out.push(b',');
            out.extend_from_slice(int.format(changed_at).as_bytes());
            out.push(b']');
        }
        if !first {
            out.push(b']');
        }
        out.push(b'}');
        Some(out)
    }

    /// A compact document's text and encoded registers, and a buffer holding the opening of a
    /// persisted object, `{"strategy":"<name>","version":<version>`; `None` for a tree.
    fn persisted_head(
        &self,
        strategy: Strategy,
        version: u64,
        int: &mut itoa::Buffer,
    ) -> Option<(&[u8], &[u8], Vec<u8>)> {
        let RegisterDoc::Small(bytes) = self else {
            return None;
        };
        let text = self.text()?;
        let mut out = Vec::with_capacity(96 + text.len());
        out.extend_from_slice(b"{\"strategy\":\"");
        out.extend_from_slice(strategy.name().as_bytes());
        out.extend_from_slice(b"\",\"version\":");
        out.extend_from_slice(int.format(version).as_bytes());
        Some((text, &bytes[1 + text.len()..], out))
    }
}

/// Writes a stamp as persisted updates and snapshots hold it, `[ms,seq,replica]`.
fn put_stamp(out: &mut Vec<u8>, int: &mut itoa::Buffer, stamp: Stamp) {
    out.push(b'[');
    out.extend_from_slice(int.format(stamp.ms).as_bytes());
    out.push(b',');
    out.extend_from_slice(int.format(stamp.seq).as_bytes());
    out.push(b',');
    out.extend_from_slice(int.format(stamp.replica).as_bytes());
    out.push(b']');
}

/// A register's path as text that JSON writes between quotes as it is; `None` otherwise.
fn plain_path(path: &[u8]) -> Option<&str> {
    std::str::from_utf8(path)
        .ok()
        .filter(|path| !must_escape(path))
}

/// The text of the value at dotted `path` in compact JSON text: `Some(None)` when its last key is
/// missing from its map, `None` where the scanner does not follow (not a map on the way, a
/// missing map).
fn value_at<'a>(text: &'a [u8], path: &str) -> Option<Option<&'a [u8]>> {
    let mut value = text;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        match find_member(value, key)? {
            Some((start, end)) => value = &value[start..end],
            None if keys.peek().is_none() => return Some(None),
            None => return None,
        }
    }
    Some(Some(value))
}

/// A live write to a top-level key that [`RegisterDoc::edit_top_level`] can apply to the
/// compact form directly.
#[derive(Debug, Clone, Copy)]
pub enum TopLevel<'a> {
    /// SET of a value that is one register (not a map `crdt-map` would expand).
    Set(&'a Value),
    /// INC by a delta.
    Increment(&'a Number),
}

impl RegisterDoc {
    /// Applies a SET or INC of the top-level key `path` to a compact document without decoding
    /// it: the member's text is replaced or appended, and the key's register restamped. This is
    /// the common write (`SET user:1 name Alice`, `INC page views 1`), and skipping the tree
    /// makes it as cheap as on a tree.
    ///
    /// Returns `None` when the fast path does not apply (a tree, a key that JSON must escape, a
    /// result past the small bounds), and the caller takes the general path; otherwise the
    /// result: the number for INC, `None` for SET. On error nothing changed.
    pub fn edit_top_level(
        &mut self,
        path: &Path,
        edit: TopLevel<'_>,
        stamp: Stamp,
        version: u64,
    ) -> Option<Result<Option<Number>, StoreError>> {
        let RegisterDoc::Small(bytes) = self else {
            return None;
        };
        let [segment] = path.segments() else {
            return None;
        };
        let key = segment.key();
        if must_escape(&key) {
            return None;
        }
        let text_len = usize::from(*bytes.first()?);
        let text = bytes.get(1..1 + text_len)?;
        let member = find_member(text, &key)?;
        let result = match (edit, member) {
            (TopLevel::Set(_), _) => None,
            (TopLevel::Increment(delta), Some((start, end))) => {
                let current = &text[start..end];
                let Ok(current) = serde_json::from_slice::<Number>(current) else {
                    return Some(Err(StoreError::NotANumber {
                        path: key.into_owned(),
                        found: kind_of(current),
                    }));
                };
                match add_numbers(&current, delta, path) {
                    Ok(sum) => Some(sum),
                    Err(error) => return Some(Err(error)),
                }
            }
            (TopLevel::Increment(delta), None) => Some(delta.clone()),
        };
        let encoded = SCRATCH.with(|scratch| {
            let mut out = scratch.borrow_mut();
            out.clear();
            out.push(0);
            let write_value = |out: &mut Vec<u8>| match (&result, edit) {
                // Writing to a Vec cannot fail.
                (Some(number), _) => drop(write!(out, "{number}")),
                (None, TopLevel::Set(value)) => crate::json_text::write_text(value, out),
                (None, TopLevel::Increment(_)) => {}
            };
            match member {
                Some((start, end)) => {
                    out.extend_from_slice(&text[..start]);
                    write_value(&mut out);
                    out.extend_from_slice(&text[end..]);
                }
                None => {
                    out.extend_from_slice(&text[..text.len() - 1]);
                    if text.len() > 2 {
                        out.extend_from_slice(b", ");
                    }
                    out.push(b'"');
                    out.extend_from_slice(key.as_bytes());
                    out.extend_from_slice(b"\": ");
                    write_value(&mut out);
                    out.push(b'}');
                }
            }
            let new_text_len = out.len() - 1;
            if new_text_len > SMALL_TEXT_BYTES_MAX {
                return None;
            }
            out[0] = new_text_len as u8;
            restamp(&bytes[1 + text_len..], &key, stamp, version, &mut out).then_some(())
        });
        encoded?;
        // Most writes replace a value with one of the same length (a new reading, a flag): the
        // document is then rewritten in place, with no allocation.
        SCRATCH.with(|scratch| {
            let out = scratch.borrow();
            if bytes.len() == out.len() {
                bytes.copy_from_slice(&out);
            } else {
                *bytes = Box::from(&out[..]);
            }
        });
        Some(Ok(result))
    }
}

/// Whether JSON writes `text` other than as its bytes between quotes: the scanner here compares
/// keys byte for byte, so such keys take the general path.
fn must_escape(text: &str) -> bool {
    text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

/// Finds the top-level member `key` in compact JSON text (as [`crate::json_text`] writes it):
/// `Some(Some((start, end)))` is its value's byte range, `Some(None)` that it is missing, and
/// `None` text the scanner does not follow.
fn find_member(text: &[u8], key: &str) -> Option<Option<(usize, usize)>> {
    if text.first() != Some(&b'{') {
        return None;
    }
    let mut at = 1;
    if text.get(at) == Some(&b'}') {
        return Some(None);
    }
    loop {
        let key_end = skip_value(text, at)?;
        let found = text.get(at + 1..key_end - 1)? == key.as_bytes();
        let value_start = key_end + 2;
        let value_end = skip_value(text, value_start)?;
        if found {
            return Some(Some((value_start, value_end)));
        }
        match text.get(value_end)? {
            b',' => at = value_end + 2,
            b'}' => return Some(None),
            _ => return None,
        }
    }
}

/// Returns where the JSON value starting at `at` ends.
fn skip_value(text: &[u8], at: usize) -> Option<usize> {
    match *text.get(at)? {
        b'"' => skip_string(text, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match *text.get(i)? {
                    b'"' => i = skip_string(text, i)?,
                    b'{' | b'[' => {
                        depth += 1;
                        i += 1;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => i += 1,
                }
            }
        }
        _ => {
            let len = text[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']'))?;
            Some(at + len)
        }
    }
}

/// Returns where the JSON string starting at `at` (its opening quote) ends.
fn skip_string(text: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match *text.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The JSON kind of a value's text, from its first byte.
fn kind_of(text: &[u8]) -> JsonKind {
    match text.first() {
        Some(b'"') => JsonKind::String,
        Some(b'{') => JsonKind::Map,
        Some(b'[') => JsonKind::Array,
        Some(b't' | b'f') => JsonKind::Bool,
        Some(b'n') => JsonKind::Null,
        _ => JsonKind::Number,
    }
}

/// Copies the encoded registers to `out`, with `key`'s register stamped anew and the registers
/// below it dropped (the write replaced them); `false` when the result would pass
/// [`SMALL_REGISTERS_MAX`].
fn restamp(encoded: &[u8], key: &str, stamp: Stamp, version: u64, out: &mut Vec<u8>) -> bool {
    // A count of at most SMALL_REGISTERS_MAX + 1 takes one byte: it is filled in at the end.
    let count_at = out.len();
    out.push(0);
    let mut count = 0;
    let mut placed = false;
    for (path, entry) in entries(encoded) {
        if path == key.as_bytes() || is_below(path, key) {
            continue;
        }
        if !placed && path > key.as_bytes() {
            put_register(out, key, stamp, version);
            placed = true;
            count += 1;
        }
        out.extend_from_slice(entry);
        count += 1;
    }
    if !placed {
        put_register(out, key, stamp, version);
        count += 1;
    }
    out[count_at] = count;
    usize::from(count) <= SMALL_REGISTERS_MAX
}

/// The encoded registers, each as its path and its whole encoded entry.
fn entries(encoded: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut reader = Reader {
        bytes: encoded,
        at: 0,
    };
    let count = reader.int() as usize;
    (0..count).map_while(move |_| {
        let start = reader.at;
        let len = reader.int() as usize;
        let path = reader.take(len)?;
        for _ in 0..4 {
            reader.int();
        }
        Some((path, &encoded[start..reader.at]))
    })
}

/// Appends one encoded register.
fn put_register(out: &mut Vec<u8>, path: &str, stamp: Stamp, version: u64) {
    put(out, path.len() as u64);
    out.extend_from_slice(path.as_bytes());
    put(out, stamp.ms);
    put_wide(out, u64::from(stamp.seq), SEQ_BYTES);
    put(out, stamp.replica);
    put(out, version);
}

/// Appends `value` as a LEB128 varint.
fn put(out: &mut Vec<u8>, value: u64) {
    put_wide(out, value, 1);
}

/// Appends `value` as a LEB128 varint of at least `width` bytes: leading zero groups carry the
/// continuation bit, which [`Reader::int`] reads like any other.
fn put_wide(out: &mut Vec<u8>, mut value: u64, width: usize) {
    for written in 1.. {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 && written >= width {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads what [`RegisterDoc::store`] wrote. The buffer is this module's own output, never
/// client input; reading past its end yields zeros and empty slices rather than a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn int(&mut self) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return value;
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(slice)
    }
}

fn decode(bytes: &[u8]) -> Registers {
    let len = usize::from(bytes.first().copied().unwrap_or(0));
    let text = bytes.get(1..1 + len).unwrap_or_default();
    let root = serde_json::from_slice::<Value>(text)
        .unwrap_or_else(|_| Value::Object(serde_json::Map::new()));
    let registers = registers(bytes.get(1 + len..).unwrap_or_default())
        .map(|(path, stamp, version)| Register {
            path: std::str::from_utf8(path).unwrap_or_default().into(),
            stamp,
            version,
        })
        .collect();
    Registers::from_parts(root, registers)
}

/// The encoded registers: each one's path, stamp and the version at which it last changed.
fn registers(encoded: &[u8]) -> impl Iterator<Item = (&[u8], Stamp, u64)> {
    let mut reader = Reader {
        bytes: encoded,
        at: 0,
    };
    let count = reader.int() as usize;
    (0..count).map_while(move |_| {
        let len = reader.int() as usize;
        let path = reader.take(len)?;
        let stamp = Stamp {
            ms: reader.int(),
            seq: u32::try_from(reader.int()).unwrap_or(u32::MAX),
            replica: reader.int(),
        };
        Some((path, stamp, reader.int()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Path;
    use serde_json::json;

    fn stamp(ms: u64, replica: u64) -> Stamp {
        Stamp {
            ms,
            seq: 3,
            replica,
        }
    }

    /// The update made from the buffer, and the one made from the decoded tree, as JSON values.
    fn both_updates(doc: &RegisterDoc, version: u64, since: u64) -> Option<(Value, Value)> {
        let straight = doc.update_since(Strategy::Lww, version, since)?;
        let straight = serde_json::from_slice(&straight).expect("the update is JSON");
        let general = crate::sync::registers_since(&doc.tree(), Strategy::Lww, version, since);
        Some((
            straight,
            serde_json::to_value(&general).expect("serializes"),
        ))
    }

    #[test]
    fn updates_made_from_the_buffer_match_those_made_from_the_tree() {
        let mut doc = Registers::new();
        let writes: [(&str, Option<Value>); 7] = [
            ("name", Some(json!("Alice"))),
            ("profile.city", Some(json!("Oslo"))),
            ("profile.tags", Some(json!(["a", "b"]))),
            ("n", Some(json!(-1.5))),
            ("name", None),
            ("flag", Some(json!(null))),
            (
                "profile.city",
                Some(json!({"zip": "0150", "quote": "say \"hi\""})),
            ),
        ];
        for (version, (at, value)) in (1..).zip(writes) {
            let path = Path::parse(at).expect("path");
            match value {
                Some(value) => doc.set(&path, value, stamp(version * 10, 7), version),
                None => doc
                    .delete(&path, stamp(version * 10, 7), version)
                    .map(|_| ()),
            }
            .expect("write");
            let stored = RegisterDoc::store(doc.clone());
            assert!(matches!(stored, RegisterDoc::Small(_)), "after {at}");
            for since in 0..=version {
                let (straight, general) = both_updates(&stored, version, since).expect("made");
                assert_eq!(straight, general, "after {at}, since {since}");
            }
            let (straight, general) = both_states(&stored, version).expect("made");
            assert_eq!(straight, general, "snapshot after {at}");
            // Map equality ignores member order, which the snapshot must keep: compare it.
            assert_eq!(
                straight["root"].to_string(),
                general["root"].to_string(),
                "member order after {at}"
            );
        }
    }

    /// The snapshot made from the buffer, and the one made from the decoded tree, as JSON values.
    fn both_states(doc: &RegisterDoc, version: u64) -> Option<(Value, Value)> {
        let straight = doc.state(Strategy::CrdtMap, version)?;
        let general = crate::persisted::encode_registers(Strategy::CrdtMap, version, &doc.tree());
        Some((
            serde_json::from_slice(&straight).expect("the snapshot is JSON"),
            serde_json::from_slice(&general).expect("the snapshot is JSON"),
        ))
    }

    #[test]
    fn an_update_or_snapshot_the_scanner_cannot_make_falls_back_to_the_tree() {
        let mut doc = Registers::new();
        let key = Path::parse("we\"ird").expect("path");
        doc.set(&key, json!(1), stamp(10, 1), 1).expect("set");
        let stored = RegisterDoc::store(doc.clone());
        assert!(matches!(stored, RegisterDoc::Small(_)));
        assert_eq!(stored.update_since(Strategy::Lww, 1, 0), None);
        assert_eq!(stored.state(Strategy::Lww, 1), None);
        let tree = RegisterDoc::Tree(Box::new(doc));
        assert_eq!(tree.update_since(Strategy::Lww, 1, 0), None);
        assert_eq!(tree.state(Strategy::Lww, 1), None);
    }

    #[test]
    fn a_small_document_round_trips() {
        let mut doc = Registers::new();
        let name = Path::parse("name").expect("path");
        doc.set(
            &name,
            json!("Alice"),
            stamp(1_700_000_000_000, (1 << 53) - 1),
            7,
        )
        .expect("set");
        let stored = RegisterDoc::store(doc.clone());
        assert!(matches!(stored, RegisterDoc::Small(_)));
        assert_eq!(stored.text(), Some(&br#"{"name": "Alice"}"#[..]));
        assert_eq!(*stored.tree(), doc);
    }

    /// Applies `edit` both on the compact text and on a decoded tree, and checks they agree.
    fn agree(doc: &Registers, key: &str, edit: TopLevel<'_>) {
        let path = Path::parse(key).expect("path");
        let mut fast = RegisterDoc::store(doc.clone());
        let result = fast
            .edit_top_level(&path, edit, stamp(9, 9), 9)
            .expect("fast path applies");
        let mut slow = doc.clone();
        let expected = match edit {
            TopLevel::Set(value) => slow
                .set(&path, value.clone(), stamp(9, 9), 9)
                .map(|()| None),
            TopLevel::Increment(delta) => slow.increment(&path, delta, stamp(9, 9), 9).map(Some),
        };
        assert_eq!(result, expected, "{key} {edit:?}");
        if expected.is_ok() {
            assert_eq!(*fast.tree(), slow, "{key} {edit:?}");
            let mut text = Vec::new();
            crate::json_text::write_text(slow.root(), &mut text);
            assert_eq!(fast.text(), Some(&text[..]));
        }
    }

    #[test]
    fn a_write_of_the_same_length_rewrites_the_document_in_place() {
        let path = Path::parse("name").expect("path");
        let mut slow = Registers::new();
        slow.set(&path, json!("Alice"), stamp(9, 1), 1)
            .expect("set");
        let mut fast = RegisterDoc::store(slow.clone());
        let address = |doc: &RegisterDoc| match doc {
            RegisterDoc::Small(bytes) => bytes.as_ptr(),
            RegisterDoc::Tree(_) => panic!("a small document"),
        };
        let before = address(&fast);
        // Under load the writes of one millisecond number into the hundreds and thousands.
        for (n, name, seq) in [(2, "Bobby", 200), (3, "Carol", 70_000), (4, "Diana", 0)] {
            let value = json!(name);
            let stamp = Stamp { seq, ..stamp(9, n) };
            fast.edit_top_level(&path, TopLevel::Set(&value), stamp, n)
                .expect("fast path applies")
                .expect("set");
            slow.set(&path, value, stamp, n).expect("set");
            assert_eq!(*fast.tree(), slow, "seq {seq}");
        }
        assert_eq!(address(&fast), before, "same length: no new allocation");
        assert_eq!(*fast.tree(), slow);
        let longer = json!("Christopher");
        fast.edit_top_level(&path, TopLevel::Set(&longer), stamp(9, 5), 5)
            .expect("fast path applies")
            .expect("set");
        slow.set(&path, longer, stamp(9, 5), 5).expect("set");
        assert_eq!(fast.text(), Some(&br#"{"name": "Christopher"}"#[..]));
        assert_eq!(*fast.tree(), slow);
    }

    #[test]
    fn top_level_writes_on_the_text_match_the_tree() {
        let mut doc = Registers::new();
        let set = |doc: &mut Registers, key: &str, value: Value| {
            let path = Path::parse(key).expect("path");
            doc.set(&path, value, stamp(1, 1), 1).expect("set");
        };
        agree(&doc, "name", TopLevel::Set(&json!("Alice")));
        agree(&doc, "n", TopLevel::Increment(&Number::from(2)));
        set(&mut doc, "name", json!("Al\"ice, {x}"));
        set(&mut doc, "nested", json!({"a": [1, {"b": "]"}], "c": null}));
        set(&mut doc, "n", json!(5));
        set(&mut doc, "f", json!(1.5));
        for key in ["name", "nested", "n", "f", "new"] {
            agree(&doc, key, TopLevel::Set(&json!({"v": [true]})));
            agree(&doc, key, TopLevel::Set(&json!(7)));
            agree(&doc, key, TopLevel::Increment(&Number::from(-3)));
        }
        agree(&doc, "n", TopLevel::Increment(&Number::from(i64::MAX)));
        let nested_register = Path::parse("nested.a").expect("path");
        doc.set(&nested_register, json!(0), stamp(2, 1), 2)
            .expect("set");
        agree(&doc, "nested", TopLevel::Set(&json!(1)));
    }

    #[test]
    fn a_large_document_is_a_tree() {
        let mut doc = Registers::new();
        let path = Path::parse("text").expect("path");
        doc.set(
            &path,
            json!("x".repeat(SMALL_TEXT_BYTES_MAX)),
            stamp(1, 1),
            1,
        )
        .expect("set");
        assert!(matches!(RegisterDoc::store(doc), RegisterDoc::Tree(_)));
    }

    #[test]
    fn many_registers_make_a_tree() {
        let mut doc = Registers::new();
        for i in 0..=SMALL_REGISTERS_MAX {
            let path = Path::parse(&format!("k{i}")).expect("path");
            doc.set(&path, json!(i), stamp(1, 1), 1).expect("set");
        }
        assert!(matches!(RegisterDoc::store(doc), RegisterDoc::Tree(_)));
    }

    #[test]
    fn take_leaves_an_empty_document_and_returns_the_tree() {
        let mut stored = RegisterDoc::default();
        let doc = stored.take();
        assert_eq!(doc.root(), &json!({}));
    }
}
