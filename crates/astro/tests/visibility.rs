//! The fast visibility grid against the full SOFA chain for the same instants.

use teld_astro::iers::IersTable;
use teld_astro::visibility::{Row, SkyFrame, Targets, evaluate};
use teld_astro::{Astrometry, Icrs, Site, time};

fn targets() -> Vec<Icrs> {
    // A deterministic spread over the sphere (Fibonacci lattice), plus the poles.
    let n = 2000;
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut v: Vec<Icrs> = (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            let ra = (golden * i as f64).to_degrees().rem_euclid(360.0);
            Icrs { ra_deg: ra, dec_deg: z.asin().to_degrees() }
        })
        .collect();
    v.push(Icrs { ra_deg: 0.0, dec_deg: 90.0 });
    v.push(Icrs { ra_deg: 0.0, dec_deg: -90.0 });
    v
}

#[test]
fn grid_matches_sofa_to_a_few_hundredths_of_an_arcsecond() {
    let sites = [
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
        Site { latitude_deg: -31.2733, longitude_deg: 149.0644, height_m: 1165.0 },
        Site { latitude_deg: 78.2232, longitude_deg: 15.6267, height_m: 10.0 },
    ];
    let instants = [
        "2016-12-31T23:59:60.5",
        "2024-03-20T03:00:00",
        "2026-11-24T22:00:00",
        "2029-04-13T21:00:00",
    ];
    let ts = targets();
    let grid_targets = Targets::new(&ts);
    let mut row = Row::default();
    let mut worst_alt: f64 = 0.0;
    let mut worst_sep: f64 = 0.0;
    let mut worst_near_sun: f64 = 0.0;
    for site in &sites {
        for utc in instants {
            let t = time::parse_utc(utc).unwrap();
            let eop = IersTable::bundled().at(t);
            let frame = SkyFrame::new(site, t, eop).unwrap();
            evaluate(&frame, &grid_targets, &mut row);
            let a = Astrometry::new(site, t, eop, None).unwrap();
            let moon = a.moon().place.apparent_icrs_axes;
            let sun = a.sun().apparent_icrs_axes;
            for (i, target) in ts.iter().enumerate() {
                let o = a.observe(*target);
                let d = (row.alt_deg[i] - o.alt_deg).abs() * 3600.0;
                // Light deflection by the Sun is left out of the grid (see its docs).
                let from_sun = target.separation_deg(sun);
                if from_sun > 20.0 {
                    worst_alt = worst_alt.max(d);
                } else if from_sun > 1.0 {
                    worst_near_sun = worst_near_sun.max(d);
                }
                worst_sep = worst_sep
                    .max((row.moon_sep_deg[i] - target.separation_deg(moon)).abs() * 3600.0);
                if o.alt_deg > 0.0 {
                    let want = teld_astro::airmass::young1994(o.alt_deg).unwrap();
                    // Near the horizon airmass changes ~8 per degree: compare with that slope in mind.
                    assert!(
                        (row.airmass[i] - want).abs() / want < 1e-4,
                        "airmass at {}°: {} vs {want}",
                        o.alt_deg,
                        row.airmass[i]
                    );
                } else {
                    assert!(row.airmass[i].is_infinite());
                }
            }
            assert!((frame.sun_alt_deg - a.sun().observed.alt_deg).abs() < 1e-9);
            // The scalar full observe agrees with SOFA in azimuth, hour angle and Dec too.
            for target in ts.iter().step_by(50).filter(|t| t.separation_deg(sun) > 20.0) {
                let (f, o) = (frame.observe(*target), a.observe(*target));
                let cos_alt = o.alt_deg.to_radians().cos();
                assert!(
                    ((f.az_deg - o.az_deg + 540.0) % 360.0 - 180.0).abs() * cos_alt * 3600.0 < 0.05,
                    "az {f:?} {o:?}"
                );
                assert!((f.alt_deg - o.alt_deg).abs() * 3600.0 < 0.05, "alt {f:?} {o:?}");
                assert!(
                    (f.ha_deg - o.ha_deg).abs() * o.dec_deg.to_radians().cos() * 3600.0 < 0.05,
                    "ha {f:?} {o:?}"
                );
                assert!((f.dec_deg - o.dec_deg).abs() * 3600.0 < 0.05, "dec {f:?} {o:?}");
            }
        }
    }
    eprintln!(
        "grid vs SOFA: altitude {worst_alt:.4}″ (1-20° from the Sun {worst_near_sun:.3}″), Moon separation {worst_sep:.4}″"
    );
    assert!(worst_alt < 0.03, "altitude differs by {worst_alt}″");
    assert!(worst_near_sun < 1.0, "altitude near the Sun differs by {worst_near_sun}″");
    assert!(worst_sep < 1.0, "Moon separation differs by {worst_sep}″");
}

#[test]
fn batched_frames_equal_exact_frames() {
    use teld_astro::visibility::frames;
    let site = Site { latitude_deg: -31.2733, longitude_deg: 149.0644, height_m: 1165.0 };
    let t0 = time::parse_utc("2026-06-20T08:00:00").unwrap();
    let instants: Vec<_> =
        (0..600).map(|k| t0 + hifitime::Duration::from_seconds(k as f64 * 61.0)).collect();
    let eop = |t| IersTable::bundled().at(t);
    let batch = frames(&site, &instants, eop).unwrap();
    let ts = targets();
    let mut worst: f64 = 0.0;
    for (k, t) in instants.iter().enumerate().step_by(7) {
        let exact = SkyFrame::new(&site, *t, eop(*t)).unwrap();
        assert!((batch[k].moon_alt_deg - exact.moon_alt_deg).abs() * 3600.0 < 0.001);
        assert!((batch[k].sun_alt_deg - exact.sun_alt_deg).abs() * 3600.0 < 0.001);
        for target in ts.iter().step_by(97) {
            worst = worst.max((batch[k].alt_deg(*target) - exact.alt_deg(*target)).abs() * 3600.0);
        }
    }
    eprintln!("batched vs exact frames: {worst:.6}″");
    assert!(worst < 0.001, "{worst}″");
}
