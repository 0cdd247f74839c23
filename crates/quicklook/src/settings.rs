//! What the quick-look is told about the frame and how strict its verdict is. Every
//! default is a named constant with the reason for its value; detection defaults are
//! sep's (`sep.Background`, `sep.extract`), so the two agree on the same frame.

use serde::{Deserialize, Serialize};

/// Background mesh side in pixels (sep's `bw`/`bh`): large against a star (a few px)
/// so stars barely move a mesh's mode, small against vignetting and moonlight
/// gradients (hundreds of px).
pub const DEFAULT_MESH_PX: usize = 64;
/// Median filter over meshes (sep's `fw`/`fh`): 3 meshes removes a mesh spoiled by a
/// bright star or galaxy without flattening real gradients.
pub const DEFAULT_MESH_FILTER: usize = 3;
/// Detection threshold in units of the global background noise, applied to the
/// 3×3-smoothed image as sep does. The smoothing divides pixel noise by 2.7, so 1.5σ
/// of the raw noise is ~4σ of the smoothed noise: about one false detection per
/// 4096×4096 frame, as SExtractor's usual DETECT_THRESH 1.5 gives.
pub const DEFAULT_THRESHOLD_SIGMA: f64 = 1.5;
/// Fewest connected pixels that make a source (sep's `minarea`): five 8-connected
/// pixels above ~4σ of the smoothed noise are no longer a noise fluctuation.
pub const DEFAULT_MIN_AREA: usize = 5;
/// A 16-bit ADC's full scale: pixels at or above it lost flux.
pub const DEFAULT_SATURATION_ADU: f64 = 65535.0;
/// Median ellipticity (1 − b/a) above which the frame is trailed. Good tracking and
/// seeing give 0.05–0.15 (optics, wind shake); 0.3 is a 1.43:1 elongation that a
/// guiding or tracking fault produces long before anything else does.
pub const DEFAULT_MAX_ELLIPTICITY: f64 = 0.3;
/// Median FWHM above which the frame is out of focus, when the plate scale is known:
/// good sites deliver 0.7–2″ and a small telescope adds optics and tracking; above 4″
/// stars are swollen by defocus (or the worst seeing, which is as useless).
pub const DEFAULT_MAX_FWHM_ARCSEC: f64 = 4.0;
/// The same limit in pixels when no plate scale is given: systems are sampled at
/// 2–4 px per FWHM (Nyquist and a little), so 8 px is two to four times the focus.
pub const DEFAULT_MAX_FWHM_PX: f64 = 8.0;
/// Fewer sources than this fraction of the expected count means clouds: thin cirrus
/// takes a few tenths of a magnitude and loses a third of the faintest stars; losing
/// over 70 % of them is cloud, not seeing.
pub const DEFAULT_MIN_SOURCE_FRACTION: f64 = 0.3;
/// A background this many times the dark-sky level means cloud lit from below (towns)
/// or by the moon; twilight and the full moon give at most about this factor in the
/// red, so it does not fire on a clear moonlit night.
pub const DEFAULT_MAX_BACKGROUND_FACTOR: f64 = 3.0;
/// Fewer sources than this fails a frame even with no expected count: any field at a
/// useful exposure shows dozens of stars; two or fewer is a closed dome or overcast.
pub const DEFAULT_MIN_SOURCES: usize = 3;
/// Sources used for the frame's median FWHM and ellipticity must peak at least this
/// many noise σ above the background. Fainter moments are noisy even after the
/// isophotal-cut correction (`source`): measured on 3.5 px stars, median FWHM is off by
/// +3.6 % at 10σ, +2.2 % at 20σ, +1.2 % at 50σ, and noise alone makes round stars read
/// ellipticity 0.10, 0.06, 0.03 — at 50σ both are far inside the verdict's limits.
pub const DEFAULT_SHAPE_MIN_PEAK_SIGMA: f64 = 50.0;

/// Everything the caller may tune; `Settings::default()` is right for a 16-bit camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub mesh_px: usize,
    pub mesh_filter: usize,
    pub threshold_sigma: f64,
    pub min_area: usize,
    /// Raw level at or above which a pixel is saturated (before background removal).
    pub saturation_adu: f64,
    /// Arcseconds per pixel; when given, FWHM is also reported in arcsec and the
    /// defocus limit is `max_fwhm_arcsec`.
    pub plate_scale_arcsec: Option<f64>,
    pub shape_min_peak_sigma: f64,
    pub limits: QualityLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mesh_px: DEFAULT_MESH_PX,
            mesh_filter: DEFAULT_MESH_FILTER,
            threshold_sigma: DEFAULT_THRESHOLD_SIGMA,
            min_area: DEFAULT_MIN_AREA,
            saturation_adu: DEFAULT_SATURATION_ADU,
            plate_scale_arcsec: None,
            shape_min_peak_sigma: DEFAULT_SHAPE_MIN_PEAK_SIGMA,
            limits: QualityLimits::default(),
        }
    }
}

/// The verdict's limits. The expectations (`expected_sources`, `dark_sky_background`)
/// come from the observation: the scheduler knows the field and the sky it planned for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityLimits {
    pub max_ellipticity: f64,
    pub max_fwhm_arcsec: f64,
    pub max_fwhm_px: f64,
    pub min_sources: usize,
    /// Sources a clear sky gives on this field at this exposure, if known.
    pub expected_sources: Option<usize>,
    pub min_source_fraction: f64,
    /// Background (ADU) of this exposure under a clear dark sky, if known.
    pub dark_sky_background: Option<f64>,
    pub max_background_factor: f64,
}

impl Default for QualityLimits {
    fn default() -> Self {
        Self {
            max_ellipticity: DEFAULT_MAX_ELLIPTICITY,
            max_fwhm_arcsec: DEFAULT_MAX_FWHM_ARCSEC,
            max_fwhm_px: DEFAULT_MAX_FWHM_PX,
            min_sources: DEFAULT_MIN_SOURCES,
            expected_sources: None,
            min_source_fraction: DEFAULT_MIN_SOURCE_FRACTION,
            dark_sky_background: None,
            max_background_factor: DEFAULT_MAX_BACKGROUND_FACTOR,
        }
    }
}
