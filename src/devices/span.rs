//! The whole block, not just its first instant: a target allowed at the slew can
//! set below the mask, run into an hour-angle limit or past a German mount's meridian
//! limit while the mount tracks it. The device layer checks the span from the slew to
//! the block's end before it moves anything.

use hifitime::{Duration, Epoch};
use teld_astro::{Icrs, Observed};
use teld_driver_protocol::time::format_utc_digits;

use super::{InterlockError, Interlocks};

/// Seconds between checked instants. The fastest limit change while tracking is the
/// sky's own turn: hour angle moves 0.25°/min for every target, and altitude at most
/// as fast (15°/h × cos latitude). Sampled every minute, no limit can be passed by
/// more than 0.25° before a sample sees it — finer than a horizon mask is measured,
/// and well inside the tracking guard's 0.5° tolerance — and the Sun moves 0.04°/h
/// against the stars. A NEO faster than the sky (1°/min at a close approach) is
/// followed by re-pointing, and each re-point checks its own span again. An eight-hour
/// block is 481 SOFA evaluations, a few tens of milliseconds.
pub const SPAN_STEP_S: f64 = 60.0;

/// Where the telescope must point over a block: a fixed place, or a moving target's
/// place at each instant.
#[derive(Clone, Copy)]
pub enum Track<'a> {
    Fixed(Icrs),
    Moving(&'a (dyn Fn(Epoch) -> Option<Icrs> + Sync)),
}

impl Track<'_> {
    pub fn place(&self, at: Epoch) -> Result<Icrs, InterlockError> {
        match self {
            Track::Fixed(p) => Ok(*p),
            Track::Moving(f) => {
                f(at).ok_or_else(|| InterlockError::NoPlace { at: format_utc_digits(at, 0) })
            }
        }
    }
}

/// A checked span: the target's observed place at each sampled instant.
#[derive(Debug, Clone)]
pub struct Span {
    pub samples: Vec<(Epoch, Observed)>,
}

impl Span {
    pub fn first(&self) -> &Observed {
        &self.samples[0].1
    }
}

/// `from`, every [`SPAN_STEP_S`] after it, and `until` itself.
pub fn sample_times(from: Epoch, until: Epoch) -> Vec<Epoch> {
    let total = (until - from).to_seconds().max(0.0);
    let steps = (total / SPAN_STEP_S).ceil() as usize;
    let mut v: Vec<Epoch> =
        (0..steps).map(|i| from + Duration::from_seconds(i as f64 * SPAN_STEP_S)).collect();
    v.push(if steps == 0 { from } else { until });
    v
}

impl Interlocks {
    /// Checks every sampled instant from `from` to `until` with the same rules as a
    /// single pointing (Sun, altitude, horizon mask, mount limits). A refusal names
    /// the first instant that fails and how far into the block it is.
    pub fn check_span(
        &self,
        track: &Track<'_>,
        from: Epoch,
        until: Epoch,
    ) -> Result<Span, InterlockError> {
        let mut samples = Vec::new();
        for t in sample_times(from, until) {
            let checked = track.place(t).and_then(|p| self.check_pointing(p, t));
            match checked {
                Ok(o) => samples.push((t, o)),
                // The first instant's refusal is the plain pointing refusal.
                Err(e) if t == from => return Err(e),
                Err(e) => {
                    return Err(InterlockError::LeavesLimits {
                        at: format_utc_digits(t, 0),
                        minutes: (t - from).to_seconds() / 60.0,
                        reason: Box::new(e),
                    });
                }
            }
        }
        Ok(Span { samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::interlock::tests::locks;
    use teld_astro::horizon::{HorizonMask, MountLimits};

    fn at(h: u32, m: u32) -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 0, 0, 0, 0)
            + Duration::from_seconds(f64::from(h * 3600 + m * 60))
    }

    #[test]
    fn samples_cover_both_ends_every_minute() {
        let v = sample_times(at(22, 0), at(22, 10) + Duration::from_seconds(30.0));
        assert_eq!(v.len(), 12);
        assert_eq!(v[0], at(22, 0));
        assert_eq!(v[10], at(22, 10));
        assert_eq!(*v.last().unwrap(), at(22, 10) + Duration::from_seconds(30.0));
        assert_eq!(sample_times(at(22, 0), at(22, 0)), vec![at(22, 0)]);
        assert_eq!(sample_times(at(22, 0), at(21, 0)), vec![at(22, 0)], "an empty span");
    }

    #[test]
    fn a_target_setting_during_the_block_is_refused_at_the_first_minute_it_fails() {
        let l = locks();
        // RA 22.5°, Dec 20.1° culminates near 22:28 UTC at La Palma (~71°) and sets in
        // the west; altitude 20° (the limit) is crossed about 5.2 h later, ~03:34 UTC.
        let target = Track::Fixed(Icrs { ra_deg: 22.5, dec_deg: 20.1 });
        let ok = l.check_span(&target, at(23, 0), at(23, 30)).unwrap();
        assert_eq!(ok.samples.len(), 31);
        let e = l
            .check_span(&target, at(23, 0), at(23, 0) + Duration::from_seconds(5.0 * 3600.0))
            .unwrap_err();
        let InterlockError::LeavesLimits { at: when, minutes, reason } = &e else { panic!("{e}") };
        assert!(matches!(**reason, InterlockError::BelowLimit { .. }), "{reason}");
        assert!(when.starts_with("2026-11-25T03:3"), "{when}");
        assert!((270.0..280.0).contains(minutes), "{minutes}");
        assert!(e.to_string().contains("whole block"), "{e}");
    }

    #[test]
    fn hour_angle_and_mask_are_checked_over_tracking_time() {
        let mut l = locks();
        let target = Track::Fixed(Icrs { ra_deg: 22.5, dec_deg: 20.1 });
        // Past the meridian at 23:00 (HA ≈ +8.0°): an HA limit of +30° is reached ~88
        // minutes later (22° at 15.04°/h).
        l.limits.mount = MountLimits { ha_max_deg: 30.0, ..MountLimits::default() };
        assert!(l.check_span(&target, at(23, 0), at(24, 15)).is_ok());
        let e = l.check_span(&target, at(23, 0), at(25, 0)).unwrap_err();
        let InterlockError::LeavesLimits { reason, minutes, .. } = &e else { panic!("{e}") };
        assert!(reason.to_string().contains("hour angle"), "{reason}");
        assert!((87.0..89.0).contains(minutes), "{minutes}");
        l.limits.mount = MountLimits::default();
        // A wall in the west up to 60° while the target sinks through it.
        l.limits.mask = HorizonMask::new(vec![(200.0, 0.0), (260.0, 60.0), (320.0, 0.0)]).unwrap();
        assert!(l.check_span(&target, at(23, 0), at(23, 5)).is_ok());
        let e = l.check_span(&target, at(23, 0), at(26, 0)).unwrap_err();
        assert!(e.to_string().contains("horizon mask"), "{e}");
    }

    #[test]
    fn a_moving_target_is_followed_and_a_gap_in_its_ephemeris_refused() {
        let l = locks();
        let start = at(23, 0);
        // 1°/min southwards: from Dec 20° to below the 20° altitude limit within 2 h.
        let fast = move |t: Epoch| {
            let min = (t - start).to_seconds() / 60.0;
            (min < 100.0).then_some(Icrs { ra_deg: 22.5, dec_deg: 20.1 - min })
        };
        let track = Track::Moving(&fast);
        assert!(l.check_span(&track, start, at(23, 10)).is_ok());
        let e = l.check_span(&track, start, at(24, 0)).unwrap_err();
        let InterlockError::LeavesLimits { reason, .. } = &e else { panic!("{e}") };
        assert!(matches!(**reason, InterlockError::BelowLimit { .. }), "{e}");
        let gap = |_t: Epoch| None;
        let e = l.check_span(&Track::Moving(&gap), start, at(23, 10)).unwrap_err();
        assert!(matches!(e, InterlockError::NoPlace { .. }), "{e}");
    }
}
