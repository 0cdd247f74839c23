//! Checks across keys and ranges that serde cannot express.

use std::collections::HashSet;

use super::load::ConfigIssue;
use super::types::*;

pub fn check(c: &Config) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    let mut bad = |path: String, message: String| out.push(ConfigIssue { path, message });

    let s = &c.site;
    if !is_slug(&s.name) {
        bad(
            "site.name".into(),
            format!("`{}` must be 1-32 of a-z 0-9 - _ (it becomes an MQTT topic level)", s.name),
        );
    }
    if !(-90.0..=90.0).contains(&s.latitude_deg) {
        bad("site.latitude_deg".into(), format!("must be in [-90, 90], got {}", s.latitude_deg));
    }
    if !(-180.0..=180.0).contains(&s.longitude_deg) {
        bad(
            "site.longitude_deg".into(),
            format!("must be in [-180, 180] (east positive), got {}", s.longitude_deg),
        );
    }
    if !(-500.0..=9000.0).contains(&s.height_m) {
        bad("site.height_m".into(), format!("must be in [-500, 9000] metres, got {}", s.height_m));
    }

    super::http::check(&c.http, &mut bad);

    if let Some(url) = &c.store.url
        && !url.starts_with("sqlite:")
    {
        bad(
            "store.url".into(),
            format!("`{url}`: only sqlite: URLs are supported in this version"),
        );
    }

    let t = &c.telemetry;
    if t.enabled && !valid_host_port(&t.broker) {
        bad(
            "telemetry.broker".into(),
            format!("`{}` must be host:port, e.g. 127.0.0.1:1883", t.broker),
        );
    }
    at_most_a_day(&mut bad, "telemetry.interval_s", t.interval_s);
    if !t.interval_s.is_finite() || t.interval_s < 0.1 {
        bad("telemetry.interval_s".into(), format!("must be >= 0.1 seconds, got {}", t.interval_s));
    }
    if t.topic_prefix.is_empty() || t.topic_prefix.contains(['#', '+']) {
        bad("telemetry.topic_prefix".into(), "must be non-empty without MQTT wildcards".into());
    }

    let q = &c.quicklook;
    if !(16..=8192).contains(&q.preview_max_px) {
        bad(
            "quicklook.preview_max_px".into(),
            format!("must be in [16, 8192] pixels, got {}", q.preview_max_px),
        );
    }
    if let Some(e) = q.max_ellipticity
        && !(e > 0.0 && e < 1.0)
    {
        bad("quicklook.max_ellipticity".into(), format!("must be in (0, 1), got {e}"));
    }
    if let Some(f) = q.max_fwhm_arcsec {
        positive(&mut bad, "quicklook.max_fwhm_arcsec", f, false);
    }
    let h = &c.handoff;
    if let Some(url) = &h.webhook_url
        && let Err(e) = crate::pipeline::WebhookTarget::parse(url)
    {
        bad("handoff.webhook_url".into(), e.to_string());
    }
    positive(&mut bad, "handoff.timeout_s", h.timeout_s, false);
    at_most_a_day(&mut bad, "handoff.timeout_s", h.timeout_s);
    positive(&mut bad, "handoff.retry_max_s", h.retry_max_s, false);
    at_most_a_day(&mut bad, "handoff.retry_max_s", h.retry_max_s);

    let o = &c.observing;
    if !(-18.0..=0.0).contains(&o.sun_altitude_max_deg) {
        bad(
            "observing.sun_altitude_max_deg".into(),
            format!("must be in [-18, 0], got {}", o.sun_altitude_max_deg),
        );
    }
    positive(&mut bad, "observing.settle_s", o.settle_s, true);
    at_most_a_day(&mut bad, "observing.settle_s", o.settle_s);
    if o.max_attempts == 0 {
        bad("observing.max_attempts".into(), "must be at least 1".into());
    }
    altitude(&mut bad, "observing.min_altitude_deg", o.min_altitude_deg);
    let [lo, hi] = o.flats_sun_altitude_deg;
    if !(lo.is_finite() && hi.is_finite() && -18.0 <= lo && lo < hi && hi <= 10.0) {
        bad(
            "observing.flats_sun_altitude_deg".into(),
            format!("must be [low, high] with -18 <= low < high <= 10, got [{lo}, {hi}]"),
        );
    }
    if let Some(f) = &c.astro.iers_file
        && !f.is_file()
    {
        bad(
            "astro.iers_file".into(),
            format!(
                "{} is not a readable file; give an IERS finals2000A.all file or remove the key",
                f.display()
            ),
        );
    }

    let sf = &c.safety;
    positive(&mut bad, "safety.close_within_s", sf.close_within_s, false);
    positive(&mut bad, "safety.reopen_after_safe_s", sf.reopen_after_safe_s, true);
    at_most_a_day(&mut bad, "safety.close_within_s", sf.close_within_s);
    at_most_a_day(&mut bad, "safety.reopen_after_safe_s", sf.reopen_after_safe_s);
    if !(0.0..=90.0).contains(&sf.sun_avoidance_deg) {
        bad(
            "safety.sun_avoidance_deg".into(),
            format!("must be in [0, 90], got {}", sf.sun_avoidance_deg),
        );
    }
    for (key, v) in [
        ("safety.wind_warn_m_s", sf.wind_warn_m_s),
        ("safety.wind_stop_m_s", sf.wind_stop_m_s),
        ("safety.humidity_stop_pct", sf.humidity_stop_pct),
    ] {
        positive(&mut bad, key, v, true);
    }
    let (w, s) = (sf.wind_warn_m_s, sf.wind_stop_m_s);
    if w > 0.0 && s > 0.0 && w > s {
        bad(
            "safety.wind_warn_m_s".into(),
            format!("must not exceed safety.wind_stop_m_s ({s}), got {w}"),
        );
    }
    if sf.humidity_stop_pct > 100.0 {
        let h = sf.humidity_stop_pct;
        bad("safety.humidity_stop_pct".into(), format!("must be at most 100 %, got {h}"));
    }
    if !(0.0..50.0).contains(&sf.hysteresis_pct) {
        bad(
            "safety.hysteresis_pct".into(),
            format!("must be in [0, 50) percent of each limit, got {}", sf.hysteresis_pct),
        );
    }
    positive(&mut bad, "safety.disk_min_free_mb", sf.disk_min_free_mb, true);
    positive(&mut bad, "safety.max_clock_error_ms", sf.max_clock_error_ms, false);
    if !(0.0..=90.0).contains(&sf.sun_path_margin_deg) {
        bad(
            "safety.sun_path_margin_deg".into(),
            format!(
                "must be in [0, 90] (degrees below the horizon), got {}",
                sf.sun_path_margin_deg
            ),
        );
    }

    let mut driver_names = HashSet::new();
    for (i, d) in c.drivers.iter().enumerate() {
        let p = |k: &str| format!("drivers[{i}].{k}");
        if !is_slug(&d.name) {
            bad(p("name"), format!("`{}` must be 1-32 of a-z 0-9 - _", d.name));
        } else if !driver_names.insert(d.name.as_str()) {
            bad(p("name"), format!("`{}` is used by another driver", d.name));
        }
        if !is_slug(&d.kind) {
            bad(p("kind"), format!("`{}` must be 1-32 of a-z 0-9 - _", d.kind));
        }
        for (k, v) in [
            ("start_timeout_s", d.start_timeout_s),
            ("request_timeout_s", d.request_timeout_s),
            ("heartbeat_interval_s", d.heartbeat_interval_s),
            ("heartbeat_timeout_s", d.heartbeat_timeout_s),
            ("restart_backoff_initial_s", d.restart_backoff_initial_s),
            ("restart_backoff_max_s", d.restart_backoff_max_s),
        ] {
            positive(&mut bad, &p(k), v, false);
            at_most_a_day(&mut bad, &p(k), v);
        }
        if d.heartbeat_timeout_s < 2.0 * d.heartbeat_interval_s {
            bad(p("heartbeat_timeout_s"), "must be at least twice heartbeat_interval_s, or one late ping kills a healthy driver".into());
        }
    }

    let mut telescope_names = HashSet::new();
    for (i, t) in c.telescopes.iter().enumerate() {
        let p = |k: &str| format!("telescopes[{i}].{k}");
        if !is_slug(&t.name) {
            bad(p("name"), format!("`{}` must be 1-32 of a-z 0-9 - _", t.name));
        } else if !telescope_names.insert(t.name.as_str()) {
            bad(p("name"), format!("`{}` is used by another telescope", t.name));
        }
        let devices = [
            ("mount", Some(&t.mount)),
            ("camera", Some(&t.camera)),
            ("dome", t.dome.as_ref()),
            ("weather", Some(&t.weather)),
            ("filter_wheel", t.filter_wheel.as_ref()),
            ("focuser", t.focuser.as_ref()),
        ];
        for (k, addr) in devices {
            let Some(addr) = addr else { continue };
            match DeviceAddress::parse(addr) {
                None => bad(p(k), format!("`{addr}` must be <driver>/<device>, e.g. sim/{k}")),
                Some(a) if !driver_names.contains(a.driver.as_str()) => bad(
                    p(k),
                    format!(
                        "`{addr}` names driver `{}`, which no [[drivers]] entry defines",
                        a.driver
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(a) = t.min_altitude_deg {
            altitude(&mut bad, &p("min_altitude_deg"), a);
        }
        if t.mount_type == crate::config::MountType::German
            && !(t.meridian_limit_deg.is_finite()
                && (crate::config::MIN_MERIDIAN_LIMIT_DEG..=90.0).contains(&t.meridian_limit_deg))
        {
            bad(
                p("meridian_limit_deg"),
                format!(
                    "{} must be in [{}, 90]: degrees of hour angle the mount tracks past the meridian before it must flip (see its controller's limit)",
                    t.meridian_limit_deg,
                    crate::config::MIN_MERIDIAN_LIMIT_DEG
                ),
            );
        }
        if let Err(e) = t.pointing_limits() {
            let key = if matches!(e, teld_astro::horizon::LimitError::BadLimit { .. }) {
                "mount_limits"
            } else {
                "horizon"
            };
            bad(p(key), e.to_string());
        }
        for (i, f) in t.filters.iter().enumerate() {
            if f.is_empty() || f.len() > 32 {
                bad(p(&format!("filters[{i}]")), "a filter name must be 1 to 32 characters".into());
            } else if t.filters[..i].contains(f) {
                bad(
                    p(&format!("filters[{i}]")),
                    format!("`{f}` is listed twice; name each filter once"),
                );
            }
        }
        if t.filter_wheel.is_some() && t.filters.is_empty() {
            bad(
                p("filters"),
                "a telescope with a filter_wheel must list the filters requests may name".into(),
            );
        }
        if t.filter_wheel.is_none() && t.filters.len() > 1 {
            bad(
                p("filters"),
                format!(
                    "{} filters but no filter_wheel: set `filter_wheel = \"<driver>/<device>\"`, or list the one fixed filter",
                    t.filters.len()
                ),
            );
        }
        for (k, v) in
            [("plate_scale_arcsec", t.plate_scale_arcsec), ("focal_length_mm", t.focal_length_mm)]
        {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                bad(p(k), format!("{v} must be a number above 0"));
            }
        }
        if !(t.camera_angle_deg.is_finite() && (-360.0..=360.0).contains(&t.camera_angle_deg)) {
            bad(p("camera_angle_deg"), "give degrees east of north, -360 to 360".into());
        }
        if t.focus_position.is_some() && t.focuser.is_none() {
            bad(p("focus_position"), "needs a `focuser` to move".into());
        }
        for (k, v) in [
            ("filter_timeout_s", t.filter_timeout_s),
            ("slew_timeout_s", t.slew_timeout_s),
            ("dome_timeout_s", t.dome_timeout_s),
            ("readout_timeout_s", t.readout_timeout_s),
            ("slew_rate_deg_s", t.slew_rate_deg_s),
        ] {
            positive(&mut bad, &p(k), v, false);
            at_most_a_day(&mut bad, &p(k), v);
        }
    }
    if c.telescopes.is_empty() {
        bad(
            "telescopes".into(),
            "no [[telescopes]] defined; teld needs at least one to observe".into(),
        );
    }
    super::inbox::check(c, &mut out);
    super::update::check(c, &mut out);
    out
}

fn positive(bad: &mut impl FnMut(String, String), path: &str, v: f64, zero_ok: bool) {
    let ok = v.is_finite() && if zero_ok { v >= 0.0 } else { v > 0.0 };
    if !ok {
        let what = if zero_ok { ">= 0" } else { "> 0" };
        bad(path.into(), format!("must be a finite number {what}, got {v}"));
    }
}

/// Durations beyond a day are mistakes (and would overflow timers).
fn at_most_a_day(bad: &mut impl FnMut(String, String), path: &str, v: f64) {
    if v.is_finite() && v > 86_400.0 {
        bad(path.into(), format!("must be at most 86400 seconds (a day), got {v}"));
    }
}

fn altitude(bad: &mut impl FnMut(String, String), path: &str, v: f64) {
    if !(0.0..90.0).contains(&v) {
        bad(path.into(), format!("must be in [0, 90) degrees, got {v}"));
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn valid_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}
