//! The live feed behind `GET /api/v1/events`: every event and every change of a
//! telescope's or driver's state, numbered, serialised once, kept in a small ring
//! so a client that reconnects gets exactly what it missed.
//!
//! Ids are `<boot>-<seq>`: `boot` is random per process, `seq` rises by one per
//! item. A client presenting an id of another boot, or older than the ring, is told
//! to `reset` and starts again from a snapshot. The ring bridges reconnects; it is
//! not the system of record (REST is).

mod hub;
mod ring;
pub mod slots;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::{Caller, TokenId};
use crate::clock::Clock;
use crate::core::Core;

pub use hub::{run, watch_plan};
pub use ring::RING;

/// Payload version: bumped when a field changes meaning.
pub const SCHEMA: u32 = 1;

/// One item of the feed, shared by every client.
#[derive(Debug)]
pub struct FeedItem {
    pub seq: u64,
    /// `telescope`, `driver`, `request`, `observation`, `frame`, `safety`, `alert`, `plan`.
    pub kind: &'static str,
    /// Request, observation and frame items are private to the request's owner (and
    /// operators); everything else is public to every caller.
    pub scoped: bool,
    pub owner: Option<TokenId>,
    /// The whole payload, serialised once.
    pub json: Arc<str>,
}

impl FeedItem {
    pub fn visible_to(&self, caller: &Caller) -> bool {
        !self.scoped || caller.owns_or_oversees(self.owner)
    }
}

/// Where a new client's stream starts.
#[derive(Debug)]
pub enum Start {
    /// No id given: a snapshot, then live items.
    Hello,
    /// A known id: these items (possibly none), then live ones.
    Replay(Vec<Arc<FeedItem>>),
    /// An id this feed cannot continue from: `reset`, a snapshot, then live items.
    Reset { reason: &'static str },
}

pub struct Feed {
    boot: String,
    ring: Mutex<ring::Ring>,
    tx: broadcast::Sender<Arc<FeedItem>>,
    core: Core,
    clock: Clock,
    /// Streams end when this is cancelled, so graceful shutdown is not held open by
    /// clients that never hang up.
    shutdown: CancellationToken,
    /// Open streams per token.
    pub slots: Arc<slots::Slots>,
}

impl Feed {
    pub fn new(core: Core, clock: Clock, shutdown: CancellationToken) -> Arc<Feed> {
        let mut b = [0u8; 4];
        // Uniqueness across restarts is what matters; a failed RNG falls back to the
        // process id and time, still different from the last boot in practice.
        if getrandom::fill(&mut b).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            b = (t ^ std::process::id()).to_be_bytes();
        }
        let boot = b.iter().map(|x| format!("{x:02x}")).collect();
        Arc::new(Feed {
            boot,
            ring: Mutex::new(ring::Ring::default()),
            tx: broadcast::channel(1024).0,
            core,
            clock,
            shutdown,
            slots: Arc::default(),
        })
    }

    pub fn boot(&self) -> &str {
        &self.boot
    }

    pub fn id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.boot)
    }

    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Numbers, serialises and sends one item. `payload` holds the kind's fields;
    /// the common ones (`schema`, `id`, `type`, `real_at`) are added here.
    pub fn push(
        &self,
        kind: &'static str,
        scoped: bool,
        owner: Option<TokenId>,
        mut payload: Map<String, Value>,
    ) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let seq = ring.next_seq();
        payload.insert("schema".into(), SCHEMA.into());
        payload.insert("id".into(), self.id(seq).into());
        payload.insert("type".into(), kind.into());
        payload.entry("at").or_insert_with(|| self.now().into());
        payload.insert("real_at".into(), real_now().into());
        let json: Arc<str> = Value::Object(payload).to_string().into();
        let item = Arc::new(FeedItem { seq, kind, scoped, owner, json });
        ring.push(item.clone());
        // Under the lock, so a client's replay and subscription agree (see `connect`).
        let _ = self.tx.send(item);
    }

    /// Starts a client: where its stream begins and its live receiver, taken under
    /// one lock so no item is lost or sent twice between replay and live. Also the
    /// head sequence the `hello` snapshot stands for.
    pub fn connect(
        &self,
        last_event_id: Option<&str>,
    ) -> (Start, u64, broadcast::Receiver<Arc<FeedItem>>) {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.tx.subscribe();
        let head = ring.head();
        let start = match last_event_id.map(|id| self.parse(id)) {
            None => Start::Hello,
            Some(Err(reason)) => Start::Reset { reason },
            Some(Ok(seq)) => match ring.after(seq) {
                Some(items) => Start::Replay(items),
                None => Start::Reset { reason: "gap" },
            },
        };
        (start, head, rx)
    }

    /// Items after `seq` still in the ring (for a client that lagged); `None` if
    /// some are gone.
    pub fn since(&self, seq: u64) -> Option<Vec<Arc<FeedItem>>> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner()).after(seq)
    }

    /// The oldest id still in the ring (what a reset tells the client).
    pub fn oldest(&self) -> String {
        self.id(self.ring.lock().unwrap_or_else(|p| p.into_inner()).oldest())
    }

    fn parse(&self, id: &str) -> Result<u64, &'static str> {
        let (boot, seq) = id.trim().rsplit_once('-').ok_or("gap")?;
        let seq: u64 = seq.parse().map_err(|_| "gap")?;
        if boot != self.boot {
            return Err("restarted");
        }
        Ok(seq)
    }

    /// The `hello` payload: the state a client starts from, standing for every item
    /// up to `head`.
    pub fn hello(&self, head: u64) -> String {
        let snap = self.core.snapshot();
        let v = serde_json::json!({
            "schema": SCHEMA,
            "id": self.id(head),
            "type": "hello",
            "boot": self.boot,
            "at": self.now(),
            "real_at": real_now(),
            "telescopes": snap.telescopes,
            "drivers": snap.drivers,
        });
        v.to_string()
    }

    pub fn reset(&self, reason: &str) -> String {
        serde_json::json!({
            "schema": SCHEMA,
            "type": "reset",
            "reason": reason,
            "oldest": self.oldest(),
            "at": self.now(),
            "real_at": real_now(),
        })
        .to_string()
    }

    fn now(&self) -> String {
        teld_driver_protocol::time::format_utc(self.clock.now())
    }
}

/// Wall-clock UTC with microseconds: what latency is measured against, whatever the
/// daemon's (possibly simulated) clock says.
pub fn real_now() -> String {
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let t = hifitime::Epoch::from_unix_seconds(since.as_secs_f64());
    teld_driver_protocol::time::format_utc(t)
}

/// Items kept for replay, oldest first.
pub(crate) type Items = VecDeque<Arc<FeedItem>>;

#[cfg(test)]
mod tests;
