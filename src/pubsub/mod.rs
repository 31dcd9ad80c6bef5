//! Real-time delivery, the last step of the request path: a change applied on a document's owner
//! shard reaches every connection subscribed to a matching pattern, on whichever shard that
//! connection lives.
//!
//! - [`event`]: the JSON delta that describes a change.
//! - [`routes`]: which shards have subscribers for which patterns, so an owner sends a change
//!   only where it is wanted.
//! - [`links`]: the ordered, one-way queues that carry events and announcements between shards.
//! - [`subscribers`]: this shard's subscribed connections, and delivery to them.
//! - [`outbox`]: one subscriber's bounded queue of frames not yet written.
//! - [`sweeper`]: the task that writes outboxes to their sockets, batching under load.
//! - [`presence`]: the ephemeral presence entries of the documents a shard owns.
//! - [`pattern_map`]: the pattern-keyed map both tables use.

pub mod event;
pub mod links;
pub mod outbox;
pub mod pattern_map;
pub mod presence;
pub mod routes;
pub mod subscribers;
pub mod sweeper;

pub use event::EventBuilder;
pub use links::{Links, Notice};
pub use outbox::Outbox;
pub use presence::Presence;
pub use routes::Routes;
pub use subscribers::Subscribers;
pub use sweeper::Sweeper;
