//! What each test sends: seeded key choice and the request bytes for usld or for Redis.
//!
//! Both targets touch the same keys (`bench:<n>`, `n` below `--keyspace`) and fields: usld
//! documents `{"value": "xxx", "count": 7}`, Redis hashes with the fields `value` and `count`.
//!
//! | operation | usld | Redis |
//! |---|---|---|
//! | write | `SET bench:<n> value <xxx>` | `HSET bench:<n> value <xxx>` |
//! | read | `GET bench:<n>` | `HGETALL bench:<n>` |
//! | increment | `INC bench:<n> count 1` | `HINCRBY bench:<n> count 1` |
//! | publish (`sub`) | `SET bench:sub:<n> value <payload>` | `PUBLISH bench:sub:<n> <payload>` |

use fastrand::Rng;

use crate::args::{Target, TestName};

/// The pattern the `sub` test's clients subscribe to.
pub const SUB_PATTERN: &str = "bench:sub:*";
/// Marks the send time inside a published payload: `~<nanoseconds>~`.
pub const STAMP_MARK: u8 = b'~';

/// One operation of the key-value tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Write a value.
    Write,
    /// Read the key.
    Read,
    /// Increment a counter field.
    Increment,
}

/// A client's stream of requests: its own seeded generator over the shared key space.
pub struct Workload {
    rng: Rng,
    test: TestName,
    target: Target,
    keyspace: u64,
    value: Vec<u8>,
    /// Digits of numbers, reused so encoding allocates nothing.
    digits: itoa::Buffer,
}

impl Workload {
    /// The workload of client `client` for `test`; the same seed and client give the same keys.
    pub fn new(
        test: TestName,
        target: Target,
        keyspace: u64,
        value_bytes: usize,
        seed: u64,
        client: usize,
    ) -> Workload {
        Workload {
            rng: Rng::with_seed(seed.wrapping_add(client as u64)),
            test,
            target,
            keyspace,
            value: vec![b'x'; value_bytes],
            digits: itoa::Buffer::new(),
        }
    }

    /// The next operation: fixed by the test, or drawn 40/40/20 for `mixed`.
    fn next_op(&mut self) -> Op {
        match self.test {
            TestName::Set => Op::Write,
            TestName::Get => Op::Read,
            TestName::Inc => Op::Increment,
            _ => match self.rng.u8(0..100) {
                0..40 => Op::Write,
                40..80 => Op::Read,
                _ => Op::Increment,
            },
        }
    }

    /// Appends the next request to `out`.
    pub fn encode_next(&mut self, out: &mut Vec<u8>) {
        let op = self.next_op();
        let key = self.rng.u64(0..self.keyspace);
        let mut key_text = [0u8; 32];
        let key_len = key_bytes(b"bench:", self.digits.format(key), &mut key_text);
        let key = &key_text[..key_len];
        match (op, self.target) {
            (Op::Write, Target::Usld) => encode(out, &[b"SET", key, b"value", &self.value]),
            (Op::Write, Target::Redis) => encode(out, &[b"HSET", key, b"value", &self.value]),
            (Op::Read, Target::Usld) => encode(out, &[b"GET", key]),
            (Op::Read, Target::Redis) => encode(out, &[b"HGETALL", key]),
            (Op::Increment, Target::Usld) => encode(out, &[b"INC", key, b"count", b"1"]),
            (Op::Increment, Target::Redis) => encode(out, &[b"HINCRBY", key, b"count", b"1"]),
        }
    }

    /// Appends a `sub` test publication to `out`: a write (usld) or a PUBLISH (Redis) whose payload
    /// starts with the send time, `stamp_nanos`, between [`STAMP_MARK`]s and is padded with `x` to
    /// the value size.
    pub fn encode_publish(&mut self, out: &mut Vec<u8>, stamp_nanos: u64) {
        let key = self.rng.u64(0..self.keyspace);
        let mut key_text = [0u8; 40];
        let key_len = key_bytes(b"bench:sub:", self.digits.format(key), &mut key_text);
        let mut payload = Vec::with_capacity(self.value.len() + 24);
        payload.push(STAMP_MARK);
        payload.extend_from_slice(self.digits.format(stamp_nanos).as_bytes());
        payload.push(STAMP_MARK);
        if payload.len() < self.value.len() {
            payload.resize(self.value.len(), b'x');
        }
        let key = &key_text[..key_len];
        match self.target {
            Target::Usld => encode(out, &[b"SET", key, b"value", &payload]),
            Target::Redis => encode(out, &[b"PUBLISH", key, &payload]),
        }
    }
}

/// Writes `prefix` then `digits` into `out`; returns the length.
fn key_bytes(prefix: &[u8], digits: &str, out: &mut [u8]) -> usize {
    let len = prefix.len() + digits.len();
    out[..prefix.len()].copy_from_slice(prefix);
    out[prefix.len()..len].copy_from_slice(digits.as_bytes());
    len
}

/// Appends `args` as a RESP multibulk.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    let mut digits = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(digits.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.push(b'$');
        out.extend_from_slice(digits.format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads the send time out of a published payload (which usld may wrap in a JSON delta).
pub fn find_stamp(payload: &[u8]) -> Option<u64> {
    let start = payload.iter().position(|&b| b == STAMP_MARK)? + 1;
    let len = payload[start..].iter().position(|&b| b == STAMP_MARK)?;
    std::str::from_utf8(&payload[start..start + len])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests(test: TestName, target: Target, seed: u64, count: usize) -> Vec<u8> {
        let mut workload = Workload::new(test, target, 100, 3, seed, 0);
        let mut out = Vec::new();
        (0..count).for_each(|_| workload.encode_next(&mut out));
        out
    }

    #[test]
    fn same_seed_same_requests_and_targets_map_commands() {
        assert_eq!(
            requests(TestName::Mixed, Target::Usld, 7, 50),
            requests(TestName::Mixed, Target::Usld, 7, 50)
        );
        assert_ne!(
            requests(TestName::Mixed, Target::Usld, 7, 50),
            requests(TestName::Mixed, Target::Usld, 8, 50)
        );
        let set = String::from_utf8(requests(TestName::Set, Target::Redis, 1, 1)).expect("ascii");
        assert!(set.starts_with("*4\r\n$4\r\nHSET\r\n$"), "{set}");
        assert!(set.ends_with("$5\r\nvalue\r\n$3\r\nxxx\r\n"), "{set}");
        let get = String::from_utf8(requests(TestName::Get, Target::Usld, 1, 1)).expect("ascii");
        assert!(
            get.starts_with("*2\r\n$3\r\nGET\r\n$") && get.contains("bench:"),
            "{get}"
        );
    }

    #[test]
    fn mixed_is_forty_forty_twenty() {
        let mut workload = Workload::new(TestName::Mixed, Target::Usld, 10, 3, 42, 0);
        let ops: Vec<Op> = (0..10_000).map(|_| workload.next_op()).collect();
        let share = |op| ops.iter().filter(|o| **o == op).count();
        assert!(
            (3_800..4_200).contains(&share(Op::Write)),
            "{}",
            share(Op::Write)
        );
        assert!(
            (3_800..4_200).contains(&share(Op::Read)),
            "{}",
            share(Op::Read)
        );
        assert!(
            (1_800..2_200).contains(&share(Op::Increment)),
            "{}",
            share(Op::Increment)
        );
    }

    #[test]
    fn publish_payload_carries_its_stamp() {
        let mut workload = Workload::new(TestName::Sub, Target::Redis, 10, 64, 1, 0);
        let mut out = Vec::new();
        workload.encode_publish(&mut out, 123_456);
        let text = String::from_utf8(out).expect("ascii");
        assert!(
            text.contains("PUBLISH") && text.contains("bench:sub:"),
            "{text}"
        );
        assert!(text.contains("$64\r\n~123456~xxx"), "{text}");
        assert_eq!(find_stamp(br#"{"value": "~99~xx"}"#), Some(99));
        assert_eq!(find_stamp(b"no stamp"), None);
    }
}
