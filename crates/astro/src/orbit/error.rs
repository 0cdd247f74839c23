//! What can go wrong with a moving target, each message saying what to do about it.

/// Errors of the `orbit` module. Bad input is always one of these, never a panic or a
/// silently wrong place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrbitError {
    #[error(
        "MPC orbit line is {len} characters long; the one-line format needs at least 103 (designation through semimajor axis, columns 1-103): is it truncated, wrapped, or a header line?"
    )]
    LineTooShort { len: usize },

    #[error(
        "MPC orbit line has a non-ASCII character at column {column}; the fixed-column format is ASCII: check the file's encoding"
    )]
    NotAscii { column: usize },

    #[error("{field} `{text}` (columns {columns}): {problem}")]
    BadField { field: &'static str, columns: &'static str, text: String, problem: String },

    #[error(
        "eccentricity {eccentricity} (columns 71-79): {shape} orbits are not supported; give elements with e < 1 or an ephemeris table"
    )]
    NotElliptic { eccentricity: f64, shape: &'static str },

    #[error("{what} is {value}: {fix}")]
    BadInput { what: &'static str, value: f64, fix: &'static str },

    #[error("{time} is outside {ephemeris} ({from} to {to}): {fix}")]
    OutsideEphemeris {
        time: String,
        ephemeris: String,
        from: String,
        to: String,
        fix: &'static str,
    },

    #[error("SPK file {path}: {problem}")]
    Spk { path: String, problem: String },

    #[error(
        "light time to the target did not converge at {time} (last change {change_s:e} s): the orbit or observer position is not physical; check the elements"
    )]
    LightTime { time: String, change_s: f64 },

    #[error("ephemeris table line {line}: {problem}")]
    TableLine { line: usize, problem: String },

    #[error("ephemeris table: {0}")]
    Table(String),

    #[error(
        "{time} is {side} the ephemeris table ({first} to {last}): tables are not extrapolated; get a table that covers this time"
    )]
    OutsideTable { time: String, side: &'static str, first: String, last: String },
}
