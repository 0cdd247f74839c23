//! Astronomy for teld, shared by the daemon and the drivers (a mount simulator needs
//! altitudes, an LX200 driver needs coordinates of date), which is why it is its own
//! crate rather than a module of the daemon.
//!
//! - [`time`]: UTC with leap seconds, TAI, TT, UT1 on hifitime's TAI timeline.
//! - [`iers`]: UT1−UTC and polar motion (bundled table, operator-refreshable).
//! - [`astrometry`]: IAU SOFA reductions (via `sofars`): ICRS → observed with
//!   precession-nutation, aberration, light deflection, polar motion, refraction;
//!   coordinates of date (JNow); the inverse; sidereal times.
//! - [`sun`], [`moon`], [`events`]: Sun and Moon places, rise/set and twilight.
//! - [`horizon`]: horizon masks and mount limits.
//! - [`visibility`]: the many-targets × many-instants path for planning.
//! - [`airmass`], [`projection`], [`angle`]: small helpers.

pub mod airmass;
pub mod angle;
pub mod approx;
pub mod astrometry;
pub mod bodies;
pub mod coords;
pub mod events;
mod fastmath;
pub mod horizon;
pub mod iers;
pub mod moon;
pub mod orbit;
pub mod projection;
pub mod sidereal;
pub mod site;
pub mod sun;
pub mod time;
pub mod visibility;

pub use astrometry::{Astrometry, Observed};
pub use coords::{Horizontal, Icrs, TrueOfDate};
pub use iers::Eop;
pub use site::{Site, Weather};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AstroError {
    #[error(
        "site {0:?} is not a valid WGS84 position (latitude within ±90°, longitude −180..360°, height −1000..10000 m)"
    )]
    BadSite(Site),
    #[error(
        "weather {0:?} is out of range (pressure 0..1200 hPa, temperature −150..200 °C, humidity 0..1, wavelength > 0 µm)"
    )]
    BadWeather(Weather),
    #[error("{0} is outside 1901–2099, the range of SOFA's Earth ephemeris")]
    DateOutOfRange(String),
    #[error(transparent)]
    Time(#[from] time::TimeError),
    #[error("SOFA {what} failed with status {code}")]
    Sofa { what: &'static str, code: i32 },
}
pub use sidereal::jd_utc;
