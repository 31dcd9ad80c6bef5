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
//! per register `path_len path ms seq replica version`.

use std::cell::RefCell;

use serde_json::Value;

use crate::hlc::Stamp;
use crate::strategy::lww::{Register, Registers};

/// The longest JSON text a document may have and stay compact, in bytes.
pub const SMALL_TEXT_BYTES_MAX: usize = 192;

/// The most registers a document may have and stay compact.
pub const SMALL_REGISTERS_MAX: usize = 8;

thread_local! {
    /// Where [`RegisterDoc::store`] encodes, so that a write allocates only the final buffer.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
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
                put(&mut out, register.path.len() as u64);
                out.extend_from_slice(register.path.as_bytes());
                put(&mut out, register.stamp.ms);
                put(&mut out, u64::from(register.stamp.seq));
                put(&mut out, register.stamp.replica);
                put(&mut out, register.version);
            }
            RegisterDoc::Small(Box::from(&out[..]))
        })
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
}

/// Appends `value` as a LEB128 varint.
fn put(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
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
    let mut reader = Reader { bytes, at: 1 };
    let len = usize::from(bytes.first().copied().unwrap_or(0));
    let root = reader
        .take(len)
        .and_then(|text| serde_json::from_slice::<Value>(text).ok())
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    let count = reader.int() as usize;
    let mut registers = Vec::with_capacity(count.min(SMALL_REGISTERS_MAX));
    for _ in 0..count {
        let len = reader.int() as usize;
        let path = reader
            .take(len)
            .and_then(|path| std::str::from_utf8(path).ok())
            .unwrap_or_default();
        let stamp = Stamp {
            ms: reader.int(),
            seq: u32::try_from(reader.int()).unwrap_or(u32::MAX),
            replica: reader.int(),
        };
        registers.push(Register {
            path: path.into(),
            stamp,
            version: reader.int(),
        });
    }
    debug_assert_eq!(reader.at, bytes.len(), "a compact document decoded short");
    Registers::from_parts(root, registers)
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
