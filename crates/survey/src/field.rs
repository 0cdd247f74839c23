//! A survey field and how its id is made.
//!
//! Ids are what progress is stored under, so they must not change while the
//! definition does not, and must not collide between surveys:
//! - grid fields are `<survey>-<row>-<col>`, zero-padded so ids sort in row-major
//!   order; a grid id always ends in exactly two numeric parts, so the survey name
//!   (which may itself contain `-`) is recovered by dropping them;
//! - listed fields are `<survey>:<name>`; survey names cannot contain `:`, grid ids
//!   never do, so a listed id never equals an id of another survey.

/// One pointing of a survey: the centre of a field of view.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Stable id, unique across surveys with distinct names (see the module doc).
    pub id: String,
    /// J2000 right ascension of the centre, 0 ≤ ra < 360.
    pub ra_deg: f64,
    /// J2000 declination of the centre, −90 ≤ dec ≤ 90.
    pub dec_deg: f64,
}

pub(crate) fn grid_id(
    survey: &str,
    row: usize,
    col: usize,
    row_digits: usize,
    col_digits: usize,
) -> String {
    format!("{survey}-{row:0row_digits$}-{col:0col_digits$}")
}

pub(crate) fn list_id(survey: &str, name: &str) -> String {
    format!("{survey}:{name}")
}

/// Digits needed to write every index below `n` (at least one).
pub(crate) fn digits(n: usize) -> usize {
    n.saturating_sub(1).to_string().len()
}
