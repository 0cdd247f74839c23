//! Deciding what to observe next.
//!
//! This first version is a dispatcher, not an optimiser: at each decision point it
//! takes the highest-priority open request that is observable now for its whole block,
//! and keeps each request's `queued`/`scheduled` state honest ("scheduled" = fits
//! somewhere in the rest of tonight). The optimising night planner replaces
//! [`Dispatcher::plan`] behind the same seam.

mod visibility;

use hifitime::{Duration, Epoch};

use crate::ledger::Ledger;
use crate::model::RequestState;
use crate::store::{RequestRecord, StoreError};
pub use visibility::{Frames, Limits, Visibility};

/// Readout plus bookkeeping per frame assumed when estimating a block's length.
const PER_FRAME_OVERHEAD_S: f64 = 5.0;
/// Slew and settle assumed per block: a long slew of a small mount.
const BLOCK_OVERHEAD_S: f64 = 90.0;
/// Grid for "is it observable at some point tonight".
const TONIGHT_STEP_S: f64 = 600.0;

pub struct Dispatcher {
    pub ledger: Ledger,
    pub limits: Limits,
}

/// One planned block: a request and its estimated length.
#[derive(Debug, Clone)]
pub struct Block {
    pub request: RequestRecord,
    pub frames_done: u32,
    pub duration_s: f64,
}

impl Dispatcher {
    /// Open requests observable from `now` until their block ends (before `night_end`),
    /// best first. Updates queued/scheduled/expired states on the way.
    pub async fn plan(&self, now: Epoch, night_end: Epoch) -> Result<Vec<Block>, StoreError> {
        let store = &self.ledger.store;
        let open = store.requests_in(&[RequestState::Queued, RequestState::Scheduled]).await?;
        let mut blocks = Vec::new();
        let frames = Frames::default();
        for req in open {
            if let Some(w) = &req.spec.window
                && w.end <= now
            {
                let from = [RequestState::Queued, RequestState::Scheduled];
                self.ledger
                    .transition(
                        req.id,
                        &from,
                        RequestState::Expired,
                        Some("window ended before it could be observed"),
                    )
                    .await?;
                continue;
            }
            let frames_done = store.frame_count(req.id).await?;
            let remaining = req.spec.count.saturating_sub(frames_done);
            let duration_s =
                BLOCK_OVERHEAD_S + remaining as f64 * (req.spec.exposure_s + PER_FRAME_OVERHEAD_S);
            let vis = Visibility::new(&self.limits, &frames, &req.spec);
            let end = now + Duration::from_seconds(duration_s);
            let fits_now =
                end <= night_end && vis.window_allows(now, end) && vis.observable_over(now, end);
            let tonight = fits_now || self.observable_tonight(&vis, now, night_end, duration_s);
            self.sync_state(&req, tonight).await?;
            if fits_now {
                blocks.push(Block { request: req, frames_done, duration_s });
            }
        }
        Ok(blocks)
    }

    fn observable_tonight(
        &self,
        vis: &Visibility,
        now: Epoch,
        night_end: Epoch,
        duration_s: f64,
    ) -> bool {
        let step = Duration::from_seconds(TONIGHT_STEP_S);
        let length = Duration::from_seconds(duration_s);
        let mut t = now;
        while t + length <= night_end {
            if vis.window_allows(t, t + length) && vis.observable_over(t, t + length) {
                return true;
            }
            t += step;
        }
        false
    }

    async fn sync_state(&self, req: &RequestRecord, tonight: bool) -> Result<(), StoreError> {
        match (req.state, tonight) {
            (RequestState::Queued, true) => {
                self.ledger
                    .transition(
                        req.id,
                        &[RequestState::Queued],
                        RequestState::Scheduled,
                        Some("in tonight's plan"),
                    )
                    .await?;
            }
            (RequestState::Scheduled, false) => {
                self.ledger
                    .transition(
                        req.id,
                        &[RequestState::Scheduled],
                        RequestState::Queued,
                        Some("no longer fits tonight; waiting for a later night"),
                    )
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
