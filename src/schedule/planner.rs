//! The night plan of every telescope, kept by one planner that all executors ask.
//!
//! At the first question of a night it builds the problem (each open request's
//! visibility from each telescope on a one-minute grid: altitude, airmass, horizon
//! mask, mount limits, Sun, window) and solves it with `teld-schedule`. After that it
//! repairs: requests that arrived are inserted (rapid response first, ahead of
//! lower-value work), requests that left (done, cancelled, expired, failed) are taken
//! out, and the plan is moved to "now", which drops and re-inserts whatever no longer
//! fits after weather, faults or overruns. Nothing is planned from scratch mid-night.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hifitime::{Duration, Epoch};
use serde::Serialize;
use teld_astro::visibility::SkyFrame;
use teld_astro::{Site, iers};
use teld_schedule::construct::best_over_telescopes;
use teld_schedule::model::Problem;
use teld_schedule::repair::insert_urgent;
use teld_schedule::{Options, Plan, Request, Target, Telescope};
use tokio::sync::Mutex;

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
/// by moving lower-value work.
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
    pub fn new(
        ledger: Ledger,
        site: Site,
        telescopes: Vec<PlannedTelescope>,
        seed: u64,
    ) -> Planner {
        Planner {
            ledger,
            site,
            telescopes,
            seed,
            state: Mutex::new(None),
            view: Arc::new(RwLock::new(PlanView::default())),
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
            self.repair(n, now, open);
        }
        let Some(n) = guard.as_mut() else { return Ok(Next::Idle) };
        self.sync_states(n).await?;
        self.publish(n, now);
        let now_s = (now - n.start).to_seconds();
        let tl = &n.plan.timelines[ti];
        let Some(first) = tl.slots.first() else { return Ok(Next::Idle) };
        let start = tl.es[0];
        if start > now_s + DISPATCH_AHEAD_S {
            return Ok(Next::WaitUntil(n.start + Duration::from_seconds(start)));
        }
        let id = n.ids[first.req as usize];
        let rec = n.records[&id].clone();
        Ok(Next::Block(Box::new(rec), first.dur))
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
        // Gone from the open set: done, cancelled, failed, expired, or running.
        let gone: Vec<usize> = n
            .ids
            .iter()
            .enumerate()
            .filter(|(r, id)| n.plan.is_planned(*r) && !open_ids.contains(id))
            .map(|(r, _)| r)
            .collect();
        n.plan.remove_many(&n.problem, &gone);
        let mut retry = n.plan.advance_to(&n.problem, now_s);
        let mut rapid = Vec::new();
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
            if let Some(u) = insert_urgent(&n.problem, &mut n.plan, r, now_s, RAPID_PATIENCE_S) {
                tracing::info!(
                    request = n.ids[r],
                    start_s = u.start,
                    evicted = u.evicted.len(),
                    "rapid response planned"
                );
            }
        }
        retry.sort_by(|a, b| {
            n.problem.requests[*b].value.total_cmp(&n.problem.requests[*a].value).then(a.cmp(b))
        });
        retry.dedup();
        for r in retry {
            cut_windows(&mut n.problem, r, now_s);
            if let Some(pl) = best_over_telescopes(&n.problem, &mut n.plan, r) {
                n.plan.commit(&n.problem, r, &pl);
            }
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
                !n.plan.is_planned(*r) && n.records.get(id).is_some_and(|x| !x.state.is_final())
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
