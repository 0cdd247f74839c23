//! Tracklets through `solve`: all visits or none, on one telescope, spaced legally.

mod common;

use common::{TRACKLETS_ONLY, random_problem, spec, telescope};
use teld_schedule::instance::Observation;
use teld_schedule::validate::validate;
use teld_schedule::{Options, Outcome, Problem, Request, Telescope, solve};

fn run(p: &Problem, seed: u64) -> Outcome {
    let out = solve(p, &Options { seed, effort: Some(50_000), ..Default::default() });
    let rep = validate(p, &out.observations);
    assert!(rep.violations.is_empty(), "{}: {:?}", p.name, rep.violations);
    assert_eq!(rep.value, out.value, "{}", p.name);
    out
}

fn of(out: &Outcome, r: usize) -> Vec<&Observation> {
    let mut v: Vec<&Observation> = out.observations.iter().filter(|o| o.request == r).collect();
    v.sort_by_key(|o| o.visit);
    v
}

/// Fillers that the planner would happily put anywhere, so the night is not empty.
fn fillers(tels: &[Telescope], n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| spec(&format!("S{i}"), 1.0, 300.0).fixed(10.0 * i as f64, 20.0).on(tels))
        .collect()
}

#[test]
fn a_tracklet_that_cannot_be_spaced_in_its_window_is_never_planned() {
    let tels = vec![
        telescope("A", (0.0, 36_000.0), 20.0, Some(1.5)),
        telescope("B", (0.0, 36_000.0), 20.0, None),
    ];
    let k = |id: &str| spec(id, 100.0, 120.0).fixed(50.0, 10.0).tracklet(3, 1_200.0, 1_800.0);
    let mut requests = vec![
        // Three visits need 2 x 1200 + 120 s; the window gives 2000.
        k("narrow").window(3_600.0, 5_600.0).on(&tels),
        // Visible twice, but the two stretches are further apart than the spacing allows.
        k("gapped").seen(vec![vec![(0.0, 1_500.0), (6_000.0, 7_500.0)], vec![]]).on(&tels),
        // Would fit only by moving to the other telescope for its last visit.
        k("split")
            .tracklet(3, 1_200.0, 1_300.0)
            .seen(vec![vec![(10_000.0, 11_500.0)], vec![(11_500.0, 13_000.0)]])
            .on(&tels),
        // A control that fits, so the test shows tracklets are planned at all.
        k("fits").window(3_600.0, 7_200.0).on(&tels),
    ];
    requests.extend(fillers(&tels, 20));
    let p = Problem::new("unfit", tels, requests);
    for seed in 1..=5 {
        let out = run(&p, seed);
        for r in 0..3 {
            assert!(
                of(&out, r).is_empty(),
                "seed {seed}: {} planned: {:?}",
                p.requests[r].id,
                of(&out, r)
            );
            assert!(!out.plan.is_planned(r));
        }
        assert_eq!(of(&out, 3).len(), 3, "seed {seed}: the control tracklet");
    }
}

#[test]
fn planned_tracklets_are_whole_on_one_telescope_and_legally_spaced() {
    let mut planned = 0;
    for seed in 0..40 {
        let p = random_problem(1_000 + seed, TRACKLETS_ONLY);
        let out = run(&p, seed);
        for (r, req) in p.requests.iter().enumerate() {
            let v = of(&out, r);
            if v.is_empty() {
                assert!(!out.plan.is_planned(r));
                continue;
            }
            planned += 1;
            assert_eq!(
                v.len(),
                req.visits as usize,
                "{}: {} of {} visits",
                req.id,
                v.len(),
                req.visits
            );
            assert_eq!(out.plan.assigned[r], Some(v[0].telescope as u16));
            let (lo, hi) = req.spacing.expect("tracklets have a spacing");
            for (k, w) in v.windows(2).enumerate() {
                assert_eq!((w[0].visit, w[1].visit), (k as u32, k as u32 + 1), "{}", req.id);
                assert_eq!(w[0].telescope, w[1].telescope, "{} split", req.id);
                let d = w[1].start - w[0].start;
                assert!(
                    d >= lo - 1e-9 && d <= hi + 1e-9,
                    "{}: spacing {d} outside [{lo}, {hi}]",
                    req.id
                );
            }
        }
    }
    assert!(planned > 200, "only {planned} tracklets planned");
}

/// Two visits would fit before a long, more valuable block that takes the rest of the
/// night, the third would not: the tracklet must be left out entirely, not half done.
#[test]
fn a_tracklet_is_all_or_nothing() {
    let tels = vec![telescope("A", (0.0, 4_000.0), 30.0, None)];
    let k = |id: &str| spec(id, 30.0, 300.0).tracklet(3, 1_200.0, 1_500.0).on(&tels);
    let blocker = spec("block", 100.0, 1_600.0)
        .fixed(5.0, 0.0)
        .seen(vec![vec![(2_400.0, 4_000.0)]])
        .on(&tels);
    let p = Problem::new("partial", tels.clone(), vec![k("K"), blocker]);
    for seed in 1..=5 {
        let out = run(&p, seed);
        assert_eq!(out.value, 100.0);
        assert!(of(&out, 0).is_empty(), "seed {seed}: {:?}", of(&out, 0));
    }
    // Without the blocker the same tracklet is planned whole.
    let p = Problem::new("whole", tels.clone(), vec![k("K")]);
    let out = run(&p, 1);
    assert_eq!(out.value, 30.0);
    assert_eq!(of(&out, 0).len(), 3);
}

#[test]
fn every_request_has_all_its_visits_or_none_on_random_nights() {
    for seed in 0..40 {
        let p = random_problem(2_000 + seed, common::MIXED);
        let out = run(&p, seed);
        for (r, req) in p.requests.iter().enumerate() {
            let n = of(&out, r).len();
            assert!(n == 0 || n == req.visits as usize, "{}: {n} of {} visits", req.id, req.visits);
            assert_eq!(n > 0, out.plan.is_planned(r), "{}", req.id);
        }
    }
}

/// Visits `v` and `v + 1` exactly `spacing` apart, for every `v`.
fn exactly_spaced(out: &Outcome, r: usize, visits: usize, spacing: f64) -> bool {
    let v = of(out, r);
    v.len() == visits && v.windows(2).all(|w| (w[1].start - w[0].start - spacing).abs() <= 1e-3)
}

/// `min_s == max_s` leaves no room for the start intervals that absorb a moving
/// neighbour's drift: the planner must then pin each visit to one start, not give up.
#[test]
fn a_tracklet_with_equal_min_and_max_spacing_is_planned() {
    let tels = vec![
        telescope("A", (0.0, 36_000.0), 20.0, Some(1.5)),
        telescope("B", (0.0, 36_000.0), 30.0, None),
    ];
    let mut rng = common::rng(7);
    let mover = common::ephemeris(&mut rng, -600.0, 37_000.0, 20.0);
    let mut requests = vec![
        spec("exact", 40.0, 120.0).fixed(50.0, 10.0).tracklet(4, 1_200.0, 1_200.0).on(&tels),
        spec("mover", 40.0, 180.0).at(mover).tracklet(3, 1_800.0, 1_800.0).on(&tels),
        // Less than the two seconds two one-second start intervals need.
        spec("narrow", 40.0, 60.0).fixed(80.0, -5.0).tracklet(5, 900.0, 901.0).on(&tels),
    ];
    requests.extend(fillers(&tels, 30));
    let p = Problem::new("exact", tels, requests);
    for seed in 1..=3 {
        let out = run(&p, seed);
        assert!(exactly_spaced(&out, 0, 4, 1_200.0), "seed {seed}: {:?}", of(&out, 0));
        assert!(exactly_spaced(&out, 1, 3, 1_800.0), "seed {seed}: {:?}", of(&out, 1));
        assert_eq!(of(&out, 2).len(), 5, "seed {seed}: narrow");
    }
}
