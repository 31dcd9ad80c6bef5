//! Composing a batch's splices of one field into one Yjs delta.
//!
//! yrs 0.28 finds a text position by walking the field's item list from the
//! start (it has no search markers), so each splice costs time linear in the
//! field's history, and that walk, not the transaction, dominates editing a
//! large document. A batch therefore does not hand its splices to yrs one by
//! one: [`Composer`] folds them, in code points, into a list of kept ranges
//! of the field's text before the batch and inserted strings, and the whole
//! batch reaches yrs as one `retain / delete / insert` delta, one walk.
//!
//! The result is the same text as the splices applied in turn. As a Yjs
//! history it is the batch as one edit: text inserted and deleted within the
//! batch never becomes an item, and text typed in sequence becomes one item.

use yrs::types::Delta;

use super::codepoints::{astral_positions, AstralIndex};

/// A piece of the field's text as the batch has left it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Code points `start .. start + len` of the text before the batch.
    Kept {
        /// First code point, in the text before the batch.
        start: u32,
        /// Length, in code points.
        len: u32,
    },
    /// Text the batch inserted.
    Inserted {
        /// The text.
        text: String,
        /// Its length, in code points.
        chars: u32,
    },
}

impl Segment {
    fn len(&self) -> u32 {
        match self {
            Segment::Kept { len, .. } => *len,
            Segment::Inserted { chars, .. } => *chars,
        }
    }

    /// Splits the segment `at` code points in, keeping the head and
    /// returning the tail. `at` must be inside (0 < at < len).
    fn split_off(&mut self, at: u32) -> Segment {
        match self {
            Segment::Kept { start, len } => {
                let tail = Segment::Kept {
                    start: *start + at,
                    len: *len - at,
                };
                *len = at;
                tail
            }
            Segment::Inserted { text, chars } => {
                // When every character is one byte, code points are bytes.
                let byte = if text.len() == *chars as usize {
                    at as usize
                } else {
                    text.char_indices()
                        .nth(at as usize)
                        .map_or(text.len(), |(byte, _)| byte)
                };
                let tail = Segment::Inserted {
                    text: text.split_off(byte),
                    chars: *chars - at,
                };
                *chars = at;
                tail
            }
        }
    }
}

/// The splices of one field within a batch, composed.
#[derive(Debug, Clone)]
pub(crate) struct Composer {
    /// The field's length before the batch, in code points.
    original_len: u32,
    /// The field's text now, as pieces in order.
    segments: Vec<Segment>,
    /// The field's length now, in code points.
    len: u32,
    /// A piece index and the code point where that piece starts, near the
    /// last edit: consecutive edits are usually close, so lookups start
    /// here instead of at the first piece.
    cursor: (usize, u32),
}

impl Composer {
    /// Starts composing over a field of `original_len` code points.
    pub fn new(original_len: u32) -> Self {
        let segments = if original_len > 0 {
            vec![Segment::Kept {
                start: 0,
                len: original_len,
            }]
        } else {
            Vec::new()
        };
        Composer {
            original_len,
            segments,
            len: original_len,
            cursor: (0, 0),
        }
    }

    /// The composed text's length, in code points.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// How many pieces the composed text has; the cost of each further
    /// splice grows with it.
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// Reports whether the composed text equals the text before the batch.
    pub fn is_unchanged(&self) -> bool {
        match self.segments.as_slice() {
            [] => self.original_len == 0,
            [Segment::Kept { start: 0, len }] => *len == self.original_len,
            _ => false,
        }
    }

    /// Deletes `delete` code points at `index`, then inserts `insert`
    /// (`inserted_chars` code points) there. The range must lie within the
    /// composed text.
    pub fn splice(&mut self, index: u32, delete: u32, insert: &str, inserted_chars: u32) {
        let start = self.split_at(index);
        // The piece before the edit keeps its start through what follows;
        // the next lookup begins there.
        self.cursor = match start.checked_sub(1) {
            Some(left) => (left, index - self.segments[left].len()),
            None => (0, 0),
        };
        let end = self.split_at(index + delete);
        self.segments.drain(start..end);
        self.len = self.len - delete + inserted_chars;
        let mut at = start;
        if !insert.is_empty() {
            match at.checked_sub(1).map(|left| &mut self.segments[left]) {
                Some(Segment::Inserted { text, chars }) => {
                    text.push_str(insert);
                    *chars += inserted_chars;
                }
                _ => {
                    self.segments.insert(
                        at,
                        Segment::Inserted {
                            text: insert.to_owned(),
                            chars: inserted_chars,
                        },
                    );
                    at += 1;
                }
            }
        }
        self.join_at(at);
    }

    /// Makes a piece boundary at code point `index` and returns the index of
    /// the piece that starts there (or the piece count at the end).
    fn split_at(&mut self, index: u32) -> usize {
        let (mut i, mut offset) = self.cursor;
        while offset > index {
            i -= 1;
            offset -= self.segments[i].len();
        }
        while i < self.segments.len() {
            let len = self.segments[i].len();
            if index == offset {
                return i;
            }
            if index < offset + len {
                let tail = self.segments[i].split_off(index - offset);
                self.segments.insert(i + 1, tail);
                return i + 1;
            }
            offset += len;
            i += 1;
        }
        self.segments.len()
    }

    /// Joins the pieces on either side of boundary `at` when they continue
    /// each other, so a batch of local edits keeps few pieces.
    fn join_at(&mut self, at: usize) {
        if at == 0 || at >= self.segments.len() {
            return;
        }
        let (left, right) = self.segments.split_at_mut(at);
        let joined = match (&mut left[at - 1], &right[0]) {
            (
                Segment::Kept { start, len },
                Segment::Kept {
                    start: next,
                    len: more,
                },
            ) if *start + *len == *next => {
                *len += more;
                true
            }
            (
                Segment::Inserted { text, chars },
                Segment::Inserted {
                    text: more,
                    chars: n,
                },
            ) => {
                text.push_str(more);
                *chars += n;
                true
            }
            _ => false,
        };
        if joined {
            self.segments.remove(at);
        }
    }

    /// The composed text, given the text before the batch.
    pub fn text(&self, original: &str) -> String {
        let chars: Vec<char> = original.chars().collect();
        let mut text = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Kept { start, len } => {
                    text.extend(&chars[*start as usize..(*start + *len) as usize]);
                }
                Segment::Inserted { text: inserted, .. } => text.push_str(inserted),
            }
        }
        text
    }

    /// The batch as one yrs delta over the text before it, in UTF-16 code
    /// units (the positions yrs counts). `astral` indexes the text before
    /// the batch.
    pub fn delta(&self, astral: Option<&AstralIndex>) -> Vec<Delta<String>> {
        let units = |start: u32, len: u32| astral.map_or(len, |a| a.utf16_len(start, len));
        let mut delta = Vec::new();
        let mut original = 0;
        for segment in &self.segments {
            match segment {
                Segment::Kept { start, len } => {
                    if *start > original {
                        delta.push(Delta::Deleted(units(original, *start - original)));
                    }
                    delta.push(Delta::Retain(units(*start, *len), None));
                    original = *start + *len;
                }
                Segment::Inserted { text, .. } => delta.push(Delta::Inserted(text.clone(), None)),
            }
        }
        if original < self.original_len {
            delta.push(Delta::Deleted(units(
                original,
                self.original_len - original,
            )));
        }
        while matches!(delta.last(), Some(Delta::Retain(..))) {
            delta.pop();
        }
        delta
    }

    /// The astral index of the composed text, given that of the text before
    /// the batch.
    pub fn astral(&self, before: Option<&AstralIndex>) -> AstralIndex {
        let mut positions = Vec::new();
        let mut at = 0;
        for segment in &self.segments {
            match segment {
                Segment::Kept { start, len } => {
                    if let Some(before) = before {
                        let kept = before.between(*start, *start + *len);
                        positions.extend(kept.iter().map(|p| p - start + at));
                    }
                }
                Segment::Inserted { text, .. } => {
                    positions.extend(astral_positions(text, at));
                }
            }
            at += segment.len();
        }
        AstralIndex::from_sorted(positions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies splices in turn to a plain string, the reference result.
    fn splice_chars(text: &str, index: u32, delete: u32, insert: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out: String = chars[..index as usize].iter().collect();
        out.push_str(insert);
        out.extend(&chars[(index + delete) as usize..]);
        out
    }

    /// Applies a delta in code units to a string, as yrs would.
    fn apply_delta(text: &str, delta: &[Delta<String>]) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut out: Vec<u16> = Vec::new();
        let mut at = 0;
        for op in delta {
            match op {
                Delta::Retain(n, _) => {
                    out.extend(&units[at..at + *n as usize]);
                    at += *n as usize;
                }
                Delta::Deleted(n) => at += *n as usize,
                Delta::Inserted(s, _) => out.extend(s.encode_utf16()),
            }
        }
        out.extend(&units[at..]);
        String::from_utf16(&out).unwrap()
    }

    #[test]
    fn composed_splices_equal_sequential_ones() {
        let original = "a😀bc𝄞d";
        let splices: [(u32, u32, &str); 7] = [
            (1, 0, "xy"),
            (3, 2, "🎉"),
            (0, 1, ""),
            (2, 0, "z"),
            (4, 2, "q😀"),
            (6, 0, "end"),
            (0, 0, "start"),
        ];
        let mut expected = original.to_owned();
        let mut composer = Composer::new(original.chars().count() as u32);
        for (index, delete, insert) in splices {
            expected = splice_chars(&expected, index, delete, insert);
            composer.splice(index, delete, insert, insert.chars().count() as u32);
            assert_eq!(composer.text(original), expected);
        }
        let before = AstralIndex::of(original);
        assert_eq!(
            apply_delta(original, &composer.delta(Some(&before))),
            expected
        );
        assert_eq!(composer.astral(Some(&before)), AstralIndex::of(&expected));
    }

    #[test]
    fn random_splices_compose_like_sequential_ones() {
        use rand::{Rng, SeedableRng};
        const ALPHABET: [&str; 6] = ["a", "b", "é", "😀", "𝄞", "xyz"];
        for seed in 0..300u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let original: String = (0..rng.gen_range(0..12))
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
                .collect();
            let mut expected = original.clone();
            let mut composer = Composer::new(original.chars().count() as u32);
            for _ in 0..rng.gen_range(1..60) {
                let len = expected.chars().count() as u32;
                let index = rng.gen_range(0..=len);
                let delete = rng.gen_range(0..=(len - index).min(4));
                let insert: String = (0..rng.gen_range(0..3))
                    .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
                    .collect();
                expected = splice_chars(&expected, index, delete, &insert);
                composer.splice(index, delete, &insert, insert.chars().count() as u32);
                assert_eq!(
                    composer.len(),
                    expected.chars().count() as u32,
                    "seed {seed}"
                );
            }
            assert_eq!(composer.text(&original), expected, "seed {seed}");
            let before = AstralIndex::of(&original);
            let delta = composer.delta(Some(&before));
            assert_eq!(apply_delta(&original, &delta), expected, "seed {seed}");
            assert_eq!(
                composer.astral(Some(&before)),
                AstralIndex::of(&expected),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn typing_in_sequence_keeps_few_pieces() {
        let mut composer = Composer::new(10);
        for (i, c) in "hello".chars().enumerate() {
            composer.splice(5 + i as u32, 0, &c.to_string(), 1);
        }
        composer.splice(9, 1, "", 0);
        assert_eq!(composer.segments(), 3);
        composer.splice(5, 4, "", 0);
        assert!(composer.is_unchanged());
        assert!(composer.delta(None).is_empty());
    }

    #[test]
    fn deleting_everything_is_one_delete() {
        let mut composer = Composer::new(4);
        composer.splice(0, 4, "", 0);
        assert_eq!(composer.delta(None), vec![Delta::Deleted(4)]);
        assert!(!composer.is_unchanged());
    }
}
