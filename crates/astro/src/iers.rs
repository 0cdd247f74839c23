//! Earth orientation (UT1−UTC, polar motion) from IERS tables.
//!
//! A table is bundled (`data/iers.csv`, made from IERS finals2000A by
//! `data/make_iers_table.py`); an operator can load a newer `finals2000A.all` (or
//! `.data`) file. Outside the table UT1−UTC and polar motion are taken as 0 and the
//! lookup says so: an error of up to 0.9 s of time (13″ at the equator) is better than
//! refusing to point, but it must be visible.

use std::sync::OnceLock;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EopKind {
    Measured,
    Predicted,
    /// Outside the table: zeros were used.
    OutOfRange,
}

/// Earth orientation at one instant.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Eop {
    pub ut1_utc_s: f64,
    pub xp_arcsec: f64,
    pub yp_arcsec: f64,
    pub kind: EopKind,
}

impl Eop {
    pub const ZERO: Eop =
        Eop { ut1_utc_s: 0.0, xp_arcsec: 0.0, yp_arcsec: 0.0, kind: EopKind::OutOfRange };

    /// Given explicitly (e.g. by a test or the `teld astro` CLI).
    pub fn given(ut1_utc_s: f64, xp_arcsec: f64, yp_arcsec: f64) -> Eop {
        Eop { ut1_utc_s, xp_arcsec, yp_arcsec, kind: EopKind::Measured }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IersError {
    #[error("IERS table line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("IERS table has no usable rows; give a finals2000A.all/.data file from the IERS")]
    Empty,
}

#[derive(Debug, Clone)]
struct Row {
    mjd: f64,
    ut1_utc: f64,
    xp: f64,
    yp: f64,
    predicted: bool,
}

/// Daily Earth-orientation values, linearly interpolated.
#[derive(Debug, Clone)]
pub struct IersTable {
    rows: Vec<Row>,
    /// Human-readable origin, for logs.
    pub source: String,
}

const BUNDLED: &str = include_str!("../data/iers.csv");

impl IersTable {
    pub fn bundled() -> &'static IersTable {
        static TABLE: OnceLock<IersTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            IersTable::from_csv(BUNDLED, "bundled data/iers.csv")
                .expect("bundled IERS table parses")
        })
    }

    /// teld's compact CSV: `mjd,ut1_utc_s,xp_arcsec,yp_arcsec,kind` (`#` comments).
    pub fn from_csv(text: &str, source: &str) -> Result<IersTable, IersError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("mjd") {
                continue;
            }
            let bad = |m: &str| IersError::Line { line: i + 1, message: m.to_string() };
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 5 {
                return Err(bad("expected 5 comma-separated fields"));
            }
            let num = |s: &str, what: &str| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(&format!("{what} is not a number")))
            };
            rows.push(Row {
                mjd: num(f[0], "mjd")?,
                ut1_utc: num(f[1], "ut1_utc_s")?,
                xp: num(f[2], "xp_arcsec")?,
                yp: num(f[3], "yp_arcsec")?,
                predicted: f[4].trim() == "P",
            });
        }
        Self::build(rows, source)
    }

    /// The IERS `finals2000A.all`/`.data` fixed-column format (Bulletin A columns).
    pub fn from_finals2000a(text: &str, source: &str) -> Result<IersTable, IersError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let col = |a: usize, b: usize| line.get(a - 1..b).map(str::trim).unwrap_or("");
            if col(1, 6).is_empty() && line.trim().is_empty() {
                continue;
            }
            let mjd = col(8, 15);
            let ut1 = col(59, 68);
            if mjd.is_empty() || ut1.is_empty() {
                continue; // future rows with no prediction yet
            }
            let bad = |m: &str| IersError::Line { line: i + 1, message: m.to_string() };
            let parse = |s: &str, what: &str| {
                s.parse::<f64>().map_err(|_| bad(&format!("{what} `{s}` is not a number")))
            };
            rows.push(Row {
                mjd: parse(mjd, "MJD (columns 8-15)")?,
                ut1_utc: parse(ut1, "UT1-UTC (columns 59-68)")?,
                xp: parse(col(19, 27), "PM-x (columns 19-27)").unwrap_or(0.0),
                yp: parse(col(38, 46), "PM-y (columns 38-46)").unwrap_or(0.0),
                predicted: col(58, 58) == "P",
            });
        }
        Self::build(rows, source)
    }

    /// Reads a file in either format (detected by content).
    pub fn from_file(path: &std::path::Path) -> Result<IersTable, IersError> {
        let text = std::fs::read_to_string(path).map_err(|e| IersError::Line {
            line: 0,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let source = path.display().to_string();
        if text.lines().any(|l| l.starts_with("mjd,")) {
            Self::from_csv(&text, &source)
        } else {
            Self::from_finals2000a(&text, &source)
        }
    }

    fn build(mut rows: Vec<Row>, source: &str) -> Result<IersTable, IersError> {
        rows.sort_by(|a, b| a.mjd.total_cmp(&b.mjd));
        rows.dedup_by(|a, b| a.mjd == b.mjd);
        if rows.is_empty() {
            return Err(IersError::Empty);
        }
        Ok(IersTable { rows, source: source.to_string() })
    }

    /// First and last MJD covered.
    pub fn span(&self) -> (f64, f64) {
        (self.rows[0].mjd, self.rows[self.rows.len() - 1].mjd)
    }

    /// Values at `mjd_utc`, linearly interpolated. A day boundary with a leap second
    /// makes UT1−UTC jump by one second; interpolation across it would smear that
    /// second over the day, so the jump is removed before interpolating.
    pub fn at_mjd(&self, mjd_utc: f64) -> Eop {
        let (first, last) = self.span();
        if !(first..=last).contains(&mjd_utc) || mjd_utc.is_nan() {
            return Eop::ZERO;
        }
        let i = self.rows.partition_point(|r| r.mjd <= mjd_utc).saturating_sub(1);
        let a = &self.rows[i];
        let Some(b) = self.rows.get(i + 1) else {
            return Eop { ut1_utc_s: a.ut1_utc, xp_arcsec: a.xp, yp_arcsec: a.yp, kind: kind(a) };
        };
        let f = (mjd_utc - a.mjd) / (b.mjd - a.mjd);
        let mut ub = b.ut1_utc;
        let jump = ub - a.ut1_utc;
        if jump.abs() > 0.5 {
            ub -= jump.signum(); // a leap second between a and b
        }
        let lerp = |x: f64, y: f64| x + (y - x) * f;
        let kind = if a.predicted || b.predicted { EopKind::Predicted } else { EopKind::Measured };
        Eop {
            ut1_utc_s: lerp(a.ut1_utc, ub),
            xp_arcsec: lerp(a.xp, b.xp),
            yp_arcsec: lerp(a.yp, b.yp),
            kind,
        }
    }

    pub fn at(&self, e: hifitime::Epoch) -> Eop {
        self.at_mjd(crate::time::mjd_utc(e))
    }
}

fn kind(r: &Row) -> EopKind {
    if r.predicted { EopKind::Predicted } else { EopKind::Measured }
}

static ACTIVE: OnceLock<IersTable> = OnceLock::new();

/// Installs the table the whole process uses (once, at start-up, from the operator's
/// file). Returns `false` if one was installed already.
pub fn install(table: IersTable) -> bool {
    ACTIVE.set(table).is_ok()
}

/// The process-wide table: the installed one, or the bundled one.
pub fn active() -> &'static IersTable {
    ACTIVE.get().unwrap_or_else(|| IersTable::bundled())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "# test\nmjd,ut1_utc_s,xp_arcsec,yp_arcsec,kind\n57752,0.5925,0.05,0.28,I\n57753,0.5919,0.06,0.29,I\n57754,-0.4083,0.07,0.30,I\n57755,-0.4090,0.08,0.31,P\n";

    #[test]
    fn interpolates_and_keeps_the_leap_second_jump_out() {
        let t = IersTable::from_csv(CSV, "test").unwrap();
        let mid = t.at_mjd(57752.5);
        assert!((mid.ut1_utc_s - 0.5922).abs() < 1e-9 && (mid.xp_arcsec - 0.055).abs() < 1e-12);
        // 2016-12-31 (57753) to 2017-01-01 (57754) has the leap second: half a day in,
        // UT1-UTC is about 0.59 still, not about 0.09.
        let across = t.at_mjd(57753.5);
        assert!((across.ut1_utc_s - 0.5918).abs() < 1e-3, "{across:?}");
        assert_eq!(t.at_mjd(57754.5).kind, EopKind::Predicted);
        assert_eq!(t.at_mjd(40000.0), Eop::ZERO);
        assert_eq!(t.at_mjd(f64::NAN).kind, EopKind::OutOfRange);
    }

    #[test]
    fn reads_finals2000a_columns() {
        // Two rows as the IERS prints them (finals2000A.all, Bulletin A columns).
        let text = "\
261022 61335.00 I  0.149159 0.000041  0.317685 0.000041  I-0.0428601 0.0000064  0.7081 0.0076  I    -0.121    0.182    -0.113    0.247  0.149200  0.317700 -0.0428500    -0.119    -0.110
271029 61707.00 P  0.179319 0.017516  0.276208 0.028383  P-0.2081431 0.0159003                                                                                                   
";
        let t = IersTable::from_finals2000a(text, "test").unwrap();
        let a = t.at_mjd(61335.0);
        assert!(
            (a.ut1_utc_s + 0.0428601).abs() < 1e-9
                && (a.xp_arcsec - 0.149159).abs() < 1e-9
                && (a.yp_arcsec - 0.317685).abs() < 1e-9
        );
        assert_eq!(t.at_mjd(61707.0).kind, EopKind::Predicted);
    }

    #[test]
    fn bad_rows_are_refused_with_the_line() {
        let e =
            IersTable::from_csv("mjd,ut1_utc_s,xp_arcsec,yp_arcsec,kind\n57752,abc,0,0,I\n", "t")
                .unwrap_err();
        assert!(e.to_string().contains("line 2") && e.to_string().contains("ut1_utc_s"), "{e}");
        assert_eq!(IersTable::from_csv("# nothing\n", "t").unwrap_err(), IersError::Empty);
    }
}
