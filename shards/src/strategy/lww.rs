//! `lww` documents, and the register engine `crdt-map` shares: a JSON tree whose written paths
//! are last-writer-wins registers stamped by a hybrid logical clock.
//!
//! Live writes (SET, PUSH, INC, DEL, PULL from a connected client) edit the tree exactly as the
//! path operations in [`crate::value`] do, then stamp the *register* they wrote: the path written,
//! cut short at the first array on the way, because an array is one value (its indexes mean
//! different elements on different replicas). A register's content is whatever the tree holds at
//! its path; a register whose path is absent is a deletion (a tombstone).
//!
//! Merges (registers handed in by a replica) follow one rule, which is what makes them converge:
//! the tree is as if every register had been written in stamp order, each write replacing the
//! subtree at its path. So a register is ignored when its path or an ancestor holds a later stamp;
//! otherwise it replaces its subtree, and the later-stamped registers below it are put back on
//! top. Merge writes go through [`value::force_set`], which turns anything that is not a map on
//! the way into one, so every merge lands whatever the replica holds.
//!
//! Each register also records the document version at which it last changed here, so a replica
//! can ask for what changed since the version it last saw (see [`crate::sync`]).

use serde_json::{Number, Value};

use crate::error::StoreError;
use crate::hlc::Stamp;
use crate::path::Path;
use crate::value;

/// One written path: when and by whom it was last written, and when that reached this replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Register {
    /// Dotted map keys from the root; never passes through an array.
    pub path: Box<str>,
    /// The write that holds the register now.
    pub stamp: Stamp,
    /// The document version at which this replica took that write.
    pub version: u64,
}

/// A JSON tree with a stamped register for every written path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Registers {
    /// The document as clients read it; always an object.
    root: Value,
    /// Every live register and tombstone, sorted by path so that the registers below a path
    /// form one contiguous run.
    registers: Vec<Register>,
}

/// A register as a merge hands it in: its path, stamp, and content (`None` deletes).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterWrite {
    /// Dotted map keys.
    pub path: String,
    /// The write's stamp.
    pub stamp: Stamp,
    /// The value written, or `None` for a deletion.
    pub value: Option<Value>,
}

impl Registers {
    /// An empty document.
    pub fn new() -> Registers {
        Registers {
            root: Value::Object(serde_json::Map::new()),
            registers: Vec::new(),
        }
    }

    /// A document from its tree and its registers (sorted by path), as [`super::compact`]
    /// decodes them.
    pub(crate) fn from_parts(root: Value, registers: Vec<Register>) -> Registers {
        Registers { root, registers }
    }

    /// The document's tree.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The tree, for strategies that edit it before stamping (see [`super::map`]).
    pub(crate) fn root_mut(&mut self) -> &mut Value {
        &mut self.root
    }

    /// The registers, sorted by path.
    pub fn registers(&self) -> &[Register] {
        &self.registers
    }

    /// The content of a register: the subtree at its path, `None` for a tombstone.
    pub fn content(&self, path: &str) -> Option<&Value> {
        value::get_keys(&self.root, path)
    }

    /// SET: stores `value` at `path` as one register, as [`value::set`] does.
    pub fn set(
        &mut self,
        path: &Path,
        value: Value,
        stamp: Stamp,
        version: u64,
    ) -> Result<(), StoreError> {
        value::set(&mut self.root, path, value)?;
        self.record_live(path, stamp, version);
        Ok(())
    }

    /// DEL of a path: removes it as [`value::delete`] does; whether something was there.
    pub fn delete(&mut self, path: &Path, stamp: Stamp, version: u64) -> Result<bool, StoreError> {
        if !value::delete(&mut self.root, path)? {
            return Ok(false);
        }
        self.record_live(path, stamp, version);
        Ok(true)
    }

    /// PUSH: appends to the array at `path` as [`value::push`] does; returns the new length.
    pub fn push(
        &mut self,
        path: &Path,
        value: Value,
        stamp: Stamp,
        version: u64,
    ) -> Result<usize, StoreError> {
        let len = value::push(&mut self.root, path, value)?;
        self.record_live(path, stamp, version);
        Ok(len)
    }

    /// PULL: removes every element equal to `value` from the array at `path`; returns how many
    /// went.
    pub fn pull(
        &mut self,
        path: &Path,
        value: &Value,
        stamp: Stamp,
        version: u64,
    ) -> Result<usize, StoreError> {
        let removed = value::pull(&mut self.root, path, value)?;
        if removed > 0 {
            self.record_live(path, stamp, version);
        }
        Ok(removed)
    }

    /// INC: adds `delta` to the number at `path` as [`value::increment`] does.
    pub fn increment(
        &mut self,
        path: &Path,
        delta: &Number,
        stamp: Stamp,
        version: u64,
    ) -> Result<Number, StoreError> {
        let sum = value::increment(&mut self.root, path, delta)?;
        self.record_live(path, stamp, version);
        Ok(sum)
    }

    /// Stamps the register a live write at `path` changed, and returns its path.
    ///
    /// The write has already been applied; the register is the path cut at the first array.
    pub(crate) fn record_live(&mut self, path: &Path, stamp: Stamp, version: u64) {
        let depth = register_depth(&self.root, path);
        self.record(&path.prefix_text(depth), stamp, version);
    }

    /// Stamps `path` and forgets the registers below it, which its write has replaced.
    pub(crate) fn record(&mut self, path: &str, stamp: Stamp, version: u64) {
        let below = self.descendants(path);
        if !below.is_empty() {
            self.registers.drain(below);
        }
        match self.find(path) {
            Ok(index) => {
                let register = &mut self.registers[index];
                register.stamp = stamp;
                register.version = version;
            }
            Err(index) => {
                let register = Register {
                    path: path.into(),
                    stamp,
                    version,
                };
                self.registers.insert(index, register);
            }
        }
    }

    /// Merges one register from a replica; returns whether the document changed.
    pub fn merge(&mut self, write: RegisterWrite, version: u64) -> bool {
        if self.dominated(&write.path, &write.stamp) {
            return false;
        }
        let below = self.descendants(&write.path);
        let mut later: Vec<(Register, Option<Value>)> = self.registers[below.clone()]
            .iter()
            .filter(|register| register.stamp > write.stamp)
            .map(|register| (register.clone(), self.content(&register.path).cloned()))
            .collect();
        later.sort_by_key(|(register, _)| register.stamp);
        self.registers.drain(below);
        // A deletion that later writes below it outlive leaves their map where it was: removing
        // it and letting them make it again would move the member to the end of its map, and a
        // replay of the persisted update (which holds the map's content) would not.
        let content = match write.value {
            None if !later.is_empty() => Some(Value::Object(serde_json::Map::new())),
            value => value,
        };
        put(&mut self.root, &write.path, content);
        self.record(&write.path, write.stamp, version);
        for (register, content) in later {
            put(&mut self.root, &register.path, content);
            self.record(&register.path, register.stamp, register.version);
        }
        true
    }

    /// Whether a write at `path` stamped `stamp` is hidden by a register at the same path or an
    /// ancestor holding a stamp at least as late.
    fn dominated(&self, path: &str, stamp: &Stamp) -> bool {
        let mut end = 0;
        loop {
            let prefix_end = path[end..].find('.').map_or(path.len(), |i| end + i);
            let prefix = &path[..prefix_end];
            if let Ok(index) = self.find(prefix) {
                if self.registers[index].stamp >= *stamp {
                    return true;
                }
            }
            if prefix_end == path.len() {
                return false;
            }
            end = prefix_end + 1;
        }
    }

    /// The index of the register at `path`, or where it would go.
    fn find(&self, path: &str) -> Result<usize, usize> {
        self.registers
            .binary_search_by(|register| (*register.path).cmp(path))
    }

    /// The index range of the registers strictly below `path` (`path.` followed by anything).
    fn descendants(&self, path: &str) -> std::ops::Range<usize> {
        // Everything below `path` sorts at or after `path.`, and before any other key.
        let start = self.registers.partition_point(|register| {
            let dotted = path.bytes().chain(std::iter::once(b'.'));
            register.path.bytes().cmp(dotted).is_lt()
        });
        let len = self.registers[start..]
            .iter()
            .take_while(|register| is_below(&*register.path, path))
            .count();
        start..start + len
    }
}

/// Whether `path` is strictly below `ancestor` in the key tree.
pub(crate) fn is_below(path: impl AsRef<[u8]>, ancestor: impl AsRef<[u8]>) -> bool {
    let (path, ancestor) = (path.as_ref(), ancestor.as_ref());
    path.len() > ancestor.len() && path.starts_with(ancestor) && path[ancestor.len()] == b'.'
}

/// Writes a merge's content at `path`: the value, or a deletion.
fn put(root: &mut Value, path: &str, content: Option<Value>) {
    match content {
        Some(content) => value::force_set(root, path, content),
        None => value::force_delete(root, path),
    }
}

/// How many segments of `path` name the register a live write changed: up to and including the
/// first array met on the way, or the whole path.
fn register_depth(root: &Value, path: &Path) -> usize {
    let segments = path.segments();
    let mut current = root;
    for (depth, segment) in segments[..segments.len() - 1].iter().enumerate() {
        let next = match current {
            Value::Object(map) => map.get(segment.key().as_ref()),
            _ => None,
        };
        match next {
            Some(Value::Array(_)) => return depth + 1,
            Some(next) => current = next,
            None => break,
        }
    }
    segments.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{path, stamp};
    use serde_json::json;

    fn write(path: &str, ms: u64, replica: u64, value: Option<Value>) -> RegisterWrite {
        RegisterWrite {
            path: path.into(),
            stamp: stamp(ms, replica),
            value,
        }
    }

    #[test]
    fn a_deletion_that_later_writes_below_outlive_keeps_its_member_in_place() {
        let mut doc = Registers::new();
        doc.merge(write("list", 10, 1, Some(json!({"q": 2}))), 1);
        doc.merge(write("alpha", 11, 1, Some(json!(-3))), 2);
        doc.merge(write("list.0.k", 30, 1, Some(json!(0.5))), 3);
        // A replica deleted `list` after the first write and before the last.
        assert!(doc.merge(write("list", 20, 2, None), 4));
        assert_eq!(
            serde_json::to_string(doc.root()).expect("serializes"),
            r#"{"list":{"0":{"k":0.5}},"alpha":-3}"#
        );
        // With nothing written below it later, a deletion removes the member.
        assert!(doc.merge(write("alpha", 40, 2, None), 5));
        assert_eq!(doc.root(), &json!({"list": {"0": {"k": 0.5}}}));
    }

    fn paths(registers: &Registers) -> Vec<&str> {
        registers.registers().iter().map(|r| &*r.path).collect()
    }

    #[test]
    fn live_writes_stamp_the_path_written() {
        let mut doc = Registers::new();
        doc.set(&path("a.b"), json!(1), stamp(1, 1), 1)
            .expect("set");
        doc.set(&path("c"), json!(2), stamp(2, 1), 2).expect("set");
        assert_eq!(doc.root(), &json!({"a": {"b": 1}, "c": 2}));
        assert_eq!(paths(&doc), ["a.b", "c"]);
    }

    #[test]
    fn a_write_forgets_the_registers_it_replaced() {
        let mut doc = Registers::new();
        doc.set(&path("a.b"), json!(1), stamp(1, 1), 1)
            .expect("set");
        doc.set(&path("a.c"), json!(1), stamp(2, 1), 2)
            .expect("set");
        doc.set(&path("a"), json!(5), stamp(3, 1), 3).expect("set");
        assert_eq!(paths(&doc), ["a"]);
    }

    #[test]
    fn writes_inside_an_array_stamp_the_array() {
        let mut doc = Registers::new();
        doc.push(&path("items"), json!({"n": 1}), stamp(1, 1), 1)
            .expect("push");
        doc.set(&path("items.0.bought"), json!(true), stamp(2, 1), 2)
            .expect("set");
        assert_eq!(paths(&doc), ["items"]);
    }

    #[test]
    fn later_stamp_wins_whatever_the_arrival_order() {
        let first = write("x", 10, 1, Some(json!("old")));
        let second = write("x", 20, 2, Some(json!("new")));
        let mut a = Registers::new();
        a.merge(first.clone(), 1);
        a.merge(second.clone(), 2);
        let mut b = Registers::new();
        b.merge(second, 1);
        b.merge(first, 2);
        assert_eq!(a.root(), &json!({"x": "new"}));
        assert_eq!(b.root(), a.root());
    }

    #[test]
    fn equal_times_resolve_by_replica_id() {
        let mut doc = Registers::new();
        doc.merge(write("x", 10, 9, Some(json!("nine"))), 1);
        doc.merge(write("x", 10, 3, Some(json!("three"))), 2);
        assert_eq!(doc.root(), &json!({"x": "nine"}));
    }

    #[test]
    fn an_older_ancestor_write_keeps_later_writes_below_it() {
        let mut doc = Registers::new();
        doc.merge(write("a.b", 20, 1, Some(json!(1))), 1);
        doc.merge(write("a", 10, 2, Some(json!({"x": 0}))), 2);
        assert_eq!(doc.root(), &json!({"a": {"x": 0, "b": 1}}));
        doc.merge(write("a", 30, 2, Some(json!({"y": 0}))), 3);
        assert_eq!(doc.root(), &json!({"a": {"y": 0}}));
        assert_eq!(paths(&doc), ["a"]);
    }

    #[test]
    fn an_older_write_below_a_newer_ancestor_is_ignored() {
        let mut doc = Registers::new();
        doc.merge(write("a", 30, 1, Some(json!(5))), 1);
        assert!(!doc.merge(write("a.b", 20, 2, Some(json!(1))), 2));
        assert_eq!(doc.root(), &json!({"a": 5}));
    }

    #[test]
    fn a_newer_write_below_a_scalar_replaces_it_by_a_map() {
        let mut doc = Registers::new();
        doc.merge(write("a", 10, 1, Some(json!(5))), 1);
        doc.merge(write("a.b", 20, 2, Some(json!(1))), 2);
        assert_eq!(doc.root(), &json!({"a": {"b": 1}}));
    }

    #[test]
    fn tombstones_win_and_lose_by_stamp() {
        let mut doc = Registers::new();
        doc.merge(write("x", 10, 1, Some(json!(1))), 1);
        doc.merge(write("x", 20, 2, None), 2);
        assert_eq!(doc.root(), &json!({}));
        assert!(!doc.merge(write("x", 15, 3, Some(json!(2))), 3));
        doc.merge(write("x", 25, 3, Some(json!(3))), 4);
        assert_eq!(doc.root(), &json!({"x": 3}));
    }

    #[test]
    fn merging_the_same_register_twice_changes_nothing() {
        let mut doc = Registers::new();
        assert!(doc.merge(write("x", 10, 1, Some(json!(1))), 1));
        assert!(!doc.merge(write("x", 10, 1, Some(json!(1))), 2));
    }

    #[test]
    fn pull_removes_equal_elements() {
        let mut doc = Registers::new();
        for value in [json!(1), json!(2), json!(1)] {
            doc.push(&path("l"), value, stamp(1, 1), 1).expect("push");
        }
        let removed = doc
            .pull(&path("l"), &json!(1), stamp(2, 1), 2)
            .expect("pull");
        assert_eq!((removed, paths(&doc)), (2, vec!["l"]));
        assert_eq!(doc.root(), &json!({"l": [2]}));
    }
}
