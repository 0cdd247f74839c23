//! The Moon: DE421 (via a Chebyshev table made from it, `data/moon_de421.bin`,
//! < 50 m from DE421, 2015–2045), SOFA's Moon98 series (~10″) outside that range.
//! Light time, aberration and nutation as for any body; illuminated fraction from the
//! Sun–Moon–observer angle.

use std::sync::OnceLock;

use crate::astrometry::Astrometry;
use crate::bodies::{BodyPlace, Track, apparent, earth, norm};

const AU_KM: f64 = 149_597_870.7;

/// Which ephemeris gave the Moon's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoonSource {
    De421,
    /// Outside the table: arcseconds, not sub-arcsecond.
    Moon98,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MoonPlace {
    pub place: BodyPlace,
    /// Illuminated fraction of the disc seen by this observer, 0..1.
    pub illumination: f64,
    pub distance_km: f64,
    pub source: MoonSource,
}

/// The Chebyshev table of the Moon's geocentric position (format documented in
/// `data/make_moon_table.py`).
struct Table {
    ncoef: usize,
    start_jd: f64,
    granule_days: f64,
    coeffs: Vec<f64>,
    granules: usize,
}

const TABLE_BYTES: &[u8] = include_bytes!("../data/moon_de421.bin");

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| Table::parse(TABLE_BYTES).expect("bundled Moon table is well formed"))
}

impl Table {
    fn parse(b: &[u8]) -> Result<Table, String> {
        if b.len() < 40 || &b[..8] != b"TELDMOON" {
            return Err("not a TELDMOON file".into());
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
        let f64_at = |o: usize| f64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        if u32_at(8) != 1 {
            return Err(format!("unsupported version {}", u32_at(8)));
        }
        let ncoef = u32_at(12);
        let (start_jd, granule_days, granules) = (f64_at(16), f64_at(24), u32_at(32));
        let n = granules * 3 * ncoef;
        let data = &b[40..];
        if data.len() != n * 8 {
            return Err(format!("expected {} coefficient bytes, found {}", n * 8, data.len()));
        }
        let coeffs =
            data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
        Ok(Table { ncoef, start_jd, granule_days, coeffs, granules })
    }

    /// Geocentric position, km, if `jd_tt` is covered.
    fn position(&self, jd_tt: f64) -> Option<[f64; 3]> {
        let x = (jd_tt - self.start_jd) / self.granule_days;
        if x.is_nan() || x < 0.0 {
            return None;
        }
        let k = x.floor() as usize;
        if k >= self.granules {
            return None;
        }
        let s = 2.0 * (x - k as f64) - 1.0;
        let base = k * 3 * self.ncoef;
        let mut out = [0.0; 3];
        for (axis, o) in out.iter_mut().enumerate() {
            let c = &self.coeffs[base + axis * self.ncoef..base + (axis + 1) * self.ncoef];
            *o = clenshaw(c, s);
        }
        Some(out)
    }
}

/// Σ c_i T_i(s) by Clenshaw's recurrence.
fn clenshaw(c: &[f64], s: f64) -> f64 {
    let (mut b1, mut b2) = (0.0, 0.0);
    for &ci in c.iter().skip(1).rev() {
        let b0 = 2.0 * s * b1 - b2 + ci;
        b2 = b1;
        b1 = b0;
    }
    s * b1 - b2 + c[0]
}

/// Geocentric Moon (au, GCRS axes) at TT Julian date `t1 + t2`.
fn geocentric_au(t1: f64, t2: f64) -> ([f64; 3], MoonSource) {
    if let Some(km) = table().position(t1 + t2) {
        return ([km[0] / AU_KM, km[1] / AU_KM, km[2] / AU_KM], MoonSource::De421);
    }
    (sofars::eph::moon98(t1, t2)[0], MoonSource::Moon98)
}

struct Moon {
    t: (f64, f64),
    earth_bary: [f64; 3],
    earth_vel: [f64; 3],
}

impl Track for Moon {
    fn position(&self, dt: f64) -> [f64; 3] {
        let (g, _) = geocentric_au(self.t.0, self.t.1 + dt);
        let e = [
            self.earth_bary[0] + self.earth_vel[0] * dt,
            self.earth_bary[1] + self.earth_vel[1] * dt,
            self.earth_bary[2] + self.earth_vel[2] * dt,
        ];
        [e[0] + g[0], e[1] + g[1], e[2] + g[2]]
    }
}

pub(crate) fn place(a: &Astrometry) -> MoonPlace {
    let e = earth(a);
    let t = a.jd_tt();
    let moon = Moon { t, earth_bary: e.bary_pos, earth_vel: e.bary_vel };
    let (_, source) = geocentric_au(t.0, t.1);
    let (place, moon_b) = apparent(a, &moon);
    // Phase angle at the Moon between the observer and the Sun (geometric directions;
    // the light times involved move it by arcseconds, far below what illumination
    // needs).
    let sun_b = [
        e.bary_pos[0] - e.helio_pos[0],
        e.bary_pos[1] - e.helio_pos[1],
        e.bary_pos[2] - e.helio_pos[2],
    ];
    let eb = a.sofa().eb;
    let to_obs = [eb[0] - moon_b[0], eb[1] - moon_b[1], eb[2] - moon_b[2]];
    let to_sun = [sun_b[0] - moon_b[0], sun_b[1] - moon_b[1], sun_b[2] - moon_b[2]];
    let cos_i = (to_obs[0] * to_sun[0] + to_obs[1] * to_sun[1] + to_obs[2] * to_sun[2])
        / (norm(to_obs) * norm(to_sun));
    MoonPlace {
        place,
        illumination: (1.0 + cos_i.clamp(-1.0, 1.0)) / 2.0,
        distance_km: place.distance_au * AU_KM,
        source,
    }
}

/// Altitude of the Moon's centre (topocentric, no refraction) at which it rises or
/// sets: its upper limb on the horizon after standard refraction, i.e. −34′ minus the
/// semidiameter R/d (small angle; d the observer-to-Moon distance). The convention of
/// skyfield's `find_risings` and of the almanacs.
pub fn horizon_deg(distance_km: f64) -> f64 {
    const MOON_RADIUS_KM: f64 = 1737.4;
    const REFRACTION_DEG: f64 = 34.0 / 60.0;
    -REFRACTION_DEG - (MOON_RADIUS_KM / distance_km).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clenshaw_sums_chebyshev_series() {
        // 1·T0 + 2·T1 + 3·T2 at s = 0.5: T2 = 2s²−1 = −0.5 → 1 + 1 − 1.5 = 0.5.
        assert!((clenshaw(&[1.0, 2.0, 3.0], 0.5) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn table_and_moon98_agree_to_their_accuracy() {
        // 2026-11-24 (JD 2461368.5): both sources, geocentric, should agree to ~10″.
        let (t1, t2) = (2_461_368.5, 0.25);
        let (a, src) = geocentric_au(t1, t2);
        assert_eq!(src, MoonSource::De421);
        let b = sofars::eph::moon98(t1, t2)[0];
        let sep = crate::angle::separation_deg(
            b[1].atan2(b[0]).to_degrees(),
            b[2].atan2(b[0].hypot(b[1])).to_degrees(),
            a[1].atan2(a[0]).to_degrees(),
            a[2].atan2(a[0].hypot(a[1])).to_degrees(),
        ) * 3600.0;
        assert!(sep < 30.0, "table and Moon98 differ by {sep}″");
        assert!((norm(a) * AU_KM - norm(b) * AU_KM).abs() < 50.0);
        // Outside the table the fallback is used.
        assert_eq!(geocentric_au(2_470_000.5, 0.0).1, MoonSource::Moon98);
    }
}
