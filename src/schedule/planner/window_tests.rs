//! The frozen horizon and window cutting on small hand-made problems.

use super::*;

fn problem(window_start: f64) -> Problem {
    let tel = Telescope {
        id: "t1".into(),
        night: (0.0, 36_000.0),
        settle_s: 10.0,
        rate_deg_per_s: Some(2.0),
    };
    let req = Request {
        id: "1".into(),
        value: 1.0,
        visits: 1,
        duration_s: 600.0,
        spacing: None,
        target: Target::fixed(10.0, 20.0),
        windows: vec![vec![(window_start, 36_000.0)]],
        pinned: None,
        preference: None,
    };
    Problem::new("freeze", vec![tel], vec![req])
}

fn planned(p: &Problem) -> Plan {
    let mut plan = Plan::empty(p);
    let pl = best_over_telescopes(p, &mut plan, 0).unwrap();
    plan.commit(p, 0, &pl);
    plan
}

#[test]
fn imminent_work_is_frozen_and_later_work_is_not() {
    let p = problem(0.0);
    let plan = planned(&p);
    let end = plan.timelines[0].es[0] + 600.0;
    assert_eq!(frozen_until(&plan, 0.0), vec![end], "starts now: new work goes after it");
    let p = problem(3_000.0);
    let plan = planned(&p);
    assert_eq!(frozen_until(&plan, 0.0), vec![0.0], "starts in 50 min: not frozen");
}

#[test]
fn cutting_one_telescope_keeps_only_what_fits_after() {
    let mut p = problem(0.0);
    cut_telescope(&mut p, 0, 0, 35_500.0);
    assert!(p.requests[0].windows[0].is_empty(), "500 s left is shorter than the visit");
    let mut p = problem(0.0);
    cut_windows(&mut p, 0, 1_000.0);
    assert_eq!(p.requests[0].windows[0], vec![(1_000.0, 36_000.0)]);
}
