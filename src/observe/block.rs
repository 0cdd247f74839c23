//! Running one block: a request's frames on one telescope, from opening the dome to
//! the last frame in the archive. Weather, dawn and shutdown interrupt it; device
//! faults fail it.

use hifitime::{Duration, Epoch};
use tokio_util::sync::CancellationToken;

use super::ObserveContext;
use super::frame::{Shot, take_frame};
use crate::config::TelescopeConfig;
use crate::core::{BlockView, ControlMode, ControlView, Event, ObservationPhase};
use crate::devices::{DeviceError, InterlockError, Telescope, Track};
use crate::model::PER_FRAME_OVERHEAD_S;
use crate::model::RequestState;
use crate::schedule::{Block, Frames, Limits, Visibility};
use crate::store::StoreError;
use teld_astro::Icrs;

/// A moving target that drifted this far from where the mount points is pointed at
/// afresh before the next frame (a few pixels of a typical NEO follow-up camera).
const REPOINT_ARCSEC: f64 = 5.0;

fn separation_arcsec(a: Icrs, b: Icrs) -> f64 {
    let (ua, ub) = (a.unit(), b.unit());
    let dot = ua[0] * ub[0] + ua[1] * ub[1] + ua[2] * ub[2];
    dot.clamp(-1.0, 1.0).acos().to_degrees() * 3600.0
}

pub struct BlockRun<'a> {
    pub tel: &'a Telescope,
    pub cfg: &'a TelescopeConfig,
    pub ctx: &'a ObserveContext,
    pub block: &'a Block,
    pub night_end: Epoch,
    /// The telescope's control mode: leaving `auto` stops the block.
    pub control: tokio::sync::watch::Receiver<ControlView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Interrupted (weather, dawn, target set, shutdown, preempted by a
    /// rapid-response request): back to the queue, no attempt counted.
    Aborted,
    /// A device or driver fault: counts as an attempt.
    Failed,
}

/// Why a block stopped early.
#[derive(Debug, thiserror::Error)]
pub(super) enum Stop {
    #[error("{0}")]
    Interrupted(String),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error("the mount or camera driver stopped during the observation ({0})")]
    DriverLost(String),
    /// Frames were taken but the quick-look failed some: they do not count, and the
    /// observation is retried like any failed attempt.
    #[error("{0}")]
    Quality(String),
}

impl BlockRun<'_> {
    pub async fn run(&self, shutdown: &CancellationToken) -> Outcome {
        let req = &self.block.request;
        let (ledger, clock, tel) = (&self.ctx.ledger, &self.ctx.clock, &self.tel.name);
        let from = [RequestState::Queued, RequestState::Scheduled];
        match ledger
            .transition(req.id, &from, RequestState::Observing, Some(&format!("on {tel}")))
            .await
        {
            Ok(true) => {}
            Ok(false) => return Outcome::Aborted, // cancelled or taken meanwhile
            Err(e) => {
                tracing::error!(request = req.id, "cannot mark observing: {e}");
                return Outcome::Failed;
            }
        }
        let obs = match self.ctx.store.start_observation(req.id, tel, clock.now()).await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(request = req.id, "cannot record the observation: {e}");
                let _ = ledger
                    .transition(
                        req.id,
                        &[RequestState::Observing],
                        RequestState::Queued,
                        Some("store error"),
                    )
                    .await;
                return Outcome::Failed;
            }
        };
        self.observation_event(obs, ObservationPhase::Started, None);
        let restarts_before = self.driver_restarts();
        let result = tokio::select! {
            r = self.observe(obs) => r,
            reason = self.interruption(shutdown) => Err(Stop::Interrupted(reason)),
            // The mount reporting itself beyond a limit is a fault, whatever the plan.
            e = self.tel.guard_tracking() => Err(Stop::Device(e)),
        };
        // A mount or camera driver that died under the block shows up first as whatever
        // noticed it (the weather turning "unknown", a call interrupted). Classify by
        // cause, so a request that keeps crashing the driver doing its work is retired
        // like any failing request; a weather or dome driver's trouble is not its fault.
        let result = match result {
            Err(Stop::Interrupted(reason))
                if !self.tel.imaging_drivers_up() || self.driver_restarts() != restarts_before =>
            {
                Err(Stop::DriverLost(reason))
            }
            // An interlock refusal is policy, not a fault (the site turned unsafe as the
            // dome was about to open, the target sank below the limit): requeue.
            Err(Stop::Device(DeviceError::Interlock(e))) => {
                Err(Stop::Interrupted(format!("refused by interlock: {e}")))
            }
            other => other,
        };
        let result = match result {
            Ok(()) if self.ctx.quicklook.requeue_failed => self.quality_check(obs).await,
            other => other,
        };
        self.ctx.core.update(|s| {
            s.telescopes.entry(tel.clone()).or_default().block = None;
        });
        self.settle(obs, result).await
    }

    /// A block whose frames all came in is only done if the quick-look passed them.
    async fn quality_check(&self, obs: i64) -> Result<(), Stop> {
        let failed = match self.ctx.store.failed_frames(obs).await {
            Ok(f) => f,
            Err(e) => {
                // Not knowing is not failing: the frames are stored and count.
                tracing::error!(observation = obs, "cannot read the frames' quick-look: {e}");
                return Ok(());
            }
        };
        let Some((frame, reason, detail)) = failed.first() else { return Ok(()) };
        Err(Stop::Quality(format!(
            "{} frame(s) failed quick-look, first frame {frame}: {} ({detail}); they do not count",
            failed.len(),
            reason.as_deref().unwrap_or("unknown"),
        )))
    }

    /// Records how the block ended: observation row, event, request state. Store
    /// writes are retried, because a request left `observing` would never be planned
    /// again until the next restart.
    async fn settle(&self, obs: i64, result: Result<(), Stop>) -> Outcome {
        let req = &self.block.request;
        let (ledger, store) = (&self.ctx.ledger, &self.ctx.store);
        let now = self.ctx.clock.now();
        let (outcome, detail) = match &result {
            Ok(()) => (Outcome::Completed, None),
            Err(Stop::Interrupted(reason)) => (Outcome::Aborted, Some(reason.clone())),
            Err(fault) => (Outcome::Failed, Some(fault.to_string())),
        };
        let link_fault = matches!(result, Err(Stop::DriverLost(_)))
            || matches!(result, Err(Stop::Device(ref d)) if d.is_link_fault());
        if !matches!(outcome, Outcome::Completed) && !link_fault {
            // The exposure in progress is lost; frames already stored stay and count.
            let _ = self.tel.camera.abort_exposure().await;
        }
        let (row, phase) = match outcome {
            Outcome::Completed => ("completed", ObservationPhase::Completed),
            Outcome::Aborted => ("aborted", ObservationPhase::Aborted),
            Outcome::Failed => ("failed", ObservationPhase::Failed),
        };
        persist("end the observation", req.id, || {
            store.end_observation(obs, row, detail.as_deref(), now)
        })
        .await;
        self.observation_event(obs, phase, detail.clone());
        let observing = [RequestState::Observing];
        match outcome {
            Outcome::Completed if !self.block.is_last_visit() => {
                let (v, k) = (self.block.visit + 1, self.block.visits);
                let d = format!(
                    "visit {v} of {k} done ({} frames); next visit planned",
                    req.spec.count
                );
                persist("record the visit", req.id, || {
                    ledger.transition(req.id, &observing, RequestState::Scheduled, Some(&d))
                })
                .await;
            }
            Outcome::Completed => {
                let d = if self.block.visits > 1 {
                    format!("{} visits of {} frames taken", self.block.visits, req.spec.count)
                } else {
                    format!("{} frames taken", req.spec.count)
                };
                persist("mark completed", req.id, || {
                    ledger.transition(req.id, &observing, RequestState::Completed, Some(&d))
                })
                .await;
            }
            Outcome::Aborted => {
                let d = format!("interrupted: {}; back in the queue", detail.unwrap_or_default());
                persist("requeue", req.id, || {
                    ledger.transition(req.id, &observing, RequestState::Queued, Some(&d))
                })
                .await;
            }
            Outcome::Failed => {
                let d = detail.unwrap_or_default();
                let max = self.ctx.observing.max_attempts;
                persist("record the failed attempt", req.id, || {
                    ledger.failed_attempt(req.id, &d, max)
                })
                .await;
            }
        }
        outcome
    }

    async fn observe(&self, obs: i64) -> Result<(), Stop> {
        let req = &self.block.request;
        let spec = &req.spec;
        let (clock, tel) = (&self.ctx.clock, self.tel);
        let limits = Limits {
            site: self.ctx.site.site(),
            min_altitude_deg: self.ctx.min_altitude(self.cfg),
            sun_avoidance_deg: self.ctx.safety.sun_avoidance_deg,
            pointing: tel.interlocks.limits.clone(),
        };
        let frames = Frames::default();
        let vis = Visibility::new(&limits, &frames, spec);
        let place_at = |t: Epoch| {
            vis.place(t).ok_or_else(|| {
                Stop::Interrupted(format!(
                    "the place of {} cannot be computed now",
                    spec.target.name
                ))
            })
        };
        let first = self.block.frame_seqs().next().unwrap_or(1);
        let mut pointed = place_at(clock.now())?;
        // The device layer checks the whole span the mount will track, to the block's
        // last frame (and never past the night).
        let mut until = self.until();
        let place = |t: Epoch| vis.place(t);
        let track = Track::Moving(&place);
        self.show(obs, first - 1, "opening", pointed);
        // Always before pointing: the mount stays parked under a closed shutter.
        tel.open_dome().await?;
        self.show(obs, first - 1, "slewing", pointed);
        // The wheel turns and the focuser moves while the mount slews.
        let (pointing, optics) =
            tokio::join!(tel.point_for(&track, until), tel.select_filter(spec.filter.as_deref()));
        optics?;
        let pointing = match pointing {
            // A German mount that may not flip, on a block the planner (which does not
            // model flips) placed across the meridian: start once the target is past
            // it, on the east side, instead of handing the block back to a planner
            // that would offer it again at once. The frame loop's checks still apply.
            Err(DeviceError::Interlock(InterlockError::MeridianLimit { .. })) => {
                self.show(obs, first - 1, "waiting for the meridian", pointed);
                tel.wait_past_meridian(&track).await?;
                pointed = place_at(clock.now())?;
                until = self.until();
                self.show(obs, first - 1, "slewing", pointed);
                tel.point_for(&track, until).await
            }
            other => other,
        };
        let mut flip_due = pointing?.flip_due;
        self.show(obs, first - 1, "settling", pointed);
        clock.sleep(Duration::from_seconds(self.ctx.observing.settle_s)).await;
        for seq in self.block.frame_seqs() {
            // A German mount flips before a frame that would end (read out) past its
            // deadline.
            let frame_s = spec.exposure_s + PER_FRAME_OVERHEAD_S;
            let frame_end = clock.now() + Duration::from_seconds(frame_s);
            if flip_due.is_some_and(|due| frame_end > due) {
                self.show(obs, seq - 1, "meridian flip", pointed);
                flip_due = tel.meridian_flip(&track, until).await?.flip_due;
                pointed = place_at(clock.now())?;
                clock.sleep(Duration::from_seconds(self.ctx.observing.settle_s)).await;
            }
            // Constraints are re-checked before every frame, not only when the block
            // was chosen: the sky moves and blocks overrun.
            let now = clock.now();
            let end = now + Duration::from_seconds(spec.exposure_s);
            if end > self.night_end {
                return Err(Stop::Interrupted("night ends before the next frame would".into()));
            }
            let site = tel.safety();
            if !site.safe() {
                return Err(Stop::Interrupted(format!(
                    "site at {}: {}; stopped after the exposure under way",
                    site.level, site.reason
                )));
            }
            if !vis.observable_over(now, end) || !vis.window_allows(now, end) {
                return Err(Stop::Interrupted(
                    "target no longer observable (limits or window)".into(),
                ));
            }
            // A moving target is followed by re-pointing at each frame's middle once
            // it has drifted: the mount tracks at the sidereal rate.
            let half = Duration::from_seconds(spec.exposure_s / 2.0);
            let mid = place_at(now + half)?;
            if separation_arcsec(mid, pointed) > REPOINT_ARCSEC {
                // Aimed at the frame's middle: the same track, half an exposure ahead.
                let ahead = |t: Epoch| vis.place(t + half);
                flip_due = tel.point_for(&Track::Moving(&ahead), until).await?.flip_due;
                pointed = mid;
            }
            self.show(obs, seq - 1, "exposing", pointed);
            let plan_id = self.block.plan_id.as_deref();
            let shot = Shot { seq, motion: vis.motion(), pointed, plan_id };
            take_frame(tel, self.cfg, self.ctx, req, obs, shot).await?;
        }
        Ok(())
    }

    /// When the block's last frame ends, at the latest (the night's end caps it): the
    /// span the interlocks check. Frames already stored are not taken again.
    fn until(&self) -> Epoch {
        let spec = &self.block.request.spec;
        let left = self.block.frame_seqs().count() as f64;
        let frames = left * (spec.exposure_s + PER_FRAME_OVERHEAD_S);
        let start = self.ctx.clock.now() + Duration::from_seconds(self.ctx.observing.settle_s);
        (start + Duration::from_seconds(frames)).min(self.night_end)
    }

    /// Resolves with a reason when the block must stop: unsafe site, shutdown, an
    /// operator taking the telescope out of `auto`, or the planner giving it to a
    /// rapid-response request.
    async fn interruption(&self, shutdown: &CancellationToken) -> String {
        let mut safety = self.tel.safety_changes();
        let mut control = self.control.clone();
        tokio::select! {
            who = async {
                let who = control
                    .wait_for(|c| c.mode != ControlMode::Auto)
                    .await
                    .map(|c| c.holder.clone().unwrap_or_else(|| "unknown".into()));
                match who {
                    Ok(who) => who,
                    // The controls live as long as the daemon: never a reason to stop.
                    Err(_) => std::future::pending().await,
                }
            } => format!("stopped by operator {who}"),
            // `warn` lets the exposure under way finish (checked between frames);
            // `stop` and worse abort it now.
            r = safety.wait_for(|s| s.level.must_secure()) => match r {
                Ok(s) => format!("site unsafe ({}): {}", s.level, s.reason),
                Err(_) => "safety monitor stopped".into(),
            },
            _ = shutdown.cancelled() => "teld is shutting down".into(),
            reason = self.preempted() => reason,
        }
    }

    /// Resolves when the planner asks this block to yield (never if it cannot: a
    /// planner gone at shutdown is not a reason to stop).
    async fn preempted(&self) -> String {
        let mut yields = self.ctx.yields.clone();
        let (tel, me) = (&self.tel.name, self.block.request.id);
        let asked = yields
            .wait_for(|ys| ys.iter().any(|y| y.telescope == *tel && y.running == me))
            .await
            .ok()
            .and_then(|ys| ys.iter().find(|y| y.telescope == *tel && y.running == me).cloned());
        match asked {
            Some(y) => y.reason(),
            None => std::future::pending().await,
        }
    }

    fn driver_restarts(&self) -> u32 {
        let snap = self.ctx.core.snapshot();
        self.tel
            .imaging_driver_names()
            .iter()
            .filter_map(|d| snap.drivers.get(d))
            .map(|v| v.restarts)
            .sum()
    }

    fn show(&self, obs: i64, frames_done: u32, phase: &str, at: Icrs) {
        let spec = &self.block.request.spec;
        let now = teld_driver_protocol::time::format_utc(self.ctx.clock.now());
        let view = BlockView {
            request_id: self.block.request.id,
            observation_id: obs,
            target: spec.target.name.clone(),
            ra_deg: at.ra_deg,
            dec_deg: at.dec_deg,
            started_at: now.clone(),
            frames_done,
            frames_total: spec.count * self.block.visits,
            phase: phase.into(),
            phase_since: now,
        };
        self.ctx.core.update(|s| {
            let t = s.telescopes.entry(self.tel.name.clone()).or_default();
            let same = t.block.as_ref().filter(|b| b.observation_id == obs);
            let started_at = same.map(|b| b.started_at.clone());
            let phase_since = same.filter(|b| b.phase == view.phase).map(|b| b.phase_since.clone());
            t.block = Some(BlockView {
                started_at: started_at.unwrap_or(view.started_at.clone()),
                phase_since: phase_since.unwrap_or(view.phase_since.clone()),
                ..view
            });
        });
    }

    fn observation_event(&self, obs: i64, phase: ObservationPhase, detail: Option<String>) {
        self.ctx.core.publish(Event::Observation {
            telescope: self.tel.name.clone(),
            request_id: self.block.request.id,
            observation_id: obs,
            phase,
            detail,
            at: self.ctx.clock.now(),
        });
    }
}

/// Store writes that settle a block: retried a few times (the store may be busy for a
/// moment), then logged loudly; the next restart's recovery puts the request back.
async fn persist<T, F, Fut>(what: &str, request: i64, mut write: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    const TRIES: u32 = 5;
    for attempt in 1..=TRIES {
        match write().await {
            Ok(_) => return,
            Err(e) if attempt < TRIES => {
                tracing::warn!(request, "cannot {what} (try {attempt} of {TRIES}): {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => tracing::error!(
                request,
                "cannot {what} after {TRIES} tries: {e}; the request is recovered at the next start"
            ),
        }
    }
}
