//! Batch rows: the updates, creates, snapshots and removes of one commit stored as one row of
//! the log.
//!
//! A row costs SQLite a statement run, its bound values, a cell in the log's B-tree and a few
//! bytes of header; a pipelined write's change, and a small document's snapshot, is often
//! smaller than that. So a commit appends each run of consecutive update, create, snapshot and
//! remove records as rows of kind [`row::BATCH`], each holding up to [`ROW_BYTES_MAX`] bytes of
//! records one after the other, in order, and its `version` how many. The rewrite markers keep
//! their own rows, since rewrites find them by `seq` (see [`super::rewrite`]). Snapshots joined
//! batches in format 3: a rewrite snapshots every live document, most of them small, and a row
//! each cost about 7% more server CPU per write over a run of rewrites.
//!
//! One record in a batch, integers little-endian:
//!
//! | field | bytes | present |
//! |---|---|---|
//! | kind | 1: 0 update, 1 create, 2 snapshot, 3 remove (the row kinds) | always |
//! | id | 4 (length) + UTF-8 | always |
//! | version | 8 | update, create, snapshot |
//! | strategy | 1 (length) + its name | create, snapshot |
//! | expiry | 1: 0 none, 1 followed by 8: milliseconds since the Unix epoch | create, snapshot |
//! | change | 4 (length) + the update's bytes, or the snapshot's state | update, create, snapshot |

use super::shard_file::row;

/// The most bytes of records one batch row holds, unless a single record is larger. Four such
/// rows fill one 4 KiB SQLite page: a row just over half a page would leave the rest of its
/// page empty, and each commit would write and checkpoint about a page more (measured: 27% more
/// bytes per pipelined write with unbounded rows of 2 KB).
pub const ROW_BYTES_MAX: usize = 960;
use crate::strategy::Strategy;

/// One record read back from a log row, whether a row of its own or part of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its row kind: [`row::UPDATE`], [`row::CREATE`], [`row::SNAPSHOT`] or [`row::REMOVE`].
    pub kind: i64,
    /// The document.
    pub id: &'a str,
    /// The version the change made (0 for a remove).
    pub version: u64,
    /// The strategy's name, for a create or snapshot.
    pub strategy: Option<&'a str>,
    /// When the document expires, for a create or snapshot.
    pub expires_at_ms: Option<u64>,
    /// The change or state.
    pub bytes: &'a [u8],
}

/// Whether a record of this entry's kind is stored in a batch row rather than a row of its own.
pub fn batched(entry: &Entry<'_>) -> bool {
    matches!(
        entry.kind,
        row::UPDATE | row::CREATE | row::SNAPSHOT | row::REMOVE
    )
}

/// Whether records of this kind carry a strategy and an expiry.
fn describes_document(kind: i64) -> bool {
    matches!(kind, row::CREATE | row::SNAPSHOT)
}

/// Appends a record (one that is [`batched`]) to a batch's bytes.
pub fn push(entry: &Entry<'_>, out: &mut Vec<u8>) {
    debug_assert!(
        batched(entry),
        "only updates, creates, snapshots and removes are batched"
    );
    out.push(entry.kind as u8);
    push_id(entry.id, out);
    if entry.kind == row::REMOVE {
        return;
    }
    out.extend_from_slice(&entry.version.to_le_bytes());
    if describes_document(entry.kind) {
        let name = entry.strategy.unwrap_or_default();
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        match entry.expires_at_ms {
            Some(ms) => {
                out.push(1);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            None => out.push(0),
        }
    }
    out.extend_from_slice(&(entry.bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(entry.bytes);
}

fn push_id(id: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(id.len() as u32).to_le_bytes());
    out.extend_from_slice(id.as_bytes());
}

/// The records of a batch row's bytes, in order; an `Err` names what is damaged, and ends them.
pub fn entries(bytes: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, String>> {
    let mut reader = Reader { bytes, at: 0 };
    std::iter::from_fn(move || {
        if reader.at >= reader.bytes.len() {
            return None;
        }
        let entry = reader.entry();
        if entry.is_err() {
            reader.at = reader.bytes.len();
        }
        Some(entry)
    })
}

/// A cursor over a batch's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn entry(&mut self) -> Result<Entry<'a>, String> {
        let kind = i64::from(self.take(1)?[0]);
        let id_len = self.u32()? as usize;
        let id = std::str::from_utf8(self.take(id_len)?)
            .map_err(|_| "a document id that is not UTF-8".to_string())?;
        let mut entry = Entry {
            kind,
            id,
            version: 0,
            strategy: None,
            expires_at_ms: None,
            bytes: &[],
        };
        match kind {
            row::REMOVE => return Ok(entry),
            row::UPDATE | row::CREATE | row::SNAPSHOT => {}
            other => return Err(format!("a record of unknown kind {other}")),
        }
        entry.version = self.u64()?;
        if describes_document(kind) {
            let name_len = usize::from(self.take(1)?[0]);
            let name = std::str::from_utf8(self.take(name_len)?)
                .map_err(|_| "a strategy name that is not UTF-8".to_string())?;
            Strategy::parse(name).map_err(|e| e.to_string())?;
            entry.strategy = Some(name);
            entry.expires_at_ms = match self.take(1)?[0] {
                0 => None,
                1 => Some(self.u64()?),
                other => return Err(format!("an expiry flag of {other}")),
            };
        }
        let len = self.u32()? as usize;
        entry.bytes = self.take(len)?;
        Ok(entry)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| "a record cut short".to_string())?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("four bytes")))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::shard_file::entry_of;
    use crate::storage::{Created, Record};

    fn update(id: &str, version: u64, bytes: &[u8], created: Option<Created>) -> Record {
        Record::Update {
            id: id.into(),
            version,
            bytes: bytes.to_vec(),
            created,
        }
    }

    #[test]
    fn records_come_back_in_order_with_every_field() {
        let created = Created {
            strategy: Strategy::CrdtCounter,
            expires_at_ms: Some(1_700_000_000_123),
        };
        let records = [
            update("user:1", 1, b"{\"a\":1}", Some(created)),
            update("user:1", 2, b"{\"a\":2}", None),
            Record::Remove {
                id: "user:1".into(),
            },
            update(
                "s",
                1,
                b"",
                Some(Created {
                    strategy: Strategy::Lww,
                    expires_at_ms: None,
                }),
            ),
        ];
        let mut bytes = Vec::new();
        for record in &records {
            let entry = entry_of(record, None);
            assert!(batched(&entry));
            push(&entry, &mut bytes);
        }
        let entries: Vec<Entry<'_>> = entries(&bytes).collect::<Result<_, _>>().expect("whole");
        assert_eq!(
            entries,
            vec![
                Entry {
                    kind: row::CREATE,
                    id: "user:1",
                    version: 1,
                    strategy: Some("crdt-counter"),
                    expires_at_ms: Some(1_700_000_000_123),
                    bytes: b"{\"a\":1}",
                },
                Entry {
                    kind: row::UPDATE,
                    id: "user:1",
                    version: 2,
                    strategy: None,
                    expires_at_ms: None,
                    bytes: b"{\"a\":2}",
                },
                Entry {
                    kind: row::REMOVE,
                    id: "user:1",
                    version: 0,
                    strategy: None,
                    expires_at_ms: None,
                    bytes: b"",
                },
                Entry {
                    kind: row::CREATE,
                    id: "s",
                    version: 1,
                    strategy: Some("lww"),
                    expires_at_ms: None,
                    bytes: b"",
                },
            ]
        );
    }

    #[test]
    fn markers_are_not_batched() {
        for record in [Record::RewriteStart, Record::RewriteEnd] {
            assert!(!batched(&entry_of(&record, Some(1))));
        }
    }

    #[test]
    fn a_snapshot_is_batched_and_comes_back_with_its_strategy_expiry_and_state() {
        let snapshot = Record::Snapshot {
            id: "sensor:7".into(),
            version: 41,
            created: Created {
                strategy: Strategy::CrdtMap,
                expires_at_ms: Some(1_800_000_000_000),
            },
            state: b"{\"state\":1}".to_vec(),
        };
        let entry = entry_of(&snapshot, Some(1));
        assert!(batched(&entry));
        let mut bytes = Vec::new();
        push(&entry, &mut bytes);
        push(
            &entry_of(&update("sensor:7", 42, b"{}", None), None),
            &mut bytes,
        );
        let read: Vec<_> = entries(&bytes).collect::<Result<_, _>>().expect("whole");
        assert_eq!(
            read,
            [
                Entry {
                    kind: row::SNAPSHOT,
                    id: "sensor:7",
                    version: 41,
                    strategy: Some("crdt-map"),
                    expires_at_ms: Some(1_800_000_000_000),
                    bytes: b"{\"state\":1}",
                },
                Entry {
                    kind: row::UPDATE,
                    id: "sensor:7",
                    version: 42,
                    strategy: None,
                    expires_at_ms: None,
                    bytes: b"{}",
                },
            ]
        );
    }

    #[test]
    fn a_damaged_batch_is_an_error_never_a_panic() {
        let mut bytes = Vec::new();
        push(
            &entry_of(&update("doc", 3, b"{\"x\":1}", None), None),
            &mut bytes,
        );
        // Every truncation ends in an error after the whole records before it.
        for cut in 1..bytes.len() {
            let read: Vec<_> = entries(&bytes[..cut]).collect();
            assert_eq!(read.len(), 1, "cut at {cut}");
            assert!(read[0].is_err(), "cut at {cut}");
        }
        // An unknown kind, a length past the end, a strategy that does not exist.
        assert!(entries(&[9, 0, 0, 0, 0]).next().expect("one").is_err());
        assert!(entries(&[0, 255, 255, 255, 255])
            .next()
            .expect("one")
            .is_err());
        let mut bad_strategy = vec![row::CREATE as u8, 1, 0, 0, 0, b'a'];
        bad_strategy.extend_from_slice(&1u64.to_le_bytes());
        bad_strategy.extend_from_slice(&[3, b'b', b'a', b'd', 0, 0, 0, 0, 0]);
        let read: Vec<_> = entries(&bad_strategy).collect();
        assert_eq!(read.len(), 1);
        assert!(read[0].is_err());
    }
}
