//! The simulated mount (ASCOM ITelescopeV4), an alt/az model reporting ICRS (J2000).
//!
//! With tracking on the mount holds its RA/Dec and its alt/az follow the sky; with
//! tracking off it holds alt/az and the RA drifts. Slews are asynchronous (see
//! [`crate::slew`]); parking slews to a fixed alt/az and turns tracking off. The image
//! is treated as derotated: north stays up whatever the mount does.

use hifitime::{Duration, Epoch};
use teld_astro::approx;
use teld_astro::{Horizontal, Icrs, Site};
use teld_driver_protocol::{EquatorialSystem, ErrorCode, MountState, PierSide};

use crate::error::Coded;
use crate::settings::MountSettings;
use crate::slew::{Goal, Slew};
use crate::timeline::Timeline;

/// What the mount's axes are doing from some instant on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Motion {
    /// Tracking: RA/Dec fixed.
    Track(Icrs),
    /// Not tracking: alt/az fixed.
    Hold(Horizontal),
    Slew(Slew),
    /// At the park position, tracking off.
    Parked,
    /// A German mount that tracked to its meridian limit on the west side of the pier
    /// and stopped there, as real controllers do; it reports tracking off until a slew
    /// takes it elsewhere.
    AtLimit(Horizontal),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MountError {
    #[error("right ascension {0} h is outside 0..24 h (ASCOM RightAscension is in hours, J2000)")]
    BadRightAscension(f64),
    #[error("declination {0}° is outside -90..+90°")]
    BadDeclination(f64),
    #[error("the mount is parked; unpark it before slewing or tracking (ASCOM ParkedException)")]
    Parked,
    #[error(
        "tracking is off; ASCOM refuses RA/Dec slews without tracking: call set_tracking(true) first"
    )]
    NotTracking,
    #[error(
        "target is at altitude {alt:.2}°, below the mount's limit of {limit:.2}°; choose a target that has risen or wait for it"
    )]
    BelowLimit { alt: f64, limit: f64 },
}

impl Coded for MountError {
    fn code(&self) -> ErrorCode {
        match self {
            MountError::BadRightAscension(_)
            | MountError::BadDeclination(_)
            | MountError::BelowLimit { .. } => ErrorCode::InvalidValue,
            MountError::Parked | MountError::NotTracking => ErrorCode::InvalidOperation,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mount {
    site: Site,
    cfg: MountSettings,
    motion: Timeline<Motion>,
    /// ASCOM `Tracking`; during a slew it decides what happens on arrival.
    tracking: bool,
    /// Chosen by each slew from the target's hour angle and kept while tracking, as a
    /// German equatorial mount keeps its side until the next slew (or meridian flip).
    pier_side: PierSide,
    /// The side was chosen by a slew to a target (not the park position, from which a
    /// German mount can swing to either side without a flip).
    sided: bool,
}

impl Mount {
    /// A mount that starts parked, as a real one does after a night's shutdown.
    pub fn new(site: Site, cfg: MountSettings, now: Epoch) -> Self {
        let park = Horizontal { alt_deg: cfg.park_alt_deg, az_deg: cfg.park_az_deg };
        let pier_side = pier_side_for(&site, park, now);
        Mount {
            site,
            cfg,
            motion: Timeline::new(now, Motion::Parked),
            tracking: false,
            pier_side,
            sided: false,
        }
    }

    fn park_position(&self) -> Horizontal {
        Horizontal { alt_deg: self.cfg.park_alt_deg, az_deg: self.cfg.park_az_deg }
    }

    /// The motion in force at `t`, with a finished slew replaced by what follows it
    /// and tracking past the meridian limit replaced by the stop at the limit.
    fn resolved(&self, t: Epoch) -> Motion {
        let (since, m) = self.motion.entry_at(t);
        let m = match *m {
            Motion::Slew(s) if t >= s.end => {
                return self.limited(self.arrival(&s), s.end, t);
            }
            m => m,
        };
        self.limited(m, since, t)
    }

    /// `m`, in force since `since`, as it is at `t` given the meridian limit.
    fn limited(&self, m: Motion, since: Epoch, t: Epoch) -> Motion {
        match (m, self.limit_stop(m, since)) {
            (Motion::Track(icrs), Some(at)) if t >= at => {
                Motion::AtLimit(approx::to_horizontal(icrs, &self.site, at))
            }
            _ => m,
        }
    }

    /// When a German mount tracking on the west side reaches its meridian limit.
    fn limit_stop(&self, m: Motion, since: Epoch) -> Option<Epoch> {
        let Motion::Track(icrs) = m else { return None };
        if !self.cfg.german || self.pier_side != PierSide::West {
            return None;
        }
        let ha = approx::hour_angle_deg(icrs, &self.site, since);
        Some(
            since
                + Duration::from_seconds(
                    west_hour_angle_to_limit(ha, self.cfg.meridian_limit_deg) / SIDEREAL_DEG_PER_S,
                ),
        )
    }

    fn arrival(&self, s: &Slew) -> Motion {
        match s.goal {
            Goal::Park => Motion::Parked,
            Goal::Target(icrs) if self.tracking => Motion::Track(icrs),
            Goal::Target(_) => Motion::Hold(s.to),
        }
    }

    /// Where the optical axis points at `t`, in ICRS and alt/az.
    pub fn pointing_at(&self, t: Epoch) -> (Icrs, Horizontal) {
        let site = &self.site;
        let from_hor = |h: Horizontal| (approx::to_icrs(h, site, t), h);
        match self.resolved(t) {
            Motion::Track(icrs) => (icrs, approx::to_horizontal(icrs, site, t)),
            Motion::Hold(h) => from_hor(h),
            Motion::Parked => from_hor(self.park_position()),
            Motion::Slew(s) => from_hor(s.position(t)),
            Motion::AtLimit(h) => from_hor(h),
        }
    }

    pub fn state(&self, t: Epoch) -> MountState {
        let motion = self.resolved(t);
        let (icrs, hor) = self.pointing_at(t);
        MountState {
            connected: true,
            right_ascension: (icrs.ra_deg / 15.0).rem_euclid(24.0),
            declination: icrs.dec_deg,
            altitude: hor.alt_deg,
            azimuth: hor.az_deg,
            tracking: self.tracking && !matches!(motion, Motion::AtLimit(_)),
            slewing: matches!(motion, Motion::Slew(_)),
            at_park: matches!(motion, Motion::Parked),
            side_of_pier: self.pier_side,
            equatorial_system: EquatorialSystem::J2000,
        }
    }

    /// The next instant after `t` at which the mount's state changes by itself.
    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        let (since, m) = self.motion.entry_at(t);
        match *m {
            Motion::Slew(s) if s.end > t => Some(s.end),
            Motion::Slew(s) => self.limit_stop(self.arrival(&s), s.end).filter(|&at| at > t),
            m => self.limit_stop(m, since).filter(|&at| at > t),
        }
    }

    /// Records a slew that ended by `t` as its arrival, and a stop at the meridian
    /// limit reached by `t`, so history stays exact.
    pub fn settle(&mut self, t: Epoch) {
        if let Motion::Slew(s) = *self.motion.current()
            && s.end <= t
        {
            let next = self.arrival(&s);
            self.motion.push(s.end, next);
        }
        let (since, m) = self.motion.entry_at(t);
        let m = *m;
        if let (Motion::Track(icrs), Some(at)) = (m, self.limit_stop(m, since))
            && at <= t
        {
            self.motion.push(at, Motion::AtLimit(approx::to_horizontal(icrs, &self.site, at)));
        }
    }

    fn is_parked(&self, now: Epoch) -> bool {
        matches!(self.resolved(now), Motion::Parked)
    }

    /// ASCOM SlewToCoordinatesAsync with RA in hours and Dec in degrees (J2000).
    pub fn slew_to(&mut self, now: Epoch, ra_hours: f64, dec_deg: f64) -> Result<(), MountError> {
        self.settle(now);
        if !(ra_hours.is_finite() && (0.0..24.0).contains(&ra_hours)) {
            return Err(MountError::BadRightAscension(ra_hours));
        }
        if !(dec_deg.is_finite() && (-90.0..=90.0).contains(&dec_deg)) {
            return Err(MountError::BadDeclination(dec_deg));
        }
        if self.is_parked(now) {
            return Err(MountError::Parked);
        }
        if !self.tracking {
            return Err(MountError::NotTracking);
        }
        let target = Icrs { ra_deg: ra_hours * 15.0, dec_deg };
        let alt = approx::to_horizontal(target, &self.site, now).alt_deg;
        if alt < self.cfg.min_altitude_deg {
            return Err(MountError::BelowLimit { alt, limit: self.cfg.min_altitude_deg });
        }
        let site = self.site;
        self.start_slew(now, Goal::Target(target), move |t| {
            approx::to_horizontal(target, &site, t)
        });
        Ok(())
    }

    fn start_slew(&mut self, now: Epoch, goal: Goal, target_at: impl Fn(Epoch) -> Horizontal) {
        let (_, from) = self.pointing_at(now);
        let slew = Slew::plan(
            now,
            from,
            goal,
            self.cfg.slew_rate_deg_s,
            self.cfg.slew_accel_deg_s2,
            target_at,
        );
        let side = pier_side_for(&self.site, slew.to, slew.end);
        let mut slew = slew;
        let is_target = matches!(goal, Goal::Target(_));
        if self.cfg.german && side != self.pier_side && self.sided && is_target {
            // Changing side turns both axes half round: a meridian flip takes longer.
            slew.end += Duration::from_seconds(self.cfg.flip_time_s);
        }
        self.pier_side = side;
        self.sided = is_target;
        self.motion.push(now, Motion::Slew(slew));
        self.settle(now); // a zero-length slew has already arrived
    }

    /// The daemon's clock was set back from `from` to `to`: carry on from the state at
    /// `from` (a slew continues from where it had got to) rather than undo commands.
    pub fn rebase(&mut self, from: Epoch, to: Epoch) {
        match self.resolved(from) {
            Motion::Slew(s) => {
                self.motion = Timeline::new(to, Motion::Hold(s.position(from)));
                let site = self.site;
                match s.goal {
                    Goal::Target(icrs) => {
                        self.start_slew(to, s.goal, move |t| approx::to_horizontal(icrs, &site, t))
                    }
                    Goal::Park => {
                        let park = self.park_position();
                        self.start_slew(to, Goal::Park, move |_| park)
                    }
                }
            }
            m => self.motion = Timeline::new(to, m),
        }
    }

    /// ASCOM AbortSlew: stop where the axes are; tracking keeps its setting.
    pub fn abort_slew(&mut self, now: Epoch) -> Result<(), MountError> {
        self.settle(now);
        match self.resolved(now) {
            Motion::Parked => Err(MountError::Parked),
            Motion::Slew(s) => {
                let here = s.position(now);
                let next = if self.tracking {
                    Motion::Track(approx::to_icrs(here, &self.site, now))
                } else {
                    Motion::Hold(here)
                };
                self.motion.push(now, next);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// ASCOM Park: slew to the park position with tracking off; harmless when parked.
    pub fn park(&mut self, now: Epoch) {
        self.settle(now);
        if self.is_parked(now) {
            return;
        }
        if let Motion::Slew(Slew { goal: Goal::Park, .. }) = self.resolved(now) {
            return; // already on its way
        }
        self.tracking = false;
        let park = self.park_position();
        self.start_slew(now, Goal::Park, move |_| park);
    }

    /// ASCOM Unpark: leave the park position (holding it, tracking still off). During a
    /// park slew it stops the slew where it is.
    pub fn unpark(&mut self, now: Epoch) {
        self.settle(now);
        match self.resolved(now) {
            Motion::Parked => self.motion.push(now, Motion::Hold(self.park_position())),
            Motion::Slew(s) if s.goal == Goal::Park => {
                self.motion.push(now, Motion::Hold(s.position(now)))
            }
            _ => {}
        }
    }

    /// ASCOM Tracking (write). Turning tracking on while parked is refused.
    pub fn set_tracking(&mut self, now: Epoch, on: bool) -> Result<(), MountError> {
        self.settle(now);
        let motion = self.resolved(now);
        if on && matches!(motion, Motion::Parked | Motion::Slew(Slew { goal: Goal::Park, .. })) {
            return Err(MountError::Parked);
        }
        self.tracking = on;
        match motion {
            Motion::Hold(h) if on => {
                self.motion.push(now, Motion::Track(approx::to_icrs(h, &self.site, now)))
            }
            Motion::Track(icrs) if !on => {
                self.motion.push(now, Motion::Hold(approx::to_horizontal(icrs, &self.site, now)))
            }
            _ => {}
        }
        Ok(())
    }
}

/// Degrees of hour angle a mount on the west side of the pier tracks from `ha_deg`
/// (in (−180°, 180°]) before it reaches the meridian limit. The limit guards the
/// upper meridian only: a mount near the lower one (the north-horizon park sits at
/// ±180°, and rounding picks the sign) has half a day to go, not zero.
fn west_hour_angle_to_limit(ha_deg: f64, limit_deg: f64) -> f64 {
    if ha_deg > limit_deg && ha_deg > 90.0 {
        limit_deg - (ha_deg - 360.0)
    } else {
        (limit_deg - ha_deg).max(0.0)
    }
}

/// Degrees of hour angle per second of time.
const SIDEREAL_DEG_PER_S: f64 = 360.0 / 86_164.090_5;

/// ASCOM SideOfPier for a mount looking at `h`: pierEast is the normal state, looking
/// west (hour angle > 0); pierWest is through the pole, looking east.
fn pier_side_for(site: &Site, h: Horizontal, t: Epoch) -> PierSide {
    let ha = approx::hour_angle_deg(approx::to_icrs(h, site, t), site, t);
    if ha >= 0.0 { PierSide::East } else { PierSide::West }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teld_driver_protocol::{ClockSync, DriverClock};

    fn site() -> Site {
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
    }

    /// A stepped clock: simulated time moves only when the test re-syncs it.
    struct Stepper {
        clock: DriverClock,
    }

    impl Stepper {
        fn new() -> Self {
            let t0 = Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0);
            Stepper { clock: DriverClock::new(ClockSync { utc: t0, speed: 0.0 }) }
        }
        fn now(&self) -> Epoch {
            self.clock.now()
        }
        fn advance(&mut self, seconds: f64) -> Epoch {
            let utc = self.clock.now() + Duration::from_seconds(seconds);
            self.clock.sync(ClockSync { utc, speed: 0.0 });
            utc
        }
    }

    /// RA (hours) of a point `ha_h` hours west of the meridian at `dec`, now.
    fn ra_at_hour_angle(t: Epoch, ha_h: f64) -> f64 {
        let lst = teld_astro::sidereal::lmst_deg(teld_astro::jd_utc(t), site().longitude_deg);
        ((lst / 15.0 - ha_h).rem_euclid(24.0) * 1e6).round() / 1e6
    }

    fn ready_mount(clock: &Stepper) -> Mount {
        let mut m = Mount::new(site(), MountSettings::default(), clock.now());
        m.unpark(clock.now());
        m.set_tracking(clock.now(), true).unwrap();
        m
    }

    #[test]
    fn starts_parked_and_refuses_to_slew_until_unparked() {
        let clock = Stepper::new();
        let now = clock.now();
        let mut m = Mount::new(site(), MountSettings::default(), now);
        let s = m.state(now);
        assert!(s.at_park && !s.tracking && !s.slewing);
        assert!((s.altitude - DEFAULT_PARK_ALT).abs() < 1e-9, "{s:?}");
        let ra = ra_at_hour_angle(now, 0.0);
        assert_eq!(m.slew_to(now, ra, 20.0).unwrap_err().code(), ErrorCode::InvalidOperation);
        assert_eq!(m.set_tracking(now, true).unwrap_err(), MountError::Parked);
        m.unpark(now);
        assert!(!m.state(now).at_park);
        assert_eq!(m.slew_to(now, ra, 20.0).unwrap_err(), MountError::NotTracking);
        m.set_tracking(now, true).unwrap();
        m.slew_to(now, ra, 20.0).unwrap();
        assert!(m.state(now).slewing);
    }

    const DEFAULT_PARK_ALT: f64 = crate::settings::DEFAULT_PARK_ALT_DEG;

    #[test]
    fn slew_takes_realistic_time_and_ends_on_target() {
        let mut clock = Stepper::new();
        let mut m = ready_mount(&clock);
        let ra = ra_at_hour_angle(clock.now(), 0.0);
        m.slew_to(clock.now(), ra, 20.0).unwrap();
        // From alt 0 / az 0 to the meridian at Dec 20 (alt ≈ 81°, az 180°): the azimuth
        // axis moves 180° at 3°/s plus 2 s of ramps ≈ 62 s.
        let end = m.next_change_after(clock.now()).unwrap();
        let secs = (end - clock.now()).to_seconds();
        assert!((secs - 62.0).abs() < 1.0, "{secs}");
        clock.advance(secs / 2.0);
        let mid = m.state(clock.now());
        assert!(mid.slewing);
        assert!(mid.azimuth > 60.0 && mid.azimuth < 120.0, "interpolates: {mid:?}");
        clock.advance(secs / 2.0 + 1e-3);
        m.settle(clock.now());
        let s = m.state(clock.now());
        assert!(!s.slewing && s.tracking);
        assert!((s.right_ascension - ra).abs() < 1e-9 && (s.declination - 20.0).abs() < 1e-9);
        assert_eq!(s.equatorial_system, EquatorialSystem::J2000);
    }

    #[test]
    fn refuses_targets_below_the_limit_and_bad_coordinates() {
        let clock = Stepper::new();
        let mut m = ready_mount(&clock);
        let ra = ra_at_hour_angle(clock.now(), 0.0);
        let e = m.slew_to(clock.now(), ra, -70.0).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        let msg = e.to_string();
        assert!(msg.contains("15.00") && msg.contains("altitude"), "{msg}");
        assert!(matches!(m.slew_to(clock.now(), 24.0, 0.0), Err(MountError::BadRightAscension(_))));
        assert!(matches!(m.slew_to(clock.now(), -1.0, 0.0), Err(MountError::BadRightAscension(_))));
        assert!(matches!(m.slew_to(clock.now(), 1.0, 91.0), Err(MountError::BadDeclination(_))));
        assert!(!m.state(clock.now()).slewing, "a refused slew does not move");
    }

    #[test]
    fn tracking_on_holds_radec_tracking_off_holds_altaz() {
        let mut clock = Stepper::new();
        let mut m = ready_mount(&clock);
        let ra = ra_at_hour_angle(clock.now(), 1.0);
        m.slew_to(clock.now(), ra, 30.0).unwrap();
        clock.advance(120.0);
        m.settle(clock.now());
        let a = m.state(clock.now());
        clock.advance(600.0);
        let b = m.state(clock.now());
        assert!((a.right_ascension - b.right_ascension).abs() < 1e-9);
        assert!((a.altitude - b.altitude).abs() > 0.5, "alt/az follow the sky");
        m.set_tracking(clock.now(), false).unwrap();
        let c = m.state(clock.now());
        clock.advance(600.0);
        let d = m.state(clock.now());
        assert!((c.altitude - d.altitude).abs() < 1e-9 && (c.azimuth - d.azimuth).abs() < 1e-9);
        // 600 s of sidereal drift is 600 × 1.0027 s of RA.
        let drift_s = (d.right_ascension - c.right_ascension) * 3600.0;
        assert!((drift_s - 601.6).abs() < 1.0, "{drift_s}");
        assert!(!d.tracking);
    }

    #[test]
    fn abort_stops_where_it_is() {
        let mut clock = Stepper::new();
        let mut m = ready_mount(&clock);
        m.slew_to(clock.now(), ra_at_hour_angle(clock.now(), 0.0), 20.0).unwrap();
        clock.advance(10.0);
        let before = m.state(clock.now());
        m.abort_slew(clock.now()).unwrap();
        let after = m.state(clock.now());
        assert!(!after.slewing && after.tracking);
        assert!((before.azimuth - after.azimuth).abs() < 1e-6);
        assert_eq!(m.next_change_after(clock.now()), None);
        // Tracking continues at the abort position.
        clock.advance(300.0);
        let later = m.state(clock.now());
        assert!((later.right_ascension - after.right_ascension).abs() < 1e-9);
    }

    #[test]
    fn park_is_asynchronous_idempotent_and_stops_tracking() {
        let mut clock = Stepper::new();
        let mut m = ready_mount(&clock);
        m.slew_to(clock.now(), ra_at_hour_angle(clock.now(), 0.0), 20.0).unwrap();
        clock.advance(100.0);
        m.settle(clock.now());
        m.park(clock.now());
        let s = m.state(clock.now());
        assert!(s.slewing && !s.at_park && !s.tracking);
        m.park(clock.now()); // a second park while parking changes nothing
        let end = m.next_change_after(clock.now()).unwrap();
        clock.advance((end - clock.now()).to_seconds());
        m.settle(clock.now());
        let s = m.state(clock.now());
        assert!(s.at_park && !s.slewing && !s.tracking);
        assert!((s.altitude - DEFAULT_PARK_ALT).abs() < 1e-9);
        m.park(clock.now());
        assert!(m.state(clock.now()).at_park && m.next_change_after(clock.now()).is_none());
        assert_eq!(m.abort_slew(clock.now()), Err(MountError::Parked));
        m.unpark(clock.now());
        let s = m.state(clock.now());
        assert!(!s.at_park && !s.tracking);
    }

    #[test]
    fn pier_side_follows_hour_angle() {
        let mut clock = Stepper::new();
        let mut m = ready_mount(&clock);
        m.slew_to(clock.now(), ra_at_hour_angle(clock.now(), 2.0), 30.0).unwrap();
        clock.advance(120.0);
        assert_eq!(m.state(clock.now()).side_of_pier, PierSide::East, "looking west");
        m.slew_to(clock.now(), ra_at_hour_angle(clock.now(), -2.0), 30.0).unwrap();
        clock.advance(120.0);
        assert_eq!(m.state(clock.now()).side_of_pier, PierSide::West, "looking east");
        // Tracking across the meridian keeps the side until the next slew.
        clock.advance(4.0 * 3600.0);
        assert_eq!(m.state(clock.now()).side_of_pier, PierSide::West);
    }

    #[test]
    fn a_german_mount_stops_at_its_meridian_limit_and_flips_slower() {
        let mut clock = Stepper::new();
        let cfg = MountSettings {
            german: true,
            meridian_limit_deg: 2.0,
            flip_time_s: 100.0,
            ..MountSettings::default()
        };
        let mut m = Mount::new(site(), cfg, clock.now());
        m.unpark(clock.now());
        m.set_tracking(clock.now(), true).unwrap();
        // 1° east of the meridian: pierWest; the 2° limit is 3° (~12 min) away.
        let ra = ra_at_hour_angle(clock.now(), -1.0 / 15.0);
        m.slew_to(clock.now(), ra, 30.0).unwrap();
        clock.advance(120.0);
        m.settle(clock.now());
        let s = m.state(clock.now());
        assert!(s.tracking && !s.slewing && s.side_of_pier == PierSide::West, "{s:?}");
        let stop = m.next_change_after(clock.now()).expect("the limit is ahead");
        let ha_at_stop =
            approx::hour_angle_deg(Icrs { ra_deg: ra * 15.0, dec_deg: 30.0 }, &site(), stop);
        assert!((ha_at_stop - 2.0).abs() < 0.01, "{ha_at_stop}");
        clock.advance((stop - clock.now()).to_seconds() + 300.0);
        let s = m.state(clock.now());
        assert!(!s.tracking && !s.slewing, "stopped at the limit: {s:?}");
        let held = m.state(clock.now()).azimuth;
        clock.advance(60.0);
        m.settle(clock.now());
        assert!((m.state(clock.now()).azimuth - held).abs() < 1e-9, "holds still");
        // The flip: the same target again, now west of the meridian → pierEast, and
        // the slew takes the flip time on top.
        m.set_tracking(clock.now(), true).unwrap();
        m.slew_to(clock.now(), ra, 30.0).unwrap();
        let end = m.next_change_after(clock.now()).unwrap();
        assert!((end - clock.now()).to_seconds() >= 100.0);
        clock.advance((end - clock.now()).to_seconds() + 1.0);
        m.settle(clock.now());
        let s = m.state(clock.now());
        assert!(s.tracking && s.side_of_pier == PierSide::East, "{s:?}");
        assert_eq!(m.next_change_after(clock.now()), None, "no limit on the east side");
    }

    #[test]
    fn the_meridian_limit_guards_the_upper_meridian_only() {
        assert_eq!(west_hour_angle_to_limit(-10.0, 4.0), 14.0);
        assert_eq!(west_hour_angle_to_limit(5.0, 4.0), 0.0, "past the limit: stop now");
        // Just past lower culmination (where the north-horizon park is): 184° to go.
        assert!((west_hour_angle_to_limit(179.9999, 4.0) - 184.0001).abs() < 1e-9);
        assert!((west_hour_angle_to_limit(-179.9999, 4.0) - 183.9999).abs() < 1e-9);
    }

    /// The e2e flip-timeout case: a flip slew aborted, a park begun, the park stopped
    /// by an unpark near the north horizon (HA ≈ ±180°) with the side still West.
    /// Tracking must start, whatever the rounding; it used to stop at once "at the
    /// limit" for about a third of the start times.
    #[test]
    fn a_flip_aborted_into_a_park_and_unparked_near_the_pole_tracks_again() {
        let cfg = MountSettings {
            german: true,
            meridian_limit_deg: 4.0,
            flip_time_s: 400.0,
            ..MountSettings::default()
        };
        for k in 0..200 {
            let mut clock = Stepper::new();
            clock.advance(-3.0 * 3600.0 + k as f64 * 7.3);
            let mut m = Mount::new(site(), cfg.clone(), clock.now());
            m.unpark(clock.now());
            m.set_tracking(clock.now(), true).unwrap();
            let ra = ra_at_hour_angle(clock.now(), -3.5 / 15.0);
            m.slew_to(clock.now(), ra, 10.0).unwrap();
            clock.advance(22.0 * 60.0); // tracked into the limit on the west side
            m.set_tracking(clock.now(), true).unwrap();
            m.slew_to(clock.now(), ra, 10.0).unwrap(); // the flip
            clock.advance(300.0);
            m.abort_slew(clock.now()).unwrap();
            m.park(clock.now());
            clock.advance(60.0);
            m.unpark(clock.now()); // stops the park slew where it is
            m.set_tracking(clock.now(), true).unwrap();
            clock.advance(1.0);
            m.settle(clock.now());
            let s = m.state(clock.now());
            assert!(s.tracking, "start time {k}: {s:?}");
        }
    }

    #[test]
    fn clock_set_back_continues_from_the_current_state() {
        let mut clock = Stepper::new();
        let mut m = ready_mount(&clock);
        let ra = ra_at_hour_angle(clock.now(), 0.0);
        m.slew_to(clock.now(), ra, 20.0).unwrap();
        let from = clock.advance(20.0);
        let az = m.state(from).azimuth;
        let to = from - Duration::from_seconds(3600.0);
        m.rebase(from, to);
        let s = m.state(to);
        assert!(s.slewing && (s.azimuth - az).abs() < 1e-6, "{s:?}");
        let end = m.next_change_after(to).unwrap();
        m.settle(end);
        let s = m.state(end);
        assert!(!s.slewing && (s.right_ascension - ra).abs() < 1e-9 && s.tracking);
    }
}
