//! `teld bench repair`: how long it takes to get a rapid-response request into a live
//! plan, against the 50 ms budget. The plan is the planner's own for a benchmark
//! instance; "now" is a point in the night; the new target is a random position that
//! is up then. Measured per trial: its visibility for the rest of the night from the
//! night's precomputed sky frames (what the daemon does on a POST) and the insertion
//! into the plan (`teld_schedule::repair::insert_urgent`).

use std::path::Path;
use std::time::Instant;

use hifitime::Duration;
use serde_json::{Value, json};
use teld_astro::visibility::SkyFrame;
use teld_astro::{Icrs, Site, iers, time};
use teld_schedule::model::Problem;
use teld_schedule::repair::insert_urgent;
use teld_schedule::{Options, Request, Target, instance, solve};

/// The budget for getting a rapid-response request into the plan.
const BUDGET_MS: f64 = 50.0;
const GRID_S: f64 = 60.0;
/// Rapid-response exposure block assumed in the trials.
const DURATION_S: f64 = 300.0;

pub fn run(
    path: &Path,
    trials: usize,
    at_fraction: f64,
    mut out: impl std::io::Write,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let doc: Value = serde_json::from_str(&text)?;
    let (problem, _) = instance::parse(&text)?;
    let site_v = doc
        .get("site")
        .or_else(|| doc["telescopes"][0].get("site"))
        .cloned()
        .unwrap_or(Value::Null);
    let site = Site {
        latitude_deg: site_v["lat_deg"].as_f64().unwrap_or(28.76),
        longitude_deg: site_v["lon_deg"].as_f64().unwrap_or(-17.88),
        height_m: site_v["elev_m"].as_f64().unwrap_or(2330.0),
    };
    let origin = time::parse_utc(
        doc["time"]["origin_utc"].as_str().unwrap_or("2026-11-24T19:38:00").trim_end_matches('Z'),
    )?;
    let t0 = Instant::now();
    let base = solve(&problem, &Options::default());
    let solve_s = t0.elapsed().as_secs_f64();

    // The daemon keeps the night's sky frames; they are not part of a repair.
    let night = problem.telescopes[0].night;
    let instants: Vec<_> = (0..=((night.1 - night.0) / GRID_S) as usize)
        .map(|k| origin + Duration::from_seconds(night.0 + k as f64 * GRID_S))
        .collect();
    let frames: Vec<SkyFrame> =
        teld_astro::visibility::frames(&site, &instants, |t| iers::active().at(t))?;
    let now = night.0 + at_fraction * (night.1 - night.0);
    let k_now = ((now - night.0) / GRID_S).ceil() as usize;

    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut times = Vec::new();
    let (mut vis_total, mut insert_total, mut immediate) = (0.0, 0.0, 0);
    while times.len() < trials {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let ra = (rng % 360_000) as f64 / 1000.0;
        let dec = ((rng >> 20) % 120_000) as f64 / 1000.0 - 40.0;
        let target = Icrs { ra_deg: ra, dec_deg: dec };
        if frames[k_now].alt_deg(target) < 40.0 {
            continue; // not up now: not a rapid-response trial
        }
        let mut problem = problem.clone();
        let mut plan = base.plan.clone();
        let t = Instant::now();
        // Visibility: altitude ≥ 30° on the grid from now to the end of the night.
        let mut windows: Vec<(f64, f64)> = Vec::new();
        for (k, f) in frames.iter().enumerate().skip(k_now) {
            let tk = night.0 + k as f64 * GRID_S;
            if f.alt_deg(target) >= 30.0 {
                match windows.last_mut() {
                    Some(w) if (w.1 - (tk - GRID_S)).abs() < 1e-6 => w.1 = tk,
                    _ => windows.push((tk, tk)),
                }
            }
        }
        let vis_s = t.elapsed().as_secs_f64();
        let mut per_tel = vec![Vec::new(); problem.telescopes.len()];
        per_tel[0] = Problem::effective_windows(&windows, None, night, DURATION_S);
        let value = problem.requests.iter().map(|r| r.value).fold(0.0, f64::max) * 2.0;
        let r = problem.push_request(Request {
            id: format!("RR{}", times.len()),
            value,
            visits: 1,
            duration_s: DURATION_S,
            spacing: None,
            target: Target::fixed(ra, dec),
            windows: per_tel,
            pinned: None,
            preference: None,
        });
        plan.add_request();
        let t1 = Instant::now();
        let got = insert_urgent(&problem, &mut plan, r, now, 60.0);
        let insert_s = t1.elapsed().as_secs_f64();
        if got.as_ref().is_some_and(|u| u.start <= now + 60.0 + 1e-6) {
            immediate += 1;
        }
        vis_total += vis_s;
        insert_total += insert_s;
        times.push((vis_s + insert_s) * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = *times.last().unwrap_or(&0.0);
    let result = json!({
        "instance": problem.name,
        "requests_in_plan": base.plan.assigned.iter().filter(|a| a.is_some()).count(),
        "plan_solve_s": solve_s,
        "trials": trials,
        "now_s": now,
        "mean_visibility_ms": vis_total * 1e3 / trials as f64,
        "mean_insert_ms": insert_total * 1e3 / trials as f64,
        "median_ms": median,
        "max_ms": max,
        "budget_ms": BUDGET_MS,
        "budget_over_max": BUDGET_MS / max.max(1e-9),
        "started_within_60_s": immediate,
    });
    writeln!(out, "{result}")?;
    Ok(())
}
