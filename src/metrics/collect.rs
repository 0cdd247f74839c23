//! Builds the exposition at scrape time: gauges from the snapshot (no device call),
//! store aggregates from a 5 s cache, and the histograms the daemon keeps.

use std::time::Duration;

use teld_driver_protocol::{CameraStatus, ShutterStatus};

use super::{Exposition, Metrics, TrialOutcome, ingest_seconds};
use crate::api::ApiState;
use crate::auth::Role;
use crate::core::{ControlMode, DriverStatus};

/// A Prometheus scrape every 15 s or so never needs fresher counts; 5 s bounds the
/// store's work however often someone scrapes.
const STORE_MAX_AGE: Duration = Duration::from_secs(5);

const REQUEST_STATES: [&str; 7] =
    ["queued", "scheduled", "observing", "completed", "failed", "expired", "cancelled"];
const OUTCOMES: [&str; 5] = ["running", "completed", "aborted", "failed", "interrupted"];

/// A 0/1 gauge per telescope read from its view.
type Flag = fn(&crate::core::TelescopeView) -> bool;

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

pub async fn render(m: &Metrics, st: &ApiState) -> String {
    let mut e = Exposition::default();
    e.family("teld_build_info", "gauge", "Always 1; the version is the label.");
    e.sample("teld_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);

    let snap = st.core.snapshot();
    e.family(
        "teld_device_up",
        "gauge",
        "1 when the device last reported itself connected, 0 otherwise or before its first report.",
    );
    for (t, v) in &snap.telescopes {
        let devices = [
            ("mount", v.mount.as_ref().map(|s| s.connected)),
            ("camera", v.camera.as_ref().map(|s| s.connected)),
            ("dome", v.dome.as_ref().map(|s| s.connected)),
            ("weather", v.weather.as_ref().map(|s| s.connected)),
        ];
        for (d, up) in devices {
            e.sample("teld_device_up", &[("telescope", t), ("device", d)], flag(up == Some(true)));
        }
    }
    let per_telescope: [(&str, &str, Flag); 5] = [
        ("teld_mount_parked", "1 when the mount reports it is at park.", |v| {
            v.mount.as_ref().is_some_and(|s| s.at_park)
        }),
        ("teld_mount_slewing", "1 while the mount reports a slew.", |v| {
            v.mount.as_ref().is_some_and(|s| s.slewing)
        }),
        ("teld_dome_open", "1 when the dome shutter reports open.", |v| {
            v.dome.as_ref().is_some_and(|s| s.shutter_status == ShutterStatus::Open)
        }),
        ("teld_camera_exposing", "1 while the camera reports an exposure.", |v| {
            v.camera.as_ref().is_some_and(|s| s.camera_state == CameraStatus::Exposing)
        }),
        ("teld_safety_safe", "1 when the safety monitor considers the telescope safe.", |v| {
            v.safety.safe
        }),
    ];
    for (name, help, get) in per_telescope {
        e.family(name, "gauge", help);
        for (t, v) in &snap.telescopes {
            e.sample(name, &[("telescope", t)], flag(get(v)));
        }
    }
    e.family(
        "teld_safety_level",
        "gauge",
        "The site's graded safety state: 0 safe, 1 warn, 2 stop, 3 emergency.",
    );
    for (t, v) in &snap.telescopes {
        e.sample("teld_safety_level", &[("telescope", t)], f64::from(v.safety.level.rank()));
    }
    e.family(
        "teld_safety_transitions_total",
        "counter",
        "Times the site's safety state changed to each level since start.",
    );
    for (t, v) in &snap.telescopes {
        for level in crate::safety::SafetyLevel::ALL {
            let n = v.safety.entered[usize::from(level.rank())];
            e.sample(
                "teld_safety_transitions_total",
                &[("telescope", t), ("to", level.as_str())],
                n as f64,
            );
        }
    }
    // One series per mode, 1 for the current one: alert rules can say
    // `teld_telescope_mode{mode="manual"} == 1` without knowing codes.
    e.family("teld_telescope_mode", "gauge", "1 for the telescope's current control mode.");
    for (t, v) in &snap.telescopes {
        for mode in [ControlMode::Auto, ControlMode::Paused, ControlMode::Manual] {
            let labels = [("telescope", t.as_str()), ("mode", mode.as_str())];
            e.sample("teld_telescope_mode", &labels, flag(v.control.mode == mode));
        }
    }

    e.family("teld_sse_clients", "gauge", "Live event streams open now.");
    e.sample("teld_sse_clients", &[], st.feed.slots.total() as f64);
    e.family(
        "teld_auth_failures_total",
        "counter",
        "API calls refused for a missing or unknown token.",
    );
    e.sample("teld_auth_failures_total", &[], st.auth.auth_failures_total() as f64);
    e.family(
        "teld_rate_limited_total",
        "counter",
        "API calls refused by a token's rate limit, by role.",
    );
    for role in [Role::Observer, Role::Operator, Role::Admin] {
        e.sample(
            "teld_rate_limited_total",
            &[("role", role.as_str())],
            st.auth.rate_limited_total(role) as f64,
        );
    }

    e.family("teld_driver_up", "gauge", "1 while the driver process is up and answering.");
    for (d, v) in &snap.drivers {
        e.sample("teld_driver_up", &[("driver", d)], flag(v.status == DriverStatus::Up));
    }
    e.family("teld_driver_restarts_total", "counter", "Times the supervisor restarted the driver.");
    for (d, v) in &snap.drivers {
        e.sample("teld_driver_restarts_total", &[("driver", d)], f64::from(v.restarts));
    }
    updates(&mut e, &st.updates);
    e.family("teld_telemetry_connected", "gauge", "1 while the MQTT telemetry link is up.");
    e.sample("teld_telemetry_connected", &[], flag(snap.telemetry.connected));

    let counts = m.store_counts(&st.ledger.store, STORE_MAX_AGE).await;
    e.family("teld_store_up", "gauge", "1 when the last aggregate query of the store succeeded.");
    e.sample("teld_store_up", &[], flag(counts.error.is_none()));
    e.family("teld_requests", "gauge", "Requests by state; state=\"queued\" is the queue length.");
    for s in REQUEST_STATES {
        let n = counts.requests.get(s).copied().unwrap_or(0);
        e.sample("teld_requests", &[("state", s)], n as f64);
    }
    e.family("teld_observations_total", "counter", "Observation attempts by outcome.");
    for o in OUTCOMES {
        let n = counts.observations.get(o).copied().unwrap_or(0);
        e.sample("teld_observations_total", &[("outcome", o)], n as f64);
    }
    e.family("teld_handoff_pending", "gauge", "Frames not yet delivered to each handoff sink.");
    for &sink in st.observe.pipeline.sinks() {
        let n = counts.handoffs.get(sink).map_or(0, |c| c.pending);
        e.sample("teld_handoff_pending", &[("sink", sink)], n as f64);
    }

    let plan = st.planner.view();
    e.family("teld_plan_value", "gauge", "Summed value of tonight's plan at the last repair.");
    e.sample("teld_plan_value", &[], plan.value);
    e.family(
        "teld_plan_bound",
        "gauge",
        "Upper bound on any plan's value tonight (fractional knapsack over the telescopes' night time).",
    );
    e.sample("teld_plan_bound", &[], plan.bound);
    e.family(
        "teld_plan_bound_gap_ratio",
        "gauge",
        "1 - plan value / bound; 0 when the bound is 0.",
    );
    let gap = if plan.bound > 0.0 { (1.0 - plan.value / plan.bound).max(0.0) } else { 0.0 };
    e.sample("teld_plan_bound_gap_ratio", &[], gap);
    e.family("teld_plan_unplanned", "gauge", "Open requests that do not fit tonight.");
    e.sample("teld_plan_unplanned", &[], plan.unplanned.len() as f64);

    e.family(
        "teld_ingest_seconds",
        "histogram",
        "Frame ingest, spool file read to FITS file placed in the archive (real time).",
    );
    e.histogram("teld_ingest_seconds", &[], &ingest_seconds().snapshot());

    let http = m.http_series();
    e.family("teld_http_requests_total", "counter", "HTTP requests answered.");
    for ((method, route, code), h) in &http {
        let code = code.to_string();
        let labels = [("method", *method), ("route", route.as_str()), ("code", code.as_str())];
        e.sample("teld_http_requests_total", &labels, h.count as f64);
    }
    e.family(
        "teld_http_request_duration_seconds",
        "histogram",
        "Time to produce the response head, by method, route template and status.",
    );
    for ((method, route, code), h) in &http {
        let code = code.to_string();
        let labels = [("method", *method), ("route", route.as_str()), ("code", code.as_str())];
        e.histogram("teld_http_request_duration_seconds", &labels, h);
    }
    e.finish()
}

/// Driver updates: the versions from the service's views (what it last journaled),
/// the counts from its counters. A site without updates has no kinds, only checks.
fn updates(e: &mut Exposition, u: &crate::update::handle::Updates) {
    let views = u.views();
    e.family(
        "teld_update_installed_info",
        "gauge",
        "Always 1; the driver kind's running build is the version label (teld's own version for the shipped driver).",
    );
    for (kind, v) in &views {
        let version = v.installed.as_ref().map_or(env!("CARGO_PKG_VERSION"), |b| &b.version);
        e.sample("teld_update_installed_info", &[("kind", kind), ("version", version)], 1.0);
    }
    e.family("teld_update_trials_total", "counter", "Trials of new driver builds, by outcome.");
    for kind in views.keys() {
        for o in TrialOutcome::ALL {
            let n = u.counters().trials(kind, o);
            e.sample(
                "teld_update_trials_total",
                &[("kind", kind), ("outcome", o.as_str())],
                n as f64,
            );
        }
    }
    let (ok, error) = u.counters().checks();
    e.family(
        "teld_update_checks_total",
        "counter",
        "Checks of the update source; error when its metadata did not verify or could not be read.",
    );
    e.sample("teld_update_checks_total", &[("result", "ok")], ok as f64);
    e.sample("teld_update_checks_total", &[("result", "error")], error as f64);
    e.family(
        "teld_update_waiting",
        "gauge",
        "1 while an available build waits for the kind's telescopes to be idle.",
    );
    for (kind, v) in &views {
        e.sample("teld_update_waiting", &[("kind", kind)], flag(v.waiting.is_some()));
    }
}
