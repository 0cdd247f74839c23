//! The observatory's live state and its event stream.
//!
//! State is one [`Snapshot`] held in a `watch` channel: writers (supervisor, executor,
//! safety, telemetry) apply small updates with `send_modify`, readers (API, telemetry)
//! take a cheap `Arc` of the latest snapshot. No lock is ever held across an await.
//! Events (request state changes, frames, alerts) go out on a broadcast channel to
//! whoever listens: MQTT telemetry now, server-sent events later.

mod event;
mod snapshot;

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

pub use event::{Event, FrameSource, ObservationPhase};
pub use snapshot::{
    BlockView, ControlMode, ControlView, DriverStatus, DriverView, SafetyView, Snapshot,
    TelemetryView, TelescopeView,
};

/// Events kept for slow subscribers; one who falls further behind is told how many it
/// missed rather than slowing down the observatory.
const EVENT_BUFFER: usize = 1024;

#[derive(Clone)]
pub struct Core {
    state: Arc<watch::Sender<Arc<Snapshot>>>,
    events: broadcast::Sender<Event>,
}

impl Core {
    pub fn new(initial: Snapshot) -> Self {
        let (state, _) = watch::channel(Arc::new(initial));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Core { state: Arc::new(state), events }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.state.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.state.subscribe()
    }

    /// Applies `f` to a copy of the state and publishes it.
    pub fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        self.state.send_modify(|s| f(Arc::make_mut(s)));
    }

    pub fn publish(&self, event: Event) {
        tracing::debug!(?event, "event");
        // No subscriber is fine: events are also stored or logged by their producers.
        let _ = self.events.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}
