//! A bounded structural check of Yjs v1 updates and state vectors, run
//! before yrs sees them.
//!
//! Replica sync hands the server bytes from any client. yrs 0.28's decoders
//! trust what those bytes claim: a state vector's entry count sizes an
//! allocation (five bytes can ask for gigabytes), a client id over 53 bits
//! trips a debug assertion, clocks and delete ranges can overflow `u32`, and
//! content a text field never holds (map entries, nested types, embeds) is
//! integrated into root types that then no longer encode. This module walks
//! the v1 layout once, in time linear in the input and without allocating in
//! proportion to any claimed count, and refuses anything outside the subset a
//! text document uses:
//!
//! - structs: GC and skip ranges, and items whose parent is a named root
//!   (a text field) or implied by an origin;
//! - item content: strings, deleted ranges and formatting marks (so rich-text
//!   replicas such as Quill bindings still sync);
//! - numbers: client ids within 53 bits, clocks and lengths within `u32`,
//!   every count no larger than the bytes left could hold, no trailing bytes.
//!
//! It sits at the start of the replica-sync path: command → this check →
//! [`super::held`] (can it apply whole?) → [`super::verify`] (apply with a
//! reload proof) → the live document.

use std::collections::HashSet;

use yrs::{ClientID, StateVector};

use super::error::TextError;
use super::limits::TextLimits;
use super::CLIENT_ID_MAX;

/// The part of a v1 struct's info byte that names its content kind.
const CONTENT_MASK: u8 = 0b0001_1111;
/// Info bit: the item has a left origin.
const HAS_ORIGIN: u8 = 0b1000_0000;
/// Info bit: the item has a right origin.
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
/// Info bit: the item is a map entry (it has a parent key).
const HAS_PARENT_SUB: u8 = 0b0010_0000;

/// Struct kind: a garbage-collected range.
const KIND_GC: u8 = 0;
/// Item content: a deleted range.
const CONTENT_DELETED: u8 = 1;
/// Item content: JSON values (legacy).
const CONTENT_JSON: u8 = 2;
/// Item content: binary data.
const CONTENT_BINARY: u8 = 3;
/// Item content: a string.
const CONTENT_STRING: u8 = 4;
/// Item content: an embedded JSON object.
const CONTENT_EMBED: u8 = 5;
/// Item content: a formatting mark (key and JSON value).
const CONTENT_FORMAT: u8 = 6;
/// Item content: a nested shared type.
const CONTENT_TYPE: u8 = 7;
/// Item content: binary-encoded values.
const CONTENT_ANY: u8 = 8;
/// Item content: a subdocument.
const CONTENT_DOC: u8 = 9;
/// Struct kind: a skipped range (a gap in a merged update).
const KIND_SKIP: u8 = 10;

/// The smallest encoding of one client group's header: struct count,
/// client and clock, one byte each.
const GROUP_BYTES_MIN: usize = 3;
/// The smallest encoding of one struct: an info byte and one more byte.
const STRUCT_BYTES_MIN: usize = 2;
/// The smallest encoding of a state vector entry or a delete range.
const PAIR_BYTES_MIN: usize = 2;

/// A contiguous run of one client's structs in an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockRange {
    /// The client that made the structs.
    pub client: u64,
    /// The clock of the first struct.
    pub start: u32,
    /// One past the clock of the last struct.
    pub end: u32,
}

/// What the check learned about a well-formed update: enough to tell,
/// without yrs, whether the document holds everything the update builds on
/// (see [`super::held`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct UpdateSummary {
    /// One entry per client group of structs.
    pub structs: Vec<ClockRange>,
    /// The skipped ranges (gaps) inside client groups.
    pub skips: Vec<ClockRange>,
    /// The origins (left and right) items are placed against.
    pub references: Vec<(u64, u32)>,
    /// One entry per delete range.
    pub deletes: Vec<ClockRange>,
}

/// Why a read failed: the offset and a reason. The caller turns it into the
/// right [`TextError`] variant for updates or state vectors.
struct Malformed {
    offset: usize,
    reason: &'static str,
}

/// A cursor over the input that never reads past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, Malformed> {
        Err(Malformed {
            offset: self.offset,
            reason,
        })
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        let Some(&byte) = self.bytes.get(self.offset) else {
            return self.fail("unexpected end of input");
        };
        self.offset += 1;
        Ok(byte)
    }

    /// Reads a lib0 variable-length unsigned integer, refusing values that
    /// do not fit in 64 bits (yrs would wrap them silently).
    fn var_u64(&mut self) -> Result<u64, Malformed> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if shift >= 64 || (shift > 0 && bits >> (64 - shift) != 0) {
                return self.fail("integer does not fit in 64 bits");
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn var_u32(&mut self) -> Result<u32, Malformed> {
        let start = self.offset;
        let value = self.var_u64()?;
        u32::try_from(value).map_err(|_| Malformed {
            offset: start,
            reason: "clock or length over 2^32 - 1",
        })
    }

    fn client(&mut self) -> Result<u64, Malformed> {
        let start = self.offset;
        let client = self.var_u64()?;
        if client > CLIENT_ID_MAX {
            return Err(Malformed {
                offset: start,
                reason: "client id over 2^53 - 1",
            });
        }
        Ok(client)
    }

    /// Reads a count of things that each take at least `bytes_each` bytes,
    /// refusing counts the remaining input could not hold.
    fn count(&mut self, bytes_each: usize) -> Result<usize, Malformed> {
        let start = self.offset;
        let count = self.var_u64()?;
        match usize::try_from(count) {
            Ok(count) if count <= self.remaining() / bytes_each => Ok(count),
            _ => Err(Malformed {
                offset: start,
                reason: "count larger than the input could hold",
            }),
        }
    }

    fn string(&mut self) -> Result<&'a str, Malformed> {
        let len = self.count(1)?;
        let start = self.offset;
        self.offset += len;
        std::str::from_utf8(&self.bytes[start..self.offset]).or_else(|_| {
            self.offset = start;
            self.fail("string is not valid UTF-8")
        })
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            self.fail("trailing bytes after the end")
        }
    }
}

/// Checks a field name against the naming rules: non-empty, and no longer
/// than the limit.
pub(crate) fn check_field_name(name: &str, limits: &TextLimits) -> Result<(), TextError> {
    if name.is_empty() {
        return Err(TextError::EmptyFieldName);
    }
    if name.len() > limits.field_name_bytes_max {
        return Err(TextError::FieldNameTooLong {
            bytes: name.len(),
            bytes_max: limits.field_name_bytes_max,
        });
    }
    Ok(())
}

/// Checks that `bytes` is a well-formed Yjs v1 update a text document may
/// merge, and summarises the clock ranges it covers.
pub(crate) fn check_update(bytes: &[u8], limits: &TextLimits) -> Result<UpdateSummary, TextError> {
    if bytes.len() > limits.update_bytes_max {
        return Err(TextError::UpdateTooLarge {
            bytes: bytes.len(),
            bytes_max: limits.update_bytes_max,
        });
    }
    let mut reader = Reader::new(bytes);
    let result = UpdateCheck {
        reader: &mut reader,
        limits,
    }
    .run();
    result.map_err(|error| match error {
        Fault::Malformed(Malformed { offset, reason }) => {
            TextError::MalformedUpdate { offset, reason }
        }
        Fault::Refused(error) => error,
    })
}

/// A failure inside the update walk: either the bytes are not v1, or they
/// are v1 that a text document refuses.
enum Fault {
    Malformed(Malformed),
    Refused(TextError),
}

impl From<Malformed> for Fault {
    fn from(malformed: Malformed) -> Self {
        Fault::Malformed(malformed)
    }
}

impl From<TextError> for Fault {
    fn from(error: TextError) -> Self {
        Fault::Refused(error)
    }
}

/// The walk over one update.
struct UpdateCheck<'r, 'a> {
    reader: &'r mut Reader<'a>,
    limits: &'r TextLimits,
}

impl UpdateCheck<'_, '_> {
    fn run(mut self) -> Result<UpdateSummary, Fault> {
        let mut summary = UpdateSummary::default();
        let groups = self.reader.count(GROUP_BYTES_MIN)?;
        self.check_clients(groups)?;
        let mut seen = HashSet::with_capacity(groups);
        for _ in 0..groups {
            let structs = self.reader.count(STRUCT_BYTES_MIN)?;
            let client = self.reader.client()?;
            if !seen.insert(client) {
                return Err(self.malformed("client listed twice"));
            }
            let start = self.reader.var_u32()?;
            let mut clock = start;
            for _ in 0..structs {
                let len = self.structure(client, clock, &mut summary)?;
                clock = clock
                    .checked_add(len)
                    .ok_or_else(|| self.malformed("clock passes 2^32 - 1"))?;
            }
            summary.structs.push(ClockRange {
                client,
                start,
                end: clock,
            });
        }
        self.delete_set(&mut summary)?;
        self.reader.end()?;
        Ok(summary)
    }

    fn malformed(&self, reason: &'static str) -> Fault {
        Fault::Malformed(Malformed {
            offset: self.reader.offset,
            reason,
        })
    }

    fn not_text(&self, content: &'static str) -> Fault {
        Fault::Refused(TextError::NotText {
            content,
            offset: self.reader.offset,
        })
    }

    fn check_clients(&self, entries: usize) -> Result<(), Fault> {
        if entries > self.limits.state_vector_entries_max {
            return Err(Fault::Refused(TextError::TooManyClients {
                what: "update",
                entries,
                entries_max: self.limits.state_vector_entries_max,
            }));
        }
        Ok(())
    }

    /// Checks one struct, made by `client` at `clock`, and returns how many
    /// clock ticks it covers.
    fn structure(
        &mut self,
        client: u64,
        clock: u32,
        summary: &mut UpdateSummary,
    ) -> Result<u32, Fault> {
        let info = self.reader.u8()?;
        match info {
            KIND_GC | KIND_SKIP => {
                let len = self.reader.var_u32()?;
                if len == 0 {
                    return Err(self.malformed("empty range"));
                }
                if info == KIND_SKIP {
                    let end = clock
                        .checked_add(len)
                        .ok_or_else(|| self.malformed("clock passes 2^32 - 1"))?;
                    summary.skips.push(ClockRange {
                        client,
                        start: clock,
                        end,
                    });
                }
                Ok(len)
            }
            _ => self.item(info, summary),
        }
    }

    fn item(&mut self, info: u8, summary: &mut UpdateSummary) -> Result<u32, Fault> {
        if info & HAS_ORIGIN != 0 {
            summary.references.push(self.id()?);
        }
        if info & HAS_RIGHT_ORIGIN != 0 {
            summary.references.push(self.id()?);
        }
        if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
            // No origin to inherit the parent from: it is written out.
            match self.reader.var_u64()? {
                1 => {
                    let name = self.reader.string()?;
                    check_field_name(name, self.limits)?;
                }
                0 => return Err(self.not_text("an item inside a nested type")),
                _ => return Err(self.malformed("unknown parent kind")),
            }
            if info & HAS_PARENT_SUB != 0 {
                return Err(self.not_text("a map entry"));
            }
        }
        self.content(info & CONTENT_MASK)
    }

    fn id(&mut self) -> Result<(u64, u32), Fault> {
        let client = self.reader.client()?;
        let clock = self.reader.var_u32()?;
        Ok((client, clock))
    }

    /// Checks an item's content and returns its length in clock ticks (a
    /// string counts UTF-16 code units, as Yjs does).
    fn content(&mut self, kind: u8) -> Result<u32, Fault> {
        match kind {
            CONTENT_DELETED => Ok(self.reader.var_u32()?),
            CONTENT_STRING => {
                let text = self.reader.string()?;
                // Bounded by the update size, which is far below 2^32.
                Ok(text.encode_utf16().count() as u32)
            }
            CONTENT_FORMAT => {
                self.reader.string()?;
                let value = self.reader.string()?;
                if serde_json::from_str::<serde::de::IgnoredAny>(value).is_err() {
                    return Err(self.malformed("formatting value is not JSON"));
                }
                Ok(1)
            }
            CONTENT_JSON | CONTENT_ANY => Err(self.not_text("JSON values")),
            CONTENT_BINARY => Err(self.not_text("binary data")),
            CONTENT_EMBED => Err(self.not_text("an embed")),
            CONTENT_TYPE => Err(self.not_text("a nested type")),
            CONTENT_DOC => Err(self.not_text("a subdocument")),
            _ => Err(self.malformed("unknown content kind")),
        }
    }

    fn delete_set(&mut self, summary: &mut UpdateSummary) -> Result<(), Fault> {
        let clients = self.reader.count(PAIR_BYTES_MIN)?;
        self.check_clients(clients)?;
        for _ in 0..clients {
            let client = self.reader.client()?;
            let ranges = self.reader.count(PAIR_BYTES_MIN)?;
            for _ in 0..ranges {
                let start = self.reader.var_u32()?;
                let len = self.reader.var_u32()?;
                if len == 0 {
                    return Err(self.malformed("empty delete range"));
                }
                let end = start
                    .checked_add(len)
                    .ok_or_else(|| self.malformed("delete range passes 2^32 - 1"))?;
                summary.deletes.push(ClockRange { client, start, end });
            }
        }
        Ok(())
    }
}

/// Checks that `bytes` is a well-formed Yjs v1 state vector within the
/// limits, and decodes it without trusting its entry count.
pub(crate) fn decode_state_vector(
    bytes: &[u8],
    limits: &TextLimits,
) -> Result<StateVector, TextError> {
    let mut reader = Reader::new(bytes);
    let malformed =
        |Malformed { offset, reason }| TextError::MalformedStateVector { offset, reason };
    let entries = reader.count(PAIR_BYTES_MIN).map_err(malformed)?;
    if entries > limits.state_vector_entries_max {
        return Err(TextError::TooManyClients {
            what: "state vector",
            entries,
            entries_max: limits.state_vector_entries_max,
        });
    }
    let mut pairs = Vec::with_capacity(entries);
    for _ in 0..entries {
        let client = reader.client().map_err(malformed)?;
        let clock = reader.var_u32().map_err(malformed)?;
        pairs.push((ClientID::new(client), clock));
    }
    reader.end().map_err(malformed)?;
    Ok(pairs.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> TextLimits {
        TextLimits::default()
    }

    #[test]
    fn huge_state_vector_count_is_refused_without_allocating() {
        // Five bytes claiming 2^29 entries: yrs alone would reserve for them.
        let bytes = [0x80, 0x80, 0x80, 0x80, 0x02];
        let error = decode_state_vector(&bytes, &limits()).unwrap_err();
        assert!(
            matches!(error, TextError::MalformedStateVector { offset: 0, .. }),
            "{error}"
        );
    }

    #[test]
    fn state_vector_over_the_entry_limit_is_refused() {
        let limits = TextLimits {
            state_vector_entries_max: 1,
            ..TextLimits::default()
        };
        let bytes = [2, 1, 1, 2, 2];
        assert_eq!(
            decode_state_vector(&bytes, &limits).unwrap_err(),
            TextError::TooManyClients {
                what: "state vector",
                entries: 2,
                entries_max: 1
            }
        );
    }

    #[test]
    fn state_vector_decodes_entries() {
        let sv = decode_state_vector(&[2, 7, 3, 9, 4], &limits()).unwrap();
        assert_eq!(sv.get(&ClientID::new(7)), 3);
        assert_eq!(sv.get(&ClientID::new(9)), 4);
    }

    #[test]
    fn state_vector_client_over_53_bits_is_refused() {
        // Client 2^53 takes eight varint bytes.
        let mut bytes = vec![1];
        let mut value: u64 = 1 << 53;
        while value >= 0x80 {
            bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        bytes.push(value as u8);
        bytes.push(0);
        let error = decode_state_vector(&bytes, &limits()).unwrap_err();
        assert!(
            matches!(error, TextError::MalformedStateVector { .. }),
            "{error}"
        );
    }

    #[test]
    fn varint_overflowing_64_bits_is_refused() {
        let bytes = [
            1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0,
        ];
        let error = decode_state_vector(&bytes, &limits()).unwrap_err();
        assert!(
            matches!(error, TextError::MalformedStateVector { .. }),
            "{error}"
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let error = decode_state_vector(&[0, 0], &limits()).unwrap_err();
        assert!(
            matches!(error, TextError::MalformedStateVector { offset: 1, .. }),
            "{error}"
        );
        let error = check_update(&[0, 0, 0], &limits()).unwrap_err();
        assert!(
            matches!(error, TextError::MalformedUpdate { offset: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn empty_update_is_well_formed() {
        let summary = check_update(&[0, 0], &limits()).unwrap();
        assert!(summary.structs.is_empty() && summary.deletes.is_empty());
    }

    #[test]
    fn update_over_the_size_limit_is_refused_unparsed() {
        let limits = TextLimits {
            update_bytes_max: 1,
            ..TextLimits::default()
        };
        assert_eq!(
            check_update(&[0, 0], &limits).unwrap_err(),
            TextError::UpdateTooLarge {
                bytes: 2,
                bytes_max: 1
            }
        );
    }

    /// One client group of one item (client 5, clock 0) with no origin,
    /// parent root `"t"` and the given info byte and content bytes.
    fn root_item(info: u8, content: &[u8]) -> Vec<u8> {
        let mut bytes = vec![1, 1, 5, 0, info, 1, 1, b't'];
        bytes.extend_from_slice(content);
        bytes.extend_from_slice(&[0]);
        bytes
    }

    #[test]
    fn string_item_is_text() {
        let update = root_item(CONTENT_STRING, &[2, b'h', b'i']);
        let summary = check_update(&update, &limits()).unwrap();
        assert_eq!(
            summary.structs,
            vec![ClockRange {
                client: 5,
                start: 0,
                end: 2
            }]
        );
    }

    #[test]
    fn astral_string_counts_utf16_units() {
        let mut content = vec![4];
        content.extend_from_slice("😀".as_bytes());
        let update = root_item(CONTENT_STRING, &content);
        assert_eq!(check_update(&update, &limits()).unwrap().structs[0].end, 2);
    }

    #[test]
    fn non_text_content_is_refused() {
        for (kind, content) in [
            (CONTENT_JSON, &[0, 2, b'{', b'}'][..]),
            (CONTENT_BINARY, &[1, 0][..]),
            (CONTENT_EMBED, &[2, b'{', b'}'][..]),
            (CONTENT_TYPE, &[0][..]),
            (CONTENT_ANY, &[1, 126][..]),
            (CONTENT_DOC, &[0][..]),
        ] {
            let error = check_update(&root_item(kind, content), &limits()).unwrap_err();
            assert!(
                matches!(error, TextError::NotText { .. }),
                "kind {kind}: {error}"
            );
        }
    }

    #[test]
    fn map_entry_is_refused() {
        let mut update = vec![1, 1, 5, 0, CONTENT_STRING | HAS_PARENT_SUB, 1, 1, b't'];
        update.extend_from_slice(&[1, b'k', 1, b'v', 0]);
        let error = check_update(&update, &limits()).unwrap_err();
        assert!(
            matches!(
                error,
                TextError::NotText {
                    content: "a map entry",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn item_inside_a_nested_type_is_refused() {
        let update = [1, 1, 5, 0, CONTENT_STRING, 0, 9, 0, 1, b'x', 0];
        let error = check_update(&update, &limits()).unwrap_err();
        assert!(
            matches!(
                error,
                TextError::NotText {
                    content: "an item inside a nested type",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn field_names_follow_the_naming_rules() {
        let empty_name = [1, 1, 5, 0, CONTENT_STRING, 1, 0, 1, b'x', 0];
        assert_eq!(
            check_update(&empty_name, &limits()).unwrap_err(),
            TextError::EmptyFieldName
        );
        let limits = TextLimits {
            field_name_bytes_max: 0,
            ..TextLimits::default()
        };
        assert!(matches!(
            check_update(&root_item(CONTENT_STRING, &[1, b'x']), &limits).unwrap_err(),
            TextError::FieldNameTooLong { .. }
        ));
    }

    #[test]
    fn clock_overflow_is_refused() {
        // A GC range of 2^32 - 1 starting at clock 1.
        let update = [1, 1, 5, 1, KIND_GC, 0xff, 0xff, 0xff, 0xff, 0x0f, 0];
        let error = check_update(&update, &limits()).unwrap_err();
        assert!(
            matches!(error, TextError::MalformedUpdate { .. }),
            "{error}"
        );
    }

    #[test]
    fn delete_range_overflow_and_empty_ranges_are_refused() {
        let overflow = [0, 1, 5, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            check_update(&overflow, &limits()).unwrap_err(),
            TextError::MalformedUpdate { .. }
        ));
        let empty = [0, 1, 5, 1, 3, 0];
        assert!(matches!(
            check_update(&empty, &limits()).unwrap_err(),
            TextError::MalformedUpdate { .. }
        ));
    }

    #[test]
    fn duplicate_client_groups_are_refused() {
        let update = [2, 1, 5, 0, KIND_GC, 1, 1, 5, 1, KIND_GC, 1, 0];
        assert!(matches!(
            check_update(&update, &limits()).unwrap_err(),
            TextError::MalformedUpdate {
                reason: "client listed twice",
                ..
            }
        ));
    }
}
