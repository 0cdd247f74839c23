//! Observing: the executor that runs blocks on a telescope, and the safety monitor
//! that closes it when the weather turns.

mod block;
mod context;
pub mod control;
mod executor;
mod frame;
pub mod night;
mod safety;
mod safety_inputs;

pub use context::ObserveContext;
pub use control::{Action, Controls};
pub use executor::run_executor;
pub use safety::run_safety_monitor;
