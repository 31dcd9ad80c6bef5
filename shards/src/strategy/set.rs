//! `crdt-set` documents: named add-wins observed-remove sets of JSON values.
//!
//! Every add of a value is an element with a unique tag (the stamp of the add) and a position
//! (the stamp that orders it for display). Removing a value marks the elements this replica has
//! seen for it as removed; an add made concurrently elsewhere has a tag the remover never saw, so
//! it survives: adds win. Merging is the union of elements, with "removed" sticky, so it is
//! idempotent and commutative. Removed elements stay as tombstones, so that a replica that still
//! holds the element learns of its removal.
//!
//! Readers see each set as a JSON array of its distinct live values, ordered by position (first
//! add first), so `items.0` is the oldest item. Editing inside an element (`SET items.0.bought
//! true`) replaces that element by the edited value, which keeps the old element's position: the
//! list keeps its order, and a concurrent edit of the same element on another replica leaves both
//! edited values in the set (each replaced the element it saw).

use ahash::AHashSet;
use serde_json::Value;

use crate::error::{JsonKind, StoreError};
use crate::hlc::Stamp;
use crate::strategy::fields;

/// A document's sets, sorted by path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sets {
    sets: Vec<Set>,
}

/// One named set.
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    /// Dotted path of the set.
    pub path: Box<str>,
    /// Every element ever added, live or removed, sorted by `(position, tag)`.
    pub elements: Vec<Element>,
}

/// One add of a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The value added.
    pub value: Value,
    /// The add's unique stamp.
    pub tag: Stamp,
    /// Where it shows: its own tag, or the position of the element it replaced.
    pub position: Stamp,
    /// Whether a remove has seen it.
    pub removed: bool,
    /// The document version at which this element last changed here.
    pub version: u64,
}

impl Sets {
    /// A document with no sets.
    pub fn new() -> Sets {
        Sets::default()
    }

    /// The sets, sorted by path.
    pub fn sets(&self) -> &[Set] {
        &self.sets
    }

    /// The index of the set at `path`.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.sets.binary_search_by(|set| (*set.path).cmp(path)).ok()
    }

    /// The set at `index`.
    pub fn set_mut(&mut self, index: usize) -> &mut Set {
        &mut self.sets[index]
    }

    /// The set at `index`.
    pub fn set(&self, index: usize) -> &Set {
        &self.sets[index]
    }

    /// The set at `path` for a live add, created when missing and no other set is in the way.
    pub fn set_for_write(&mut self, path: &str) -> Result<&mut Set, StoreError> {
        let index = match self.sets.binary_search_by(|set| (*set.path).cmp(path)) {
            Ok(index) => index,
            Err(index) => {
                let paths = self.sets.iter().map(|set| &*set.path);
                fields::check_clash(paths, path, JsonKind::Array)?;
                self.insert_set(index, path)
            }
        };
        Ok(&mut self.sets[index])
    }

    /// Finds the set that holds `path` or an element above it: the set's index and the path's
    /// segments after the set's path.
    pub fn locate<'p>(&self, path: &'p str) -> Option<(usize, Option<&'p str>)> {
        let mut end = path.len();
        loop {
            if let Some(index) = self.find(&path[..end]) {
                let rest = (end < path.len()).then(|| &path[end + 1..]);
                return Some((index, rest));
            }
            end = path[..end].rfind('.')?;
        }
    }

    /// Merges one element from a replica; returns whether anything changed.
    pub fn merge(&mut self, path: &str, element: Element) -> bool {
        let index = self
            .sets
            .binary_search_by(|set| (*set.path).cmp(path))
            .unwrap_or_else(|index| self.insert_set(index, path));
        self.sets[index].merge(element)
    }

    /// Inserts an empty set at `index` (where the search said it goes) and returns the index.
    fn insert_set(&mut self, index: usize, path: &str) -> usize {
        fields::insert_tight(&mut self.sets, index, Set::new(path));
        index
    }

    /// The document as readers see it.
    pub fn render(&self) -> Value {
        fields::render(
            self.sets
                .iter()
                .map(|set| (&*set.path, Value::Array(set.values()))),
        )
    }
}

impl Set {
    fn new(path: &str) -> Set {
        Set {
            path: path.into(),
            elements: Vec::new(),
        }
    }

    /// The distinct live values, in display order.
    pub fn values(&self) -> Vec<Value> {
        self.live()
            .map(|(_, element)| element.value.clone())
            .collect()
    }

    /// The live elements that show, in display order, with their indexes in `elements`: the
    /// first element of each distinct value.
    fn live(&self) -> impl Iterator<Item = (usize, &Element)> {
        let mut seen = AHashSet::new();
        self.elements
            .iter()
            .enumerate()
            .filter(|(_, element)| !element.removed)
            .filter(move |(_, element)| seen.insert(crate::json_text::to_text(&element.value)))
    }

    /// How many distinct values are live.
    pub fn len(&self) -> usize {
        self.live().count()
    }

    /// Whether no value is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value shown at display position `index`.
    pub fn get(&self, index: usize) -> Option<&Value> {
        self.live().nth(index).map(|(_, element)| &element.value)
    }

    /// Adds `value` with the new tag `tag`. Elements already holding the value are replaced by
    /// the new one, which takes the earliest of their positions, so re-adding keeps the order.
    pub fn add(&mut self, value: Value, tag: Stamp, version: u64) {
        let position = self.remove_value(&value, version).unwrap_or(tag);
        self.insert(Element {
            value,
            tag,
            position,
            removed: false,
            version,
        });
    }

    /// Removes every live element holding `value`; returns the earliest position among them.
    pub fn remove_value(&mut self, value: &Value, version: u64) -> Option<Stamp> {
        let mut earliest: Option<Stamp> = None;
        for element in self
            .elements
            .iter_mut()
            .filter(|element| !element.removed && element.value == *value)
        {
            element.removed = true;
            element.version = version;
            earliest = Some(earliest.map_or(element.position, |e| e.min(element.position)));
        }
        earliest
    }

    /// Removes every live element; returns whether there was one.
    pub fn clear(&mut self, version: u64) -> bool {
        let mut any = false;
        for element in self.elements.iter_mut().filter(|element| !element.removed) {
            element.removed = true;
            element.version = version;
            any = true;
        }
        any
    }

    /// Replaces the value shown at display position `index` by `value` (an edit of that
    /// element), keeping its position; `false` when there is no such element.
    pub fn replace(&mut self, index: usize, value: Value, tag: Stamp, version: u64) -> bool {
        let Some(old) = self.get(index).cloned() else {
            return false;
        };
        let position = self.remove_value(&old, version).unwrap_or(tag);
        let kept = self.remove_value(&value, version);
        self.insert(Element {
            value,
            tag,
            position: kept.map_or(position, |kept| kept.min(position)),
            removed: false,
            version,
        });
        true
    }

    /// Merges one element; returns whether anything changed.
    fn merge(&mut self, element: Element) -> bool {
        match self.elements.iter_mut().find(|e| e.tag == element.tag) {
            Some(existing) if element.removed && !existing.removed => {
                existing.removed = true;
                existing.version = element.version;
                true
            }
            Some(_) => false,
            None => {
                self.insert(element);
                true
            }
        }
    }

    /// Inserts keeping `elements` sorted by `(position, tag)`.
    fn insert(&mut self, element: Element) {
        let key = (element.position, element.tag);
        let index = self.elements.partition_point(|e| (e.position, e.tag) < key);
        fields::insert_tight(&mut self.elements, index, element);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::stamp;
    use serde_json::json;

    fn element(value: Value, tag: Stamp, removed: bool) -> Element {
        Element {
            value,
            tag,
            position: tag,
            removed,
            version: 1,
        }
    }

    #[test]
    fn values_show_once_in_add_order() {
        let mut sets = Sets::new();
        let set = sets.set_for_write("items").expect("set");
        set.add(json!("milk"), stamp(1, 1), 1);
        set.add(json!("bread"), stamp(2, 1), 2);
        set.add(json!("milk"), stamp(3, 1), 3);
        assert_eq!(sets.render(), json!({"items": ["milk", "bread"]}));
    }

    #[test]
    fn a_concurrent_add_survives_a_remove() {
        let mut here = Sets::new();
        here.merge("s", element(json!("x"), stamp(1, 1), false));
        let set = here.set_mut(0);
        set.remove_value(&json!("x"), 2);
        // Another replica added "x" again without seeing the remove.
        here.merge("s", element(json!("x"), stamp(2, 2), false));
        assert_eq!(here.render(), json!({"s": ["x"]}));
    }

    #[test]
    fn a_remove_reaches_replicas_that_hold_the_element() {
        let mut here = Sets::new();
        here.merge("s", element(json!("x"), stamp(1, 1), false));
        assert!(here.merge("s", element(json!("x"), stamp(1, 1), true)));
        assert!(!here.merge("s", element(json!("x"), stamp(1, 1), false)));
        assert_eq!(here.render(), json!({"s": []}));
    }

    #[test]
    fn an_edit_keeps_the_position() {
        let mut sets = Sets::new();
        let set = sets.set_for_write("items").expect("set");
        set.add(json!({"name": "Milk"}), stamp(1, 1), 1);
        set.add(json!({"name": "Bread"}), stamp(2, 1), 2);
        assert!(set.replace(0, json!({"name": "Milk", "bought": true}), stamp(3, 1), 3));
        assert_eq!(
            sets.render(),
            json!({"items": [{"name": "Milk", "bought": true}, {"name": "Bread"}]})
        );
    }

    #[test]
    fn locate_finds_the_set_above_a_path() {
        let mut sets = Sets::new();
        sets.set_for_write("a.items").expect("set");
        assert_eq!(sets.locate("a.items"), Some((0, None)));
        assert_eq!(sets.locate("a.items.0.x"), Some((0, Some("0.x"))));
        assert_eq!(sets.locate("a"), None);
        assert_eq!(sets.locate("b.c"), None);
    }
}
