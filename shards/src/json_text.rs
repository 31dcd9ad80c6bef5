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
    fn write_text_appends_to_the_buffer() {
        let mut out = b"prefix ".to_vec();
        write_text(&json!([1]), &mut out);
        assert_eq!(out, b"prefix [1]");
    }
}
