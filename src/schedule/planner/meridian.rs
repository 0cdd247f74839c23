//! German mounts that may not flip, in the plan: where a visit may lie so that it
//! never has to cross the meridian limit on the west side of the pier.
//!
//! A German mount pointing east of the meridian (hour angle < 0) sits on the west side
//! of the pier and may track only to `meridian_limit_deg` past the meridian. With
//! `meridian_flip = false` a visit that starts there and would run past the limit
//! cannot be observed as planned: the block runner waits until the target has crossed
//! and starts it then, up to the visit's length late, on a plan that counted on the
//! time. So each observable run is cut into the part that ends by the limit and the
//! part that starts at the meridian: a visit lying in either needs no flip.
//!
//! Mounts that may flip keep their runs whole: a visit across the limit is planned
//! and the executor flips in the middle of it (docs/SCHEDULER.md: the flip's minutes
//! are not in the plan; the block ends that much later).

use crate::config::{MountGeometry, MountType};

/// `runs` (seconds from the night's start) cut as above, given the target's hour
/// angle at each grid instant (`ha_at(k)` for instant `k × grid_s`, degrees in
/// (−180, 180]). Other mounts' runs, and those of mounts that may flip, are returned
/// as they are.
pub(super) fn split_at_meridian(
    runs: &[(f64, f64)],
    grid_s: f64,
    duration_s: f64,
    mount: &MountGeometry,
    ha_at: impl Fn(usize) -> Option<f64>,
) -> Vec<(f64, f64)> {
    if mount.kind != MountType::German || mount.meridian_flip {
        return runs.to_vec();
    }
    let mut out = Vec::with_capacity(runs.len() + 1);
    for &(a, b) in runs {
        let (ka, kb) = ((a / grid_s).round() as usize, (b / grid_s).round() as usize);
        // The grid instants on either side of the upper meridian: the last with the
        // target east (hour angle < 0) and the first west. Cutting on the grid errs
        // on the safe side: the east part ends on the last instant known inside the
        // limit, the west part starts on the first instant known past the meridian.
        let crossing = (ka..kb).find(|&k| {
            let (Some(h0), Some(h1)) = (ha_at(k), ha_at(k + 1)) else { return false };
            h0 < 0.0 && h1 >= 0.0 && h1 - h0 < 90.0 // not the wrap at ±180°
        });
        let Some(k0) = crossing else {
            out.push((a, b));
            continue;
        };
        let west_from = (k0 + 1) as f64 * grid_s;
        // The last instant still inside the limit, at or after the crossing.
        let last_inside = (k0 + 1..=kb)
            .take_while(|&k| ha_at(k).is_some_and(|h| h <= mount.meridian_limit_deg))
            .last()
            .unwrap_or(k0);
        let east_until = (last_inside as f64 * grid_s).min(b);
        let fits = |&(x, y): &(f64, f64)| y - x >= duration_s - 1e-9;
        out.extend([(a, east_until), (west_from.max(a), b)].into_iter().filter(fits));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRID: f64 = 60.0;

    fn german(flip: bool) -> MountGeometry {
        MountGeometry { kind: MountType::German, meridian_limit_deg: 2.0, meridian_flip: flip }
    }

    /// A target on the meridian at instant `k_transit`; 0.25° of hour angle a minute.
    fn ha(k_transit: f64) -> impl Fn(usize) -> Option<f64> {
        move |k| Some((k as f64 - k_transit) * 0.25)
    }

    #[test]
    fn a_run_across_the_meridian_is_cut_at_the_limit_and_at_the_meridian() {
        // Observable from minute 0 to 120, transit at minute 60.5; the 2° limit is
        // 8 minutes past the meridian (minute 68.5).
        let runs = [(0.0, 120.0 * GRID)];
        let got = split_at_meridian(&runs, GRID, 30.0 * GRID, &german(false), ha(60.5));
        // East part: until minute 68 (the last instant inside the limit); west part:
        // from minute 61 (the first instant past the meridian).
        assert_eq!(got, vec![(0.0, 68.0 * GRID), (61.0 * GRID, 120.0 * GRID)]);
        // A visit lying in either never crosses the limit on the west side.
        let crosses = |s: f64, d: f64| {
            let (h0, h1) = ((s / GRID - 60.5) * 0.25, ((s + d) / GRID - 60.5) * 0.25);
            h0 < 0.0 && h1 > 2.0
        };
        for &(x, y) in &got {
            let mut s = x;
            while s + 30.0 * GRID <= y {
                assert!(!crosses(s, 30.0 * GRID), "a visit at {s} crosses");
                s += GRID;
            }
        }
    }

    #[test]
    fn other_mounts_and_runs_away_from_the_meridian_are_unchanged() {
        let runs = [(0.0, 50.0 * GRID), (200.0 * GRID, 300.0 * GRID)];
        let fork = MountGeometry::default();
        assert_eq!(split_at_meridian(&runs, GRID, 600.0, &fork, ha(60.5)), runs.to_vec());
        assert_eq!(split_at_meridian(&runs, GRID, 600.0, &german(false), ha(100.5)), runs);
        // Lower culmination (−180° → 180°) is not the meridian that matters.
        let wrap = |k: usize| Some(if k < 25 { -179.0 + k as f64 * 0.01 } else { 179.9 });
        assert_eq!(split_at_meridian(&runs[..1], GRID, 600.0, &german(false), wrap), &runs[..1]);
    }

    #[test]
    fn a_visit_that_only_fits_across_the_meridian_is_left_to_a_mount_that_may_flip() {
        // 40 observable minutes around transit, a 30-minute visit: neither part holds it.
        let runs = [(40.0 * GRID, 80.0 * GRID)];
        let with_flip = split_at_meridian(&runs, GRID, 30.0 * GRID, &german(true), ha(60.5));
        assert_eq!(with_flip, runs, "kept whole: the executor flips mid-visit");
        let without = split_at_meridian(&runs, GRID, 30.0 * GRID, &german(false), ha(60.5));
        assert!(without.is_empty(), "without flips it cannot be observed: {without:?}");
        // A short visit fits both parts.
        let short = split_at_meridian(&runs, GRID, 5.0 * GRID, &german(false), ha(60.5));
        assert_eq!(short, vec![(40.0 * GRID, 68.0 * GRID), (61.0 * GRID, 80.0 * GRID)]);
    }
}
