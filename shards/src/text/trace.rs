//! Recorded editing traces: loading them and replaying them into a
//! [`TextDoc`].
//!
//! The traces are those of the public editing-traces collection by Joseph
//! Gentle (CC BY 4.0; see `shards/tests/data/README.md`): JSON of the shape
//! `{startContent, endContent, txns: [{patches: [[pos, deleted, inserted]],
//! agent?, parents?}]}`, positions and lengths in Unicode code points.
//! Correctness tests replay them and compare with `endContent`; the native
//! and through-the-server text benchmarks replay them for speed. This module
//! only parses JSON bytes, so callers decompress the `.json.gz` files
//! themselves and the engine crate needs no compression dependency.

use serde_json::Value;

use super::edit::TextEdit;
use super::error::TextError;
use super::TextDoc;

/// One patch: delete `delete` code points at `position`, then insert
/// `insert` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// Where the patch applies, in code points.
    pub position: usize,
    /// How many code points it deletes.
    pub delete: usize,
    /// The text it inserts.
    pub insert: String,
}

/// One transaction of a trace: patches one agent made at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceTxn {
    /// The author, for concurrent traces (0 in sequential ones).
    pub agent: usize,
    /// Indexes of the transactions this one was made on top of, for
    /// concurrent traces (empty in sequential ones).
    pub parents: Vec<usize>,
    /// The patches, applied in order.
    pub patches: Vec<Patch>,
}

/// A whole trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The text before the first transaction.
    pub start_content: String,
    /// The text after the last one: the correctness check.
    pub end_content: String,
    /// The transactions, in an order where parents come first.
    pub txns: Vec<TraceTxn>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The bytes are not JSON.
    #[error("trace is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON does not have the trace shape.
    #[error("trace JSON has no valid {0}")]
    Shape(&'static str),
}

impl Trace {
    /// Parses a trace from its (decompressed) JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Trace, TraceError> {
        let json: Value = serde_json::from_slice(bytes)?;
        let text = |key: &'static str| {
            json.get(key)
                .map_or(Some(""), Value::as_str)
                .map(str::to_owned)
                .ok_or(TraceError::Shape(key))
        };
        let txns = parse_array(&json, "txns", parse_txn)?;
        Ok(Trace {
            start_content: text("startContent")?,
            end_content: text("endContent")?,
            txns,
        })
    }

    /// Every patch of the trace, in order.
    pub fn patches(&self) -> impl Iterator<Item = &Patch> {
        self.txns.iter().flat_map(|txn| &txn.patches)
    }

    /// Every patch as a splice of `field`, ready for
    /// [`TextDoc::apply_batch`].
    pub fn edits(&self, field: &str) -> Vec<TextEdit> {
        self.patches().map(|patch| patch.edit(field)).collect()
    }
}

impl Patch {
    /// This patch as a splice of `field`.
    pub fn edit(&self, field: &str) -> TextEdit {
        TextEdit::Splice {
            field: field.to_owned(),
            index: self.position,
            delete: self.delete,
            insert: self.insert.clone(),
        }
    }
}

/// Reads a non-negative integer that fits in `usize`.
fn index(value: &Value, what: &'static str) -> Result<usize, TraceError> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(TraceError::Shape(what))
}

/// Parses the array under `key` of `json` with `parse`.
fn parse_array<T>(
    json: &Value,
    key: &'static str,
    parse: impl Fn(&Value) -> Result<T, TraceError>,
) -> Result<Vec<T>, TraceError> {
    json.get(key)
        .and_then(Value::as_array)
        .ok_or(TraceError::Shape(key))?
        .iter()
        .map(parse)
        .collect()
}

fn parse_txn(json: &Value) -> Result<TraceTxn, TraceError> {
    let patches = parse_array(json, "patches", parse_patch)?;
    let agent = json.get("agent").map_or(Ok(0), |a| index(a, "agent"))?;
    let parents = match json.get("parents") {
        None => Vec::new(),
        Some(parents) => parents
            .as_array()
            .ok_or(TraceError::Shape("parents"))?
            .iter()
            .map(|p| index(p, "parents"))
            .collect::<Result<_, _>>()?,
    };
    Ok(TraceTxn {
        agent,
        parents,
        patches,
    })
}

fn parse_patch(json: &Value) -> Result<Patch, TraceError> {
    let shape = TraceError::Shape("patch [pos, deleted, inserted]");
    let Some([position, delete, insert]) = json.as_array().map(Vec::as_slice) else {
        return Err(shape);
    };
    Ok(Patch {
        position: index(position, "patch position")?,
        delete: index(delete, "patch deleted count")?,
        insert: insert.as_str().ok_or(shape)?.to_owned(),
    })
}

/// Applies `edits` to `doc` with `edits_per_transaction` edits per yrs
/// transaction (1 for one transaction per edit), stopping at the first
/// refused edit. Returns the Yjs updates produced, one per transaction.
pub fn replay(
    doc: &mut TextDoc,
    edits: &[TextEdit],
    edits_per_transaction: usize,
) -> Result<Vec<Vec<u8>>, TextError> {
    let mut updates = Vec::with_capacity(edits.len() / edits_per_transaction.max(1) + 1);
    for chunk in edits.chunks(edits_per_transaction.max(1)) {
        let (results, update) = doc.apply_batch(chunk);
        for result in results {
            result?;
        }
        updates.push(update);
    }
    Ok(updates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::TextLimits;

    #[test]
    fn parses_sequential_and_concurrent_shapes() {
        let json = br#"{"startContent":"","endContent":"hi!",
            "txns":[{"patches":[[0,0,"hi"]]},
                    {"agent":1,"parents":[0],"patches":[[2,0,"!"]]}]}"#;
        let trace = Trace::from_json(json).unwrap();
        assert_eq!(trace.end_content, "hi!");
        assert_eq!(trace.txns[1].agent, 1);
        assert_eq!(trace.txns[1].parents, vec![0]);
        let mut doc = TextDoc::new(1, TextLimits::default()).unwrap();
        let updates = replay(&mut doc, &trace.edits("t"), 1).unwrap();
        assert_eq!(updates.len(), 2);
        assert_eq!(doc.field("t").unwrap(), trace.end_content);
    }

    #[test]
    fn malformed_traces_are_errors() {
        for json in [
            &b"[]"[..],
            br#"{"txns":[{"patches":[[0,0]]}]}"#,
            br#"{"txns":[{"patches":[[-1,0,"x"]]}]}"#,
            br#"{"txns":[{"patches":[],"parents":"x"}]}"#,
        ] {
            assert!(Trace::from_json(json).is_err());
        }
    }
}
