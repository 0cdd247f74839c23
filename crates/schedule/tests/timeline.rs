//! The timeline's incremental bookkeeping against from-scratch recomputation, and its
//! O(1) fit test against an explicit left-justified schedule.

mod common;

use common::{Draw, Rng, ephemeris, rng, spec, telescope};
use teld_schedule::model::Time;
use teld_schedule::timeline::{EPS, Slot, Timeline, exact_transition, transition};
use teld_schedule::{Problem, Target, Telescope};

const TOL: f64 = 1e-6;
const NREQ: usize = 40;

/// Three slew models (constant, settle + rate, rate only) with different nights.
fn telescopes() -> Vec<Telescope> {
    vec![
        telescope("const", (0.0, 30_000.0), 60.0, None),
        telescope("rate", (3_600.0, 36_000.0), 20.0, Some(1.5)),
        telescope("fast", (-1_800.0, 20_000.0), 0.0, Some(0.5)),
    ]
}

/// Requests of which the timeline reads only the targets (slots carry the windows).
fn problem(seed: u64, moving: bool) -> Problem {
    let mut rng = rng(seed);
    let tels = telescopes();
    let requests = (0..NREQ)
        .map(|i| {
            let target = if moving && i % 2 == 1 {
                // Up to 30 deg/day, the generator's fastest movers.
                ephemeris(&mut rng, -3_600.0, 40_000.0, (i % 7) as f64 * 5.0)
            } else {
                Target::fixed(rng.range(0.0, 360.0), rng.range(-60.0, 60.0))
            };
            spec(&format!("R{i}"), 1.0, 60.0).at(target).on(&tels)
        })
        .collect();
    Problem::new("timeline", tels, requests)
}

/// A slot whose window sometimes reaches past the night, so the night limits bite.
fn random_slot(rng: &mut Rng, req: usize, visit: u32, night: (Time, Time)) -> Slot {
    let dur = rng.grid(60.0, 900.0);
    let lo = rng.grid(night.0 - 3_600.0, night.1);
    let hi = lo + rng.grid(0.0, 4.0 * 3_600.0);
    Slot { req: req as u32, visit, lo, hi, dur }
}

/// es, ls and tin from the slots alone, written as the module doc defines them.
fn reference(p: &Problem, tel: usize, slots: &[Slot]) -> (Vec<Time>, Vec<Time>, Vec<f64>) {
    let (n0, n1) = p.telescopes[tel].night;
    let n = slots.len();
    let tin: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 { 0.0 } else { transition(p, tel, slots[i - 1].req, 0.0, slots[i].req, 0.0) }
        })
        .collect();
    let mut es = vec![0.0; n];
    for i in 0..n {
        es[i] = slots[i].lo.max(n0);
        if i > 0 {
            es[i] = es[i].max(es[i - 1] + slots[i - 1].dur + tin[i]);
        }
    }
    let mut ls = vec![0.0; n];
    for i in (0..n).rev() {
        ls[i] = slots[i].hi.min(n1 - slots[i].dur);
        if i + 1 < n {
            ls[i] = ls[i].min(ls[i + 1] - tin[i + 1] - slots[i].dur);
        }
    }
    (es, ls, tin)
}

/// Whether the sequence can run at all: every left-justified start is within its slot's
/// upper bound and the night.
fn fits(p: &Problem, tel: usize, slots: &[Slot]) -> bool {
    let (n0, n1) = p.telescopes[tel].night;
    let mut end = f64::NEG_INFINITY;
    for (i, s) in slots.iter().enumerate() {
        let tin = if i == 0 { 0.0 } else { transition(p, tel, slots[i - 1].req, 0.0, s.req, 0.0) };
        let start = s.lo.max(n0).max(end + tin);
        if start > s.hi.min(n1 - s.dur) + EPS {
            return false;
        }
        end = start + s.dur;
    }
    true
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOL, "{what}[{i}]: {g} vs {w}\n got {got:?}\nwant {want:?}");
    }
}

fn assert_matches_reference(p: &Problem, tel: usize, tl: &Timeline) {
    let (es, ls, tin) = reference(p, tel, &tl.slots);
    assert_close("es", &tl.es, &es);
    assert_close("ls", &tl.ls, &ls);
    assert_close("tin", &tl.tin, &tin);
    let slew: f64 = tin.iter().sum();
    assert!((tl.slew - slew).abs() <= TOL, "slew {} vs {slew}", tl.slew);
    // The same slots inserted in order, with no history of edits.
    let mut fresh = Timeline::default();
    for (i, &s) in tl.slots.iter().enumerate() {
        fresh.insert(p, tel, i, s);
    }
    assert_close("es (fresh)", &tl.es, &fresh.es);
    assert_close("ls (fresh)", &tl.ls, &fresh.ls);
    assert_close("tin (fresh)", &tl.tin, &fresh.tin);
    // The exact starts never need more than was reserved, and barely less.
    for (i, (x, e)) in tl.starts(p, tel).iter().zip(&tl.es).enumerate() {
        assert!(*x <= e + 1e-9 && e - x < 1e-3, "start {i}: exact {x}, planned {e}");
    }
}

/// Random inserts, single removals and batch removals, checking after every edit.
/// `check` sees the timeline after each one.
fn random_edits(p: &Problem, tel: usize, seed: u64, steps: usize, check: impl Fn(&Timeline)) {
    let mut rng = rng(seed);
    let night = p.telescopes[tel].night;
    let mut tl = Timeline::default();
    let mut visits = [0u32; NREQ];
    for _ in 0..steps {
        let op = rng.f64();
        if op < 0.55 || tl.is_empty() {
            let req = rng.int(0, NREQ as i64 - 1) as usize;
            let slot = random_slot(&mut rng, req, visits[req], night);
            visits[req] += 1;
            let index = rng.int(0, tl.len() as i64) as usize;
            tl.insert(p, tel, index, slot);
        } else if op < 0.85 {
            let index = rng.int(0, tl.len() as i64 - 1) as usize;
            tl.remove_at(p, tel, index);
        } else {
            // Whole requests go at once, as when the search ruins them.
            let mut gone = vec![false; NREQ];
            for _ in 0..rng.int(1, 3) {
                let k = rng.int(0, tl.len() as i64 - 1) as usize;
                gone[tl.slots[k].req as usize] = true;
            }
            tl.remove_flagged(p, tel, &gone);
            assert!(tl.slots.iter().all(|s| !gone[s.req as usize]), "flagged slot left");
        }
        check(&tl);
    }
}

#[test]
fn edits_keep_timing_equal_to_recomputation() {
    for seed in 0..6 {
        let p = problem(seed, false);
        for tel in 0..p.telescopes.len() {
            random_edits(&p, tel, seed * 10 + tel as u64, 150, |tl| {
                assert_matches_reference(&p, tel, tl)
            });
        }
    }
}

/// Moving targets' transitions depend on when they were computed, so a fresh build
/// may differ; what must hold is that es, ls and slew agree with the stored `tin`.
#[test]
fn edits_with_moving_targets_keep_timing_consistent_with_transitions() {
    for seed in 0..4 {
        let p = problem(100 + seed, true);
        for tel in 0..p.telescopes.len() {
            let (n0, n1) = p.telescopes[tel].night;
            let settle = p.telescopes[tel].settle_s;
            random_edits(&p, tel, seed * 10 + tel as u64, 150, |tl| {
                let s = &tl.slots;
                let n = s.len();
                let mut es = vec![0.0; n];
                let mut ls = vec![0.0; n];
                for i in 0..n {
                    let prev = if i == 0 {
                        f64::NEG_INFINITY
                    } else {
                        es[i - 1] + s[i - 1].dur + tl.tin[i]
                    };
                    es[i] = s[i].lo.max(n0).max(prev);
                }
                for i in (0..n).rev() {
                    let next = if i + 1 == n {
                        f64::INFINITY
                    } else {
                        ls[i + 1] - tl.tin[i + 1] - s[i].dur
                    };
                    ls[i] = s[i].hi.min(n1 - s[i].dur).min(next);
                }
                assert_close("es", &tl.es, &es);
                assert_close("ls", &tl.ls, &ls);
                assert!(n == 0 || tl.tin[0] == 0.0, "transition before the first slot");
                assert!(tl.tin.iter().skip(1).all(|&t| t >= settle), "transition below settle");
                let slew: f64 = tl.tin.iter().sum();
                assert!((tl.slew - slew).abs() <= TOL, "slew {} vs {slew}", tl.slew);
            });
        }
    }
}

/// A feasible timeline of random slots: each kept only if the sequence still fits.
fn feasible_timeline(p: &Problem, tel: usize, rng: &mut Rng, tries: usize) -> Timeline {
    let night = p.telescopes[tel].night;
    let mut tl = Timeline::default();
    for _ in 0..tries {
        let req = rng.int(0, NREQ as i64 - 1) as usize;
        let mut slot = random_slot(rng, req, 0, night);
        slot.dur = rng.grid(60.0, 300.0);
        let index = rng.int(0, tl.len() as i64) as usize;
        tl.insert(p, tel, index, slot);
        if !fits(p, tel, &tl.slots) {
            tl.remove_at(p, tel, index);
        }
    }
    assert!(tl.feasible());
    tl
}

#[test]
fn gap_accepts_exactly_the_positions_where_the_visit_fits() {
    let (mut accepted, mut refused) = (0, 0);
    for seed in 0..8 {
        let p = problem(200 + seed, false);
        let mut rng = rng(seed);
        for tel in 0..p.telescopes.len() {
            let (n0, n1) = p.telescopes[tel].night;
            let settle = p.telescopes[tel].settle_s;
            let tl = feasible_timeline(&p, tel, &mut rng, 60);
            assert_matches_reference(&p, tel, &tl);
            let mut cands = Vec::new();
            for _ in 0..60 {
                let req = rng.int(0, NREQ as i64 - 1) as u32;
                let s = random_slot(&mut rng, req as usize, 0, (n0, n1));
                tl.candidates(s.lo, s.hi, s.dur, settle, &mut cands);
                for index in 0..=tl.len() {
                    let mut with = tl.slots.clone();
                    with.insert(index, s);
                    let want = fits(&p, tel, &with);
                    let got = tl.gap(&p, tel, index, req, s.dur, s.lo, s.hi);
                    assert_eq!(
                        got.is_some(),
                        want,
                        "tel {tel} index {index} slot {s:?}: gap {got:?}"
                    );
                    let Some(g) = got else {
                        refused += 1;
                        continue;
                    };
                    accepted += 1;
                    assert!(cands.contains(&index), "candidates {cands:?} miss {index}");
                    // The interval it reports is the inserted slot's own es and ls, and
                    // its cost the telescope time the insertion consumes.
                    let (es, ls, tin) = reference(&p, tel, &with);
                    assert!(
                        (g.earliest - es[index]).abs() <= TOL,
                        "earliest {g:?} vs {}",
                        es[index]
                    );
                    assert!((g.latest - ls[index]).abs() <= TOL, "latest {g:?} vs {}", ls[index]);
                    let cost = tin.iter().sum::<f64>() - tl.slew + s.dur;
                    assert!((g.cost - cost).abs() <= TOL, "cost {g:?} vs {cost}");
                    assert!(
                        g.earliest >= s.lo.max(n0) - EPS && g.latest <= s.hi.min(n1 - s.dur) + EPS
                    );
                }
            }
        }
    }
    // Both answers must be exercised for the equivalence to mean anything.
    assert!(accepted > 500 && refused > 500, "accepted {accepted}, refused {refused}");
}

#[test]
fn night_limits_bound_earliest_and_latest_starts() {
    let p = problem(7, false);
    let tel = 1;
    let (n0, n1) = p.telescopes[tel].night;
    let mut tl = Timeline::default();
    // Windows wider than the night on both sides.
    tl.insert(
        &p,
        tel,
        0,
        Slot { req: 0, visit: 0, lo: n0 - 5_000.0, hi: n1 + 5_000.0, dur: 600.0 },
    );
    assert_eq!(tl.es[0], n0);
    assert_eq!(tl.ls[0], n1 - 600.0);
    let g = tl.gap(&p, tel, 1, 1, 300.0, n0 - 9_000.0, n1 + 9_000.0).expect("room after");
    assert!(g.earliest >= n0 + 600.0 + p.telescopes[tel].settle_s);
    assert!((g.latest - (n1 - 300.0)).abs() <= TOL);
    let g = tl.gap(&p, tel, 0, 1, 300.0, n0 - 9_000.0, n1 + 9_000.0).expect("room before");
    assert_eq!(g.earliest, n0);
    // Wholly before the night, wholly after it, or longer than it: nowhere.
    assert_eq!(tl.gap(&p, tel, 0, 1, 300.0, n0 - 9_000.0, n0 - 1.0), None);
    assert_eq!(tl.gap(&p, tel, 1, 1, 300.0, n1 - 299.0, n1 + 9_000.0), None);
    let empty = Timeline::default();
    assert_eq!(empty.gap(&p, tel, 0, 1, n1 - n0 + 60.0, n0, n1), None);
    assert!(empty.gap(&p, tel, 0, 1, n1 - n0, n0, n1).is_some(), "exactly the night fits");
}

#[test]
fn window_limits_bound_earliest_and_latest_starts() {
    let p = problem(8, false);
    let tel = 0; // constant 60 s transitions: every number below is exact
    let mut tl = Timeline::default();
    tl.insert(&p, tel, 0, Slot { req: 0, visit: 0, lo: 10_000.0, hi: 10_000.0, dur: 600.0 });
    tl.insert(&p, tel, 1, Slot { req: 1, visit: 0, lo: 12_000.0, hi: 13_000.0, dur: 600.0 });
    assert_eq!(
        (tl.es.clone(), tl.ls.clone()),
        (vec![10_000.0, 12_000.0], vec![10_000.0, 13_000.0])
    );
    // Between them: after 10 600 + 60, ending 60 before 13 000.
    let g = tl.gap(&p, tel, 1, 2, 300.0, 0.0, 20_000.0).expect("fits between");
    assert_eq!((g.earliest, g.latest), (10_660.0, 12_640.0));
    assert_eq!(g.cost, 60.0 + 300.0 + 60.0 - 60.0);
    // Its own window narrows that, and one outside the gap is refused.
    let g = tl.gap(&p, tel, 1, 2, 300.0, 11_000.0, 11_500.0).expect("window inside");
    assert_eq!((g.earliest, g.latest), (11_000.0, 11_500.0));
    assert_eq!(tl.gap(&p, tel, 1, 2, 300.0, 12_641.0, 20_000.0), None);
    assert_eq!(tl.gap(&p, tel, 1, 2, 300.0, 0.0, 10_659.0), None);
    // Inserting it shrinks the neighbours' freedom exactly by what it takes.
    tl.insert(&p, tel, 1, Slot { req: 2, visit: 0, lo: 11_000.0, hi: 11_500.0, dur: 300.0 });
    assert_eq!(tl.es, vec![10_000.0, 11_000.0, 12_000.0]);
    assert_eq!(tl.ls, vec![10_000.0, 11_500.0, 13_000.0]);
    assert_eq!(tl.slew, 120.0);
    assert!(tl.feasible());
}

/// The planner reserves at least what the exact rules need between fixed targets, so
/// a plan never has to move when its times are made exact.
#[test]
fn planned_transitions_cover_exact_ones() {
    let p = problem(9, false);
    for tel in 0..p.telescopes.len() {
        for a in 0..NREQ as u32 {
            for b in 0..NREQ as u32 {
                let plan = transition(&p, tel, a, 0.0, b, 0.0);
                let exact = exact_transition(&p, tel, a, 0.0, b, 0.0);
                assert!(
                    plan >= exact && plan - exact < 1e-3,
                    "{a}->{b} on {tel}: {plan} vs {exact}"
                );
            }
        }
    }
}

/// A timeline whose last transition is stale: B (moving) then C, with A then inserted
/// before B, pushing it hours later. C's window is cut to the one-second start the stale
/// transition gives it, which is returned too.
fn stale_night() -> (Problem, Timeline, Time) {
    let tels = vec![telescope("slow", (0.0, 36_000.0), 5.0, Some(0.1))];
    // B runs east at 30 deg/day from RA 10, away from C at RA 0.
    let rows = (0..80).map(|i| (10.0 + i as f64 * 30.0 / 144.0, 0.0)).collect();
    let targets =
        [Target::fixed(40.0, 0.0), Target::ephemeris(0.0, 600.0, rows), Target::fixed(0.0, 0.0)];
    let requests = ["A", "B", "C"]
        .iter()
        .zip(targets)
        .zip([1.0, 2.0, 3.0])
        .map(|((id, target), value)| spec(id, value, 60.0).at(target).on(&tels))
        .collect();
    let mut p = Problem::new("stale", tels, requests);
    let slot = |req: u32, lo: Time, hi: Time| Slot { req, visit: 0, lo, hi, dur: 60.0 };
    // B, then C after it (its transition from B at 0 s), then A before B.
    let build = |p: &Problem, c_at: Option<Time>| {
        let mut tl = Timeline::default();
        tl.insert(p, 0, 0, slot(1, 0.0, 30_000.0));
        let (lo, hi) = c_at.map_or((0.0, 30_000.0), |t| (t, t));
        tl.insert(p, 0, 1, slot(2, lo, hi));
        tl.insert(p, 0, 0, slot(0, 4_000.0, 4_000.0));
        tl
    };
    // C's latest start is exactly where the stale transition puts it.
    let c_at = build(&p, None).es[2];
    let tl = build(&p, Some(c_at));
    p.requests[2].windows = vec![vec![(c_at, c_at + 60.0)]];
    (p, tl, c_at)
}

/// A moving target's transition is computed once, when its neighbour changes; if the
/// target is then pushed later (here by a long visit inserted before it) and moves away
/// from its successor, the reserved transition is too short. The exact pass must drop
/// the successor rather than let it start after its window.
#[test]
fn exact_pass_drops_a_visit_a_stale_transition_pushed_out_of_its_window() {
    let (p, tl, c_at) = stale_night();
    assert!(tl.feasible());
    let exact = tl.starts(&p, 0);
    assert!(exact[2] > c_at + 1.0, "B's drift should cost seconds: {} vs {c_at}", exact[2]);

    let mut plan = teld_schedule::Plan::empty(&p);
    plan.timelines[0] = tl;
    plan.assigned = vec![Some(0); 3];
    plan.value = 6.0;
    let (obs, dropped) = plan.observations(&p);
    assert_eq!(dropped, vec![2]);
    assert_eq!(obs.iter().map(|o| o.request).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!((plan.value, plan.assigned[2]), (3.0, None));
    let rep = teld_schedule::validate::validate(&p, &obs);
    assert!(rep.violations.is_empty(), "{:?}", rep.violations);
    assert_eq!(rep.value, 3.0);
}

/// After `refresh` the planned times are the exact ones (never earlier, within the
/// planning margin), so the stale timeline shows itself infeasible and a visit placed
/// on it is placed on true times.
#[test]
fn refresh_brings_stale_transitions_up_to_date() {
    let (p, mut tl, c_at) = stale_night();
    let exact = tl.starts(&p, 0);
    tl.refresh(&p, 0);
    for (i, (x, e)) in exact.iter().zip(&tl.es).enumerate() {
        assert!(*x <= e + 1e-9 && e - x < 0.02, "start {i}: exact {x}, planned {e}");
    }
    assert!(tl.es[2] > c_at + 1.0, "C's start {} vs {c_at}", tl.es[2]);
    assert!(!tl.feasible(), "C cannot start in its one second any more");
    // Timing agrees with the refreshed transitions, and nothing changes on a second pass.
    for i in 1..tl.len() {
        let want = tl.slots[i].lo.max(tl.es[i - 1] + tl.slots[i - 1].dur + tl.tin[i]);
        assert!((tl.es[i] - want).abs() <= TOL, "es[{i}] {} vs {want}", tl.es[i]);
    }
    assert!((tl.slew - tl.tin.iter().sum::<f64>()).abs() <= TOL);
    let once = (tl.es.clone(), tl.ls.clone(), tl.tin.clone());
    tl.refresh(&p, 0);
    assert_eq!((tl.es.clone(), tl.ls.clone(), tl.tin.clone()), once);
}
