//! Bad input is refused with a message naming what is wrong, and loses nothing.

mod common;

use common::daemon::{Teld, TestSite, teld_bin};
use common::http;

#[test]
fn malformed_and_out_of_range_requests_are_refused_by_field() {
    let site = TestSite::new("badreq", &[], "");
    // Noon: the executor idles, so nothing else moves while we poke the API.
    let teld = Teld::start(&site, "2026-11-24T13:00:00", 1.0);
    let post = |body: &str| http::post_json(teld.addr, "/api/v1/requests", body);
    let ok_target = r#""target": {"name": "X", "ra_deg": 10, "dec_deg": 20}"#;

    let r = post("{ this is not json");
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (400, Some("malformed_json")));

    let r = post(r#"{"exposure_s": 10, "count": 1}"#);
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"]["field"], "target");

    let r = post(r#"{"target": {"name": "X", "ra_deg": 10}, "exposure_s": 10, "count": 1}"#);
    assert_eq!((r.status, r.json()["error"]["field"].as_str()), (422, Some("target.dec_deg")));

    let r = post(&format!(r#"{{{ok_target}, "exposure_s": "long", "count": 1}}"#));
    assert_eq!((r.status, r.json()["error"]["field"].as_str()), (422, Some("exposure_s")));

    let r = post(
        r#"{"target": {"name": "X", "ra_deg": 10, "dec_deg": 95}, "exposure_s": -5, "count": 1}"#,
    );
    assert_eq!(r.status, 422);
    let e = r.json();
    assert_eq!(e["error"]["code"], "invalid_value");
    let fields: Vec<&str> = e["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["target.dec_deg", "exposure_s"], "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("got 95"));

    let r = http::request(teld.addr, "POST", "/api/v1/requests", Some("text/plain"), b"{}");
    assert_eq!(r.status, 415);
    let big = format!(
        r#"{{{ok_target}, "exposure_s": 1, "count": 1, "name": "{}"}}"#,
        "x".repeat(100_000)
    );
    assert_eq!(post(&big).status, 413);

    let r = http::get(teld.addr, "/api/v1/requests/abc");
    assert_eq!((r.status, r.json()["error"]["field"].as_str()), (400, Some("id")));
    let r = http::get(teld.addr, "/api/v1/requests/999");
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(http::get(teld.addr, "/nope").status, 404);
    let r = http::get(teld.addr, "/api/v1/requests?limit=abc");
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (400, Some("invalid_query")));
    let r = http::request(teld.addr, "DELETE", "/api/v1/status", None, b"");
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (405, Some("method_not_allowed")));

    // Nothing bad was stored, the daemon is still fine, and a good request works.
    assert_eq!(teld.get("/api/v1/requests")["requests"].as_array().unwrap().len(), 0);
    let id = teld.submit(&format!(r#"{{{ok_target}, "exposure_s": 10, "count": 1}}"#));
    let r = http::get(teld.addr, &format!("/api/v1/requests/{id}"));
    assert_eq!(r.json()["state"], "queued");
    assert_eq!(http::get(teld.addr, "/healthz").status, 200);
}

#[test]
fn bad_config_exits_non_zero_listing_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"
[site]
name = "La Palma"
latitude_deg = 95.0
longitude_deg = -17.9
height_m = 2396
[http]
listen = "0.0.0.0:8080"
[observing]
max_attempts = 0
[[drivers]]
name = "sim"
kind = "sim"
heartbeat_timeout_s = "five"
[[telescopes]]
name = "t1"
mount = "nosuch/mount"
camera = "sim/camera"
weather = "sim/weather"
"#,
    )
    .unwrap();
    let expected = [
        "site.name",
        "site.latitude_deg",
        "http.listen",
        "observing.max_attempts",
        "drivers[0].heartbeat_timeout_s",
        "telescopes[0].mount",
    ];
    for args in [
        vec!["check-config", bad.to_str().unwrap()],
        vec!["run", "--config", bad.to_str().unwrap()],
    ] {
        let out = std::process::Command::new(teld_bin())
            .args(&args)
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = String::from_utf8_lossy(&out.stderr);
        for key in expected {
            assert!(text.contains(key), "{args:?}: `{key}` not listed in:\n{text}");
        }
    }
    // A missing file is an error too, naming the file.
    let out = std::process::Command::new(teld_bin())
        .args(["check-config", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.toml"));
    // The shipped default is valid.
    let out = std::process::Command::new(teld_bin()).arg("check-config").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_survey_that_cannot_be_planned_here_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let surveys = dir.path().join("schedules");
    std::fs::create_dir(&surveys).unwrap();
    std::fs::write(
        surveys.join("ha.toml"),
        "name = \"ha\"\ncadence_nights = 1\nshare = 0.3\n[tracklet]\nvisits = 1\nexposure_s = 30\nfilter = \"Ha\"\n[[fields]]\nname = \"f\"\nra_deg = 1.0\ndec_deg = 2.0\n",
    )
    .unwrap();
    let config = dir.path().join("teld.toml");
    let text = include_str!("../config/default.toml").replacen(
        "[paths]\n",
        &format!("[paths]\nsurveys_dir = {:?}\n", surveys.display().to_string()),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let refused = || {
        let out = std::process::Command::new(teld_bin())
            .args(["check-config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused();
    assert!(err.contains("filter `Ha`") && err.contains("ha.toml"), "{err}");

    // A typo in a key is refused with the key and the file named.
    std::fs::write(surveys.join("ha.toml"), "name = \"ha\"\ncadence_night = 1\n").unwrap();
    let err = refused();
    assert!(err.contains("cadence_night") && err.contains("ha.toml"), "{err}");
}
