//! What the executor and safety monitor of every telescope share.

use std::sync::Arc;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{ObservingConfig, QuicklookConfig, SafetyConfig, SiteConfig, TelescopeConfig};
use crate::core::Core;
use crate::ingest::Archive;
use crate::ledger::Ledger;
use crate::pipeline::Pipeline;
use crate::schedule::Yield;
use crate::store::Store;

pub struct ObserveContext {
    pub clock: Clock,
    pub core: Core,
    pub store: Store,
    pub ledger: Ledger,
    pub archive: Arc<Archive>,
    pub site: SiteConfig,
    pub observing: ObservingConfig,
    pub safety: SafetyConfig,
    pub quicklook: QuicklookConfig,
    /// Quick-look and handoff of each stored frame.
    pub pipeline: Pipeline,
    /// Bumped when a request arrives, so an idle executor re-plans at once (a counter
    /// in a watch channel cannot be missed the way a bare notification can).
    pub wake: watch::Sender<u64>,
    /// Running blocks the planner wants stopped for a rapid-response request
    /// (`observing.rapid_response_abort`); the planner holds the sender.
    pub yields: watch::Receiver<Vec<Yield>>,
    /// The operator's site-wide stop (`POST /api/v1/safety/stop`), stored before it is
    /// published here; every safety monitor reads it.
    pub hold: watch::Sender<Option<crate::store::HoldRecord>>,
    /// Where long-running tasks beat (the watchdog checks them).
    pub liveness: crate::liveness::Liveness,
}

impl ObserveContext {
    /// Lowest altitude for science on this telescope.
    pub fn min_altitude(&self, tel: &TelescopeConfig) -> f64 {
        tel.min_altitude_deg.unwrap_or(self.observing.min_altitude_deg)
    }

    /// Tells every executor to re-plan.
    pub fn wake_executors(&self) {
        self.wake.send_modify(|n| *n += 1);
    }

    pub fn set_activity(&self, telescope: &str, activity: impl Into<String>) {
        let activity = activity.into();
        self.core.update(|s| {
            let t = s.telescopes.entry(telescope.to_string()).or_default();
            if t.activity != activity {
                tracing::info!(telescope, "{activity}");
                t.activity = activity;
            }
        });
    }
}
