//! Ephemeris tables (as NEOCC, JPL Horizons or the NEOCP give them), interpolated
//! between rows and never extrapolated.
//!
//! Accepted CSV:
//!
//! ```text
//! # lines starting with '#' and blank lines are ignored
//! utc,ra_deg,dec_deg,ra_rate_arcsec_per_min,dec_rate_arcsec_per_min
//! 2029-04-12T00:00:00.000,149.68064680,-29.39843613,5.05851,1.64081
//! ```
//!
//! - `utc`: ISO-8601 UTC as [`crate::time::parse_utc`] reads it (a trailing `Z` is fine).
//! - `ra_deg`, `dec_deg`: ICRS astrometric, decimal degrees.
//! - optional rates, arcsec per minute: RA·cos(Dec) and Dec. Either every row has
//!   them or none does.
//! - the header line is optional; when present it must name exactly these columns, so
//!   a table in other units (hours, arcsec/hour) is refused rather than misread.
//! - rows strictly increasing in time.
//!
//! Interpolation works on the unit direction vector, not on RA and Dec, so it is
//! indifferent to RA wrapping through 0h and to the poles. With rates: cubic Hermite
//! between the two neighbouring rows (position and velocity both matched). Without:
//! 4-point Lagrange (cubic) on the nearest rows. Rates are the derivative of the
//! interpolant.

use hifitime::Epoch;

use super::vector::{V3, add, dot, east_north, norm, ra_dec, scale, unit};
use super::{ARCSEC_PER_RAD, OrbitError, SkyRates};
use crate::coords::Icrs;
use crate::time;

const COLUMNS_WITH_RATES: [&str; 5] =
    ["utc", "ra_deg", "dec_deg", "ra_rate_arcsec_per_min", "dec_rate_arcsec_per_min"];
/// Two rows further apart than this on the sky are too coarse to interpolate
/// (a cubic through a large arc of a close approach is off by arcminutes).
const MAX_ARC_BETWEEN_ROWS_DEG: f64 = 30.0;
/// Cubic Lagrange needs four rows; Hermite needs two.
const MIN_ROWS_LAGRANGE: usize = 4;
const MIN_ROWS_HERMITE: usize = 2;

/// An interpolated place from a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TablePlace {
    pub icrs: Icrs,
    pub rates: SkyRates,
}

#[derive(Debug, Clone)]
struct Row {
    t: Epoch,
    /// Minutes since the first row.
    minutes: f64,
    u: V3,
    /// Derivative of `u` (radians per minute), when the table gives rates.
    du: Option<V3>,
}

/// A parsed ephemeris table.
#[derive(Debug, Clone)]
pub struct EphemerisTable {
    rows: Vec<Row>,
    has_rates: bool,
}

impl EphemerisTable {
    pub fn parse_csv(text: &str) -> Result<EphemerisTable, OrbitError> {
        let mut rows: Vec<Row> = Vec::new();
        let mut width: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let fail = |problem: String| OrbitError::TableLine { line: line_no, problem };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields[0].eq_ignore_ascii_case("utc") {
                let names: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
                if !rows.is_empty() || width.is_some() {
                    return Err(fail("a header after the first row".into()));
                }
                if (names.len() != 3 && names.len() != 5)
                    || names[..] != COLUMNS_WITH_RATES[..names.len()]
                {
                    return Err(fail(format!(
                        "header `{line}` is not `{}` or its first three columns: convert the table to these columns and units",
                        COLUMNS_WITH_RATES.join(",")
                    )));
                }
                width = Some(names.len());
                continue;
            }
            if fields.len() != 3 && fields.len() != 5 {
                return Err(fail(format!(
                    "{} fields; a row is utc,ra_deg,dec_deg with optionally the two rates",
                    fields.len()
                )));
            }
            match width {
                Some(w) if w != fields.len() => {
                    return Err(fail(format!(
                        "{} fields where the table has {w}: give rates on every row or on none",
                        fields.len()
                    )));
                }
                _ => width = Some(fields.len()),
            }
            let t = time::parse_utc(fields[0]).map_err(|e| fail(e.to_string()))?;
            let num = |k: usize, name: &str| -> Result<f64, OrbitError> {
                match fields[k].parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(fail(format!("{name} `{}` is not a finite number", fields[k]))),
                }
            };
            let ra = num(1, "ra_deg")?;
            let dec = num(2, "dec_deg")?;
            if !(0.0..=360.0).contains(&ra) || !(-90.0..=90.0).contains(&dec) {
                return Err(fail(format!(
                    "RA {ra} / Dec {dec} out of range: RA and Dec are decimal degrees (RA 0..360, Dec -90..90)"
                )));
            }
            let (ra, dec) = (ra.to_radians(), dec.to_radians());
            let du = if fields.len() == 5 {
                let per_min = 1.0 / ARCSEC_PER_RAD;
                let (east, north) = east_north(ra, dec);
                let r_east = num(3, "ra_rate_arcsec_per_min")? * per_min;
                let r_north = num(4, "dec_rate_arcsec_per_min")? * per_min;
                Some(add(scale(r_east, east), scale(r_north, north)))
            } else {
                None
            };
            let u = unit(ra, dec);
            if let Some(prev) = rows.last() {
                if t <= prev.t {
                    return Err(fail(format!(
                        "time {} is not after the previous row's {}: rows must be strictly increasing in time",
                        fields[0],
                        time::format_utc(prev.t, 3)
                    )));
                }
                let arc = dot(prev.u, u).clamp(-1.0, 1.0).acos().to_degrees();
                if arc > MAX_ARC_BETWEEN_ROWS_DEG {
                    return Err(fail(format!(
                        "the target moved {arc:.1}° since the previous row, more than {MAX_ARC_BETWEEN_ROWS_DEG}°: give a table with a shorter step"
                    )));
                }
            }
            let minutes = rows.first().map_or(0.0, |r0| (t - r0.t).to_seconds() / 60.0);
            rows.push(Row { t, minutes, u, du });
        }
        let has_rates = width == Some(5);
        let need = if has_rates { MIN_ROWS_HERMITE } else { MIN_ROWS_LAGRANGE };
        if rows.len() < need {
            return Err(OrbitError::Table(format!(
                "{} rows; interpolation needs at least {need} ({})",
                rows.len(),
                if has_rates { "with rates" } else { "without rates: 4 for a cubic" }
            )));
        }
        Ok(EphemerisTable { rows, has_rates })
    }

    pub fn has_rates(&self) -> bool {
        self.has_rates
    }

    /// First and last row times.
    pub fn span(&self) -> (Epoch, Epoch) {
        (self.rows[0].t, self.rows[self.rows.len() - 1].t)
    }

    /// The interpolated place and rates at UTC instant `t`, which must lie within the
    /// table.
    pub fn place(&self, t: Epoch) -> Result<TablePlace, OrbitError> {
        let (first, last) = self.span();
        if t < first || t > last {
            return Err(OrbitError::OutsideTable {
                time: time::format_utc(t, 3),
                side: if t < first { "before" } else { "after" },
                first: time::format_utc(first, 3),
                last: time::format_utc(last, 3),
            });
        }
        let x = (t - first).to_seconds() / 60.0;
        // Interval [rows[i], rows[i + 1]] containing t.
        let i = self.rows.partition_point(|r| r.minutes <= x).clamp(1, self.rows.len() - 1) - 1;
        let (p, dp) = if self.has_rates { self.hermite(i, x) } else { self.lagrange(i, x) };
        let (ra, dec) = ra_dec(p);
        let (east, north) = east_north(ra, dec);
        let per = ARCSEC_PER_RAD / norm(p);
        Ok(TablePlace {
            icrs: Icrs { ra_deg: ra.to_degrees(), dec_deg: dec.to_degrees() },
            rates: SkyRates {
                ra_cos_dec_arcsec_per_min: dot(dp, east) * per,
                dec_arcsec_per_min: dot(dp, north) * per,
            },
        })
    }

    /// Cubic Hermite on [rows[i], rows[i+1]]: value and derivative per minute.
    fn hermite(&self, i: usize, x: f64) -> (V3, V3) {
        let (a, b) = (&self.rows[i], &self.rows[i + 1]);
        let h = b.minutes - a.minutes;
        let s = (x - a.minutes) / h;
        let (s2, s3) = (s * s, s * s * s);
        let (h00, h10, h01, h11) =
            (2.0 * s3 - 3.0 * s2 + 1.0, s3 - 2.0 * s2 + s, -2.0 * s3 + 3.0 * s2, s3 - s2);
        let (d00, d10, d01, d11) =
            (6.0 * s2 - 6.0 * s, 3.0 * s2 - 4.0 * s + 1.0, -6.0 * s2 + 6.0 * s, 3.0 * s2 - 2.0 * s);
        let (da, db) = (a.du.unwrap_or_default(), b.du.unwrap_or_default());
        let mut p = [0.0; 3];
        let mut dp = [0.0; 3];
        for k in 0..3 {
            p[k] = h00 * a.u[k] + h10 * h * da[k] + h01 * b.u[k] + h11 * h * db[k];
            dp[k] = (d00 * a.u[k] + d01 * b.u[k]) / h + d10 * da[k] + d11 * db[k];
        }
        (p, dp)
    }

    /// Cubic Lagrange through the four rows around interval i (shifted inwards at the
    /// table's ends): value and derivative per minute.
    fn lagrange(&self, i: usize, x: f64) -> (V3, V3) {
        let start = i.saturating_sub(1).min(self.rows.len() - 4);
        let nodes = &self.rows[start..start + 4];
        let mut p = [0.0; 3];
        let mut dp = [0.0; 3];
        for (k, row) in nodes.iter().enumerate() {
            let tk = row.minutes;
            let mut weight = 1.0;
            let mut dweight = 0.0;
            for (m, other) in nodes.iter().enumerate() {
                if m == k {
                    continue;
                }
                let denom = tk - other.minutes;
                // Product rule: d/dx Π (x − t_m)/(t_k − t_m).
                dweight = dweight * (x - other.minutes) / denom + weight / denom;
                weight *= (x - other.minutes) / denom;
            }
            for c in 0..3 {
                p[c] += weight * row.u[c];
                dp[c] += dweight * row.u[c];
            }
        }
        (p, dp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hifitime::Duration;

    /// An analytic track: a great circle crossing RA 0h, 0.5°/hour, tilted 40°, and
    /// passing near the pole in a second test.
    fn track(minutes: f64, tilt: f64, start: f64) -> (f64, f64, f64, f64) {
        let w = (0.5f64 / 60.0).to_radians(); // radians per minute along the circle
        let ang = start + w * minutes;
        let (sa, ca) = ang.sin_cos();
        let (st, ct) = tilt.to_radians().sin_cos();
        let p = [ca, sa * ct, sa * st];
        let v = [-sa * w, ca * ct * w, ca * st * w];
        let (ra, dec) = ra_dec(p);
        let (e, n) = east_north(ra, dec);
        let k = ARCSEC_PER_RAD;
        (ra.to_degrees(), dec.to_degrees(), dot(v, e) * k, dot(v, n) * k)
    }

    fn table(step_min: u32, rows: u32, rates: bool, tilt: f64, start: f64) -> String {
        let t0 = time::parse_utc("2027-01-01T00:00:00").unwrap();
        let mut s = String::from("# analytic\n");
        s += if rates {
            "utc,ra_deg,dec_deg,ra_rate_arcsec_per_min,dec_rate_arcsec_per_min\n"
        } else {
            ""
        };
        for k in 0..rows {
            let m = f64::from(k * step_min);
            let (ra, dec, rr, dr) = track(m, tilt, start);
            let t = time::format_utc(t0 + Duration::from_seconds(m * 60.0), 3);
            if rates {
                s += &format!("{t},{ra:.9},{dec:.9},{rr:.6},{dr:.6}\n");
            } else {
                s += &format!("{t}Z, {ra:.9}, {dec:.9}\n");
            }
        }
        s
    }

    fn check(tbl: &EphemerisTable, tilt: f64, start: f64, tol_arcsec: f64, tol_rate: f64) {
        let t0 = time::parse_utc("2027-01-01T00:00:00").unwrap();
        let (_, last) = tbl.span();
        let mut m = 0.0;
        while t0 + Duration::from_seconds(m * 60.0) <= last {
            let got = tbl.place(t0 + Duration::from_seconds(m * 60.0)).unwrap();
            let (ra, dec, rr, dr) = track(m, tilt, start);
            let sep = got.icrs.separation_deg(Icrs { ra_deg: ra, dec_deg: dec }) * 3600.0;
            assert!(sep < tol_arcsec, "minute {m}: {sep}″");
            assert!(
                (got.rates.ra_cos_dec_arcsec_per_min - rr).abs() < tol_rate,
                "minute {m}: {got:?} vs {rr}"
            );
            assert!(
                (got.rates.dec_arcsec_per_min - dr).abs() < tol_rate,
                "minute {m}: {got:?} vs {dr}"
            );
            m += 7.3;
        }
    }

    #[test]
    fn hermite_and_lagrange_follow_an_analytic_track_through_ra_zero() {
        // 10-minute steps of a 30″/min great circle: cubic errors are microarcseconds.
        let start = -0.02; // begins at RA 358.9°, crosses 0h
        let with = EphemerisTable::parse_csv(&table(10, 30, true, 40.0, start)).unwrap();
        assert!(with.has_rates());
        check(&with, 40.0, start, 1e-3, 1e-4);
        let without = EphemerisTable::parse_csv(&table(10, 30, false, 40.0, start)).unwrap();
        assert!(!without.has_rates());
        check(&without, 40.0, start, 1e-3, 1e-4);
    }

    #[test]
    fn interpolation_is_fine_across_the_pole() {
        // Tilt 89.9°: the track passes 0.1° from the celestial pole, where RA spins.
        let start = 1.55;
        let with = EphemerisTable::parse_csv(&table(10, 30, true, 89.9, start)).unwrap();
        check(&with, 89.9, start, 1e-3, 1e-4);
        let without = EphemerisTable::parse_csv(&table(10, 30, false, 89.9, start)).unwrap();
        check(&without, 89.9, start, 1e-3, 1e-4);
    }

    #[test]
    fn refuses_to_extrapolate_and_bad_tables() {
        let tbl = EphemerisTable::parse_csv(&table(10, 6, true, 40.0, 0.0)).unwrap();
        let after = time::parse_utc("2027-01-01T00:50:00.001").unwrap();
        assert_eq!(
            tbl.place(after).unwrap_err().to_string(),
            "2027-01-01T00:50:00.001 is after the ephemeris table (2027-01-01T00:00:00.000 to 2027-01-01T00:50:00.000): tables are not extrapolated; get a table that covers this time"
        );
        assert!(tbl.place(time::parse_utc("2026-12-31T23:59:59").unwrap()).is_err());
        assert!(tbl.place(time::parse_utc("2027-01-01T00:50:00").unwrap()).is_ok());

        let err = |s: &str| EphemerisTable::parse_csv(s).unwrap_err().to_string();
        let ok = "2027-01-01T00:00:00,10,10\n2027-01-01T00:10:00,10.1,10\n2027-01-01T00:20:00,10.2,10\n2027-01-01T00:30:00,10.3,10\n";
        assert!(EphemerisTable::parse_csv(ok).is_ok());
        assert!(
            err(&ok.replace("10.1,", "NaN,"))
                .contains("line 2: ra_deg `NaN` is not a finite number")
        );
        assert!(err(&ok.replace("00:20:00", "00:05:00")).contains("strictly increasing"));
        assert!(
            err(&ok.replace("10.2,10", "10.2,10,1,1")).contains("rates on every row or on none")
        );
        assert!(
            err(&ok.replace("2027-01-01T00:10:00", "yesterday"))
                .contains("line 2: `yesterday` is not a UTC time")
        );
        assert!(err(&ok.replace("10.3,10", "10.3,95")).contains("out of range"));
        assert!(err(&ok.replace("10.3,10", "50.3,10")).contains("shorter step"));
        assert!(err(&format!("utc,ra_hours,dec_deg\n{ok}")).contains("convert the table"));
        let two: String = ok.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert!(err(&two).contains("2 rows; interpolation needs at least 4"));
        assert!(err("").contains("0 rows"));
    }
}
