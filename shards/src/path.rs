//! Dotted paths into a document, such as `address.city` or `items.0`.
//!
//! Commands name the part of a document they read or write with a path. This
//! module owns the text syntax (dot-separated, non-empty segments), the size
//! limits that keep a client from making the server walk or allocate without
//! bound, and the classification of each segment as a key or an array index.

use compact_str::CompactString;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The most segments a path may have.
///
/// Every segment is one step of a tree walk and one level of nesting a write
/// may create, so this bounds both the work per command and document depth.
pub const PATH_DEPTH_MAX: usize = 64;

/// The longest path text accepted, in bytes.
///
/// Paths arrive from clients; this caps what parsing allocates and what an
/// error message may echo back.
pub const PATH_BYTES_MAX: usize = 1024;

/// Why a path's text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text was empty; a path must name at least one member.
    #[error("path is empty")]
    Empty,
    /// The text exceeded [`PATH_BYTES_MAX`].
    #[error("path is {bytes} bytes long, over the limit of {bytes_max} bytes")]
    TooLong {
        /// The length of the rejected text, in bytes.
        bytes: usize,
        /// The limit it exceeded, in bytes.
        bytes_max: usize,
    },
    /// The text had more than [`PATH_DEPTH_MAX`] segments.
    #[error("path '{path}' has {depth} segments, over the limit of {depth_max}")]
    TooDeep {
        /// The rejected path text.
        path: String,
        /// How many segments it had.
        depth: usize,
        /// The limit it exceeded, in segments.
        depth_max: usize,
    },
    /// The text had an empty segment: a leading, trailing or doubled dot.
    #[error("path '{path}' has an empty segment; segments are separated by single dots")]
    EmptySegment {
        /// The rejected path text.
        path: String,
    },
}

/// One step of a path.
///
/// A segment made only of ASCII digits in canonical form (no sign, no leading
/// zero unless it is `0`, and small enough for `usize`) is an [`Index`], so it
/// can address an array element. Applied to a map, an `Index` still acts as
/// the key with the same text, so `items.0` works on `{"items": {"0": 1}}`.
///
/// [`Index`]: Segment::Index
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A map key that cannot be an array index (most keys are short: held inline, parsing a
    /// path allocates only its list of segments).
    Key(CompactString),
    /// A canonical non-negative integer: an array index, or a map key.
    Index(usize),
}

impl Segment {
    /// Classifies one non-empty segment of path text.
    fn parse(text: &str) -> Segment {
        let canonical = text.bytes().all(|byte| byte.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        match text.parse::<usize>() {
            Ok(index) if canonical => Segment::Index(index),
            _ => Segment::Key(CompactString::from(text)),
        }
    }

    /// Returns the text of this segment when used as a map key.
    ///
    /// Index segments are canonical, so their decimal form is exactly the
    /// text they were parsed from.
    pub fn key(&self) -> Cow<'_, str> {
        match self {
            Segment::Key(key) => Cow::Borrowed(key.as_str()),
            Segment::Index(index) => Cow::Owned(index.to_string()),
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Key(key) => formatter.write_str(key),
            Segment::Index(index) => write!(formatter, "{index}"),
        }
    }
}

/// A parsed, validated path: at least one segment, within the size limits.
///
/// Commands parse a path once and hand it to the store, so the tree
/// operations never see malformed or oversized paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    segments: Vec<Segment>,
}

impl Path {
    /// Parses dotted path text such as `address.city` or `items.0`.
    ///
    /// Rejects empty text, empty segments (`a..b`, `.a`, `a.`), text longer
    /// than [`PATH_BYTES_MAX`] bytes and more than [`PATH_DEPTH_MAX`]
    /// segments, naming the path in the error where that is useful.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if text.len() > PATH_BYTES_MAX {
            return Err(PathError::TooLong {
                bytes: text.len(),
                bytes_max: PATH_BYTES_MAX,
            });
        }
        let depth = text.split('.').count();
        if depth > PATH_DEPTH_MAX {
            return Err(PathError::TooDeep {
                path: text.to_owned(),
                depth,
                depth_max: PATH_DEPTH_MAX,
            });
        }
        let mut segments = Vec::with_capacity(depth);
        for part in text.split('.') {
            if part.is_empty() {
                return Err(PathError::EmptySegment {
                    path: text.to_owned(),
                });
            }
            segments.push(Segment::parse(part));
        }
        Ok(Path { segments })
    }

    /// Returns the segments in order from the document root.
    ///
    /// The slice is never empty: parsing rejects empty paths.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Returns the dotted text of the first `count` segments.
    ///
    /// Error messages use this to name the exact prefix that went wrong, such
    /// as the scalar a write tried to go through.
    pub(crate) fn prefix_text(&self, count: usize) -> String {
        let mut text = String::new();
        for (position, segment) in self.segments.iter().take(count).enumerate() {
            if position > 0 {
                text.push('.');
            }
            text.push_str(&segment.key());
        }
        text
    }
}

impl fmt::Display for Path {
    /// Writes the dotted text the path was parsed from.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            if position > 0 {
                formatter.write_str(".")?;
            }
            write!(formatter, "{segment}")?;
        }
        Ok(())
    }
}

impl FromStr for Path {
    type Err = PathError;

    /// Same as [`Path::parse`], so paths work with `str::parse`.
    fn from_str(text: &str) -> Result<Path, PathError> {
        Path::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Segment {
        Segment::Key(CompactString::from(text))
    }

    #[test]
    fn parse_splits_on_dots() {
        let path = Path::parse("address.city").expect("valid path");
        assert_eq!(path.segments(), &[key("address"), key("city")]);
    }

    #[test]
    fn canonical_digits_are_indexes() {
        let path = Path::parse("items.0.tags.12").expect("valid path");
        assert_eq!(
            path.segments(),
            &[
                key("items"),
                Segment::Index(0),
                key("tags"),
                Segment::Index(12)
            ]
        );
    }

    #[test]
    fn non_canonical_numbers_are_keys() {
        for text in [
            "007",
            "00",
            "-1",
            "+1",
            "1e3",
            "1_5",
            "0x1f",
            "99999999999999999999999",
        ] {
            let path = Path::parse(text).expect("valid path");
            assert_eq!(path.segments(), &[key(text)], "segment {text}");
        }
    }

    #[test]
    fn display_gives_back_the_text() {
        for text in ["a", "a.b.c", "items.0", "x.007", "odd key.with space"] {
            let path = Path::parse(text).expect("valid path");
            assert_eq!(path.to_string(), text);
        }
    }

    #[test]
    fn empty_text_is_rejected() {
        assert_eq!(Path::parse(""), Err(PathError::Empty));
    }

    #[test]
    fn empty_segments_are_rejected_naming_the_path() {
        for text in ["a..b", ".a", "a.", "."] {
            let error = Path::parse(text).expect_err("empty segment");
            assert_eq!(
                error,
                PathError::EmptySegment {
                    path: text.to_owned()
                }
            );
            assert!(error.to_string().contains(&format!("'{text}'")));
        }
    }

    #[test]
    fn depth_limit_is_inclusive() {
        let at_limit = vec!["a"; PATH_DEPTH_MAX].join(".");
        assert_eq!(
            Path::parse(&at_limit).map(|path| path.segments().len()),
            Ok(PATH_DEPTH_MAX)
        );
        let over_limit = vec!["a"; PATH_DEPTH_MAX + 1].join(".");
        assert_eq!(
            Path::parse(&over_limit),
            Err(PathError::TooDeep {
                path: over_limit.clone(),
                depth: PATH_DEPTH_MAX + 1,
                depth_max: PATH_DEPTH_MAX,
            })
        );
    }

    #[test]
    fn length_limit_is_inclusive() {
        let at_limit = "a".repeat(PATH_BYTES_MAX);
        assert!(Path::parse(&at_limit).is_ok());
        let over_limit = "a".repeat(PATH_BYTES_MAX + 1);
        assert_eq!(
            Path::parse(&over_limit),
            Err(PathError::TooLong {
                bytes: PATH_BYTES_MAX + 1,
                bytes_max: PATH_BYTES_MAX,
            })
        );
    }

    #[test]
    fn prefix_text_names_leading_segments() {
        let path = Path::parse("a.0.b").expect("valid path");
        assert_eq!(path.prefix_text(0), "");
        assert_eq!(path.prefix_text(2), "a.0");
        assert_eq!(path.prefix_text(3), "a.0.b");
    }

    #[test]
    fn index_segment_key_is_its_text() {
        assert_eq!(Segment::Index(42).key(), "42");
        assert_eq!(key("name").key(), "name");
    }

    #[test]
    fn from_str_parses_like_parse() {
        let path: Path = "a.b".parse().expect("valid path");
        assert_eq!(Ok(path), Path::parse("a.b"));
    }
}
