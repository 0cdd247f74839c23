//! JSON payloads. Every payload carries a time from the daemon's [`Clock`] (`utc` for
//! state, `at` for events) so a subscriber of a simulated night sees simulated time.
//! Shapes are documented in `docs/mqtt-telemetry.md`; change both together.

use serde::Serialize;
use serde_json::{Map, Value, json};
use teld_driver_protocol::time::format_utc;

use crate::clock::Clock;
use crate::core::{Event, Snapshot, TelescopeView};

use super::topics::Topics;

/// What the will says: the broker publishes it when teld vanishes without a goodbye.
pub const REASON_CONNECTION_LOST: &str = "connection lost";
pub const REASON_SHUTDOWN: &str = "shutdown";

/// Retained `status` while teld is connected. `since` is when this teld's telemetry
/// started, so a network blip does not reset it but a restart does.
pub fn status_online(site: &str, clock: &Clock, since: &str) -> Vec<u8> {
    let info = clock.info();
    let v = json!({
        "online": true,
        "software": crate::SOFTWARE,
        "site": site,
        "clock": { "utc": format_utc(clock.now()), "mode": info.mode, "speed": info.speed },
        "since": since,
        "schema": SCHEMA,
        "ts": real_ts(),
    });
    v.to_string().into_bytes()
}

/// Retained `status` once teld is gone. The will has no `utc`: it is written at connect
/// time and published by the broker whenever the loss happens.
pub fn status_offline(site: &str, reason: &str, utc: Option<&str>) -> Vec<u8> {
    let mut v = json!({ "online": false, "reason": reason, "site": site, "schema": SCHEMA });
    if let Some(utc) = utc {
        v["utc"] = Value::from(utc);
    }
    v.to_string().into_bytes()
}

/// Version of every payload's shape, sent as `schema`: bumped when a field changes
/// meaning or goes away (new fields do not bump it). See docs/mqtt-telemetry.md.
pub const SCHEMA: u32 = 1;

/// Real UTC now (µs), sent as `ts`: when teld published, for latency measurements
/// even when the daemon clock (`utc`, `at`) is simulated.
pub fn real_ts() -> String {
    hifitime::Epoch::now().map(format_utc).unwrap_or_default()
}

/// One retained message per known device, driver and telescope part: what a dashboard
/// needs to draw the site from scratch. Devices that never reported are left out rather
/// than published as `null`, so a retained last-known state is never wiped by a restart.
/// (The publisher stamps [`parts`] itself, to compare states before stamping.)
#[cfg(test)]
pub fn sample(topics: &Topics, snap: &Snapshot, utc: &str) -> Vec<(String, Vec<u8>)> {
    let ts = real_ts();
    parts(topics, snap).into_iter().map(|(topic, v)| (topic, stamp(v, utc, &ts))).collect()
}

/// The state of every part, unstamped: equal values mean nothing changed.
pub fn parts(topics: &Topics, snap: &Snapshot) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, t) in &snap.telescopes {
        for part in super::topics::TELESCOPE_PARTS {
            if let Some(v) = telescope_part(t, part) {
                push(&mut out, topics.telescope(name, part), v);
            }
        }
    }
    for (name, d) in &snap.drivers {
        push(&mut out, topics.driver(name), to_value(d));
    }
    out
}

/// Adds the daemon-clock `utc`, `schema` and the real `ts` to a part's state.
pub fn stamp(v: Value, utc: &str, ts: &str) -> Vec<u8> {
    let mut m = match v {
        Value::Object(m) => m,
        other => Map::from_iter([("value".to_string(), other)]),
    };
    m.insert("utc".into(), Value::from(utc));
    m.insert("schema".into(), Value::from(SCHEMA));
    m.insert("ts".into(), Value::from(ts));
    Value::Object(m).to_string().into_bytes()
}

fn telescope_part(t: &TelescopeView, part: &str) -> Option<Result<Value, serde_json::Error>> {
    Some(match part {
        "mount" => to_value(t.mount.as_ref()?),
        "camera" => to_value(t.camera.as_ref()?),
        "dome" => to_value(t.dome.as_ref()?),
        "weather" => to_value(t.weather.as_ref()?),
        "filter_wheel" => to_value(t.filter_wheel.as_ref()?),
        "focuser" => to_value(t.focuser.as_ref()?),
        "safety" => to_value(&t.safety),
        // Always published: an idle telescope must replace the retained last block,
        // or a dashboard would show a finished block forever.
        "block" => match &t.block {
            Some(b) => to_value(b).map(|mut v| {
                v["active"] = Value::Bool(true);
                v
            }),
            None => Ok(json!({ "active": false })),
        },
        "activity" => Ok(json!({ "activity": t.activity })),
        _ => return None,
    })
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, serde_json::Error> {
    serde_json::to_value(v)
}

fn push(out: &mut Vec<(String, Value)>, topic: String, v: Result<Value, serde_json::Error>) {
    match v {
        Ok(v) => out.push((topic, v)),
        // Our own types always serialise; if one ever stops, skip it rather than stop.
        Err(e) => tracing::error!(%topic, error = %e, "cannot serialise telemetry"),
    }
}

/// The event as the core serialises it (`type`, `at` on the daemon clock, …) plus
/// `schema` and the real `ts`.
pub fn event(event: &Event) -> Result<Vec<u8>, serde_json::Error> {
    let mut v = serde_json::to_value(event)?;
    if let Value::Object(m) = &mut v {
        m.insert("schema".into(), Value::from(SCHEMA));
        m.insert("ts".into(), Value::from(real_ts()));
    }
    serde_json::to_vec(&v)
}

/// An `events/alert` that says events were lost, shaped like [`Event::Alert`] plus a
/// machine-readable `dropped` count.
pub fn dropped_note(lagged: u64, overflowed: u64, at: &str) -> Vec<u8> {
    let mut why = Vec::new();
    if lagged > 0 {
        why.push(format!("{lagged} were produced faster than telemetry could read them"));
    }
    if overflowed > 0 {
        why.push(format!(
            "{overflowed} did not fit the backlog kept while the broker was unreachable"
        ));
    }
    let dropped = lagged + overflowed;
    json!({
        "type": "alert",
        "source": "telemetry",
        "message": format!(
            "{dropped} events were not published on MQTT ({}); the API and logs keep the full history",
            why.join("; ")
        ),
        "dropped": dropped,
        "at": at,
        "schema": SCHEMA,
        "ts": real_ts(),
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{BlockView, DriverStatus, DriverView};
    use hifitime::Epoch;
    use teld_driver_protocol::{DomeState, ShutterStatus};

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn online_status_names_software_site_and_clock() {
        let clock = Clock::manual(Epoch::from_gregorian_utc(2026, 11, 24, 22, 0, 0, 0));
        let v = parse(&status_online("s1", &clock, "2026-11-24T21:00:00.000000"));
        assert_eq!(v["online"], true);
        assert_eq!(v["software"], crate::SOFTWARE);
        assert_eq!(v["site"], "s1");
        assert_eq!(v["clock"]["utc"], "2026-11-24T22:00:00.000000");
        assert_eq!(v["clock"]["mode"], "manual");
        assert_eq!(v["clock"]["speed"], 0.0);
        assert_eq!(v["since"], "2026-11-24T21:00:00.000000");
    }

    #[test]
    fn offline_status_says_why() {
        let v = parse(&status_offline("s1", REASON_CONNECTION_LOST, None));
        assert_eq!(
            v,
            json!({"online": false, "reason": "connection lost", "site": "s1", "schema": 1})
        );
        let v = parse(&status_offline("s1", REASON_SHUTDOWN, Some("2026-01-01T00:00:00")));
        assert_eq!(v["reason"], "shutdown");
        assert_eq!(v["utc"], "2026-01-01T00:00:00");
    }

    #[test]
    fn sample_skips_silent_devices_and_stamps_utc() {
        let topics = Topics::new("p", "s").unwrap();
        let mut snap = Snapshot::default();
        let mut t = TelescopeView { activity: "waiting for night".into(), ..Default::default() };
        t.dome = Some(DomeState {
            connected: true,
            shutter_status: ShutterStatus::Closed,
            at_park: true,
            slewing: false,
        });
        snap.telescopes.insert("t1".into(), t);
        snap.drivers.insert(
            "sim".into(),
            DriverView {
                kind: "sim".into(),
                status: DriverStatus::Up,
                pid: Some(42),
                version: None,
                restarts: 0,
                last_error: None,
                faulted: Default::default(),
            },
        );
        let out: std::collections::BTreeMap<_, _> =
            sample(&topics, &snap, "UTC").into_iter().map(|(t, p)| (t, parse(&p))).collect();
        let names: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "p/s/drivers/sim",
                "p/s/telescopes/t1/activity",
                "p/s/telescopes/t1/block",
                "p/s/telescopes/t1/dome",
                "p/s/telescopes/t1/safety",
            ]
        );
        assert_eq!(out["p/s/telescopes/t1/dome"]["shutter_status"], "closed");
        assert_eq!(out["p/s/telescopes/t1/activity"]["activity"], "waiting for night");
        let block = &out["p/s/telescopes/t1/block"];
        assert_eq!(
            (&block["active"], &block["utc"], &block["schema"]),
            (&json!(false), &json!("UTC"), &json!(1))
        );
        assert!(block["ts"].as_str().is_some_and(|t| t.len() == 26), "{block}");
        assert_eq!(out["p/s/telescopes/t1/safety"]["safe"], false);
        assert_eq!(out["p/s/drivers/sim"]["status"], "up");
        assert!(out.values().all(|v| v["utc"] == "UTC"));
    }

    #[test]
    fn an_active_block_is_marked_active() {
        let topics = Topics::new("p", "s").unwrap();
        let mut snap = Snapshot::default();
        let block = BlockView {
            request_id: 7,
            observation_id: 9,
            target: "M31".into(),
            ra_deg: 10.68,
            dec_deg: 41.27,
            started_at: "2026-11-24T22:00:00".into(),
            frames_done: 1,
            frames_total: 3,
            phase: "exposing".into(),
            phase_since: "2026-11-24T22:00:30".into(),
        };
        snap.telescopes
            .insert("t1".into(), TelescopeView { block: Some(block), ..Default::default() });
        let out = sample(&topics, &snap, "UTC");
        let (_, p) = out.iter().find(|(t, _)| t.ends_with("/block")).unwrap();
        let v = parse(p);
        assert_eq!(v["active"], true);
        assert_eq!(v["target"], "M31");
        assert_eq!(v["frames_total"], 3);
    }

    #[test]
    fn dropped_note_counts_both_causes() {
        let v = parse(&dropped_note(3, 4, "T"));
        assert_eq!(v["type"], "alert");
        assert_eq!(v["source"], "telemetry");
        assert_eq!(v["dropped"], 7);
        let msg = v["message"].as_str().unwrap();
        assert!(msg.starts_with("7 events were not published"), "{msg}");
        assert!(msg.contains("3 were produced faster") && msg.contains("4 did not fit"), "{msg}");
    }
}
