//! What `crdt-counter` and `crdt-set` documents share: named fields at dotted paths, each holding
//! one CRDT, shown to readers as one nested JSON object.
//!
//! Live writes never let one field sit inside another (`a` and `a.b`), but replicas that never
//! saw each other's fields can create such a pair; the document then shows both fields written in
//! path order, so the deeper one replaces the shallower one on display, the same on every replica.

use serde_json::{Map, Value};

use crate::error::{JsonKind, StoreError};
use crate::strategy::lww::is_below;
use crate::value;

/// Inserts into a vector that grows one slot at a time while it is short, since most documents
/// hold one or two fields and `Vec`'s first allocation is four slots.
pub fn insert_tight<T>(items: &mut Vec<T>, index: usize, item: T) {
    if items.len() < 8 {
        items.reserve_exact(1);
    }
    items.insert(index, item);
}

/// Builds the document readers see from `(path, value)` pairs sorted by path.
pub fn render<'a>(fields: impl Iterator<Item = (&'a str, Value)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (path, shown) in fields {
        value::force_set(&mut root, path, shown);
    }
    root
}

/// Refuses a live write that would put a field at `path` inside another field, or around one.
pub fn check_clash<'a>(
    mut paths: impl Iterator<Item = &'a str>,
    path: &str,
    found: JsonKind,
) -> Result<(), StoreError> {
    match paths.find(|other| is_below(path, other) || is_below(other, path)) {
        None => Ok(()),
        Some(other) if is_below(path, other) => Err(StoreError::NotAContainer {
            path: other.to_owned(),
            found,
        }),
        Some(_) => Err(StoreError::Clash {
            path: path.to_owned(),
        }),
    }
}
