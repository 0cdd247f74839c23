use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn embedded_default_is_valid_and_describes_the_simulated_observatory() {
    let c = load_str(DEFAULT_CONFIG, "default", env(&[])).unwrap();
    assert_eq!(c.site.name, "la-palma");
    assert_eq!(c.drivers[0].program_name(), "teld-driver-sim");
    assert_eq!(c.telescopes[0].dome.as_deref(), Some("sim/dome"));
    assert!(c.http.listen.ip().is_loopback());
    assert_eq!(c.paths.archive(), std::path::PathBuf::from("state/archive"));
}

#[test]
fn environment_overrides_secrets_numbers_and_array_items() {
    let c = load_str(
        DEFAULT_CONFIG,
        "default",
        env(&[
            ("TELD__TELEMETRY__PASSWORD", "s3cret=x"),
            ("TELD__TELEMETRY__INTERVAL_S", "5.5"),
            ("TELD__DRIVERS__0__REQUEST_TIMEOUT_S", "20"),
            ("UNRELATED", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(c.telemetry.password.as_deref(), Some("s3cret=x"));
    assert_eq!(c.telemetry.interval_s, 5.5);
    assert_eq!(c.drivers[0].request_timeout_s, 20.0);
}

#[test]
fn bad_override_is_reported_with_the_variable_name() {
    let e =
        load_str(DEFAULT_CONFIG, "default", env(&[("TELD__DRIVERS__7__NAME", "x")])).unwrap_err();
    assert!(e.to_string().contains("TELD__DRIVERS__7__NAME"), "{e}");
}

#[test]
fn every_problem_is_listed_with_its_key_path() {
    let text = r#"
[site]
name = "ok"
latitude_deg = "north"
longitude_deg = 500
height_m = 0
[telemetry]
interval_s = 0
brokr = "typo"
[[drivers]]
name = "sim"
kind = "sim"
[[telescopes]]
name = "t1"
mount = "sim/mount"
camera = "other/camera"
weather = "sim/weather"
"#;
    let ConfigError::Invalid { issues, .. } = load_str(text, "t.toml", env(&[])).unwrap_err()
    else {
        panic!("not an Invalid error")
    };
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    for want in ["site.latitude_deg", "telemetry.brokr", "telescopes[0].camera"] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    // A type error in [site] does not hide the problems of other sections.
    assert!(issues.iter().any(|i| i.message.contains("other")), "{issues:?}");
}

#[test]
fn syntax_error_names_the_position() {
    let e = load_str("[site\nname=1", "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("(syntax)") && e.contains("line"), "{e}");
}

#[test]
fn non_loopback_listen_needs_auth_then_tls() {
    let load = |vars: &[(&str, &str)]| load_str(DEFAULT_CONFIG, "default", env(vars));
    let remote = ("TELD__HTTP__LISTEN", "\"192.168.1.5:8080\"");
    let e = load(&[remote]).unwrap_err().to_string();
    assert!(e.contains("http.listen") && e.contains("http.auth is off"), "{e}");
    assert!(e.contains("teld token create"), "says what to do: {e}");
    // Auth on but no TLS: tokens would travel in clear.
    let e = load(&[remote, ("TELD__HTTP__AUTH", "true")]).unwrap_err().to_string();
    assert!(e.contains("http.tls_cert") && e.contains("in clear"), "{e}");
    assert!(!e.contains("http.auth is off"), "{e}");
    // Behind a TLS-terminating proxy the operator may say so.
    let c = load(&[
        remote,
        ("TELD__HTTP__AUTH", "true"),
        ("TELD__HTTP__ALLOW_PLAINTEXT_REMOTE", "true"),
    ])
    .unwrap();
    assert!(c.http.auth && !c.http.tls());
    // Loopback with auth off stays the default.
    let c = load(&[]).unwrap();
    assert!(!c.http.auth && c.http.listen.ip().is_loopback());
    assert_eq!(c.http.rate_limit.observer.per_s, 5.0);
    assert!(c.http.rate_limit.admin.unlimited());
}

#[test]
fn http_tls_files_come_in_pairs_and_limits_are_checked() {
    let e = load_str(
        DEFAULT_CONFIG,
        "default",
        env(&[
            ("TELD__HTTP__TLS_CERT", "/nonexistent/cert.pem"),
            ("TELD__HTTP__REQUEST_TIMEOUT_S", "0"),
            ("TELD__HTTP__MAX_CONNECTIONS", "0"),
            ("TELD__HTTP__RATE_LIMIT__OBSERVER", "{ per_s = 2.0, burst = 0 }"),
        ]),
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "http.tls_key: tls_cert is set without tls_key",
        "http.tls_cert: /nonexistent/cert.pem is not a readable file",
        "http.request_timeout_s",
        "http.max_connections",
        "http.rate_limit.observer.burst",
    ] {
        assert!(e.contains(needle), "missing `{needle}` in: {e}");
    }
}

#[test]
fn horizon_and_mount_limits_are_checked_with_their_key() {
    let text = DEFAULT_CONFIG.replace(
        "weather = \"sim/weather\"",
        "weather = \"sim/weather\"\nhorizon = [[400.0, 10.0]]\nmount_limits = { ha_min_deg = 50.0, ha_max_deg = -50.0 }",
    );
    let e = load_str(&text, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("telescopes[0].horizon") && e.contains("azimuth 400"), "{e}");
    let text = DEFAULT_CONFIG.replace(
        "weather = \"sim/weather\"",
        "weather = \"sim/weather\"\nhorizon = [[0.0, 15.0], [180.0, 25.0]]\nmount_limits = { ha_min_deg = 50.0, ha_max_deg = -50.0 }",
    );
    let e = load_str(&text, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("telescopes[0].mount_limits") && e.contains("hour angle"), "{e}");
    let good = DEFAULT_CONFIG.replace(
        "weather = \"sim/weather\"",
        "weather = \"sim/weather\"\nhorizon = [[0.0, 15.0], [180.0, 25.0]]\nmount_limits = { dec_min_deg = -40.0 }",
    );
    let c = load_str(&good, "t.toml", env(&[])).unwrap();
    let limits = c.telescopes[0].pointing_limits().unwrap();
    assert_eq!(limits.mask.min_alt(90.0), 20.0);
    assert_eq!(limits.mount.dec_min_deg, -40.0);
}

#[test]
fn mount_type_meridian_enclosure_and_sun_path_margin() {
    let c = load_str(DEFAULT_CONFIG, "default", env(&[])).unwrap();
    let t = &c.telescopes[0];
    assert_eq!(t.mount_geometry(), crate::config::MountGeometry::default());
    assert_eq!(t.enclosure, crate::config::Enclosure::Dome);
    assert_eq!(c.safety.sun_path_margin_deg, 10.0);
    let german = DEFAULT_CONFIG.replace(
        "weather = \"sim/weather\"",
        "weather = \"sim/weather\"\nmount_type = \"german\"\nmeridian_limit_deg = 10.0\nmeridian_flip = false\nenclosure = \"roll_off_park_safe\"",
    );
    let c = load_str(&german, "t.toml", env(&[])).unwrap();
    let g = c.telescopes[0].mount_geometry();
    assert_eq!(
        (g.kind, g.meridian_limit_deg, g.meridian_flip),
        (crate::config::MountType::German, 10.0, false)
    );
    assert_eq!(c.telescopes[0].enclosure, crate::config::Enclosure::RollOffParkSafe);
    let bad = german.replace("meridian_limit_deg = 10.0", "meridian_limit_deg = 0.5").replace(
        "sun_avoidance_deg = 30.0",
        "sun_avoidance_deg = 30.0\nsun_path_margin_deg = -5.0",
    );
    let e = load_str(&bad, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("telescopes[0].meridian_limit_deg"), "{e}");
    assert!(e.contains("safety.sun_path_margin_deg"), "{e}");
    let typo = DEFAULT_CONFIG
        .replace("weather = \"sim/weather\"", "weather = \"sim/weather\"\nenclosure = \"rolloff\"");
    let e = load_str(&typo, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("roll_off_park_safe"), "the accepted values are listed: {e}");
}

#[test]
fn flats_range_and_iers_file_are_validated() {
    let e = load_str(
        DEFAULT_CONFIG,
        "t",
        env(&[("TELD__OBSERVING__FLATS_SUN_ALTITUDE_DEG", "[-2.0, -8.0]")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("observing.flats_sun_altitude_deg"), "{e}");
    let e = load_str(
        DEFAULT_CONFIG,
        "t",
        env(&[("TELD__ASTRO__IERS_FILE", "/no/such/finals2000A.all")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("astro.iers_file") && e.contains("/no/such"), "{e}");
}

#[test]
fn rapid_response_abort_defaults_on_and_must_be_a_boolean() {
    let c = load_str(DEFAULT_CONFIG, "default", env(&[])).unwrap();
    assert!(c.observing.rapid_response_abort);
    let off = DEFAULT_CONFIG.replace("rapid_response_abort = true", "rapid_response_abort = false");
    assert!(!load_str(&off, "t.toml", env(&[])).unwrap().observing.rapid_response_abort);
    let without = DEFAULT_CONFIG.replace("rapid_response_abort = true", "");
    assert!(load_str(&without, "t.toml", env(&[])).unwrap().observing.rapid_response_abort);
    let e = load_str(
        DEFAULT_CONFIG,
        "t",
        env(&[("TELD__OBSERVING__RAPID_RESPONSE_ABORT", "\"sometimes\"")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("observing.rapid_response_abort"), "{e}");
}

#[test]
fn filters_need_a_wheel_and_focus_needs_a_focuser() {
    let c = load_str(DEFAULT_CONFIG, "default", env(&[])).unwrap();
    let t = &c.telescopes[0];
    assert_eq!(t.filter_wheel.as_deref(), Some("sim/filter_wheel"));
    assert_eq!((t.focuser.as_deref(), t.focus_position), (Some("sim/focuser"), Some(25_000)));
    assert_eq!(t.filter_timeout_s, 120.0);

    let no_wheel = DEFAULT_CONFIG.replace("filter_wheel = \"sim/filter_wheel\"\n", "");
    let e = load_str(&no_wheel, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(
        e.contains("telescopes[0].filters") && e.contains("5 filters but no filter_wheel"),
        "{e}"
    );
    let no_focuser = DEFAULT_CONFIG.replace("focuser = \"sim/focuser\"\n", "");
    let e = load_str(&no_focuser, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("telescopes[0].focus_position") && e.contains("needs a `focuser`"), "{e}");
    let bad_addr = DEFAULT_CONFIG.replace("\"sim/filter_wheel\"", "\"wheel\"");
    let e = load_str(&bad_addr, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("telescopes[0].filter_wheel") && e.contains("<driver>/<device>"), "{e}");
    let empty =
        DEFAULT_CONFIG.replace("filters = [\"clear\", \"L\", \"R\", \"V\", \"B\"]", "filters = []");
    let e = load_str(&empty, "t.toml", env(&[])).unwrap_err().to_string();
    assert!(e.contains("must list the filters"), "{e}");
}

#[test]
fn archive_compression_is_none_by_default_and_rice_on_request() {
    use crate::ingest::Compression;
    let c = load_str(DEFAULT_CONFIG, "default", env(&[])).unwrap();
    assert_eq!(c.archive.compression, Compression::None);
    let c = load_str(DEFAULT_CONFIG, "default", env(&[("TELD__ARCHIVE__COMPRESSION", "rice")]))
        .unwrap();
    assert_eq!(c.archive.compression, Compression::Rice);
    let e = load_str(DEFAULT_CONFIG, "default", env(&[("TELD__ARCHIVE__COMPRESSION", "zip")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("archive.compression") && e.contains("rice"), "{e}");
}
