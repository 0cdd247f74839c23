//! Against ERFA (via pyerfa) and astropy: `tests/fixtures/observe.jsonl` and
//! `time.jsonl`, made by `tests/fixtures/generate_fixtures.py`.

mod common;

use common::{cases, darc, f};
use teld_astro::{Astrometry, Eop, Icrs, Site, Weather, time};

#[test]
fn observed_places_match_erfa_to_an_arcsecond() {
    let mut worst = [0.0_f64; 6];
    let names = [
        "alt",
        "az·cos(alt)",
        "refracted alt (>5°)",
        "JNow RA·cos(dec)",
        "JNow Dec",
        "parallactic",
    ];
    let mut n = 0;
    for c in cases("observe.jsonl") {
        let site = Site {
            latitude_deg: f(&c, "lat_deg"),
            longitude_deg: f(&c, "lon_deg"),
            height_m: f(&c, "height_m"),
        };
        let at = time::parse_utc(c["utc"].as_str().unwrap()).unwrap();
        let eop = Eop::given(f(&c, "ut1_utc_s"), f(&c, "xp_arcsec"), f(&c, "yp_arcsec"));
        let p = f(&c, "pressure_hpa");
        let weather = (p > 0.0).then(|| Weather {
            pressure_hpa: p,
            temperature_c: f(&c, "temperature_c"),
            humidity: f(&c, "humidity"),
            wavelength_um: f(&c, "wavelength_um"),
        });
        let a = Astrometry::new(&site, at, eop, weather).unwrap();
        let icrs = Icrs { ra_deg: f(&c, "ra_deg"), dec_deg: f(&c, "dec_deg") };
        let o = a.observe(icrs);
        let e = &c["erfa"];
        let want_alt = f(e, "alt_deg");
        // ERFA's alt is refracted in refraction cases.
        let (alt, refr) = match o.alt_refracted_deg {
            Some(r) => (r, true),
            None => (o.alt_deg, false),
        };
        let d_alt = (alt - want_alt).abs() * 3600.0;
        if refr {
            if want_alt > 5.0 {
                worst[2] = worst[2].max(d_alt);
            }
        } else {
            worst[0] = worst[0].max(d_alt);
        }
        worst[1] = worst[1].max(darc(o.az_deg, f(e, "az_deg")) * want_alt.to_radians().cos());
        let j = a.true_of_date(icrs);
        worst[3] = worst[3].max(darc(j.ra_deg, f(e, "ra_tete_deg")) * j.dec_deg.to_radians().cos());
        worst[4] = worst[4].max((j.dec_deg - f(e, "dec_tete_deg")).abs() * 3600.0);
        // The parallactic angle of the observed (possibly refracted) place.
        let observed =
            teld_astro::Observed { ha_deg: f(e, "ha_deg"), dec_deg: f(e, "dec_obs_deg"), ..o };
        worst[5] = worst[5].max(darc(a.parallactic_deg(&observed), f(e, "parallactic_deg")));
        assert!((a.gast_deg() - f(e, "gast_deg") + 540.0).rem_euclid(360.0) - 180.0 < 1e-6, "{c}");
        assert!(((a.last_deg() - f(e, "last_deg") + 540.0).rem_euclid(360.0) - 180.0).abs() < 1e-6);
        assert!(((a.era_deg() - f(e, "era_deg") + 540.0).rem_euclid(360.0) - 180.0).abs() < 1e-6);
        // Round trip JNow → ICRS.
        assert!(a.icrs_from_true_of_date(j).separation_deg(icrs) * 3600.0 < 1e-3);
        n += 1;
    }
    for (name, w) in names.iter().zip(worst) {
        eprintln!("{name}: {w:.5}″");
    }
    assert!(n >= 200, "only {n} cases");
    assert!(worst.iter().all(|w| *w < 1.0), "{worst:?}");
}

#[test]
fn observed_to_icrs_inverts_within_a_milliarcsecond_above_the_horizon() {
    for c in cases("observe.jsonl").iter().filter(|c| f(&c["erfa"], "alt_deg") > 10.0).take(60) {
        let site = Site {
            latitude_deg: f(c, "lat_deg"),
            longitude_deg: f(c, "lon_deg"),
            height_m: f(c, "height_m"),
        };
        let at = time::parse_utc(c["utc"].as_str().unwrap()).unwrap();
        let eop = Eop::given(f(c, "ut1_utc_s"), f(c, "xp_arcsec"), f(c, "yp_arcsec"));
        let a = Astrometry::new(&site, at, eop, None).unwrap();
        let icrs = Icrs { ra_deg: f(c, "ra_deg"), dec_deg: f(c, "dec_deg") };
        let o = a.observe(icrs);
        let back =
            a.icrs_from_observed(teld_astro::Horizontal { alt_deg: o.alt_deg, az_deg: o.az_deg });
        assert!(back.separation_deg(icrs) * 3600.0 < 0.01, "{c}");
    }
}

#[test]
fn time_scales_and_sidereal_times_match_erfa() {
    let (mut worst_jd, mut worst_angle) = (0.0_f64, 0.0_f64);
    for c in cases("time.jsonl") {
        let utc = c["utc"].as_str().unwrap();
        let at = time::parse_utc(utc).unwrap();
        // TAI and TT strings: ERFA rounds to the ns, teld truncates; compare as times.
        for (scale, got) in [("tai", time::format_tai(at, 9)), ("tt", time::format_tt(at, 9))] {
            let want = c[scale].as_str().unwrap();
            assert_eq!(got[..19], want[..19], "{scale} of {utc}");
            let frac = |s: &str| s[20..].parse::<f64>().unwrap() / 1e9;
            assert!((frac(&got) - frac(want)).abs() < 2e-9, "{scale} of {utc}: {got} vs {want}");
        }
        let (u1, u2) = time::jd_utc(at);
        worst_jd =
            worst_jd.max(((u1 - f(&c, "jd_utc1")) + (u2 - f(&c, "jd_utc2"))).abs() * 86_400.0);
        let (t1, t2) = time::jd_tt(at);
        worst_jd = worst_jd.max(((t1 - f(&c, "jd_tt1")) + (t2 - f(&c, "jd_tt2"))).abs() * 86_400.0);
        assert!((time::mjd_utc(at) - f(&c, "mjd_utc")).abs() * 86_400.0 < 1e-5, "{utc}");
        let site = Site { latitude_deg: 0.0, longitude_deg: 0.0, height_m: 0.0 };
        let a = Astrometry::new(&site, at, Eop::given(f(&c, "ut1_utc_s"), 0.0, 0.0), None).unwrap();
        for (got, key) in
            [(a.gmst_deg(), "gmst_deg"), (a.gast_deg(), "gast_deg"), (a.era_deg(), "era_deg")]
        {
            worst_angle =
                worst_angle.max(((got - f(&c, key) + 540.0).rem_euclid(360.0) - 180.0).abs());
        }
        // The bundled IERS table interpolates as the fixtures do.
        let table = teld_astro::iers::IersTable::bundled().at(at);
        assert!(
            (table.ut1_utc_s - f(&c, "ut1_utc_s")).abs() < 1e-9,
            "IERS at {utc}: {} vs {}",
            table.ut1_utc_s,
            f(&c, "ut1_utc_s")
        );
    }
    eprintln!("JD differences {worst_jd:.2e} s, sidereal angles {worst_angle:.2e}°");
    assert!(worst_jd < 1e-5, "{worst_jd}");
    assert!(worst_angle < 1e-4, "{worst_angle}");
}
