//! Moving targets: where a minor planet is on the sky and how fast it moves, for
//! non-sidereal tracking of near-Earth objects.
//!
//! Two sources of position:
//! - **MPC one-line elements** ([`MpcElements`], the MPCORB.DAT / NEOCP format),
//!   propagated as a two-body heliocentric orbit ([`KeplerOrbit`]), seen from the
//!   geocentre or a site ([`Observer`]) with light time ([`astrometric`]).
//! - **Ephemeris tables** ([`EphemerisTable`], as NEOCC or JPL give them), interpolated
//!   between rows and never extrapolated.
//!
//! Places are ICRS *astrometric* (no aberration, no light deflection): what MPC
//! ephemerides, plate solutions and astrometry reports use. Rates are sky-plane rates
//! in arcseconds per minute: RA·cos(Dec) and Dec.
//!
//! The model is the one skyfield uses for MPC orbits (the reference in the tests): the
//! MPC's ecliptic J2000 elements rotated to the equator by the J2000 obliquity, the
//! same solar GM, a two-body orbit about the Sun's centre, the Earth and Sun from a
//! planetary ephemeris. Two-body is the whole dynamical model: planetary perturbations
//! are not applied, so elements should have an epoch near the time of use (MPC
//! publishes them so) and a close approach is only as good as elements fitted to it.
//!
//! Accuracy is set by the Earth's position. The built-in SOFA `epv00` series is off
//! by up to ~7 km from DE421 in 2024-2030, which is 1″ at 0.01 au but tens of arcseconds
//! during a close approach. For close approaches load a JPL SPK file (`de421.bsp`,
//! `de440s.bsp`) with [`SolarSystemEphemeris::from_spk_file`]; the tests then agree with
//! skyfield to a few milliarcseconds.
//!
//! Unsupported, each with an error that says so: e ≥ 1 (the one-line format cannot hold
//! such orbits; use an ephemeris table), dates outside the Earth ephemeris' span, and
//! non-finite input.

mod apparent;
mod elements;
mod ephemeris;
mod error;
mod kepler;
mod observer;
mod spk;
mod table;
mod vector;

pub use apparent::{Astrometric, SkyRates, astrometric};
pub use elements::{Designation, MpcElements};
pub use ephemeris::SolarSystemEphemeris;
pub use error::OrbitError;
pub use kepler::{GM_SUN_KM3_S2, KeplerOrbit, OBLIQUITY_J2000_ARCSEC, solve_kepler};
pub use observer::{EarthOrientation, Observer, ObserverState, StateVector};
pub use spk::Spk;
pub use table::{EphemerisTable, TablePlace};

/// Kilometres per astronomical unit (IAU 2012 B2, exact; skyfield's `AU_KM`).
pub const AU_KM: f64 = 149_597_870.700;
/// Seconds per day (TDB/TT days throughout).
pub const DAY_S: f64 = 86_400.0;
/// Speed of light in au per day, from c = 299 792 458 m/s (exact) and [`AU_KM`].
pub const C_AU_PER_DAY: f64 = 299_792.458 * DAY_S / AU_KM;
/// Arcseconds per radian.
const ARCSEC_PER_RAD: f64 = 180.0 * 3600.0 / std::f64::consts::PI;
/// Minutes per day, to express rates per minute as observers and NEOCP do.
const MINUTES_PER_DAY: f64 = 1440.0;
