//! A synthetic but fixed sky of stars.
//!
//! The sphere is cut into cells one degree high in declination and about one degree
//! wide in right ascension (fewer cells towards the poles, so all are about a square
//! degree). Each cell's stars are drawn from a generator seeded by the cell's index
//! alone, so the same patch of sky always shows the same stars, in every frame and
//! every run. Positions are uniform on the sphere within a cell; magnitudes follow the
//! power law N(<m) ∝ 10^(0.3 m), with a surface density that rises towards the
//! galactic plane.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::Exp1;
use teld_astro::Icrs;

/// Stars per square degree brighter than magnitude 18 at galactic latitude ±45°:
/// ≈ 300 in a 0.5° × 0.5° field, as the USNO-B and Gaia counts give at mid latitudes.
pub const DENSITY_MAG18_PER_DEG2: f64 = 1200.0;
/// Slope of the luminosity function: log10 N(<m) grows by 0.3 per magnitude, about
/// what faint-star counts show away from the plane.
const COUNT_SLOPE: f64 = 0.3;
/// Nothing in the sky is brighter than Sirius; the power law would allow it.
const BRIGHTEST_MAG: f64 = -1.46;
/// North galactic pole (ICRS), for the galactic latitude of a cell.
const NGP_RA_DEG: f64 = 192.859_48;
const NGP_DEC_DEG: f64 = 27.128_25;
/// Softening of the 1/sin|b| rise of star counts towards the plane, so the plane
/// itself is about 8× denser than mid latitudes rather than infinitely dense.
const PLANE_SOFTENING: f64 = 0.1;
/// Mixed into every cell's seed: changing it would give a different (equally valid) sky.
const SKY_SEED: u64 = 0x7e1d_5a11_57a2_f1e1;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Star {
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub mag: f64,
}

/// A one-degree declination band and its RA cells.
struct Band {
    index: usize,
    dec_lo: f64,
    dec_hi: f64,
    ra_cells: usize,
}

impl Band {
    fn new(index: usize) -> Band {
        let dec_lo = index as f64 - 90.0;
        let dec_hi = dec_lo + 1.0;
        let centre = (dec_lo + 0.5).to_radians();
        let ra_cells = ((360.0 * centre.cos()).round() as usize).max(1);
        Band { index, dec_lo, dec_hi, ra_cells }
    }

    fn cell_width(&self) -> f64 {
        360.0 / self.ra_cells as f64
    }
}

/// Galactic latitude of an ICRS position, degrees.
pub fn galactic_latitude_deg(ra_deg: f64, dec_deg: f64) -> f64 {
    let (a, d) = (ra_deg.to_radians(), dec_deg.to_radians());
    let (ap, dp) = (NGP_RA_DEG.to_radians(), NGP_DEC_DEG.to_radians());
    (d.sin() * dp.sin() + d.cos() * dp.cos() * (a - ap).cos()).clamp(-1.0, 1.0).asin().to_degrees()
}

/// Stars brighter than `mag` per square degree at galactic latitude `b_deg`.
pub fn density_per_deg2(b_deg: f64, mag: f64) -> f64 {
    let shape = |b: f64| 1.0 / (b.to_radians().sin().abs() + PLANE_SOFTENING);
    DENSITY_MAG18_PER_DEG2 * shape(b_deg) / shape(45.0) * 10f64.powf(COUNT_SLOPE * (mag - 18.0))
}

/// The stars of one cell brighter than `limit_mag`, brightest first. A shallower limit
/// gives a prefix of a deeper one, so the bright stars never depend on the limit.
fn cell_stars(band: &Band, ra_index: usize, limit_mag: f64, out: &mut Vec<Star>) {
    let width = band.cell_width();
    let ra_lo = ra_index as f64 * width;
    let (s_lo, s_hi) = (band.dec_lo.to_radians().sin(), band.dec_hi.to_radians().sin());
    let area_deg2 = width.to_radians() * (s_hi - s_lo) * (180.0 / std::f64::consts::PI).powi(2);
    let b = galactic_latitude_deg(ra_lo + width / 2.0, band.dec_lo + 0.5);
    // Stars form a Poisson process in u = 10^(0.3 m), whose count below u is `rate · u`.
    let rate = density_per_deg2(b, 0.0) * area_deg2;
    let seed = splitmix64(SKY_SEED ^ (((band.index as u64) << 32) | ra_index as u64));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut u = 0.0;
    loop {
        let gap: f64 = rng.sample(Exp1);
        u += gap / rate;
        let mag = (u.log10() / COUNT_SLOPE).max(BRIGHTEST_MAG);
        if mag > limit_mag {
            return;
        }
        let ra_deg = ra_lo + width * rng.random::<f64>();
        let dec_deg =
            (s_lo + (s_hi - s_lo) * rng.random::<f64>()).clamp(-1.0, 1.0).asin().to_degrees();
        out.push(Star { ra_deg, dec_deg, mag });
    }
}

/// All stars brighter than `limit_mag` within `radius_deg` of `centre` (plus some just
/// outside: callers clip to their own field).
pub fn stars_near(centre: Icrs, radius_deg: f64, limit_mag: f64) -> Vec<Star> {
    let mut out = Vec::new();
    let dec_lo = (centre.dec_deg - radius_deg).max(-90.0);
    let dec_hi = (centre.dec_deg + radius_deg).min(90.0);
    let first = (dec_lo + 90.0).floor().clamp(0.0, 179.0) as usize;
    let last = (dec_hi + 90.0).floor().clamp(0.0, 179.0) as usize;
    for index in first..=last {
        let band = Band::new(index);
        let widest_dec = band.dec_lo.abs().max(band.dec_hi.abs()).min(89.999);
        let half_ra = radius_deg / widest_dec.to_radians().cos();
        let width = band.cell_width();
        if half_ra * 2.0 + width >= 360.0 || dec_hi >= 89.999 || dec_lo <= -89.999 {
            (0..band.ra_cells).for_each(|i| cell_stars(&band, i, limit_mag, &mut out));
            continue;
        }
        let lo = ((centre.ra_deg - half_ra) / width).floor() as i64;
        let hi = ((centre.ra_deg + half_ra) / width).floor() as i64;
        for i in lo..=hi {
            let i = i.rem_euclid(band.ra_cells as i64) as usize;
            cell_stars(&band, i, limit_mag, &mut out);
        }
    }
    out
}

/// A well-mixed 64-bit hash (Steele et al.'s SplitMix64 finaliser).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_box(stars: &[Star], c: Icrs, half_deg: f64) -> Vec<Star> {
        stars
            .iter()
            .copied()
            .filter(|s| {
                let (xi, eta) =
                    teld_astro::projection::to_plane(c.ra_deg, c.dec_deg, s.ra_deg, s.dec_deg)
                        .unwrap_or((9.0, 9.0));
                xi.to_degrees().abs() < half_deg && eta.to_degrees().abs() < half_deg
            })
            .collect()
    }

    #[test]
    fn the_sky_is_fixed_and_limits_nest() {
        let c = Icrs { ra_deg: 150.0, dec_deg: 30.0 };
        let a = stars_near(c, 0.5, 18.0);
        let b = stars_near(c, 0.5, 18.0);
        assert_eq!(a, b);
        let shallow = stars_near(c, 0.5, 14.0);
        assert!(shallow.iter().all(|s| a.contains(s)), "bright stars do not depend on the limit");
    }

    #[test]
    fn mid_latitude_field_has_a_few_hundred_stars_to_18() {
        // (RA 150°, Dec 30°) lies at galactic latitude ≈ +52°.
        let c = Icrs { ra_deg: 150.0, dec_deg: 30.0 };
        let b = galactic_latitude_deg(c.ra_deg, c.dec_deg);
        assert!((45.0..60.0).contains(&b), "{b}");
        let n = in_box(&stars_near(c, 0.5, 18.0), c, 0.25).len();
        assert!((200..400).contains(&n), "{n} stars in 0.5° × 0.5°");
        let faint = in_box(&stars_near(c, 0.5, 19.0), c, 0.25).len();
        let ratio = faint as f64 / n as f64;
        assert!((1.6..2.4).contains(&ratio), "N(<19)/N(<18) = {ratio}, expected 10^0.3 ≈ 2");
    }

    #[test]
    fn the_galactic_plane_is_denser() {
        // Galactic centre direction, and the north galactic pole.
        let plane = Icrs { ra_deg: 266.4, dec_deg: -28.9 };
        let pole = Icrs { ra_deg: NGP_RA_DEG, dec_deg: NGP_DEC_DEG };
        assert!(galactic_latitude_deg(plane.ra_deg, plane.dec_deg).abs() < 1.0);
        let n_plane = in_box(&stars_near(plane, 0.5, 17.0), plane, 0.25).len();
        let n_pole = in_box(&stars_near(pole, 0.5, 17.0), pole, 0.25).len();
        assert!(n_plane > 5 * n_pole, "{n_plane} vs {n_pole}");
    }

    #[test]
    fn fields_across_ra_zero_and_at_the_pole_are_covered_evenly() {
        for c in [Icrs { ra_deg: 0.05, dec_deg: 10.0 }, Icrs { ra_deg: 20.0, dec_deg: 89.9 }] {
            let stars = stars_near(c, 0.4, 18.0);
            let box_stars = in_box(&stars, c, 0.25);
            // Each quadrant of the box holds about a quarter of the stars.
            let east = box_stars
                .iter()
                .filter(|s| {
                    teld_astro::projection::to_plane(c.ra_deg, c.dec_deg, s.ra_deg, s.dec_deg)
                        .unwrap()
                        .0
                        > 0.0
                })
                .count();
            let frac = east as f64 / box_stars.len() as f64;
            assert!(box_stars.len() > 100, "{c:?}: {}", box_stars.len());
            assert!((0.35..0.65).contains(&frac), "{c:?}: east fraction {frac}");
        }
    }
}
