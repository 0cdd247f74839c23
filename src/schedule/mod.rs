//! Deciding what to observe and when: the night [`Planner`] (built on the
//! `teld-schedule` crate) and the visibility checks it and the executor share.

mod observability;
mod planner;
pub mod surveys;
pub mod svg;
mod visibility;

pub use observability::NotObservable;
pub use planner::{Next, PlanView, PlannedBlock, PlannedTelescope, Planner, TelescopePlan, Yield};
pub use visibility::{Blocked, Frames, Limits, Visibility};

use crate::store::RequestRecord;

/// One block to run: a request (one visit of it, for a tracklet) and its planned
/// length.
#[derive(Debug, Clone)]
pub struct Block {
    pub request: RequestRecord,
    /// Frames of this visit already stored (a single visit resumed after an
    /// interruption; a tracklet's visit is always taken whole).
    pub frames_done: u32,
    pub duration_s: f64,
    /// 0-based visit of a tracklet, and the tracklet's visits (1 without one).
    pub visit: u32,
    pub visits: u32,
    /// The night plan that chose this block: its night start (UTC), the key of the
    /// stored plan (`GET /api/v1/plan`). Written into each frame as `PLANID`.
    pub plan_id: Option<String>,
}

impl Block {
    /// Frame sequence numbers this block takes: a tracklet's visits continue the
    /// request's numbering so every frame of it has its own.
    pub fn frame_seqs(&self) -> std::ops::RangeInclusive<u32> {
        let count = self.request.spec.count;
        let base = self.visit * count;
        base + self.frames_done + 1..=base + count
    }

    pub fn is_last_visit(&self) -> bool {
        self.visit + 1 >= self.visits
    }
}
