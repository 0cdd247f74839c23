//! Whether a request's target can be observed over an interval.
//!
//! Every check goes through a [`SkyFrame`] per instant (the full SOFA chain folded
//! into a few vectors), shared by all requests of one planning pass through
//! [`Frames`], so a plan costs one SOFA evaluation per instant, not per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hifitime::{Duration, Epoch};
use teld_astro::horizon::PointingLimits;
use teld_astro::visibility::SkyFrame;
use teld_astro::{Icrs, Site, iers};

use crate::model::{Motion, RequestSpec};

/// Checks along a block are spaced at most this far apart: a target moves < 2.5° in
/// altitude in five minutes, so a limit cannot be crossed unseen by much.
const CHECK_STEP_S: f64 = 300.0;

#[derive(Debug, Clone)]
pub struct Limits {
    pub site: Site,
    /// The telescope's lowest altitude for science.
    pub min_altitude_deg: f64,
    pub sun_avoidance_deg: f64,
    /// Horizon mask and mount limits.
    pub pointing: PointingLimits,
}

/// Sky frames by instant, for one planning pass.
#[derive(Default)]
pub struct Frames {
    frames: Mutex<HashMap<i128, Option<Arc<SkyFrame>>>>,
}

impl Frames {
    /// The frame at `at`; `None` if the sky cannot be computed then (a date outside
    /// 1901–2099), which makes every target unobservable rather than guessed.
    pub fn at(&self, site: &Site, at: Epoch) -> Option<Arc<SkyFrame>> {
        let key = at.to_tai_duration().total_nanoseconds();
        let mut map = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key)
            .or_insert_with(|| SkyFrame::new(site, at, iers::active().at(at)).ok().map(Arc::new))
            .clone()
    }
}

pub struct Visibility<'a> {
    limits: &'a Limits,
    frames: &'a Frames,
    /// `None` when the stored target cannot be parsed (refused at submission, so
    /// only from a store written by a different teld): never observable.
    motion: Option<Motion>,
    min_alt: f64,
    spec: &'a RequestSpec,
}

/// Why a target cannot be observed at an instant, for answers to observers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Blocked {
    Unknown,
    Sun,
    Daylight,
    Altitude,
    Horizon,
    Airmass,
    Moon,
    MoonBright,
    Window,
}

impl Blocked {
    pub fn describe(self) -> &'static str {
        match self {
            Blocked::Unknown => "its place cannot be computed then",
            Blocked::Sun => "too close to the Sun",
            Blocked::Daylight => "the Sun is above the request's max_sun_altitude_deg",
            Blocked::Altitude => "below the altitude limit",
            Blocked::Horizon => "behind the horizon mask or outside the mount limits",
            Blocked::Airmass => "above the request's max_airmass",
            Blocked::Moon => "closer to the Moon than min_moon_separation_deg",
            Blocked::MoonBright => "the Moon is up and brighter than max_moon_illumination",
            Blocked::Window => "outside the request's windows",
        }
    }
}

impl<'a> Visibility<'a> {
    pub fn new(limits: &'a Limits, frames: &'a Frames, spec: &'a RequestSpec) -> Self {
        // A request may be stricter than the telescope, never laxer.
        let min_alt = spec.constraints.min_altitude_deg.unwrap_or(0.0).max(limits.min_altitude_deg);
        Visibility { limits, frames, motion: spec.target.motion().ok(), min_alt, spec }
    }

    /// The altitude limit in force: the telescope's or the request's, if higher.
    pub fn min_altitude_deg(&self) -> f64 {
        self.min_alt
    }

    pub fn window_allows(&self, start: Epoch, end: Epoch) -> bool {
        self.spec.window_allows(start, end)
    }

    pub fn motion(&self) -> Option<&Motion> {
        self.motion.as_ref()
    }

    /// Where the target is at `at` (ICRS astrometric).
    pub fn place(&self, at: Epoch) -> Option<Icrs> {
        self.motion.as_ref()?.place(&self.limits.site, at).ok()
    }

    /// Observable at `at`: above the altitude limit and the horizon mask, inside the
    /// mount's limits, within the airmass limit, and clear of the Sun.
    pub fn observable_at(&self, at: Epoch) -> bool {
        let Some(frame) = self.frames.at(&self.limits.site, at) else { return false };
        self.observable_in(&frame)
    }

    /// [`Visibility::observable_at`] for a frame the caller already has (the
    /// planner's grid of the night).
    pub fn observable_in(&self, frame: &SkyFrame) -> bool {
        self.blocked_in(frame).is_none()
    }

    /// The first constraint that forbids observing in `frame`, if any.
    pub fn blocked_in(&self, frame: &SkyFrame) -> Option<Blocked> {
        let Some(target) = self.place(frame.epoch) else { return Some(Blocked::Unknown) };
        let c = &self.spec.constraints;
        if frame.sun_separation_deg(target) < self.limits.sun_avoidance_deg {
            return Some(Blocked::Sun);
        }
        if c.max_sun_altitude_deg.is_some_and(|m| frame.sun_alt_deg > m) {
            return Some(Blocked::Daylight);
        }
        let o = frame.observe(target);
        if o.alt_deg < self.min_alt {
            return Some(Blocked::Altitude);
        }
        if self.limits.pointing.check(&o).is_err() {
            return Some(Blocked::Horizon);
        }
        if let Some(max) = c.max_airmass
            && teld_astro::airmass::young1994(o.alt_deg).is_none_or(|x| x > max)
        {
            return Some(Blocked::Airmass);
        }
        if c.min_moon_separation_deg.is_some_and(|m| frame.moon_separation_deg(target) < m) {
            return Some(Blocked::Moon);
        }
        if c.max_moon_illumination
            .is_some_and(|m| frame.moon_alt_deg > 0.0 && frame.moon_illumination > m)
        {
            return Some(Blocked::MoonBright);
        }
        None
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
    use crate::model::RequestSpec;

    fn spec(dec: f64, min_alt: Option<f64>) -> RequestSpec {
        let mut s = RequestSpec::example(22.5, dec);
        s.constraints.min_altitude_deg = min_alt;
        s
    }

    fn limits() -> Limits {
        Limits {
            site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
            min_altitude_deg: 30.0,
            sun_avoidance_deg: 30.0,
            pointing: PointingLimits::default(),
        }
    }

    #[test]
    fn demo_target_is_up_in_the_evening_and_down_before_dawn() {
        let (l, frames) = (limits(), Frames::default());
        let s = spec(20.1, None);
        let v = Visibility::new(&l, &frames, &s);
        let evening = Epoch::from_gregorian_utc(2026, 11, 24, 21, 0, 0, 0);
        assert!(v.observable_over(evening, evening + Duration::from_seconds(1800.0)));
        let late = Epoch::from_gregorian_utc(2026, 11, 25, 4, 0, 0, 0);
        assert!(!v.observable_at(late));
    }

    #[test]
    fn request_limit_can_only_tighten() {
        let (l, frames) = (limits(), Frames::default());
        let lax = spec(20.1, Some(10.0));
        assert_eq!(Visibility::new(&l, &frames, &lax).min_alt, 30.0);
        let strict = spec(20.1, Some(60.0));
        assert_eq!(Visibility::new(&l, &frames, &strict).min_alt, 60.0);
    }

    #[test]
    fn horizon_mask_blocks_and_frames_are_shared() {
        let mut l = limits();
        let frames = Frames::default();
        let s = spec(20.1, None);
        let t = Epoch::from_gregorian_utc(2026, 11, 24, 21, 0, 0, 0);
        assert!(Visibility::new(&l, &frames, &s).observable_at(t));
        l.pointing.mask = teld_astro::horizon::HorizonMask::new(vec![(0.0, 85.0)]).unwrap();
        assert!(!Visibility::new(&l, &frames, &s).observable_at(t));
        assert_eq!(frames.frames.lock().unwrap().len(), 1, "one frame for both checks");
    }
}
