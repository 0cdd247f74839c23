//! A request into the night's problem: visibility windows on the one-minute grid,
//! soft-preference penalties, and the target's track for the slew model.

use super::meridian::split_at_meridian;
use super::*;

impl Planner {
    /// Adds a request to the problem (not to the plan); `from` is the earliest start.
    pub(super) fn add(&self, n: &mut Night, rec: RequestRecord, from: f64) -> usize {
        let spec = &rec.spec;
        let duration = spec.visit_duration_s();
        let cache = Frames::default();
        let night = (from, n.problem.telescopes[0].night.1);
        let (windows, penalties): (Vec<_>, Vec<_>) = self
            .telescopes
            .iter()
            .map(|t| {
                if spec.filter.as_ref().is_some_and(|f| !t.filters.contains(f))
                    || !(spec.telescopes.is_empty() || spec.telescopes.contains(&t.name))
                {
                    return (Vec::new(), Vec::new());
                }
                let vis = Visibility::new(&t.limits, &cache, spec);
                let runs = observable_runs(&n.frames, n.start, &vis);
                let runs = split_at_meridian(&runs, GRID_S, duration, &t.mount, |k| {
                    let f = n.frames.get(k)?;
                    Some(f.observe(vis.place(f.epoch)?).ha_deg)
                });
                let windows = Problem::effective_windows(&runs, None, night, duration);
                let penalty = if windows.is_empty() {
                    Vec::new()
                } else {
                    preference_row(&n.frames, &vis, duration)
                };
                (windows, penalty)
            })
            .unzip();
        let preference = Some(teld_schedule::Preference::new(0.0, GRID_S, penalties));
        let target = self.planning_target(n, spec);
        let request = Request {
            id: rec.id.to_string(),
            value: spec.value(),
            visits: spec.visits(),
            duration_s: duration,
            spacing: spec.tracklet.map(|t| (t.min_spacing_min * 60.0, t.max_spacing_min * 60.0)),
            target,
            windows,
            pinned: None,
            preference,
        };
        let r = n.problem.push_request(request);
        n.plan.add_request();
        n.ids.push(rec.id);
        n.index.insert(rec.id, r);
        n.records.insert(rec.id, rec);
        r
    }

    /// The target as the planner's slew model sees it: a fixed place, or for a
    /// moving target its track sampled over the night.
    pub(super) fn planning_target(&self, n: &Night, spec: &crate::model::RequestSpec) -> Target {
        let Ok(motion) = spec.target.motion() else { return Target::fixed(0.0, 0.0) };
        let span = (n.end - n.start).to_seconds();
        let place = |s: f64| motion.place(&self.site, n.start + Duration::from_seconds(s)).ok();
        if !motion.is_moving() {
            let p = place(span / 2.0).unwrap_or(Icrs { ra_deg: 0.0, dec_deg: 0.0 });
            return Target::fixed(p.ra_deg, p.dec_deg);
        }
        let steps = (span / EPHEMERIS_STEP_S).ceil().max(1.0) as usize;
        let mut last = Icrs { ra_deg: 0.0, dec_deg: 0.0 };
        let rows = (0..=steps)
            .map(|k| {
                // Outside an ephemeris table's span the target is unobservable anyway
                // (the visibility grid says so); hold the last place for the slews.
                last = place(k as f64 * EPHEMERIS_STEP_S).unwrap_or(last);
                (last.ra_deg, last.dec_deg)
            })
            .collect();
        Target::ephemeris(0.0, EPHEMERIS_STEP_S, rows)
    }
}

/// Soft preferences, in seconds of telescope time per unit: a visit at airmass 2
/// is worth moving by up to half its length of slewing, as is one beside a full
/// Moon. They only choose among legal places (docs/SCHEDULER.md).
const AIRMASS_WEIGHT: f64 = 0.5;
const MOON_WEIGHT: f64 = 0.5;
/// Closer to the Moon than this, its light counts against a place.
const MOON_GLARE_DEG: f64 = 90.0;

/// The soft-preference penalty of starting a visit of `dur` at each grid instant:
/// airmass above 1, and the Moon's light when it is up, bright and near.
pub(super) fn preference_row(frames: &[SkyFrame], vis: &Visibility, dur: f64) -> Vec<f32> {
    frames
        .iter()
        .map(|f| {
            let Some(place) = vis.place(f.epoch) else { return 0.0 };
            let alt = f.alt_deg(place);
            let airmass = teld_astro::airmass::young1994(alt).unwrap_or(10.0).min(10.0);
            let moon = if f.moon_alt_deg > 0.0 {
                let near = (1.0 - f.moon_separation_deg(place) / MOON_GLARE_DEG).max(0.0);
                f.moon_illumination * near
            } else {
                0.0
            };
            (dur * (AIRMASS_WEIGHT * (airmass - 1.0) + MOON_WEIGHT * moon)) as f32
        })
        .collect()
}

/// The stretches of the night's grid where `vis` allows observing, as (first, last)
/// grid instants in seconds from `start`.
pub(super) fn observable_runs(
    frames: &[SkyFrame],
    start: Epoch,
    vis: &Visibility,
) -> Vec<(f64, f64)> {
    let mut runs: Vec<(f64, f64)> = Vec::new();
    for (k, f) in frames.iter().enumerate() {
        let tk = k as f64 * GRID_S;
        let at = start + Duration::from_seconds(tk);
        if vis.observable_in(f) && vis.window_allows(at, at) {
            match runs.last_mut() {
                Some(r) if (r.1 - (tk - GRID_S)).abs() < 1e-6 => r.1 = tk,
                _ => runs.push((tk, tk)),
            }
        }
    }
    runs
}
