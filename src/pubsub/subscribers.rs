//! This shard's subscribed connections: which patterns each holds, and the delivery of an event
//! to every local connection whose pattern matches it.
//!
//! A connection's subscriptions live on the shard that accepted it, like the rest of its state.
//! Delivery encodes the `pmessage` frame once per matching pattern and RESP version, then copies
//! the bytes into each subscriber's [`Outbox`], so a thousand subscribers to `sensor:*` cost one
//! encoding and a thousand copies.

use std::rc::Rc;

use ahash::AHashMap;
use bytes::{Bytes, BytesMut};

use super::outbox::{Outbox, Pushed};
use super::pattern_map::PatternMap;
use super::sweeper::Sweeper;
use crate::protocol::{Protocol, Reply};

/// A subscribed connection.
#[derive(Debug)]
struct Subscriber {
    /// Where its frames go.
    outbox: Rc<Outbox>,
    /// Its patterns, in the order it subscribed.
    patterns: Vec<Bytes>,
}

/// The subscriptions of the connections on one shard.
#[derive(Debug, Default)]
pub struct Subscribers {
    /// Client id → its subscriptions.
    clients: AHashMap<u64, Subscriber>,
    /// Pattern → the clients holding it, in subscription order.
    holders: PatternMap<Vec<u64>>,
    /// Writes the outboxes to their sockets.
    sweeper: Rc<Sweeper>,
}

/// What a subscribe or unsubscribe changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Changed {
    /// How many patterns the client holds now (the count in Redis's confirmations).
    pub count: usize,
    /// Whether this shard gained its first, or lost its last, subscriber for the pattern, so the
    /// other shards must be told.
    pub announce: bool,
}

impl Subscribers {
    /// No subscriptions.
    pub fn new() -> Subscribers {
        Subscribers::default()
    }

    /// The sweeper that writes this shard's outboxes, for the shard to start.
    pub fn sweeper(&self) -> Rc<Sweeper> {
        Rc::clone(&self.sweeper)
    }

    /// How many patterns `client` holds.
    pub fn count(&self, client: u64) -> usize {
        self.clients.get(&client).map_or(0, |s| s.patterns.len())
    }

    /// The patterns `client` holds, in subscription order.
    pub fn patterns(&self, client: u64) -> Vec<Bytes> {
        self.clients
            .get(&client)
            .map(|s| s.patterns.clone())
            .unwrap_or_default()
    }

    /// Subscribes `client` to `pattern`; subscribing twice to one pattern changes nothing.
    pub fn subscribe(&mut self, client: u64, outbox: &Rc<Outbox>, pattern: Bytes) -> Changed {
        let subscriber = self.clients.entry(client).or_insert_with(|| Subscriber {
            outbox: Rc::clone(outbox),
            patterns: Vec::new(),
        });
        if subscriber.patterns.contains(&pattern) {
            return Changed {
                count: subscriber.patterns.len(),
                announce: false,
            };
        }
        subscriber.patterns.push(pattern.clone());
        let count = subscriber.patterns.len();
        let holders = self.holders.entry(pattern);
        holders.push(client);
        Changed {
            count,
            announce: holders.len() == 1,
        }
    }

    /// Unsubscribes `client` from `pattern`, if it held it.
    pub fn unsubscribe(&mut self, client: u64, pattern: &Bytes) -> Changed {
        let Some(subscriber) = self.clients.get_mut(&client) else {
            return Changed {
                count: 0,
                announce: false,
            };
        };
        let before = subscriber.patterns.len();
        subscriber.patterns.retain(|p| p != pattern);
        let count = subscriber.patterns.len();
        if count == 0 {
            self.clients.remove(&client);
        }
        if count == before {
            return Changed {
                count,
                announce: false,
            };
        }
        let mut announce = false;
        if let Some(holders) = self.holders.get_mut(pattern) {
            holders.retain(|&c| c != client);
            if holders.is_empty() {
                self.holders.remove(pattern);
                announce = true;
            }
        }
        Changed { count, announce }
    }

    /// Appends a `pmessage` frame for the change `payload` of document `id` to the outbox of
    /// every local subscriber with a matching pattern (one frame per matching pattern, as Redis
    /// does), and puts the outboxes that were empty in the sweeper's line. Subscribers whose
    /// outbox overflows are cut off by their connection.
    pub fn deliver(&self, id: &[u8], payload: &Bytes) {
        let id_bytes = Bytes::copy_from_slice(id);
        for (pattern, holders) in self.holders.matching(id) {
            let mut frames: [Option<BytesMut>; 2] = [None, None];
            for client in holders {
                let Some(subscriber) = self.clients.get(client) else {
                    continue;
                };
                let protocol = subscriber.outbox.protocol();
                let slot = &mut frames[usize::from(protocol == Protocol::Resp3)];
                let frame = slot.get_or_insert_with(|| {
                    let mut out = BytesMut::new();
                    pmessage(pattern, &id_bytes, payload).encode(&mut out, protocol);
                    out
                });
                if subscriber.outbox.push(frame) == Pushed::NeedsSweep {
                    self.sweeper.schedule(&subscriber.outbox);
                }
            }
        }
    }
}

/// A change event as Redis shapes a pattern message: `pmessage`, the pattern, the document id
/// (Redis's channel) and the JSON delta.
pub fn pmessage(pattern: &Bytes, id: &Bytes, payload: &Bytes) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(Bytes::from_static(b"pmessage")),
        Reply::Bulk(pattern.clone()),
        Reply::Bulk(id.clone()),
        Reply::Bulk(payload.clone()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox with no socket behind it (-1): these tests read what is queued, and nothing
    /// runs the sweeper that would write it.
    fn outbox() -> Rc<Outbox> {
        Rc::new(Outbox::new(1 << 20, Protocol::Resp2, -1))
    }

    fn drained(outbox: &Outbox) -> Vec<u8> {
        let mut out = BytesMut::new();
        outbox.drain_into(&mut out);
        out.to_vec()
    }

    #[test]
    fn first_and_last_subscriber_of_a_pattern_are_announced() {
        let mut subs = Subscribers::new();
        let (a, b) = (outbox(), outbox());
        let p = Bytes::from("user:*");
        assert_eq!(
            subs.subscribe(1, &a, p.clone()),
            Changed {
                count: 1,
                announce: true
            }
        );
        assert_eq!(
            subs.subscribe(2, &b, p.clone()),
            Changed {
                count: 1,
                announce: false
            }
        );
        assert_eq!(
            subs.subscribe(2, &b, p.clone()),
            Changed {
                count: 1,
                announce: false
            }
        );
        assert_eq!(
            subs.unsubscribe(1, &p),
            Changed {
                count: 0,
                announce: false
            }
        );
        assert_eq!(
            subs.unsubscribe(2, &p),
            Changed {
                count: 0,
                announce: true
            }
        );
        assert_eq!(
            subs.unsubscribe(2, &p),
            Changed {
                count: 0,
                announce: false
            }
        );
    }

    #[test]
    fn delivery_reaches_matching_subscribers_once_per_matching_pattern() {
        let mut subs = Subscribers::new();
        let (a, b) = (outbox(), outbox());
        subs.subscribe(1, &a, Bytes::from("user:*"));
        subs.subscribe(1, &a, Bytes::from("user:1"));
        subs.subscribe(2, &b, Bytes::from("order:*"));
        subs.deliver(b"user:1", &Bytes::from("{}"));
        let frames = drained(&a);
        let text = String::from_utf8(frames).expect("utf-8");
        assert_eq!(text.matches("pmessage").count(), 2, "{text}");
        assert!(text.contains("$6\r\nuser:*\r\n$6\r\nuser:1\r\n$2\r\n{}\r\n"));
        assert!(drained(&b).is_empty());
    }

    #[test]
    fn resp3_subscribers_get_push_frames() {
        let mut subs = Subscribers::new();
        let (two, three) = (outbox(), outbox());
        three.set_protocol(Protocol::Resp3);
        subs.subscribe(1, &two, Bytes::from("*"));
        subs.subscribe(2, &three, Bytes::from("*"));
        subs.deliver(b"d", &Bytes::from("1"));
        assert!(drained(&two).starts_with(b"*4\r\n$8\r\npmessage"));
        assert!(drained(&three).starts_with(b">4\r\n$8\r\npmessage"));
    }

    #[test]
    fn patterns_are_listed_in_subscription_order() {
        let mut subs = Subscribers::new();
        let a = outbox();
        subs.subscribe(1, &a, Bytes::from("b"));
        subs.subscribe(1, &a, Bytes::from("a"));
        assert_eq!(subs.patterns(1), [Bytes::from("b"), Bytes::from("a")]);
        assert_eq!(subs.count(1), 2);
        assert_eq!(subs.count(9), 0);
    }
}
