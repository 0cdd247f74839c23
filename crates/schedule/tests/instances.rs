//! The benchmark formats: the two smallest shipped instances (copied into `fixtures/`
//! so the tests do not need ../shared) and malformed documents.

use serde_json::{Value, json};
use teld_schedule::instance::{self, Version};
use teld_schedule::validate::validate;
use teld_schedule::{Options, Problem, solve};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> (Problem, Version) {
    instance::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_parses_and_solves_legally() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let (p, _) = parse(&name);
        let out = solve(&p, &Options::default());
        let rep = validate(&p, &out.observations);
        assert!(rep.violations.is_empty(), "{name}: {:?}", rep.violations);
        assert_eq!(rep.value, out.value, "{name}");
        assert!(out.value >= out.greedy_value, "{name}");
        n += 1;
    }
    assert!(n >= 2, "fixtures missing from {dir}");
}

#[test]
fn v1_instance_reads_as_one_constant_transition_telescope() {
    let (p, v) = parse("inst_n50_s1.json");
    assert_eq!(v, Version::V1);
    assert_eq!(p.name, "lapalma-2026-11-24-n50-s1");
    assert_eq!(p.telescopes.len(), 1);
    let t = &p.telescopes[0];
    assert_eq!(
        (t.id.as_str(), t.night, t.settle_s, t.rate_deg_per_s),
        ("T1", (0.0, 38_460.0), 60.0, None)
    );
    assert_eq!(p.requests.len(), 50);
    let r = &p.requests[0];
    assert_eq!((r.id.as_str(), r.value, r.visits, r.duration_s), ("T0000", 10.0, 1, 60.0));
    assert_eq!(r.windows[0], vec![(29_520.0, 38_460.0)]);
}

/// 250 is the proven optimum (RESULTS.md); the default effort is deterministic, so
/// debug and release builds reach the same plan (a few hundredths of a second).
#[test]
fn v1_n50_reaches_the_proven_optimum() {
    let (p, _) = parse("inst_n50_s1.json");
    let out = solve(&p, &Options::default());
    assert_eq!(validate(&p, &out.observations).violations, Vec::<String>::new());
    assert_eq!(out.value, 250.0);
}

#[test]
fn v2_small_instance_solves_near_its_bound() {
    let (p, v) = parse("neo_small_s1.json");
    assert_eq!(v, Version::V2);
    assert_eq!(p.telescopes.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["LP1", "CP1"]);
    assert_eq!(p.telescopes[1].night, (19_260.0, 44_580.0));
    assert_eq!(p.telescopes[1].rate_deg_per_s, Some(1.2));
    assert_eq!(p.requests.len(), 100);
    assert_eq!(p.requests[0].spacing, Some((900.0, 2_700.0)));
    assert!(p.requests.iter().any(|r| !r.target.is_fixed()), "moving targets read");
    let out = solve(&p, &Options::default());
    let rep = validate(&p, &out.observations);
    assert!(rep.violations.is_empty(), "{:?}", rep.violations);
    // bound_v2.py's mode A bound is 465; the reference greedy reached 418.
    assert!(out.value <= 465.0 && out.value >= 450.0, "value {}", out.value);
    let doc = instance::schedule_json(&p, v, &out.observations, json!({}), 0.0, 0.0);
    assert_eq!(
        (doc["format"].as_str(), doc["version"].as_i64()),
        (Some("telsched-schedule"), Some(2))
    );
    assert_eq!(doc["observations"].as_array().unwrap().len(), out.observations.len());
}

/// A small legal v2 document to break one piece at a time.
fn base() -> Value {
    json!({
        "format": "telsched-instance", "version": 2, "name": "tiny",
        "telescopes": [{"id": "T1", "night": {"start_s": 0, "end_s": 36000},
                        "slew": {"settle_s": 20, "rate_deg_per_s": 1.5}}],
        "requests": [
            {"id": "R0", "value": 3, "visits": 3, "duration_s": 120,
             "spacing": {"min_s": 900, "max_s": 1800}, "window": [600, 30000],
             "target": {"type": "sidereal", "ra_deg": 10, "dec_deg": 20},
             "visibility": {"T1": [[0, 36000]]}},
            {"id": "R1", "value": 2, "visits": 1, "duration_s": 300, "spacing": null, "window": null,
             "target": {"type": "ephemeris", "step_s": 600,
                        "ephemeris": [[0, 10, 20], [600, 10.1, 20], [1200, 10.2, 20]]},
             "visibility": {"T1": [[1000, 5000], [7000, 7200]]}}
        ]
    })
}

#[test]
fn base_document_parses() {
    let (p, v) = instance::parse(&base().to_string()).unwrap();
    assert_eq!(v, Version::V2);
    assert_eq!(p.requests[0].windows[0], vec![(600.0, 30_000.0)]);
    // The second interval is shorter than a visit and is dropped.
    assert_eq!(p.requests[1].windows[0], vec![(1_000.0, 5_000.0)]);
    let (ra, dec) = p.requests[1].target.radec(900.0);
    assert!((ra - 10.15).abs() < 1e-9 && (dec - 20.0).abs() < 1e-9, "{ra} {dec}");
}

/// Applies `edit` to the base document; an error naming `path`, or what went wrong.
fn check_rejects(what: &str, path: &str, edit: impl FnOnce(&mut Value)) -> Result<(), String> {
    let mut doc = base();
    edit(&mut doc);
    match instance::parse(&doc.to_string()) {
        Ok(_) => Err(format!("{what}: accepted")),
        Err(e) if e.to_string().contains(&format!("`{path}`")) => Ok(()),
        Err(e) => Err(format!("{what}: `{e}` does not name `{path}`")),
    }
}

fn rejects(what: &str, path: &str, edit: impl FnOnce(&mut Value)) {
    check_rejects(what, path, edit).unwrap_or_else(|e| panic!("{e}"));
}

/// For the known failures: every case is tried, so the report lists them all.
fn all_rejected(results: Vec<Result<(), String>>) {
    let failed: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().unwrap().remove(key).expect(key);
}

#[test]
fn not_json_is_rejected() {
    for text in ["", "{", "telsched", "[1, 2"] {
        let e = instance::parse(text).expect_err(text);
        assert!(matches!(e, instance::InstanceError::Json(_)), "{text}: {e}");
        assert!(e.to_string().contains("not JSON"), "{e}");
    }
}

#[test]
fn wrong_format_or_version_is_rejected() {
    rejects("format", "format", |d| d["format"] = json!("telsched-schedule"));
    rejects("no format", "format", |d| remove(d, "format"));
    rejects("version 3", "version", |d| d["version"] = json!(3));
    rejects("version string", "version", |d| d["version"] = json!("2"));
    rejects("no version", "version", |d| remove(d, "version"));
}

#[test]
fn missing_fields_are_named() {
    for key in ["telescopes", "requests"] {
        let mut d = base();
        remove(&mut d, key);
        let msg = instance::parse(&d.to_string()).expect_err(key).to_string();
        assert!(msg.contains(key) && msg.contains("missing"), "{msg}");
    }
    rejects("night", "telescopes[0].night", |d| remove(&mut d["telescopes"][0], "night"));
    rejects("slew", "telescopes[0].slew", |d| remove(&mut d["telescopes"][0], "slew"));
    rejects("telescope id", "telescopes[0].id", |d| remove(&mut d["telescopes"][0], "id"));
    for key in ["id", "value", "visits", "duration_s", "target", "visibility"] {
        rejects(key, &format!("requests[1].{key}"), |d| remove(&mut d["requests"][1], key));
    }
    rejects("ra", "requests[0].target.ra_deg", |d| {
        remove(&mut d["requests"][0]["target"], "ra_deg")
    });
    rejects("step", "requests[1].target.step_s", |d| {
        remove(&mut d["requests"][1]["target"], "step_s")
    });
    rejects("spacing for 3 visits", "requests[0].spacing", |d| {
        d["requests"][0]["spacing"] = Value::Null
    });
    // v1 documents name their own fields.
    let v1 = |edit: fn(&mut Value)| {
        let mut d = json!({"format": "telsched-instance", "version": 1, "night": {"horizon_s": 3600},
            "transition": {"duration_s": 60},
            "targets": [{"id": "T0", "ra_deg": 1, "dec_deg": 2, "priority": 3, "duration_s": 60,
                         "visibility": [[0, 3600]]}]});
        assert!(instance::parse(&d.to_string()).is_ok());
        edit(&mut d);
        instance::parse(&d.to_string()).expect_err("accepted").to_string()
    };
    assert!(v1(|d| remove(&mut d["night"], "horizon_s")).contains("`night.horizon_s`"));
    assert!(v1(|d| remove(&mut d["transition"], "duration_s")).contains("`transition.duration_s`"));
    assert!(v1(|d| remove(&mut d["targets"][0], "priority")).contains("`targets[0].priority`"));
}

#[test]
fn bad_values_are_named() {
    rejects("visits 0", "requests[1].visits", |d| d["requests"][1]["visits"] = json!(0));
    rejects("value text", "requests[1].value", |d| d["requests"][1]["value"] = json!("high"));
    rejects("duration text", "requests[0].duration_s", |d| {
        d["requests"][0]["duration_s"] = json!("2m")
    });
    rejects("rate 0", "telescopes[0].slew.rate_deg_per_s", |d| {
        d["telescopes"][0]["slew"]["rate_deg_per_s"] = json!(0)
    });
    rejects("target type", "requests[0].target.type", |d| {
        d["requests"][0]["target"]["type"] = json!("comet")
    });
    rejects("one row", "requests[1].target.ephemeris", |d| {
        d["requests"][1]["target"]["ephemeris"] = json!([[0, 1, 2]])
    });
}

#[test]
fn inverted_intervals_are_rejected() {
    rejects("visibility", "requests[1].visibility.T1[0]", |d| {
        d["requests"][1]["visibility"]["T1"] = json!([[5000, 1000]])
    });
    rejects("window", "requests[0].window[0]", |d| {
        d["requests"][0]["window"] = json!([30000, 600])
    });
    rejects("not a pair", "requests[1].visibility.T1[1]", |d| {
        d["requests"][1]["visibility"]["T1"] = json!([[0, 100], [1, 2, 3]])
    });
}

#[test]
fn duplicate_ids_are_rejected() {
    let mut d = base();
    d["requests"][1]["id"] = json!("R0");
    let msg = instance::parse(&d.to_string()).expect_err("accepted").to_string();
    assert!(msg.contains("`requests`") && msg.contains("R0"), "{msg}");
}

#[test]
fn impossible_spacing_is_rejected() {
    rejects("shorter than a visit", "requests[0].spacing", |d| {
        d["requests"][0]["spacing"]["min_s"] = json!(60)
    });
    rejects("max below min", "requests[0].spacing", |d| {
        d["requests"][0]["spacing"]["max_s"] = json!(600)
    });
}

#[test]
fn visibility_from_an_unknown_telescope_is_rejected() {
    rejects("unknown telescope", "requests[0].visibility.T9", |d| {
        d["requests"][0]["visibility"]["T9"] = json!([[0, 3600]])
    });
}

/// A missing or mistyped value inside an object should be named with its full path.
#[test]
fn nested_fields_are_named_with_their_full_path() {
    all_rejected(vec![
        check_rejects("no telescopes", "telescopes", |d| remove(d, "telescopes")),
        check_rejects("night start", "telescopes[0].night.start_s", |d| {
            remove(&mut d["telescopes"][0]["night"], "start_s")
        }),
        check_rejects("night end", "telescopes[0].night.end_s", |d| {
            remove(&mut d["telescopes"][0]["night"], "end_s")
        }),
        check_rejects("night start text", "telescopes[0].night.start_s", |d| {
            d["telescopes"][0]["night"]["start_s"] = json!("dusk")
        }),
        check_rejects("settle", "telescopes[0].slew.settle_s", |d| {
            remove(&mut d["telescopes"][0]["slew"], "settle_s")
        }),
        check_rejects("spacing min", "requests[0].spacing.min_s", |d| {
            remove(&mut d["requests"][0]["spacing"], "min_s")
        }),
        check_rejects("spacing max text", "requests[0].spacing.max_s", |d| {
            d["requests"][0]["spacing"]["max_s"] = json!("1h")
        }),
        check_rejects("ra text", "requests[0].target.ra_deg", |d| {
            d["requests"][0]["target"]["ra_deg"] = json!("1h")
        }),
        check_rejects("short row", "requests[1].target.ephemeris[1]", |d| {
            d["requests"][1]["target"]["ephemeris"][1] = json!([600, 10.1])
        }),
    ]);
}

/// Values of the wrong type, sign or range should be errors, not read as something else.
#[test]
fn malformed_values_are_not_silently_accepted() {
    all_rejected(vec![
        // Read as no per-degree term: plans would slew faster than the telescope can.
        check_rejects("rate as text", "telescopes[0].slew.rate_deg_per_s", |d| {
            d["telescopes"][0]["slew"]["rate_deg_per_s"] = json!("1.5")
        }),
        check_rejects("negative settle", "telescopes[0].slew.settle_s", |d| {
            d["telescopes"][0]["slew"]["settle_s"] = json!(-5)
        }),
        check_rejects("inverted night", "telescopes[0].night", |d| {
            d["telescopes"][0]["night"]["end_s"] = json!(-10)
        }),
        check_rejects("duplicate telescope", "telescopes", |d| {
            let t = d["telescopes"][0].clone();
            d["telescopes"].as_array_mut().unwrap().push(t);
        }),
        // Read as id "".
        check_rejects("numeric id", "requests[0].id", |d| d["requests"][0]["id"] = json!(7)),
        // Read as visible from nowhere.
        check_rejects("visibility list", "requests[0].visibility", |d| {
            d["requests"][0]["visibility"] = json!([[0, 3600]])
        }),
        // Truncated to 705 032 704 visits.
        check_rejects("visits beyond u32", "requests[0].visits", |d| {
            d["requests"][0]["visits"] = json!(5_000_000_000u64)
        }),
        check_rejects("negative duration", "requests[1].duration_s", |d| {
            d["requests"][1]["duration_s"] = json!(-300)
        }),
    ]);
}

/// A v1 document has `targets`, not `requests`.
#[test]
fn duplicate_v1_ids_name_targets() {
    let t = json!({"id": "T0", "ra_deg": 1, "dec_deg": 2, "priority": 3, "duration_s": 60, "visibility": []});
    let d = json!({"format": "telsched-instance", "version": 1, "night": {"horizon_s": 3600},
        "transition": {"duration_s": 60}, "targets": [t.clone(), t]});
    let msg = instance::parse(&d.to_string()).expect_err("accepted").to_string();
    assert!(msg.contains("`targets`"), "{msg}");
}

/// Values the planner would misread rather than fail on: a declination off the sphere,
/// ephemeris rows off their step (positions are interpolated by row number), no
/// telescope at all, a rate left out (read as "no per-degree term"), a fractional
/// visit count and a window that is not a pair.
#[test]
fn values_the_planner_would_misread_are_rejected() {
    all_rejected(vec![
        check_rejects("declination", "requests[0].target.dec_deg", |d| {
            d["requests"][0]["target"]["dec_deg"] = json!(100)
        }),
        check_rejects("row off the step", "requests[1].target.ephemeris[2][0]", |d| {
            d["requests"][1]["target"]["ephemeris"][2] = json!([1300, 10.2, 20])
        }),
        check_rejects("row declination", "requests[1].target.ephemeris[1][2]", |d| {
            d["requests"][1]["target"]["ephemeris"][1] = json!([600, 10.1, -95])
        }),
        check_rejects("no telescopes", "telescopes", |d| d["telescopes"] = json!([])),
        check_rejects("rate left out", "telescopes[0].slew.rate_deg_per_s", |d| {
            remove(&mut d["telescopes"][0]["slew"], "rate_deg_per_s")
        }),
        check_rejects("fractional visits", "requests[0].visits", |d| {
            d["requests"][0]["visits"] = json!(2.5)
        }),
        check_rejects("window triple", "requests[0].window", |d| {
            d["requests"][0]["window"] = json!([600, 1200, 30000])
        }),
    ]);
    // A null rate is the documented constant transition.
    let mut d = base();
    d["telescopes"][0]["slew"]["rate_deg_per_s"] = Value::Null;
    let (p, _) = instance::parse(&d.to_string()).expect("null rate");
    assert_eq!(p.telescopes[0].rate_deg_per_s, None);
}

#[test]
fn errors_say_what_was_given_and_what_to_give() {
    let mut d = base();
    d["telescopes"][0]["slew"]["rate_deg_per_s"] = json!("1.5");
    let msg = instance::parse(&d.to_string()).expect_err("text rate").to_string();
    assert!(msg.contains("positive number") && msg.contains("\"1.5\""), "{msg}");
    let mut d = base();
    d["requests"][1]["id"] = json!("R0");
    let msg = instance::parse(&d.to_string()).expect_err("duplicate").to_string();
    assert!(msg.contains("[0] and [1]"), "{msg}");
}
