//! Changing a live plan without planning again: new work goes into the existing
//! timelines; nothing that starts before the freeze time moves unless forced.

use crate::construct::{best_over_telescopes, density_order};
use crate::model::{Problem, Time};
use crate::plan::{Placement, Plan};
use crate::timeline::{EPS, Slot};

/// How a rapid-response request got in.
#[derive(Debug, Clone, PartialEq)]
pub struct Urgent {
    pub telescope: usize,
    pub start: Time,
    /// Requests taken out to make room (some may have found a new place: see
    /// `replanned`).
    pub evicted: Vec<usize>,
    pub replanned: Vec<usize>,
}

/// Puts request `r` (single visit, unplanned) on the telescope where it can start
/// soonest at or after `now`. If that is later than `now + patience_s`, the work
/// that is in the way on that telescope (anything starting at or after `now`, value
/// lower than `r`'s) is taken out, `r` goes first, and the evicted requests are
/// offered the rest of the night again, best first. `None` if `r` cannot be observed
/// from `now` on any telescope before its windows close.
pub fn insert_urgent(
    p: &Problem,
    plan: &mut Plan,
    r: usize,
    now: Time,
    patience_s: f64,
) -> Option<Urgent> {
    let mut soonest: Option<(Placement, Time)> = None;
    for t in 0..p.telescopes.len() {
        if let Some(pl) = earliest_placement(p, plan, r, t, now)
            && soonest.as_ref().is_none_or(|(_, s)| pl.slots[0].1.lo.max(now) < *s)
        {
            let s = start_of(plan, &pl, now);
            soonest = Some((pl, s));
        }
    }
    if let Some((pl, s)) = &soonest
        && *s <= now + patience_s + EPS
    {
        let (tel, start) = (pl.tel, *s);
        plan.commit(p, r, pl);
        return Some(Urgent { telescope: tel, start, evicted: Vec::new(), replanned: Vec::new() });
    }
    // Make room where the target is up soonest.
    let req = &p.requests[r];
    let (tel, from) = (0..p.telescopes.len())
        .filter_map(|t| {
            req.windows[t].iter().find(|w| w.1 - req.duration_s >= now).map(|w| (t, w.0.max(now)))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let horizon = from + req.duration_s + 2.0 * max_transition(p, tel);
    let tl = &plan.timelines[tel];
    let evicted: Vec<usize> = tl
        .slots
        .iter()
        .enumerate()
        .filter(|(k, s)| {
            let q = &p.requests[s.req as usize];
            tl.es[*k] + s.dur >= now
                && tl.es[*k] <= horizon
                && q.pinned.is_none()
                && q.value <= req.value
        })
        .map(|(_, s)| s.req as usize)
        .collect();
    let mut evicted = evicted;
    evicted.sort_unstable();
    evicted.dedup();
    plan.remove_many(p, &evicted);
    let pl = earliest_placement(p, plan, r, tel, now)?;
    let start = start_of(plan, &pl, now);
    plan.commit(p, r, &pl);
    let order: Vec<usize> = density_order(p).into_iter().filter(|q| evicted.contains(q)).collect();
    let mut replanned = Vec::new();
    for q in order {
        if let Some(pl) = best_over_telescopes(p, plan, q) {
            plan.commit(p, q, &pl);
            replanned.push(q);
        }
    }
    Some(Urgent { telescope: tel, start, evicted, replanned })
}

/// The placement of single-visit request `r` on `tel` that starts soonest after `now`.
fn earliest_placement(
    p: &Problem,
    plan: &Plan,
    r: usize,
    tel: usize,
    now: Time,
) -> Option<Placement> {
    let req = &p.requests[r];
    let tl = &plan.timelines[tel];
    let settle = p.telescopes[tel].settle_s;
    let mut ks = Vec::new();
    for &(a, b) in &req.windows[tel] {
        let (lo, hi) = (a.max(now), b - req.duration_s);
        if lo > hi {
            continue;
        }
        tl.candidates(lo, hi, req.duration_s, settle, &mut ks);
        // Positions come in time order, so the first that fits is the soonest.
        for &k in &ks {
            if k < tl.len() && tl.ls[k] < now {
                continue;
            }
            if let Some(g) = tl.gap(p, tel, k, r as u32, req.duration_s, lo, hi) {
                let slot = Slot { req: r as u32, visit: 0, lo, hi, dur: req.duration_s };
                return Some(Placement { tel, slots: vec![(g.index, slot)], cost: g.cost });
            }
        }
    }
    None
}

/// When the placement's visit would start once committed.
fn start_of(plan: &Plan, pl: &Placement, now: Time) -> Time {
    let (k, slot) = pl.slots[0];
    let tl = &plan.timelines[pl.tel];
    let after_prev = if k > 0 { tl.es[k - 1] + tl.slots[k - 1].dur } else { f64::NEG_INFINITY };
    slot.lo.max(now).max(after_prev)
}

/// The longest transition the telescope can need (a slew across the sky).
fn max_transition(p: &Problem, tel: usize) -> f64 {
    p.telescopes[tel].transition(180.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pinned, Request, Target, Telescope};
    use crate::solve::{Options, solve};
    use crate::validate::validate;

    fn request(
        id: usize,
        value: f64,
        ra: f64,
        window: (f64, f64),
        pinned: Option<Pinned>,
    ) -> Request {
        Request {
            id: format!("R{id}"),
            value,
            visits: 1,
            duration_s: 600.0,
            spacing: None,
            target: Target::fixed(ra, 10.0),
            windows: vec![vec![window]],
            pinned,
            preference: None,
        }
    }

    /// A night full of low-value work, the first block pinned (it is running).
    fn busy_night() -> Problem {
        let tel = Telescope {
            id: "T".into(),
            night: (0.0, 36_000.0),
            settle_s: 20.0,
            rate_deg_per_s: Some(2.0),
        };
        let mut reqs: Vec<Request> = (0..80)
            .map(|i| request(i, 1.0, (i * 37 % 360) as f64, (0.0, 36_000.0), None))
            .collect();
        reqs[0].pinned = Some(Pinned { telescope: 0, starts: vec![10_000.0] });
        Problem::new("busy", vec![tel], reqs)
    }

    #[test]
    fn urgent_request_preempts_lower_value_work_but_not_the_running_block() {
        let mut p = busy_night();
        let mut plan = solve(&p, &Options { effort: Some(20_000), ..Options::default() }).plan;
        let now = 10_100.0; // R0 is running until 10 600
        let r = p.push_request(request(999, 10.0, 200.0, (9_000.0, 20_000.0), None));
        plan.add_request();
        let u = insert_urgent(&p, &mut plan, r, now, 60.0).expect("it is observable now");
        assert!(plan.is_planned(r) && plan.is_planned(0), "urgent in, running block kept");
        // Right after the running block and one slew.
        assert!(
            u.start <= 10_600.0 + p.telescopes[0].transition(180.0) + 1e-6,
            "starts at {}",
            u.start
        );
        assert!(!u.evicted.contains(&0));
        let (obs, dropped) = plan.observations(&p);
        assert!(dropped.is_empty());
        let report = validate(&p, &obs);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(report.value, plan.value);
    }

    #[test]
    fn urgent_request_goes_into_free_time_without_evicting() {
        let tel = Telescope {
            id: "T".into(),
            night: (0.0, 36_000.0),
            settle_s: 20.0,
            rate_deg_per_s: None,
        };
        let mut p = Problem::new(
            "empty",
            vec![tel],
            vec![request(0, 1.0, 0.0, (20_000.0, 30_000.0), None)],
        );
        let mut plan = solve(&p, &Options::default()).plan;
        let r = p.push_request(request(1, 5.0, 90.0, (0.0, 36_000.0), None));
        plan.add_request();
        let u = insert_urgent(&p, &mut plan, r, 5_000.0, 60.0).expect("free night");
        assert_eq!((u.start, u.evicted.len()), (5_000.0, 0));
    }

    #[test]
    fn never_observable_from_now_is_refused() {
        let mut p = busy_night();
        let mut plan = solve(&p, &Options { effort: Some(10_000), ..Options::default() }).plan;
        let r = p.push_request(request(999, 10.0, 200.0, (1_000.0, 2_000.0), None));
        plan.add_request();
        assert_eq!(insert_urgent(&p, &mut plan, r, 5_000.0, 60.0), None);
        assert!(!plan.is_planned(r));
    }
}
