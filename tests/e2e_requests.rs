//! The request model end to end, on the real binary and simulator driver: tracklets
//! (visits spaced within limits, all or nothing), a moving target followed from its
//! ephemeris table, and submissions refused with the reason (never observable,
//! unknown filter, windows in the past, a duplicate external id).

mod common;

use std::time::Duration;

use common::daemon::{Teld, TestSite, history};
use common::http;

fn seconds(utc: &str) -> f64 {
    let t = hifitime::Epoch::from_gregorian_str(utc.trim_end_matches('Z')).unwrap();
    (t - hifitime::Epoch::from_gregorian_utc_at_midnight(2026, 11, 24)).to_seconds()
}

#[test]
fn a_tracklet_is_observed_as_spaced_visits() {
    let site = TestSite::new("tracklet", &[], "");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    let id = teld.submit(
        r#"{"name": "tracklet", "target": {"name": "C4X9Z2", "ra_deg": 22.5, "dec_deg": 20.1},
            "exposure_s": 20, "count": 2, "filter": "R", "binning": 2,
            "tracklet": {"visits": 3, "min_spacing_min": 10, "max_spacing_min": 15}}"#,
    );
    let r = teld.wait_state(id, "completed", Duration::from_secs(120));

    let obs = r["observations"].as_array().unwrap();
    assert_eq!(obs.len(), 3, "one observation per visit: {r}");
    assert!(obs.iter().all(|o| o["outcome"] == "completed"), "{r}");
    let starts: Vec<f64> = obs.iter().map(|o| seconds(o["started_at"].as_str().unwrap())).collect();
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (600.0..=900.0).contains(&gap),
            "visit spacing {gap} s outside 10-15 min: {starts:?}"
        );
    }
    let frames = r["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 6, "2 frames per visit: {r}");
    // Binned 2x2 on chip: half the default sensor's 1024 pixels a side.
    let path = site.archive().join(frames[0]["path"].as_str().unwrap());
    let mut fits = fitsio::FitsFile::open(&path).unwrap();
    let hdu = fits.primary_hdu().unwrap();
    let naxis1: i64 = hdu.read_key(&mut fits, "NAXIS1").unwrap();
    let xbin: i64 = hdu.read_key(&mut fits, "XBINNING").unwrap();
    let filter: String = hdu.read_key(&mut fits, "FILTER").unwrap();
    assert_eq!((naxis1, xbin, filter.as_str()), (512, 2, "R"));
    // The wheel turned to R and the focuser moved to best focus plus R's offset
    // (25000 + 40 in the default config and the simulated wheel), as they reported.
    let focus: i64 = hdu.read_key(&mut fits, "FOCUSPOS").unwrap();
    assert_eq!(focus, 25_040);

    let h = history(&r);
    let visits_done = h.iter().filter(|(s, d)| s == "scheduled" && d.starts_with("visit ")).count();
    assert_eq!(visits_done, 2, "visits 1 and 2 reported done, the third completes it: {h:?}");
    assert_eq!(h.last().unwrap().0, "completed");
    assert!(h.last().unwrap().1.contains("3 visits"), "{h:?}");

    // The night's plan is stored; its picture is readable from the store by the CLI.
    let out = std::process::Command::new(common::daemon::teld_bin())
        .args(["plan", "--svg", "-", "--config"])
        .arg(&site.config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The latest stored version: by now the tracklet may be done and gone from it.
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.starts_with("<svg") && svg.contains("Night plan 2026-11-24T19:3"), "{svg}");
    assert!(svg.contains(">t1</text>"), "the telescope's panel: {svg}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("night from 2026-11-24T19:3"), "{err}");
}

/// A fast mover: 0.5° per hour east along RA from 22.5°, +0.1°/h in Dec.
fn ephemeris_csv() -> String {
    let mut csv = String::from("utc,ra_deg,dec_deg\n");
    for k in 0..30 {
        let hours = k as f64 / 6.0;
        let (h, m) = (19 + k / 6, (k % 6) * 10);
        csv.push_str(&format!(
            "2026-11-24T{h:02}:{m:02}:00,{:.6},{:.6}\n",
            22.5 + 0.5 * hours,
            20.1 + 0.1 * hours
        ));
    }
    csv
}

#[test]
fn a_moving_target_is_followed_from_its_ephemeris() {
    let site = TestSite::new("moving", &[], "");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    let body = serde_json::json!({
        "name": "fast mover",
        "target": {"name": "P21xQ7a", "ephemeris": ephemeris_csv()},
        "exposure_s": 60, "count": 4,
    });
    let id = teld.submit(&body.to_string());
    let plan = teld.wait_for("the mover in the plan", Duration::from_secs(60), |t| {
        let p = t.get("/api/v1/plan");
        let b = p["telescopes"][0]["blocks"].as_array()?.first()?.clone();
        (b["request_id"] == id).then_some(b)
    });
    let (ra, dec) = place_at_seconds(seconds(plan["start"].as_str().unwrap()));
    assert!((plan["ra_deg"].as_f64().unwrap() - ra).abs() < 0.01, "plan place {plan} vs {ra}");
    assert!((plan["dec_deg"].as_f64().unwrap() - dec).abs() < 0.01, "{plan}");

    let r = teld.wait_state(id, "completed", Duration::from_secs(120));
    let frames = r["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 4);
    let mut ras = Vec::new();
    for f in frames {
        let path = site.archive().join(f["path"].as_str().unwrap());
        let mut fits = fitsio::FitsFile::open(&path).unwrap();
        let hdu = fits.primary_hdu().unwrap();
        let ra: f64 = hdu.read_key(&mut fits, "RA").unwrap();
        let dec: f64 = hdu.read_key(&mut fits, "DEC").unwrap();
        // The header holds the place at mid-exposure.
        let mid = seconds(f["date_obs"].as_str().unwrap()) + 30.0;
        let (want_ra, want_dec) = place_at_seconds(mid);
        assert!(
            (ra - want_ra).abs() < 2e-4 && (dec - want_dec).abs() < 2e-4,
            "{ra},{dec} vs {want_ra},{want_dec}"
        );
        ras.push(ra);
    }
    assert!(ras.windows(2).all(|w| w[1] > w[0]), "RA grows frame by frame: {ras:?}");
}

fn place_at_seconds(s: f64) -> (f64, f64) {
    let hours = (s - 19.0 * 3600.0) / 3600.0;
    (22.5 + 0.5 * hours, 20.1 + 0.1 * hours)
}

#[test]
fn unobservable_unknown_past_and_duplicate_requests_are_refused() {
    let site = TestSite::new("refuse", &[], "");
    // Noon: the executor idles while we submit.
    let teld = Teld::start(&site, "2026-11-24T13:00:00", 1.0);
    let post = |body: &str| http::post_json(teld.addr, "/api/v1/requests", body);

    // Dec -80 never rises above 30° at La Palma.
    let r = post(
        r#"{"target": {"name": "S", "ra_deg": 10, "dec_deg": -80}, "exposure_s": 10, "count": 1}"#,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "never_observable");
    assert!(e["message"].as_str().unwrap().contains("below the altitude limit"), "{e}");
    assert!(e["detail"]["next_observable"].is_null(), "{e}");

    // Next to the Sun tonight: refused, with the date it becomes observable.
    let r = post(
        r#"{"target": {"name": "Z", "ra_deg": 240, "dec_deg": -10}, "exposure_s": 10, "count": 1,
            "windows": [{"start": "2026-11-24T18:00:00", "end": "2026-11-25T07:00:00"}]}"#,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let e = &r.json()["error"];
    let next = e["detail"]["next_observable"].as_str().expect("a next date");
    assert!(next > "2026-12-15" && next < "2027-08", "{e}");
    assert!(e["message"].as_str().unwrap().contains(next), "{e}");

    let ok =
        r#""target": {"name": "X", "ra_deg": 22.5, "dec_deg": 20.1}, "exposure_s": 10, "count": 1"#;
    let r = post(&format!(r#"{{{ok}, "filter": "Ha"}}"#));
    assert_eq!((r.status, r.json()["error"]["field"].as_str()), (422, Some("filter")));
    assert!(r.text().contains("B, L, R, V, clear"), "{}", r.text());

    let r = post(&format!(
        r#"{{{ok}, "windows": [{{"start": "2026-11-23T20:00:00", "end": "2026-11-23T22:00:00"}}]}}"#
    ));
    assert_eq!((r.status, r.json()["error"]["field"].as_str()), (422, Some("windows[0].end")));
    assert!(r.text().contains("in the past"), "{}", r.text());

    let r = post(&format!(
        r#"{{{ok}, "tracklet": {{"visits": 3, "min_spacing_min": 30, "max_spacing_min": 20}}}}"#
    ));
    assert_eq!(
        (r.status, r.json()["error"]["field"].as_str()),
        (422, Some("tracklet.max_spacing_min"))
    );

    let first = teld.submit(&format!(r#"{{{ok}, "external_id": "neocc-42"}}"#));
    let r = post(&format!(r#"{{{ok}, "external_id": "neocc-42"}}"#));
    assert_eq!(r.status, 409, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(
        (e["code"].as_str(), e["detail"]["existing_id"].as_i64()),
        (Some("duplicate_external_id"), Some(first))
    );

    // Nothing refused was stored: only the one accepted request exists.
    let list = teld.get("/api/v1/requests");
    let items = list["requests"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
}

const SURVEY: &str = r#"
name = "sweep"
cadence_nights = 1
share = 0.5
value = 1.0

[tracklet]
visits = 3
min_spacing_min = 10
max_spacing_min = 15
exposure_s = 20
count = 1
filter = "clear"

[[fields]]
name = "a"
ra_deg = 22.5
dec_deg = 20.1

[[fields]]
name = "b"
ra_deg = 30.0
dec_deg = 15.0
"#;

#[test]
fn survey_fields_are_queued_for_the_night_and_observed_as_tracklets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SURVEY).unwrap();
    let line = format!("[paths]\nsurveys_dir = {:?}\n", dir.path().display().to_string());
    let site = TestSite::new("survey", &[("[paths]\n", &line)], "");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    teld.wait_log("survey fields queued for the night", Duration::from_secs(60));
    let ids: Vec<i64> = teld.wait_for("two survey requests", Duration::from_secs(30), |t| {
        let list = t.get("/api/v1/requests");
        let ids: Vec<i64> = list["requests"]
            .as_array()?
            .iter()
            .filter(|r| r["external_id"].as_str().is_some_and(|x| x.starts_with("survey:sweep:")))
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        (ids.len() == 2).then_some(ids)
    });
    for id in ids {
        let r = teld.wait_state(id, "completed", Duration::from_secs(120));
        let spec = &r["spec"];
        assert_eq!(spec["tracklet"]["visits"], 3, "{r}");
        assert_eq!(spec["filter"], "clear");
        assert!(spec["external_id"].as_str().unwrap().ends_with(":61368"), "night index: {spec}");
        assert_eq!(r["observations"].as_array().unwrap().len(), 3, "{r}");
    }
}
