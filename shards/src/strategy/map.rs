//! `crdt-map` documents: nested maps that merge key by key.
//!
//! A `crdt-map` document is the same register tree as `lww` (see [`super::lww`]), with one
//! difference: a map written with SET is not one register but one register per key, recursively.
//! Setting `units.soldier1` to `{"position": {"x": 1}, "hp": 9}` stamps `units.soldier1.position.x`
//! and `units.soldier1.hp`, and deletes (with the same stamp) the keys this replica had there
//! that the new map lacks. A concurrent write by another replica to a key this replica had not
//! seen, say `units.soldier1.mana`, is therefore kept, where `lww` would let the whole map win.
//! Arrays, scalars and empty maps are leaves: each is one register.

use serde_json::Value;

use crate::error::StoreError;
use crate::hlc::Stamp;
use crate::path::Path;
use crate::strategy::lww::Registers;
use crate::value;

/// SET on a `crdt-map` document.
///
/// The tree ends up exactly as `lww`'s SET leaves it (every key this replica holds under the
/// path is either rewritten or deleted); only the stamps differ.
pub fn set(
    doc: &mut Registers,
    path: &Path,
    new: Value,
    stamp: Stamp,
    version: u64,
) -> Result<(), StoreError> {
    let mut leaves = Vec::new();
    let whole = path.segments().len();
    let old = value::get(doc.root(), path);
    let through_array = crosses_array(doc.root(), path);
    if !through_array {
        key_registers(path.prefix_text(whole), old, &new, &mut leaves);
    }
    if through_array || leaves.is_empty() {
        return doc.set(path, new, stamp, version);
    }
    value::set(doc.root_mut(), path, new)?;
    for leaf in &leaves {
        doc.record(leaf, stamp, version);
    }
    Ok(())
}

/// Lists the registers a SET of `new` over `old` at `prefix` writes: a leaf for every key that is
/// not a non-empty map, and a deletion for every key of `old` that `new` lacks.
fn key_registers(prefix: String, old: Option<&Value>, new: &Value, out: &mut Vec<String>) {
    let Some(new_map) = new.as_object().filter(|map| !map.is_empty()) else {
        out.push(prefix);
        return;
    };
    let old_map = old.and_then(Value::as_object);
    if let Some(old_map) = old_map {
        for key in old_map.keys().filter(|key| !new_map.contains_key(*key)) {
            out.push(format!("{prefix}.{key}"));
        }
    }
    for (key, member) in new_map {
        let old_member = old_map.and_then(|map| map.get(key));
        key_registers(format!("{prefix}.{key}"), old_member, member, out);
    }
}

/// Whether a live write at `path` would go through an array, where paths address elements by
/// position and the whole array is one register.
fn crosses_array(root: &Value, path: &Path) -> bool {
    let segments = path.segments();
    let mut current = root;
    for segment in &segments[..segments.len() - 1] {
        match current {
            Value::Object(map) => match map.get(segment.key().as_ref()) {
                Some(next) => current = next,
                None => return false,
            },
            Value::Array(_) => return true,
            _ => return false,
        }
    }
    current.is_array()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::lww::RegisterWrite;
    use crate::test_util::{path, stamp};
    use serde_json::json;

    #[test]
    fn a_map_is_stamped_key_by_key() {
        let mut doc = Registers::new();
        let tower = json!({"x": 100, "y": 200, "type": "tower", "owner": "player-a"});
        set(
            &mut doc,
            &path("buildings.tower1"),
            tower.clone(),
            stamp(1, 1),
            1,
        )
        .expect("set");
        assert_eq!(doc.registers().len(), 4);
        assert_eq!(doc.root(), &json!({"buildings": {"tower1": tower}}));
    }

    #[test]
    fn keys_the_new_map_lacks_are_deleted() {
        let mut doc = Registers::new();
        set(
            &mut doc,
            &path("u"),
            json!({"a": 1, "b": 2}),
            stamp(1, 1),
            1,
        )
        .expect("set");
        set(&mut doc, &path("u"), json!({"b": 3}), stamp(2, 1), 2).expect("set");
        assert_eq!(doc.root(), &json!({"u": {"b": 3}}));
        let tombstone = doc.registers().iter().find(|r| &*r.path == "u.a");
        assert_eq!(tombstone.map(|r| r.stamp), Some(stamp(2, 1)));
    }

    #[test]
    fn concurrent_writes_to_different_keys_both_survive() {
        let mut server = Registers::new();
        set(
            &mut server,
            &path("units.soldier1.position"),
            json!({"x": 150, "y": 180}),
            stamp(10, 1),
            1,
        )
        .expect("set");
        // Another replica, unaware of the position, wrote the unit's health later.
        server.merge(
            RegisterWrite {
                path: "units.soldier1.hp".into(),
                stamp: stamp(5, 2),
                value: Some(json!(9)),
            },
            2,
        );
        assert_eq!(
            server.root(),
            &json!({"units": {"soldier1": {"position": {"x": 150, "y": 180}, "hp": 9}}})
        );
    }

    #[test]
    fn an_empty_map_is_a_leaf() {
        let mut doc = Registers::new();
        set(&mut doc, &path("m"), json!({}), stamp(1, 1), 1).expect("set");
        assert_eq!(doc.registers().len(), 1);
        assert_eq!(doc.root(), &json!({"m": {}}));
    }

    #[test]
    fn a_write_inside_an_array_is_one_register() {
        let mut doc = Registers::new();
        doc.push(&path("l"), json!({"a": 1}), stamp(1, 1), 1)
            .expect("push");
        set(&mut doc, &path("l.0"), json!({"a": 2}), stamp(2, 1), 2).expect("set");
        assert_eq!(&*doc.registers()[0].path, "l");
        assert_eq!(doc.root(), &json!({"l": [{"a": 2}]}));
    }
}
