//! The night plan of every telescope, kept by one planner that all executors ask.
//!
//! At the first question of a night it builds the problem (each open request's
//! visibility from each telescope on a one-minute grid: altitude, airmass, horizon
//! mask, mount limits, Sun, window) and solves it with `teld-schedule`. After that it
//! repairs: requests that arrived are inserted (rapid response first, ahead of
//! lower-value work), requests that left (done, cancelled, expired, failed) are taken
//! out, and the plan is moved to "now", which drops and re-inserts whatever no longer
//! fits after weather, faults or overruns. Nothing is planned from scratch mid-night.

mod availability;
mod grid;
mod meridian;
mod rapid;
mod tracklet;
mod view;

pub use rapid::Yield;
use rapid::{Running, pin};
pub use view::{PlanView, PlannedBlock, TelescopePlan};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hifitime::{Duration, Epoch};
use teld_astro::visibility::SkyFrame;
use teld_astro::{Site, iers};
use teld_schedule::construct::best_over_telescopes;
use teld_schedule::model::Pinned;
use teld_schedule::model::Problem;
use teld_schedule::{Options, Plan, Request, Target, Telescope};
use tokio::sync::{Mutex, watch};

use super::svg::SAMPLE_S as SVG_SAMPLE_S;
use super::{Block, Frames, Limits, Visibility};
use crate::ledger::Ledger;
use crate::model::{RequestClass, RequestId, RequestState};
use crate::store::{RequestRecord, StoreError};
use teld_astro::Icrs;

/// The planning grid: visibility is sampled every minute, as the benchmark does.
const GRID_S: f64 = 60.0;
/// A moving target's place is sampled this often for the planner's slews.
const EPHEMERIS_STEP_S: f64 = 600.0;
/// A block may be started this much before its planned time (the slew takes it).
const DISPATCH_AHEAD_S: f64 = 30.0;
/// A rapid-response request that cannot start within this much of now makes room
/// by moving lower-value work.
const RAPID_PATIENCE_S: f64 = 60.0;
/// Blocks starting this soon are not pushed back by newly arrived work.
const FREEZE_S: f64 = 300.0;
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
    /// Filters in its wheel; a request naming another filter is not planned here.
    pub filters: Vec<String>,
    /// A German mount's visits are planned clear of its meridian limit (`meridian`).
    pub mount: crate::config::MountGeometry,
}

pub struct Planner {
    ledger: Ledger,
    site: Site,
    telescopes: Vec<PlannedTelescope>,
    /// The site's night: the Sun at most this high.
    night_sun_max_deg: f64,
    seed: u64,
    /// Survey definitions whose due fields are queued at each night's first plan.
    surveys: Vec<teld_survey::Survey>,
    /// Telescopes out of service (a driver down): nothing is planned on them.
    down: std::sync::Mutex<Vec<bool>>,
    /// `observing.rapid_response_abort`: may a rapid-response request interrupt a
    /// running block of lower value?
    preempt: bool,
    /// Running blocks asked to give way, read by the executors' blocks.
    yields: watch::Sender<Vec<Yield>>,
    /// The blocks and unplanned list last stored, to store only changes.
    saved: Mutex<String>,
    state: Mutex<Option<Night>>,
    view: Arc<RwLock<PlanView>>,
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
    records: HashMap<RequestId, RequestRecord>,
    /// Tracklets under way: pinned to their telescope and times once the first
    /// visit starts.
    progress: HashMap<usize, Progress>,
    /// Per telescope, the block it is running.
    running: Vec<Option<Running>>,
    /// Per telescope, closed (weather) until at least then: nothing planned before.
    closed_until: Vec<Option<f64>>,
    /// Rapid-response requests pinned where `insert_urgent` put them, not yet
    /// dispatched: with floating starts, other work re-offered later could otherwise
    /// slip in ahead of them.
    urgent: std::collections::HashSet<usize>,
}

/// A tracklet's visits so far. Times are seconds from the night's start.
#[derive(Debug, Clone)]
struct Progress {
    /// When each visit was dispatched, in order.
    started: Vec<f64>,
    /// Visits completed.
    done: u32,
}

/// What an executor should do next.
#[derive(Debug)]
pub enum Next {
    /// Observe this now (`frames_done` is 0: the executor counts stored frames).
    Block(Box<Block>),
    /// The next planned block starts then.
    WaitUntil(Epoch),
    /// Nothing planned for this telescope.
    Idle,
}

/// What [`Planner::pick`] found on a telescope's timeline.
enum Pick {
    Run(usize, u32),
    Wait(f64),
    Idle,
    /// A tracklet that can no longer be completed as pinned, and why.
    Broken(usize, String),
}

impl Planner {
    /// `yields` is where the planner tells running blocks to give way to a
    /// rapid-response request (the executors hold its receiver); `preempt` is
    /// `observing.rapid_response_abort`.
    pub fn new(
        ledger: Ledger,
        site: Site,
        telescopes: Vec<PlannedTelescope>,
        night_sun_max_deg: f64,
        seed: u64,
        preempt: bool,
        yields: watch::Sender<Vec<Yield>>,
    ) -> Planner {
        let n_tel = telescopes.len();
        Planner {
            ledger,
            site,
            telescopes,
            night_sun_max_deg,
            seed,
            preempt,
            yields,
            down: std::sync::Mutex::new(vec![false; n_tel]),
            surveys: Vec::new(),
            saved: Mutex::new(String::new()),
            state: Mutex::new(None),
            view: Arc::new(RwLock::new(PlanView::default())),
        }
    }

    /// Surveys to queue fields of at the start of each night.
    pub fn with_surveys(mut self, surveys: Vec<teld_survey::Survey>) -> Planner {
        self.surveys = surveys;
        self
    }

    /// Refuses a request no telescope here can observe in its windows (or the next
    /// 30 days), with the reason and the next date it would be observable.
    pub async fn check_observable(
        self: &std::sync::Arc<Self>,
        spec: &crate::model::RequestSpec,
        now: Epoch,
    ) -> Result<(), super::NotObservable> {
        let (me, spec) = (self.clone(), spec.clone());
        tokio::task::spawn_blocking(move || {
            super::observability::check(&spec, &me.telescopes, me.night_sun_max_deg, now)
        })
        .await
        .unwrap_or(Ok(()))
    }

    /// Filters some telescope here has, for checking submissions.
    pub fn filters(&self) -> Vec<String> {
        let mut f: Vec<String> = self.telescopes.iter().flat_map(|t| t.filters.clone()).collect();
        f.sort();
        f.dedup();
        f
    }

    pub fn telescope_names(&self) -> Vec<String> {
        self.telescopes.iter().map(|t| t.name.clone()).collect()
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
        let rebuild = guard
            .as_ref()
            .is_none_or(|n| (n.end - night_end).abs() > Duration::from_seconds(3600.0));
        if rebuild && !self.surveys.is_empty() {
            let overhead = self.telescopes.iter().map(|t| t.settle_s).fold(0.0, f64::max);
            super::surveys::materialize(&self.ledger, &self.surveys, (now, night_end), overhead)
                .await?;
        }
        let open = self.open_requests(now).await?;
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
        let next = loop {
            match self.pick(n, ti, now_s) {
                Pick::Broken(r, why) => self.break_tracklet(n, r, &why, now_s).await?,
                Pick::Wait(at) => break Next::WaitUntil(n.start + Duration::from_seconds(at)),
                Pick::Idle => break Next::Idle,
                Pick::Run(r, 0) if !self.fits_now(n, ti, r, now) => {
                    self.postpone(n, ti, r, now_s);
                }
                Pick::Run(r, visit) => {
                    break Next::Block(Box::new(self.dispatch(n, ti, r, visit, now_s)));
                }
            }
        };
        self.sync_states(n).await?;
        self.publish(n, now);
        self.store_plan().await?;
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
        self.store_plan().await
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
        self.store_plan().await
    }

    /// Telescope `ti`'s block has ended: its request leaves the plan (and comes back
    /// through the queue if it was interrupted). A tracklet under way keeps its
    /// pinned visits; [`Planner::visit_finished`] decides about it.
    fn release(&self, n: &mut Night, ti: usize) {
        if let Some(run) = n.running[ti].take()
            && !n.progress.contains_key(&run.r)
        {
            n.problem.requests[run.r].pinned = None;
            n.plan.remove(&n.problem, run.r);
        }
    }

    /// The telescope's first planned visit that is not done yet, and whether it is
    /// due. A tracklet's later visit is never started early (its spacing is
    /// measured from when the previous visit started) and one that can no longer
    /// keep its maximum spacing breaks the tracklet.
    fn pick(&self, n: &Night, ti: usize, now_s: f64) -> Pick {
        let tl = &n.plan.timelines[ti];
        let first = tl
            .slots
            .iter()
            .zip(&tl.es)
            .find(|(s, _)| n.progress.get(&(s.req as usize)).is_none_or(|p| s.visit >= p.done));
        let Some((slot, &es)) = first else { return Pick::Idle };
        let r = slot.req as usize;
        let req = &n.problem.requests[r];
        if req.visits == 1 {
            // Early for the slew, but not before the visit's interval opens (a
            // window's start, a target rising): the block would stop at its first
            // frame and be handed out again.
            return if es > now_s + DISPATCH_AHEAD_S {
                Pick::Wait(es)
            } else if slot.lo > now_s {
                Pick::Wait(slot.lo)
            } else {
                Pick::Run(r, 0)
            };
        }
        let (lo, hi) = req.spacing.unwrap_or((0.0, f64::INFINITY));
        let prev = (slot.visit > 0)
            .then(|| n.progress.get(&r).and_then(|p| p.started.get(slot.visit as usize - 1)))
            .flatten()
            .copied();
        let due = match (slot.visit, prev) {
            (0, _) => es,
            (v, Some(prev)) => {
                if now_s - prev > hi + 1.0 {
                    let late = (now_s - prev) / 60.0;
                    return Pick::Broken(
                        r,
                        format!(
                            "tracklet broken: visit {} would start {late:.1} min after visit {v}, more than the {:.1} min allowed",
                            v + 1,
                            hi / 60.0
                        ),
                    );
                }
                es.max(prev + lo)
            }
            (v, None) => {
                return Pick::Broken(
                    r,
                    format!("tracklet broken: visit {v} has no record of visit {}", v - 1),
                );
            }
        };
        if due > now_s { Pick::Wait(due) } else { Pick::Run(r, slot.visit) }
    }

    /// The exact check at dispatch: can the first visit of `r` run from now to its
    /// end without crossing a limit? The plan's one-minute grid can be a minute off
    /// at a window's edge, and a block that started late may no longer fit; a block
    /// is never started if it would cross a limit.
    fn fits_now(&self, n: &Night, ti: usize, r: usize, now: Epoch) -> bool {
        let Some(rec) = n.records.get(&n.ids[r]) else { return false };
        // Dispatched up to a slew early: the visit itself starts at its planned time.
        let tl = &n.plan.timelines[ti];
        let es = tl.slots.iter().zip(&tl.es).find(|(s, _)| s.req as usize == r).map(|(_, e)| *e);
        let start = now.max(n.start + Duration::from_seconds(es.unwrap_or(0.0)));
        let end = start + Duration::from_seconds(n.problem.requests[r].duration_s);
        let frames = Frames::default();
        let vis = Visibility::new(&self.telescopes[ti].limits, &frames, &rec.spec);
        vis.observable_over(start, end) && vis.window_allows(start, end)
    }

    /// `r` cannot start now on `ti`: that telescope gets it no earlier than a grid
    /// step later, and the rest of the night is offered to it again, so the same
    /// block is not handed out over and over.
    fn postpone(&self, n: &mut Night, ti: usize, r: usize, now_s: f64) {
        let id = n.ids[r];
        tracing::info!(request = id, telescope = %self.telescopes[ti].name, "not started: it would cross a limit before its end; offered later");
        n.urgent.remove(&r);
        n.problem.requests[r].pinned = None;
        n.plan.remove(&n.problem, r);
        cut_telescope(&mut n.problem, r, ti, now_s.max(0.0) + GRID_S);
        self.reoffer(n, vec![r], now_s.max(0.0));
    }

    /// Hands out visit `visit` of request `r`; the first visit of a tracklet pins
    /// the rest where the plan has them.
    fn dispatch(&self, n: &mut Night, ti: usize, r: usize, visit: u32, now_s: f64) -> Block {
        let visits = n.problem.requests[r].visits;
        if visits > 1 {
            if visit == 0 {
                let tl = &n.plan.timelines[ti];
                let mut starts: Vec<(u32, f64)> = tl
                    .slots
                    .iter()
                    .zip(&tl.es)
                    .filter(|(s, _)| s.req as usize == r)
                    .map(|(s, &es)| (s.visit, es))
                    .collect();
                starts.sort_by_key(|x| x.0);
                let mut starts: Vec<f64> = starts.into_iter().map(|x| x.1).collect();
                starts[0] = starts[0].max(now_s);
                n.plan.remove_many(&n.problem, &[r]);
                n.problem.requests[r].pinned = Some(Pinned { telescope: ti, starts });
                n.plan.place_pinned(&n.problem);
                n.progress.insert(r, Progress { started: Vec::new(), done: 0 });
            }
            if let Some(p) = n.progress.get_mut(&r) {
                p.started.truncate(visit as usize);
                p.started.push(now_s);
            }
        }
        let tl = &n.plan.timelines[ti];
        let dur = tl.slots.iter().find(|s| s.req as usize == r).map_or(0.0, |s| s.dur);
        if visits == 1 {
            // From now on the block occupies the telescope whatever the plan said: it
            // slews now and exposes once there (about the settle time).
            let settle = self.telescopes[ti].settle_s;
            pin(n, ti, r, now_s.max(0.0) + settle);
            let dropped = n.plan.advance_to(&n.problem, now_s.max(0.0));
            self.reoffer(n, dropped, now_s.max(0.0));
        }
        n.urgent.remove(&r);
        n.running[ti] = Some(Running { r, yielding: None });
        let id = n.ids[r];
        Block {
            request: n.records[&id].clone(),
            frames_done: 0,
            duration_s: dur,
            visit,
            visits,
            plan_id: Some(teld_driver_protocol::time::format_utc(n.start)),
        }
    }

    /// Open requests, after expiring those whose windows have all ended. Observing
    /// ones are included: a tracklet under way keeps its place in the plan.
    async fn open_requests(&self, now: Epoch) -> Result<Vec<RequestRecord>, StoreError> {
        let open_states = [RequestState::Queued, RequestState::Scheduled];
        let mut out = Vec::new();
        let states = [RequestState::Queued, RequestState::Scheduled, RequestState::Observing];
        for req in self.ledger.store.requests_in(&states).await? {
            if req.state != RequestState::Observing
                && req.spec.expires_at().is_some_and(|e| e <= now)
            {
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
            progress: HashMap::new(),
            running: vec![None; self.telescopes.len()],
            closed_until: vec![None; self.telescopes.len()],
            urgent: Default::default(),
        };
        for rec in open.into_iter().filter(|r| r.state != RequestState::Observing) {
            self.add(&mut night, rec, 0.0);
        }
        let mut problem = night.problem.clone();
        for (t, down) in self.down_mask().into_iter().enumerate() {
            if down {
                problem.requests.iter_mut().for_each(|r| r.windows[t].clear());
            }
        }
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

    /// Brings the plan to `now` and the set of open requests.
    fn repair(&self, n: &mut Night, now: Epoch, open: Vec<RequestRecord>) {
        let now_s = (now - n.start).to_seconds().max(0.0);
        let running: std::collections::HashSet<usize> =
            n.running.iter().flatten().map(|x| x.r).collect();
        // Observing requests are someone's running block (pinned until its executor
        // asks again) or a tracklet between visits; neither is new work.
        let open: Vec<RequestRecord> = open
            .into_iter()
            .filter(|rec| {
                rec.state != RequestState::Observing
                    || n.index.get(&rec.id).is_some_and(|r| n.progress.contains_key(r))
            })
            .collect();
        let open_ids: std::collections::HashSet<RequestId> = open.iter().map(|r| r.id).collect();
        // Gone from the open set: done, cancelled, failed, expired.
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
            n.progress.remove(r);
            n.urgent.remove(r);
            n.problem.requests[*r].pinned = None;
        }
        // Their records are stale (a completed request would read `scheduled`).
        n.records.retain(|id, _| {
            open_ids.contains(id) || n.index.get(id).is_some_and(|r| running.contains(r))
        });
        self.hold_overruns(n, now_s);
        let mut rapid = self.close_telescopes(n, now_s);
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
                    // A rapid tracklet is planned like any other: insert_urgent takes
                    // single visits.
                    let urgent = rec.spec.class == RequestClass::RapidResponse
                        && rec.spec.tracklet.is_none();
                    let r = self.add(n, rec, now_s);
                    if urgent { rapid.push(r) } else { retry.push(r) }
                }
            }
        }
        for r in rapid {
            cut_windows(&mut n.problem, r, now_s);
            self.place_rapid(n, r, now_s);
        }
        self.reoffer(n, retry, now_s);
    }

    /// A single-visit block running longer than planned still holds its telescope:
    /// from now on it is taken to end now, and what follows is pushed behind it.
    fn hold_overruns(&self, n: &mut Night, now_s: f64) {
        for t in 0..n.running.len() {
            let Some(run) = n.running[t] else { continue };
            if run.yielding.is_some() || n.progress.contains_key(&run.r) {
                continue;
            }
            let dur = n.problem.requests[run.r].duration_s;
            let start = n.problem.requests[run.r].pinned.as_ref().map_or(now_s, |p| p.starts[0]);
            if start + dur < now_s {
                pin(n, t, run.r, now_s - dur);
            }
        }
    }

    /// A closed telescope's night starts when it can open again; rapid-response
    /// requests waiting for it are returned, to look for the soonest start again.
    fn close_telescopes(&self, n: &mut Night, now_s: f64) -> Vec<usize> {
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
        rapid
    }

    /// Offers the rest of the night to requests out of the plan, highest value
    /// first, after the work about to start and only on telescopes in service.
    fn reoffer(&self, n: &mut Night, mut retry: Vec<usize>, now_s: f64) {
        retry.sort_by(|a, b| {
            n.problem.requests[*b].value.total_cmp(&n.problem.requests[*a].value).then(a.cmp(b))
        });
        retry.dedup();
        let frozen = frozen_until(&n.plan, now_s);
        let down = self.down_mask();
        for r in retry {
            if n.plan.is_planned(r) {
                continue;
            }
            cut_windows(&mut n.problem, r, now_s);
            self.insert_masked(n, r, &down, &frozen);
        }
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
                    "not in tonight's plan now (it no longer fits, or its telescope is out of service); waiting",
                ),
                _ => continue,
            };
            if self.ledger.transition(*id, &[from], to, Some(why)).await? {
                rec.state = to;
            }
        }
        Ok(())
    }
}

/// No visit of `r` may start before `from`.
fn cut_windows(p: &mut Problem, r: usize, from: f64) {
    for t in 0..p.requests[r].windows.len() {
        cut_telescope(p, r, t, from);
    }
}

fn cut_telescope(p: &mut Problem, r: usize, t: usize, from: f64) {
    let req = &mut p.requests[r];
    let dur = req.duration_s;
    req.windows[t].retain_mut(|iv| {
        iv.0 = iv.0.max(from);
        iv.1 - iv.0 >= dur - 1e-9
    });
}

/// Per telescope, the end of the work planned to start within [`FREEZE_S`] of now
/// (or now, if none): repairs put new work after it, so what an operator sees as
/// next does not change under them unless forced (rapid response, weather).
fn frozen_until(plan: &Plan, now_s: f64) -> Vec<f64> {
    plan.timelines
        .iter()
        .map(|tl| {
            tl.slots
                .iter()
                .zip(&tl.es)
                .take_while(|(_, es)| **es < now_s + FREEZE_S)
                .map(|(s, es)| es + s.dur)
                .fold(now_s, f64::max)
        })
        .collect()
}

#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod window_tests;
