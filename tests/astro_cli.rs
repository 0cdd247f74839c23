//! `teld astro …` through the real binary: the answers match the ERFA fixtures, bad
//! input gets an error line and a non-zero exit, never a crash.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn teld() -> Command {
    Command::new(common::daemon::teld_bin())
}

fn fixture_cases() -> Vec<Value> {
    let text = include_str!("../crates/astro/tests/fixtures/observe.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("fixture").is_none())
        .collect()
}

#[test]
fn observe_matches_erfa_through_the_binary() {
    let cases = fixture_cases();
    let mut input = String::new();
    for c in &cases {
        let mut case = serde_json::Map::new();
        for k in [
            "lat_deg",
            "lon_deg",
            "height_m",
            "utc",
            "ra_deg",
            "dec_deg",
            "ut1_utc_s",
            "xp_arcsec",
            "yp_arcsec",
            "pressure_hpa",
            "temperature_c",
            "humidity",
            "wavelength_um",
        ] {
            case.insert(k.into(), c[k].clone());
        }
        input.push_str(&Value::Object(case).to_string());
        input.push('\n');
    }
    input.push_str("{\"lat_deg\": 100}\n");
    let mut child = teld()
        .args(["astro", "observe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a refused line makes the exit code 1");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len() + 1);
    let mut worst: f64 = 0.0;
    for (c, got) in cases.iter().zip(&lines) {
        let want_alt = c["erfa"]["alt_deg"].as_f64().unwrap();
        let alt =
            got["alt_refracted_deg"].as_f64().unwrap_or_else(|| got["alt_deg"].as_f64().unwrap());
        worst = worst.max((alt - want_alt).abs() * 3600.0);
        let ra = got["ra_jnow_deg"].as_f64().unwrap();
        let d = ((ra - c["erfa"]["ra_tete_deg"].as_f64().unwrap() + 540.0).rem_euclid(360.0)
            - 180.0)
            .abs();
        worst = worst.max(d * 3600.0 * got["dec_jnow_deg"].as_f64().unwrap().to_radians().cos());
        assert!(
            got["hour_angle_h"].is_number()
                && got["last_h"].is_number()
                && got["parallactic_deg"].is_number()
        );
        let refracted = c["pressure_hpa"].as_f64().unwrap() > 0.0;
        assert_eq!(got["alt_refracted_deg"].is_null(), !refracted);
    }
    assert!(worst < 1e-3, "{worst}″");
    assert!(lines.last().unwrap()["error"].is_string());
}

#[test]
fn time_night_and_ephem_answer_and_refuse_cleanly() {
    let out = teld()
        .args(["astro", "time", "--utc", "2016-12-31T23:59:60.5", "--utc", "2016-12-30T23:59:60"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["tai"], "2017-01-01T00:00:36.500000000");
    assert!(lines[1]["error"].as_str().unwrap().contains("leap second"));

    let out = teld()
        .args([
            "astro",
            "night",
            "--lat-deg",
            "78.2232",
            "--lon-deg",
            "15.6267",
            "--height-m",
            "10",
            "--date",
            "2024-06-21",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["sunset"].is_null() && v["reasons"]["sunset"].as_str().unwrap().contains("above"));
    let out = teld()
        .args(["astro", "night", "--lat-deg", "95", "--lon-deg", "0", "--date", "2024-06-21"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WGS84"));

    let line = "00001    3.34  0.15 K2555 188.70269   73.27343   80.25221   10.58780  0.0794013  0.21424651   2.7660512";
    let out = teld()
        .args([
            "astro",
            "ephem",
            "--mpc",
            line,
            "--lat-deg",
            "28.7606",
            "--lon-deg",
            "-17.8816",
            "--height-m",
            "2396",
        ])
        .args(["--utc", "2026-11-24T22:00:00"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["distance_au"].as_f64().unwrap() > 1.0 && v["ra_rate_arcsec_per_min"].is_number());
    let hyperbolic = "K24Y04R 23.9  0.15 K2555 188.70269   73.27343   80.25221   10.58780  1.0123000  0.21424651   2.7660512";
    let out = teld()
        .args([
            "astro",
            "ephem",
            "--mpc",
            hyperbolic,
            "--lat-deg",
            "0",
            "--lon-deg",
            "0",
            "--utc",
            "2026-11-24T22:00:00",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!msg.is_empty(), "a refusal says why");
}
