//! Soft preferences choose among a visit's places in the sequence, and never veto
//! it, idle a telescope, or change what the plan earns.

use teld_schedule::{Options, Plan, Preference, Problem, Request, Target, Telescope, solve};

fn telescope() -> Telescope {
    Telescope { id: "t1".into(), night: (0.0, 7_200.0), settle_s: 10.0, rate_deg_per_s: Some(2.0) }
}

fn request(id: &str, preference: Option<Preference>) -> Request {
    Request {
        id: id.into(),
        value: 1.0,
        visits: 1,
        duration_s: 600.0,
        spacing: None,
        target: Target::fixed(10.0, 20.0),
        windows: vec![vec![(0.0, 7_200.0)]],
        pinned: None,
        preference,
    }
}

/// 1 000 s of penalty in the first ten minutes (`early`) or after them.
fn bad_in(early: bool) -> Preference {
    let row = (0..=120).map(|k| if (k < 10) == early { 1_000.0 } else { 0.0 }).collect();
    Preference::new(0.0, 60.0, vec![row])
}

fn place(p: &Problem, plan: &mut Plan, r: usize) {
    let pl = plan.best_placement(p, r, 0).unwrap();
    plan.commit(p, r, &pl);
}

#[test]
fn the_order_follows_the_preference() {
    // Two equal visits: with nothing to choose between, a newcomer goes first. B is
    // bad early and A bad late, so with preferences B goes after A.
    let both =
        |a, b| Problem::new("pref", vec![telescope()], vec![request("A", a), request("B", b)]);
    let order = |p: &Problem| {
        let mut plan = Plan::empty(p);
        place(p, &mut plan, 0);
        place(p, &mut plan, 1);
        assert_eq!(plan.timelines[0].es[0], 0.0, "no idle wait before the first visit");
        plan.timelines[0].slots.iter().map(|s| s.req).collect::<Vec<u32>>()
    };
    assert_eq!(order(&both(None, None)), [1, 0], "without preferences");
    assert_eq!(order(&both(Some(bad_in(false)), Some(bad_in(true)))), [0, 1], "with them");
}

#[test]
fn a_visit_is_not_held_back_for_a_better_place() {
    let p = Problem::new("idle", vec![telescope()], vec![request("A", Some(bad_in(true)))]);
    let mut plan = Plan::empty(&p);
    place(&p, &mut plan, 0);
    assert_eq!(plan.timelines[0].es[0], 0.0);
}

#[test]
fn a_preference_never_costs_value() {
    // Eleven 10-minute visits fill 7 200 s only if some sit in the penalised time.
    let reqs: Vec<Request> =
        (0..11).map(|i| request(&format!("r{i}"), Some(bad_in(i % 2 == 0)))).collect();
    let p = Problem::new("full", vec![telescope()], reqs);
    let out = solve(&p, &Options { seed: 1, effort: Some(20_000), ..Default::default() });
    assert_eq!(out.value, 11.0, "every request still planned: {}", out.value);
}

#[test]
fn the_penalty_is_read_at_the_nearest_sample_and_zero_outside() {
    let pref = Preference::new(100.0, 60.0, vec![vec![5.0, 7.0], vec![]]);
    assert_eq!(pref.at(0, 100.0), 5.0);
    assert_eq!(pref.at(0, 140.0), 7.0);
    assert_eq!(pref.at(0, 50.0), 0.0);
    assert_eq!(pref.at(0, 1_000.0), 0.0);
    assert_eq!(pref.at(1, 100.0), 0.0);
    assert_eq!(pref.at(2, 100.0), 0.0);
}
