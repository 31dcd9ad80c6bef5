//! The JSON text replies carry: `{"name": "Alice", "tags": [1, 2]}`.
//!
//! Replies show documents the way the product's README does, with a space
//! after each `:` and `,` (the layout of Python's `json.dumps` default)
//! rather than serde_json's compact form. Everything else, including string
//! escaping and writing non-ASCII as UTF-8, is serde_json's.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::Value;

/// Serializes `value` as reply text, in a new buffer.
///
/// Convenient for one-off replies; use [`write_text`] to reuse a buffer.
pub fn to_text(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_text(value, &mut out);
    out
}

/// Appends `value` as reply text to `out`.
///
/// Lets the server serialize straight into an existing output buffer.
pub fn write_text(value: &Value, out: &mut Vec<u8>) {
    let mut serializer = Serializer::with_formatter(out, SpacedFormatter);
    // This cannot fail: writing to a `Vec` never fails, a `Value`'s map keys
    // are always strings, and a `Number` is never NaN or infinite.
    let result = value.serialize(&mut serializer);
    debug_assert!(result.is_ok(), "serializing a Value failed: {result:?}");
}

/// Appends `value` as reply text to `out` unless its text would pass `bytes_max` bytes, in which
/// case `out` is left as it was and `false` returned; writing stops as soon as the bound is
/// passed, so checking whether a large value is small costs no more than `bytes_max` bytes.
pub fn write_text_within(value: &Value, out: &mut Vec<u8>, bytes_max: usize) -> bool {
    let start = out.len();
    let mut bounded = Bounded {
        out,
        room: bytes_max,
    };
    let mut serializer = Serializer::with_formatter(&mut bounded, SpacedFormatter);
    if value.serialize(&mut serializer).is_ok() {
        return true;
    }
    out.truncate(start);
    false
}

/// A writer that refuses to grow `out` by more than `room` bytes.
struct Bounded<'a> {
    out: &'a mut Vec<u8>,
    room: usize,
}

impl io::Write for Bounded<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.len() > self.room {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "over the bound"));
        }
        self.room -= bytes.len();
        self.out.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A compact formatter that puts a space after `:` and `,`.
struct SpacedFormatter;

impl Formatter for SpacedFormatter {
    fn begin_array_value<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: &Value) -> String {
        String::from_utf8(to_text(value)).expect("serde_json writes UTF-8")
    }

    #[test]
    fn objects_get_a_space_after_colon_and_comma() {
        let value = json!({"name": "Alice", "tags": [1, 2]});
        assert_eq!(text(&value), r#"{"name": "Alice", "tags": [1, 2]}"#);
    }

    #[test]
    fn key_order_is_preserved() {
        let value = json!({"z": 1, "a": 2, "m": 3});
        assert_eq!(text(&value), r#"{"z": 1, "a": 2, "m": 3}"#);
    }

    #[test]
    fn empty_containers_have_no_spaces() {
        assert_eq!(text(&json!({})), "{}");
        assert_eq!(text(&json!([])), "[]");
        assert_eq!(text(&json!({"a": [], "b": {}})), r#"{"a": [], "b": {}}"#);
    }

    #[test]
    fn nested_values_use_the_same_layout() {
        let value = json!([{"a": [true, null]}, "x"]);
        assert_eq!(text(&value), r#"[{"a": [true, null]}, "x"]"#);
    }

    #[test]
    fn scalars_are_written_as_serde_json_does() {
        assert_eq!(text(&json!(3.0)), "3.0");
        assert_eq!(text(&json!(-7)), "-7");
        assert_eq!(text(&json!("a\"b\n")), r#""a\"b\n""#);
    }

    #[test]
    fn non_ascii_is_written_as_utf8() {
        assert_eq!(text(&json!({"city": "Zürich"})), "{\"city\": \"Zürich\"}");
    }

    #[test]
    fn write_text_within_stops_at_the_bound() {
        let mut out = b"x".to_vec();
        assert!(!write_text_within(&json!({"a": "long text"}), &mut out, 8));
        assert_eq!(out, b"x");
        assert!(write_text_within(&json!({"a": 1}), &mut out, 8));
        assert_eq!(out, br#"x{"a": 1}"#);
    }

    #[test]
    fn write_text_appends_to_the_buffer() {
        let mut out = b"prefix ".to_vec();
        write_text(&json!([1]), &mut out);
        assert_eq!(out, b"prefix [1]");
    }
}
