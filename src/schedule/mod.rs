//! Deciding what to observe and when: the night [`Planner`] (built on the
//! `teld-schedule` crate) and the visibility checks it and the executor share.

mod planner;
pub mod svg;
mod visibility;

pub use planner::{
    Next, PER_FRAME_OVERHEAD_S, PlanView, PlannedBlock, PlannedTelescope, Planner, TelescopePlan,
    Yield,
};
pub use visibility::{Frames, Limits, Visibility};

use crate::store::RequestRecord;

/// One block to run: a request and its planned length.
#[derive(Debug, Clone)]
pub struct Block {
    pub request: RequestRecord,
    pub frames_done: u32,
    pub duration_s: f64,
}
