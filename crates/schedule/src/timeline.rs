//! One telescope's sequence of visits with floating start times.
//!
//! Every slot may start anywhere in `[lo, hi]` (its visibility interval minus its
//! duration; a tracklet visit gets at most a one-second interval, see [`pin_slack`]).
//! Given the order, `es` is the earliest start each slot can have after its predecessors,
//! `ls` the latest that still lets its successors fit. The sequence is feasible iff
//! `es ≤ ls` everywhere, and a new visit fits between two slots iff it fits between
//! the predecessor's earliest end and the successor's latest start: an O(1) check,
//! the heart of the planner's speed.
//!
//! The transition into each slot (`tin`) is computed once, when its predecessor
//! changes, with the targets' positions at the slots' earliest starts; for moving
//! targets that goes stale when later edits shift the slots (they drift arcseconds per
//! minute, a second of slew after hours), so [`Timeline::refresh`] recomputes them
//! before the exact pass of [`Timeline::starts`] judges a plan.

use crate::geometry::{FAST_SEPARATION_ERROR_DEG, separation_deg, separation_deg_fast};
use crate::model::{Problem, Time};

/// Slack for comparisons of times (the benchmark validator allows 1e-3 s).
pub const EPS: f64 = 1e-6;

/// Width of a tracklet visit's start interval: its spacing to the neighbouring visits
/// is chosen so that any start within it keeps the spacing legal, which absorbs the
/// drift of moving targets' transitions without breaking the tracklet.
pub const PIN_SLACK: f64 = 1.0;

/// The start interval of each visit of a tracklet with this spacing: [`PIN_SLACK`],
/// or half the spacing range when that is narrower, since starts anywhere in two
/// consecutive intervals must keep the spacing legal. With `min_s == max_s` every
/// visit is pinned to one start: a full slack would leave the next visit no legal one.
pub fn pin_slack(spacing: Option<(f64, f64)>) -> f64 {
    spacing.map_or(PIN_SLACK, |(lo, hi)| PIN_SLACK.min((hi - lo) / 2.0).max(0.0))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub req: u32,
    pub visit: u32,
    pub lo: Time,
    pub hi: Time,
    pub dur: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub slots: Vec<Slot>,
    pub es: Vec<Time>,
    pub ls: Vec<Time>,
    /// Transition from slot i-1 into slot i (0 for the first).
    pub tin: Vec<f64>,
    /// Σ `tin`: the secondary objective, kept up to date.
    pub slew: f64,
}

/// Where and when a visit can go: before slot `index`, starting in `[earliest, latest]`,
/// consuming `cost` seconds of the telescope (its duration plus the change in
/// transition time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    pub index: usize,
    pub earliest: Time,
    pub latest: Time,
    pub cost: f64,
}

/// Transition on telescope `tel` from request `ra` (at `ta`) to `rb` (at `tb`), for
/// planning: moving targets' positions from [`Target::unit_plan`], plus a margin
/// that covers its error, so a plan never needs less time than it reserved.
///
/// [`Target::unit_plan`]: crate::model::Target::unit_plan
#[inline]
pub fn transition(p: &Problem, tel: usize, ra: u32, ta: Time, rb: u32, tb: Time) -> f64 {
    let t = &p.telescopes[tel];
    let Some(rate) = t.rate_deg_per_s else {
        return t.settle_s;
    };
    let mut margin = 0.0;
    let ua = p.fixed_units[ra as usize].unwrap_or_else(|| {
        margin = MOVING_MARGIN_S;
        p.requests[ra as usize].target.unit_plan(ta)
    });
    let ub = p.fixed_units[rb as usize].unwrap_or_else(|| {
        margin = MOVING_MARGIN_S;
        p.requests[rb as usize].target.unit_plan(tb)
    });
    t.settle_s + (separation_deg_fast(ua, ub) + FAST_SEPARATION_ERROR_DEG) / rate + margin
}

/// The transition exactly as the benchmark rules define it (positions interpolated in
/// RA and Dec).
#[inline]
pub fn exact_transition(p: &Problem, tel: usize, ra: u32, ta: Time, rb: u32, tb: Time) -> f64 {
    let t = &p.telescopes[tel];
    if t.rate_deg_per_s.is_none() {
        return t.settle_s;
    }
    let (a, b) = (&p.requests[ra as usize].target, &p.requests[rb as usize].target);
    t.transition(separation_deg(a.unit_at(ta), b.unit_at(tb)))
}

/// Covers the difference between planning and exact positions of moving targets.
const MOVING_MARGIN_S: f64 = 0.01;

impl Timeline {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    #[inline]
    fn end(&self, i: usize) -> Time {
        self.es[i] + self.slots[i].dur
    }

    /// Earliest start of slot `i` from its predecessor's.
    #[inline]
    fn forward(&self, i: usize, night0: Time) -> Time {
        let lo = self.slots[i].lo.max(night0);
        if i == 0 { lo } else { lo.max(self.end(i - 1) + self.tin[i]) }
    }

    /// Latest start of slot `i` from its successor's.
    #[inline]
    fn backward(&self, i: usize, night1: Time) -> Time {
        let s = self.slots[i];
        let hi = s.hi.min(night1 - s.dur);
        if i + 1 == self.slots.len() {
            hi
        } else {
            hi.min(self.ls[i + 1] - self.tin[i + 1] - s.dur)
        }
    }

    /// Propagates `es` forward from `from` and `ls` backward from `back`, stopping
    /// where values no longer change.
    fn propagate(&mut self, p: &Problem, tel: usize, from: usize, back: Option<usize>) {
        let (n0, n1) = p.telescopes[tel].night;
        for i in from..self.slots.len() {
            let e = self.forward(i, n0);
            if i > from + 1 && e == self.es[i] {
                break;
            }
            self.es[i] = e;
        }
        if let Some(back) = back {
            for i in (0..=back.min(self.slots.len().saturating_sub(1))).rev() {
                let l = self.backward(i, n1);
                if i + 1 < back && l == self.ls[i] {
                    break;
                }
                self.ls[i] = l;
            }
        }
    }

    /// Recomputes the transition into slot `i` from its predecessor's earliest start.
    fn set_tin(&mut self, p: &Problem, tel: usize, i: usize) {
        if i >= self.slots.len() {
            return;
        }
        let t = if i == 0 {
            0.0
        } else {
            let (a, b) = (self.slots[i - 1], self.slots[i]);
            transition(p, tel, a.req, self.es[i - 1], b.req, self.es[i].max(self.end(i - 1)))
        };
        self.slew += t - self.tin[i];
        self.tin[i] = t;
    }

    pub fn insert(&mut self, p: &Problem, tel: usize, index: usize, slot: Slot) {
        self.slots.insert(index, slot);
        // Provisional values, fixed by the transitions and propagation below.
        let guess = if index > 0 { self.end(index - 1).max(slot.lo) } else { slot.lo };
        self.es.insert(index, guess);
        self.ls.insert(index, slot.hi);
        self.tin.insert(index, 0.0);
        self.set_tin(p, tel, index);
        self.es[index] = self.forward(index, p.telescopes[tel].night.0);
        self.set_tin(p, tel, index + 1);
        self.propagate(p, tel, index, Some(index));
    }

    pub fn remove_at(&mut self, p: &Problem, tel: usize, index: usize) {
        self.slew -= self.tin[index];
        self.slots.remove(index);
        self.es.remove(index);
        self.ls.remove(index);
        self.tin.remove(index);
        if index < self.slots.len() {
            self.set_tin(p, tel, index);
        }
        self.propagate(p, tel, index, index.checked_sub(1));
    }

    /// Recomputes every transition that involves a moving target with the positions at
    /// the current earliest starts, and the timing that follows. Edits keep those
    /// transitions as they were when computed (cheap, and exact for fixed targets);
    /// after many edits a moving target may have shifted by hours, and a plan judged or
    /// repaired on such a stale transition loses visits in the exact pass. Afterwards
    /// `es` is what [`Timeline::starts`] finds, up to the planning margin.
    pub fn refresh(&mut self, p: &Problem, tel: usize) {
        let (n0, n1) = p.telescopes[tel].night;
        for i in 0..self.slots.len() {
            if i > 0 && self.involves_moving(p, i) {
                self.tin[i] = self.current_tin(p, tel, i);
            }
            self.es[i] = self.forward(i, n0);
        }
        for i in (0..self.slots.len()).rev() {
            self.ls[i] = self.backward(i, n1);
        }
        self.slew = self.tin.iter().sum();
    }

    /// Whether the transition into slot `i` depends on when the slots start.
    #[inline]
    fn involves_moving(&self, p: &Problem, i: usize) -> bool {
        let moving = |s: &Slot| p.fixed_units[s.req as usize].is_none();
        moving(&self.slots[i - 1]) || moving(&self.slots[i])
    }

    /// The transition into slot `i` (> 0) from its predecessor's current earliest start
    /// to its own: that start depends on the transition, so one fixed-point step (a
    /// target moves a few arcseconds during a slew; a second step changes nothing the
    /// margin does not cover).
    fn current_tin(&self, p: &Problem, tel: usize, i: usize) -> f64 {
        let (a, b) = (self.slots[i - 1], self.slots[i]);
        let (ta, end) = (self.es[i - 1], self.end(i - 1));
        let lo = b.lo.max(p.telescopes[tel].night.0);
        let first = transition(p, tel, a.req, ta, b.req, lo.max(end));
        if p.fixed_units[b.req as usize].is_some() {
            return first;
        }
        transition(p, tel, a.req, ta, b.req, lo.max(end + first))
    }

    /// Removes every slot of the requests flagged in `gone`, then recomputes the
    /// transitions that changed and the whole timing in one pass.
    pub fn remove_flagged(&mut self, p: &Problem, tel: usize, gone: &[bool]) {
        let (n0, n1) = p.telescopes[tel].night;
        let (mut w, mut prev_gone) = (0, false);
        for r in 0..self.slots.len() {
            let s = self.slots[r];
            if gone[s.req as usize] {
                prev_gone = true;
                continue;
            }
            self.slots[w] = s;
            self.tin[w] = self.tin[r];
            if w == 0 {
                self.tin[0] = 0.0;
                self.es[0] = self.forward(0, n0);
            } else if prev_gone {
                let a = self.slots[w - 1];
                let at = self.es[w - 1];
                self.tin[w] = transition(p, tel, a.req, at, s.req, (at + a.dur).max(s.lo));
                self.es[w] = self.forward(w, n0);
            } else {
                self.es[w] = self.forward(w, n0);
            }
            prev_gone = false;
            w += 1;
        }
        self.slots.truncate(w);
        self.es.truncate(w);
        self.ls.truncate(w);
        self.tin.truncate(w);
        for i in (0..w).rev() {
            self.ls[i] = self.backward(i, n1);
        }
        self.slew = self.tin.iter().sum();
    }

    pub fn feasible(&self) -> bool {
        self.es.iter().zip(&self.ls).all(|(e, l)| *e <= *l + EPS)
    }

    /// Whether a visit of `req` (duration `dur`, start within `[lo, hi]`) fits before
    /// slot `index`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn gap(
        &self,
        p: &Problem,
        tel: usize,
        index: usize,
        req: u32,
        dur: f64,
        lo: Time,
        hi: Time,
    ) -> Option<Gap> {
        let (n0, n1) = p.telescopes[tel].night;
        let mut earliest = lo.max(n0);
        let mut latest = hi.min(n1 - dur);
        let (mut t_in, mut t_out) = (0.0, 0.0);
        if index > 0 {
            let end = self.end(index - 1);
            if end > latest + EPS {
                return None;
            }
            t_in = transition(
                p,
                tel,
                self.slots[index - 1].req,
                self.es[index - 1],
                req,
                earliest.max(end),
            );
            earliest = earliest.max(end + t_in);
        }
        if index < self.slots.len() {
            let next = self.ls[index];
            if next < earliest + dur - EPS {
                return None;
            }
            t_out = transition(p, tel, req, earliest, self.slots[index].req, next);
            latest = latest.min(next - t_out - dur);
        }
        if earliest > latest + EPS {
            return None;
        }
        let old = if index > 0 && index < self.slots.len() { self.tin[index] } else { 0.0 };
        Some(Gap { index, earliest, latest, cost: t_in + dur + t_out - old })
    }

    /// Positions where a visit of length `dur` starting within `[lo, hi]` could go and
    /// for which there is room for it at all (a necessary condition, checked with two
    /// loads per slot; [`Timeline::gap`] decides).
    pub fn candidates(&self, lo: Time, hi: Time, dur: f64, settle: f64, out: &mut Vec<usize>) {
        out.clear();
        let n = self.slots.len();
        // The first slot that could follow the visit has its latest start at or after
        // `lo + dur`; the last position is just after the first slot whose earliest
        // start is past `hi`.
        let first = self.ls.partition_point(|&l| l < lo + dur - EPS);
        let last = self.es.partition_point(|&e| e <= hi + EPS).min(n);
        for k in first..=last {
            let room_from = if k == 0 { f64::NEG_INFINITY } else { self.end(k - 1) + settle };
            let room_to = if k == n { f64::INFINITY } else { self.ls[k] - settle };
            if room_to - room_from >= dur - EPS {
                out.push(k);
            }
        }
    }

    /// Left-justified start times, computed exactly (each moving target's position at
    /// its own start, iterated to a fixed point).
    pub fn starts(&self, p: &Problem, tel: usize) -> Vec<Time> {
        let night = p.telescopes[tel].night;
        let mut out: Vec<Time> = Vec::with_capacity(self.slots.len());
        for (i, s) in self.slots.iter().enumerate() {
            let mut t = s.lo.max(night.0);
            if i > 0 {
                let prev = self.slots[i - 1];
                let (ts, end) = (out[i - 1], out[i - 1] + prev.dur);
                // The transition depends on where a moving target is when it starts;
                // a few rounds converge (rates are degrees per day).
                let mut guess = t.max(end);
                for _ in 0..6 {
                    let next = t.max(end + exact_transition(p, tel, prev.req, ts, s.req, guess));
                    if (next - guess).abs() < 1e-9 {
                        break;
                    }
                    guess = next;
                }
                t = guess;
            }
            out.push(t);
        }
        out
    }

    /// Total transition time of the exact left-justified sequence.
    pub fn exact_slew_s(&self, p: &Problem, tel: usize) -> f64 {
        let starts = self.starts(p, tel);
        (1..self.slots.len())
            .map(|i| {
                exact_transition(
                    p,
                    tel,
                    self.slots[i - 1].req,
                    starts[i - 1],
                    self.slots[i].req,
                    starts[i],
                )
            })
            .sum()
    }
}
