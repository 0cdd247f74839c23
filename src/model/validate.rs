//! Range checks on requests. Shape errors (missing field, wrong type) are found by
//! serde; these are the checks serde cannot express. Every error names its field.

use hifitime::Epoch;
use serde::Serialize;

use super::{RequestSpec, Window};

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

/// Most windows a request may have: more is a schedule, not a follow-up request.
pub const MAX_WINDOWS: usize = 100;
/// Longest spacing between two visits of a tracklet: beyond half a day they are not
/// one night's tracklet.
pub const MAX_SPACING_MIN: f64 = 720.0;
/// Readout and bookkeeping per frame, added to the exposure in a visit's length.
pub const PER_FRAME_OVERHEAD_S: f64 = 5.0;

/// What a submission is checked against besides itself.
pub struct SubmitContext<'a> {
    pub now: Epoch,
    /// Filters some telescope of the site has; empty = no filter wheels.
    pub filters: &'a [String],
    /// The site's telescopes.
    pub telescopes: &'a [String],
}

impl RequestSpec {
    /// Telescope time of one visit: its frames and their readout.
    pub fn visit_duration_s(&self) -> f64 {
        self.count as f64 * (self.exposure_s + PER_FRAME_OVERHEAD_S)
    }

    /// All range errors at once, so an observer fixes a request in one round trip.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Errors::default();
        self.check_target(&mut errs);
        self.check_frames(&mut errs);
        self.check_constraints(&mut errs);
        self.check_windows(&mut errs);
        self.check_tracklet(&mut errs);
        errs.0
    }

    /// [`RequestSpec::validate`] plus what depends on the site and the time.
    pub fn validate_for(&self, ctx: &SubmitContext) -> Vec<FieldError> {
        let mut errs = Errors(self.validate());
        for (i, w) in self.indexed_windows() {
            if w.end <= ctx.now {
                errs.bad(
                    &format!("{i}.end"),
                    format!(
                        "{} is in the past (now {}): give a window that has not ended",
                        fmt(w.end),
                        fmt(ctx.now)
                    ),
                );
            }
        }
        for (i, t) in self.telescopes.iter().enumerate() {
            if !ctx.telescopes.contains(t) {
                errs.bad(
                    &format!("telescopes[{i}]"),
                    format!("no telescope `{t}` here; this site has {}", ctx.telescopes.join(", ")),
                );
            }
        }
        if let Some(f) = &self.filter
            && !ctx.filters.iter().any(|x| x == f)
        {
            let have = if ctx.filters.is_empty() {
                "no telescope here has a filter wheel; omit `filter`".to_string()
            } else {
                format!("this site has {}", ctx.filters.join(", "))
            };
            errs.bad("filter", format!("unknown filter `{f}`: {have}"));
        }
        errs.0
    }

    fn indexed_windows(&self) -> impl Iterator<Item = (String, &Window)> {
        let single = self.window.iter().map(|w| ("window".to_string(), w));
        single.chain(self.windows.iter().enumerate().map(|(i, w)| (format!("windows[{i}]"), w)))
    }

    fn check_target(&self, errs: &mut Errors) {
        let t = &self.target;
        if t.name.trim().is_empty() {
            errs.bad("target.name", "must not be empty".into());
        }
        if let Some(ra) = t.ra_deg
            && !(ra.is_finite() && (0.0..360.0).contains(&ra))
        {
            errs.bad("target.ra_deg", format!("must be in [0, 360) degrees, got {ra}"));
        }
        if let Some(dec) = t.dec_deg
            && !(dec.is_finite() && (-90.0..=90.0).contains(&dec))
        {
            errs.bad("target.dec_deg", format!("must be in [-90, 90] degrees, got {dec}"));
        }
        for (name, pm) in [
            ("target.pm_ra_cosdec_mas_yr", t.pm_ra_cosdec_mas_yr),
            ("target.pm_dec_mas_yr", t.pm_dec_mas_yr),
        ] {
            if let Some(v) = pm
                && !(v.is_finite() && v.abs() <= MAX_PROPER_MOTION_MAS_YR)
            {
                errs.bad(
                    name,
                    format!("must be within ±{MAX_PROPER_MOTION_MAS_YR} mas/yr, got {v}: moving solar-system objects need mpc_elements or ephemeris"),
                );
            }
        }
        if errs.0.iter().any(|e| e.field.starts_with("target.")) {
            return;
        }
        if let Err(e) = t.motion() {
            errs.bad(e.field(), e.to_string());
        }
    }

    fn check_frames(&self, errs: &mut Errors) {
        if !(self.exposure_s.is_finite()
            && self.exposure_s > 0.0
            && self.exposure_s <= MAX_EXPOSURE_S)
        {
            errs.bad(
                "exposure_s",
                format!("must be > 0 and <= {MAX_EXPOSURE_S} seconds, got {}", self.exposure_s),
            );
        }
        if self.count == 0 || self.count > MAX_COUNT {
            errs.bad("count", format!("must be 1 to {MAX_COUNT}, got {}", self.count));
        }
        if !(1..=100).contains(&self.priority) {
            errs.bad(
                "priority",
                format!("must be 1 (lowest) to 100 (highest), got {}", self.priority),
            );
        }
        if let Some(f) = &self.filter
            && (f.is_empty() || f.len() > 32)
        {
            errs.bad("filter", "must be 1 to 32 characters".into());
        }
        if let Some(b) = self.binning
            && !(1..=MAX_BINNING).contains(&b)
        {
            errs.bad("binning", format!("must be 1 to {MAX_BINNING}, got {b}"));
        }
        if let Some(x) = &self.external_id
            && (x.trim().is_empty() || x.len() > 128)
        {
            errs.bad("external_id", "must be 1 to 128 characters".into());
        }
    }

    fn check_constraints(&self, errs: &mut Errors) {
        let c = &self.constraints;
        let mut range = |field: &str, v: Option<f64>, ok: fn(f64) -> bool, want: &str| {
            if let Some(x) = v
                && !(x.is_finite() && ok(x))
            {
                errs.bad(&format!("constraints.{field}"), format!("must be {want}, got {x}"));
            }
        };
        range(
            "min_altitude_deg",
            c.min_altitude_deg,
            |a| (0.0..90.0).contains(&a),
            "in [0, 90) degrees",
        );
        range("max_airmass", c.max_airmass, |x| x >= 1.0, ">= 1.0");
        range(
            "min_moon_separation_deg",
            c.min_moon_separation_deg,
            |x| (0.0..=180.0).contains(&x),
            "in [0, 180] degrees",
        );
        range(
            "max_moon_illumination",
            c.max_moon_illumination,
            |x| (0.0..=1.0).contains(&x),
            "a fraction in [0, 1]",
        );
        range(
            "max_sun_altitude_deg",
            c.max_sun_altitude_deg,
            |x| (-90.0..=0.0).contains(&x),
            "in [-90, 0] degrees (teld observes only at night)",
        );
    }

    fn check_windows(&self, errs: &mut Errors) {
        if self.window.is_some() && !self.windows.is_empty() {
            errs.bad("window", "give `windows` or `window`, not both: put it in `windows`".into());
        }
        if self.windows.len() > MAX_WINDOWS {
            errs.bad("windows", format!("{} windows; at most {MAX_WINDOWS}", self.windows.len()));
        }
        for (i, w) in self.indexed_windows() {
            if w.end <= w.start {
                errs.bad(
                    &format!("{i}.end"),
                    format!("{} must be after {i}.start ({})", fmt(w.end), fmt(w.start)),
                );
            }
        }
    }

    fn check_tracklet(&self, errs: &mut Errors) {
        let Some(t) = self.tracklet else { return };
        if !(2..=MAX_VISITS).contains(&t.visits) {
            errs.bad(
                "tracklet.visits",
                format!(
                    "must be 2 to {MAX_VISITS}, got {}: omit `tracklet` for a single visit",
                    t.visits
                ),
            );
        }
        let (lo, hi) = (t.min_spacing_min, t.max_spacing_min);
        if !(lo.is_finite() && lo > 0.0) {
            errs.bad("tracklet.min_spacing_min", format!("must be > 0 minutes, got {lo}"));
            return;
        }
        if !(hi.is_finite() && hi >= lo && hi <= MAX_SPACING_MIN) {
            errs.bad(
                "tracklet.max_spacing_min",
                format!(
                    "must be between min_spacing_min ({lo}) and {MAX_SPACING_MIN} minutes, got {hi}"
                ),
            );
            return;
        }
        let visit_min = self.visit_duration_s() / 60.0;
        if visit_min > hi {
            errs.bad(
                "tracklet.max_spacing_min",
                format!(
                    "a visit takes {visit_min:.1} min ({} × ({} s + {PER_FRAME_OVERHEAD_S} s readout)), longer than the {hi} min between visit starts: visits would overlap; take fewer frames per visit or space them further",
                    self.count, self.exposure_s
                ),
            );
            return;
        }
        let span_s = (t.visits.saturating_sub(1)) as f64 * lo.max(visit_min) * 60.0
            + self.visit_duration_s();
        let longest = self
            .all_windows()
            .map(|w| (w.end - w.start).to_seconds())
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        if let Some(longest) = longest
            && span_s > longest
        {
            errs.bad(
                "tracklet",
                format!(
                    "{} visits at least {lo} min apart need {:.0} min, but the longest window is {:.0} min: widen a window or ask for fewer visits",
                    t.visits,
                    span_s / 60.0,
                    longest / 60.0
                ),
            );
        }
    }
}

/// Highest on-chip binning a request may ask for (ASCOM cameras commonly offer 1-4;
/// a camera that offers less refuses the exposure, which fails the attempt).
pub const MAX_BINNING: u32 = 4;
/// Most visits in a tracklet.
pub const MAX_VISITS: u32 = 10;
/// Fastest proper motion accepted for a sidereal target, mas/yr (Barnard's star has
/// 10 000): anything faster is a solar-system object.
pub const MAX_PROPER_MOTION_MAS_YR: f64 = 100_000.0;

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn bad(&mut self, field: &str, message: String) {
        self.0.push(FieldError { field: field.to_string(), message });
    }
}

fn fmt(t: Epoch) -> String {
    teld_driver_protocol::time::format_utc(t)
}

#[cfg(test)]
mod tests {
    use super::SubmitContext;
    use crate::model::{RequestSpec, Target, Tracklet, Window};

    fn spec() -> RequestSpec {
        RequestSpec {
            target: Target::sidereal("X", 10.0, 20.0),
            exposure_s: 30.0,
            count: 3,
            ..RequestSpec::example(10.0, 20.0)
        }
    }

    #[test]
    fn valid_spec_has_no_errors() {
        assert!(spec().validate().is_empty());
    }

    #[test]
    fn every_range_error_is_reported_with_its_field() {
        let mut s = spec();
        s.target.dec_deg = Some(95.0);
        s.exposure_s = -1.0;
        s.count = 0;
        let fields: Vec<_> = s.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["target.dec_deg", "exposure_s", "count"]);
    }

    #[test]
    fn nan_is_out_of_range() {
        let mut s = spec();
        s.target.ra_deg = Some(f64::NAN);
        assert_eq!(s.validate()[0].field, "target.ra_deg");
    }

    fn at(h: u8) -> hifitime::Epoch {
        hifitime::Epoch::from_gregorian_utc(2026, 11, 24, h, 0, 0, 0)
    }

    fn fields(errs: Vec<super::FieldError>) -> Vec<String> {
        errs.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn windows_must_be_ordered_single_kind_and_not_past() {
        let mut s = spec();
        s.windows =
            vec![Window { start: at(22), end: at(21) }, Window { start: at(18), end: at(19) }];
        let ctx = SubmitContext { now: at(20), filters: &[], telescopes: &[] };
        assert_eq!(fields(s.validate_for(&ctx)), ["windows[0].end", "windows[1].end"]);
        let past = s.validate_for(&ctx).pop().unwrap();
        assert!(past.message.contains("in the past"), "{past}");
        s.windows.truncate(0);
        s.window = Some(Window { start: at(20), end: at(23) });
        s.windows = vec![Window { start: at(20), end: at(23) }];
        assert_eq!(fields(s.validate()), ["window"]);
    }

    #[test]
    fn unknown_filter_lists_what_the_site_has() {
        let mut s = spec();
        s.filter = Some("Ha".into());
        let have = ["L".to_string(), "R".to_string()];
        let ctx = SubmitContext { now: at(20), filters: &have, telescopes: &[] };
        let e = s.validate_for(&ctx).pop().unwrap();
        assert_eq!(e.field, "filter");
        assert!(e.message.contains("unknown filter `Ha`") && e.message.contains("L, R"), "{e}");
        let ctx = SubmitContext { now: at(20), filters: &[], telescopes: &[] };
        let none = s.validate_for(&ctx).pop().unwrap();
        assert!(none.message.contains("no telescope here has a filter wheel"), "{none}");
    }

    #[test]
    fn impossible_tracklets_are_refused() {
        let mut s = spec();
        let t =
            |visits, lo, hi| Some(Tracklet { visits, min_spacing_min: lo, max_spacing_min: hi });
        s.tracklet = t(1, 10.0, 20.0);
        assert_eq!(fields(s.validate()), ["tracklet.visits"]);
        s.tracklet = t(3, 30.0, 20.0);
        assert_eq!(fields(s.validate()), ["tracklet.max_spacing_min"]);
        s.tracklet = t(3, 0.0, 20.0);
        assert_eq!(fields(s.validate()), ["tracklet.min_spacing_min"]);
        // 3 frames of 30 s + readout = 1.75 min per visit: cannot start every minute.
        s.tracklet = t(3, 1.0, 1.5);
        let e = s.validate().pop().unwrap();
        assert!(e.message.contains("visits would overlap"), "{e}");
        // 4 visits 60 min apart need over 3 hours; the window has 2.
        s.tracklet = t(4, 60.0, 90.0);
        s.windows = vec![Window { start: at(20), end: at(22) }];
        assert_eq!(fields(s.validate()), ["tracklet"]);
        s.windows = vec![Window { start: at(19), end: at(23) }];
        assert!(s.validate().is_empty());
    }

    #[test]
    fn moon_and_sun_constraints_have_ranges() {
        let mut s = spec();
        s.constraints.min_moon_separation_deg = Some(200.0);
        s.constraints.max_moon_illumination = Some(1.5);
        s.constraints.max_sun_altitude_deg = Some(5.0);
        assert_eq!(
            fields(s.validate()),
            [
                "constraints.min_moon_separation_deg",
                "constraints.max_moon_illumination",
                "constraints.max_sun_altitude_deg"
            ]
        );
    }

    #[test]
    fn a_target_is_one_kind() {
        let mut s = spec();
        s.target.mpc_elements = Some("x".into());
        assert_eq!(fields(s.validate()), ["target"]);
        s.target.ra_deg = None;
        s.target.dec_deg = None;
        assert_eq!(fields(s.validate()), ["target.mpc_elements"]);
    }
}
