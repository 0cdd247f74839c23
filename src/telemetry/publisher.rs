//! The publishing half: turns snapshots and events into MQTT messages and hands them to
//! rumqttc without ever waiting on the network, then says goodbye on shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, QoS};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::core::{Core, Event, Snapshot};

use super::connection::{LinkEvent, MAX_PACKET};
use super::outbox::{Message, Outbox};
use super::payload::{self, REASON_SHUTDOWN};
use super::topics::Topics;
use serde_json::Value;

/// When rumqttc's queue is full we try again this soon: it drains as fast as the socket
/// takes data, and ten checks a second cost nothing while keeping events prompt.
const RETRY: Duration = Duration::from_millis(100);

/// How long shutdown waits for queued events and the offline status to be acknowledged,
/// and then for the DISCONNECT to go out. A daemon stopping must not hang on a broker.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(3);
const SHUTDOWN_DISCONNECT: Duration = Duration::from_secs(1);

/// A topic whose state changes faster than this is published at this rate (the
/// latest state wins): a slewing mount reports many times a second, and subscribers
/// need the picture, not every step. The interval sample still comes on top.
const ON_CHANGE_MIN_GAP: Duration = Duration::from_millis(100);

/// Fixed header, topic length and packet id around the payload.
const PACKET_OVERHEAD: usize = 16;

pub struct Publisher {
    client: AsyncClient,
    topics: Topics,
    core: Core,
    clock: Clock,
    site: String,
    /// When this telemetry started (clock time), reported as `since` in the status.
    since: String,
    interval: Duration,
    outbox: Outbox,
    /// As last told by the connection: only then is anything handed to rumqttc, so
    /// nothing piles up in its queue (or is silently cleared there) while it is down.
    connected: bool,
    /// rumqttc's queue was full at the last attempt; retry after [`RETRY`].
    blocked: bool,
    /// Snapshot changes, for publishing state as it changes.
    changes: watch::Receiver<Arc<Snapshot>>,
    /// Per state topic: what was last handed over (unstamped) and when.
    last: HashMap<String, (Value, Instant)>,
    /// A change held back by [`ON_CHANGE_MIN_GAP`] is published then.
    deferred: Option<Instant>,
}

impl Publisher {
    pub fn new(
        client: AsyncClient,
        topics: Topics,
        core: Core,
        clock: Clock,
        site: String,
        interval: Duration,
        backlog: usize,
    ) -> Self {
        let since = teld_driver_protocol::time::format_utc(clock.now());
        let core_watch = core.clone();
        Publisher {
            client,
            topics,
            core,
            clock,
            site,
            since,
            interval,
            outbox: Outbox::new(backlog),
            connected: false,
            blocked: false,
            changes: core_watch.watch(),
            last: HashMap::new(),
            deferred: None,
        }
    }

    pub async fn run(
        mut self,
        mut events: broadcast::Receiver<Event>,
        mut link: mpsc::UnboundedReceiver<LinkEvent>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(self.interval);
        // A steady rate: after a stall, carry on at the next slot instead of bursting.
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut events_open = true;
        let mut changes_open = true;
        loop {
            crate::liveness::touch();
            tokio::select! {
                // Link news first: after a drop nothing more may go to rumqttc.
                biased;
                _ = shutdown.cancelled() => break,
                Some(ev) = link.recv() => {
                    self.on_link(ev);
                    if ev == LinkEvent::Up {
                        // Just published a full sample; the next one a full interval later.
                        tick.reset();
                    }
                }
                // Before events: it is ready once an interval, so it cannot starve them,
                // while a flood of events could starve it.
                _ = tick.tick() => if self.connected {
                    self.publish_sample();
                },
                received = events.recv(), if events_open => match received {
                    Ok(ev) => self.queue_event(&ev),
                    Err(RecvError::Lagged(n)) => self.note_lag(n),
                    Err(RecvError::Closed) => events_open = false,
                },
                changed = self.changes.changed(), if changes_open => match changed {
                    Ok(()) => if self.connected {
                        self.publish_changes();
                    },
                    // The core is gone: the daemon is stopping; shutdown follows.
                    Err(_) => changes_open = false,
                },
                _ = sleep_until_opt(self.deferred) => {
                    self.deferred = None;
                    if self.connected {
                        self.publish_changes();
                    }
                }
                _ = tokio::time::sleep(RETRY), if self.blocked => {}
            }
            self.flush();
        }
        self.close(&mut link).await;
    }

    fn on_link(&mut self, ev: LinkEvent) {
        match ev {
            LinkEvent::Up => {
                self.connected = true;
                // Status first, then a fresh picture, then events kept while away.
                let status = payload::status_online(&self.site, &self.clock, &self.since);
                if let Err(m) = self.hand_over(Message::status(self.topics.status(), status)) {
                    self.outbox.push_front(m);
                }
                self.publish_sample();
            }
            LinkEvent::Down | LinkEvent::Closed => {
                self.connected = false;
                self.outbox.connection_lost();
            }
            LinkEvent::Acked => self.outbox.acked(),
        }
    }

    fn queue_event(&mut self, ev: &Event) {
        match payload::event(ev) {
            Ok(p) => self.outbox.push(Message::event(self.topics.event(ev.kind()), p)),
            Err(e) => tracing::error!(error = %e, kind = ev.kind(), "cannot serialise event"),
        }
    }

    /// The broadcast channel overwrote events we had not read. Say so on MQTT where the
    /// gap is, and carry on.
    fn note_lag(&mut self, missed: u64) {
        tracing::warn!(
            missed,
            "telemetry fell behind the event stream; events are missing on MQTT"
        );
        let note = payload::dropped_note(missed, 0, &self.now());
        self.outbox.push(Message::event(self.topics.event("alert"), note));
    }

    /// Every device, driver and telescope part as it is now: QoS 0, because the next
    /// interval supersedes a lost sample.
    fn publish_sample(&mut self) {
        let snap = self.core.snapshot();
        let skipped = self.publish_parts(&snap, true);
        if skipped > 0 {
            tracing::debug!(skipped, "MQTT client queue full; state samples skipped this interval");
        }
    }

    /// The parts whose state differs from what was last published, each at most once
    /// per [`ON_CHANGE_MIN_GAP`]; one held back is published when its gap has passed.
    fn publish_changes(&mut self) {
        let snap = self.changes.borrow_and_update().clone();
        self.publish_parts(&snap, false);
    }

    /// Returns how many parts rumqttc's full queue made us skip.
    fn publish_parts(&mut self, snap: &Snapshot, all: bool) -> usize {
        let (utc, ts) = (self.now(), payload::real_ts());
        let now = Instant::now();
        let mut skipped = 0;
        for (topic, state) in payload::parts(&self.topics, snap) {
            if !all {
                match self.last.get(&topic) {
                    Some((prev, _)) if *prev == state => continue,
                    Some((_, at)) if now < *at + ON_CHANGE_MIN_GAP => {
                        let due = *at + ON_CHANGE_MIN_GAP;
                        self.deferred = Some(self.deferred.map_or(due, |d| d.min(due)));
                        continue;
                    }
                    _ => {}
                }
            }
            let payload = payload::stamp(state.clone(), &utc, &ts);
            let m = Message {
                topic: topic.clone(),
                payload,
                qos: QoS::AtMostOnce,
                retain: true,
                resend: false,
            };
            if self.hand_over(m).is_err() {
                skipped += 1;
            } else {
                self.last.insert(topic, (state, now));
            }
        }
        skipped
    }

    /// Hands queued events to rumqttc until its queue is full.
    fn flush(&mut self) {
        self.blocked = false;
        if !self.connected {
            return;
        }
        let overflowed = self.outbox.take_overflowed();
        if overflowed > 0 {
            tracing::warn!(
                overflowed,
                "MQTT event backlog overflowed while the broker was unreachable"
            );
            let note = payload::dropped_note(0, overflowed, &self.now());
            // The oldest were dropped, so the gap is at the head of the line.
            self.outbox.push_front(Message::event(self.topics.event("alert"), note));
        }
        while let Some(m) = self.outbox.pop() {
            if let Err(m) = self.hand_over(m) {
                self.outbox.unpop(m);
                self.blocked = true;
                break;
            }
        }
    }

    /// Gives `m` to rumqttc without waiting; gives it back if rumqttc's queue is full.
    fn hand_over(&mut self, m: Message) -> Result<(), Message> {
        // rumqttc refuses these with the same error as a full queue, and an oversized
        // packet would kill the connection on every retry: drop them here, loudly.
        if !rumqttc::valid_topic(&m.topic)
            || m.topic.len() + m.payload.len() + PACKET_OVERHEAD > MAX_PACKET
        {
            tracing::error!(topic = %m.topic, bytes = m.payload.len(), "MQTT message dropped: invalid topic or too large");
            return Ok(());
        }
        match self.client.try_publish(m.topic.clone(), m.qos, m.retain, m.payload.clone()) {
            Ok(()) => {
                self.outbox.sent(m);
                Ok(())
            }
            Err(_) => Err(m),
        }
    }

    /// Graceful end: queued events, then the retained offline status, then DISCONNECT
    /// (so the broker does not publish the will). Bounded in time; if the offline status
    /// cannot be handed over in time we leave without DISCONNECT, and the will says
    /// `connection lost` — never a retained `online` for a teld that is gone.
    async fn close(mut self, link: &mut mpsc::UnboundedReceiver<LinkEvent>) {
        if !self.connected {
            return;
        }
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        let offline = payload::status_offline(&self.site, REASON_SHUTDOWN, Some(&self.now()));
        self.outbox.push(Message::status(self.topics.status(), offline));
        self.flush();
        while !self.outbox.is_idle() {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                ev = link.recv() => match ev {
                    Some(LinkEvent::Acked) => self.outbox.acked(),
                    Some(LinkEvent::Up) => {}
                    // Gone already: the broker has published the will.
                    Some(LinkEvent::Down | LinkEvent::Closed) | None => return,
                },
                _ = tokio::time::sleep(RETRY), if self.blocked => {}
            }
            self.flush();
        }
        if self.outbox.backlog_len() > 0 {
            tracing::warn!(
                "MQTT broker too slow to take the offline status at shutdown; leaving without DISCONNECT so it publishes the last will"
            );
            return;
        }
        if self.client.try_disconnect().is_err() {
            return;
        }
        let deadline = Instant::now() + SHUTDOWN_DISCONNECT;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("MQTT DISCONNECT not sent in time; closing the connection anyway");
                    return;
                }
                ev = link.recv() => match ev {
                    Some(LinkEvent::Closed | LinkEvent::Down) | None => return,
                    Some(LinkEvent::Acked | LinkEvent::Up) => {}
                },
            }
        }
    }

    fn now(&self) -> String {
        teld_driver_protocol::time::format_utc(self.clock.now())
    }
}

/// Sleeps until `at`, or forever when there is nothing deferred.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
