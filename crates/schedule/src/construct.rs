//! Greedy construction: requests by value density, each into its cheapest place.

use crate::model::Problem;
use crate::plan::{Placement, Plan};

/// Value per second of telescope time a request needs, on its best telescope: the
/// greedy order and the LNS repair order (with noise).
pub fn density(p: &Problem, r: usize) -> f64 {
    let req = &p.requests[r];
    let settle = p
        .telescopes
        .iter()
        .enumerate()
        .filter(|(t, _)| req.visible_on(*t))
        .map(|(_, t)| t.settle_s)
        .fold(f64::INFINITY, f64::min);
    if !settle.is_finite() {
        return 0.0;
    }
    req.value / req.footprint(settle)
}

/// The best placement of `r` over all telescopes (least telescope time consumed).
pub fn best_over_telescopes(p: &Problem, plan: &mut Plan, r: usize) -> Option<Placement> {
    let all: Vec<usize> = (0..p.telescopes.len()).collect();
    best_on(p, plan, r, &all)
}

/// The best placement of `r` on one of `tels`.
pub fn best_on(p: &Problem, plan: &mut Plan, r: usize, tels: &[usize]) -> Option<Placement> {
    let mut best: Option<Placement> = None;
    for &t in tels {
        if let Some(pl) = plan.best_placement(p, r, t)
            && best.as_ref().is_none_or(|b| pl.cost < b.cost)
        {
            best = Some(pl);
        }
    }
    best
}

/// Inserts every request it can, densest first.
pub fn greedy(p: &Problem, plan: &mut Plan, order: &[usize]) {
    for &r in order {
        if plan.is_planned(r) || p.requests[r].pinned.is_some() {
            continue;
        }
        if let Some(pl) = best_over_telescopes(p, plan, r) {
            plan.commit(p, r, &pl);
        }
    }
}

pub fn density_order(p: &Problem) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.requests.len()).collect();
    let d: Vec<f64> = order.iter().map(|&r| density(p, r)).collect();
    order.sort_by(|&a, &b| d[b].total_cmp(&d[a]).then(a.cmp(&b)));
    order
}
