//! Domain types shared by the store, the API, the scheduler and the executor.

mod request;
mod validate;

pub use request::{Constraints, RequestClass, RequestSpec, RequestState, Target, Urgency, Window};
pub use validate::FieldError;

/// Request ids are the store's row ids.
pub type RequestId = i64;
pub type ObservationId = i64;
pub type FrameId = i64;
