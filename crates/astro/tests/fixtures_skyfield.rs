//! Against skyfield with DE421: `tests/fixtures/sun_moon.jsonl` (apparent places) and
//! `events.jsonl` (rise, set, twilight), made by `tests/fixtures/generate_fixtures.py`.

mod common;

use common::{cases, darc, f};
use serde_json::Value;
use teld_astro::{Astrometry, Eop, Site, events, time};

fn site(c: &Value) -> Site {
    Site {
        latitude_deg: f(c, "lat_deg"),
        longitude_deg: f(c, "lon_deg"),
        height_m: f(c, "height_m"),
    }
}

#[test]
fn sun_and_moon_places_match_skyfield_de421() {
    let mut worst: std::collections::BTreeMap<&str, f64> = Default::default();
    let mut note = |k: &'static str, v: f64| {
        let w = worst.entry(k).or_insert(0.0);
        *w = w.max(v);
    };
    for c in cases("sun_moon.jsonl") {
        let at = time::parse_utc(c["utc"].as_str().unwrap()).unwrap();
        // skyfield's Earth rotation: UT1 = TT − ΔT, no polar motion.
        let tt_minus_utc = 32.184 + time::tai_minus_utc(at);
        let eop = Eop::given(tt_minus_utc - f(&c, "delta_t_s"), 0.0, 0.0);
        let a = Astrometry::new(&site(&c), at, eop, None).unwrap();
        let sun = a.sun();
        let moon = a.moon();
        for (name, place, want) in [("sun", &sun, &c["sun"]), ("moon", &moon.place, &c["moon"])] {
            let dec = f(want, "dec_date_deg");
            note(
                if name == "sun" { "sun RA/Dec of date" } else { "moon RA/Dec of date" },
                (darc(place.true_of_date.ra_deg, f(want, "ra_date_deg")) * dec.to_radians().cos())
                    .max((place.true_of_date.dec_deg - dec).abs() * 3600.0),
            );
            note(
                if name == "sun" { "sun RA/Dec on ICRS axes" } else { "moon RA/Dec on ICRS axes" },
                (darc(place.apparent_icrs_axes.ra_deg, f(want, "ra_icrs_deg"))
                    * dec.to_radians().cos())
                .max((place.apparent_icrs_axes.dec_deg - f(want, "dec_icrs_deg")).abs() * 3600.0),
            );
            let alt = f(want, "alt_deg");
            note(
                if name == "sun" { "sun alt/az" } else { "moon alt/az" },
                ((place.observed.alt_deg - alt).abs() * 3600.0)
                    .max(darc(place.observed.az_deg, f(want, "az_deg")) * alt.to_radians().cos()),
            );
        }
        note(
            "sun distance (km)",
            (sun.distance_au - f(&c["sun"], "distance_au")).abs() * 149_597_870.7,
        );
        note("moon distance (km)", (moon.distance_km - f(&c["moon"], "distance_km")).abs());
        note("moon illumination", (moon.illumination - f(&c["moon"], "illumination")).abs());
        let sep = sun.apparent_icrs_axes.separation_deg(moon.place.apparent_icrs_axes);
        note(
            "sun-moon separation",
            (sep - f(&c["moon"], "separation_from_sun_deg")).abs() * 3600.0,
        );
    }
    for (k, v) in &worst {
        eprintln!("{k}: {v:.4}");
    }
    for (k, v) in &worst {
        let limit = match *k {
            "moon illumination" => 0.002,
            "sun distance (km)" => 10.0,
            "moon distance (km)" => 0.1,
            _ => 1.0,
        };
        assert!(*v < limit, "{k}: {v} (limit {limit})");
    }
}

#[test]
fn night_events_match_skyfield_almanac() {
    let (mut worst_sun, mut worst_moon, mut worst_illum) = (0.0_f64, 0.0_f64, 0.0_f64);
    let keys = [
        "sunset",
        "sunrise",
        "civil_dusk",
        "civil_dawn",
        "nautical_dusk",
        "nautical_dawn",
        "astronomical_dusk",
        "astronomical_dawn",
    ];
    for c in cases("events.jsonl") {
        let date = c["date"].as_str().unwrap();
        let (y, m, d) =
            (date[..4].parse().unwrap(), date[5..7].parse().unwrap(), date[8..].parse().unwrap());
        let n = events::night(&site(&c), y, m, d).unwrap();
        let got = [
            &n.sunset,
            &n.sunrise,
            &n.civil_dusk,
            &n.civil_dawn,
            &n.nautical_dusk,
            &n.nautical_dawn,
            &n.astronomical_dusk,
            &n.astronomical_dawn,
        ];
        for (k, e) in keys.iter().zip(got) {
            match (c[*k].as_str(), e.at()) {
                (None, None) => {}
                (Some(want), Some(t)) => {
                    let dt = (t - time::parse_utc(want).unwrap()).to_seconds().abs();
                    worst_sun = worst_sun.max(dt);
                }
                (want, got) => panic!("{} {date} {k}: skyfield {want:?}, teld {got:?}", c["site"]),
            }
        }
        for (k, list) in [("moonrise", &n.moonrise), ("moonset", &n.moonset)] {
            let want: Vec<&str> =
                c[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            assert_eq!(
                want.len(),
                list.len(),
                "{} {date} {k}: skyfield {want:?}, teld {list:?}",
                c["site"]
            );
            for (w, g) in want.iter().zip(list.iter()) {
                worst_moon =
                    worst_moon.max((g.at - time::parse_utc(w).unwrap()).to_seconds().abs());
            }
        }
        worst_illum = worst_illum
            .max((n.moon_illumination_midnight - f(&c, "moon_illumination_midnight")).abs());
    }
    eprintln!(
        "Sun events {worst_sun:.2} s, Moon events {worst_moon:.2} s, illumination {worst_illum:.5}"
    );
    assert!(worst_sun <= 2.0, "Sun events differ by {worst_sun} s");
    assert!(worst_moon <= 10.0, "Moon events differ by {worst_moon} s");
    assert!(worst_illum <= 0.002, "illumination differs by {worst_illum}");
}
