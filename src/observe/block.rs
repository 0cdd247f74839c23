//! Running one block: a request's frames on one telescope, from opening the dome to
//! the last frame in the archive. Weather, dawn and shutdown interrupt it; device
//! faults fail it.

use hifitime::{Duration, Epoch};
use tokio_util::sync::CancellationToken;

use super::ObserveContext;
use super::frame::take_frame;
use crate::config::TelescopeConfig;
use crate::core::{BlockView, Event, ObservationPhase};
use crate::devices::{DeviceError, Telescope};
use crate::model::RequestState;
use crate::schedule::{Block, Limits, Visibility};
use crate::store::StoreError;

pub struct BlockRun<'a> {
    pub tel: &'a Telescope,
    pub cfg: &'a TelescopeConfig,
    pub ctx: &'a ObserveContext,
    pub block: &'a Block,
    pub night_end: Epoch,
}

pub enum Outcome {
    Completed,
    /// Interrupted (weather, dawn, target set, shutdown): back to the queue, no
    /// attempt counted.
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
    #[error("a driver of this telescope stopped during the observation ({0})")]
    DriverLost(String),
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
        };
        // A driver that died under the block shows up first as whatever noticed it
        // (the weather turning "unknown", a call interrupted). Classify by cause, so a
        // request that keeps crashing a driver is retired like any failing request.
        let result = match result {
            Err(Stop::Interrupted(reason))
                if !self.tel.drivers_up() || self.driver_restarts() != restarts_before =>
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
        self.ctx.core.update(|s| {
            s.telescopes.entry(tel.clone()).or_default().block = None;
        });
        let now = clock.now();
        let store = &self.ctx.store;
        match result {
            Ok(()) => {
                let _ = store.end_observation(obs, "completed", None, now).await;
                self.observation_event(obs, ObservationPhase::Completed, None);
                let detail = format!("{} frames taken", req.spec.count);
                if let Err(e) = ledger
                    .transition(
                        req.id,
                        &[RequestState::Observing],
                        RequestState::Completed,
                        Some(&detail),
                    )
                    .await
                {
                    tracing::error!(request = req.id, "cannot mark completed: {e}");
                }
                Outcome::Completed
            }
            Err(Stop::Interrupted(reason)) => {
                // The exposure in progress is lost; frames already stored stay and count.
                let _ = self.tel.camera.abort_exposure().await;
                let _ = store.end_observation(obs, "aborted", Some(&reason), now).await;
                self.observation_event(obs, ObservationPhase::Aborted, Some(reason.clone()));
                let detail = format!("interrupted: {reason}; back in the queue");
                let _ = ledger
                    .transition(
                        req.id,
                        &[RequestState::Observing],
                        RequestState::Queued,
                        Some(&detail),
                    )
                    .await;
                Outcome::Aborted
            }
            Err(fault) => {
                let reason = fault.to_string();
                let link_fault = matches!(fault, Stop::DriverLost(_))
                    || matches!(fault, Stop::Device(ref d) if d.is_link_fault());
                if !link_fault {
                    let _ = self.tel.camera.abort_exposure().await;
                }
                let _ = store.end_observation(obs, "failed", Some(&reason), now).await;
                self.observation_event(obs, ObservationPhase::Failed, Some(reason.clone()));
                if let Err(e) =
                    ledger.failed_attempt(req.id, &reason, self.ctx.observing.max_attempts).await
                {
                    tracing::error!(request = req.id, "cannot record the failed attempt: {e}");
                }
                Outcome::Failed
            }
        }
    }

    async fn observe(&self, obs: i64) -> Result<(), Stop> {
        let req = &self.block.request;
        let spec = &req.spec;
        let target = spec.target.icrs();
        let (clock, tel) = (&self.ctx.clock, self.tel);
        self.show(obs, self.block.frames_done, "opening");
        tel.open_dome().await?;
        self.show(obs, self.block.frames_done, "slewing");
        tel.point(target).await?;
        self.show(obs, self.block.frames_done, "settling");
        clock.sleep(Duration::from_seconds(self.ctx.observing.settle_s)).await;
        let limits = Limits {
            site: self.ctx.site.site(),
            min_altitude_deg: self.ctx.min_altitude(self.cfg),
            sun_avoidance_deg: self.ctx.safety.sun_avoidance_deg,
        };
        let vis = Visibility::new(&limits, spec);
        for seq in self.block.frames_done + 1..=spec.count {
            // Constraints are re-checked before every frame, not only when the block
            // was chosen: the sky moves and blocks overrun.
            let now = clock.now();
            let end = now + Duration::from_seconds(spec.exposure_s);
            if end > self.night_end {
                return Err(Stop::Interrupted("night ends before the next frame would".into()));
            }
            if !vis.observable_over(now, end) || !vis.window_allows(now, end) {
                return Err(Stop::Interrupted(
                    "target no longer observable (limits or window)".into(),
                ));
            }
            self.show(obs, seq - 1, "exposing");
            let frame = take_frame(tel, self.cfg, self.ctx, req, obs, seq).await?;
            self.ctx.core.publish(Event::Frame {
                telescope: tel.name.clone(),
                request_id: req.id,
                observation_id: obs,
                frame_id: frame.id,
                path: frame.path.clone(),
                at: clock.now(),
            });
        }
        Ok(())
    }

    /// Resolves with a reason when the block must stop: unsafe site or shutdown.
    async fn interruption(&self, shutdown: &CancellationToken) -> String {
        let mut safety = self.tel.safety_changes();
        tokio::select! {
            r = safety.wait_for(|s| !s.safe) => match r {
                Ok(s) => format!("site unsafe: {}", s.reason),
                Err(_) => "safety monitor stopped".into(),
            },
            _ = shutdown.cancelled() => "teld is shutting down".into(),
        }
    }

    fn driver_restarts(&self) -> u32 {
        let snap = self.ctx.core.snapshot();
        self.tel.driver_names().iter().filter_map(|d| snap.drivers.get(d)).map(|v| v.restarts).sum()
    }

    fn show(&self, obs: i64, frames_done: u32, phase: &str) {
        let spec = &self.block.request.spec;
        let view = BlockView {
            request_id: self.block.request.id,
            observation_id: obs,
            target: spec.target.name.clone(),
            ra_deg: spec.target.ra_deg,
            dec_deg: spec.target.dec_deg,
            started_at: teld_driver_protocol::time::format_utc(self.ctx.clock.now()),
            frames_done,
            frames_total: spec.count,
            phase: phase.into(),
        };
        self.ctx.core.update(|s| {
            let t = s.telescopes.entry(self.tel.name.clone()).or_default();
            let started_at =
                t.block.as_ref().filter(|b| b.observation_id == obs).map(|b| b.started_at.clone());
            t.block = Some(BlockView {
                started_at: started_at.unwrap_or(view.started_at.clone()),
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
