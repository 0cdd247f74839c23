//! Astronomy for teld, shared by the daemon and the drivers (a mount simulator needs
//! altitudes, an LX200 driver needs coordinates of date), which is why it is its own
//! crate rather than a module of the daemon.
//!
//! First version: IAU 1976 precession, GMST (IAU 1982), horizontal coordinates, the
//! Astronomical Almanac's low-precision Sun (≈0.01°), Kasten–Young airmass and the
//! gnomonic projection. Accurate to about an arcminute: enough for night/day, horizon
//! and Sun-avoidance decisions, not for pointing models. Nutation, aberration,
//! refraction and UT1 come with the ERFA-grade version.

pub mod angle;
pub mod coords;
pub mod orbit;
pub mod projection;
pub mod sidereal;
pub mod sun;
pub mod time;

pub use coords::{Horizontal, Icrs, OfDate, Site};

/// Julian date (UTC, used as UT1 until IERS data is wired in) of an epoch.
pub fn jd_utc(epoch: hifitime::Epoch) -> f64 {
    let (a, b) = time::jd_utc(epoch);
    a + b
}

/// Julian centuries of TT since J2000.0, the argument of precession and Sun series.
pub fn centuries_tt(epoch: hifitime::Epoch) -> f64 {
    (epoch.to_jde_tt_days() - 2_451_545.0) / 36_525.0
}
