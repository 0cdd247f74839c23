//! `/metrics` and `/readyz` of the real daemon: the exposition is parsed by the
//! reference parser (PyPI `prometheus-client`), the families the docs promise are
//! there, histograms are cumulative; readiness drops while a driver is dead and comes
//! back when the supervisor has restarted it.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::daemon::{Teld, TestSite, signal};
use common::{http, peers};
use serde_json::Value;

const NIGHT: &str = "2026-11-24T19:30:00";

/// The parser's view of each family: `{name: {type, samples: [[name, labels, value]]}}`.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"#;

fn parse_with_reference(py: &std::path::Path, text: &str) -> BTreeMap<String, Value> {
    let mut child = Command::new(py)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn metrics_parse_with_the_reference_parser_and_readyz_follows_the_drivers() {
    let Some(py) = peers::require(
        peers::prometheus_parser(),
        "prometheus-client (PyPI)",
        "parsing /metrics with the reference parser",
    ) else {
        return;
    };
    // A slow first restart, so the dead driver is seen as down before it is back.
    let site = TestSite::new(
        "metrics",
        &[("kind = \"sim\"", "kind = \"sim\"\nrestart_backoff_initial_s = 2.0")],
        "",
    );
    let teld = Teld::start(&site, NIGHT, 60.0);
    let ready = teld.wait_for("/readyz 200", Duration::from_secs(30), |t| {
        let r = http::get(t.addr, "/readyz");
        (r.status == 200).then(|| r.json())
    });
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["checks"]["store"]["ok"], true);
    assert_eq!(ready["checks"]["driver:sim"]["ok"], true);

    // Work for the planner, so the plan has a value and the bound means something.
    for (name, ra) in [("m1", 83.6), ("m2", 40.0), ("m3", 120.0)] {
        teld.submit(&format!(
            r#"{{"name": "{name}", "target": {{"name": "{name}", "ra_deg": {ra}, "dec_deg": 22.0}},
                "exposure_s": 60, "count": 5, "priority": 50}}"#
        ));
    }
    teld.wait_for("a plan with value", Duration::from_secs(60), |t| {
        (t.get("/api/v1/plan")["value"].as_f64() > Some(0.0)).then_some(())
    });
    // Some traffic of each kind, so the HTTP families have series.
    for path in ["/api/v1/status", "/api/v1/requests/abc", "/nowhere", "/api/v1/plan"] {
        http::get(teld.addr, path);
    }
    let r = http::get(teld.addr, "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = r.text();
    let families = parse_with_reference(&py, &text);
    for (name, kind) in [
        ("teld_build_info", "gauge"),
        ("teld_device_up", "gauge"),
        ("teld_mount_parked", "gauge"),
        ("teld_mount_slewing", "gauge"),
        ("teld_dome_open", "gauge"),
        ("teld_camera_exposing", "gauge"),
        ("teld_safety_safe", "gauge"),
        ("teld_telescope_mode", "gauge"),
        ("teld_sse_clients", "gauge"),
        ("teld_auth_failures", "counter"),
        ("teld_rate_limited", "counter"),
        ("teld_driver_up", "gauge"),
        // The parser names counters without their `_total`.
        ("teld_driver_restarts", "counter"),
        ("teld_requests", "gauge"),
        ("teld_observations", "counter"),
        ("teld_handoff_pending", "gauge"),
        ("teld_plan_value", "gauge"),
        ("teld_plan_bound", "gauge"),
        ("teld_plan_bound_gap_ratio", "gauge"),
        ("teld_ingest_seconds", "histogram"),
        ("teld_http_requests", "counter"),
        ("teld_http_request_duration_seconds", "histogram"),
    ] {
        let f = families.get(name).unwrap_or_else(|| panic!("family {name} missing:\n{text}"));
        assert_eq!(f["type"], kind, "{name}");
    }
    let samples = |name: &str| families[name]["samples"].as_array().unwrap().clone();
    assert!(
        samples("teld_driver_up").iter().any(|s| s[1]["driver"] == "sim" && s[2] == 1.0),
        "{text}"
    );
    assert_eq!(samples("teld_requests").len(), 7, "one series per request state");
    let one = |name: &str| samples(name)[0][2].as_f64().unwrap();
    let (value, bound) = (one("teld_plan_value"), one("teld_plan_bound"));
    assert!(0.0 < value && value <= bound + 1e-9, "value {value}, bound {bound}");
    assert!((0.0..=1.0).contains(&one("teld_plan_bound_gap_ratio")), "{text}");
    // Route labels are templates, and unknown paths share one label.
    let http_routes: Vec<(String, String)> = samples("teld_http_requests")
        .iter()
        .map(|s| (s[1]["route"].as_str().unwrap().into(), s[1]["code"].as_str().unwrap().into()))
        .collect();
    for want in [("/api/v1/status", "200"), ("/api/v1/requests/{id}", "400"), ("unmatched", "404")]
    {
        assert!(
            http_routes.iter().any(|(r, c)| (r.as_str(), c.as_str()) == want),
            "{want:?} not in {http_routes:?}"
        );
    }
    assert!(!http_routes.iter().any(|(r, _)| r.contains("abc") || r.contains("nowhere")));
    // Every histogram series: buckets non-decreasing in `le`, +Inf equals _count.
    for name in ["teld_http_request_duration_seconds", "teld_ingest_seconds"] {
        let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let mut counts: BTreeMap<String, f64> = BTreeMap::new();
        for s in samples(name) {
            let mut labels = s[1].as_object().unwrap().clone();
            let le = labels.remove("le");
            let key = serde_json::to_string(&labels).unwrap();
            let v = s[2].as_f64().unwrap();
            match (s[0].as_str().unwrap(), le) {
                (n, Some(le)) if n.ends_with("_bucket") => {
                    let le = le.as_str().unwrap();
                    let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
                    series.entry(key).or_default().push((le, v));
                }
                (n, _) if n.ends_with("_count") => {
                    counts.insert(key, v);
                }
                _ => {}
            }
        }
        for (key, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{name}{key}: {buckets:?}");
            let (le, last) = *buckets.last().unwrap();
            assert!(le.is_infinite(), "{name}{key} has no +Inf bucket");
            assert_eq!(Some(&last), counts.get(&key), "{name}{key}: +Inf bucket vs _count");
        }
    }

    // Kill the driver: not ready, naming it; ready again after the restart.
    let pid = teld.driver_pid("sim").expect("sim driver up");
    signal(pid, "KILL");
    let down = teld.wait_for("/readyz 503", Duration::from_secs(30), |t| {
        let r = http::get(t.addr, "/readyz");
        (r.status == 503).then(|| r.json())
    });
    assert_eq!(down["ready"], false, "{down}");
    assert_eq!(down["failed"], serde_json::json!(["driver:sim"]), "{down}");
    assert_eq!(down["checks"]["store"]["ok"], true);
    let up = teld.wait_for("/readyz 200 after the restart", Duration::from_secs(60), |t| {
        let r = http::get(t.addr, "/readyz");
        (r.status == 200).then(|| r.json())
    });
    assert_eq!(up["failed"], serde_json::json!([]));
    let r = http::get(teld.addr, "/metrics");
    let families = parse_with_reference(&py, &r.text());
    let restarts = families["teld_driver_restarts"]["samples"].as_array().unwrap().clone();
    assert!(restarts.iter().any(|s| s[1]["driver"] == "sim" && s[2].as_f64() >= Some(1.0)));
}
