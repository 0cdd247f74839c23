//! The watcher flags planted unsafe samples, and only those: a dome left open in
//! rain past the close limit, a mount near the Sun in daylight, a mount tracking below
//! its limit. The close countdown starts again when teld comes back from a gap.

use hifitime::Epoch;
use teld::cli::chaos::plan::Spell;
use teld::cli::chaos::watch::{Checker, Limits, MountSample, Sample, UnsafeKind};
use teld_astro::{Astrometry, Site};

fn t(s: &str) -> Epoch {
    teld_astro::time::parse_utc(s).unwrap()
}

fn site() -> Site {
    Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
}

fn checker() -> Checker {
    let mut c = Checker::new(Limits {
        site: site(),
        close_within_s: 120.0,
        sun_avoidance_deg: 30.0,
        min_altitude_deg: 15.0,
        park_alt_az_deg: (0.0, 0.0),
        dome_driver: None,
    });
    c.set_weather(vec![Spell {
        from: t("2026-11-24T22:00:00"),
        to: t("2026-11-24T23:00:00"),
        reason: "rain",
    }]);
    c
}

fn sample(at: &str, shutter: &str, mount: Option<MountSample>) -> Sample {
    Sample {
        at: t(at),
        shutter: Some(shutter.into()),
        mount,
        safety: "safe".into(),
        phase: Some("exposing".into()),
        drivers_up: true,
        down: Vec::new(),
    }
}

fn parked() -> Option<MountSample> {
    Some(MountSample {
        ra_deg: 0.0,
        dec_deg: 0.0,
        alt_deg: 0.0,
        az_deg: 0.0,
        at_park: true,
        slewing: false,
        tracking: false,
    })
}

#[test]
fn dome_open_in_rain_past_the_limit_is_one_episode() {
    let mut c = checker();
    c.observe(&sample("2026-11-24T21:59:00", "open", parked()));
    c.observe(&sample("2026-11-24T22:01:30", "open", parked()));
    assert_eq!(c.unsafe_count(), 0, "within the 120 s allowed: {:?}", c.findings);
    c.observe(&sample("2026-11-24T22:02:30", "closing", parked()));
    c.observe(&sample("2026-11-24T22:03:00", "open", parked()));
    assert_eq!(c.unsafe_count(), 1, "{:?}", c.findings);
    assert_eq!(c.findings[0].kind, UnsafeKind::DomeOpenInUnsafeWeather);
    // The spell began while the block was exposing (the sample before it).
    assert_eq!(c.spell_phase.values().collect::<Vec<_>>(), vec!["exposing"]);
    c.observe(&sample("2026-11-24T22:04:00", "closed", parked()));
    c.observe(&sample("2026-11-24T23:10:00", "open", parked()));
    assert_eq!(c.unsafe_count(), 1, "closed, then open after the spell: {:?}", c.findings);
}

#[test]
fn the_countdown_restarts_after_a_gap_in_control() {
    let mut c = checker();
    c.observe(&sample("2026-11-24T21:59:00", "open", parked()));
    c.disturbed();
    c.observe(&sample("2026-11-24T22:10:00", "open", parked()));
    c.observe(&sample("2026-11-24T22:11:30", "open", parked()));
    assert_eq!(c.unsafe_count(), 0, "teld was back 90 s ago: {:?}", c.findings);
    c.observe(&sample("2026-11-24T22:12:30", "open", parked()));
    assert_eq!(c.unsafe_count(), 1, "{:?}", c.findings);
}

#[test]
fn a_hung_alpaca_server_is_a_gap_until_teld_has_it_back() {
    // The campaign hangs the server that is the dome (set_gap) at 22:00; teld answers
    // throughout with its drivers up, but nothing can close the dome until it is back.
    let mut c = checker();
    c.observe(&sample("2026-11-24T21:59:00", "open", parked()));
    c.set_gap(true);
    c.observe(&sample("2026-11-24T22:05:00", "open", parked()));
    assert_eq!(c.unsafe_count(), 0, "no control of the dome: {:?}", c.findings);
    c.set_gap(false);
    c.observe(&sample("2026-11-24T22:06:00", "open", parked()));
    c.observe(&sample("2026-11-24T22:07:30", "open", parked()));
    assert_eq!(c.unsafe_count(), 0, "back 90 s ago: {:?}", c.findings);
    c.observe(&sample("2026-11-24T22:08:30", "open", parked()));
    assert_eq!(c.unsafe_count(), 1, "back 150 s ago, dome still open: {:?}", c.findings);
}

#[test]
fn pointing_near_the_sun_in_daylight_and_below_the_limit_are_flagged() {
    let mut c = checker();
    let noon = "2026-11-25T13:00:00";
    let sun = Astrometry::at(&site(), t(noon)).unwrap().sun().apparent_icrs_axes;
    let near = MountSample {
        ra_deg: sun.ra_deg + 5.0,
        dec_deg: sun.dec_deg,
        alt_deg: 40.0,
        az_deg: 120.0,
        at_park: false,
        slewing: false,
        tracking: true,
    };
    c.observe(&sample(noon, "closed", Some(near.clone())));
    assert_eq!(c.unsafe_count(), 1, "{:?}", c.findings);
    assert_eq!(c.findings[0].kind, UnsafeKind::PointingNearSun);
    let far =
        MountSample { ra_deg: (sun.ra_deg + 180.0) % 360.0, dec_deg: -sun.dec_deg, ..near.clone() };
    c.observe(&sample("2026-11-25T13:00:10", "closed", Some(far)));
    assert_eq!(c.unsafe_count(), 1);
    let low = MountSample { alt_deg: 10.0, ..near };
    c.observe(&sample(
        "2026-11-24T20:00:00",
        "open",
        Some(MountSample { ra_deg: 0.0, dec_deg: 80.0, ..low.clone() }),
    ));
    assert!(
        c.findings.iter().any(|f| f.kind == UnsafeKind::BelowAltitudeLimit),
        "{:?}",
        c.findings
    );
    // Just unparked, tracking on at the park position before the slew: not a violation
    // (every unpark passes there); 3° away from it, tracking, it is.
    let mut c = checker();
    let unparked =
        MountSample { ra_deg: 0.0, dec_deg: 80.0, alt_deg: 0.0, az_deg: 359.6, ..low.clone() };
    c.observe(&sample("2026-11-24T20:00:00", "open", Some(unparked.clone())));
    assert_eq!(c.unsafe_count(), 0, "{:?}", c.findings);
    c.observe(&sample(
        "2026-11-24T20:00:10",
        "open",
        Some(MountSample { alt_deg: 3.0, ..unparked }),
    ));
    assert_eq!(c.unsafe_count(), 1, "{:?}", c.findings);
    // Slewing through low altitudes out of park is not a violation.
    let mut c = checker();
    c.observe(&sample(
        "2026-11-24T20:00:00",
        "open",
        Some(MountSample { ra_deg: 0.0, dec_deg: 80.0, slewing: true, ..low }),
    ));
    assert_eq!(c.unsafe_count(), 0, "{:?}", c.findings);
}
