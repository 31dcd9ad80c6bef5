//! `crdt-counter` documents: numeric fields that are PN-counters, so concurrent increments from
//! any number of replicas all count.
//!
//! Every field keeps, per replica, the sum of that replica's positive increments (`inc`) and of
//! its negative ones (`dec`); both only grow. Merging takes the larger of each, so merges are
//! idempotent and commutative, and the value shown is the sum of `inc - dec` over replicas in
//! replica-id order (the order matters for fractional deltas, whose float sums must come out
//! bit-for-bit the same on every replica). Integers are added exactly as `i64`; a fractional
//! delta, or a sum past the `i64` range, makes the field a float.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::error::{JsonKind, StoreError};
use crate::path::Path;
use crate::strategy::fields;
use crate::value::add_numbers;

/// A document's counter fields, sorted by path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counters {
    fields: Vec<Field>,
}

/// One counter field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Dotted path of the field.
    pub path: Box<str>,
    /// One entry per replica that has incremented it, sorted by replica id.
    pub entries: Vec<Entry>,
}

/// One replica's share of a counter field.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The replica.
    pub replica: u64,
    /// The sum of its positive increments; never negative, only grows.
    pub inc: Number,
    /// The sum of the magnitudes of its negative increments; never negative, only grows.
    pub dec: Number,
    /// The document version at which this entry last changed here.
    pub version: u64,
}

impl Counters {
    /// A document with no fields.
    pub fn new() -> Counters {
        Counters::default()
    }

    /// The fields, sorted by path.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// INC: adds `delta` to the field at `path` as `replica`; returns the new value.
    pub fn increment(
        &mut self,
        path: &Path,
        delta: &Number,
        replica: u64,
        version: u64,
    ) -> Result<Number, StoreError> {
        let text = path.to_string();
        let index = self.field_for_write(&text)?;
        let field = &mut self.fields[index];
        let entry = field.entry(replica, version);
        if is_zero(delta) {
            // Adding nothing leaves the entry (and the version at which it last changed) as it
            // was, as a merge of the same totals would: a replayed update then rebuilds it
            // exactly.
            return Ok(field.value());
        }
        let (inc, dec) = if is_negative(delta) {
            (
                entry.inc.clone(),
                add_numbers(&entry.dec, &negate(delta), path)?,
            )
        } else {
            (add_numbers(&entry.inc, delta, path)?, entry.dec.clone())
        };
        entry.inc = inc;
        entry.dec = dec;
        entry.version = version;
        Ok(self.fields[index].value())
    }

    /// SET of a number: moves the field to `target` as this replica sees it, by incrementing it
    /// by the difference; increments made concurrently elsewhere still count on top.
    pub fn set(
        &mut self,
        path: &Path,
        target: &Value,
        replica: u64,
        version: u64,
    ) -> Result<Number, StoreError> {
        let Value::Number(target) = target else {
            return Err(StoreError::NotANumber {
                path: path.to_string(),
                found: JsonKind::of(target),
            });
        };
        let current = self
            .value(&path.to_string())
            .unwrap_or_else(|| Number::from(0));
        let delta = add_numbers(target, &negate(&current), path)?;
        self.increment(path, &delta, replica, version)
    }

    /// The value of the field at `path`, if there is one.
    pub fn value(&self, path: &str) -> Option<Number> {
        let index = self.find(path).ok()?;
        Some(self.fields[index].value())
    }

    /// Merges one replica's totals for one field; returns whether anything grew.
    ///
    /// `inc` and `dec` must not be negative ([`crate::sync`] checks that).
    pub fn merge(
        &mut self,
        path: &str,
        replica: u64,
        inc: Number,
        dec: Number,
        version: u64,
    ) -> bool {
        let index = self
            .find(path)
            .unwrap_or_else(|index| self.insert_field(index, path));
        let entry = self.fields[index].entry(replica, version);
        let mut grew = false;
        if compare(&inc, &entry.inc) == Ordering::Greater {
            entry.inc = inc;
            grew = true;
        }
        if compare(&dec, &entry.dec) == Ordering::Greater {
            entry.dec = dec;
            grew = true;
        }
        if grew {
            entry.version = version;
        }
        grew
    }

    /// The document as readers see it.
    pub fn render(&self) -> Value {
        fields::render(
            self.fields
                .iter()
                .map(|field| (&*field.path, Value::Number(field.value()))),
        )
    }

    /// The index of the field at `path` for a live write, creating it when no other field is in
    /// the way.
    fn field_for_write(&mut self, path: &str) -> Result<usize, StoreError> {
        match self.find(path) {
            Ok(index) => Ok(index),
            Err(index) => {
                let paths = self.fields.iter().map(|field| &*field.path);
                fields::check_clash(paths, path, JsonKind::Number)?;
                Ok(self.insert_field(index, path))
            }
        }
    }

    /// Inserts an empty field at `index` (where `find` said it goes) and returns the index.
    fn insert_field(&mut self, index: usize, path: &str) -> usize {
        let field = Field {
            path: path.into(),
            entries: Vec::new(),
        };
        fields::insert_tight(&mut self.fields, index, field);
        index
    }

    fn find(&self, path: &str) -> Result<usize, usize> {
        self.fields
            .binary_search_by(|field| (*field.path).cmp(path))
    }
}

impl Field {
    /// The entry of `replica`, made (at zero) when missing.
    fn entry(&mut self, replica: u64, version: u64) -> &mut Entry {
        let position = match self.entries.binary_search_by_key(&replica, |e| e.replica) {
            Ok(position) => position,
            Err(position) => {
                let zero = Entry::zero(replica, version);
                fields::insert_tight(&mut self.entries, position, zero);
                position
            }
        };
        &mut self.entries[position]
    }

    /// The field's value: the sum over replicas, in replica order, of `inc - dec`.
    pub fn value(&self) -> Number {
        let mut total = Number::from(0);
        for entry in &self.entries {
            total = add_or_float(&total, &entry.inc);
            total = add_or_float(&total, &negate(&entry.dec));
        }
        total
    }
}

impl Entry {
    fn zero(replica: u64, version: u64) -> Entry {
        Entry {
            replica,
            inc: Number::from(0),
            dec: Number::from(0),
            version,
        }
    }
}

/// Whether a JSON number is zero (`0`, `0.0` or `-0.0`).
fn is_zero(number: &Number) -> bool {
    number.as_f64() == Some(0.0)
}

/// Whether a JSON number is below zero.
pub fn is_negative(number: &Number) -> bool {
    match number.as_i64() {
        Some(integer) => integer < 0,
        None => number.as_f64().is_some_and(|float| float < 0.0),
    }
}

/// The number with its sign flipped (a float when the integer has no negation in `i64`).
fn negate(number: &Number) -> Number {
    if let Some(negated) = number.as_i64().and_then(i64::checked_neg) {
        return Number::from(negated);
    }
    let float = number.as_f64().unwrap_or(0.0);
    Number::from_f64(-float).unwrap_or_else(|| Number::from(0))
}

/// Adds exactly when both fit `i64` and the sum does, else in `f64`.
fn add_or_float(a: &Number, b: &Number) -> Number {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        if let Some(sum) = x.checked_add(y) {
            return Number::from(sum);
        }
    }
    let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
    Number::from_f64(sum).unwrap_or_else(|| Number::from(0))
}

/// Orders two JSON numbers by value.
pub fn compare(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{number, path};
    use serde_json::json;

    #[test]
    fn increments_from_every_replica_count() {
        let mut a = Counters::new();
        a.increment(&path("views"), &Number::from(2), 1, 1)
            .expect("inc");
        let mut b = Counters::new();
        b.increment(&path("views"), &Number::from(3), 2, 1)
            .expect("inc");
        b.increment(&path("views"), &Number::from(-1), 2, 2)
            .expect("inc");
        for entry in &b.fields()[0].entries {
            a.merge(
                "views",
                entry.replica,
                entry.inc.clone(),
                entry.dec.clone(),
                3,
            );
        }
        assert_eq!(a.render(), json!({"views": 4}));
    }

    #[test]
    fn merging_twice_counts_once() {
        let mut doc = Counters::new();
        assert!(doc.merge("n", 7, Number::from(5), Number::from(0), 1));
        assert!(!doc.merge("n", 7, Number::from(5), Number::from(0), 2));
        assert!(!doc.merge("n", 7, Number::from(4), Number::from(0), 3));
        assert_eq!(doc.value("n"), Some(Number::from(5)));
    }

    #[test]
    fn fractional_deltas_make_a_float() {
        let mut doc = Counters::new();
        doc.increment(&path("t"), &Number::from(1), 1, 1)
            .expect("inc");
        let value = doc
            .increment(&path("t"), &number(json!(-0.25)), 1, 2)
            .expect("inc");
        assert_eq!(value, number(json!(0.75)));
    }

    #[test]
    fn set_moves_the_counter_by_the_difference() {
        let mut doc = Counters::new();
        doc.increment(&path("stock"), &Number::from(10), 1, 1)
            .expect("inc");
        assert_eq!(
            doc.set(&path("stock"), &json!(4), 1, 2),
            Ok(Number::from(4))
        );
        assert!(doc.set(&path("stock"), &json!("x"), 1, 3).is_err());
    }

    #[test]
    fn a_counter_cannot_sit_inside_another() {
        let mut doc = Counters::new();
        doc.increment(&path("a"), &Number::from(1), 1, 1)
            .expect("inc");
        assert!(doc.increment(&path("a.b"), &Number::from(1), 1, 2).is_err());
        doc.increment(&path("c.d"), &Number::from(1), 1, 3)
            .expect("inc");
        assert!(doc.increment(&path("c"), &Number::from(1), 1, 4).is_err());
        assert_eq!(doc.render(), json!({"a": 1, "c": {"d": 1}}));
    }
}
