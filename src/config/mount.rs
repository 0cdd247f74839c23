//! How a telescope's mount moves and what encloses it: the facts the interlocks need
//! beyond the limits (slew paths, meridian flips, whether it may unpark under a
//! closed roof).

use serde::Deserialize;

/// The mount's geometry (`[[telescopes]] mount_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountType {
    /// An equatorial mount that tracks through the meridian (fork, yoke, horseshoe):
    /// slews move the hour-angle and declination axes.
    #[default]
    Equatorial,
    /// A German equatorial mount: it tracks only `meridian_limit_deg` past the
    /// meridian on one side of the pier, then must flip to the other side.
    German,
    /// An alt-az mount: slews move the azimuth and altitude axes.
    Altaz,
}

/// What closes over the telescope (`[[telescopes]] enclosure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enclosure {
    /// A dome or clamshell: the mount stays parked until the shutter reports open,
    /// because an unparked telescope can swing into the closed shutter.
    #[default]
    Dome,
    /// A roll-off roof whose park position clears the closed roof and whose mount may
    /// leave park under it (e.g. a low-profile pier): unparking is allowed with the
    /// roof closed. Only for sites where that was checked by hand.
    RollOffParkSafe,
}

/// Tracks this far past the meridian unless the site says otherwise: most GEM
/// controllers ship with 5–15°; 5° keeps the counterweight clear on small piers.
pub fn default_meridian_limit() -> f64 {
    5.0
}

/// The smallest meridian limit teld accepts: a flip needs the target past the
/// meridian (so a re-slew lands on the other side) and before the limit, and with
/// one-minute planning samples (0.25° of hour angle) under 1° leaves no room.
pub const MIN_MERIDIAN_LIMIT_DEG: f64 = 1.0;

/// The mount facts the interlocks use, built from the telescope's config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MountGeometry {
    pub kind: MountType,
    /// German mounts: degrees of hour angle past the meridian the mount may track
    /// before it must flip (or stop).
    pub meridian_limit_deg: f64,
    /// German mounts: whether teld may flip it during a block; without, a block
    /// that would cross the limit is refused.
    pub meridian_flip: bool,
}

impl Default for MountGeometry {
    fn default() -> Self {
        MountGeometry {
            kind: MountType::Equatorial,
            meridian_limit_deg: default_meridian_limit(),
            meridian_flip: true,
        }
    }
}
