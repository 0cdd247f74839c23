//! Whether a request's target can be observed over an interval.

use hifitime::{Duration, Epoch};
use teld_astro::{Icrs, Site, sun};

use crate::model::{RequestSpec, Window};

/// Checks along a block are spaced at most this far apart: a target moves < 2.5° in
/// altitude in five minutes, so a limit cannot be crossed unseen by much.
const CHECK_STEP_S: f64 = 300.0;

#[derive(Debug, Clone)]
pub struct Limits {
    pub site: Site,
    /// The telescope's lowest altitude for science.
    pub min_altitude_deg: f64,
    pub sun_avoidance_deg: f64,
}

pub struct Visibility<'a> {
    limits: &'a Limits,
    target: Icrs,
    min_alt: f64,
    max_airmass: Option<f64>,
    window: Option<&'a Window>,
}

impl<'a> Visibility<'a> {
    pub fn new(limits: &'a Limits, spec: &'a RequestSpec) -> Self {
        // A request may be stricter than the telescope, never laxer.
        let min_alt = spec.constraints.min_altitude_deg.unwrap_or(0.0).max(limits.min_altitude_deg);
        Visibility {
            limits,
            target: spec.target.icrs(),
            min_alt,
            max_airmass: spec.constraints.max_airmass,
            window: spec.window.as_ref(),
        }
    }

    pub fn window_allows(&self, start: Epoch, end: Epoch) -> bool {
        self.window.is_none_or(|w| w.start <= start && end <= w.end)
    }

    /// Observable at `at`: above the altitude limit, within the airmass limit, and
    /// clear of the Sun.
    pub fn observable_at(&self, at: Epoch) -> bool {
        let of_date = self.target.to_of_date(at);
        let h = of_date.to_horizontal(&self.limits.site, at);
        if h.alt_deg < self.min_alt {
            return false;
        }
        if let Some(max) = self.max_airmass
            && h.airmass().is_none_or(|x| x > max)
        {
            return false;
        }
        of_date.separation_deg(sun::position(at)) >= self.limits.sun_avoidance_deg
    }

    /// Observable over the whole of [start, end], checked at both ends and every
    /// [`CHECK_STEP_S`] between.
    pub fn observable_over(&self, start: Epoch, end: Epoch) -> bool {
        let step = Duration::from_seconds(CHECK_STEP_S);
        let mut t = start;
        while t < end {
            if !self.observable_at(t) {
                return false;
            }
            t += step;
        }
        self.observable_at(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraints, Target};

    fn spec(dec: f64, min_alt: Option<f64>) -> RequestSpec {
        RequestSpec {
            name: None,
            observer: None,
            target: Target { name: "x".into(), ra_deg: 22.5, dec_deg: dec },
            exposure_s: 60.0,
            count: 5,
            priority: 50,
            filter: None,
            constraints: Constraints { min_altitude_deg: min_alt, max_airmass: None },
            window: None,
        }
    }

    fn limits() -> Limits {
        Limits {
            site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
            min_altitude_deg: 30.0,
            sun_avoidance_deg: 30.0,
        }
    }

    #[test]
    fn demo_target_is_up_in_the_evening_and_down_before_dawn() {
        let l = limits();
        let s = spec(20.1, None);
        let v = Visibility::new(&l, &s);
        let evening = Epoch::from_gregorian_utc(2026, 11, 24, 21, 0, 0, 0);
        assert!(v.observable_over(evening, evening + Duration::from_seconds(1800.0)));
        let late = Epoch::from_gregorian_utc(2026, 11, 25, 4, 0, 0, 0);
        assert!(!v.observable_at(late));
    }

    #[test]
    fn request_limit_can_only_tighten() {
        let l = limits();
        let lax = spec(20.1, Some(10.0));
        assert_eq!(Visibility::new(&l, &lax).min_alt, 30.0);
        let strict = spec(20.1, Some(60.0));
        assert_eq!(Visibility::new(&l, &strict).min_alt, 60.0);
    }
}
