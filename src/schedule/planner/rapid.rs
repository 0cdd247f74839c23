//! Rapid response: a new urgent request goes where it starts soonest, ahead of
//! lower-value work, and (with `observing.rapid_response_abort`) may make a running
//! block of lower value yield its telescope.

use teld_schedule::Pinned;
use teld_schedule::plan::Placement;
use teld_schedule::repair::{Urgent, insert_urgent};
use teld_schedule::timeline::Slot;

use super::{Night, Planner, RAPID_PATIENCE_S};
use crate::model::RequestId;

/// The planner's word to the block running on a telescope: stop, a rapid-response
/// request goes first. Published in a watch channel (see [`Planner::new`]); an entry
/// lasts until that telescope's executor asks for its next block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yield {
    pub telescope: String,
    /// The request whose block must stop.
    pub running: RequestId,
    /// The rapid-response request that takes the telescope.
    pub to: RequestId,
    pub to_name: String,
}

impl Yield {
    /// Why the block stopped, as its request's history says.
    pub fn reason(&self) -> String {
        format!("preempted by rapid-response request {} ({})", self.to, self.to_name)
    }
}

/// A block an executor is running (between [`Planner::next`] handing it out and that
/// executor's next question).
#[derive(Debug, Clone, Copy)]
pub(super) struct Running {
    pub r: usize,
    /// Set once the block was told to yield to this rapid-response request; it is then
    /// out of the plan already.
    pub yielding: Option<RequestId>,
}

impl Planner {
    /// Puts a new rapid-response request `r` where it starts soonest. If that means
    /// waiting more than [`RAPID_PATIENCE_S`] and preemption is allowed, a telescope
    /// running a block of lower value on which `r` could start now is freed: the block
    /// leaves the plan and is told to yield. Telescopes out of service are never used.
    pub(super) fn place_rapid(&self, n: &mut Night, r: usize, now_s: f64) {
        let down = self.down_mask();
        let open = n.problem.requests[r].windows.clone();
        for (t, w) in n.problem.requests[r].windows.iter_mut().enumerate() {
            if down[t] {
                w.clear();
            }
        }
        let mut plan = n.plan.clone();
        let mut urgent = insert_urgent(&n.problem, &mut plan, r, now_s, RAPID_PATIENCE_S);
        let mut preempted = None;
        let waits = urgent.as_ref().is_none_or(|u| u.start > now_s + RAPID_PATIENCE_S);
        if self.preempt && waits {
            let value = n.problem.requests[r].value;
            for (t, run) in n.running.iter().enumerate() {
                let Some(run) = run else { continue };
                // A tracklet under way is never cut: it would be lost whole.
                if run.yielding.is_some()
                    || n.problem.requests[run.r].value >= value
                    || n.progress.contains_key(&run.r)
                {
                    continue;
                }
                let mut trial = n.plan.clone();
                trial.remove(&n.problem, run.r);
                let Some(u) = insert_urgent(&n.problem, &mut trial, r, now_s, RAPID_PATIENCE_S)
                else {
                    continue;
                };
                let sooner = urgent.as_ref().is_none_or(|b: &Urgent| u.start < b.start);
                if u.telescope == t && u.start <= now_s + RAPID_PATIENCE_S && sooner {
                    (plan, urgent, preempted) = (trial, Some(u), Some(t));
                }
            }
        }
        n.problem.requests[r].windows = open;
        let Some(u) = urgent else {
            tracing::info!(request = n.ids[r], "rapid response cannot be observed tonight");
            return;
        };
        n.plan = plan;
        pin_at(n, u.telescope, r, u.start);
        n.urgent.insert(r);
        let id = n.ids[r];
        if let Some(t) = preempted
            && let Some(run) = n.running[t].as_mut()
        {
            run.yielding = Some(id);
            n.problem.requests[run.r].pinned = None;
            let y = Yield {
                telescope: self.telescopes[t].name.clone(),
                running: n.ids[run.r],
                to: id,
                to_name: n.records[&id].spec.display_name().to_string(),
            };
            tracing::info!(
                telescope = %y.telescope,
                request = y.running,
                rapid = id,
                "preempting the running block for a rapid-response request"
            );
            self.yields.send_modify(|ys| {
                ys.retain(|x| x.telescope != y.telescope);
                ys.push(y);
            });
        }
        tracing::info!(
            request = id,
            telescope = %self.telescopes[u.telescope].name,
            start_s = u.start,
            evicted = u.evicted.len(),
            preempted = preempted.is_some(),
            "rapid response planned"
        );
    }
}

/// Puts request `r` first on telescope `t`, fixed at `start`: a running block, which
/// nothing may move or precede.
pub(super) fn pin(n: &mut Night, t: usize, r: usize, start: f64) {
    n.plan.remove(&n.problem, r);
    insert_pinned(n, t, r, (start, start), 0);
}

/// Fixes request `r`, planned on telescope `t` to start at `start`, there: it keeps
/// its place in the order and nothing can be put before it that would delay it, but
/// it starts sooner if the telescope frees up sooner (a block ending early).
fn pin_at(n: &mut Night, t: usize, r: usize, start: f64) {
    let tl = &n.plan.timelines[t];
    let lo = tl.slots.iter().find(|s| s.req as usize == r).map_or(start, |s| s.lo.min(start));
    n.plan.remove(&n.problem, r);
    let k = n.plan.timelines[t].es.partition_point(|&e| e < start);
    insert_pinned(n, t, r, (lo, start), k);
}

fn insert_pinned(n: &mut Night, t: usize, r: usize, (lo, hi): (f64, f64), k: usize) {
    n.problem.requests[r].pinned = Some(Pinned { telescope: t, starts: vec![hi] });
    let dur = n.problem.requests[r].duration_s;
    let slot = Slot { req: r as u32, visit: 0, lo, hi, dur };
    n.plan.commit(&n.problem, r, &Placement { tel: t, slots: vec![(k, slot)], cost: dur });
}
