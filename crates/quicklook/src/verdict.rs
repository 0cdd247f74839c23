//! The frame's pass/fail verdict and why. Checks run in the order that names the real
//! cause: clouds first (with too few stars the medians below mean nothing), then
//! trailing (a trail also widens the FWHM, so it must be named before defocus), then
//! defocus (round but wide stars).

use serde::{Deserialize, Serialize};

use crate::settings::QualityLimits;

/// Why a frame failed (issue 6's three causes), for the scheduler to re-queue on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    Clouds,
    Trailing,
    Defocus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub pass: bool,
    pub reason: Option<FailReason>,
    /// The numbers behind the verdict, for a human reading the log or the web page.
    pub detail: String,
}

impl Verdict {
    fn fail(reason: FailReason, detail: String) -> Self {
        Self { pass: false, reason: Some(reason), detail }
    }
}

/// The measured values the verdict looks at.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub sources: usize,
    pub background: f64,
    pub median_fwhm_px: Option<f64>,
    pub median_fwhm_arcsec: Option<f64>,
    pub median_ellipticity: Option<f64>,
}

pub fn judge(m: &Measured, lim: &QualityLimits) -> Verdict {
    if m.sources < lim.min_sources {
        return Verdict::fail(
            FailReason::Clouds,
            format!("{} sources, fewer than {}", m.sources, lim.min_sources),
        );
    }
    if let Some(expected) = lim.expected_sources {
        let need = expected as f64 * lim.min_source_fraction;
        if (m.sources as f64) < need {
            return Verdict::fail(
                FailReason::Clouds,
                format!(
                    "{} sources, under {:.0} % of the {expected} expected",
                    m.sources,
                    lim.min_source_fraction * 100.0
                ),
            );
        }
    }
    if let Some(dark) = lim.dark_sky_background
        && dark > 0.0
        && m.background > dark * lim.max_background_factor
    {
        return Verdict::fail(
            FailReason::Clouds,
            format!(
                "background {:.1} ADU, over {} × the dark sky's {dark:.1}",
                m.background, lim.max_background_factor
            ),
        );
    }
    if let Some(e) = m.median_ellipticity
        && e > lim.max_ellipticity
    {
        return Verdict::fail(
            FailReason::Trailing,
            format!("median ellipticity {e:.3} above {}", lim.max_ellipticity),
        );
    }
    match (m.median_fwhm_arcsec, m.median_fwhm_px) {
        (Some(f), _) if f > lim.max_fwhm_arcsec => {
            return Verdict::fail(
                FailReason::Defocus,
                format!("median FWHM {f:.2}″ above {}″", lim.max_fwhm_arcsec),
            );
        }
        (None, Some(f)) if f > lim.max_fwhm_px => {
            return Verdict::fail(
                FailReason::Defocus,
                format!("median FWHM {f:.2} px above {} px", lim.max_fwhm_px),
            );
        }
        _ => {}
    }
    Verdict { pass: true, reason: None, detail: "within limits".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Measured {
        Measured {
            sources: 200,
            background: 1000.0,
            median_fwhm_px: Some(3.0),
            median_fwhm_arcsec: None,
            median_ellipticity: Some(0.05),
        }
    }

    #[test]
    fn each_reason_in_order() {
        let lim = QualityLimits::default();
        assert!(judge(&good(), &lim).pass);
        let m = Measured { median_ellipticity: Some(0.5), median_fwhm_px: Some(20.0), ..good() };
        assert_eq!(judge(&m, &lim).reason, Some(FailReason::Trailing));
        let m = Measured { median_fwhm_px: Some(20.0), ..good() };
        assert_eq!(judge(&m, &lim).reason, Some(FailReason::Defocus));
        let m = Measured { median_fwhm_arcsec: Some(5.0), median_fwhm_px: Some(2.0), ..good() };
        assert_eq!(judge(&m, &lim).reason, Some(FailReason::Defocus));
        let m = Measured { sources: 1, ..good() };
        assert_eq!(judge(&m, &lim).reason, Some(FailReason::Clouds));
        let lim2 = QualityLimits { expected_sources: Some(1000), ..lim.clone() };
        assert_eq!(judge(&good(), &lim2).reason, Some(FailReason::Clouds));
        let lim3 = QualityLimits { dark_sky_background: Some(200.0), ..lim };
        let v = judge(&good(), &lim3);
        assert_eq!(v.reason, Some(FailReason::Clouds));
        assert!(v.detail.contains("background"), "{}", v.detail);
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("\"clouds\""), "{json}");
    }
}
