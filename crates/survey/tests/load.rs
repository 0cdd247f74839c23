//! Reading a schedules directory, and the example definitions shipped in
//! `schedules/`.

mod common;

use std::path::{Path, PathBuf};

use common::{GRID, LIST, with};
use teld_survey::{SurveyError, load_dir};

/// A fresh, empty directory for one test under Cargo's per-target scratch space.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("teld-survey-load").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn loads_every_toml_file_in_name_order() {
    let dir = scratch("two");
    write(&dir, "b-grid.toml", GRID);
    write(&dir, "a-list.toml", LIST);
    // Not survey definitions: other extensions and subdirectories are skipped.
    write(&dir, "README.md", "# not a survey\n");
    write(&dir, "old.toml.bak", "garbage");
    std::fs::create_dir(dir.join("examples")).unwrap();
    write(&dir.join("examples"), "broken.toml", "this is not toml");
    let surveys = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = surveys.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["named", "test"]);
    assert!(surveys[0].source().ends_with("a-list.toml"), "{}", surveys[0].source());
}

#[test]
fn duplicate_survey_names_are_refused() {
    let dir = scratch("duplicate");
    write(&dir, "one.toml", GRID);
    write(&dir, "two.toml", &with(GRID, "share = 0.5", "share = 0.2"));
    let e = load_dir(&dir).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(&e, SurveyError::DuplicateName { name, .. } if name == "test"), "{msg}");
    assert!(
        msg.contains("one.toml") && msg.contains("two.toml") && msg.contains("key `name`"),
        "{msg}"
    );
}

#[test]
fn a_broken_file_is_named() {
    let dir = scratch("broken");
    write(&dir, "good.toml", GRID);
    write(&dir, "bad.toml", &with(LIST, "cadence_nights = 1", "cadence_nights = 0"));
    let msg = load_dir(&dir).unwrap_err().to_string();
    assert!(msg.contains("bad.toml") && msg.contains("key `cadence_nights`"), "{msg}");
}

#[test]
fn missing_directory_is_an_error() {
    let dir = scratch("missing").join("nope");
    let e = load_dir(&dir).unwrap_err();
    assert!(matches!(e, SurveyError::ReadDir { .. }), "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn empty_directory_has_no_surveys() {
    assert!(load_dir(scratch("empty")).unwrap().is_empty());
}

#[test]
fn shipped_examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schedules");
    let surveys = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = surveys.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["deep-fields", "ecliptic-autumn"]);

    let deep = &surveys[0];
    assert_eq!(deep.telescopes(), ["t1"]);
    assert_eq!(deep.field_count(), 3);

    let ecliptic = &surveys[1];
    let fields = ecliptic.fields();
    // 60° of RA through 0 by 20° of declination in 1.5° × 1° fields: 20 rows of
    // 40 (60 · cos 9° / 1.5 = 39.5 at the outermost rows).
    assert_eq!(fields.len(), 800);
    assert_eq!(fields[0].id, "ecliptic-autumn-00-00");
    assert_eq!(fields[799].id, "ecliptic-autumn-19-39");
    assert!(fields.iter().all(|f| f.ra_deg >= 330.0 || f.ra_deg <= 30.0));
    assert_eq!(ecliptic.tracklet().visits, 4);
    // An eight-hour night gives it four hours: 4 × (60 s + 30 s) per field.
    let tasks = ecliptic.due_tonight(60_000, |_| None, 8.0 * 3600.0, 30.0);
    assert_eq!(tasks.len(), 40);
}
