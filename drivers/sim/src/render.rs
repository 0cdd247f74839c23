//! Image formation: what the CCD records for an exposure of the synthetic sky.
//!
//! Electrons per pixel are the stars (a Gaussian PSF integrated exactly over each
//! pixel), the sky and the dark current; then come Poisson noise on all of them,
//! Gaussian read noise, the bias level, conversion to ADU by the gain, and clipping
//! at 16 bits.
//!
//! Orientation (for the FITS WCS): pixel (0, 0) is the first one written; x runs along
//! a row (NAXIS1), y from row to row (NAXIS2). The pointing falls on the image centre,
//! 0-based pixel ((width−1)/2, (height−1)/2), i.e. FITS CRPIX = ((width+1)/2,
//! (height+1)/2). North is +y and east is −x: CD1_1 = −scale, CD2_2 = +scale, no
//! rotation, TAN projection; displayed with y up this is the sky as seen, north up and
//! east left.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Poisson, StandardNormal};
use teld_astro::Icrs;

use crate::settings::CameraSettings;
use crate::starfield::{self, Star};
use crate::trail::TrailKernel;

/// Expected electrons below which noise is drawn from the Poisson distribution itself;
/// above it the normal approximation is within 0.1 % in variance and much faster.
const POISSON_EXACT_BELOW_E: f64 = 30.0;
/// A star's stamp reaches out until its PSF adds less than this many electrons to a
/// pixel: a tenth of an electron is far below any read noise.
const STAMP_FLOOR_E: f64 = 0.1;
/// Stamps never exceed this half-width; a Gaussian at 64 px is long gone.
const MAX_STAMP_RADIUS_PX: f64 = 64.0;
const SATURATION_ADU: f64 = 65535.0;
const FWHM_PER_SIGMA: f64 = 2.354_820_045;

/// Everything about an exposure that decides its pixels, captured when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Where the optical axis pointed at the middle of each equal slice of the
    /// exposure: one entry when the mount held still, many when it moved (trails),
    /// none when it moved so far that starlight smeared out below the noise.
    pub pointings: Vec<Icrs>,
    pub duration_s: f64,
    /// `false` for a dark frame: the camera's own shutter stays closed.
    pub light: bool,
    /// Mean fraction of the sky's light reaching the telescope: the dome shutter's
    /// open fraction, zero when pointing below the horizon.
    pub open_fraction: f64,
    /// Sky surface brightness during the exposure, mag/arcsec² (twilight included).
    pub sky_mag_arcsec2: f64,
    /// Atmospheric transmission of starlight towards the pointing.
    pub transmission: f64,
    /// Seed of this frame's noise; the stars do not depend on it.
    pub noise_seed: u64,
}

/// Where a star lands on the detector for a given pointing, in 0-based pixels.
pub fn star_pixel(
    cfg: &CameraSettings,
    pointing: Icrs,
    ra_deg: f64,
    dec_deg: f64,
) -> Option<(f64, f64)> {
    let (xi, eta) =
        teld_astro::projection::to_plane(pointing.ra_deg, pointing.dec_deg, ra_deg, dec_deg)?;
    let scale_rad = (cfg.plate_scale_arcsec / 3600.0).to_radians();
    let cx = (cfg.width as f64 - 1.0) / 2.0;
    let cy = (cfg.height as f64 - 1.0) / 2.0;
    Some((cx - xi / scale_rad, cy + eta / scale_rad))
}

/// Noise-free electrons per pixel, row-major, x fastest.
pub fn expected_electrons(cfg: &CameraSettings, scene: &Scene) -> Vec<f32> {
    let (w, h) = (cfg.width as usize, cfg.height as usize);
    let mut e = vec![0f32; w * h];
    let dark = cfg.dark_e_per_s * scene.duration_s;
    let light = if scene.light { scene.open_fraction * scene.duration_s } else { 0.0 };
    let pixel_area = cfg.plate_scale_arcsec * cfg.plate_scale_arcsec;
    let sky =
        cfg.zero_point_e_per_s * 10f64.powf(-0.4 * scene.sky_mag_arcsec2) * pixel_area * light;
    e.fill((dark + sky) as f32);
    let star_scale = cfg.zero_point_e_per_s * scene.transmission * light;
    if star_scale <= 0.0 || scene.pointings.is_empty() {
        return e;
    }
    let sigma = cfg.seeing_fwhm_arcsec / cfg.plate_scale_arcsec / FWHM_PER_SIGMA;
    let mid = scene.pointings[scene.pointings.len() / 2];
    let stars = field_stars(cfg, scene);
    let placed = stars.iter().filter_map(|s| {
        let (x, y) = star_pixel(cfg, mid, s.ra_deg, s.dec_deg)?;
        Some((x, y, star_scale * 10f64.powf(-0.4 * s.mag)))
    });
    if scene.pointings.len() == 1 {
        placed.for_each(|(x, y, flux)| add_gaussian(&mut e, w, h, x, y, sigma, flux));
    } else {
        // Every star moves as the one at the centre does.
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let path: Vec<(f64, f64)> = scene
            .pointings
            .iter()
            .filter_map(|&p| star_pixel(cfg, p, mid.ra_deg, mid.dec_deg))
            .map(|(x, y)| (x - cx, y - cy))
            .collect();
        let kernel = TrailKernel::new(&path, sigma);
        placed.for_each(|(x, y, flux)| kernel.add(&mut e, w, h, x, y, flux));
    }
    e
}

/// Stars that may fall on the detector at any of the scene's pointings.
fn field_stars(cfg: &CameraSettings, scene: &Scene) -> Vec<Star> {
    let mid = scene.pointings[scene.pointings.len() / 2];
    let half_diag_px = ((cfg.width as f64).hypot(cfg.height as f64)) / 2.0 + MAX_STAMP_RADIUS_PX;
    let spread = scene.pointings.iter().map(|p| p.separation_deg(mid)).fold(0.0, f64::max);
    let radius = half_diag_px * cfg.plate_scale_arcsec / 3600.0 + spread;
    starfield::stars_near(mid, radius, cfg.limit_mag)
}

/// Adds `flux` electrons spread by a Gaussian PSF centred at (x, y), integrated over
/// each pixel exactly (the PSF is separable, so each pixel gets the product of two
/// differences of the normal CDF).
fn add_gaussian(img: &mut [f32], w: usize, h: usize, x: f64, y: f64, sigma: f64, flux: f64) {
    let peak = flux / (2.0 * std::f64::consts::PI * sigma * sigma);
    let reach =
        if peak > STAMP_FLOOR_E { sigma * (2.0 * (peak / STAMP_FLOOR_E).ln()).sqrt() } else { 0.0 };
    let r = (reach + 1.0).min(MAX_STAMP_RADIUS_PX);
    let (x_lo, x_hi) =
        (((x - r).floor().max(0.0)) as i64, ((x + r).ceil()).min(w as f64 - 1.0) as i64);
    let (y_lo, y_hi) =
        (((y - r).floor().max(0.0)) as i64, ((y + r).ceil()).min(h as f64 - 1.0) as i64);
    if x_lo > x_hi || y_lo > y_hi {
        return;
    }
    let gx = pixel_fractions(x_lo, x_hi, x, sigma);
    let gy = pixel_fractions(y_lo, y_hi, y, sigma);
    for (j, fy) in gy.iter().enumerate() {
        let row = (y_lo as usize + j) * w + x_lo as usize;
        let line = &mut img[row..row + gx.len()];
        let fy = fy * flux;
        for (px, fx) in line.iter_mut().zip(&gx) {
            *px += (fx * fy) as f32;
        }
    }
}

/// Fraction of a 1-D Gaussian (centre `c`) falling in each pixel `lo..=hi`.
pub(crate) fn pixel_fractions(lo: i64, hi: i64, c: f64, sigma: f64) -> Vec<f64> {
    let cdf = |edge: f64| normal_cdf((edge - c) / sigma);
    let mut prev = cdf(lo as f64 - 0.5);
    (lo..=hi)
        .map(|i| {
            let next = cdf(i as f64 + 0.5);
            let f = next - prev;
            prev = next;
            f
        })
        .collect()
}

/// Standard normal CDF through erfc (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2·10⁻⁷ everywhere).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The frame as the camera reads it out: noisy ADU, row-major, x fastest.
pub fn render(cfg: &CameraSettings, scene: &Scene) -> Vec<u16> {
    let electrons = expected_electrons(cfg, scene);
    let mut rng = SmallRng::seed_from_u64(scene.noise_seed);
    let rn = cfg.read_noise_e;
    let rn2 = rn * rn;
    electrons
        .iter()
        .map(|&mean| {
            let mean = f64::from(mean).max(0.0);
            let z: f64 = rng.sample(StandardNormal);
            let e = if mean >= POISSON_EXACT_BELOW_E {
                // Poisson ⊕ read noise, both Gaussian here: one draw with the summed variance.
                mean + (mean + rn2).sqrt() * z
            } else {
                let counted: f64 = match Poisson::new(mean) {
                    Ok(p) => rng.sample(p),
                    Err(_) => 0.0, // mean 0: nothing to count
                };
                counted + rn * z
            };
            (cfg.bias_adu + e / cfg.gain_e_per_adu).round().clamp(0.0, SATURATION_ADU) as u16
        })
        .collect()
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
