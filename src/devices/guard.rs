//! The tracking guard: a mount left tracking walks its target into the horizon, the
//! mount's hour-angle limit or (German mounts) the pier — a known failure of other
//! observatory software. The guard polls the mount's own report and, when it says it
//! is beyond a limit, stops tracking and parks.

use hifitime::Duration;
use teld_astro::Observed;
use teld_driver_protocol::{MountState, PierSide};

use super::{DeviceError, Interlocks, Telescope};
use crate::config::MountType;

/// Degrees beyond a limit before the guard acts. The block check samples once a
/// minute (0.25° of sky), so a planned block may brush a limit by that much; twice it
/// is a mount that is really where it must not be.
pub const GUARD_TOLERANCE_DEG: f64 = 0.5;

/// Simulated seconds between looks: the sky turns 0.125° meanwhile, well inside the
/// tolerance.
const GUARD_POLL_S: f64 = 30.0;
/// Real time between looks at least, so a fast simulated clock does not flood the
/// driver with state reads.
const GUARD_MIN_POLL: std::time::Duration = std::time::Duration::from_millis(250);

impl Interlocks {
    /// Why the mount, as it reports itself, is beyond a hardware limit (horizon mask,
    /// mount limits, or past a German mount's meridian limit on the west side), with
    /// [`GUARD_TOLERANCE_DEG`] of slack. The science altitude limit is not a hardware
    /// limit and is not checked here.
    pub fn beyond_limits(&self, o: &Observed, side: PierSide) -> Option<String> {
        let tol = GUARD_TOLERANCE_DEG;
        // Altitude limits (mask, mount) get their slack by lifting the place, the axis
        // ranges by widening them.
        let mut widened = self.limits.clone();
        let m = &mut widened.mount;
        m.ha_min_deg -= tol;
        m.ha_max_deg += tol;
        m.dec_min_deg -= tol;
        m.dec_max_deg += tol;
        let lifted = Observed { alt_deg: o.alt_deg + tol, ..*o };
        if let Err(v) = widened.check(&lifted) {
            return Some(v.to_string());
        }
        let limit = self.mount.meridian_limit_deg;
        if self.mount.kind == MountType::German && side == PierSide::West && o.ha_deg > limit + tol
        {
            return Some(format!(
                "hour angle {:.2}° on the west side of the pier is past the meridian limit {limit}° (meridian_limit_deg)",
                o.ha_deg
            ));
        }
        None
    }
}

impl Telescope {
    /// Resolves only when the mount reported itself beyond a limit: tracking has then
    /// been stopped and the mount parked (each confirmed from its state), and the
    /// error says why. Read failures are retried at the next look.
    pub async fn guard_tracking(&self) -> DeviceError {
        loop {
            tokio::join!(
                self.clock().sleep(Duration::from_seconds(GUARD_POLL_S)),
                tokio::time::sleep(GUARD_MIN_POLL)
            );
            // A slew teld commands around the read makes the read meaningless.
            let commanding = self.slewing_by_command();
            let Ok(st) = self.mount.state().await else { continue };
            if commanding || self.slewing_by_command() {
                continue;
            }
            let Some(reason) = self.beyond(&st) else { continue };
            tracing::error!(telescope = %self.name, "tracking guard: {reason}; stopping and parking");
            let _ = self.stop_and_park().await;
            return DeviceError::TrackingLimit { reason };
        }
    }

    /// Why a mount in state `st` is beyond a limit, if it is and it matters: only a
    /// tracking mount walks further in. A parked or slewing mount (or one teld is
    /// slewing: unparked and tracking for a moment before the slew starts) is where it
    /// was sent, and one standing still keeps its hour angle and altitude — including a
    /// German mount its controller stopped at the meridian limit, and an unparked one
    /// at a park position under the pole, where the hour angle is ±180°.
    fn beyond(&self, st: &MountState) -> Option<String> {
        if st.at_park || st.slewing || !st.tracking {
            return None;
        }
        let now = self.clock().now();
        let o = self.interlocks.observed(self.pointing_icrs(st), now).ok()?;
        self.interlocks.beyond_limits(&o, st.side_of_pier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MountGeometry;
    use crate::devices::interlock::tests::locks;
    use teld_astro::horizon::{HorizonMask, MountLimits};

    fn at(az: f64, alt: f64, ha: f64, dec: f64) -> Observed {
        Observed { az_deg: az, alt_deg: alt, alt_refracted_deg: None, ha_deg: ha, dec_deg: dec }
    }

    #[test]
    fn the_guard_allows_half_a_degree_then_names_the_limit() {
        let mut l = locks();
        l.limits.mask = HorizonMask::new(vec![(0.0, 10.0)]).unwrap();
        l.limits.mount = MountLimits { ha_max_deg: 60.0, ..MountLimits::default() };
        let east = PierSide::East;
        // The science limit (20° here) is not a hardware limit.
        assert_eq!(l.beyond_limits(&at(200.0, 15.0, 10.0, 0.0), east), None);
        assert_eq!(l.beyond_limits(&at(200.0, 9.6, 10.0, 0.0), east), None, "within 0.5°");
        let why = l.beyond_limits(&at(200.0, 9.4, 10.0, 0.0), east).unwrap();
        assert!(why.contains("horizon mask"), "{why}");
        assert_eq!(l.beyond_limits(&at(200.0, 40.0, 60.4, 0.0), east), None);
        let why = l.beyond_limits(&at(200.0, 40.0, 60.6, 0.0), east).unwrap();
        assert!(why.contains("hour angle"), "{why}");
        // A German mount on the west side past its meridian limit.
        l.mount =
            MountGeometry { kind: MountType::German, meridian_limit_deg: 5.0, meridian_flip: true };
        let o = at(200.0, 40.0, 5.6, 0.0);
        assert_eq!(l.beyond_limits(&o, east), None, "the east side may go on");
        let why = l.beyond_limits(&o, PierSide::West).unwrap();
        assert!(why.contains("meridian_limit_deg"), "{why}");
    }
}
