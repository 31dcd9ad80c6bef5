//! Seeded randomized convergence of crdt-text replicas.
//!
//! Several replicas edit two text fields at random (splices, replaces,
//! clears, batches, non-ASCII and astral text) and exchange their updates
//! over a simulated network that delivers in random order, duplicates,
//! partitions and heals, while replicas also catch up by state vector and
//! are rebuilt from their encoded state under fresh client ids. At the end
//! every update is delivered and all replicas must print identical JSON,
//! hold nothing pending, and keep every inserted character that no replica
//! deleted, exactly once.
//!
//! Every inserted character is unique in the scenario, so the final text
//! can be checked character by character. Each scenario prints its seed;
//! `USSL_SEED=n cargo test --test text_convergence` replays one, and
//! `USSL_SEEDS=n` runs seeds 0..n instead of the default count.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ussl_shards::text::{TextDoc, TextEdit, TextLimits};

const REPLICAS: usize = 4;
const STEPS: usize = 300;
const SEEDS: u64 = 64;
const FIELDS: [&str; 2] = ["notes", "title"];

/// Ranges of code points unique characters are drawn from: Latin extended,
/// Cyrillic (two UTF-8 bytes), CJK (three bytes, one UTF-16 unit) and CJK
/// extension B (four bytes, two UTF-16 units). A used-up range falls back
/// to CJK extension B.
const RANGES: [(u32, u32); 4] = [
    (0x0100, 0x024F),
    (0x0400, 0x04FF),
    (0x4E00, 0x9FFF),
    (0x20000, 0x2A6DF),
];

struct Replica {
    doc: TextDoc,
    /// Updates sent to this replica and not yet delivered.
    inbox: Vec<Vec<u8>>,
    /// Updates sent while partitioned from their sender.
    held: Vec<Vec<u8>>,
}

struct World {
    rng: StdRng,
    replicas: Vec<Replica>,
    /// The partition group of each replica, when partitioned.
    groups: Option<Vec<bool>>,
    next_in_range: [u32; 4],
    next_client: u64,
    inserted: HashSet<char>,
    deleted: HashSet<char>,
}

impl World {
    fn new(seed: u64) -> World {
        let replicas = (0..REPLICAS)
            .map(|i| Replica {
                doc: TextDoc::new(i as u64 + 1, TextLimits::default()).unwrap(),
                inbox: Vec::new(),
                held: Vec::new(),
            })
            .collect();
        World {
            rng: StdRng::seed_from_u64(seed),
            replicas,
            groups: None,
            next_in_range: RANGES.map(|(start, _)| start),
            next_client: REPLICAS as u64 + 1,
            inserted: HashSet::new(),
            deleted: HashSet::new(),
        }
    }

    /// Fresh characters never used before in this scenario.
    fn fresh_text(&mut self, max: usize) -> String {
        let count = self.rng.gen_range(0..=max);
        let mut text = String::new();
        for _ in 0..count {
            let mut range = self.rng.gen_range(0..RANGES.len());
            if self.next_in_range[range] > RANGES[range].1 {
                range = RANGES.len() - 1;
            }
            let code = self.next_in_range[range];
            assert!(code <= RANGES[range].1, "characters exhausted");
            self.next_in_range[range] += 1;
            let c = char::from_u32(code).unwrap();
            self.inserted.insert(c);
            text.push(c);
        }
        text
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        self.groups
            .as_ref()
            .is_none_or(|groups| groups[a] == groups[b])
    }

    /// Sends `update` from replica `from` to every other replica.
    fn broadcast(&mut self, from: usize, update: Vec<u8>) {
        if update.is_empty() {
            return;
        }
        for to in 0..REPLICAS {
            if to == from {
                continue;
            }
            if self.connected(from, to) {
                self.replicas[to].inbox.push(update.clone());
            } else {
                self.replicas[to].held.push(update.clone());
            }
        }
    }

    /// A random splice of `text`, recording what it deletes.
    fn random_splice(&mut self, field: &str, text: &[char]) -> TextEdit {
        let index = self.rng.gen_range(0..=text.len());
        let delete = self.rng.gen_range(0..=(text.len() - index).min(3));
        self.deleted.extend(&text[index..index + delete]);
        let insert = self.fresh_text(4);
        TextEdit::Splice {
            field: field.to_owned(),
            index,
            delete,
            insert,
        }
    }

    /// Runs one random edit (or batch) on replica `r` and broadcasts it.
    fn edit(&mut self, r: usize) {
        let field = FIELDS[self.rng.gen_range(0..FIELDS.len())];
        let mut text: Vec<char> = self.replicas[r]
            .doc
            .field(field)
            .unwrap_or_default()
            .chars()
            .collect();
        let edits: Vec<TextEdit> = match self.rng.gen_range(0..10) {
            0..=5 => vec![self.random_splice(field, &text)],
            6 => {
                // SET of the text with one stretch replaced.
                let start = self.rng.gen_range(0..=text.len());
                let end = self.rng.gen_range(start..=text.len());
                self.deleted.extend(&text[start..end]);
                let mut new: String = text[..start].iter().collect();
                new.push_str(&self.fresh_text(5));
                new.extend(&text[end..]);
                vec![TextEdit::Replace {
                    field: field.to_owned(),
                    text: new,
                }]
            }
            7 => {
                self.deleted.extend(&text);
                vec![TextEdit::Clear {
                    field: field.to_owned(),
                }]
            }
            _ => {
                let mut batch = Vec::new();
                for _ in 0..self.rng.gen_range(1..6) {
                    let edit = self.random_splice(field, &text);
                    if let TextEdit::Splice {
                        index,
                        delete,
                        insert,
                        ..
                    } = &edit
                    {
                        text.splice(*index..*index + *delete, insert.chars());
                    }
                    batch.push(edit);
                }
                batch
            }
        };
        let (results, update) = self.replicas[r].doc.apply_batch(&edits);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        self.broadcast(r, update);
    }

    /// Delivers a random part of replica `r`'s inbox in random order, some
    /// updates twice, one at a time or as one batch.
    fn deliver(&mut self, r: usize) {
        let replica = &mut self.replicas[r];
        let count = self.rng.gen_range(0..=replica.inbox.len());
        let mut batch = Vec::new();
        for _ in 0..count {
            let i = self.rng.gen_range(0..replica.inbox.len());
            let update = if self.rng.gen_bool(0.2) {
                replica.inbox[i].clone()
            } else {
                replica.inbox.swap_remove(i)
            };
            batch.push(update);
        }
        if self.rng.gen_bool(0.5) {
            let parts: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            let (results, _) = replica.doc.merge_batch(&parts);
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        } else {
            for update in &batch {
                replica.doc.merge(update).unwrap();
            }
        }
    }

    /// Replica `r` catches up from a connected replica by state vector.
    fn catch_up(&mut self, r: usize) {
        let from = self.rng.gen_range(0..REPLICAS);
        if from == r || !self.connected(r, from) {
            return;
        }
        let state_vector = self.replicas[r].doc.state_vector();
        let diff = self.replicas[from].doc.diff(&state_vector).unwrap();
        self.replicas[r].doc.merge(&diff).unwrap();
    }

    /// Rebuilds replica `r` from its encoded state and held updates under a
    /// fresh client id, as a restart does.
    fn reload(&mut self, r: usize) {
        let doc = &self.replicas[r].doc;
        let state = doc.encode_state().unwrap();
        let pending: Vec<&[u8]> = doc.pending_updates().collect();
        let reloaded =
            TextDoc::from_state(&state, &pending, self.next_client, TextLimits::default()).unwrap();
        self.next_client += 1;
        assert!(reloaded.pending_updates().eq(doc.pending_updates()));
        assert_eq!(reloaded.to_json(), doc.to_json());
        assert_eq!(state_vector(&reloaded), state_vector(doc));
        self.replicas[r].doc = reloaded;
    }

    fn heal(&mut self) {
        self.groups = None;
        for replica in &mut self.replicas {
            let held = std::mem::take(&mut replica.held);
            replica.inbox.extend(held);
        }
    }

    fn step(&mut self) {
        let r = self.rng.gen_range(0..REPLICAS);
        match self.rng.gen_range(0..100) {
            0..=54 => self.edit(r),
            55..=79 => self.deliver(r),
            80..=87 => self.catch_up(r),
            88..=91 => self.reload(r),
            92..=95 => {
                let groups = (0..REPLICAS).map(|_| self.rng.gen_bool(0.5)).collect();
                self.groups = Some(groups);
            }
            _ => self.heal(),
        }
    }

    /// Delivers everything, in random order with duplicates.
    fn settle(&mut self) {
        self.heal();
        while self
            .replicas
            .iter()
            .any(|replica| !replica.inbox.is_empty())
        {
            for r in 0..REPLICAS {
                self.deliver(r);
            }
        }
    }

    fn check(&self) {
        let json = self.replicas[0].doc.to_json();
        for (r, replica) in self.replicas.iter().enumerate() {
            assert_eq!(
                replica.doc.to_json(),
                json,
                "replica {r} differs from replica 0"
            );
            assert!(
                !replica.doc.has_pending(),
                "replica {r} still holds pending edits"
            );
        }
        let mut seen = HashSet::new();
        for field in FIELDS {
            for c in self.replicas[0]
                .doc
                .field(field)
                .unwrap_or_default()
                .chars()
            {
                assert!(seen.insert(c), "{c:?} appears twice");
                assert!(self.inserted.contains(&c), "{c:?} was never inserted");
                assert!(!self.deleted.contains(&c), "{c:?} was deleted yet survives");
            }
        }
        let lost: Vec<char> = self
            .inserted
            .iter()
            .filter(|c| !self.deleted.contains(c) && !seen.contains(c))
            .copied()
            .collect();
        assert!(
            lost.is_empty(),
            "inserted and never deleted, yet lost: {lost:?}"
        );
    }
}

fn state_vector(doc: &TextDoc) -> yrs::StateVector {
    use yrs::updates::decoder::Decode;
    yrs::StateVector::decode_v1(&doc.state_vector()).unwrap()
}

fn run_scenario(seed: u64) {
    eprintln!("crdt-text convergence scenario, seed {seed} (replay with USSL_SEED={seed})");
    let mut world = World::new(seed);
    for _ in 0..STEPS {
        world.step();
    }
    world.settle();
    world.check();
}

#[test]
fn replicas_converge_and_keep_every_insert() {
    match std::env::var("USSL_SEED") {
        Ok(seed) => run_scenario(seed.parse().expect("USSL_SEED must be a number")),
        Err(_) => {
            let seeds = std::env::var("USSL_SEEDS")
                .map_or(SEEDS, |n| n.parse().expect("USSL_SEEDS must be a number"));
            (0..seeds).for_each(run_scenario)
        }
    }
}
