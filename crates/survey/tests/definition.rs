//! Parsing and validation: list surveys, and every rule refused with the key named.

mod common;

use common::{GRID, LIST, parse, parse_err, with};
use teld_survey::{Survey, SurveyError};

/// Asserts the error names `key` and the file, and returns its message.
fn refused(text: &str, key: &str) -> String {
    let e = parse_err(text);
    let msg = e.to_string();
    assert!(msg.starts_with("test.toml"), "no file name in: {msg}");
    assert!(msg.contains(&format!("key `{key}`")), "key `{key}` not named in: {msg}");
    msg
}

#[test]
fn list_survey_parses_with_every_option() {
    let s = parse(LIST);
    assert_eq!(s.name(), "named");
    assert_eq!(s.source(), "test.toml");
    assert_eq!(s.telescopes(), ["t1", "t2"]);
    assert_eq!(s.cadence_nights(), 1);
    assert_eq!(s.share(), 1.0);
    assert_eq!(s.value(), 5.0);
    let t = s.tracklet();
    assert_eq!((t.visits, t.count, t.exposure_s), (1, 4, 60.0));
    assert_eq!(t.spacing_s, None);
    assert_eq!(t.filter.as_deref(), Some("R"));
    assert_eq!(t.binning, Some(2));
    assert_eq!(t.visit_duration_s(), 240.0);
    let c = s.constraints();
    assert_eq!(c.max_airmass, Some(2.0));
    assert_eq!(c.min_altitude_deg, Some(30.0));
    assert_eq!(c.min_moon_sep_deg, Some(40.0));
    assert_eq!(c.max_moon_illumination, Some(0.7));
    assert_eq!(c.max_sun_alt_deg, Some(-12.0));
    let f = s.fields();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].id, "named:M31");
    assert_eq!((f[0].ra_deg, f[0].dec_deg), (10.6847, 41.2690));
    assert_eq!(f[1].id, "named:opposition");
}

#[test]
fn defaults_and_spacing_in_seconds() {
    let s = parse(GRID);
    assert!(s.telescopes().is_empty());
    assert_eq!(s.value(), 1.0);
    assert_eq!(s.description(), None);
    assert_eq!(s.constraints(), &Default::default());
    let t = s.tracklet();
    assert_eq!(t.count, 1);
    assert_eq!(t.filter, None);
    assert_eq!(t.binning, None);
    assert_eq!(t.spacing_s, Some((1200.0, 2400.0)));
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let msg = refused(&with(GRID, "visits = 3", "visitz = 3"), "tracklet.visitz");
    assert!(msg.contains("unknown field `visitz`"), "{msg}");
    assert!(msg.contains("spelling"), "{msg}");
    refused(&with(GRID, "share = 0.5", "share = 0.5\nshares = 1"), "shares");
    refused(
        &with(GRID, "field_height_deg = 2", "field_height_deg = 2\nfield_depth = 1"),
        "grid.field_depth",
    );
    refused(&with(LIST, "dec_deg = -1.0", "dec_deg = -1.0\nmag = 3"), "fields[1].mag");
    refused(&with(LIST, "max_airmass = 2.0", "max_airmas = 2.0"), "constraints.max_airmas");
}

#[test]
fn type_errors_and_missing_keys_name_the_key_and_line() {
    let msg = refused(&with(GRID, "visits = 3", "visits = \"three\""), "tracklet.visits");
    assert!(msg.starts_with("test.toml:7:"), "{msg}");
    let msg = refused(&with(GRID, "visits = 3\n", ""), "tracklet.visits");
    assert!(msg.contains("missing field `visits`") && msg.contains("add the key"), "{msg}");
    let msg = refused(&with(GRID, "share = 0.5\n", ""), "share");
    assert!(msg.contains("missing field `share`"), "{msg}");
    refused(&with(GRID, "exposure_s = 30", "exposure_s = [30]"), "tracklet.exposure_s");
    refused(&with(GRID, "name = \"test\"", "name = test"), "name");
}

#[test]
fn survey_level_rules() {
    refused(&with(GRID, "name = \"test\"", "name = \"has space\""), "name");
    refused(&with(GRID, "name = \"test\"", "name = \"a:b\""), "name");
    refused(&with(GRID, "name = \"test\"", "name = \"\""), "name");
    refused(&with(GRID, "name = \"test\"", "name = \"test\"\ndescription = \" \""), "description");
    refused(&with(LIST, "[\"t1\", \"t2\"]", "[\"t1\", \"t1\"]"), "telescopes[1]");
    refused(&with(LIST, "[\"t1\", \"t2\"]", "[\"t1\", \"\"]"), "telescopes[1]");
    refused(&with(GRID, "cadence_nights = 2", "cadence_nights = 0"), "cadence_nights");
    refused(&with(GRID, "cadence_nights = 2", "cadence_nights = -3"), "cadence_nights");
    for share in ["0", "-0.1", "1.01", "nan", "inf"] {
        refused(&with(GRID, "share = 0.5", &format!("share = {share}")), "share");
    }
    for value in ["0", "-1", "nan", "inf"] {
        refused(&with(LIST, "value = 5.0", &format!("value = {value}")), "value");
    }
}

#[test]
fn tracklet_rules() {
    for v in ["0", "11", "-1"] {
        let msg = refused(&with(GRID, "visits = 3", &format!("visits = {v}")), "tracklet.visits");
        assert!(msg.contains("1 to 10"), "{msg}");
    }
    parse(&with(GRID, "visits = 3", "visits = 10"));
    let msg = refused(
        &with(GRID, "min_spacing_min = 20", "min_spacing_min = 50"),
        "tracklet.min_spacing_min",
    );
    assert!(msg.contains("more than tracklet.max_spacing_min"), "{msg}");
    refused(&with(GRID, "max_spacing_min = 40\n", ""), "tracklet.max_spacing_min");
    refused(&with(GRID, "min_spacing_min = 20\n", ""), "tracklet.min_spacing_min");
    refused(&with(GRID, "min_spacing_min = 20", "min_spacing_min = 0"), "tracklet.min_spacing_min");
    refused(
        &with(GRID, "max_spacing_min = 40", "max_spacing_min = nan"),
        "tracklet.max_spacing_min",
    );
    // Nine gaps of 3 h: 27 h, more than a night.
    let long = with(
        &with(GRID, "visits = 3", "visits = 10"),
        "min_spacing_min = 20",
        "min_spacing_min = 180",
    );
    let msg = refused(
        &with(&long, "max_spacing_min = 40", "max_spacing_min = 200"),
        "tracklet.min_spacing_min",
    );
    assert!(msg.contains("more than a night"), "{msg}");
    // Eight gaps of 3 h are exactly a day, refused; eight of 170 min fit.
    let day = with(
        &with(GRID, "visits = 3", "visits = 9"),
        "min_spacing_min = 20",
        "min_spacing_min = 180",
    );
    refused(
        &with(&day, "max_spacing_min = 40", "max_spacing_min = 200"),
        "tracklet.min_spacing_min",
    );
    let fits = with(
        &with(GRID, "visits = 3", "visits = 9"),
        "min_spacing_min = 20",
        "min_spacing_min = 170",
    );
    parse(&with(&fits, "max_spacing_min = 40", "max_spacing_min = 200"));
    for e in ["0", "-5", "nan", "3601"] {
        refused(
            &with(GRID, "exposure_s = 30", &format!("exposure_s = {e}")),
            "tracklet.exposure_s",
        );
    }
    refused(&with(GRID, "exposure_s = 30", "exposure_s = 30\ncount = 0"), "tracklet.count");
    refused(&with(GRID, "exposure_s = 30", "exposure_s = 30\nbinning = 0"), "tracklet.binning");
    refused(&with(GRID, "exposure_s = 30", "exposure_s = 30\nfilter = \"\""), "tracklet.filter");
    // 50 × 30 s = 25 min per visit, but visits start 20 min apart.
    let msg = refused(
        &with(GRID, "exposure_s = 30", "exposure_s = 30\ncount = 50"),
        "tracklet.min_spacing_min",
    );
    assert!(msg.contains("overlap"), "{msg}");
    // A single visit needs no spacing.
    let single = with(&with(GRID, "visits = 3", "visits = 1"), "min_spacing_min = 20\n", "");
    assert_eq!(parse(&with(&single, "max_spacing_min = 40\n", "")).tracklet().spacing_s, None);
}

#[test]
fn constraint_rules() {
    for (key, bad) in [
        ("max_airmass", "0.9"),
        ("max_airmass", "nan"),
        ("min_altitude_deg", "-1"),
        ("min_altitude_deg", "90"),
        ("min_moon_sep_deg", "181"),
        ("max_moon_illumination", "1.5"),
        ("max_moon_illumination", "-0.1"),
        ("max_sun_alt_deg", "5"),
        ("max_sun_alt_deg", "-91"),
    ] {
        let text = LIST
            .lines()
            .map(|l| if l.starts_with(key) { format!("{key} = {bad}") } else { l.to_string() });
        let text: Vec<String> = text.collect();
        refused(&text.join("\n"), &format!("constraints.{key}"));
    }
}

#[test]
fn grid_rules() {
    for bad in ["[-1, 10]", "[10, 361]", "[nan, 10]", "[20, 20]", "[360, 0]", "[1, 2, 3]", "[1]"] {
        refused(
            &with(GRID, "ra_range_deg = [10, 40]", &format!("ra_range_deg = {bad}")),
            "grid.ra_range_deg",
        );
    }
    for bad in ["[-95, 0]", "[0, 90.5]", "[10, -10]", "[0, inf]", "[0]"] {
        refused(
            &with(GRID, "dec_range_deg = [-4, 4]", &format!("dec_range_deg = {bad}")),
            "grid.dec_range_deg",
        );
    }
    for bad in ["0", "-1", "30.5", "nan"] {
        refused(
            &with(GRID, "field_width_deg = 2", &format!("field_width_deg = {bad}")),
            "grid.field_width_deg",
        );
        refused(
            &with(GRID, "field_height_deg = 2", &format!("field_height_deg = {bad}")),
            "grid.field_height_deg",
        );
    }
    // Arcminutes typed as degrees over the whole sky: millions of fields.
    let huge = with(GRID, "ra_range_deg = [10, 40]", "ra_range_deg = [0, 360]");
    let huge = with(&huge, "dec_range_deg = [-4, 4]", "dec_range_deg = [-90, 90]");
    let huge = with(&huge, "field_width_deg = 2", "field_width_deg = 0.05");
    let msg = refused(&with(&huge, "field_height_deg = 2", "field_height_deg = 0.05"), "grid");
    assert!(msg.contains("100000"), "{msg}");
    // The edges of the ranges are allowed.
    let edges = with(GRID, "ra_range_deg = [10, 40]", "ra_range_deg = [0, 360]");
    parse(&with(&edges, "dec_range_deg = [-4, 4]", "dec_range_deg = [-90, 90]"));
}

#[test]
fn field_list_rules() {
    refused(&with(LIST, "name = \"opposition\"", "name = \"M31\""), "fields[1].name");
    refused(&with(LIST, "name = \"opposition\"", "name = \"\""), "fields[1].name");
    refused(&with(LIST, "name = \"opposition\"", "name = \"a:b\""), "fields[1].name");
    for bad in ["-0.5", "360", "nan"] {
        let msg =
            refused(&with(LIST, "ra_deg = 359.5", &format!("ra_deg = {bad}")), "fields[1].ra_deg");
        assert!(msg.contains("opposition"), "field name missing: {msg}");
    }
    for bad in ["90.1", "-91", "-inf"] {
        refused(&with(LIST, "dec_deg = 41.2690", &format!("dec_deg = {bad}")), "fields[0].dec_deg");
    }
    let head = &LIST[..LIST.find("[[fields]]").unwrap()];
    refused(&format!("fields = []\n{head}"), "fields");
    refused(head, "grid");
    let both = format!("{GRID}\n[[fields]]\nname = \"x\"\nra_deg = 1\ndec_deg = 1\n");
    let msg = refused(&both, "grid");
    assert!(msg.contains("not both"), "{msg}");
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let text = with(GRID, "share = 0.5", "share = 2");
    let text = with(&text, "visits = 3", "visits = 0");
    let text = with(&text, "field_width_deg = 2", "field_width_deg = 0");
    let e = parse_err(&text);
    let keys: Vec<&str> = e.issues().iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["share", "tracklet.visits", "grid.field_width_deg"]);
    let msg = e.to_string();
    assert!(msg.contains("3 problem(s)") && msg.contains("crates/survey/README.md"), "{msg}");
    assert!(matches!(e, SurveyError::Invalid { .. }));
}

#[test]
fn source_name_prefixes_messages() {
    let e = Survey::from_toml_str(&with(GRID, "share = 0.5", "share = 0"), "schedules/x.toml")
        .unwrap_err();
    assert!(e.to_string().starts_with("schedules/x.toml: "), "{e}");
}

#[test]
fn malformed_toml_names_the_line() {
    let msg = refused(&with(GRID, "share = 0.5", "share = 0.5.1"), "share");
    assert!(msg.starts_with("test.toml:4:"), "{msg}");
    let msg = parse_err(&with(GRID, "[tracklet]", "[tracklet")).to_string();
    assert!(msg.starts_with("test.toml:6:"), "{msg}");
}
