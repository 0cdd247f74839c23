//! The night plan of every telescope, kept by one planner that all executors ask.
//!
//! At the first question of a night it builds the problem (each open request's
//! visibility from each telescope on a one-minute grid: altitude, airmass, horizon
//! mask, mount limits, Sun, window) and solves it with `teld-schedule`. After that it
//! repairs: requests that arrived are inserted (rapid response first, ahead of
//! lower-value work), requests that left (done, cancelled, expired, failed) are taken
//! out, and the plan is moved to "now", which drops and re-inserts whatever no longer
//! fits after weather, faults or overruns. Nothing is planned from scratch mid-night.
//!
//! A block being observed stays in the plan, pinned where it started, so nothing else
//! is planned on its telescope until it ends. A rapid-response request that would
//! otherwise wait more than a minute may preempt a running block of lower value
//! (`observing.rapid_response_abort`): the planner takes that block out of the plan,
//! puts the urgent request first on its telescope and tells the block to yield through
//! [`Yield`]; the executor aborts it (back to the queue, no attempt counted) and
//! dispatches the urgent request at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hifitime::{Duration, Epoch};
use serde::Serialize;
use teld_astro::visibility::SkyFrame;
use teld_astro::{Site, iers};
use teld_schedule::construct::best_over_telescopes;
use teld_schedule::model::Problem;
use teld_schedule::plan::Placement;
use teld_schedule::repair::{Urgent, insert_urgent};
use teld_schedule::timeline::Slot;
use teld_schedule::{Options, Pinned, Plan, Request, Target, Telescope};
use tokio::sync::{Mutex, watch};

use super::svg::SAMPLE_S as SVG_SAMPLE_S;
use super::{Frames, Limits, Visibility};
use crate::ledger::Ledger;
use crate::model::{RequestClass, RequestId, RequestState};
use crate::store::{RequestRecord, StoreError};

/// The planning grid: visibility is sampled every minute, as the benchmark does.
const GRID_S: f64 = 60.0;
/// Readout and bookkeeping per frame, added to the exposure in a block's length.
pub const PER_FRAME_OVERHEAD_S: f64 = 5.0;
/// A block may be started this much before its planned time (the slew takes it).
const DISPATCH_AHEAD_S: f64 = 30.0;
/// A rapid-response request that cannot start within this much of now makes room
/// by moving lower-value work, and (with `observing.rapid_response_abort`) by
/// interrupting a running block of lower value.
const RAPID_PATIENCE_S: f64 = 60.0;
/// CPU the full plan of a night may take; the search stops early beyond it.
const SOLVE_LIMIT_S: f64 = 5.0;

/// One telescope as the planner sees it.
#[derive(Debug, Clone)]
pub struct PlannedTelescope {
    pub name: String,
    pub limits: Limits,
    /// Slew model: settle (plus the settle of `observing.settle_s` the executor waits)
    /// and degrees per second.
    pub settle_s: f64,
    pub slew_rate_deg_s: f64,
}

pub struct Planner {
    ledger: Ledger,
    site: Site,
    telescopes: Vec<PlannedTelescope>,
    seed: u64,
    /// `observing.rapid_response_abort`: may a rapid-response request interrupt a
    /// running block of lower value?
    preempt: bool,
    state: Mutex<Option<Night>>,
    view: Arc<RwLock<PlanView>>,
    /// Running blocks asked to give way, read by the executors' blocks.
    yields: watch::Sender<Vec<Yield>>,
}

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
struct Running {
    r: usize,
    /// Set once the block was told to yield to this rapid-response request; it is then
    /// out of the plan already.
    yielding: Option<RequestId>,
}

/// The current night's problem and plan. Problem time is seconds from `start`.
struct Night {
    start: Epoch,
    end: Epoch,
    frames: Vec<SkyFrame>,
    /// The Sun's altitude every 10 minutes, for the picture.
    sun: Vec<f64>,
    problem: Problem,
    plan: Plan,
    ids: Vec<RequestId>,
    index: HashMap<RequestId, usize>,
    /// Open and running requests as last read from the store.
    records: HashMap<RequestId, RequestRecord>,
    /// Per telescope, the block it is running.
    running: Vec<Option<Running>>,
    /// Per telescope, closed (weather) until at least then: nothing planned before.
    closed_until: Vec<Option<f64>>,
    /// Rapid-response requests pinned where `insert_urgent` put them, not yet
    /// dispatched: with floating starts, other work re-offered later could otherwise
    /// slip in ahead of them.
    urgent: std::collections::HashSet<usize>,
}

/// What an executor should do next.
#[derive(Debug)]
pub enum Next {
    /// Observe this now.
    Block(Box<RequestRecord>, f64),
    /// The next planned block starts then.
    WaitUntil(Epoch),
    /// Nothing planned for this telescope.
    Idle,
}

/// The plan as the API shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanView {
    pub night_start: Option<String>,
    pub night_end: Option<String>,
    pub updated_at: Option<String>,
    pub value: f64,
    pub telescopes: Vec<TelescopePlan>,
    /// Open requests that do not fit tonight.
    pub unplanned: Vec<RequestId>,
    /// The Sun's altitude every 10 minutes of the night, for the picture.
    #[serde(skip)]
    pub sun_altitudes: Vec<f64>,
    #[serde(skip)]
    pub span_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TelescopePlan {
    pub name: String,
    pub blocks: Vec<PlannedBlock>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedBlock {
    pub request_id: RequestId,
    pub name: String,
    pub start: String,
    pub end: String,
    pub value: f64,
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub class: RequestClass,
    /// Seconds from the night's start, for the picture.
    #[serde(skip)]
    pub start_s: f64,
    #[serde(skip)]
    pub end_s: f64,
    /// Altitude of the target every 10 minutes of the night (for the picture).
    #[serde(skip)]
    pub altitudes: Vec<f64>,
}

impl Planner {
    /// `yields` is where the planner tells running blocks to give way to a
    /// rapid-response request (the executors hold its receiver); `preempt` is
    /// `observing.rapid_response_abort`.
    pub fn new(
        ledger: Ledger,
        site: Site,
        telescopes: Vec<PlannedTelescope>,
        seed: u64,
        preempt: bool,
        yields: watch::Sender<Vec<Yield>>,
    ) -> Planner {
        Planner {
            ledger,
            site,
            telescopes,
            seed,
            preempt,
            state: Mutex::new(None),
            view: Arc::new(RwLock::new(PlanView::default())),
            yields,
        }
    }

    /// The plan as last computed, for the API.
    pub fn view(&self) -> PlanView {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Brings the plan up to date with the store at `now` and says what telescope
    /// `tel` should do.
    pub async fn next(&self, tel: &str, now: Epoch, night_end: Epoch) -> Result<Next, StoreError> {
        let Some(ti) = self.telescopes.iter().position(|t| t.name == tel) else {
            return Ok(Next::Idle);
        };
        let mut guard = self.state.lock().await;
        let open = self.open_requests(now).await?;
        let rebuild = guard
            .as_ref()
            .is_none_or(|n| (n.end - night_end).abs() > Duration::from_seconds(3600.0));
        if rebuild {
            *guard = Some(self.build(now, night_end, open).await);
        } else if let Some(n) = guard.as_mut() {
            // The executor asks only between blocks: whatever it ran has ended, and
            // it is ready to observe.
            self.release(n, ti);
            n.closed_until[ti] = None;
            self.repair(n, now, open);
        }
        self.yields.send_if_modified(|ys| {
            let before = ys.len();
            ys.retain(|y| y.telescope != tel);
            ys.len() != before
        });
        let Some(n) = guard.as_mut() else { return Ok(Next::Idle) };
        let now_s = (now - n.start).to_seconds();
        let tl = &n.plan.timelines[ti];
        let next = match (tl.slots.first().copied(), tl.es.first().copied()) {
            // Early for the slew, but not before the visit's interval opens (a
            // window's start, a target rising): the block would stop at its first frame.
            (Some(first), Some(es)) if es <= now_s + DISPATCH_AHEAD_S && first.lo <= now_s => {
                let (r, dur) = (first.req as usize, first.dur);
                let rec = n.records[&n.ids[r]].clone();
                // From now on the block occupies the telescope whatever the plan said:
                // it slews now and exposes once there (about the settle time).
                let settle = self.telescopes[ti].settle_s;
                pin(n, ti, r, now_s.max(0.0) + settle);
                n.urgent.remove(&r);
                n.running[ti] = Some(Running { r, yielding: None });
                let dropped = n.plan.advance_to(&n.problem, now_s.max(0.0));
                self.reoffer(n, dropped, now_s.max(0.0));
                Next::Block(Box::new(rec), dur)
            }
            (Some(first), Some(es)) => {
                let at = if es > now_s + DISPATCH_AHEAD_S { es } else { first.lo };
                Next::WaitUntil(n.start + Duration::from_seconds(at))
            }
            _ => Next::Idle,
        };
        self.sync_states(n).await?;
        self.publish(n, now);
        Ok(next)
    }

    /// Brings the plan up to date at `now` without being asked for a block: called
    /// when a request arrives or is cancelled, so the plan (and a rapid-response
    /// preemption) does not wait for an executor to finish its block. Does nothing
    /// before the first plan of a night or once that night is over.
    pub async fn refresh(&self, now: Epoch) -> Result<(), StoreError> {
        let mut guard = self.state.lock().await;
        let Some(n) = guard.as_mut() else { return Ok(()) };
        if now >= n.end {
            return Ok(());
        }
        let open = self.open_requests(now).await?;
        self.repair(n, now, open);
        self.sync_states(n).await?;
        self.publish(n, now);
        Ok(())
    }

    /// Telescope `tel` cannot observe before `until` (the site is unsafe, or waiting
    /// to reopen after bad weather): its plan moves behind that time, and what no
    /// longer fits tonight is offered other telescopes and later times. Lasts until
    /// its executor asks for a block again. Called by the executor, between blocks.
    pub async fn hold(&self, tel: &str, now: Epoch, until: Epoch) -> Result<(), StoreError> {
        let Some(ti) = self.telescopes.iter().position(|t| t.name == tel) else {
            return Ok(());
        };
        let mut guard = self.state.lock().await;
        let Some(n) = guard.as_mut() else { return Ok(()) };
        if now >= n.end {
            return Ok(());
        }
        self.release(n, ti);
        n.closed_until[ti] = Some((until - n.start).to_seconds());
        let open = self.open_requests(now).await?;
        self.repair(n, now, open);
        self.sync_states(n).await?;
        self.publish(n, now);
        Ok(())
    }

    /// Telescope `ti`'s block has ended: its request leaves the plan (and comes back
    /// through the queue if it was interrupted).
    fn release(&self, n: &mut Night, ti: usize) {
        if let Some(run) = n.running[ti].take() {
            n.problem.requests[run.r].pinned = None;
            n.plan.remove(&n.problem, run.r);
        }
    }

    /// Open requests, after expiring those whose window has ended.
    async fn open_requests(&self, now: Epoch) -> Result<Vec<RequestRecord>, StoreError> {
        let open_states = [RequestState::Queued, RequestState::Scheduled];
        let mut out = Vec::new();
        for req in self.ledger.store.requests_in(&open_states).await? {
            if req.spec.window.as_ref().is_some_and(|w| w.end <= now) {
                let why = Some("window ended before it could be observed");
                self.ledger.transition(req.id, &open_states, RequestState::Expired, why).await?;
                continue;
            }
            out.push(req);
        }
        Ok(out)
    }

    async fn build(&self, now: Epoch, end: Epoch, open: Vec<RequestRecord>) -> Night {
        let n_grid = ((end - now).to_seconds() / GRID_S).floor().max(0.0) as usize + 1;
        let instants: Vec<Epoch> =
            (0..n_grid).map(|k| now + Duration::from_seconds(k as f64 * GRID_S)).collect();
        let frames =
            teld_astro::visibility::frames(&self.site, &instants, |t| iers::active().at(t))
                .unwrap_or_default();
        let horizon = (end - now).to_seconds();
        let telescopes = self
            .telescopes
            .iter()
            .map(|t| Telescope {
                id: t.name.clone(),
                night: (0.0, horizon),
                settle_s: t.settle_s,
                rate_deg_per_s: Some(t.slew_rate_deg_s),
            })
            .collect();
        let sun = (0..n_grid)
            .step_by((SVG_SAMPLE_S / GRID_S) as usize)
            .map(|k| teld_astro::sun::altitude_deg(&self.site, instants[k]).unwrap_or(f64::NAN))
            .collect();
        let mut night = Night {
            start: now,
            end,
            frames,
            sun,
            problem: Problem::new(format!("night from {now}"), telescopes, Vec::new()),
            plan: Plan::empty(&Problem::new("", Vec::new(), Vec::new())),
            ids: Vec::new(),
            index: HashMap::new(),
            records: HashMap::new(),
            running: vec![None; self.telescopes.len()],
            closed_until: vec![None; self.telescopes.len()],
            urgent: Default::default(),
        };
        for rec in open {
            self.add(&mut night, rec, 0.0);
        }
        let problem = night.problem.clone();
        let opts = Options {
            seed: self.seed,
            time_limit: Some(std::time::Duration::from_secs_f64(SOLVE_LIMIT_S)),
            ..Options::default()
        };
        let solved =
            tokio::task::spawn_blocking(move || teld_schedule::solve(&problem, &opts)).await;
        night.plan = match solved {
            Ok(o) => o.plan,
            Err(e) => {
                tracing::error!("planner task failed ({e}); planning greedily instead");
                let mut plan = Plan::empty(&night.problem);
                let order = teld_schedule::construct::density_order(&night.problem);
                teld_schedule::construct::greedy(&night.problem, &mut plan, &order);
                plan
            }
        };
        tracing::info!(
            requests = night.ids.len(),
            planned = night.plan.assigned.iter().filter(|a| a.is_some()).count(),
            value = night.plan.value,
            "night planned"
        );
        night
    }

    /// Adds a request to the problem (not to the plan); `from` is the earliest start.
    fn add(&self, n: &mut Night, rec: RequestRecord, from: f64) -> usize {
        let spec = &rec.spec;
        let duration =
            spec.count.saturating_sub(0) as f64 * (spec.exposure_s + PER_FRAME_OVERHEAD_S);
        let frames_s: Vec<f64> = (0..n.frames.len()).map(|k| k as f64 * GRID_S).collect();
        let cache = Frames::default();
        let windows = self
            .telescopes
            .iter()
            .map(|t| {
                let vis = Visibility::new(&t.limits, &cache, spec);
                let mut runs: Vec<(f64, f64)> = Vec::new();
                for (k, f) in n.frames.iter().enumerate() {
                    let tk = frames_s[k];
                    let at = n.start + Duration::from_seconds(tk);
                    let ok = vis.observable_in(f) && vis.window_allows(at, at);
                    if ok {
                        match runs.last_mut() {
                            Some(r) if (r.1 - (tk - GRID_S)).abs() < 1e-6 => r.1 = tk,
                            _ => runs.push((tk, tk)),
                        }
                    }
                }
                let night = (from, n.problem.telescopes[0].night.1);
                Problem::effective_windows(&runs, None, night, duration)
            })
            .collect();
        let request = Request {
            id: rec.id.to_string(),
            value: spec.value(),
            visits: 1,
            duration_s: duration,
            spacing: None,
            target: Target::fixed(spec.target.ra_deg, spec.target.dec_deg),
            windows,
            pinned: None,
        };
        let r = n.problem.push_request(request);
        n.plan.add_request();
        n.ids.push(rec.id);
        n.index.insert(rec.id, r);
        n.records.insert(rec.id, rec);
        r
    }

    /// Brings the plan to `now` and the set of open requests.
    fn repair(&self, n: &mut Night, now: Epoch, open: Vec<RequestRecord>) {
        let now_s = (now - n.start).to_seconds().max(0.0);
        let open_ids: std::collections::HashSet<RequestId> = open.iter().map(|r| r.id).collect();
        let running: std::collections::HashSet<usize> =
            n.running.iter().flatten().map(|x| x.r).collect();
        // Gone from the open set: done, cancelled, failed, expired. A running block's
        // request (observing) stays, pinned, until its executor asks again.
        let gone: Vec<usize> = n
            .ids
            .iter()
            .enumerate()
            .filter(|(r, id)| {
                n.plan.is_planned(*r) && !open_ids.contains(id) && !running.contains(r)
            })
            .map(|(r, _)| r)
            .collect();
        n.plan.remove_many(&n.problem, &gone);
        for r in &gone {
            n.problem.requests[*r].pinned = None;
            n.urgent.remove(r);
        }
        // Their records are stale (a completed request would read `scheduled`).
        n.records.retain(|id, _| {
            open_ids.contains(id) || n.index.get(id).is_some_and(|r| running.contains(r))
        });
        // A block running longer than planned still holds its telescope: from now on
        // it is taken to end now, and what follows is pushed behind it.
        for t in 0..n.running.len() {
            let Some(run) = n.running[t] else { continue };
            if run.yielding.is_some() {
                continue;
            }
            let dur = n.problem.requests[run.r].duration_s;
            let start = n.problem.requests[run.r].pinned.as_ref().map_or(now_s, |p| p.starts[0]);
            if start + dur < now_s {
                pin(n, t, run.r, now_s - dur);
            }
        }
        // A closed telescope's night starts when it can open again; a rapid-response
        // request waiting for it looks for the soonest start again, anywhere.
        let mut rapid = Vec::new();
        for (t, until) in n.closed_until.iter().enumerate() {
            n.problem.telescopes[t].night.0 = until.map_or(0.0, |u| u.max(now_s));
            if until.is_some() {
                for &r in n.urgent.iter().filter(|r| n.plan.assigned[**r] == Some(t as u16)) {
                    rapid.push(r);
                }
            }
        }
        for &r in &rapid {
            n.urgent.remove(&r);
            n.problem.requests[r].pinned = None;
            n.plan.remove(&n.problem, r);
        }
        let mut retry = n.plan.advance_to(&n.problem, now_s);
        for rec in open {
            let id = rec.id;
            match n.index.get(&id).copied() {
                Some(r) => {
                    n.records.insert(id, rec);
                    if !n.plan.is_planned(r) {
                        retry.push(r);
                    }
                }
                None => {
                    let class = rec.spec.class;
                    let r = self.add(n, rec, now_s);
                    if class == RequestClass::RapidResponse {
                        rapid.push(r);
                    } else {
                        retry.push(r);
                    }
                }
            }
        }
        for r in rapid {
            cut_windows(&mut n.problem, r, now_s);
            self.place_rapid(n, r, now_s);
        }
        self.reoffer(n, retry, now_s);
    }

    /// Offers the rest of the night to requests out of the plan, highest value first.
    fn reoffer(&self, n: &mut Night, mut retry: Vec<usize>, now_s: f64) {
        retry.sort_by(|a, b| {
            n.problem.requests[*b].value.total_cmp(&n.problem.requests[*a].value).then(a.cmp(b))
        });
        retry.dedup();
        for r in retry {
            if n.plan.is_planned(r) {
                continue;
            }
            cut_windows(&mut n.problem, r, now_s);
            if let Some(pl) = best_over_telescopes(&n.problem, &mut n.plan, r) {
                n.plan.commit(&n.problem, r, &pl);
            }
        }
    }

    /// Puts a new rapid-response request `r` where it starts soonest. If that means
    /// waiting more than [`RAPID_PATIENCE_S`] and preemption is allowed, a telescope
    /// running a block of lower value on which `r` could start now is freed: the block
    /// leaves the plan and is told to yield.
    fn place_rapid(&self, n: &mut Night, r: usize, now_s: f64) {
        let mut plan = n.plan.clone();
        let mut urgent = insert_urgent(&n.problem, &mut plan, r, now_s, RAPID_PATIENCE_S);
        let mut preempted = None;
        let waits = urgent.as_ref().is_none_or(|u| u.start > now_s + RAPID_PATIENCE_S);
        if self.preempt && waits {
            let value = n.problem.requests[r].value;
            for (t, run) in n.running.iter().enumerate() {
                let Some(run) = run else { continue };
                if run.yielding.is_some() || n.problem.requests[run.r].value >= value {
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

    /// Keeps each open request's state honest: scheduled iff in tonight's plan.
    async fn sync_states(&self, n: &mut Night) -> Result<(), StoreError> {
        for (r, id) in n.ids.iter().enumerate() {
            let Some(rec) = n.records.get_mut(id) else { continue };
            let planned = n.plan.is_planned(r);
            let (from, to, why) = match (rec.state, planned) {
                (RequestState::Queued, true) => {
                    (RequestState::Queued, RequestState::Scheduled, "in tonight's plan")
                }
                (RequestState::Scheduled, false) => (
                    RequestState::Scheduled,
                    RequestState::Queued,
                    "no longer fits tonight; waiting for a later night",
                ),
                _ => continue,
            };
            if self.ledger.transition(*id, &[from], to, Some(why)).await? {
                rec.state = to;
            }
        }
        Ok(())
    }

    fn publish(&self, n: &Night, now: Epoch) {
        let fmt = teld_driver_protocol::time::format_utc;
        let at = |s: f64| n.start + Duration::from_seconds(s);
        let step = (SVG_SAMPLE_S / GRID_S) as usize;
        let telescopes = self
            .telescopes
            .iter()
            .enumerate()
            .map(|(t, tel)| {
                let tl = &n.plan.timelines[t];
                let blocks = tl
                    .slots
                    .iter()
                    .zip(&tl.es)
                    .map(|(s, &es)| {
                        let id = n.ids[s.req as usize];
                        let spec = &n.records[&id].spec;
                        let target = spec.target.icrs();
                        PlannedBlock {
                            request_id: id,
                            name: spec.display_name().to_string(),
                            start: fmt(at(es)),
                            end: fmt(at(es + s.dur)),
                            value: n.problem.requests[s.req as usize].value,
                            ra_deg: spec.target.ra_deg,
                            dec_deg: spec.target.dec_deg,
                            class: spec.class,
                            start_s: es,
                            end_s: es + s.dur,
                            altitudes: n
                                .frames
                                .iter()
                                .step_by(step)
                                .map(|f| f.alt_deg(target))
                                .collect(),
                        }
                    })
                    .collect();
                TelescopePlan { name: tel.name.clone(), blocks }
            })
            .collect();
        let unplanned = n
            .ids
            .iter()
            .enumerate()
            .filter(|(r, id)| {
                !n.plan.is_planned(*r)
                    && !n.running.iter().flatten().any(|x| x.r == *r)
                    && n.records.get(id).is_some_and(|x| !x.state.is_final())
            })
            .map(|(_, id)| *id)
            .collect();
        let view = PlanView {
            night_start: Some(fmt(n.start)),
            night_end: Some(fmt(n.end)),
            updated_at: Some(fmt(now)),
            value: n.plan.value,
            telescopes,
            unplanned,
            sun_altitudes: n.sun.clone(),
            span_s: (n.end - n.start).to_seconds(),
        };
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = view;
    }
}

/// Puts request `r` first on telescope `t`, fixed at `start`: a running block, which
/// nothing may move or precede.
fn pin(n: &mut Night, t: usize, r: usize, start: f64) {
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

/// No visit of `r` may start before `from`.
fn cut_windows(p: &mut Problem, r: usize, from: f64) {
    let req = &mut p.requests[r];
    let dur = req.duration_s;
    for w in &mut req.windows {
        w.retain_mut(|iv| {
            iv.0 = iv.0.max(from);
            iv.1 - iv.0 >= dur - 1e-9
        });
    }
}
