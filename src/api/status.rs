//! `/healthz` and `/api/v1/status`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

use super::ApiState;
use crate::observe::night::night;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Status {
    software: &'static str,
    site: Value,
    clock: Value,
    night: Value,
    telescopes: Value,
    drivers: Value,
    telemetry: Value,
    /// Per handoff sink: frames delivered, pending, retrying (from the store's outbox).
    handoff: Value,
}

pub async fn status(State(st): State<ApiState>) -> Json<Value> {
    let now = st.clock.now();
    let snap = st.core.snapshot();
    let n = night(&st.site.site(), now, st.observe.observing.sun_altitude_max_deg);
    let info = st.clock.info();
    // Sky flats are possible while the Sun is in observing.flats_sun_altitude_deg.
    let [lo, hi] = st.observe.observing.flats_sun_altitude_deg;
    let flats_possible = (lo..=hi).contains(&n.sun_altitude_deg);
    let s = Status {
        software: crate::SOFTWARE,
        site: json!({
            "name": st.site.name,
            "latitude_deg": st.site.latitude_deg,
            "longitude_deg": st.site.longitude_deg,
            "height_m": st.site.height_m,
        }),
        clock: json!({
            "utc": teld_driver_protocol::time::format_utc(now),
            "mode": info.mode,
            "speed": info.speed,
        }),
        night: json!({
            "sun_altitude_deg": (n.sun_altitude_deg * 100.0).round() / 100.0,
            "is_night": n.is_night,
            "next_change": n.next_change.map(teld_driver_protocol::time::format_utc),
            "flats_possible": flats_possible,
        }),
        telescopes: serde_json::to_value(&snap.telescopes).unwrap_or(Value::Null),
        drivers: serde_json::to_value(&snap.drivers).unwrap_or(Value::Null),
        telemetry: serde_json::to_value(&snap.telemetry).unwrap_or(Value::Null),
        handoff: handoff(&st).await,
    };
    Json(serde_json::to_value(s).unwrap_or(Value::Null))
}

async fn handoff(st: &ApiState) -> Value {
    let mut out = serde_json::Map::new();
    for &sink in st.observe.pipeline.sinks() {
        let counts = match st.ledger.store.handoff_counts(sink).await {
            Ok(c) => serde_json::to_value(c).unwrap_or(Value::Null),
            Err(e) => json!({ "error": e.to_string() }),
        };
        out.insert(sink.to_string(), counts);
    }
    Value::Object(out)
}
