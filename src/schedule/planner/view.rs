//! The plan as the API shows it and as it is stored: JSON per telescope, and the
//! data the picture needs.

use hifitime::{Duration, Epoch};
use serde::Serialize;
use teld_astro::Icrs;

use super::{GRID_S, Night, Planner};
use crate::model::{RequestClass, RequestId};
use crate::schedule::svg::SAMPLE_S as SVG_SAMPLE_S;
use crate::store::StoreError;

/// The plan as the API shows it.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
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
    /// Upper bound on any plan's value for this night's problem
    /// (`teld_schedule::bound`), for the metrics' gap. Not in the JSON yet.
    #[serde(skip)]
    pub bound: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TelescopePlan {
    pub name: String,
    pub blocks: Vec<PlannedBlock>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlannedBlock {
    pub request_id: RequestId,
    pub name: String,
    pub start: String,
    pub end: String,
    pub value: f64,
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub class: RequestClass,
    /// Which visit of a tracklet this is (0-based), and how many it has.
    pub visit: u32,
    pub visits: u32,
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
    /// Stores the published plan if its blocks changed: the plan of every night stays
    /// readable (`teld plan --svg`) after the daemon has moved on.
    pub(super) async fn store_plan(&self) -> Result<(), StoreError> {
        let view = self.view();
        let key = serde_json::to_string(&(&view.telescopes, &view.unplanned)).unwrap_or_default();
        let mut saved = self.saved.lock().await;
        if *saved == key {
            return Ok(());
        }
        let (Some(start), Some(updated)) = (&view.night_start, &view.updated_at) else {
            return Ok(());
        };
        let parse = teld_driver_protocol::time::parse_utc;
        let (Ok(night_start), Ok(updated_at)) = (parse(start), parse(updated)) else {
            return Ok(());
        };
        let plan = crate::store::StoredPlan {
            night_start,
            updated_at,
            json: serde_json::to_string(&view).unwrap_or_default(),
            svg: crate::schedule::svg::render(&view, &view.sun_altitudes, view.span_s),
        };
        self.ledger.store.save_plan(&plan).await?;
        *saved = key;
        Ok(())
    }

    pub(super) fn publish(&self, n: &Night, now: Epoch) {
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
                        let req = &n.problem.requests[s.req as usize];
                        let (ra_deg, dec_deg) = req.target.radec(es);
                        PlannedBlock {
                            request_id: id,
                            name: spec.display_name().to_string(),
                            start: fmt(at(es)),
                            end: fmt(at(es + s.dur)),
                            value: n.problem.requests[s.req as usize].value,
                            ra_deg,
                            dec_deg,
                            class: spec.class,
                            visit: s.visit,
                            visits: req.visits,
                            start_s: es,
                            end_s: es + s.dur,
                            altitudes: n
                                .frames
                                .iter()
                                .enumerate()
                                .step_by(step)
                                .map(|(k, f)| {
                                    let (ra_deg, dec_deg) = req.target.radec(k as f64 * GRID_S);
                                    f.alt_deg(Icrs { ra_deg, dec_deg })
                                })
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
            bound: teld_schedule::bound::fractional_bound(&n.problem),
        };
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = view;
    }
}
