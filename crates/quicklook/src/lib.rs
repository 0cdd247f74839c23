//! `teld-quicklook`: the first stage of image processing (issue 6). Pure: pixels in,
//! numbers out, no I/O, so the daemon's ingest, the tests and the benchmark call the
//! same function.
//!
//! For one frame it measures
//! - the sky **background** and **noise**: SExtractor/sep's mesh estimate (64 px meshes,
//!   iterative 3σ clipping, mode ≈ 2.5·median − 1.5·mean, 3×3 median filter over
//!   meshes, global values the medians over meshes) — the same numbers as
//!   `sep.Background(data).globalback` / `.globalrms`;
//! - the **sources**: pixels of the 3×3-smoothed, background-subtracted image above
//!   `threshold_sigma` × noise, 8-connected, at least `min_area` pixels (sep's
//!   `extract` defaults, without deblending); per source the centroid, second moments
//!   (corrected for the wings the isophote cuts off and for the smoothing kernel) →
//!   semi-axes a, b and angle θ, FWHM = 2.3548·sqrt((a² + b²)/2), ellipticity 1 − b/a,
//!   flux, peak and a saturated flag;
//! - a **summary**: number of sources, median FWHM (px, and arcsec given a plate scale),
//!   median ellipticity, saturated pixel fraction;
//! - a **verdict**: pass, or fail with `clouds`, `trailing` or `defocus` and the
//!   numbers behind it ([`verdict`]);
//! - and on request a stretched 8-bit **PNG preview** ([`preview_png`]).
//!
//! It reads the caller's buffer of u8/u16/i16/i32/f32/f64 pixels in place (row-major,
//! x fastest: FITS order) and makes one pass for the background and one for detection.
//!
//! ```
//! use teld_quicklook::{Image, Settings, quick_look};
//! let pixels = vec![1000u16; 128 * 128];
//! let img = Image::new(&pixels, 128, 128).unwrap();
//! let ql = quick_look(&img, &Settings::default()).unwrap();
//! assert_eq!(ql.summary.background, 1000.0);
//! assert!(!ql.verdict.pass); // no stars: clouds
//! ```

pub mod background;
pub mod detect;
pub mod error;
pub mod frame;
pub mod pixel;
pub mod preview;
pub mod settings;
pub mod source;
mod stats;
pub mod verdict;

pub use error::QuickLookError;
pub use frame::{FrameSummary, QuickLook, quick_look};
pub use pixel::{Image, Pixel};
pub use preview::preview_png;
pub use settings::{QualityLimits, Settings};
pub use source::Source;
pub use verdict::{FailReason, Verdict};
