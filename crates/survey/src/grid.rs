//! Field centres of a sky grid.
//!
//! Rows of constant declination, each as tall as a field; within a row, fields are
//! spaced in RA by the field width divided by cos(dec), so neighbouring fields touch
//! on the sky instead of crowding together towards the poles. Rows and columns are
//! spread evenly over their range, so a range that is not a whole number of fields
//! is covered by slightly overlapping fields rather than by one sticking out.

use crate::field::{Field, digits, grid_id};

/// More fields than any small telescope can revisit; a grid this large is almost
/// certainly a unit mistake (arcminutes given as degrees).
pub const MAX_GRID_FIELDS: usize = 100_000;

/// Tolerance on "how many fields does this span need", so a span of exactly ten
/// field widths is not given an eleventh field by rounding.
const FIT_EPS: f64 = 1e-9;

/// A validated grid: ranges in range, sizes positive (see `definition`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    /// Start and end of the RA range; end < start means the range wraps through 0.
    pub ra_deg: [f64; 2],
    pub dec_deg: [f64; 2],
    pub width_deg: f64,
    pub height_deg: f64,
}

impl Grid {
    /// Extent of the RA range going east from its start: 360 for `[0, 360]`.
    pub fn ra_span(&self) -> f64 {
        let [a, b] = self.ra_deg;
        if b > a { b - a } else { b + 360.0 - a }
    }

    fn is_full_circle(&self) -> bool {
        self.ra_span() >= 360.0
    }

    /// Rows needed to cover the declination range, as a float so that absurd sizes
    /// can be refused before anything is allocated.
    fn row_count(&self) -> f64 {
        let span = self.dec_deg[1] - self.dec_deg[0];
        (span / self.height_deg - FIT_EPS).ceil().max(1.0)
    }

    fn row_centre(&self, i: usize, n: usize) -> f64 {
        let [lo, hi] = self.dec_deg;
        if n == 1 {
            return (lo + hi) / 2.0;
        }
        let step = (hi - lo - self.height_deg) / (n - 1) as f64;
        lo + self.height_deg / 2.0 + i as f64 * step
    }

    /// RA extent of one field in a row centred at `dec`. The widening uses the
    /// row's edge nearest the equator, where a field spans the least RA: widening by
    /// the centre's cos(dec) would leave wedge-shaped gaps along that edge.
    fn ra_width(&self, dec: f64) -> f64 {
        let lo = (dec - self.height_deg / 2.0).max(-90.0);
        let hi = (dec + self.height_deg / 2.0).min(90.0);
        let equatorward = if lo <= 0.0 && hi >= 0.0 { 0.0 } else { lo.abs().min(hi.abs()) };
        self.width_deg / equatorward.to_radians().cos()
    }

    fn col_count(&self, dec: f64) -> f64 {
        let span = self.ra_span().min(360.0);
        (span / self.ra_width(dec) - FIT_EPS).ceil().max(1.0)
    }

    fn col_centre(&self, j: usize, n: usize, dec: f64) -> f64 {
        let start = self.ra_deg[0];
        let span = self.ra_span();
        let ra = if self.is_full_circle() {
            // No edges on a full circle: spread evenly, the first half a step in.
            start + (j as f64 + 0.5) * 360.0 / n as f64
        } else if n == 1 {
            start + span / 2.0
        } else {
            let w = self.ra_width(dec);
            start + w / 2.0 + j as f64 * (span - w) / (n - 1) as f64
        };
        let ra = ra.rem_euclid(360.0);
        // rem_euclid can round a tiny negative up to exactly 360.
        if ra >= 360.0 { 0.0 } else { ra }
    }

    /// Number of fields, or a number above [`MAX_GRID_FIELDS`] as soon as it is
    /// known to exceed it (without walking a million rows).
    pub fn count(&self) -> usize {
        let rows = self.row_count();
        if rows > MAX_GRID_FIELDS as f64 {
            return MAX_GRID_FIELDS + 1;
        }
        let rows = rows as usize;
        let mut total = 0.0;
        for i in 0..rows {
            total += self.col_count(self.row_centre(i, rows));
            if total > MAX_GRID_FIELDS as f64 {
                return MAX_GRID_FIELDS + 1;
            }
        }
        total as usize
    }

    /// The fields, row 0 southernmost, column 0 at the start of the RA range going
    /// east. Call only on a grid whose [`Grid::count`] is within the limit.
    pub fn fields(&self, survey: &str) -> Vec<Field> {
        let rows = self.row_count() as usize;
        let centres: Vec<(f64, usize)> = (0..rows)
            .map(|i| {
                let dec = self.row_centre(i, rows);
                (dec, self.col_count(dec) as usize)
            })
            .collect();
        let row_digits = digits(rows);
        let col_digits = digits(centres.iter().map(|&(_, n)| n).max().unwrap_or(1));
        let mut out = Vec::with_capacity(centres.iter().map(|&(_, n)| n).sum());
        for (i, &(dec, cols)) in centres.iter().enumerate() {
            for j in 0..cols {
                out.push(Field {
                    id: grid_id(survey, i, j, row_digits, col_digits),
                    ra_deg: self.col_centre(j, cols, dec),
                    dec_deg: dec,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(ra: [f64; 2], dec: [f64; 2], w: f64, h: f64) -> Grid {
        Grid { ra_deg: ra, dec_deg: dec, width_deg: w, height_deg: h }
    }

    #[test]
    fn widening_uses_the_equatorward_edge() {
        let g = grid([0.0, 360.0], [-90.0, 90.0], 2.0, 2.0);
        assert_eq!(g.ra_width(0.0), 2.0);
        assert!((g.ra_width(61.0) - 2.0 / 60f64.to_radians().cos()).abs() < 1e-12);
        assert!((g.ra_width(-61.0) - 2.0 / 60f64.to_radians().cos()).abs() < 1e-12);
    }

    #[test]
    fn exact_multiples_get_no_extra_row() {
        let g = grid([0.0, 20.0], [0.0, 10.0], 2.0, 2.0);
        assert_eq!(g.row_count(), 5.0);
        assert_eq!(g.col_count(1.0), 10.0);
        assert_eq!(g.count(), 50);
    }

    #[test]
    fn count_matches_fields() {
        let g = grid([300.0, 60.0], [-30.0, 75.0], 3.0, 2.5);
        assert_eq!(g.count(), g.fields("s").len());
    }

    #[test]
    fn huge_grid_is_counted_without_walking_it() {
        let g = grid([0.0, 360.0], [-90.0, 90.0], 1e-9, 1e-9);
        assert!(g.count() > MAX_GRID_FIELDS);
    }
}
