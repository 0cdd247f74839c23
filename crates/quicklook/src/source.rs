//! A detected source's position and shape from its accumulated moments.
//!
//! The moments are weighted by the smoothed image, as sep weights them, so they include
//! the smoothing kernel's own variance (½ px² along each axis for 1-2-1). That is
//! subtracted here: variances of convolved profiles add, so the result is the second
//! moment of the star as the detector recorded it. sep's `a`, `b` keep the kernel in;
//! `a_sep² = a² + ½` (see `tests/vs_sep.rs`).
//!
//! Moments inside the isophote also read low, because the wings beyond it are cut: for
//! a Gaussian of peak A cut at level T, every second moment is σ²·g(u) with
//! u = ln(A/T) and g(u) = 1 − u·e^(−u)/(1 − e^(−u)) (the isophote of an elliptical
//! Gaussian is a similar ellipse, so the same factor applies along both axes). The
//! smoothed image is the profile that was cut, so u comes from its peak and the
//! detection threshold, and the moments are divided by g(u) before the kernel is taken
//! out. Uncorrected, a 20σ star of 3.5 px FWHM reads 15 % narrow, a 50σ one 7 %.

use serde::{Deserialize, Serialize};

use crate::detect::Blob;

/// Variance of the 1-2-1 smoothing kernel along each axis, px².
pub const KERNEL_VARIANCE_PX2: f64 = 0.5;
/// Smallest variance a source can have: a point source inside one pixel has 1/12 px².
/// Below it (noise, a hot pixel) the shape is meaningless and is held at this floor.
pub const MIN_VARIANCE_PX2: f64 = 1.0 / 12.0;
/// Smallest isophotal cut factor g(u) corrected for (u ≈ 1.3, peak 3.7× the
/// threshold): below it the source is barely above the threshold, its moments are
/// mostly noise, and a larger correction would only amplify that noise.
pub const MIN_CUT_FACTOR: f64 = 0.4;
/// FWHM of a Gaussian per σ: 2·sqrt(2·ln 2).
pub const FWHM_PER_SIGMA: f64 = 2.354_820_045_030_949;

/// One source. Positions are 0-based pixels with (0, 0) the centre of the first pixel
/// stored (add 1 for FITS pixel coordinates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub x: f64,
    pub y: f64,
    /// Semi-major and semi-minor axes: the RMS extent along the principal axes, px.
    pub a: f64,
    pub b: f64,
    /// Position angle of the major axis, radians counter-clockwise from +x.
    pub theta: f64,
    /// 2.3548·sqrt((a² + b²)/2): the FWHM of a Gaussian with these moments, px.
    pub fwhm_px: f64,
    /// 1 − b/a.
    pub ellipticity: f64,
    /// Background-subtracted sum over the isophote, ADU.
    pub flux: f64,
    /// Highest background-subtracted pixel, ADU.
    pub peak: f64,
    pub npix: usize,
    /// A pixel of the source reached the saturation level: its flux and shape are lower
    /// limits and it is left out of the frame's median FWHM and ellipticity.
    pub saturated: bool,
}

impl Source {
    /// The source of a component detected above `threshold` (ADU, smoothed image).
    pub(crate) fn from_blob(b: &Blob, threshold: f64) -> Self {
        let x = b.wx / b.w;
        let y = b.wy / b.w;
        let g = cut_factor(f64::from(b.smooth_peak), threshold);
        let vxx = ((b.wxx / b.w - x * x) / g - KERNEL_VARIANCE_PX2).max(0.0);
        let vyy = ((b.wyy / b.w - y * y) / g - KERNEL_VARIANCE_PX2).max(0.0);
        let vxy = (b.wxy / b.w - x * y) / g;
        let half_diff = 0.5 * (vxx - vyy);
        let root = (half_diff * half_diff + vxy * vxy).sqrt();
        let mid = 0.5 * (vxx + vyy);
        let a2 = (mid + root).max(MIN_VARIANCE_PX2);
        let b2 = (mid - root).max(MIN_VARIANCE_PX2);
        let theta = if vxx != vyy || vxy != 0.0 { 0.5 * (2.0 * vxy).atan2(vxx - vyy) } else { 0.0 };
        let (a, bb) = (a2.sqrt(), b2.sqrt());
        Self {
            x,
            y,
            a,
            b: bb,
            theta,
            fwhm_px: FWHM_PER_SIGMA * ((a2 + b2) / 2.0).sqrt(),
            ellipticity: 1.0 - bb / a,
            flux: b.flux,
            peak: f64::from(b.peak),
            npix: b.npix,
            saturated: b.saturated,
        }
    }
}

/// g(u) of a Gaussian of peak `peak` cut at `threshold` (1 when nothing is cut).
pub fn cut_factor(peak: f64, threshold: f64) -> f64 {
    if !(threshold > 0.0 && peak > threshold) {
        return 1.0;
    }
    let u = (peak / threshold).ln();
    let e = (-u).exp();
    (1.0 - u * e / (1.0 - e)).clamp(MIN_CUT_FACTOR, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums of a blob with the given weighted variances about (10, 20).
    fn blob(vxx: f64, vyy: f64, vxy: f64) -> Blob {
        let (x, y, w) = (10.0, 20.0, 100.0);
        Blob {
            npix: 9,
            w,
            wx: w * x,
            wy: w * y,
            wxx: w * (vxx + x * x),
            wyy: w * (vyy + y * y),
            wxy: w * (vxy + x * y),
            flux: 100.0,
            peak: 30.0,
            smooth_peak: 1e9,
            saturated: false,
        }
    }

    #[test]
    fn round_source_has_kernel_removed() {
        let s = Source::from_blob(&blob(4.5, 4.5, 0.0), 0.0);
        assert!((s.a - 2.0).abs() < 1e-12 && (s.b - 2.0).abs() < 1e-12);
        assert!((s.fwhm_px - 2.0 * FWHM_PER_SIGMA).abs() < 1e-9);
        assert!(s.ellipticity.abs() < 1e-12);
        assert!((s.x - 10.0).abs() < 1e-12 && (s.y - 20.0).abs() < 1e-12);
    }

    #[test]
    fn elongated_along_the_diagonal() {
        // Variances 9 and 1 (after the kernel) rotated by 45°.
        let s = Source::from_blob(&blob(5.5, 5.5, 4.0), 0.0);
        assert!((s.a - 3.0).abs() < 1e-9 && (s.b - 1.0).abs() < 1e-9, "{s:?}");
        assert!((s.theta - std::f64::consts::FRAC_PI_4).abs() < 1e-9);
        assert!((s.ellipticity - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn cut_factor_of_a_gaussian() {
        assert_eq!(cut_factor(10.0, 0.0), 1.0);
        assert_eq!(cut_factor(1.0, 2.0), 1.0);
        assert!((cut_factor(1e6, 1.0) - 1.0).abs() < 1e-4);
        // Peak 20× the cut: u = 3.0, g = 1 − 3·0.0498/0.9502 = 0.8428.
        assert!((cut_factor(20.0, 1.0) - 0.8428).abs() < 1e-3);
        assert_eq!(cut_factor(1.5, 1.0), MIN_CUT_FACTOR);
    }

    #[test]
    fn a_single_hot_pixel_stays_finite() {
        let s = Source::from_blob(&blob(0.5, 0.5, 0.0), 0.0);
        assert!(s.a.is_finite() && s.b.is_finite() && s.ellipticity == 0.0);
    }
}
