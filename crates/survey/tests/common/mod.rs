//! Definitions the tests start from and change one key at a time.

#![allow(dead_code)]

use teld_survey::{Survey, SurveyError};

/// A valid grid survey; tests replace a line to break exactly one rule.
pub const GRID: &str = r#"
name = "test"
cadence_nights = 2
share = 0.5

[tracklet]
visits = 3
min_spacing_min = 20
max_spacing_min = 40
exposure_s = 30

[grid]
ra_range_deg = [10, 40]
dec_range_deg = [-4, 4]
field_width_deg = 2
field_height_deg = 2
"#;

/// A valid list survey.
pub const LIST: &str = r#"
name = "named"
telescopes = ["t1", "t2"]
cadence_nights = 1
share = 1.0
value = 5.0

[tracklet]
visits = 1
exposure_s = 60
count = 4
filter = "R"
binning = 2

[constraints]
max_airmass = 2.0
min_altitude_deg = 30
min_moon_sep_deg = 40
max_moon_illumination = 0.7
max_sun_alt_deg = -12

[[fields]]
name = "M31"
ra_deg = 10.6847
dec_deg = 41.2690

[[fields]]
name = "opposition"
ra_deg = 359.5
dec_deg = -1.0
"#;

/// `text` with `from` replaced by `to`; panics if `from` is absent so a test cannot
/// silently run on the unchanged text.
pub fn with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the test definition");
    text.replacen(from, to, 1)
}

pub fn parse(text: &str) -> Survey {
    Survey::from_toml_str(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

pub fn parse_err(text: &str) -> SurveyError {
    match Survey::from_toml_str(text, "test.toml") {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => e,
    }
}

/// A grid survey over the given ranges and field size.
pub fn grid(ra: [f64; 2], dec: [f64; 2], w: f64, h: f64) -> Survey {
    let text = with(
        GRID,
        "ra_range_deg = [10, 40]",
        &format!("ra_range_deg = [{:?}, {:?}]", ra[0], ra[1]),
    );
    let text = with(
        &text,
        "dec_range_deg = [-4, 4]",
        &format!("dec_range_deg = [{:?}, {:?}]", dec[0], dec[1]),
    );
    let text = with(&text, "field_width_deg = 2", &format!("field_width_deg = {w:?}"));
    let text = with(&text, "field_height_deg = 2", &format!("field_height_deg = {h:?}"));
    parse(&text)
}
