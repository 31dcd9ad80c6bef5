//! The JSON deltas subscribers receive: what a change did to a document, small enough to send
//! on every write, complete enough to replay.
//!
//! An event is one JSON object: `op` names the change, `path` the place it changed (absent for
//! the whole document), `value` what is now at that path, and `version` the document's version
//! after the change. A subscriber that applies each event in order to the snapshot it read with
//! GET (set `value` at `path`, delete `path` for `del`, drop the document for `del` without a
//! path and for `expire`) holds exactly the current document. Presence events carry `client`
//! and `data` instead and change no document. The full list is in `docs/protocol.md`.

use bytes::Bytes;
use serde_json::{Map, Value};
use ussl_shards::json_text;

/// Builds an event object field by field, then encodes it once.
#[derive(Debug)]
pub struct EventBuilder {
    fields: Map<String, Value>,
}

impl EventBuilder {
    /// An event for operation `op` (`set`, `del`, `expire`, `presence`, ...).
    pub fn new(op: &str) -> EventBuilder {
        let mut fields = Map::new();
        fields.insert("op".into(), Value::String(op.into()));
        EventBuilder { fields }
    }

    /// Adds a field.
    pub fn field(mut self, name: &str, value: impl Into<Value>) -> EventBuilder {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Adds a field when there is a value for it.
    pub fn field_if(self, name: &str, value: Option<impl Into<Value>>) -> EventBuilder {
        match value {
            Some(value) => self.field(name, value),
            None => self,
        }
    }

    /// The event as JSON text, laid out as GET replies are.
    pub fn encode(self) -> Bytes {
        Bytes::from(json_text::to_text(&Value::Object(self.fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_keep_their_order_and_absent_ones_are_left_out() {
        let event = EventBuilder::new("set")
            .field("path", "name")
            .field("value", json!("OFF"))
            .field_if("version", None::<u64>)
            .field_if("client", Some(7))
            .encode();
        assert_eq!(
            &event[..],
            br#"{"op": "set", "path": "name", "value": "OFF", "client": 7}"#
        );
    }
}
