//! Domain types shared by the store, the API, the scheduler and the executor.

mod request;
mod target;
mod validate;

pub use request::{
    Constraints, RequestClass, RequestSpec, RequestState, Tracklet, Urgency, Window,
};
pub use target::{Motion, Target, TargetError};
pub use validate::{FieldError, MAX_BINNING, MAX_VISITS, PER_FRAME_OVERHEAD_S, SubmitContext};

/// Request ids are the store's row ids.
pub type RequestId = i64;
pub type ObservationId = i64;
pub type FrameId = i64;
