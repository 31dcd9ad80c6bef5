//! Path operations on a document's JSON tree: get, set, delete, push and
//! increment.
//!
//! These are the only code that walks or edits a document, so the rules live
//! in one place: key segments address map members, index segments address
//! array elements (or map members with the same text), writes create missing
//! intermediate maps, and no write ever goes through a scalar. Every
//! operation validates before it mutates, so an error leaves the tree exactly
//! as it was.
//!
//! The root passed in is a document root and so always a JSON object; paths
//! are never empty, because [`Path::parse`] rejects that.

use serde_json::{Map, Number, Value};

use crate::error::{JsonKind, StoreError};
use crate::path::{Path, PathError, Segment};

/// Returns the value at `path` under `root`, or `None` when nothing is there.
///
/// A path that runs into a scalar, past the end of an array, or uses a key on
/// an array simply finds nothing: reads never fail.
pub fn get<'a>(root: &'a Value, path: &Path) -> Option<&'a Value> {
    path.segments()
        .iter()
        .try_fold(root, |current, segment| match (current, segment) {
            (Value::Object(map), _) => map.get(segment.key().as_ref()),
            (Value::Array(items), Segment::Index(index)) => items.get(*index),
            _ => None,
        })
}

/// Stores `value` at `path`, replacing whatever was there.
///
/// Missing intermediate members are created as empty maps. On an array, an
/// index below the length replaces that element and an index equal to the
/// length appends; anything further is [`StoreError::IndexOutOfRange`].
/// Going through a scalar is [`StoreError::NotAContainer`] rather than a
/// silent overwrite of data the client may not mean to lose.
pub fn set(root: &mut Value, path: &Path, value: Value) -> Result<(), StoreError> {
    let last = last_segment(path)?;
    let parent = parent_for_write(root, path)?;
    put_member(parent, path, last, value)
}

/// Removes the member at `path`, reporting whether there was one.
///
/// Map members are removed keeping the order of the others; array elements
/// are removed shifting later elements down. A missing member is `Ok(false)`.
/// Going through a scalar, or using a key on an array, is a type error, as a
/// Redis command on a key of the wrong type is.
pub fn delete(root: &mut Value, path: &Path) -> Result<bool, StoreError> {
    let last = last_segment(path)?;
    let Some(parent) = parent_if_present(root, path)? else {
        return Ok(false);
    };
    match parent {
        Value::Object(map) => Ok(map.shift_remove(last.key().as_ref()).is_some()),
        Value::Array(items) => match last {
            Segment::Index(index) if *index < items.len() => {
                items.remove(*index);
                Ok(true)
            }
            Segment::Index(_) => Ok(false),
            Segment::Key(key) => Err(key_on_array(path, key)),
        },
        scalar => Err(not_a_container(path, parent_depth(path), scalar)),
    }
}

/// Appends `value` to the array at `path` and returns the array's new
/// length.
///
/// A missing member becomes a new one-element array (creating intermediate
/// maps as [`set`] does); an existing non-array is
/// [`StoreError::NotAnArray`].
pub fn push(root: &mut Value, path: &Path, value: Value) -> Result<usize, StoreError> {
    let last = last_segment(path)?;
    let parent = parent_for_write(root, path)?;
    match member_mut(parent, path, last)? {
        Some(Value::Array(items)) => {
            items.push(value);
            Ok(items.len())
        }
        Some(other) => Err(StoreError::NotAnArray {
            path: path.to_string(),
            found: JsonKind::of(other),
        }),
        None => {
            put_member(parent, path, last, Value::Array(vec![value]))?;
            Ok(1)
        }
    }
}

/// Adds `delta` to the number at `path` and returns the new number.
///
/// A missing member is set to `delta`. When both numbers fit in `i64` the sum
/// is exact integer arithmetic, and overflow is [`StoreError::Overflow`].
/// Otherwise (either is a float, or an integer above `i64::MAX`) the sum is
/// computed in `f64`, must be finite, and stays a float even when it is
/// integral: `1.5 + 1.5` is stored as `3.0`. A non-number is
/// [`StoreError::NotANumber`].
pub fn increment(root: &mut Value, path: &Path, delta: &Number) -> Result<Number, StoreError> {
    let last = last_segment(path)?;
    let parent = parent_for_write(root, path)?;
    match member_mut(parent, path, last)? {
        Some(Value::Number(current)) => {
            let sum = add_numbers(current, delta, path)?;
            *current = sum.clone();
            Ok(sum)
        }
        Some(other) => Err(StoreError::NotANumber {
            path: path.to_string(),
            found: JsonKind::of(other),
        }),
        None => {
            put_member(parent, path, last, Value::Number(delta.clone()))?;
            Ok(delta.clone())
        }
    }
}

/// Removes every element equal to `value` from the array at `path` and returns how many were
/// removed; a missing member removes nothing, a non-array is [`StoreError::NotAnArray`].
pub fn pull(root: &mut Value, path: &Path, value: &Value) -> Result<usize, StoreError> {
    let last = last_segment(path)?;
    let Some(parent) = parent_if_present(root, path)? else {
        return Ok(0);
    };
    match member_mut(parent, path, last) {
        Ok(Some(Value::Array(items))) => {
            let before = items.len();
            items.retain(|item| item != value);
            Ok(before - items.len())
        }
        Ok(Some(other)) => Err(StoreError::NotAnArray {
            path: path.to_string(),
            found: JsonKind::of(other),
        }),
        Ok(None) | Err(StoreError::IndexOutOfRange { .. }) => Ok(0),
        Err(error) => Err(error),
    }
}

/// Returns the value at a path of map keys (no array indexing), as merges address registers.
pub(crate) fn get_keys<'a>(root: &'a Value, keys: &str) -> Option<&'a Value> {
    keys.split('.')
        .try_fold(root, |current, key| current.as_object()?.get(key))
}

/// Stores `value` at a path of map keys, replacing anything that is not a map on the way by an
/// empty map. Merges use this total form: a replica's write must land whatever this replica
/// holds, and the same writes in any order must give the same tree.
pub(crate) fn force_set(root: &mut Value, keys: &str, value: Value) {
    let (parent, last) = split_last(keys);
    force_map(root, parent).insert(last.to_owned(), value);
}

/// Removes the member at a path of map keys, making every ancestor a map as [`force_set`]
/// does: a deletion at `a.x` says that `a` is a map without `x`, which must hold whichever of
/// the writes around it a replica received first.
pub(crate) fn force_delete(root: &mut Value, keys: &str) {
    let (parent, last) = split_last(keys);
    force_map(root, parent).shift_remove(last);
}

/// Splits dotted keys into the parent's keys (`None` for the root) and the last key.
fn split_last(keys: &str) -> (Option<&str>, &str) {
    match keys.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, keys),
    }
}

/// The map at a path of map keys, made (replacing whatever else is there) when missing.
fn force_map<'a>(root: &'a mut Value, keys: Option<&str>) -> &'a mut Map<String, Value> {
    let mut current = root;
    for key in keys.into_iter().flat_map(|keys| keys.split('.')) {
        current = as_map(current)
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    as_map(current)
}

/// The map `value` is, after replacing it by an empty map if it is something else.
fn as_map(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("the value was just made a map"),
    }
}

/// Adds two JSON numbers as [`increment`] documents.
pub(crate) fn add_numbers(
    current: &Number,
    delta: &Number,
    path: &Path,
) -> Result<Number, StoreError> {
    let overflow = || StoreError::Overflow {
        path: path.to_string(),
    };
    if let (Some(current), Some(delta)) = (current.as_i64(), delta.as_i64()) {
        return current
            .checked_add(delta)
            .map(Number::from)
            .ok_or_else(overflow);
    }
    match (current.as_f64(), delta.as_f64()) {
        // `from_f64` refuses NaN and infinities, which JSON cannot hold.
        (Some(current), Some(delta)) => Number::from_f64(current + delta).ok_or_else(overflow),
        _ => Err(overflow()),
    }
}

/// Returns the final segment of `path`.
///
/// Parsed paths are never empty; an empty one is reported as such rather
/// than trusted.
fn last_segment(path: &Path) -> Result<&Segment, StoreError> {
    path.segments()
        .last()
        .ok_or(StoreError::InvalidPath(PathError::Empty))
}

/// Returns how many segments lead to the parent of the path's target.
fn parent_depth(path: &Path) -> usize {
    path.segments().len().saturating_sub(1)
}

/// Walks to the parent of the path's target, creating missing intermediate
/// members as empty maps (or appending one to an array when the index is
/// its length).
///
/// Errors can only arise while walking existing values, before anything is
/// created: once one member is created, every later step is into a fresh,
/// empty map, which cannot fail. So an error here leaves the tree unchanged.
fn parent_for_write<'a>(root: &'a mut Value, path: &Path) -> Result<&'a mut Value, StoreError> {
    let mut current = root;
    for (depth, segment) in path.segments()[..parent_depth(path)].iter().enumerate() {
        current = match current {
            Value::Object(map) => map
                .entry(segment.key().into_owned())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => {
                let Segment::Index(index) = segment else {
                    return Err(key_on_array_at(path, depth, segment));
                };
                if *index == items.len() {
                    items.push(Value::Object(Map::new()));
                }
                let len = items.len();
                items
                    .get_mut(*index)
                    .ok_or_else(|| StoreError::IndexOutOfRange {
                        path: path.prefix_text(depth),
                        index: *index,
                        len,
                    })?
            }
            scalar => return Err(not_a_container(path, depth, scalar)),
        };
    }
    Ok(current)
}

/// Walks to the parent of the path's target without creating anything.
///
/// Returns `Ok(None)` when an intermediate member is missing; a scalar or a
/// key on an array on the way is still a type error.
fn parent_if_present<'a>(
    root: &'a mut Value,
    path: &Path,
) -> Result<Option<&'a mut Value>, StoreError> {
    let mut current = root;
    for (depth, segment) in path.segments()[..parent_depth(path)].iter().enumerate() {
        let next = match current {
            Value::Object(map) => map.get_mut(segment.key().as_ref()),
            Value::Array(items) => match segment {
                Segment::Index(index) => items.get_mut(*index),
                Segment::Key(_) => return Err(key_on_array_at(path, depth, segment)),
            },
            scalar => return Err(not_a_container(path, depth, scalar)),
        };
        match next {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// Looks up the target member `last` in its container `parent` for a write.
///
/// Returns `Ok(None)` when the member is missing but may be added: a map key,
/// or the index just past the end of an array.
fn member_mut<'a>(
    parent: &'a mut Value,
    path: &Path,
    last: &Segment,
) -> Result<Option<&'a mut Value>, StoreError> {
    match parent {
        Value::Object(map) => Ok(map.get_mut(last.key().as_ref())),
        Value::Array(items) => match last {
            Segment::Index(index) if *index <= items.len() => Ok(items.get_mut(*index)),
            Segment::Index(index) => Err(index_out_of_range(path, *index, items.len())),
            Segment::Key(key) => Err(key_on_array(path, key)),
        },
        scalar => Err(not_a_container(path, parent_depth(path), scalar)),
    }
}

/// Stores `value` as the target member `last` of its container `parent`,
/// replacing an existing member or adding a new one.
fn put_member(
    parent: &mut Value,
    path: &Path,
    last: &Segment,
    value: Value,
) -> Result<(), StoreError> {
    match parent {
        Value::Object(map) => {
            // On an existing key, `insert` keeps the key's position.
            map.insert(last.key().into_owned(), value);
            Ok(())
        }
        Value::Array(items) => match last {
            Segment::Index(index) if *index == items.len() => {
                items.push(value);
                Ok(())
            }
            Segment::Index(index) => match items.get_mut(*index) {
                Some(slot) => {
                    *slot = value;
                    Ok(())
                }
                None => Err(index_out_of_range(path, *index, items.len())),
            },
            Segment::Key(key) => Err(key_on_array(path, key)),
        },
        scalar => Err(not_a_container(path, parent_depth(path), scalar)),
    }
}

/// Builds the error for a walk through the scalar found after `depth`
/// segments.
fn not_a_container(path: &Path, depth: usize, scalar: &Value) -> StoreError {
    StoreError::NotAContainer {
        path: path.prefix_text(depth),
        found: JsonKind::of(scalar),
    }
}

/// Builds the error for a key used on the array that is the target's parent.
fn key_on_array(path: &Path, key: &str) -> StoreError {
    StoreError::KeyOnArray {
        path: path.prefix_text(parent_depth(path)),
        key: key.to_owned(),
    }
}

/// Builds the error for `segment` used on the array found after `depth`
/// segments.
fn key_on_array_at(path: &Path, depth: usize, segment: &Segment) -> StoreError {
    StoreError::KeyOnArray {
        path: path.prefix_text(depth),
        key: segment.key().into_owned(),
    }
}

/// Builds the error for an index past the end of the target's parent array.
fn index_out_of_range(path: &Path, index: usize, len: usize) -> StoreError {
    StoreError::IndexOutOfRange {
        path: path.prefix_text(parent_depth(path)),
        index,
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{number, path};
    use serde_json::json;

    #[test]
    fn get_follows_keys_and_indexes() {
        let root = json!({"a": {"b": [10, {"c": "deep"}]}});
        assert_eq!(get(&root, &path("a.b.0")), Some(&json!(10)));
        assert_eq!(get(&root, &path("a.b.1.c")), Some(&json!("deep")));
    }

    #[test]
    fn get_uses_index_segments_as_map_keys() {
        let root = json!({"items": {"0": "zero"}});
        assert_eq!(get(&root, &path("items.0")), Some(&json!("zero")));
    }

    #[test]
    fn get_finds_nothing_where_nothing_is() {
        let root = json!({"a": "text", "list": [1]});
        assert_eq!(get(&root, &path("missing")), None);
        assert_eq!(get(&root, &path("a.b")), None);
        assert_eq!(get(&root, &path("list.1")), None);
        assert_eq!(get(&root, &path("list.key")), None);
    }

    #[test]
    fn set_creates_missing_intermediate_maps() {
        let mut root = json!({});
        set(&mut root, &path("a.b.0"), json!(1)).expect("set succeeds");
        assert_eq!(root, json!({"a": {"b": {"0": 1}}}));
    }

    #[test]
    fn set_replaces_keeping_key_order() {
        let mut root = json!({"x": 1, "y": 2, "z": 3});
        set(&mut root, &path("y"), json!("new")).expect("set succeeds");
        assert_eq!(
            crate::json_text::to_text(&root),
            br#"{"x": 1, "y": "new", "z": 3}"#
        );
    }

    #[test]
    fn set_on_array_replaces_or_appends() {
        let mut root = json!({"list": [1, 2]});
        set(&mut root, &path("list.0"), json!(9)).expect("replace succeeds");
        set(&mut root, &path("list.2"), json!(3)).expect("append succeeds");
        assert_eq!(root, json!({"list": [9, 2, 3]}));
    }

    #[test]
    fn set_through_array_end_appends_a_map() {
        let mut root = json!({"list": [1]});
        set(&mut root, &path("list.1.name"), json!("n")).expect("set succeeds");
        assert_eq!(root, json!({"list": [1, {"name": "n"}]}));
    }

    #[test]
    fn set_past_array_end_is_out_of_range() {
        let mut root = json!({"list": [1, 2]});
        let before = root.clone();
        assert_eq!(
            set(&mut root, &path("list.5"), json!(0)),
            Err(StoreError::IndexOutOfRange {
                path: "list".into(),
                index: 5,
                len: 2
            })
        );
        assert_eq!(
            set(&mut root, &path("list.3.x"), json!(0)),
            Err(StoreError::IndexOutOfRange {
                path: "list".into(),
                index: 3,
                len: 2
            })
        );
        assert_eq!(root, before);
    }

    #[test]
    fn set_through_a_scalar_is_refused() {
        let mut root = json!({"a": {"b": "text"}});
        let before = root.clone();
        let error = set(&mut root, &path("a.b.c.d"), json!(1)).expect_err("scalar");
        assert_eq!(
            error,
            StoreError::NotAContainer {
                path: "a.b".into(),
                found: JsonKind::String
            }
        );
        assert_eq!(
            error.to_string(),
            "path 'a.b' goes through a string, not a map or array"
        );
        assert_eq!(root, before);
    }

    #[test]
    fn set_with_a_key_on_an_array_is_refused() {
        let mut root = json!({"list": [1]});
        let before = root.clone();
        assert_eq!(
            set(&mut root, &path("list.name"), json!(1)),
            Err(StoreError::KeyOnArray {
                path: "list".into(),
                key: "name".into()
            })
        );
        assert_eq!(
            set(&mut root, &path("list.name.x"), json!(1)),
            Err(StoreError::KeyOnArray {
                path: "list".into(),
                key: "name".into()
            })
        );
        assert_eq!(root, before);
    }

    #[test]
    fn set_may_replace_a_scalar_it_targets() {
        let mut root = json!({"a": "text"});
        set(&mut root, &path("a"), json!({"now": "a map"})).expect("set succeeds");
        assert_eq!(root, json!({"a": {"now": "a map"}}));
    }

    #[test]
    fn delete_removes_keys_preserving_order() {
        let mut root = json!({"x": 1, "y": 2, "z": 3});
        assert_eq!(delete(&mut root, &path("y")), Ok(true));
        assert_eq!(crate::json_text::to_text(&root), br#"{"x": 1, "z": 3}"#);
    }

    #[test]
    fn delete_shifts_array_elements() {
        let mut root = json!({"list": [1, 2, 3]});
        assert_eq!(delete(&mut root, &path("list.0")), Ok(true));
        assert_eq!(root, json!({"list": [2, 3]}));
    }

    #[test]
    fn delete_of_missing_path_is_false() {
        let mut root = json!({"a": {"b": 1}, "list": [1]});
        let before = root.clone();
        assert_eq!(delete(&mut root, &path("missing")), Ok(false));
        assert_eq!(delete(&mut root, &path("missing.deeper")), Ok(false));
        assert_eq!(delete(&mut root, &path("a.c")), Ok(false));
        assert_eq!(delete(&mut root, &path("list.1")), Ok(false));
        assert_eq!(delete(&mut root, &path("list.4.x")), Ok(false));
        assert_eq!(root, before);
    }

    #[test]
    fn delete_through_a_scalar_is_a_type_error() {
        let mut root = json!({"a": 5, "list": [1]});
        assert_eq!(
            delete(&mut root, &path("a.b")),
            Err(StoreError::NotAContainer {
                path: "a".into(),
                found: JsonKind::Number
            })
        );
        assert_eq!(
            delete(&mut root, &path("list.key")),
            Err(StoreError::KeyOnArray {
                path: "list".into(),
                key: "key".into()
            })
        );
    }

    #[test]
    fn push_appends_and_returns_length() {
        let mut root = json!({"tags": ["a"]});
        assert_eq!(push(&mut root, &path("tags"), json!("b")), Ok(2));
        assert_eq!(root, json!({"tags": ["a", "b"]}));
    }

    #[test]
    fn push_creates_a_missing_array() {
        let mut root = json!({});
        assert_eq!(push(&mut root, &path("a.tags"), json!(1)), Ok(1));
        assert_eq!(root, json!({"a": {"tags": [1]}}));
    }

    #[test]
    fn push_creates_an_array_at_array_end() {
        let mut root = json!({"grid": [[1]]});
        assert_eq!(push(&mut root, &path("grid.1"), json!(2)), Ok(1));
        assert_eq!(root, json!({"grid": [[1], [2]]}));
    }

    #[test]
    fn push_onto_non_array_is_refused() {
        let mut root = json!({"a": {"b": 1}});
        let before = root.clone();
        assert_eq!(
            push(&mut root, &path("a"), json!(1)),
            Err(StoreError::NotAnArray {
                path: "a".into(),
                found: JsonKind::Map
            })
        );
        assert_eq!(
            push(&mut root, &path("a.b.c"), json!(1)),
            Err(StoreError::NotAContainer {
                path: "a.b".into(),
                found: JsonKind::Number
            })
        );
        assert_eq!(root, before);
    }

    #[test]
    fn increment_sets_a_missing_number_to_delta() {
        let mut root = json!({});
        assert_eq!(
            increment(&mut root, &path("stats.views"), &Number::from(5)),
            Ok(Number::from(5))
        );
        assert_eq!(root, json!({"stats": {"views": 5}}));
    }

    #[test]
    fn increment_adds_integers_exactly() {
        let mut root = json!({"n": 9_007_199_254_740_993_i64});
        assert_eq!(
            increment(&mut root, &path("n"), &Number::from(-1)),
            Ok(Number::from(9_007_199_254_740_992_i64))
        );
        assert_eq!(root, json!({"n": 9_007_199_254_740_992_i64}));
    }

    #[test]
    fn increment_integer_overflow_is_refused() {
        let mut root = json!({"n": i64::MAX});
        let before = root.clone();
        assert_eq!(
            increment(&mut root, &path("n"), &Number::from(1)),
            Err(StoreError::Overflow { path: "n".into() })
        );
        assert_eq!(root, before);
    }

    #[test]
    fn increment_with_floats_stays_float() {
        let mut root = json!({"x": 1.5});
        let sum = increment(&mut root, &path("x"), &number(json!(1.5))).expect("adds");
        assert_eq!(sum, number(json!(3.0)));
        assert_eq!(crate::json_text::to_text(&root), br#"{"x": 3.0}"#);
    }

    #[test]
    fn increment_mixing_integer_and_float_is_float() {
        let mut root = json!({"x": 1});
        assert_eq!(
            increment(&mut root, &path("x"), &number(json!(0.25))),
            Ok(number(json!(1.25)))
        );
    }

    #[test]
    fn increment_float_overflow_is_refused() {
        let mut root = json!({"x": f64::MAX});
        let before = root.clone();
        assert_eq!(
            increment(&mut root, &path("x"), &number(json!(f64::MAX))),
            Err(StoreError::Overflow { path: "x".into() })
        );
        assert_eq!(root, before);
    }

    #[test]
    fn increment_of_non_number_is_refused() {
        let mut root = json!({"name": "Alice"});
        let before = root.clone();
        let error = increment(&mut root, &path("name"), &Number::from(1)).expect_err("string");
        assert_eq!(
            error,
            StoreError::NotANumber {
                path: "name".into(),
                found: JsonKind::String
            }
        );
        assert_eq!(
            error.to_string(),
            "path 'name' holds a string, not a number"
        );
        assert_eq!(root, before);
    }

    #[test]
    fn index_segment_on_map_is_a_key_for_writes() {
        let mut root = json!({"m": {}});
        set(&mut root, &path("m.3"), json!("three")).expect("set succeeds");
        assert_eq!(push(&mut root, &path("m.4"), json!(1)), Ok(1));
        assert_eq!(root, json!({"m": {"3": "three", "4": [1]}}));
        assert_eq!(delete(&mut root, &path("m.3")), Ok(true));
    }
}
