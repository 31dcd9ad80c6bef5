//! Code-point positions over yrs's UTF-16 positions.
//!
//! Clients address text in Unicode code points (what a Rust `char`, a Python
//! `str` index or a JavaScript `Array.from(text)` counts). yrs 0.28 counts
//! positions in UTF-8 bytes or UTF-16 code units only, and a position inside
//! a long item costs it a scan either way. We run yrs in UTF-16 mode, where
//! lengths are kept per item for free, and translate: a code point index
//! equals its UTF-16 index minus the astral characters (those outside the
//! Basic Multilingual Plane, which take two UTF-16 units) before it.
//!
//! [`AstralIndex`] keeps, per text field, the sorted code point positions of
//! its astral characters. Most text has none, so the translation is usually
//! an empty binary search; edits shift the positions after them. The index is
//! rebuilt from the text whenever a merge changes it wholesale.

/// The code point positions of one field's astral characters, ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AstralIndex {
    positions: Vec<u32>,
}

/// Reports whether `c` takes two UTF-16 code units.
fn is_astral(c: char) -> bool {
    c.len_utf16() == 2
}

impl AstralIndex {
    /// Builds the index of `text`. Positions fit in `u32` because document
    /// text is capped below 2^31 code points.
    pub fn of(text: &str) -> Self {
        // Astral characters are the four-byte UTF-8 sequences, whose lead
        // byte is 0xF0 or above: most text has none and skips the scan.
        if !text.bytes().any(|b| b >= 0xF0) {
            return AstralIndex::default();
        }
        AstralIndex {
            positions: astral_positions(text, 0).collect(),
        }
    }

    /// Wraps positions already sorted ascending.
    pub fn from_sorted(positions: Vec<u32>) -> Self {
        debug_assert!(positions.windows(2).all(|w| w[0] < w[1]));
        AstralIndex { positions }
    }

    /// The positions in `start .. end`.
    pub fn between(&self, start: u32, end: u32) -> &[u32] {
        let from = self.positions.partition_point(|&p| p < start);
        let to = self.positions.partition_point(|&p| p < end);
        &self.positions[from..to]
    }

    /// Reports whether the field has no astral characters.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// How many astral characters sit before code point `index`.
    fn count_before(&self, index: u32) -> u32 {
        // At most the field's length, which is below 2^31.
        self.positions.partition_point(|&p| p < index) as u32
    }

    /// The number of astral characters in the whole field.
    pub fn count(&self) -> u32 {
        self.positions.len() as u32
    }

    /// The UTF-16 offset of code point `index`.
    pub fn utf16_offset(&self, index: u32) -> u32 {
        index + self.count_before(index)
    }

    /// The UTF-16 length of the `len` code points starting at `index`.
    pub fn utf16_len(&self, index: u32, len: u32) -> u32 {
        len + self.count_before(index + len) - self.count_before(index)
    }

    /// Updates the index for deleting `delete` code points at `index` and
    /// then inserting `inserted` there.
    pub fn splice(&mut self, index: u32, delete: u32, inserted: &str) {
        let start = self.positions.partition_point(|&p| p < index);
        let end = self.positions.partition_point(|&p| p < index + delete);
        // At most the field's length, which is below 2^31.
        let inserted_chars = inserted.chars().count() as u32;
        let added: Vec<u32> = astral_positions(inserted, index).collect();
        let tail = self.positions.split_off(end);
        self.positions.truncate(start);
        self.positions.extend(added);
        self.positions
            .extend(tail.into_iter().map(|p| p - delete + inserted_chars));
    }
}

/// The code point positions of `text`'s astral characters, offset by
/// `base`.
pub(crate) fn astral_positions(text: &str, base: u32) -> impl Iterator<Item = u32> + '_ {
    text.chars()
        .enumerate()
        .filter(|(_, c)| is_astral(*c))
        .map(move |(i, _)| base + i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmp_text_maps_one_to_one() {
        let index = AstralIndex::of("héllo ★");
        assert!(index.is_empty());
        assert_eq!(index.utf16_offset(7), 7);
        assert_eq!(index.utf16_len(2, 3), 3);
    }

    #[test]
    fn astral_characters_take_two_units() {
        // Code points: a 😀 b 𝄞 c
        let index = AstralIndex::of("a😀b𝄞c");
        assert_eq!(index.count(), 2);
        assert_eq!(index.utf16_offset(0), 0);
        assert_eq!(index.utf16_offset(1), 1);
        assert_eq!(index.utf16_offset(2), 3);
        assert_eq!(index.utf16_offset(4), 6);
        assert_eq!(index.utf16_offset(5), 7);
        assert_eq!(index.utf16_len(1, 3), 5);
        assert_eq!(index.utf16_len(2, 1), 1);
    }

    #[test]
    fn splice_matches_rebuilding() {
        let cases: [(&str, u32, u32, &str); 5] = [
            ("a😀b𝄞c", 1, 1, "x"),
            ("a😀b𝄞c", 0, 0, "🎉🎉"),
            ("a😀b𝄞c", 2, 3, ""),
            ("😀😀😀", 1, 1, "y🙂z"),
            ("", 0, 0, "🙂"),
        ];
        for (text, index, delete, inserted) in cases {
            let mut index_of = AstralIndex::of(text);
            index_of.splice(index, delete, inserted);
            let chars: Vec<char> = text.chars().collect();
            let mut edited: String = chars[..index as usize].iter().collect();
            edited.push_str(inserted);
            edited.extend(&chars[(index + delete) as usize..]);
            assert_eq!(
                index_of,
                AstralIndex::of(&edited),
                "{text} {index} {delete} {inserted}"
            );
        }
    }
}
