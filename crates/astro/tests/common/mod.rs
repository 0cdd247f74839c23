//! Reading the reference fixtures (`tests/fixtures/*.jsonl`).
#![allow(dead_code)]

use serde_json::Value;

/// The cases of a fixture file, without its header line.
pub fn cases(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("fixture").is_none())
        .collect()
}

/// A number field, or a panic naming what is missing.
pub fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// Angle difference in arcseconds, wrapping at 360°.
pub fn darc(a: f64, b: f64) -> f64 {
    ((a - b + 540.0).rem_euclid(360.0) - 180.0).abs() * 3600.0
}
