//! Large-neighbourhood search: ruin part of the plan, recreate it greedily with
//! noise, keep the result if it is not worse (or, early on, sometimes even if it is),
//! and remember the best plan seen.

use crate::construct::{best_on, density};
use crate::index::TimeIndex;
use crate::model::{Problem, Time};
use crate::plan::Plan;
use crate::rng::Rng;

/// When the search stops: after `iterations` rounds or `work` places examined,
/// whichever comes first (both deterministic), or at the `deadline` (a safety stop).
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub iterations: Option<u64>,
    pub work: Option<u64>,
    pub deadline: Option<std::time::Instant>,
}

impl Budget {
    fn progress(&self, it: u64, work: u64) -> f64 {
        let a = self.iterations.map_or(0.0, |n| it as f64 / n.max(1) as f64);
        let b = self.work.map_or(0.0, |n| work as f64 / n.max(1) as f64);
        a.max(b)
    }
}

pub struct Search<'a> {
    p: &'a Problem,
    index: TimeIndex,
    density: Vec<f64>,
    rng: Rng,
    seen: Vec<u32>,
    stamp: u32,
}

/// Most candidates tried in one repair: the densest (with noise) of those that could
/// use the freed time (24 did better per CPU second than 12 or 48 on the generators'
/// instances).
const MAX_CANDIDATES: usize = 24;

/// Initial annealing temperature as a share of the largest request value (0.05–0.1
/// did best; 0 gets stuck, 0.3 and above wanders).
const TEMPERATURE: f64 = 0.1;

impl<'a> Search<'a> {
    pub fn new(p: &'a Problem, seed: u64) -> Self {
        let density = (0..p.requests.len()).map(|r| density(p, r)).collect();
        Search {
            p,
            index: TimeIndex::new(p),
            density,
            rng: Rng::new(seed),
            seen: vec![0; p.requests.len()],
            stamp: 0,
        }
    }

    /// Runs `iterations` rounds from `start`; returns the best plan found and the
    /// rounds done.
    pub fn run(&mut self, start: Plan, budget: &Budget) -> (Plan, u64) {
        let p = self.p;
        let mut current = start;
        let mut best = current.clone();
        let scale = p.requests.iter().map(|r| r.value).fold(0.0, f64::max).max(1.0);
        let work0 = current.work;
        let mut done = 0;
        for it in 0.. {
            let progress = budget.progress(it, current.work - work0);
            if progress >= 1.0
                || (it % 64 == 0 && budget.deadline.is_some_and(|d| std::time::Instant::now() >= d))
            {
                break;
            }
            done = it + 1;
            let (v0, s0) = (current.value, current.slew());
            current.begin();
            let region = self.ruin(&mut current);
            self.recreate(&mut current, &region);
            // Annealing on value: accept a small loss with decreasing probability
            // as the search goes on; equal value is accepted when it does not slew
            // more.
            let temp = TEMPERATURE * scale * (1.0 - progress).powi(2);
            let dv = current.value - v0;
            let accept = if dv > 1e-9 {
                true
            } else if dv > -1e-9 {
                current.slew() <= s0 + 1e-9
            } else {
                temp > 0.0 && self.rng.f64() < (dv / temp).exp()
            };
            if !accept {
                current.rollback();
                continue;
            }
            current.keep();
            if current.value > best.value + 1e-9
                || (current.value > best.value - 1e-9 && current.slew() < best.slew() - 1e-9)
            {
                best = current.clone();
            }
        }
        (best, done)
    }

    /// Removes some requests; returns the touched (telescope, start, end) regions.
    fn ruin(&mut self, plan: &mut Plan) -> Vec<(usize, Time, Time)> {
        let p = self.p;
        let busy: Vec<usize> =
            (0..plan.timelines.len()).filter(|&t| !plan.timelines[t].is_empty()).collect();
        if busy.is_empty() {
            return (0..p.telescopes.len())
                .map(|t| (t, p.telescopes[t].night.0, p.telescopes[t].night.1))
                .collect();
        }
        let t = busy[self.rng.below(busy.len())];
        let tl = &plan.timelines[t];
        let centre = tl.es[self.rng.below(tl.len())];
        let mut victims: Vec<usize> = Vec::new();
        let movable = |r: u32| p.requests[r as usize].pinned.is_none();
        let op = self.rng.f64();
        if op < 0.6 {
            // A stretch of one telescope's night.
            let half = self.rng.range(600.0, 4800.0) / 2.0;
            for (k, s) in tl.slots.iter().enumerate() {
                if (tl.es[k] - centre).abs() <= half && movable(s.req) {
                    victims.push(s.req as usize);
                }
            }
        } else if op < 0.75 {
            // The same hours on every telescope, so work can change telescopes.
            let half = self.rng.range(600.0, 2400.0) / 2.0;
            for tl in &plan.timelines {
                for (k, s) in tl.slots.iter().enumerate() {
                    if (tl.es[k] - centre).abs() <= half && movable(s.req) {
                        victims.push(s.req as usize);
                    }
                }
            }
        } else {
            // A few random requests of that telescope, spread over the night.
            let n = 2 + self.rng.below(6);
            for _ in 0..n {
                let s = tl.slots[self.rng.below(tl.len())];
                if movable(s.req) {
                    victims.push(s.req as usize);
                }
            }
        }
        victims.sort_unstable();
        victims.dedup();
        self.stamp_next();
        for &r in &victims {
            self.seen[r] = self.stamp;
        }
        let mut regions = Vec::new();
        for (tel, tl) in plan.timelines.iter().enumerate() {
            for (k, s) in tl.slots.iter().enumerate() {
                if self.seen[s.req as usize] == self.stamp {
                    regions.push((tel, tl.es[k] - 1800.0, tl.es[k] + s.dur + 1800.0));
                }
            }
        }
        plan.remove_many(p, &victims);
        regions
    }

    fn stamp_next(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
    }

    /// Re-inserts, densest first with noise, the requests that could use the freed time.
    fn recreate(&mut self, plan: &mut Plan, regions: &[(usize, Time, Time)]) {
        let p = self.p;
        self.stamp_next();
        let mut cands = Vec::new();
        let mut tels: Vec<usize> = regions.iter().map(|r| r.0).collect();
        tels.sort_unstable();
        tels.dedup();
        for &(t, a, b) in regions {
            self.index.query(t, a, b, &mut self.seen, self.stamp, &mut cands);
        }
        cands.retain(|&r| !plan.is_planned(r) && p.requests[r].pinned.is_none());
        let noise = 0.35;
        let mut keyed: Vec<(f64, usize)> = cands
            .iter()
            .map(|&r| (self.density[r] * (1.0 + noise * (self.rng.f64() - 0.5)), r))
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        keyed.truncate(MAX_CANDIDATES);
        for (_, r) in keyed {
            if let Some(pl) = best_on(p, plan, r, &tels) {
                plan.commit(p, r, &pl);
            }
        }
    }
}
