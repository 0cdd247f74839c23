//! The quick-look of one frame: background, detection, shapes and the verdict put
//! together into what is stored and handed off.

use serde::{Deserialize, Serialize};

use crate::background::Background;
use crate::detect::detect;
use crate::error::QuickLookError;
use crate::pixel::{Image, Pixel};
use crate::settings::Settings;
use crate::source::Source;
use crate::stats::median_f64;
use crate::verdict::{Measured, Verdict, judge};

/// The frame's numbers: small, for the store and the handoff message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameSummary {
    pub width: usize,
    pub height: usize,
    /// Sky level, ADU (sep's `globalback`).
    pub background: f64,
    /// Sky noise σ per pixel, ADU (sep's `globalrms`).
    pub noise: f64,
    /// Detection level above the background on the smoothed image, ADU.
    pub threshold: f64,
    pub sources: usize,
    /// Sources behind the medians below (bright enough, unsaturated).
    pub shape_sources: usize,
    pub median_fwhm_px: Option<f64>,
    pub median_fwhm_arcsec: Option<f64>,
    /// Median of 1 − b/a.
    pub median_ellipticity: Option<f64>,
    pub saturated_pixels: u64,
    /// Saturated pixels over all pixels.
    pub saturated_fraction: f64,
    /// NaN or infinite pixels (ignored by every measurement).
    pub non_finite_pixels: u64,
}

/// Everything the quick-look found. `sources` can be thousands long: the handoff
/// message carries `summary` and `verdict`, the catalogue is for whoever wants it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickLook {
    pub summary: FrameSummary,
    pub verdict: Verdict,
    pub sources: Vec<Source>,
}

/// Measures one frame. Fails only when there is nothing to measure (no pixels, a size
/// that does not match, no finite pixel); every other frame gets a verdict.
pub fn quick_look<P: Pixel>(
    img: &Image<'_, P>,
    settings: &Settings,
) -> Result<QuickLook, QuickLookError> {
    let bkg = Background::measure(img, settings.mesh_px, settings.mesh_filter)?;
    let threshold = settings.threshold_sigma * bkg.global_rms;
    let found = detect(
        img,
        &bkg,
        threshold as f32,
        settings.min_area.max(1),
        settings.saturation_adu as f32,
    );
    let sources: Vec<Source> =
        found.blobs.iter().map(|b| Source::from_blob(b, threshold)).collect();

    // Shapes from bright unsaturated sources (faint ones read narrow, see Settings);
    // from all unsaturated ones when none is bright (a defocused or thin frame).
    let unsaturated = || sources.iter().filter(|s| !s.saturated);
    let bright_peak = settings.shape_min_peak_sigma * bkg.global_rms;
    let mut shaped: Vec<&Source> = unsaturated().filter(|s| s.peak >= bright_peak).collect();
    if shaped.is_empty() {
        shaped = unsaturated().collect();
    }
    let mut fwhm: Vec<f64> = shaped.iter().map(|s| s.fwhm_px).collect();
    let mut ell: Vec<f64> = shaped.iter().map(|s| s.ellipticity).collect();
    let median_fwhm_px = median_f64(&mut fwhm);
    let median_fwhm_arcsec = median_fwhm_px.zip(settings.plate_scale_arcsec).map(|(f, s)| f * s);
    let median_ellipticity = median_f64(&mut ell);

    let npix = (img.width() * img.height()) as f64;
    let summary = FrameSummary {
        width: img.width(),
        height: img.height(),
        background: bkg.global,
        noise: bkg.global_rms,
        threshold,
        sources: sources.len(),
        shape_sources: shaped.len(),
        median_fwhm_px,
        median_fwhm_arcsec,
        median_ellipticity,
        saturated_pixels: found.saturated_pixels,
        saturated_fraction: found.saturated_pixels as f64 / npix,
        non_finite_pixels: found.non_finite_pixels,
    };
    let verdict = judge(
        &Measured {
            sources: summary.sources,
            background: summary.background,
            median_fwhm_px,
            median_fwhm_arcsec,
            median_ellipticity,
        },
        &settings.limits,
    );
    Ok(QuickLook { summary, verdict, sources })
}
