//! `GET /api/v1/status`: the whole observatory in one answer. It is the endpoint
//! dashboards poll, so it reads only memory: the snapshot, a cached night, and store
//! counts at most 1 s old.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use hifitime::Epoch;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use crate::core::Snapshot;
use crate::observe::night::{Night, night};
use crate::store::HandoffCounts;

/// Handoff counts may lag the store by this much.
const HANDOFF_MAX_AGE: Duration = Duration::from_secs(1);
/// The night's answer is reused for this much *daemon-clock* time.
const NIGHT_MAX_AGE_S: f64 = 10.0;

#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `teld <version>`.
    pub software: &'static str,
    pub site: SiteInfo,
    pub clock: ClockView,
    pub night: NightView,
    /// Per telescope: each device's last reported state, safety, activity and block.
    #[schema(value_type = BTreeMap<String, Object>)]
    pub telescopes: Part,
    /// Per driver: kind, status (`starting`, `up`, `down`), pid, version, restarts.
    #[schema(value_type = BTreeMap<String, Object>)]
    pub drivers: Part,
    #[schema(value_type = Object)]
    pub telemetry: Part,
    /// Per handoff sink: frames delivered, pending, retrying (from the store's outbox).
    pub handoff: BTreeMap<String, HandoffView>,
}

/// One part of the snapshot, serialised straight from the shared snapshot: no copy
/// into an intermediate JSON tree on every call.
pub enum Part {
    Telescopes(Arc<Snapshot>),
    Drivers(Arc<Snapshot>),
    Telemetry(Arc<Snapshot>),
}

impl Serialize for Part {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Telescopes(x) => x.telescopes.serialize(s),
            Part::Drivers(x) => x.drivers.serialize(s),
            Part::Telemetry(x) => x.telemetry.serialize(s),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SiteInfo {
    pub name: String,
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub height_m: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ClockView {
    /// The daemon's clock (simulated when `mode` is `simulated`), UTC.
    pub utc: String,
    pub mode: &'static str,
    pub speed: f64,
}

#[derive(Serialize, ToSchema)]
pub struct NightView {
    pub sun_altitude_deg: f64,
    pub is_night: bool,
    /// When `is_night` next flips; null in polar day or night.
    pub next_change: Option<String>,
    pub flats_possible: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum HandoffView {
    Counts { delivered: u64, pending: u64, retrying: u64 },
    Error { error: String },
}

impl From<&HandoffCounts> for HandoffView {
    fn from(c: &HandoffCounts) -> Self {
        HandoffView::Counts { delivered: c.delivered, pending: c.pending, retrying: c.retrying }
    }
}

#[utoipa::path(get, path = "/api/v1/status", operation_id = "status", tag = "status",
    responses((status = 200, description = "The observatory now", body = Status)))]
pub async fn status(State(st): State<ApiState>) -> Json<Status> {
    let now = st.clock.now();
    let snap = st.core.snapshot();
    let n = cached_night(&st, now);
    let info = st.clock.info();
    // Sky flats are possible while the Sun is in observing.flats_sun_altitude_deg.
    let [lo, hi] = st.observe.observing.flats_sun_altitude_deg;
    let counts = st.metrics.store_counts(&st.ledger.store, HANDOFF_MAX_AGE).await;
    let handoff = st
        .observe
        .pipeline
        .sinks()
        .iter()
        .map(|&sink| {
            let v = match &counts.error {
                Some(e) => HandoffView::Error { error: e.clone() },
                None => HandoffView::from(&counts.handoffs.get(sink).cloned().unwrap_or_default()),
            };
            (sink.to_string(), v)
        })
        .collect();
    Json(Status {
        software: crate::SOFTWARE,
        site: SiteInfo {
            name: st.site.name.clone(),
            latitude_deg: st.site.latitude_deg,
            longitude_deg: st.site.longitude_deg,
            height_m: st.site.height_m,
        },
        clock: ClockView {
            utc: teld_driver_protocol::time::format_utc(now),
            mode: info.mode,
            speed: info.speed,
        },
        night: NightView {
            sun_altitude_deg: (n.sun_altitude_deg * 100.0).round() / 100.0,
            is_night: n.is_night,
            next_change: n.next_change.map(teld_driver_protocol::time::format_utc),
            flats_possible: (lo..=hi).contains(&n.sun_altitude_deg),
        },
        telescopes: Part::Telescopes(Arc::clone(&snap)),
        drivers: Part::Drivers(Arc::clone(&snap)),
        telemetry: Part::Telemetry(snap),
        handoff,
    })
}

/// The last night computed, with the clock time it was computed for. One per
/// process: a process runs one daemon, one site.
static NIGHT: Mutex<Option<(Epoch, Night)>> = Mutex::new(None);

/// `night()` searches for the next Sun crossing (hundreds of Sun positions), and even
/// one Sun position costs more than the rest of `/status`. So the whole answer is
/// reused for [`NIGHT_MAX_AGE_S`] of clock time (the Sun moves 0.04° in 10 s); then
/// only the altitude is recomputed while the cached crossing is still ahead, and the
/// search runs again once it has passed (or the clock went backwards, or there is no
/// crossing). Computed outside the lock, so other calls keep answering meanwhile.
fn cached_night(st: &ApiState, now: Epoch) -> Night {
    let max = st.observe.observing.sun_altitude_max_deg;
    let cached = *NIGHT.lock().unwrap_or_else(|p| p.into_inner());
    let n = match cached {
        Some((at, n)) => {
            let age = (now - at).to_seconds();
            let ahead = n.next_change.is_some_and(|c| now < c);
            if (0.0..NIGHT_MAX_AGE_S).contains(&age) && (ahead || n.next_change.is_none()) {
                return n;
            }
            if age >= 0.0 && ahead {
                // Outside 1901-2099 the Sun cannot be computed; "day" is the safe answer.
                let alt = teld_astro::sun::altitude_deg(&st.site.site(), now).unwrap_or(90.0);
                Night { sun_altitude_deg: alt, is_night: alt < max, next_change: n.next_change }
            } else {
                night(&st.site.site(), now, max)
            }
        }
        None => night(&st.site.site(), now, max),
    };
    *NIGHT.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, n));
    n
}
