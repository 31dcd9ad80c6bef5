//! Redis `KEYS`-style glob matching over byte strings, in bounded time.
//!
//! The syntax and meaning follow Redis's `stringmatchlen`: `*` matches any
//! sequence, `?` any one byte, `[...]` a set of bytes (with `^` negation,
//! `a-z` ranges that may be reversed, and `\` escapes), and `\x` matches `x`
//! literally. A `[` that is never closed gives a set that runs to the end of
//! the pattern, as in Redis.
//!
//! Redis matches recursively, which is exponential on patterns such as
//! `a*a*a*a*b`. Patterns come from clients, so this module instead uses the
//! classic iterative matcher that remembers only the most recent `*` and
//! backtracks to it. Because every token other than `*` consumes exactly one
//! byte, that is complete for globs, and the work is bounded by
//! `O(pattern length * text length)`.
//!
//! Two deliberate differences from Redis: `[!abc]` negates like `[^abc]`
//! (the shell spelling, which users expect), and a pattern made only of `*`
//! matches the empty text (Redis's matcher says no, although `KEYS *` special
//! cases it).

/// Reports whether `text` matches the glob `pattern` (Redis `KEYS` syntax).
///
/// Used by `KEYS` and by anything else that filters names with client-given
/// patterns; the running time is at most proportional to the product of the
/// two lengths, whatever the pattern.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let mut pattern_at = 0;
    let mut text_at = 0;
    // After the most recent `*`: where the pattern resumes, and where in the
    // text the `*`'s match currently ends.
    let mut last_star: Option<(usize, usize)> = None;

    while let Some(&byte) = text.get(text_at) {
        match pattern.get(pattern_at) {
            Some(b'*') => {
                pattern_at += 1;
                last_star = Some((pattern_at, text_at));
                continue;
            }
            Some(_) => {
                if let Some(next) = match_token(pattern, pattern_at, byte) {
                    pattern_at = next;
                    text_at += 1;
                    continue;
                }
            }
            None => {}
        }
        // The token failed (or the pattern ran out): let the last `*` swallow
        // one more byte and retry from just after it.
        match last_star {
            Some((resume_at, star_end)) => {
                last_star = Some((resume_at, star_end + 1));
                pattern_at = resume_at;
                text_at = star_end + 1;
            }
            None => return false,
        }
    }
    // The text is used up; only `*`s, which may match nothing, may remain.
    pattern
        .get(pattern_at..)
        .is_some_and(|rest| rest.iter().all(|&b| b == b'*'))
}

/// Reports whether `pattern` has no glob syntax at all, so it matches exactly
/// one text: itself.
///
/// Callers use this to turn a pattern into a single exact lookup instead of a
/// scan over every name.
pub fn is_literal(pattern: &[u8]) -> bool {
    !pattern
        .iter()
        .any(|byte| matches!(byte, b'*' | b'?' | b'[' | b'\\'))
}

/// Matches the single non-`*` token starting at `at` against `byte`.
///
/// Returns where the next token starts when it matches, or `None` when it
/// does not.
fn match_token(pattern: &[u8], at: usize, byte: u8) -> Option<usize> {
    match pattern.get(at..)? {
        [b'?', ..] => Some(at + 1),
        [b'[', ..] => match_class(pattern, at + 1, byte),
        [b'\\', escaped, ..] => (*escaped == byte).then_some(at + 2),
        // A lone trailing `\` is an ordinary byte, as in Redis.
        [literal, ..] => (*literal == byte).then_some(at + 1),
        [] => None,
    }
}

/// Matches the body of a `[...]` set, starting just after the `[`.
///
/// Returns where the next token starts when `byte` is accepted by the set.
/// The order of the checks mirrors Redis, including its quirks: `]` right
/// after `[` closes an empty set, and in `[a-]` the `]` is a range end.
fn match_class(pattern: &[u8], start: usize, byte: u8) -> Option<usize> {
    let mut at = start;
    let negated = matches!(pattern.get(at), Some(b'^' | b'!'));
    if negated {
        at += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(at..).unwrap_or_default() {
            // An unclosed set runs to the end of the pattern.
            [] => break,
            [b'\\', escaped, ..] => {
                matched |= *escaped == byte;
                at += 2;
            }
            [b']', ..] => {
                at += 1;
                break;
            }
            [low, b'-', high, ..] => {
                let (low, high) = if low <= high {
                    (*low, *high)
                } else {
                    (*high, *low)
                };
                matched |= (low..=high).contains(&byte);
                at += 3;
            }
            [literal, ..] => {
                matched |= *literal == byte;
                at += 1;
            }
        }
    }
    (matched != negated).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        glob_match(pattern.as_bytes(), text.as_bytes())
    }

    #[test]
    fn star_matches_any_sequence() {
        assert!(matches("*", "anything"));
        assert!(matches("*", ""));
        assert!(matches("**", ""));
        assert!(matches("h*llo", "hllo"));
        assert!(matches("h*llo", "heeeello"));
        assert!(matches("user:*", "user:42"));
        assert!(matches("*:42", "user:42"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(!matches("user:*", "users"));
    }

    #[test]
    fn question_mark_matches_exactly_one_byte() {
        assert!(matches("h?llo", "hello"));
        assert!(matches("h?llo", "hallo"));
        assert!(!matches("h?llo", "hllo"));
        assert!(!matches("h?llo", "heello"));
        assert!(!matches("?", ""));
    }

    #[test]
    fn bracket_set_matches_listed_bytes() {
        assert!(matches("h[ae]llo", "hello"));
        assert!(matches("h[ae]llo", "hallo"));
        assert!(!matches("h[ae]llo", "hillo"));
    }

    #[test]
    fn caret_and_bang_negate_a_set() {
        assert!(matches("h[^e]llo", "hallo"));
        assert!(matches("h[^e]llo", "hbllo"));
        assert!(!matches("h[^e]llo", "hello"));
        assert!(matches("h[!e]llo", "hallo"));
        assert!(!matches("h[!e]llo", "hello"));
    }

    #[test]
    fn ranges_match_inclusively_and_may_be_reversed() {
        assert!(matches("h[a-b]llo", "hallo"));
        assert!(matches("h[a-b]llo", "hbllo"));
        assert!(!matches("h[a-b]llo", "hcllo"));
        assert!(matches("[z-a]", "m"));
        assert!(!matches("[z-a]", "A"));
        assert!(matches("id[0-9]", "id7"));
        assert!(!matches("id[^0-9]", "id7"));
    }

    #[test]
    fn backslash_escapes_outside_brackets() {
        assert!(matches("h\\*llo", "h*llo"));
        assert!(!matches("h\\*llo", "hello"));
        assert!(matches("\\?", "?"));
        assert!(!matches("\\?", "x"));
        assert!(matches("a\\\\b", "a\\b"));
    }

    #[test]
    fn trailing_backslash_is_a_literal_byte() {
        assert!(matches("a\\", "a\\"));
        assert!(!matches("a\\", "a"));
    }

    #[test]
    fn backslash_escapes_inside_brackets() {
        assert!(matches("[\\]]", "]"));
        assert!(matches("[\\-a]", "-"));
        assert!(matches("[\\^]", "^"));
        assert!(!matches("[\\]]", "a"));
    }

    #[test]
    fn unclosed_bracket_runs_to_end_of_pattern() {
        assert!(matches("a[bc", "ab"));
        assert!(matches("a[bc", "ac"));
        assert!(!matches("a[bc", "a["));
        assert!(!matches("a[bc", "abc"));
        assert!(!matches("[", "x"));
        assert!(!matches("[", "["));
    }

    #[test]
    fn empty_set_matches_nothing_and_negated_empty_set_anything() {
        assert!(!matches("[]", "a"));
        assert!(matches("[^]", "a"));
    }

    #[test]
    fn bracket_as_the_last_range_end_follows_redis() {
        // Redis reads `[a-]` as the range from `a` to `]`, which is reversed
        // to `]`..=`a` (0x5D..=0x61), and the set is then left unclosed.
        assert!(matches("[a-]", "_"));
        assert!(!matches("[a-]", "b"));
    }

    #[test]
    fn empty_pattern_matches_only_empty_text() {
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn pathological_pattern_finishes_with_no_match() {
        let pattern = "a*a*a*a*a*a*a*a*a*a*a*b";
        let text = "a".repeat(10_000);
        assert!(!matches(pattern, &text));
    }

    #[test]
    fn pathological_pattern_still_matches_when_it_should() {
        let pattern = "a*a*a*a*a*a*a*a*a*a*a*b";
        let text = format!("{}b", "a".repeat(10_000));
        assert!(matches(pattern, &text));
    }

    #[test]
    fn matching_works_on_non_utf8_bytes() {
        assert!(glob_match(b"\xff*", b"\xff\xfe"));
        assert!(glob_match(b"[\x80-\xff]", b"\x90"));
    }

    #[test]
    fn is_literal_detects_glob_syntax() {
        assert!(is_literal(b"user:42"));
        assert!(is_literal(b""));
        assert!(is_literal(b"a]b-c^"));
        assert!(!is_literal(b"user:*"));
        assert!(!is_literal(b"user:?"));
        assert!(!is_literal(b"user:[12]"));
        assert!(!is_literal(b"user\\:42"));
    }
}
