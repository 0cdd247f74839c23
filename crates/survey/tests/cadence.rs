//! Which fields are due, in which order, and how many fit the survey's share.

mod common;

use std::collections::HashMap;

use common::{LIST, parse, with};
use teld_survey::{Survey, is_due};

/// A list survey of fields `f0`…`f{n-1}`: 3 visits of 2 × 30 s, cadence 3 nights,
/// share 0.5, so with 20 s overhead each field costs 3 × (60 + 20) = 240 s.
fn survey(n: usize) -> Survey {
    let mut text = String::from(
        "name = \"c\"\ncadence_nights = 3\nshare = 0.5\nvalue = 2.0\ntelescopes = [\"t2\"]\n\
         [tracklet]\nvisits = 3\nmin_spacing_min = 15\nmax_spacing_min = 30\nexposure_s = 30\n\
         count = 2\nfilter = \"V\"\nbinning = 1\n[constraints]\nmax_airmass = 1.8\n",
    );
    for i in 0..n {
        text += &format!("[[fields]]\nname = \"f{i}\"\nra_deg = {}\ndec_deg = 5\n", i as f64);
    }
    parse(&text)
}

fn ids(tasks: &[teld_survey::FieldTask]) -> Vec<&str> {
    tasks.iter().map(|t| t.field_id.as_str()).collect()
}

const NIGHT: i64 = 60_500;
const OVERHEAD: f64 = 20.0;
/// Enough dark time for every field in these tests.
const LONG: f64 = 1e6;

#[test]
fn due_after_cadence_or_never() {
    assert!(is_due(NIGHT, None, 3));
    assert!(is_due(NIGHT, Some(NIGHT - 3), 3));
    assert!(is_due(NIGHT, Some(NIGHT - 30), 3));
    assert!(!is_due(NIGHT, Some(NIGHT - 2), 3));
    assert!(!is_due(NIGHT, Some(NIGHT), 3));
    // Done "in the future" (clock or store trouble): not due.
    assert!(!is_due(NIGHT, Some(NIGHT + 1), 1));
    assert!(is_due(NIGHT, Some(NIGHT - 1), 1));
    // Extreme night indices saturate instead of overflowing.
    assert!(!is_due(i64::MIN, Some(i64::MAX), 1));
    assert!(is_due(i64::MAX, Some(i64::MIN), 1));
}

#[test]
fn only_due_fields_are_selected() {
    let s = survey(4);
    let done: HashMap<&str, i64> =
        [("c:f0", NIGHT - 1), ("c:f1", NIGHT - 3), ("c:f2", NIGHT - 2)].into();
    let tasks = s.due_tonight(NIGHT, |id| done.get(id).copied(), LONG, OVERHEAD);
    // f0 and f2 were observed too recently; f3 never was.
    assert_eq!(ids(&tasks), ["c:f3", "c:f1"]);
    assert_eq!(tasks[0].last_done, None);
    assert_eq!(tasks[1].last_done, Some(NIGHT - 3));
    // The next night f2 is due too.
    let tasks = s.due_tonight(NIGHT + 1, |id| done.get(id).copied(), LONG, OVERHEAD);
    assert_eq!(ids(&tasks), ["c:f3", "c:f1", "c:f2"]);
}

#[test]
fn never_observed_first_then_most_overdue_then_by_id() {
    let s = survey(6);
    let done: HashMap<&str, i64> =
        [("c:f0", NIGHT - 5), ("c:f1", NIGHT - 9), ("c:f2", NIGHT - 5), ("c:f4", NIGHT - 3)].into();
    let tasks = s.due_tonight(NIGHT, |id| done.get(id).copied(), LONG, OVERHEAD);
    assert_eq!(ids(&tasks), ["c:f3", "c:f5", "c:f1", "c:f0", "c:f2", "c:f4"]);
}

#[test]
fn share_truncates_keeping_the_most_overdue() {
    let s = survey(30);
    assert_eq!(s.task_time_s(OVERHEAD), 240.0);
    // 0.5 × 10 000 s = 5000 s: 20 fields of 240 s (4800 s), not 21 (5040 s).
    let tasks = s.due_tonight(NIGHT, |_| None, 10_000.0, OVERHEAD);
    assert_eq!(tasks.len(), 20);
    let used: f64 = tasks.len() as f64 * s.task_time_s(OVERHEAD);
    assert!(used <= 0.5 * 10_000.0);
    // Never observed, so in id order.
    assert_eq!(tasks[0].field_id, "c:f0");
    assert_eq!(tasks[1].field_id, "c:f1");
    assert_eq!(tasks[2].field_id, "c:f10");
    // Exactly n fields' worth of budget gives n fields.
    assert_eq!(s.due_tonight(NIGHT, |_| None, 2.0 * 240.0 * 7.0, OVERHEAD).len(), 7);
    assert_eq!(s.due_tonight(NIGHT, |_| None, 2.0 * 240.0 * 7.0 - 1.0, OVERHEAD).len(), 6);
    // The fields kept are the most overdue ones.
    let done = |id: &str| -> Option<i64> {
        let i: i64 = id.trim_start_matches("c:f").parse().unwrap();
        Some(NIGHT - 3 - i)
    };
    let tasks = s.due_tonight(NIGHT, done, 2.0 * 240.0 * 3.0, OVERHEAD);
    assert_eq!(ids(&tasks), ["c:f29", "c:f28", "c:f27"]);
}

#[test]
fn no_dark_time_or_no_room_selects_nothing() {
    let s = survey(3);
    assert!(s.due_tonight(NIGHT, |_| None, 0.0, OVERHEAD).is_empty());
    assert!(s.due_tonight(NIGHT, |_| None, -100.0, OVERHEAD).is_empty());
    assert!(s.due_tonight(NIGHT, |_| None, f64::NAN, OVERHEAD).is_empty());
    // 0.5 × 479 s is less than one field's 240 s.
    assert!(s.due_tonight(NIGHT, |_| None, 479.0, OVERHEAD).is_empty());
    // A negative or NaN overhead counts as none: 3 × 60 s = 180 s per field.
    assert_eq!(s.task_time_s(-5.0), 180.0);
    assert_eq!(s.task_time_s(f64::NAN), 180.0);
    assert_eq!(s.due_tonight(NIGHT, |_| None, 2.0 * 360.0, -5.0).len(), 2);
}

#[test]
fn task_carries_what_the_planner_needs() {
    let s = survey(1);
    let t = &s.due_tonight(NIGHT, |_| Some(NIGHT - 4), LONG, OVERHEAD)[0];
    assert_eq!(t.survey, "c");
    assert_eq!(t.field_id, "c:f0");
    assert_eq!((t.ra_deg, t.dec_deg), (0.0, 5.0));
    assert_eq!(t.visits, 3);
    assert_eq!(t.spacing_s, Some((900.0, 1800.0)));
    assert_eq!((t.exposure_s, t.count), (30.0, 2));
    assert_eq!(t.visit_duration_s(), 60.0);
    assert_eq!(t.filter.as_deref(), Some("V"));
    assert_eq!(t.binning, Some(1));
    assert_eq!(t.value, 2.0);
    assert_eq!(t.constraints.max_airmass, Some(1.8));
    assert_eq!(t.telescopes, ["t2"]);
    assert_eq!(t.last_done, Some(NIGHT - 4));
}

#[test]
fn list_fixture_single_visit_has_no_spacing() {
    let s = parse(&with(LIST, "share = 1.0", "share = 0.25"));
    // 1 visit × (4 × 60 s + 60 s) = 300 s per field; 0.25 × 1200 s = one field.
    let tasks = s.due_tonight(NIGHT, |_| None, 1200.0, 60.0);
    assert_eq!(ids(&tasks), ["named:M31"]);
    assert_eq!(tasks[0].spacing_s, None);
}
