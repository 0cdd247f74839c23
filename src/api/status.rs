//! `GET /api/v1/status`: the whole observatory in one answer. It is the endpoint
//! dashboards poll, so it reads only memory: the snapshot, a cached night, and store
//! counts at most 1 s old.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use hifitime::Epoch;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ApiState;
use crate::observe::night::{Night, night};
use crate::store::HandoffCounts;

/// Handoff counts may lag the store by this much.
const HANDOFF_MAX_AGE: Duration = Duration::from_secs(1);
/// The night is recomputed after this much *daemon-clock* time, or as soon as its
/// `next_change` has passed; the Sun moves 0.04° in 10 s.
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
    pub telescopes: Value,
    /// Per driver: kind, status (`starting`, `up`, `down`), pid, version, restarts.
    #[schema(value_type = BTreeMap<String, Object>)]
    pub drivers: Value,
    #[schema(value_type = Object)]
    pub telemetry: Value,
    /// Per handoff sink: frames delivered, pending, retrying (from the store's outbox).
    pub handoff: BTreeMap<String, HandoffView>,
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
        telescopes: serde_json::to_value(&snap.telescopes).unwrap_or(Value::Null),
        drivers: serde_json::to_value(&snap.drivers).unwrap_or(Value::Null),
        telemetry: serde_json::to_value(&snap.telemetry).unwrap_or(Value::Null),
        handoff,
    })
}

/// The last night computed, with the clock time it was computed for. One per
/// process: a process runs one daemon, one site.
static NIGHT: Mutex<Option<(Epoch, Night)>> = Mutex::new(None);

/// `night()` searches for the next Sun crossing (hundreds of Sun positions); doing
/// that per call would dominate the cost of `/status`.
fn cached_night(st: &ApiState, now: Epoch) -> Night {
    let mut cache = NIGHT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, n)) = cache.as_ref() {
        let age = (now - *at).to_seconds();
        let flipped = n.next_change.is_some_and(|c| c <= now);
        if (0.0..NIGHT_MAX_AGE_S).contains(&age) && !flipped {
            return *n;
        }
    }
    let n = night(&st.site.site(), now, st.observe.observing.sun_altitude_max_deg);
    *cache = Some((now, n));
    n
}
