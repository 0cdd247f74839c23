//! Grid generation: how many fields, that they cover the range without large
//! overlaps, RA ranges through 0, the 1/cos(dec) widening and stable ids.

mod common;

use std::collections::HashSet;

use common::{GRID, grid, parse};
use teld_survey::Field;

/// Signed RA difference a − b in (−180, 180].
fn dra(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    if d > 180.0 { d - 360.0 } else { d }
}

/// Whether a field of `w` × `h` degrees centred on `f` contains the point: within
/// h/2 in declination and within w/2 on the sky (RA difference × cos dec of the
/// point) in RA.
fn covers(f: &Field, w: f64, h: f64, ra: f64, dec: f64) -> bool {
    (dec - f.dec_deg).abs() <= h / 2.0 + 1e-9
        && dra(ra, f.ra_deg).abs() * dec.to_radians().cos() <= w / 2.0 + 1e-9
}

/// Every point of a fine lattice over the ranges lies in some field.
fn assert_covered(fields: &[Field], ra: [f64; 2], dec: [f64; 2], w: f64, h: f64) {
    let ra_span = if ra[1] > ra[0] { ra[1] - ra[0] } else { ra[1] + 360.0 - ra[0] };
    let steps = 97;
    for i in 0..=steps {
        let d = dec[0] + (dec[1] - dec[0]) * i as f64 / steps as f64;
        for j in 0..=steps {
            let r = (ra[0] + ra_span * j as f64 / steps as f64).rem_euclid(360.0);
            assert!(
                fields.iter().any(|f| covers(f, w, h, r, d)),
                "point ({r}, {d}) is in no field"
            );
        }
    }
}

#[test]
fn count_of_an_equatorial_grid() {
    // 30° × 8° of 2° fields near the equator: 4 rows of 15. The outer rows are
    // widened for |dec| = 2 (30 · cos 2° / 2 = 14.99), not enough for a 16th field.
    let s = parse(GRID);
    let fields = s.fields();
    assert_eq!(fields.len(), 4 * 15);
    assert_eq!(s.field_count(), fields.len());
    let mut rows: Vec<f64> = fields.iter().map(|f| f.dec_deg).collect();
    rows.dedup();
    assert_eq!(rows, vec![-3.0, -1.0, 1.0, 3.0]);
}

#[test]
fn fields_stay_inside_the_ranges_and_cover_them() {
    let (ra, dec, w, h) = ([10.0, 40.0], [-4.0, 4.0], 2.0, 2.0);
    let fields = grid(ra, dec, w, h).fields();
    for f in &fields {
        assert!((11.0 - 1e-9..=39.0 + 1e-9).contains(&f.ra_deg), "{f:?}");
        assert!((-3.0..=3.0).contains(&f.dec_deg), "{f:?}");
    }
    assert_covered(&fields, ra, dec, w, h);
}

#[test]
fn ranges_that_are_not_whole_fields_are_covered_by_spreading() {
    let (ra, dec, w, h) = ([100.0, 113.3], [20.0, 27.7], 1.7, 1.3);
    let fields = grid(ra, dec, w, h).fields();
    assert_covered(&fields, ra, dec, w, h);
    // ceil(7.7 / 1.3) = 6 rows, the outer ones touching the range's edges.
    let decs: HashSet<u64> = fields.iter().map(|f| f.dec_deg.to_bits()).collect();
    assert_eq!(decs.len(), 6);
    let lowest = fields.iter().map(|f| f.dec_deg).fold(f64::INFINITY, f64::min);
    let highest = fields.iter().map(|f| f.dec_deg).fold(f64::NEG_INFINITY, f64::max);
    assert!((lowest - 20.65).abs() < 1e-9 && (highest - 27.05).abs() < 1e-9);
}

#[test]
fn ra_range_wraps_through_zero() {
    let (ra, dec, w, h) = ([350.0, 10.0], [-1.0, 1.0], 2.0, 2.0);
    let fields = grid(ra, dec, w, h).fields();
    assert_eq!(fields.len(), 10);
    for f in &fields {
        assert!(f.ra_deg >= 350.0 || f.ra_deg <= 10.0, "{f:?} outside 350..10");
        assert!((0.0..360.0).contains(&f.ra_deg));
    }
    // Column 0 starts at the range's start and columns go east through 0.
    let ras: Vec<f64> = fields.iter().map(|f| f.ra_deg).collect();
    let want = [351.0, 353.0, 355.0, 357.0, 359.0, 1.0, 3.0, 5.0, 7.0, 9.0];
    for (got, want) in ras.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{ras:?}");
    }
    assert_covered(&fields, ra, dec, w, h);
}

#[test]
fn full_circle_has_no_seam() {
    let fields = grid([0.0, 360.0], [-1.0, 1.0], 2.0, 2.0).fields();
    assert_eq!(fields.len(), 180);
    let mut ras: Vec<f64> = fields.iter().map(|f| f.ra_deg).collect();
    ras.sort_by(f64::total_cmp);
    // Evenly spaced all the way round, including across 360 → 0.
    for pair in ras.windows(2) {
        assert!((pair[1] - pair[0] - 2.0).abs() < 1e-9);
    }
    assert!((ras[0] + 360.0 - ras[179] - 2.0).abs() < 1e-9);
}

#[test]
fn ra_spacing_widens_with_declination() {
    let w = 2.0;
    let equator = grid([0.0, 360.0], [-1.0, 1.0], w, 2.0).fields();
    let sixty = grid([0.0, 360.0], [59.0, 61.0], w, 2.0).fields();
    assert_eq!(equator.len(), 180);
    // Spaced for the row's equatorward edge, dec 59: 360 · cos 59° / 2 = 92.7.
    assert_eq!(sixty.len(), 93);
    let step = 360.0 / sixty.len() as f64;
    // No gap along the equatorward edge, and little overlap anywhere.
    assert!(step * 59f64.to_radians().cos() <= w);
    assert!(step * 61f64.to_radians().cos() > 0.9 * w);
    assert_covered(&sixty, [0.0, 360.0], [59.0, 61.0], w, 2.0);
}

#[test]
fn all_sky_is_covered_without_much_overlap() {
    let (w, h) = (5.0, 5.0);
    let fields = grid([0.0, 360.0], [-90.0, 90.0], w, h).fields();
    let sky_deg2 = 4.0 * 180.0 * 180.0 / std::f64::consts::PI;
    let ratio = fields.len() as f64 * w * h / sky_deg2;
    assert!((1.0..1.2).contains(&ratio), "{} fields, {ratio} × the sky", fields.len());
    // The polar rows still get fields, just few.
    let top = fields.iter().map(|f| f.dec_deg).fold(f64::NEG_INFINITY, f64::max);
    assert!((top - 87.5).abs() < 1e-9);
    let top_row = fields.iter().filter(|f| f.dec_deg == top).count();
    assert!((1..=10).contains(&top_row), "{top_row}");
    assert_covered(&fields, [0.0, 360.0], [-90.0, 90.0], w, h);
}

#[test]
fn ids_are_stable_unique_and_row_major() {
    let a = parse(GRID).fields();
    let b = parse(GRID).fields();
    assert_eq!(a, b);
    let ids: HashSet<&str> = a.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), a.len());
    // Zero-padded to the widest row (15 columns → two digits), so sorting ids
    // keeps row-major order.
    assert_eq!(a[0].id, "test-0-00");
    assert_eq!(a[14].id, "test-0-14");
    assert_eq!(a[15].id, "test-1-00");
    assert_eq!(a.last().unwrap().id, "test-3-14");
    let mut sorted: Vec<&str> = a.iter().map(|f| f.id.as_str()).collect();
    sorted.sort();
    assert_eq!(sorted, a.iter().map(|f| f.id.as_str()).collect::<Vec<_>>());
    // Row 0 is the southernmost, column 0 the westernmost.
    assert!(a[0].dec_deg < a[15].dec_deg && a[0].ra_deg < a[1].ra_deg);
}

#[test]
fn a_single_declination_gives_one_row() {
    let fields = grid([0.0, 10.0], [5.0, 5.0], 2.0, 2.0).fields();
    assert!(fields.iter().all(|f| f.dec_deg == 5.0));
    // 10° of RA in fields 2 / cos 4° = 2.005° wide in RA.
    assert_eq!(fields.len(), 5);
}
