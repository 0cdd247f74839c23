//! A survey definition: the TOML as written (`Raw*`, deserialised strictly) and the
//! validated [`Survey`] built from it. Validation collects every problem of a file
//! before failing, so an operator fixes them in one round.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Issue, SurveyError};
use crate::field::{Field, list_id};
use crate::grid::{Grid, MAX_GRID_FIELDS};

const MINUTES_PER_DAY: f64 = 24.0 * 60.0;
pub const MAX_VISITS: u32 = 10;
const MAX_FIELD_SIZE_DEG: f64 = 30.0;
const MAX_EXPOSURE_S: f64 = 3600.0;
const MAX_COUNT: u32 = 1000;
const MAX_BINNING: u32 = 16;

/// Default weight of one completed tracklet: NEOCC's "low", so a survey fills time
/// that follow-up (useful 2, necessary 5, urgent 10) does not claim.
const DEFAULT_VALUE: f64 = 1.0;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurvey {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    telescopes: Vec<String>,
    cadence_nights: i64,
    share: f64,
    #[serde(default)]
    value: Option<f64>,
    tracklet: RawTracklet,
    #[serde(default)]
    constraints: Constraints,
    #[serde(default)]
    grid: Option<RawGrid>,
    #[serde(default)]
    fields: Option<Vec<RawField>>,
}

// Integers are read as i64 and range-checked here, so `visits = -1` gets this
// crate's message naming the key rather than serde's "expected u32".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTracklet {
    visits: i64,
    #[serde(default)]
    min_spacing_min: Option<f64>,
    #[serde(default)]
    max_spacing_min: Option<f64>,
    exposure_s: f64,
    #[serde(default)]
    count: Option<i64>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    binning: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    // Vec, not [f64; 2]: toml's deserialiser would silently drop a third element.
    ra_range_deg: Vec<f64>,
    dec_range_deg: Vec<f64>,
    field_width_deg: f64,
    field_height_deg: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    ra_deg: f64,
    dec_deg: f64,
}

/// What one visit of a field is and how the visits of a night are spaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracklet {
    /// Visits per night, 1..=10: the tracklet that reveals a moving object.
    pub visits: u32,
    /// Start-to-start spacing between consecutive visits, seconds; `None` for a
    /// single visit.
    pub spacing_s: Option<(f64, f64)>,
    /// Seconds per frame.
    pub exposure_s: f64,
    /// Frames per visit.
    pub count: u32,
    pub filter: Option<String>,
    pub binning: Option<u32>,
}

impl Tracklet {
    /// Shutter time of one visit.
    pub fn visit_duration_s(&self) -> f64 {
        self.count as f64 * self.exposure_s
    }
}

/// Observing limits for every field of a survey; absent values fall back to the
/// telescope's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    pub max_airmass: Option<f64>,
    pub min_altitude_deg: Option<f64>,
    pub min_moon_sep_deg: Option<f64>,
    /// Illuminated fraction, 0..=1.
    pub max_moon_illumination: Option<f64>,
    pub max_sun_alt_deg: Option<f64>,
}

/// A validated survey definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    name: String,
    description: Option<String>,
    source: String,
    telescopes: Vec<String>,
    cadence_nights: u32,
    share: f64,
    value: f64,
    tracklet: Tracklet,
    constraints: Constraints,
    fields: Vec<Field>,
}

impl Survey {
    /// Parses and validates one definition; `source_name` (usually the file path)
    /// prefixes every error message.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Survey, SurveyError> {
        let raw: RawSurvey =
            toml::from_str(text).map_err(|e| SurveyError::from_toml(e, text, source_name))?;
        let mut issues = Vec::new();
        let survey = validate(raw, &mut issues);
        match survey {
            Some(s) if issues.is_empty() => Ok(Survey { source: source_name.to_string(), ..s }),
            _ => Err(SurveyError::Invalid { source_name: source_name.to_string(), issues }),
        }
    }

    /// Reads and parses one file.
    pub fn from_file(path: &Path) -> Result<Survey, SurveyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SurveyError::Read { path: path.to_path_buf(), source })?;
        Survey::from_toml_str(&text, &path.display().to_string())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Where the definition came from (the `source_name` it was parsed with).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Telescope ids the survey may use; empty means any.
    pub fn telescopes(&self) -> &[String] {
        &self.telescopes
    }

    pub fn cadence_nights(&self) -> u32 {
        self.cadence_nights
    }

    /// Largest fraction of a night's dark time the survey may take, in (0, 1].
    pub fn share(&self) -> f64 {
        self.share
    }

    /// Weight of one completed tracklet of one field.
    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn tracklet(&self) -> &Tracklet {
        &self.tracklet
    }

    pub fn constraints(&self) -> &Constraints {
        &self.constraints
    }

    /// Every field, in id order for grids and file order for lists.
    pub fn fields(&self) -> Vec<Field> {
        self.fields.clone()
    }

    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    pub(crate) fn field_slice(&self) -> &[Field] {
        &self.fields
    }
}

fn issue(issues: &mut Vec<Issue>, key: impl Into<String>, message: impl Into<String>) {
    issues.push(Issue { key: key.into(), message: message.into() });
}

/// Checks everything, pushing one issue per broken rule; returns a survey only
/// when the parts needed to build one are usable (the caller still refuses it if
/// any issue was pushed).
fn validate(raw: RawSurvey, issues: &mut Vec<Issue>) -> Option<Survey> {
    check_name(&raw.name, issues);
    if let Some(d) = &raw.description
        && d.trim().is_empty()
    {
        issue(issues, "description", "is empty; remove the key or describe the survey");
    }
    for (i, t) in raw.telescopes.iter().enumerate() {
        if t.trim().is_empty() {
            issue(
                issues,
                format!("telescopes[{i}]"),
                "is empty; give a telescope id from the daemon configuration",
            );
        } else if raw.telescopes[..i].contains(t) {
            issue(
                issues,
                format!("telescopes[{i}]"),
                format!("telescope `{t}` is listed twice; remove the duplicate"),
            );
        }
    }
    let cadence_nights = match u32::try_from(raw.cadence_nights) {
        Ok(n) if n >= 1 => Some(n),
        _ => {
            issue(
                issues,
                "cadence_nights",
                format!(
                    "is {}; it must be a whole number of nights ≥ 1 (1 = every night)",
                    raw.cadence_nights
                ),
            );
            None
        }
    };
    if !(raw.share > 0.0 && raw.share <= 1.0) {
        issue(
            issues,
            "share",
            format!(
                "is {}; it must be a fraction of the night's dark time with \
                 0 < share ≤ 1 (e.g. 0.3)",
                raw.share
            ),
        );
    }
    let value = raw.value.unwrap_or(DEFAULT_VALUE);
    if !(value.is_finite() && value > 0.0) {
        issue(
            issues,
            "value",
            format!(
                "is {value}; it must be a positive weight \
                 (NEOCC scale: low 1, useful 2, necessary 5, urgent 10)"
            ),
        );
    }
    let tracklet = check_tracklet(&raw.tracklet, issues);
    check_constraints(&raw.constraints, issues);
    let fields = match (&raw.grid, &raw.fields) {
        (Some(_), Some(_)) => {
            issue(
                issues,
                "grid",
                "a survey has either a [grid] or a list of [[fields]], not both; remove one",
            );
            None
        }
        (None, None) => {
            issue(issues, "grid", "no fields: add a [grid] section or a list of [[fields]]");
            None
        }
        (Some(g), None) => check_grid(g, issues).map(|g| g.fields(&raw.name)),
        (None, Some(list)) => check_list(list, &raw.name, issues),
    };
    Some(Survey {
        name: raw.name,
        description: raw.description,
        source: String::new(),
        telescopes: raw.telescopes,
        cadence_nights: cadence_nights?,
        share: raw.share,
        value,
        tracklet: tracklet?,
        constraints: raw.constraints,
        fields: fields?,
    })
}

/// Names become field-id prefixes and store keys, so they are kept to characters
/// that survive URLs, file names and SQL unquoted, and never contain the `:` that
/// separates a listed field's name.
fn check_name(name: &str, issues: &mut Vec<Issue>) {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        issue(
            issues,
            "name",
            format!(
                "is `{name}`; a survey name starts with a letter or digit and holds only \
                 letters, digits, `-`, `_` and `.` (e.g. `ecliptic-autumn`)"
            ),
        );
    }
}

fn check_tracklet(t: &RawTracklet, issues: &mut Vec<Issue>) -> Option<Tracklet> {
    let visits = match u32::try_from(t.visits) {
        Ok(v) if (1..=MAX_VISITS).contains(&v) => Some(v),
        _ => {
            issue(
                issues,
                "tracklet.visits",
                format!(
                    "is {}; visits per night must be 1 to {MAX_VISITS} \
                     (3 to 5 is typical for a tracklet)",
                    t.visits
                ),
            );
            None
        }
    };
    let exposure_ok =
        t.exposure_s.is_finite() && t.exposure_s > 0.0 && t.exposure_s <= MAX_EXPOSURE_S;
    if !exposure_ok {
        issue(
            issues,
            "tracklet.exposure_s",
            format!(
                "is {}; the exposure time must be more than 0 and at most {MAX_EXPOSURE_S} seconds",
                t.exposure_s
            ),
        );
    }
    let count = match t.count.map(u32::try_from) {
        None => Some(1),
        Some(Ok(c)) if (1..=MAX_COUNT).contains(&c) => Some(c),
        Some(_) => {
            issue(
                issues,
                "tracklet.count",
                format!(
                    "is {}; frames per visit must be 1 to {MAX_COUNT}",
                    t.count.unwrap_or_default()
                ),
            );
            None
        }
    };
    let binning = match t.binning.map(u32::try_from) {
        None => Some(None),
        Some(Ok(b)) if (1..=MAX_BINNING).contains(&b) => Some(Some(b)),
        Some(_) => {
            issue(
                issues,
                "tracklet.binning",
                format!(
                    "is {}; binning must be 1 to {MAX_BINNING}, \
                     or leave it out for the camera's default",
                    t.binning.unwrap_or_default()
                ),
            );
            None
        }
    };
    if let Some(f) = &t.filter
        && f.trim().is_empty()
    {
        issue(
            issues,
            "tracklet.filter",
            "is empty; name a filter of the telescope's wheel or leave the key out",
        );
    }
    let spacing = check_spacing(t, visits, issues);
    let (visits, count) = (visits?, count?);
    let duration_s = count as f64 * t.exposure_s;
    if exposure_ok {
        match spacing {
            Some(Some((min_s, _))) if duration_s > min_s => issue(
                issues,
                "tracklet.min_spacing_min",
                format!(
                    "is {} min but one visit ({count} × {} s) takes {:.1} min; visits \
                     would overlap, so raise the spacing or shorten the visit",
                    min_s / 60.0,
                    t.exposure_s,
                    duration_s / 60.0
                ),
            ),
            _ if duration_s >= MINUTES_PER_DAY * 60.0 => issue(
                issues,
                "tracklet.count",
                format!(
                    "one visit ({count} × {} s) would last more than a day; \
                     take fewer or shorter frames",
                    t.exposure_s
                ),
            ),
            _ => {}
        }
    }
    Some(Tracklet {
        visits,
        spacing_s: spacing?,
        exposure_s: t.exposure_s,
        count,
        filter: t.filter.clone(),
        binning: binning?,
    })
}

/// `Some(None)` for a single visit without spacing; `None` when unusable.
fn check_spacing(
    t: &RawTracklet,
    visits: Option<u32>,
    issues: &mut Vec<Issue>,
) -> Option<Option<(f64, f64)>> {
    let mut ok = true;
    for (key, v) in [
        ("tracklet.min_spacing_min", t.min_spacing_min),
        ("tracklet.max_spacing_min", t.max_spacing_min),
    ] {
        match v {
            Some(m) if !(m.is_finite() && m > 0.0 && m < MINUTES_PER_DAY) => {
                issue(
                    issues,
                    key,
                    format!(
                        "is {m}; a spacing is minutes between visit starts, \
                         more than 0 and less than a day (1440)"
                    ),
                );
                ok = false;
            }
            None if visits.is_some_and(|v| v > 1) => {
                issue(
                    issues,
                    key,
                    "is missing; with more than one visit per night give the minimum \
                     and maximum minutes between visit starts",
                );
                ok = false;
            }
            _ => {}
        }
    }
    let (Some(min), Some(max)) = (t.min_spacing_min, t.max_spacing_min) else {
        return ok.then_some(None);
    };
    if !ok {
        return None;
    }
    if min > max {
        issue(
            issues,
            "tracklet.min_spacing_min",
            format!(
                "is {min}, more than tracklet.max_spacing_min ({max}); \
                 swap them or widen the maximum"
            ),
        );
        return None;
    }
    let visits = visits?;
    if (visits - 1) as f64 * min >= MINUTES_PER_DAY {
        issue(
            issues,
            "tracklet.min_spacing_min",
            format!(
                "{visits} visits at least {min} min apart span {:.1} h, more than a night; \
                 lower the spacing or the number of visits",
                (visits - 1) as f64 * min / 60.0
            ),
        );
        return None;
    }
    Some((visits > 1).then_some((min * 60.0, max * 60.0)))
}

fn check_constraints(c: &Constraints, issues: &mut Vec<Issue>) {
    let mut check = |key: &str, v: Option<f64>, ok: fn(f64) -> bool, rule: &str| {
        if let Some(v) = v
            && !(v.is_finite() && ok(v))
        {
            issue(
                issues,
                format!("constraints.{key}"),
                format!("is {v}; {rule}, or leave the key out"),
            );
        }
    };
    check(
        "max_airmass",
        c.max_airmass,
        |v| v >= 1.0,
        "airmass is 1 at the zenith, so give a limit ≥ 1 (e.g. 2.0)",
    );
    check(
        "min_altitude_deg",
        c.min_altitude_deg,
        |v| (0.0..90.0).contains(&v),
        "give an altitude from 0 to below 90 degrees",
    );
    check(
        "min_moon_sep_deg",
        c.min_moon_sep_deg,
        |v| (0.0..=180.0).contains(&v),
        "give a separation from 0 to 180 degrees",
    );
    check(
        "max_moon_illumination",
        c.max_moon_illumination,
        |v| (0.0..=1.0).contains(&v),
        "give the illuminated fraction from 0 (new) to 1 (full)",
    );
    check(
        "max_sun_alt_deg",
        c.max_sun_alt_deg,
        |v| (-90.0..=0.0).contains(&v),
        "give a Sun altitude from -90 to 0 degrees (e.g. -12 for nautical dark)",
    );
}

/// A `[start, end]` pair, or an issue if the array has another length.
fn pair(key: &str, v: &[f64], what: &str, issues: &mut Vec<Issue>) -> Option<[f64; 2]> {
    match v {
        &[a, b] => Some([a, b]),
        _ => {
            issue(issues, key, format!("has {} number(s); give exactly two, {what}", v.len()));
            None
        }
    }
}

fn check_grid(g: &RawGrid, issues: &mut Vec<Issue>) -> Option<Grid> {
    let before = issues.len();
    let ra = pair("grid.ra_range_deg", &g.ra_range_deg, "[start, end]", issues);
    let dec = pair("grid.dec_range_deg", &g.dec_range_deg, "[south, north]", issues);
    if let Some([ra0, ra1]) = ra {
        if ![ra0, ra1].iter().all(|v| v.is_finite() && (0.0..=360.0).contains(v)) {
            issue(
                issues,
                "grid.ra_range_deg",
                format!(
                    "is [{ra0}, {ra1}]; give [start, end] in degrees within 0..360 \
                     (end < start wraps through 0, [0, 360] is all RA)"
                ),
            );
        } else if ra0 == ra1 || (ra0 == 360.0 && ra1 == 0.0) {
            // Equal ends could mean nothing or everything; make the operator say which.
            issue(
                issues,
                "grid.ra_range_deg",
                format!(
                    "is [{ra0}, {ra1}], an empty or ambiguous range; \
                     give distinct start and end, [0, 360] for all RA"
                ),
            );
        }
    }
    if let Some([dec0, dec1]) = dec {
        if ![dec0, dec1].iter().all(|v| v.is_finite() && (-90.0..=90.0).contains(v)) {
            issue(
                issues,
                "grid.dec_range_deg",
                format!("is [{dec0}, {dec1}]; give [south, north] in degrees within -90..90"),
            );
        } else if dec0 > dec1 {
            issue(
                issues,
                "grid.dec_range_deg",
                format!("is [{dec0}, {dec1}]; give the southern limit first"),
            );
        }
    }
    for (key, v) in
        [("grid.field_width_deg", g.field_width_deg), ("grid.field_height_deg", g.field_height_deg)]
    {
        if !(v.is_finite() && v > 0.0 && v <= MAX_FIELD_SIZE_DEG) {
            issue(
                issues,
                key,
                format!(
                    "is {v}; a field size is the camera's field of view in degrees, \
                     more than 0 and at most {MAX_FIELD_SIZE_DEG}"
                ),
            );
        }
    }
    if issues.len() > before {
        return None;
    }
    let grid = Grid {
        ra_deg: ra?,
        dec_deg: dec?,
        width_deg: g.field_width_deg,
        height_deg: g.field_height_deg,
    };
    if grid.count() > MAX_GRID_FIELDS {
        issue(
            issues,
            "grid",
            format!(
                "would have more than {MAX_GRID_FIELDS} fields; check that field_width_deg and \
                 field_height_deg are in degrees (not arcminutes) or narrow the ranges"
            ),
        );
        return None;
    }
    Some(grid)
}

fn check_list(list: &[RawField], survey: &str, issues: &mut Vec<Issue>) -> Option<Vec<Field>> {
    if list.is_empty() {
        issue(issues, "fields", "is empty; list at least one field or use a [grid]");
        return None;
    }
    let before = issues.len();
    let mut seen = HashSet::new();
    for (i, f) in list.iter().enumerate() {
        let at = |k: &str| format!("fields[{i}].{k}");
        if f.name.trim().is_empty() || f.name.contains(':') || f.name.chars().any(char::is_control)
        {
            issue(
                issues,
                at("name"),
                format!(
                    "is `{}`; a field name is non-empty text without `:` or control characters",
                    f.name
                ),
            );
        } else if !seen.insert(f.name.as_str()) {
            issue(
                issues,
                at("name"),
                format!(
                    "field `{}` is defined twice; field names must be unique within a survey",
                    f.name
                ),
            );
        }
        if !(f.ra_deg.is_finite() && (0.0..360.0).contains(&f.ra_deg)) {
            issue(
                issues,
                at("ra_deg"),
                format!(
                    "is {} (field `{}`); give right ascension in degrees, 0 ≤ ra < 360",
                    f.ra_deg, f.name
                ),
            );
        }
        if !(f.dec_deg.is_finite() && (-90.0..=90.0).contains(&f.dec_deg)) {
            issue(
                issues,
                at("dec_deg"),
                format!(
                    "is {} (field `{}`); give declination in degrees, -90 to 90",
                    f.dec_deg, f.name
                ),
            );
        }
    }
    (issues.len() == before).then(|| {
        list.iter()
            .map(|f| Field { id: list_id(survey, &f.name), ra_deg: f.ra_deg, dec_deg: f.dec_deg })
            .collect()
    })
}
