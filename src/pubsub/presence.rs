//! Presence: who is looking at a document right now, and what they want others to see (a
//! cursor, a name, a color). Ephemeral by design: it lives only in memory on the document's owner
//! shard, never persists, and ends with the connection that set it.
//!
//! Each entry is keyed by the client id of the connection that set it; a connection sets, replaces
//! or clears (with JSON `null`) its own entry only. The connection's own shard remembers which
//! documents it set presence on, and tells their owners when it closes, however it closes.

use ahash::AHashMap;
use serde_json::{Map, Value};

/// The presence entries of the documents one shard owns.
#[derive(Debug, Default)]
pub struct Presence {
    /// Document id → (client id, data), in the order clients first appeared.
    docs: AHashMap<String, Vec<(u64, Value)>>,
}

impl Presence {
    /// No presence anywhere.
    pub fn new() -> Presence {
        Presence::default()
    }

    /// Sets `client`'s presence on document `id`; JSON `null` removes it. Returns whether
    /// anything changed.
    pub fn set(&mut self, id: &str, client: u64, data: Value) -> bool {
        if data.is_null() {
            return self.remove(id, client);
        }
        let entries = self.docs.entry(id.to_owned()).or_default();
        match entries.iter_mut().find(|(c, _)| *c == client) {
            Some((_, old)) if *old == data => false,
            Some((_, old)) => {
                *old = data;
                true
            }
            None => {
                entries.push((client, data));
                true
            }
        }
    }

    /// Removes `client`'s presence on document `id`. Returns whether it had one.
    pub fn remove(&mut self, id: &str, client: u64) -> bool {
        let Some(entries) = self.docs.get_mut(id) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|(c, _)| *c != client);
        let removed = entries.len() != before;
        if entries.is_empty() {
            self.docs.remove(id);
        }
        removed
    }

    /// Every presence on document `id`, as a JSON object keyed by client id.
    pub fn get(&self, id: &str) -> Value {
        let entries = self.docs.get(id).map(Vec::as_slice).unwrap_or_default();
        Value::Object(
            entries
                .iter()
                .map(|(client, data)| (client.to_string(), data.clone()))
                .collect::<Map<_, _>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clients_set_replace_and_clear_their_own_entries() {
        let mut presence = Presence::new();
        assert!(presence.set("doc", 1, json!({"x": 1})));
        assert!(presence.set("doc", 2, json!("bob")));
        assert!(!presence.set("doc", 2, json!("bob")));
        assert!(presence.set("doc", 1, json!({"x": 2})));
        assert_eq!(presence.get("doc"), json!({"1": {"x": 2}, "2": "bob"}));
        assert!(presence.set("doc", 1, Value::Null));
        assert!(!presence.set("doc", 1, Value::Null));
        assert_eq!(presence.get("doc"), json!({"2": "bob"}));
    }

    #[test]
    fn removing_the_last_entry_forgets_the_document() {
        let mut presence = Presence::new();
        presence.set("doc", 1, json!(true));
        assert!(presence.remove("doc", 1));
        assert!(!presence.remove("doc", 1));
        assert_eq!(presence.get("doc"), json!({}));
        assert!(presence.docs.is_empty());
    }
}
