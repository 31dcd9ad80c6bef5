//! Splitting an inline request's line into arguments (step frame → args
//! for inline requests), following Redis's `sdssplitargs` so a line typed
//! at `redis-cli`, `telnet` or `nc` means the same to `usld` as to Redis.
//!
//! # Words
//!
//! Words are separated by whitespace (space, `\t`, `\r`, `\n`, `\v`, `\f`).
//! A word may be quoted:
//!
//! - In `"double quotes"` the escapes `\n \r \t \b \a \\ \"` and `\xHH`
//!   (two hex digits) stand for the byte they name; any other escaped byte
//!   stands for itself (`\q` is `q`, and `\x` without two hex digits is `x`).
//! - In `'single quotes'` only `\'` is an escape; every other byte,
//!   backslashes included, stands for itself.
//! - A closing quote must be followed by whitespace or the end of the line,
//!   and every opened quote must be closed; otherwise the line is rejected
//!   with [`ProtocolError::UnbalancedQuotes`].
//! - As in Redis, a quote that appears in the middle of an unquoted word
//!   opens a quoted part of that same word, and its closing quote ends the
//!   word: `ab"c d"` is the single word `abc d`.
//!
//! Two details deliberately differ from Redis, whose parser works on C
//! strings: a NUL byte is an ordinary byte (Redis would drop the rest of
//! the line), and `\v` and `\f` split words everywhere (Redis only skips
//! them between words).
//!
//! # The value of `SET` and `PUSH`
//!
//! `SET id path value` and `PUSH id path value` carry a JSON value that
//! often contains spaces and quotes. Splitting it into words would break
//! it apart, so the request layer splits only the first three words and
//! hands the rest of the line to [`rest_value`], which keeps it whole:
//!
//! - `SET u name Alice` → `Alice` (one plain word);
//! - `SET u name "Alice"` → `"Alice"` (valid JSON, kept unchanged, quotes
//!   included, so the document gets the JSON string `Alice`);
//! - `SET u name 'Alice Smith'` → `Alice Smith` (one quoted word, unquoted);
//! - `SET u data {"a": 1}` → `{"a": 1}` (valid JSON, kept unchanged);
//! - `SET u note it's fine` → `it's fine` (plain text: a quote inside it is
//!   just a character);
//! - `SET u name "Alice` → [`ProtocolError::UnbalancedQuotes`]: text that
//!   *starts* with a quote was meant to be quoted, so a missing closing
//!   quote is a typing mistake worth reporting, not a value to store.

use bytes::Bytes;

use super::error::ProtocolError;

/// Splits a whole inline line into words.
///
/// Words without quotes or escapes are zero-copy slices of `line`; the
/// others are copied.
pub fn split_args(line: &Bytes) -> Result<Vec<Bytes>, ProtocolError> {
    let mut words = Vec::new();
    let mut position = 0;
    while let Some((word, next)) = next_word(line, position)? {
        words.push(word.into_bytes(line));
        position = next;
    }
    Ok(words)
}

/// Splits at most `words_max` words off the front of `line` and returns
/// them with the raw rest of the line (leading whitespace skipped).
///
/// This is what lets `SET` and `PUSH` keep their value whole: the words
/// before the value follow the quoting rules, the value keeps its bytes.
pub fn split_prefix(line: &Bytes, words_max: usize) -> Result<(Vec<Bytes>, Bytes), ProtocolError> {
    let mut words = Vec::with_capacity(words_max.min(8));
    let mut position = 0;
    while words.len() < words_max {
        match next_word(line, position)? {
            Some((word, next)) => {
                words.push(word.into_bytes(line));
                position = next;
            }
            None => {
                position = line.len();
                break;
            }
        }
    }
    let rest_start = skip_spaces(line, position);
    Ok((words, line.slice(rest_start..)))
}

/// Chooses the argument that the rest of a `SET` or `PUSH` line stands for
/// (see the module documentation for examples).
///
/// Valid JSON is kept byte for byte, since it is what the command layer
/// will parse; otherwise text that is exactly one (possibly quoted) word
/// becomes that word, so `'Alice Smith'` means `Alice Smith`; anything
/// else is kept unchanged and the command layer treats it as a string,
/// unless it starts with a quote that is never balanced.
pub fn rest_value(rest: Bytes) -> Result<Bytes, ProtocolError> {
    if serde_json::from_slice::<serde::de::IgnoredAny>(&rest).is_ok() {
        return Ok(rest);
    }
    match split_args(&rest) {
        Ok(mut words) if words.len() == 1 => Ok(words.pop().unwrap_or(rest)),
        Err(error) if matches!(rest.first(), Some(b'"' | b'\'')) => Err(error),
        _ => Ok(rest),
    }
}

/// Whether `byte` separates words (C's `isspace` in the "C" locale).
pub(crate) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// The first position at or after `position` that is not whitespace.
fn skip_spaces(line: &[u8], mut position: usize) -> usize {
    while line.get(position).copied().is_some_and(is_space) {
        position += 1;
    }
    position.min(line.len())
}

/// Which quotes the tokenizer is inside.
#[derive(Clone, Copy)]
enum Quote {
    None,
    Double,
    Single,
}

/// A word being assembled: a span of the line for as long as its bytes are
/// contiguous there, a copy once they are not (after a quote or escape).
struct Word {
    start: usize,
    end: usize,
    copy: Option<Vec<u8>>,
}

impl Word {
    fn new() -> Self {
        Self {
            start: 0,
            end: 0,
            copy: None,
        }
    }

    /// Appends the byte found at `position` of `line`.
    fn push_from(&mut self, line: &[u8], position: usize, byte: u8) {
        match &mut self.copy {
            Some(copy) => copy.push(byte),
            None if self.start == self.end => {
                self.start = position;
                self.end = position + 1;
            }
            None if self.end == position => self.end += 1,
            None => self.push_byte(line, byte),
        }
    }

    /// Appends a byte that is not where the span would continue (an
    /// escape's meaning), switching to a copy.
    fn push_byte(&mut self, line: &[u8], byte: u8) {
        let copy = self
            .copy
            .get_or_insert_with(|| line.get(self.start..self.end).unwrap_or_default().to_vec());
        copy.push(byte);
    }

    fn into_bytes(self, line: &Bytes) -> Bytes {
        match self.copy {
            Some(copy) => Bytes::from(copy),
            None if self.start == self.end => Bytes::new(),
            None => line.slice(self.start..self.end),
        }
    }
}

/// The value of a hex digit, if `byte` is one.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The byte a backslash escape inside double quotes stands for.
fn unescape(byte: u8) -> u8 {
    match byte {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

/// Whether a closing quote at `position` is properly followed by
/// whitespace or the end of the line.
fn closes_cleanly(line: &[u8], position: usize) -> bool {
    line.get(position + 1).copied().is_none_or(is_space)
}

/// Reads the word starting at or after `position`, returning it and the
/// position to continue from, or `None` when only whitespace is left.
fn next_word(line: &[u8], position: usize) -> Result<Option<(Word, usize)>, ProtocolError> {
    let mut position = skip_spaces(line, position);
    if position >= line.len() {
        return Ok(None);
    }
    let mut word = Word::new();
    let mut quote = Quote::None;
    loop {
        let current = line.get(position).copied();
        match quote {
            Quote::None => match current {
                None => return Ok(Some((word, position))),
                Some(byte) if is_space(byte) => return Ok(Some((word, position + 1))),
                Some(b'"') => quote = Quote::Double,
                Some(b'\'') => quote = Quote::Single,
                Some(byte) => word.push_from(line, position, byte),
            },
            Quote::Double => match current {
                None => return Err(ProtocolError::UnbalancedQuotes),
                Some(b'\\') => {
                    let escaped = line.get(position + 1).copied();
                    let high = line.get(position + 2).copied().and_then(hex_value);
                    let low = line.get(position + 3).copied().and_then(hex_value);
                    match (escaped, high, low) {
                        (Some(b'x'), Some(high), Some(low)) => {
                            word.push_byte(line, high * 16 + low);
                            position += 3;
                        }
                        (Some(escaped), _, _) => {
                            word.push_byte(line, unescape(escaped));
                            position += 1;
                        }
                        // A backslash ending the line leaves the quote open.
                        (None, _, _) => return Err(ProtocolError::UnbalancedQuotes),
                    }
                }
                Some(b'"') if closes_cleanly(line, position) => {
                    return Ok(Some((word, position + 1)));
                }
                Some(b'"') => return Err(ProtocolError::UnbalancedQuotes),
                Some(byte) => word.push_from(line, position, byte),
            },
            Quote::Single => match current {
                None => return Err(ProtocolError::UnbalancedQuotes),
                Some(b'\\') if line.get(position + 1) == Some(&b'\'') => {
                    word.push_byte(line, b'\'');
                    position += 1;
                }
                Some(b'\'') if closes_cleanly(line, position) => {
                    return Ok(Some((word, position + 1)));
                }
                Some(b'\'') => return Err(ProtocolError::UnbalancedQuotes),
                Some(byte) => word.push_from(line, position, byte),
            },
        }
        position += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        let words = split_args(&Bytes::copy_from_slice(line))?;
        Ok(words.into_iter().map(|word| word.to_vec()).collect())
    }

    fn words(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|word| word.to_vec()).collect()
    }

    fn rest(text: &[u8]) -> Vec<u8> {
        rest_value(Bytes::copy_from_slice(text))
            .expect("a valid value")
            .to_vec()
    }

    #[test]
    fn plain_words_split_on_every_kind_of_whitespace() {
        let line = b" a\tb\rc\nd\x0be\x0cf  ";
        assert_eq!(
            split(line),
            Ok(words(&[b"a", b"b", b"c", b"d", b"e", b"f"]))
        );
    }

    #[test]
    fn empty_and_blank_lines_have_no_words() {
        assert_eq!(split(b""), Ok(vec![]));
        assert_eq!(split(b" \t "), Ok(vec![]));
    }

    #[test]
    fn plain_words_are_slices_of_the_line() {
        let line = Bytes::from_static(b"GET key");
        let split = split_args(&line).unwrap_or_default();
        assert_eq!(split.len(), 2);
        assert_eq!(split[1].as_ptr(), line[4..].as_ptr());
    }

    #[test]
    fn double_quotes_keep_spaces_and_decode_escapes() {
        assert_eq!(
            split(br#"SET "a b" "\n\r\t\b\a\\\"\x41\x7a""#),
            Ok(words(&[b"SET", b"a b", b"\n\r\t\x08\x07\\\"Az"]))
        );
    }

    #[test]
    fn double_quote_unknown_escape_and_short_hex_stand_for_themselves() {
        assert_eq!(split(br#""\q\xg1\x4""#), Ok(words(&[b"qxg1x4"])));
    }

    #[test]
    fn single_quotes_decode_only_escaped_single_quote() {
        assert_eq!(split(br"'it\'s \n'"), Ok(words(&[br"it's \n"])));
    }

    #[test]
    fn empty_quotes_give_empty_word() {
        assert_eq!(split(br#"a "" ''"#), Ok(words(&[b"a", b"", b""])));
    }

    #[test]
    fn quote_mid_word_opens_quoted_part_of_same_word_like_redis() {
        assert_eq!(split(br#"ab"c d" e"#), Ok(words(&[b"abc d", b"e"])));
        assert_eq!(split(br"ab'c d'"), Ok(words(&[b"abc d"])));
    }

    #[test]
    fn closing_quote_followed_by_non_space_is_unbalanced() {
        assert_eq!(split(br#""ab"c"#), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(split(br#"ab"cd"ef"#), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(split(br"'ab'c"), Err(ProtocolError::UnbalancedQuotes));
    }

    #[test]
    fn unterminated_quote_is_unbalanced() {
        assert_eq!(split(br#"a "bc"#), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(split(br"a 'bc"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(split(br#""abc\"#), Err(ProtocolError::UnbalancedQuotes));
    }

    #[test]
    fn nul_byte_is_an_ordinary_byte() {
        assert_eq!(split(b"a\0b c"), Ok(words(&[b"a\0b", b"c"])));
    }

    #[test]
    fn split_prefix_returns_words_and_raw_rest() {
        let line = Bytes::from_static(br#"SET "my id" path  {"a": [1, 2]}"#);
        let (prefix, rest) = split_prefix(&line, 3).unwrap_or_default();
        assert_eq!(prefix, vec![&b"SET"[..], b"my id", b"path"]);
        assert_eq!(&rest[..], br#"{"a": [1, 2]}"#);
    }

    #[test]
    fn split_prefix_with_fewer_words_has_empty_rest() {
        let line = Bytes::from_static(b"SET a ");
        let (prefix, rest) = split_prefix(&line, 3).unwrap_or_default();
        assert_eq!(prefix, vec![&b"SET"[..], b"a"]);
        assert!(rest.is_empty());
    }

    #[test]
    fn rest_value_plain_word_is_itself() {
        assert_eq!(rest(b"Alice"), b"Alice");
    }

    #[test]
    fn rest_value_json_string_keeps_its_quotes() {
        assert_eq!(rest(br#""Alice""#), br#""Alice""#);
    }

    #[test]
    fn rest_value_single_quoted_words_become_one_word() {
        assert_eq!(rest(b"'Alice Smith'"), b"Alice Smith");
    }

    #[test]
    fn rest_value_json_object_is_unchanged() {
        assert_eq!(rest(br#"{"a": 1}"#), br#"{"a": 1}"#);
    }

    #[test]
    fn rest_value_several_words_are_unchanged() {
        assert_eq!(rest(b"Alice Smith"), b"Alice Smith");
    }

    #[test]
    fn rest_value_starting_with_an_unbalanced_quote_is_an_error() {
        for text in [&br#""Alice"#[..], b"'Alice"] {
            assert_eq!(
                rest_value(Bytes::copy_from_slice(text)),
                Err(ProtocolError::UnbalancedQuotes),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn rest_value_plain_text_with_a_quote_inside_is_unchanged() {
        assert_eq!(rest(b"it's fine"), b"it's fine");
        assert_eq!(rest(br#"say "hi"#), br#"say "hi"#);
    }
}
