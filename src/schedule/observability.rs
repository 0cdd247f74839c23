//! Whether a submitted request can ever be observed here, and if not, why and when
//! it could be: an observer is told at submission, not after its window has passed.

use std::collections::BTreeMap;

use hifitime::{Duration, Epoch};
use teld_astro::iers;
use teld_astro::visibility::SkyFrame;

use super::planner::PlannedTelescope;
use super::{Blocked, Frames, Visibility};
use crate::model::RequestSpec;

/// Sampling step inside the request's windows.
const STEP_S: f64 = 600.0;
/// Without windows, a request must be observable within this many days.
const OPEN_SEARCH_DAYS: f64 = 30.0;
/// Windows are searched at most this far ahead (a longer window is not refused for
/// what happens after it).
const WINDOW_SEARCH_DAYS: f64 = 60.0;
/// The next observable date is searched this far ahead, more coarsely.
const NEXT_SEARCH_DAYS: f64 = 366.0;
const NEXT_STEP_S: f64 = 3600.0;

/// The answer to an observer whose request cannot be observed.
#[derive(Debug, Clone, PartialEq)]
pub struct NotObservable {
    pub reason: String,
    /// The first time (ignoring the windows) the target could be observed, if any
    /// within a year.
    pub next_observable: Option<Epoch>,
}

/// Checks `spec` against every telescope that has its filter. `night_sun_max_deg` is
/// the site's night definition (the Sun at most this high).
pub fn check(
    spec: &RequestSpec,
    telescopes: &[PlannedTelescope],
    night_sun_max_deg: f64,
    now: Epoch,
) -> Result<(), NotObservable> {
    let tels: Vec<&PlannedTelescope> = telescopes
        .iter()
        .filter(|t| spec.filter.as_ref().is_none_or(|f| t.filters.contains(f)))
        .filter(|t| spec.telescopes.is_empty() || spec.telescopes.contains(&t.name))
        .collect();
    let Some(site) = tels.first().map(|t| t.limits.site) else {
        return Err(NotObservable {
            reason: "no telescope here has the requested filter".into(),
            next_observable: None,
        });
    };
    let cache = Frames::default();
    let vis: Vec<Visibility> =
        tels.iter().map(|t| Visibility::new(&t.limits, &cache, spec)).collect();
    let need_s = needed_s(spec);
    let mut why: BTreeMap<Blocked, usize> = BTreeMap::new();
    let mut dark = 0usize;
    for (a, b) in search_spans(spec, now) {
        let mut run_start: Option<Epoch> = None;
        for frame in frames(&site, a, b, STEP_S) {
            let t = frame.epoch;
            let ok = frame.sun_alt_deg <= night_sun_max_deg && {
                dark += 1;
                let blocked: Vec<Option<Blocked>> =
                    vis.iter().map(|v| v.blocked_in(&frame)).collect();
                match blocked.iter().find(|b| b.is_none()) {
                    Some(_) => true,
                    None => {
                        for b in blocked.into_iter().flatten() {
                            *why.entry(b).or_default() += 1;
                        }
                        false
                    }
                }
            };
            if !ok {
                run_start = None;
                continue;
            }
            let start = *run_start.get_or_insert(t);
            if (t - start).to_seconds() + STEP_S >= need_s {
                return Ok(());
            }
        }
    }
    let reason = if dark == 0 {
        "its windows hold no night time (the Sun is up throughout)".to_string()
    } else {
        let (worst, n) = why
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(b, n)| (*b, *n))
            .unwrap_or((Blocked::Window, 0));
        let long = if spec.visits() > 1 { " for the whole tracklet" } else { "" };
        format!(
            "not observable{long} from any telescope in its {}: mostly {} ({}% of the night samples)",
            if spec.all_windows().next().is_some() { "windows" } else { "next 30 days" },
            worst.describe(),
            (100 * n / dark.max(1)).min(100),
        )
    };
    Err(NotObservable {
        reason,
        next_observable: next_observable(&vis, &site, night_sun_max_deg, now, spec),
    })
}

/// How long the target must stay observable: one visit, or a whole tracklet at its
/// shortest spacing.
fn needed_s(spec: &RequestSpec) -> f64 {
    let visit = spec.visit_duration_s();
    match spec.tracklet {
        Some(t) => {
            (t.visits.saturating_sub(1)) as f64 * (t.min_spacing_min * 60.0).max(visit) + visit
        }
        None => visit,
    }
}

/// The stretches to search: the windows from now (capped), or the next days.
fn search_spans(spec: &RequestSpec, now: Epoch) -> Vec<(Epoch, Epoch)> {
    let days = |d: f64| Duration::from_days(d);
    let windows: Vec<(Epoch, Epoch)> = spec
        .all_windows()
        .map(|w| (w.start.max(now), w.end.min(now + days(WINDOW_SEARCH_DAYS))))
        .filter(|(a, b)| a < b)
        .collect();
    if spec.all_windows().next().is_some() {
        windows
    } else {
        vec![(now, now + days(OPEN_SEARCH_DAYS))]
    }
}

/// The first dark instant in the next year at which some telescope could observe
/// the target, windows aside.
fn next_observable(
    vis: &[Visibility],
    site: &teld_astro::Site,
    night_sun_max_deg: f64,
    now: Epoch,
    spec: &RequestSpec,
) -> Option<Epoch> {
    if never_rises_high_enough(vis, site, spec) {
        return None;
    }
    let end = now + Duration::from_days(NEXT_SEARCH_DAYS);
    // A month at a time, so a target that is observable soon costs little.
    let mut a = now;
    while a < end {
        let b = (a + Duration::from_days(30.0)).min(end);
        for f in frames(site, a, b, NEXT_STEP_S) {
            if f.sun_alt_deg <= night_sun_max_deg && vis.iter().any(|v| v.blocked_in(&f).is_none())
            {
                return Some(f.epoch);
            }
        }
        a = b;
    }
    None
}

/// A sidereal target whose highest point is below the altitude limit of every
/// telescope is never observable: no need to search a year to say so.
fn never_rises_high_enough(
    vis: &[Visibility],
    site: &teld_astro::Site,
    spec: &RequestSpec,
) -> bool {
    if spec.target.is_moving() {
        return false;
    }
    let Some(dec) = spec.target.dec_deg else { return false };
    let culmination = 90.0 - (site.latitude_deg - dec).abs();
    vis.iter().all(|v| culmination < v.min_altitude_deg())
}

fn frames(site: &teld_astro::Site, a: Epoch, b: Epoch, step_s: f64) -> Vec<SkyFrame> {
    let n = ((b - a).to_seconds() / step_s).floor().max(0.0) as usize + 1;
    let instants: Vec<Epoch> =
        (0..n).map(|k| a + Duration::from_seconds(k as f64 * step_s)).collect();
    teld_astro::visibility::frames(site, &instants, |t| iers::active().at(t)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Tracklet, Window};
    use crate::schedule::Limits;
    use teld_astro::Site;
    use teld_astro::horizon::PointingLimits;

    fn telescope(filters: &[&str]) -> PlannedTelescope {
        PlannedTelescope {
            name: "t1".into(),
            limits: Limits {
                site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
                min_altitude_deg: 30.0,
                sun_avoidance_deg: 30.0,
                pointing: PointingLimits::default(),
            },
            settle_s: 15.0,
            slew_rate_deg_s: 2.0,
            filters: filters.iter().map(|f| f.to_string()).collect(),
            mount: Default::default(),
        }
    }

    fn spec(ra: f64, dec: f64) -> RequestSpec {
        RequestSpec::example(ra, dec)
    }

    fn now() -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 19, 0, 0, 0)
    }

    fn tonight() -> Window {
        Window { start: now(), end: now() + Duration::from_seconds(10.0 * 3600.0) }
    }

    #[test]
    fn an_evening_target_is_observable() {
        assert_eq!(check(&spec(22.5, 20.1), &[telescope(&[])], -12.0, now()), Ok(()));
    }

    #[test]
    fn a_far_southern_target_never_rises_above_the_limit() {
        let e = check(&spec(22.5, -80.0), &[telescope(&[])], -12.0, now()).unwrap_err();
        assert!(e.reason.contains("below the altitude limit"), "{e:?}");
        assert_eq!(e.next_observable, None, "it never culminates above 30°");
    }

    #[test]
    fn a_target_behind_the_sun_gets_its_next_date() {
        // Late November the Sun is near RA 240°, Dec -20°.
        let mut s = spec(240.0, -10.0);
        s.windows = vec![tonight()];
        let e = check(&s, &[telescope(&[])], -12.0, now()).unwrap_err();
        let next = e.next_observable.expect("observable later in the year");
        let months = (next - now()).to_unit(hifitime::Unit::Day) / 30.0;
        assert!((1.0..8.0).contains(&months), "next observable {next} ({months:.1} months)");
    }

    #[test]
    fn a_tracklet_longer_than_the_target_is_up_is_refused() {
        let mut s = spec(22.5, 20.1);
        s.tracklet = Some(Tracklet { visits: 5, min_spacing_min: 180.0, max_spacing_min: 200.0 });
        s.windows = vec![tonight()];
        let e = check(&s, &[telescope(&[])], -12.0, now()).unwrap_err();
        assert!(e.reason.contains("whole tracklet"), "{e:?}");
    }

    #[test]
    fn only_telescopes_with_the_filter_count() {
        let mut s = spec(22.5, 20.1);
        s.filter = Some("Ha".into());
        let e = check(&s, &[telescope(&["L"])], -12.0, now()).unwrap_err();
        assert!(e.reason.contains("filter"), "{e:?}");
        assert_eq!(check(&s, &[telescope(&["L", "Ha"])], -12.0, now()), Ok(()));
    }

    #[test]
    fn a_moon_constraint_can_forbid_a_target() {
        // Full Moon on 2026-11-24 is near RA 50°, Dec +18°: a target beside it with
        // a 60° separation limit tonight cannot be observed.
        let mut s = spec(50.0, 18.0);
        s.constraints.min_moon_separation_deg = Some(60.0);
        s.windows = vec![tonight()];
        let e = check(&s, &[telescope(&[])], -12.0, now()).unwrap_err();
        assert!(e.reason.contains("Moon"), "{e:?}");
    }
}
