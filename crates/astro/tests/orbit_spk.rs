//! Reading JPL SPK files: the DE421 excerpt the skyfield fixtures use, and files that
//! are not SPK, truncated, or do not cover the date.

use teld_astro::orbit::{
    AU_KM, KeplerOrbit, MpcElements, Observer, OrbitError, SolarSystemEphemeris, Spk, astrometric,
};
use teld_astro::time;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const EXCERPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/de421_earth_sun_2024_2035.bsp");

#[test]
fn de421_earth_agrees_with_epv00_to_its_documented_accuracy() {
    let spk = SolarSystemEphemeris::from_spk_file(EXCERPT).unwrap();
    let mut worst: f64 = 0.0;
    for month in 0..72 {
        let t = time::utc(2024 + month / 12, (month % 12) as u32 + 1, 15, 0, 0, 0.0).unwrap();
        let a = Observer::Geocentre.state(&spk, t).unwrap();
        let b = Observer::Geocentre.state(&SolarSystemEphemeris::Epv00, t).unwrap();
        for i in 0..3 {
            let d = (a.heliocentric.position_au[i] - b.heliocentric.position_au[i]) * AU_KM;
            worst = worst.max(d.abs());
        }
    }
    println!("epv00 - DE421 heliocentric Earth, worst axis: {worst:.2} km");
    // SOFA documents 11.2 km worst over 1900-2100 against DE405.
    assert!(worst > 0.1 && worst < 11.2, "{worst} km");
}

#[test]
fn coverage_is_reported_and_enforced() {
    let spk = Spk::open(EXCERPT).unwrap();
    let (from, to) = spk.coverage_jd_tdb();
    assert_eq!((from, to), (2_460_310.5, 2_464_328.5)); // 2024-01-01 .. 2035-01-01
    let eph = SolarSystemEphemeris::Spk(Box::new(spk));
    let t = time::parse_utc("2036-01-01T00:00:00").unwrap();
    let err = Observer::Geocentre.state(&eph, t).unwrap_err().to_string();
    assert!(err.starts_with("2036-01-01T00:00:00.000 is outside the SPK file "), "{err}");
    assert!(
        err.contains("(JD 2460310.5 TDB to JD 2464328.5 TDB): load an SPK file that covers"),
        "{err}"
    );
    // The bundled ephemeris falls back to epv00 there instead of refusing, and says so.
    let bundled = SolarSystemEphemeris::bundled();
    assert!(Observer::Geocentre.state(&bundled, t).is_ok());
    assert!(bundled.source_at(2_464_694.5).contains("epv00"));
    assert!(bundled.source_at(2_461_000.5).contains("DE421"));
    // The same refusal reaches the caller of `astrometric`.
    let line = "00001    3.34  0.15 K2555 188.70269   73.27343   80.25221   10.58780  0.0794013  0.21424651   2.7660512";
    let orbit = KeplerOrbit::from_elements(&MpcElements::parse_line(line).unwrap()).unwrap();
    assert!(matches!(
        astrometric(&orbit, &Observer::Geocentre, &eph, t),
        Err(OrbitError::OutsideEphemeris { .. })
    ));
}

#[test]
fn files_that_are_not_usable_spk_are_refused_with_a_reason() {
    let msg = |p: &str| Spk::open(p).unwrap_err().to_string();
    assert!(msg("/nonexistent/de440s.bsp").contains("cannot open"));
    assert!(msg(&format!("{FIXTURES}/neo.jsonl")).contains("not a JPL SPK file"));

    let dir = std::env::temp_dir().join(format!("teld-orbit-spk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(EXCERPT).unwrap();
    let cut = dir.join("truncated.bsp");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = Spk::open(&cut).unwrap_err().to_string();
    assert!(err.contains("truncated or corrupt"), "{err}");
    std::fs::write(&cut, &bytes[..100]).unwrap();
    assert!(Spk::open(&cut).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
