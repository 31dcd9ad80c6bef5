//! Step 6 of the request path: a shard, one pinned glommio executor that owns a slice of the
//! documents (those whose id hashes to it) and serves the connections the kernel gave it.
//!
//! Document state sits in a `RefCell<Store>` that only this thread touches; it is borrowed for one
//! synchronous command at a time and never across an `.await`, so no lock is needed. Functions that
//! touch documents are named `op_*` and assert they run on the owner.
//!
//! With `--db`, every change a command makes is handed to the shard's commit [`Barrier`] right
//! where it becomes an event, and the replies of the commands that wrote wait for its commit
//! (see [`crate::persist`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_channel::oneshot;
use glommio::channels::shared_channel::ConnectedReceiver;
use glommio::channels::shared_channel::ConnectedSender;
use ussl_shards::storage::{Created, Record};
use ussl_shards::{json_text, Change, Edit, Path, Store};

use crate::command::{
    outcome_reply, store_error, DocCommand, DocId, Presence as PresenceCommand, Splice,
};
use crate::forward::Forwards;
use crate::persist::barrier::{Barrier, Failure};
use crate::persist::writer::Outcome;
use crate::persist::{self, ShardInit};
use crate::protocol::Reply;
use crate::pubsub::{EventBuilder, Links, Notice, Presence, Routes, Subscribers};
use crate::router::{owner, OpOutput, ShardMessage, ShardOp};
use crate::shared::Shared;
use crate::stats::{ShardCounters, ShardStats};

/// Most notices sent to another shard in one mesh message.
const NOTICE_BATCH_MAX: usize = 256;

/// How often a shard removes the expired documents nobody touched, and tells their subscribers.
/// A touched document expires at once; an untouched one within this interval.
const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Most documents one step of a log rewrite snapshots before the shard serves other work.
const REWRITE_STEP_DOCUMENTS: usize = 256;

/// Most bytes of snapshots one step of a log rewrite makes (a larger document is a step alone).
const REWRITE_STEP_BYTES: usize = 1024 * 1024;

/// How long a log rewrite waits before its next step while commits fail.
const REWRITE_FAILING_PAUSE: Duration = Duration::from_secs(1);

/// One shard's state, shared by the tasks on its executor through an `Rc`.
pub struct Shard {
    /// This shard's index, `0..count`.
    pub id: usize,
    /// How many shards there are.
    pub count: usize,
    /// The documents this shard owns.
    store: RefCell<Store>,
    /// With `--db`: where changes go to be committed, and what replies wait on.
    barrier: Option<Rc<Barrier>>,
    /// Presence entries on the documents this shard owns.
    presence: RefCell<Presence>,
    /// The subscriptions of the connections this shard accepted.
    pub subscribers: RefCell<Subscribers>,
    /// Which shards have subscribers for which patterns, to route this shard's change events.
    routes: RefCell<Routes>,
    /// Notices queued for other shards.
    pub links: Links,
    /// This shard's counters.
    pub counters: ShardCounters,
    /// `senders[to]`: the channel to shard `to` (`None` for this shard).
    senders: Vec<Option<ConnectedSender<ShardMessage>>>,
    /// Rounds' ops waiting to be sent to their owners.
    forwards: Forwards,
    /// Server-wide configuration and counters.
    pub shared: Arc<Shared>,
}

/// Milliseconds since the Unix epoch: the clock TTLs are measured against.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A seed for this shard's server replica ids, different for every shard and every start: the
/// replica ids stamped on this process's writes must not be reused by another process.
pub fn replica_seed(shard: usize) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let text = format!("{nanos}:{}:{shard}", std::process::id());
    ussl_shards::stable_hash(text.as_bytes())
}

impl Shard {
    /// A shard holding `init`'s documents; with a writer, also the outcomes its barrier's
    /// listener must read (see [`Barrier::listen`]).
    pub fn new(
        id: usize,
        count: usize,
        senders: Vec<Option<ConnectedSender<ShardMessage>>>,
        shared: Arc<Shared>,
        init: ShardInit,
    ) -> (Shard, Option<futures_channel::mpsc::Receiver<Outcome>>) {
        let notices_max = shared.config.cross_shard_notices;
        let (barrier, outcomes) = match init.writer {
            Some(link) => {
                let (barrier, outcomes) = link.into_barrier(&shared.config);
                (Some(Rc::new(barrier)), Some(outcomes))
            }
            None => (None, None),
        };
        let shard = Shard {
            id,
            count,
            store: RefCell::new(init.store),
            barrier,
            presence: RefCell::new(Presence::new()),
            subscribers: RefCell::new(Subscribers::new()),
            routes: RefCell::new(Routes::new()),
            links: Links::new(count, notices_max),
            counters: ShardCounters::default(),
            senders,
            forwards: Forwards::new(count),
            shared,
        };
        (shard, outcomes)
    }

    /// The commit barrier, with `--db`.
    pub fn barrier(&self) -> Option<&Rc<Barrier>> {
        self.barrier.as_ref()
    }

    /// How many records this shard has made for its writer (0 in memory): compare readings to
    /// learn whether the commands applied in between wrote.
    pub fn records_made(&self) -> u64 {
        self.barrier
            .as_ref()
            .map_or(0, |barrier| barrier.records_made())
    }

    /// Waits while this shard holds too many uncommitted writes (never in memory).
    pub async fn persist_room(&self) {
        if let Some(barrier) = &self.barrier {
            barrier.room().await;
        }
    }

    /// The shard that owns document `id`.
    pub fn owner(&self, id: &str) -> usize {
        owner(id, self.count)
    }

    /// Starts loading the slot of document `id` into the cache when this shard owns it, so a
    /// command on it a little later does not wait for memory. Returns whether it does, for
    /// the caller to take the second step only then.
    pub fn prefetch_slot(&self, id: &[u8]) -> bool {
        let Some(id) = self.owned(id) else {
            return false;
        };
        self.store.borrow().slot_addresses(id, prefetch);
        true
    }

    /// The second step of [`Shard::prefetch_slot`], once the slot has had time to arrive:
    /// starts loading the body of document `id`, which this shard owns, the next allocation a
    /// command on it reads.
    pub fn prefetch_body(&self, id: &[u8]) {
        let body = std::str::from_utf8(id)
            .ok()
            .and_then(|id| self.store.borrow().body_address(id));
        if let Some(address) = body {
            prefetch(address);
        }
    }

    /// `id` as text, when this shard owns it.
    fn owned<'a>(&self, id: &'a [u8]) -> Option<&'a str> {
        let id = std::str::from_utf8(id).ok()?;
        (self.owner(id) == self.id).then_some(id)
    }

    /// Applies one op on this shard. Must only be given ops this shard owns: a document command
    /// for a document hashed elsewhere is a programming error.
    pub fn op_apply(&self, op: ShardOp, now_ms: u64) -> OpOutput {
        match op {
            ShardOp::Doc(command) => {
                // Routing found the owner; hashing the id again for every op is a check for
                // the tests' debug builds, not a cost for every request in release.
                debug_assert_eq!(
                    self.owner(command.id()),
                    self.id,
                    "document routed to the wrong shard"
                );
                OpOutput::Reply(self.op_document(command, now_ms))
            }
            ShardOp::Keys(keys) => {
                let mut out = Vec::new();
                keys.collect(&self.store.borrow(), now_ms, &mut out);
                OpOutput::Keys(out)
            }
            ShardOp::Presence(command) => {
                assert_eq!(
                    self.owner(&command.id),
                    self.id,
                    "presence routed to the wrong shard"
                );
                OpOutput::Reply(self.op_presence(command))
            }
            ShardOp::Stats => OpOutput::Stats(self.stats()),
        }
    }

    /// Applies a document command on this, its owner shard, and publishes the change it made to
    /// the shards with a matching subscriber. The destinations are found before the write (a
    /// write cannot change them), so a write nobody watches never renders an event.
    ///
    /// With `--db` the change (and the removal of documents found expired) is recorded for the
    /// writer here, before the next command can change the document again; while commits fail,
    /// writes are refused before they apply.
    fn op_document(&self, command: DocCommand, now_ms: u64) -> Reply {
        if let Some(failure) = self.barrier.as_ref().and_then(|barrier| barrier.failing()) {
            if command.is_write() {
                return Reply::error(failure.to_string());
            }
        }
        let mut destinations = Vec::new();
        self.routes
            .borrow()
            .destinations(command.id().as_bytes(), &mut destinations);
        let id =
            (self.barrier.is_some() || !destinations.is_empty()).then(|| command.id().to_owned());
        let (reply, change) = command.apply(&mut self.store.borrow_mut(), now_ms);
        self.after_change(id.as_deref(), change.as_ref(), &destinations, now_ms);
        reply
    }

    /// What follows a command on document `id` (given when it is persisted or watched): its
    /// change, and the removal of documents the store found expired meanwhile, are recorded for
    /// the writer (with `--db`) and published to `destinations`. Must run before the next change
    /// to the document.
    fn after_change(
        &self,
        id: Option<&str>,
        change: Option<&Change>,
        destinations: &[usize],
        now_ms: u64,
    ) {
        let expired = {
            let mut store = self.store.borrow_mut();
            store.has_expired().then(|| store.take_expired())
        }
        .unwrap_or_default();
        if let (Some(barrier), Some(id)) = (&self.barrier, id) {
            let mut store = self.store.borrow_mut();
            persist::record(barrier, &mut store, id, change, &expired, now_ms);
        }
        // The documents found expired expired before this change: a write to an expired id
        // starts a new document, and its subscribers must see the old one go first.
        self.publish_expired(expired);
        if let (Some(id), Some(change), false) = (id, change, destinations.is_empty()) {
            self.publish_change(id, change, destinations, now_ms);
        }
    }

    /// Renders `change` of document `id` (owned here, changed just now) as an event and sends it
    /// to `destinations`. Must run before the next change to the document.
    fn publish_change(&self, id: &str, change: &Change, destinations: &[usize], now_ms: u64) {
        let payload = match self.store.borrow_mut().document(id, now_ms) {
            Some(document) => json_text::to_text(&document.event(id, change)),
            // The change removed the document: nothing left to read, only the version.
            None => EventBuilder::new(change.op.name())
                .field("id", id)
                .field("version", change.version)
                .encode()
                .to_vec(),
        };
        self.send_event(id, &Bytes::from(payload), destinations);
    }

    /// Tells subscribers that these documents (owned here) expired.
    fn publish_expired(&self, ids: Vec<Box<str>>) {
        for id in ids {
            self.publish(&id, || {
                EventBuilder::new("expire").field("id", &*id).encode()
            });
        }
    }

    /// Removes, every [`EXPIRY_SWEEP_INTERVAL`], the expired documents nobody touched, and
    /// publishes their expiry. Runs for the life of the shard.
    pub async fn sweep_expired(self: Rc<Self>) {
        loop {
            glommio::timer::sleep(EXPIRY_SWEEP_INTERVAL).await;
            let expired = {
                let mut store = self.store.borrow_mut();
                store.purge_expired(now_ms());
                store.take_expired()
            };
            if let Some(barrier) = &self.barrier {
                persist::record_removed(barrier, &expired);
                barrier.flush();
            }
            self.publish_expired(expired);
        }
    }

    /// With `--db`: rewrites this shard's log each time its writer asks (see
    /// `ussl_shards::storage::rewrite`). Runs for the life of the shard.
    pub async fn rewrite_log(self: Rc<Self>) {
        let Some(barrier) = self.barrier.clone() else {
            return;
        };
        loop {
            barrier.rewrite_asked().await;
            self.op_rewrite_log(&barrier).await;
        }
    }

    /// One rewrite: a start record, a snapshot of every document live now, then an end record,
    /// all in order with the shard's writes. The snapshots are made in steps of at most
    /// [`REWRITE_STEP_DOCUMENTS`] documents or [`REWRITE_STEP_BYTES`] bytes, each waiting for room
    /// under the uncommitted-bytes bound, so a rewrite never holds the shard for long. A document
    /// deleted or expired before its turn needs no snapshot: its removal is in the log.
    async fn op_rewrite_log(&self, barrier: &Barrier) {
        let mut ids = Vec::new();
        self.store
            .borrow()
            .keys(b"*", now_ms(), usize::MAX, &mut ids);
        barrier.record(Record::RewriteStart);
        let mut next = 0;
        let mut unreadable = None;
        while next < ids.len() && unreadable.is_none() {
            // While commits fail, snapshots would only pile up in the writer's retry queue.
            while barrier.failing().is_some() {
                glommio::timer::sleep(REWRITE_FAILING_PAUSE).await;
            }
            self.persist_room().await;
            let expired = {
                let mut store = self.store.borrow_mut();
                let (step_end, mut bytes) = ((next + REWRITE_STEP_DOCUMENTS).min(ids.len()), 0);
                while next < step_end && bytes < REWRITE_STEP_BYTES {
                    let id = &ids[next];
                    next += 1;
                    let Some(document) = store.document(id, now_ms()) else {
                        continue;
                    };
                    let state = match document.encode_state() {
                        Ok(state) => state,
                        Err(e) => {
                            unreadable = Some((id.clone(), e));
                            break;
                        }
                    };
                    bytes += state.len();
                    barrier.record(Record::Snapshot {
                        id: id.as_str().into(),
                        version: document.version(),
                        created: Created {
                            strategy: document.strategy(),
                            expires_at_ms: document.expires_at_ms(),
                        },
                        state,
                    });
                }
                store.take_expired()
            };
            persist::record_removed(barrier, &expired);
            self.publish_expired(expired);
            barrier.flush();
            futures_lite::future::yield_now().await;
        }
        // A document that cannot be snapshot must keep its history: the rewrite is left
        // unfinished (without its end record nothing before its start is dropped), and the next
        // one starts over.
        match unreadable {
            None => barrier.record(Record::RewriteEnd),
            Some((id, e)) => tracing::error!(
                shard = self.id,
                document = %id,
                error = %e,
                "log rewrite abandoned: a document's state could not be encoded"
            ),
        }
        barrier.flush();
        barrier.rewrite_done();
    }

    /// Sets or reads presence on a document this shard owns; a change is published.
    fn op_presence(&self, command: PresenceCommand) -> Reply {
        let Some(data) = command.data else {
            let all = self.presence.borrow().get(&command.id);
            return Reply::Bulk(Bytes::from(json_text::to_text(&all)));
        };
        if self
            .presence
            .borrow_mut()
            .set(&command.id, command.client, data.clone())
        {
            self.publish_presence(&command.id, command.client, data);
        }
        Reply::ok()
    }

    /// Ends a disconnected client's presence on a document this shard owns.
    fn op_presence_leave(&self, id: &str, client: u64) {
        if self.presence.borrow_mut().remove(id, client) {
            self.publish_presence(id, client, serde_json::Value::Null);
        }
    }

    fn publish_presence(&self, id: &str, client: u64, data: serde_json::Value) {
        self.publish(id, || {
            EventBuilder::new("presence")
                .field("id", id)
                .field("client", client)
                .field("data", data)
                .encode()
        });
    }

    /// Sends a change of document `id` (owned here) to every shard with a matching subscriber;
    /// `payload` builds the event only when someone wants it.
    pub fn publish(&self, id: &str, payload: impl FnOnce() -> Bytes) {
        let mut destinations = Vec::new();
        self.routes
            .borrow()
            .destinations(id.as_bytes(), &mut destinations);
        if !destinations.is_empty() {
            self.send_event(id, &payload(), &destinations);
        }
    }

    /// Delivers an event of document `id` here and queues it for the other `destinations`.
    fn send_event(&self, id: &str, payload: &Bytes, destinations: &[usize]) {
        for &to in destinations {
            if to == self.id {
                self.subscribers.borrow().deliver(id.as_bytes(), payload);
            } else {
                self.links.send(
                    to,
                    Notice::Event {
                        id: Bytes::copy_from_slice(id.as_bytes()),
                        payload: payload.clone(),
                    },
                );
            }
        }
    }

    /// Tells every shard that this one now has subscribers for `pattern`; returns one
    /// acknowledgement per other shard.
    pub fn announce(&self, pattern: Bytes) -> Vec<oneshot::Receiver<()>> {
        self.routes.borrow_mut().add(pattern.clone(), self.id);
        (0..self.count)
            .filter(|&to| to != self.id)
            .map(|to| {
                let (ack, acked) = oneshot::channel();
                let notice = Notice::Announce {
                    pattern: pattern.clone(),
                    shard: self.id,
                    ack: Some(ack),
                };
                self.links.send(to, notice);
                acked
            })
            .collect()
    }

    /// Drops `client`'s subscription to `pattern`, telling every shard when it was this shard's
    /// last subscriber for it. Returns how many patterns the client still holds.
    pub fn unsubscribe(&self, client: u64, pattern: &Bytes) -> usize {
        let changed = self.subscribers.borrow_mut().unsubscribe(client, pattern);
        if changed.announce {
            self.routes.borrow_mut().remove(pattern, self.id);
            for to in (0..self.count).filter(|&to| to != self.id) {
                let notice = Notice::Withdraw {
                    pattern: pattern.clone(),
                    shard: self.id,
                };
                self.links.send(to, notice);
            }
        }
        changed.count
    }

    /// Ends a closed connection's presence on document `id`, wherever that document lives.
    pub fn presence_leave(&self, id: DocId, client: u64) {
        let owner = self.owner(&id);
        if owner == self.id {
            self.op_presence_leave(&id, client);
        } else {
            self.links.send(owner, Notice::PresenceLeave { id, client });
        }
    }

    /// Acts on a notice from another shard.
    fn take_notice(&self, notice: Notice) {
        match notice {
            Notice::Event { id, payload } => self.subscribers.borrow().deliver(&id, &payload),
            Notice::Announce {
                pattern,
                shard,
                ack,
            } => {
                self.routes.borrow_mut().add(pattern, shard);
                if let Some(ack) = ack {
                    // The subscriber may have gone meanwhile; nobody waits then.
                    let _ = ack.send(());
                }
            }
            Notice::Withdraw { pattern, shard } => self.routes.borrow_mut().remove(&pattern, shard),
            Notice::PresenceLeave { id, client } => self.op_presence_leave(&id, client),
        }
    }

    /// Moves the notices queued for shard `to` over the mesh, in order, until that shard is gone.
    pub async fn drain_link(self: Rc<Self>, to: usize) {
        loop {
            let batch = self.links.next_batch(to, NOTICE_BATCH_MAX).await;
            if let Err(e) = self.send_message(to, ShardMessage::Notices(batch)).await {
                tracing::debug!(from = self.id, to, error = %e, "notice link closed");
                return;
            }
        }
    }

    /// Applies a run of SPLICEs on one document in one yrs transaction and returns their
    /// replies in order. Must only be given a document this shard owns.
    pub fn op_splice_batch(&self, splices: Vec<Splice>, now_ms: u64) -> Vec<Reply> {
        let Some(id) = splices.first().map(|splice| splice.id.clone()) else {
            return Vec::new();
        };
        assert_eq!(
            self.owner(&id),
            self.id,
            "document routed to the wrong shard"
        );
        let edits: Vec<(Path, Edit)> = splices
            .into_iter()
            .map(|splice| {
                let (_, path, edit) = splice.into_edit();
                (path, edit)
            })
            .collect();
        let count = edits.len();
        if let Some(failure) = self.barrier.as_ref().and_then(|barrier| barrier.failing()) {
            let reply = Reply::error(failure.to_string());
            return (0..count).map(|_| reply.clone()).collect();
        }
        let mut destinations = Vec::new();
        self.routes
            .borrow()
            .destinations(id.as_bytes(), &mut destinations);
        let result = self.store.borrow_mut().edit_text_batch(&id, edits, now_ms);
        let (replies, change) = match result {
            Ok((outcomes, change)) => (outcomes.into_iter().map(outcome_reply).collect(), change),
            Err(error) => {
                let reply = store_error(error);
                ((0..count).map(|_| reply.clone()).collect(), None)
            }
        };
        self.after_change(Some(&id), change.as_ref(), &destinations, now_ms);
        replies
    }

    /// Applies a batch of ops in order, running each run of consecutive SPLICEs on one document
    /// as one batch ([`Shard::op_splice_batch`]). Adds to `wrote` the indexes of the writes that
    /// made records for the database writer (with `--db`), whose replies must wait for it.
    pub fn op_apply_all(
        &self,
        ops: Vec<ShardOp>,
        now_ms: u64,
        wrote: &mut Vec<usize>,
    ) -> Vec<OpOutput> {
        let mut outputs = Vec::with_capacity(ops.len());
        let mut run: Vec<Splice> = Vec::new();
        for op in ops {
            match op {
                ShardOp::Doc(DocCommand::Splice(splice))
                    if run.first().is_none_or(|first| first.id == splice.id) =>
                {
                    run.push(splice);
                }
                op => {
                    self.apply_run(std::mem::take(&mut run), now_ms, &mut outputs, wrote);
                    match op {
                        ShardOp::Doc(DocCommand::Splice(splice)) => run.push(splice),
                        op => {
                            let write = op.is_write();
                            let before = self.records_made();
                            outputs.push(self.op_apply(op, now_ms));
                            if write && self.records_made() != before {
                                wrote.push(outputs.len() - 1);
                            }
                        }
                    }
                }
            }
        }
        self.apply_run(run, now_ms, &mut outputs, wrote);
        outputs
    }

    /// Applies a run of SPLICEs on one document (see [`Shard::op_splice_batch`]), appending
    /// their outputs, and their indexes to `wrote` when the run made records.
    fn apply_run(
        &self,
        run: Vec<Splice>,
        now_ms: u64,
        outputs: &mut Vec<OpOutput>,
        wrote: &mut Vec<usize>,
    ) {
        let before = self.records_made();
        let first = outputs.len();
        let replies = self.op_splice_batch(run, now_ms);
        outputs.extend(replies.into_iter().map(OpOutput::Reply));
        if self.records_made() != before {
            wrote.extend(first..outputs.len());
        }
    }

    /// Applies one peer's batch in order (see [`Shard::op_apply_all`]) and sends back its
    /// outputs; with `--db`, once the commit holding its writes is done (a task waits for it, so
    /// the next batch is served meanwhile). Writes whose commit failed answer the failure.
    fn serve_batch(&self, ops: Vec<ShardOp>, reply: oneshot::Sender<Vec<OpOutput>>) {
        let mark = self.records_made();
        let mut wrote = Vec::new();
        let outputs = self.op_apply_all(ops, now_ms(), &mut wrote);
        ShardCounters::add(&self.counters.remote_batches, 1);
        let recorded = self.records_made() != mark;
        let Some(barrier) = self.barrier.as_ref().filter(|_| recorded) else {
            // The connection may have closed meanwhile; its results are then dropped.
            let _ = reply.send(outputs);
            return;
        };
        let commit = barrier.wait(mark);
        barrier.flush();
        glommio::spawn_local(async move {
            let mut outputs = outputs;
            if let Err(failure) = commit.done().await {
                for index in wrote {
                    outputs[index] = OpOutput::Reply(not_durable(&failure));
                }
            }
            let _ = reply.send(outputs);
        })
        .detach();
    }

    /// A copy of this shard's counters.
    pub fn stats(&self) -> ShardStats {
        let store = self.store.borrow();
        let c = &self.counters;
        ShardStats {
            shard: self.id,
            documents: store.len(),
            expiring: store.expiring(),
            ms_left: store.ms_left(now_ms()),
            commands: c.commands.get(),
            connections: c.connections.get(),
            connections_total: c.connections_total.get(),
            connections_rejected: c.connections_rejected.get(),
            remote_batches: c.remote_batches.get(),
            persistence: self.barrier.as_ref().map(|barrier| barrier.stats()),
        }
    }

    /// Queues one round's ops for shard `to` (see [`crate::forward`]) and returns where their
    /// outputs will arrive.
    pub fn forward(&self, to: usize, ops: Vec<ShardOp>) -> oneshot::Receiver<Vec<OpOutput>> {
        self.forwards.queue(to, ops)
    }

    /// Sends the rounds queued for shard `to` as one batch per turn, for as long as this shard
    /// runs. Waits only when that shard's channel is full, which is the back-pressure the bounded
    /// mesh provides. Once that shard is gone, every round sent there learns it from its receiver.
    pub async fn drain_forwards(self: Rc<Self>, to: usize) {
        loop {
            let mut batch = self.forwards.next_batch(to).await;
            let (reply, outputs) = oneshot::channel();
            let ops = std::mem::take(&mut batch.ops);
            if let Err(e) = self
                .send_message(to, ShardMessage::Batch { ops, reply })
                .await
            {
                tracing::debug!(from = self.id, to, error = %e, "shard channel closed");
                batch.answer(None);
                continue;
            }
            glommio::spawn_local(async move { batch.answer(outputs.await.ok()) }).detach();
        }
    }

    /// Puts `message` on the channel to shard `to`, waiting while it is full.
    async fn send_message(&self, to: usize, message: ShardMessage) -> Result<(), String> {
        let Some(sender) = self.senders.get(to).and_then(Option::as_ref) else {
            return Err(format!("no channel from shard {} to shard {to}", self.id));
        };
        sender.send(message).await.map_err(|e| e.to_string())
    }

    /// Serves what one peer shard sends until that peer goes away: applies each batch's ops in
    /// order and sends back their outputs, and acts on notices. Never waits for room on this
    /// shard's own links (see [`crate::pubsub::links`] for why).
    pub async fn serve_peer(self: Rc<Self>, receiver: ConnectedReceiver<ShardMessage>) {
        while let Some(message) = receiver.recv().await {
            match message {
                ShardMessage::Batch { ops, reply } => {
                    self.persist_room().await;
                    self.serve_batch(ops, reply);
                }
                ShardMessage::Notices(notices) => {
                    for notice in notices {
                        self.take_notice(notice);
                    }
                }
            }
        }
    }
}

/// The reply to a write whose commit failed: it is applied, but not durable.
pub fn not_durable(failure: &Failure) -> Reply {
    if &**failure == persist::barrier::STOPPING {
        // Nothing will retry it: the process is about to exit.
        return Reply::error(format!(
            "{failure}: this write was applied but not committed, and is gone when it exits"
        ));
    }
    Reply::error(format!(
        "{failure} (this write is applied but not durable; it is retried and stored once the \
         database recovers)"
    ))
}

/// Asks the CPU to start loading the cache line at `address`.
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and reads nothing into the program.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(address.cast());
    }
}
