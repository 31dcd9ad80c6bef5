//! How a reply is printed: typed for a person at a terminal, raw for scripts, or one JSON value
//! per reply for programs. The rules are listed in `docs/cli.md`; in short:
//!
//! | reply | typed (terminal) | raw (piped, `--raw`) | `--json` |
//! |---|---|---|---|
//! | `+OK` | `+OK` | `OK` | `"OK"` |
//! | other status (`+PONG`) | `PONG` | `PONG` | `"PONG"` |
//! | error | `(error) ERR ...` | `ERR ...` on stderr | `{"error": "ERR ..."}` |
//! | integer | `1` | `1` | `1` |
//! | bulk (JSON text) | the text | the bytes | the JSON value itself |
//! | bulk, not UTF-8 text | `"\x00..."` quoted | the bytes | a JSON string (lossy) |
//! | nil | `(nil)` | empty line | `null` |
//! | array | `1) item` lines, nested indented | one item per line | a JSON array |
//! | empty array | `(empty array)` | nothing | `[]` |
//!
//! Typed output follows `redis-cli`, except where the seed README's transcript differs: the
//! acknowledgement `OK` shows as `+OK`, integers show bare, and bulk strings (USSL's JSON
//! documents) show unquoted.

use redis_protocol::resp2::types::OwnedFrame;
use serde_json::Value;

/// The output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a person: `redis-cli`-like, with the seed's conventions.
    Typed,
    /// For scripts: values only.
    Raw,
    /// For programs: one JSON value per reply, one per line.
    Json,
}

/// A rendered reply: the text to print (newline included) and where it goes.
#[derive(Debug, PartialEq, Eq)]
pub struct Rendered {
    /// What to print.
    pub text: String,
    /// Whether it belongs on stderr (raw errors, so they never mix with the values a script reads).
    pub to_stderr: bool,
}

/// Renders one reply.
pub fn render(frame: &OwnedFrame, format: Format) -> Rendered {
    let (text, to_stderr) = match (format, frame) {
        (Format::Json, frame) => (format!("{}\n", json(frame)), false),
        (Format::Raw, OwnedFrame::Error(message)) => (format!("{message}\n"), true),
        (Format::Raw, frame) => {
            let mut text = String::new();
            raw(frame, &mut text);
            (text, false)
        }
        (Format::Typed, frame) => {
            let mut text = String::new();
            typed(frame, 0, &mut text);
            (text, false)
        }
    };
    Rendered { text, to_stderr }
}

/// Appends the typed form of `frame`; `indent` is the column nested array lines start at.
fn typed(frame: &OwnedFrame, indent: usize, out: &mut String) {
    match frame {
        OwnedFrame::SimpleString(text) if text == b"OK" => out.push_str("+OK\n"),
        OwnedFrame::SimpleString(text) => line(out, &String::from_utf8_lossy(text)),
        OwnedFrame::Error(message) => line(out, &format!("(error) {message}")),
        OwnedFrame::Integer(value) => line(out, &value.to_string()),
        OwnedFrame::BulkString(bytes) => line(out, &printable(bytes)),
        OwnedFrame::Null => out.push_str("(nil)\n"),
        OwnedFrame::Array(items) if items.is_empty() => out.push_str("(empty array)\n"),
        OwnedFrame::Array(items) => {
            // As redis-cli: indices right-aligned to the widest one, nested arrays indented past
            // their parent's index so the columns line up.
            let width = items.len().to_string().len();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(&format!("{:>width$}) ", i + 1));
                typed(item, indent + width + 2, out);
            }
        }
    }
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// Text that prints safely: UTF-8 as is (with `\r\n` line ends shown as plain newlines, so INFO
/// reads well); anything else quoted with escapes, as redis-cli shows binary strings.
fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t')) =>
        {
            let text = text.replace("\r\n", "\n");
            match text.strip_suffix('\n') {
                Some(trimmed) => trimmed.to_string(),
                None => text,
            }
        }
        _ => quoted(bytes),
    }
}

/// `bytes` in double quotes with redis-cli's escapes.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

/// Appends the raw form of `frame`: values only, one per line.
fn raw(frame: &OwnedFrame, out: &mut String) {
    match frame {
        OwnedFrame::SimpleString(bytes) | OwnedFrame::BulkString(bytes) => {
            out.push_str(&String::from_utf8_lossy(bytes));
            out.push('\n');
        }
        OwnedFrame::Error(message) => line(out, message),
        OwnedFrame::Integer(value) => line(out, &value.to_string()),
        OwnedFrame::Null => out.push('\n'),
        OwnedFrame::Array(items) => items.iter().for_each(|item| raw(item, out)),
    }
}

/// The JSON value standing for `frame`: bulk strings holding JSON are embedded as that JSON.
pub fn json(frame: &OwnedFrame) -> Value {
    match frame {
        OwnedFrame::SimpleString(bytes) => Value::String(String::from_utf8_lossy(bytes).into()),
        OwnedFrame::Error(message) => serde_json::json!({ "error": message }),
        OwnedFrame::Integer(value) => Value::from(*value),
        OwnedFrame::BulkString(bytes) => serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into())),
        OwnedFrame::Null => Value::Null,
        OwnedFrame::Array(items) => Value::Array(items.iter().map(json).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> OwnedFrame {
        OwnedFrame::BulkString(text.as_bytes().to_vec())
    }

    fn simple(text: &str) -> OwnedFrame {
        OwnedFrame::SimpleString(text.as_bytes().to_vec())
    }

    fn text(frame: &OwnedFrame, format: Format) -> String {
        render(frame, format).text
    }

    #[test]
    fn typed_follows_the_seed_transcript() {
        assert_eq!(text(&simple("PONG"), Format::Typed), "PONG\n");
        assert_eq!(text(&simple("OK"), Format::Typed), "+OK\n");
        assert_eq!(
            text(&bulk(r#"{"name": "Alice"}"#), Format::Typed),
            "{\"name\": \"Alice\"}\n"
        );
        assert_eq!(text(&OwnedFrame::Integer(1), Format::Typed), "1\n");
        let keys = OwnedFrame::Array(vec![bulk("user:1"), bulk("counter:views")]);
        assert_eq!(text(&keys, Format::Typed), "1) user:1\n2) counter:views\n");
    }

    #[test]
    fn typed_nested_arrays_line_up_like_redis_cli() {
        let items: Vec<_> = (1..=10).map(|i| bulk(&i.to_string())).collect();
        let nested = OwnedFrame::Array(vec![
            OwnedFrame::Array(vec![bulk("a"), bulk("b")]),
            OwnedFrame::Array(items),
        ]);
        let shown = text(&nested, Format::Typed);
        assert!(shown.starts_with("1) 1) a\n   2) b\n2)  1) 1\n"), "{shown}");
        assert!(shown.ends_with("   10) 10\n"), "{shown}");
    }

    #[test]
    fn typed_errors_nil_empty_and_binary() {
        let error = OwnedFrame::Error("ERR unknown command 'SUB'".into());
        assert_eq!(
            text(&error, Format::Typed),
            "(error) ERR unknown command 'SUB'\n"
        );
        assert_eq!(text(&OwnedFrame::Null, Format::Typed), "(nil)\n");
        assert_eq!(
            text(&OwnedFrame::Array(vec![]), Format::Typed),
            "(empty array)\n"
        );
        let binary = OwnedFrame::BulkString(vec![b'a', 0, 0xff, b'"']);
        assert_eq!(text(&binary, Format::Typed), "\"a\\x00\\xff\\\"\"\n");
        assert_eq!(text(&bulk("a:1\r\nb:2\r\n"), Format::Typed), "a:1\nb:2\n");
    }

    #[test]
    fn raw_prints_values_only_and_errors_on_stderr() {
        assert_eq!(text(&simple("OK"), Format::Raw), "OK\n");
        let keys = OwnedFrame::Array(vec![bulk("a"), OwnedFrame::Integer(2), OwnedFrame::Null]);
        assert_eq!(text(&keys, Format::Raw), "a\n2\n\n");
        let error = render(&OwnedFrame::Error("ERR x".into()), Format::Raw);
        assert_eq!(
            error,
            Rendered {
                text: "ERR x\n".into(),
                to_stderr: true
            }
        );
    }

    #[test]
    fn json_embeds_document_values() {
        assert_eq!(
            text(&bulk(r#"{"a": [1, 2]}"#), Format::Json),
            "{\"a\":[1,2]}\n"
        );
        assert_eq!(
            text(&bulk("plain words"), Format::Json),
            "\"plain words\"\n"
        );
        assert_eq!(
            text(&OwnedFrame::Error("ERR x".into()), Format::Json),
            "{\"error\":\"ERR x\"}\n"
        );
        let mixed = OwnedFrame::Array(vec![simple("OK"), OwnedFrame::Integer(3), OwnedFrame::Null]);
        assert_eq!(text(&mixed, Format::Json), "[\"OK\",3,null]\n");
    }
}
