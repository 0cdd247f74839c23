//! Range checks on requests. Shape errors (missing field, wrong type) are found by
//! serde; these are the checks serde cannot express. Every error names its field.

use serde::Serialize;

use super::RequestSpec;

/// Longest single exposure accepted: an hour is far beyond any NEO follow-up frame
/// (trailing losses) and bounds how long a block holds a telescope.
pub const MAX_EXPOSURE_S: f64 = 3600.0;
/// Most frames per request; more is a survey, which is configured, not requested.
pub const MAX_COUNT: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl RequestSpec {
    /// All range errors at once, so an observer fixes a request in one round trip.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let mut bad = |field: &str, message: String| {
            errs.push(FieldError { field: field.to_string(), message })
        };
        let t = &self.target;
        if t.name.trim().is_empty() {
            bad("target.name", "must not be empty".into());
        }
        if !(t.ra_deg.is_finite() && (0.0..360.0).contains(&t.ra_deg)) {
            bad("target.ra_deg", format!("must be in [0, 360) degrees, got {}", t.ra_deg));
        }
        if !(t.dec_deg.is_finite() && (-90.0..=90.0).contains(&t.dec_deg)) {
            bad("target.dec_deg", format!("must be in [-90, 90] degrees, got {}", t.dec_deg));
        }
        if !(self.exposure_s.is_finite()
            && self.exposure_s > 0.0
            && self.exposure_s <= MAX_EXPOSURE_S)
        {
            bad(
                "exposure_s",
                format!("must be > 0 and <= {MAX_EXPOSURE_S} seconds, got {}", self.exposure_s),
            );
        }
        if self.count == 0 || self.count > MAX_COUNT {
            bad("count", format!("must be 1 to {MAX_COUNT}, got {}", self.count));
        }
        if !(1..=100).contains(&self.priority) {
            bad("priority", format!("must be 1 (lowest) to 100 (highest), got {}", self.priority));
        }
        if let Some(a) = self.constraints.min_altitude_deg
            && !(a.is_finite() && (0.0..90.0).contains(&a))
        {
            bad("constraints.min_altitude_deg", format!("must be in [0, 90) degrees, got {a}"));
        }
        if let Some(x) = self.constraints.max_airmass
            && !(x.is_finite() && x >= 1.0)
        {
            bad("constraints.max_airmass", format!("must be >= 1.0, got {x}"));
        }
        if let Some(w) = &self.window
            && w.end <= w.start
        {
            bad("window.end", "must be after window.start".into());
        }
        if let Some(f) = &self.filter
            && (f.is_empty() || f.len() > 32)
        {
            bad("filter", "must be 1 to 32 characters".into());
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Constraints, RequestSpec, Target};

    fn spec() -> RequestSpec {
        RequestSpec {
            name: None,
            observer: None,
            target: Target { name: "X".into(), ra_deg: 10.0, dec_deg: 20.0 },
            exposure_s: 30.0,
            count: 3,
            priority: 50,
            filter: None,
            constraints: Constraints::default(),
            window: None,
            class: Default::default(),
            urgency: None,
        }
    }

    #[test]
    fn valid_spec_has_no_errors() {
        assert!(spec().validate().is_empty());
    }

    #[test]
    fn every_range_error_is_reported_with_its_field() {
        let mut s = spec();
        s.target.dec_deg = 95.0;
        s.exposure_s = -1.0;
        s.count = 0;
        let fields: Vec<_> = s.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["target.dec_deg", "exposure_s", "count"]);
    }

    #[test]
    fn nan_is_out_of_range() {
        let mut s = spec();
        s.target.ra_deg = f64::NAN;
        assert_eq!(s.validate()[0].field, "target.ra_deg");
    }
}
