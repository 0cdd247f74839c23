//! A plan: a timeline per telescope and which requests it completes, with a journal
//! so the search can try a change and take it back cheaply.

use crate::instance::Observation;
use crate::model::{Problem, Time};
use crate::timeline::{EPS, Gap, Slot, Timeline, pin_slack};

#[derive(Debug)]
pub struct Plan {
    pub timelines: Vec<Timeline>,
    /// Telescope each request is on, if planned.
    pub assigned: Vec<Option<u16>>,
    pub value: f64,
    /// Places examined so far: the planner's deterministic measure of effort.
    pub work: u64,
    journal: Journal,
    scratch: Vec<usize>,
}

/// What a trial changed: the timelines as they were before it touched them, and the
/// assignments it overwrote, in order.
#[derive(Debug, Default)]
struct Journal {
    active: bool,
    saved: Vec<Timeline>,
    saved_flag: Vec<bool>,
    assigned: Vec<(u32, Option<u16>)>,
    value: f64,
}

impl Clone for Plan {
    fn clone(&self) -> Plan {
        Plan {
            timelines: self.timelines.clone(),
            assigned: self.assigned.clone(),
            value: self.value,
            work: self.work,
            journal: Journal::default(),
            scratch: Vec::new(),
        }
    }
}

/// A complete placement of one request: every visit's slot and where it goes.
#[derive(Debug, Clone)]
pub struct Placement {
    pub tel: usize,
    /// (insert position, slot) in increasing start order; each position is valid once
    /// the slots before it in this list are inserted.
    pub slots: Vec<(usize, Slot)>,
    /// Telescope time consumed: durations plus the change in transitions.
    pub cost: f64,
}

impl Plan {
    pub fn empty(p: &Problem) -> Plan {
        Plan {
            timelines: vec![Timeline::default(); p.telescopes.len()],
            assigned: vec![None; p.requests.len()],
            value: 0.0,
            work: 0,
            journal: Journal::default(),
            scratch: Vec::new(),
        }
    }

    /// Makes room for a request appended with [`Problem::push_request`].
    pub fn add_request(&mut self) {
        self.assigned.push(None);
    }

    pub fn is_planned(&self, r: usize) -> bool {
        self.assigned[r].is_some()
    }

    /// Σ transitions as planned (moving targets approximated; see `timeline`).
    pub fn slew(&self) -> f64 {
        self.timelines.iter().map(|t| t.slew).sum()
    }

    /// Starts recording changes so that [`Plan::rollback`] can undo them.
    pub fn begin(&mut self) {
        let n = self.timelines.len();
        let j = &mut self.journal;
        j.saved.resize_with(n, Timeline::default);
        j.saved_flag.clear();
        j.saved_flag.resize(n, false);
        j.assigned.clear();
        j.value = self.value;
        j.active = true;
    }

    /// Keeps the changes since [`Plan::begin`].
    pub fn keep(&mut self) {
        self.journal.active = false;
    }

    /// Undoes the changes since [`Plan::begin`].
    pub fn rollback(&mut self) {
        let j = &mut self.journal;
        for t in 0..self.timelines.len() {
            if j.saved_flag[t] {
                std::mem::swap(&mut self.timelines[t], &mut j.saved[t]);
            }
        }
        for &(r, old) in j.assigned.iter().rev() {
            self.assigned[r as usize] = old;
        }
        self.value = j.value;
        j.active = false;
    }

    fn touch(&mut self, t: usize) {
        let j = &mut self.journal;
        if j.active && !j.saved_flag[t] {
            j.saved[t].clone_from(&self.timelines[t]);
            j.saved_flag[t] = true;
        }
    }

    fn assign(&mut self, r: usize, to: Option<u16>) {
        if self.journal.active {
            self.journal.assigned.push((r as u32, self.assigned[r]));
        }
        self.assigned[r] = to;
    }

    pub fn commit(&mut self, p: &Problem, r: usize, pl: &Placement) {
        self.touch(pl.tel);
        let tl = &mut self.timelines[pl.tel];
        for &(index, slot) in &pl.slots {
            tl.insert(p, pl.tel, index, slot);
        }
        self.assign(r, Some(pl.tel as u16));
        self.value += p.requests[r].value;
    }

    pub fn remove(&mut self, p: &Problem, r: usize) {
        self.remove_many(p, &[r]);
    }

    /// Removes several requests with one pass per telescope touched.
    pub fn remove_many(&mut self, p: &Problem, rs: &[usize]) {
        let mut gone = vec![false; p.requests.len()];
        let mut touched = vec![false; self.timelines.len()];
        for &r in rs {
            if let Some(t) = self.assigned[r] {
                touched[t as usize] = true;
                gone[r] = true;
                self.value -= p.requests[r].value;
                self.assign(r, None);
            }
        }
        for (t, &hit) in touched.iter().enumerate() {
            if hit {
                self.touch(t);
                self.timelines[t].remove_flagged(p, t, &gone);
            }
        }
    }

    /// Puts every pinned request where it is pinned, whatever it costs: these are
    /// facts (a block running or about to), not choices.
    pub fn place_pinned(&mut self, p: &Problem) {
        for (r, req) in p.requests.iter().enumerate() {
            let Some(pin) = &req.pinned else { continue };
            if self.is_planned(r) {
                continue;
            }
            let t = pin.telescope;
            self.touch(t);
            let tl = &mut self.timelines[t];
            for (v, &s) in pin.starts.iter().enumerate() {
                let k = tl.slots.partition_point(|x| x.lo <= s);
                tl.insert(
                    p,
                    t,
                    k,
                    Slot { req: r as u32, visit: v as u32, lo: s, hi: s, dur: req.duration_s },
                );
            }
            self.assign(r, Some(t as u16));
            self.value += req.value;
        }
    }

    /// Moves the plan to time `now`: no visit may start earlier any more. Visits whose
    /// latest start has passed, and requests that no longer fit once everything
    /// before them is pushed later (the night fell behind: weather, a fault, an
    /// overrun), are taken out and returned, so the caller can offer them the rest of
    /// the night again. Pinned requests stay.
    pub fn advance_to(&mut self, p: &Problem, now: Time) -> Vec<usize> {
        let mut out = Vec::new();
        for t in 0..self.timelines.len() {
            self.touch(t);
            let mut first = true;
            loop {
                let tl = &mut self.timelines[t];
                let mut gone = vec![false; p.requests.len()];
                let mut any = false;
                for (k, s) in tl.slots.iter_mut().enumerate() {
                    if p.requests[s.req as usize].pinned.is_some() {
                        continue;
                    }
                    let late = if first { s.hi < now } else { tl.es[k] > tl.ls[k] + EPS };
                    if late {
                        gone[s.req as usize] = true;
                        any = true;
                    } else if first {
                        s.lo = s.lo.max(now);
                    }
                }
                if !any && !first {
                    break;
                }
                tl.remove_flagged(p, t, &gone);
                first = false;
                for (r, g) in gone.iter().enumerate() {
                    if *g {
                        self.value -= p.requests[r].value;
                        self.assign(r, None);
                        out.push(r);
                    }
                }
            }
        }
        out
    }

    /// The cheapest placement of request `r` on telescope `tel`, if any.
    pub fn best_placement(&mut self, p: &Problem, r: usize, tel: usize) -> Option<Placement> {
        let req = &p.requests[r];
        if req.windows[tel].is_empty() {
            return None;
        }
        if req.visits > 1 {
            return self.best_chain(p, r, tel);
        }
        let settle = p.telescopes[tel].settle_s;
        let dur = req.duration_s;
        let tl = &self.timelines[tel];
        let mut ks = std::mem::take(&mut self.scratch);
        let mut best: Option<(Gap, Time, Time)> = None;
        for &(a, b) in &req.windows[tel] {
            let (lo, hi) = (a, b - dur);
            tl.candidates(lo, hi, dur, settle, &mut ks);
            self.work += ks.len() as u64 + 1;
            for &k in &ks {
                if let Some(mut g) = tl.gap(p, tel, k, r as u32, dur, lo, hi) {
                    g.cost += req.penalty(tel, g.earliest);
                    if best.is_none_or(|(b, _, _)| g.cost < b.cost - EPS) {
                        best = Some((g, lo, hi));
                    }
                }
            }
        }
        self.scratch = ks;
        best.map(|(g, lo, hi)| Placement {
            tel,
            slots: vec![(g.index, Slot { req: r as u32, visit: 0, lo, hi, dur })],
            cost: g.cost,
        })
    }

    /// Tracklets: each visit gets a short start interval, the next one chained after
    /// it within the spacing. Tries the earliest feasible chain from each candidate
    /// first start and keeps the cheapest.
    fn best_chain(&mut self, p: &Problem, r: usize, tel: usize) -> Option<Placement> {
        let req = &p.requests[r];
        let dur = req.duration_s;
        let settle = p.telescopes[tel].settle_s;
        let slack = pin_slack(req.spacing);
        // (first start, cost of the first visit alone) per gap.
        let mut starts: Vec<(Time, f64)> = Vec::new();
        let mut ks = std::mem::take(&mut self.scratch);
        {
            let tl = &self.timelines[tel];
            for &(a, b) in &req.windows[tel] {
                let (lo, hi) = (a, b - dur - slack);
                tl.candidates(lo, hi, dur, settle, &mut ks);
                self.work += ks.len() as u64 + 1;
                for &k in &ks {
                    if let Some(g) = tl.gap(p, tel, k, r as u32, dur, lo, hi) {
                        starts.push((g.earliest, g.cost + req.penalty(tel, g.earliest)));
                    }
                }
            }
        }
        starts.sort_by(|a, b| a.0.total_cmp(&b.0));
        starts.dedup_by(|a, b| (a.0 - b.0).abs() < 1.0);
        starts.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
        // Every further visit costs at least its duration, so a chain cannot be
        // cheaper than its first visit plus that.
        let rest = (req.visits - 1) as f64 * dur;
        let mut best: Option<Placement> = None;
        for &(s0, c0) in starts.iter().take(MAX_CHAIN_STARTS) {
            if best.as_ref().is_some_and(|b| c0 + rest >= b.cost - EPS) {
                break;
            }
            let bound = best.as_ref().map_or(f64::INFINITY, |b| b.cost - EPS);
            if let Some(pl) = self.chain_from(p, r, tel, s0, bound, &mut ks)
                && best.as_ref().is_none_or(|b| pl.cost < b.cost - EPS)
            {
                best = Some(pl);
            }
        }
        self.scratch = ks;
        best
    }

    /// The chain whose first visit starts at `s0` and each next one as early as the
    /// spacing and the timeline allow. Inserts the visits to see where the next can
    /// go, then takes them out again.
    /// Gives up as soon as the chain cannot cost less than `bound`.
    fn chain_from(
        &mut self,
        p: &Problem,
        r: usize,
        tel: usize,
        s0: Time,
        bound: f64,
        ks: &mut Vec<usize>,
    ) -> Option<Placement> {
        let req = &p.requests[r];
        let (smin, smax) = req.spacing.unwrap_or((0.0, f64::INFINITY));
        let slack = pin_slack(req.spacing);
        let (dur, settle) = (req.duration_s, p.telescopes[tel].settle_s);
        let tl = &mut self.timelines[tel];
        let work = &mut self.work;
        let mut slots: Vec<(usize, Slot)> = Vec::with_capacity(req.visits as usize);
        let mut cost = 0.0;
        let (mut lo, mut hi) = (s0, s0);
        for v in 0..req.visits {
            let mut found: Option<Gap> = None;
            for &(a, b) in &req.windows[tel] {
                let (wlo, whi) = (lo.max(a), hi.min(b - dur - slack));
                if wlo > whi + EPS {
                    continue;
                }
                tl.candidates(wlo, whi, dur, settle, ks);
                *work += ks.len() as u64 + 1;
                for &k in ks.iter() {
                    if let Some(g) = tl.gap(p, tel, k, r as u32, dur, wlo, whi)
                        && found.is_none_or(|f| g.earliest < f.earliest - EPS)
                    {
                        found = Some(g);
                    }
                }
                if found.is_some() {
                    break;
                }
            }
            let left = (req.visits - v - 1) as f64 * dur;
            let Some(g) = found.filter(|g| cost + g.cost + left < bound) else {
                for &(k, _) in slots.iter().rev() {
                    tl.remove_at(p, tel, k);
                }
                return None;
            };
            let s = g.earliest;
            let slot = Slot { req: r as u32, visit: v, lo: s, hi: s + slack, dur };
            tl.insert(p, tel, g.index, slot);
            slots.push((g.index, slot));
            cost += g.cost + req.penalty(tel, s);
            // Any starts within the two visits' intervals keep the spacing legal.
            lo = s + smin + slack;
            hi = s + smax - slack;
        }
        for &(k, _) in slots.iter().rev() {
            tl.remove_at(p, tel, k);
        }
        Some(Placement { tel, slots, cost })
    }

    /// Observations with exact left-justified times. A request whose visits no longer
    /// fit exactly (a moving target's transition longer than planned) is taken out and
    /// reported in the second list. The timelines are left with their transitions
    /// refreshed ([`Timeline::refresh`]), so what is re-inserted afterwards is placed on
    /// true times.
    pub fn observations(&mut self, p: &Problem) -> (Vec<Observation>, Vec<usize>) {
        let mut dropped = Vec::new();
        loop {
            for (t, tl) in self.timelines.iter_mut().enumerate() {
                tl.refresh(p, t);
            }
            let mut out = Vec::new();
            let mut bad: Vec<usize> = Vec::new();
            for (t, tl) in self.timelines.iter().enumerate() {
                let starts = tl.starts(p, t);
                for (s, &start) in tl.slots.iter().zip(&starts) {
                    if start > s.hi + EPS || start + s.dur > p.telescopes[t].night.1 + EPS {
                        bad.push(s.req as usize);
                    }
                    out.push(Observation {
                        request: s.req as usize,
                        visit: s.visit,
                        telescope: t,
                        start,
                        end: start + s.dur,
                    });
                }
            }
            if bad.is_empty() {
                return (out, dropped);
            }
            bad.sort_unstable();
            bad.dedup();
            self.remove_many(p, &bad);
            dropped.extend(bad);
        }
    }

    /// Σ transitions over all telescopes, exactly.
    pub fn exact_slew_s(&self, p: &Problem) -> f64 {
        self.timelines.iter().enumerate().map(|(t, tl)| tl.exact_slew_s(p, t)).sum()
    }
}

/// Most first-visit candidates tried per tracklet placement, cheapest first: more
/// only costs time (12–24 were best per CPU second on the generators' instances).
const MAX_CHAIN_STARTS: usize = 16;
