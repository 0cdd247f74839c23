//! teld's night planner.
//!
//! A [`Problem`] is telescopes (each with a night and a slew model) and requests
//! (value, visits with spacing, windows, where the target is, when it is visible from
//! each telescope). [`solve()`] builds a plan by greedy construction and improves it by
//! large-neighbourhood search (ruin and recreate) on sequences whose start times float
//! between earliest and latest feasible values. A live plan is changed, not planned
//! again: [`Plan::advance_to`] moves it to the present, [`repair::insert_urgent`] puts
//! rapid-response work in without moving what is about to start.
//!
//! The crate knows nothing of the daemon: the benchmark CLI reads the `telsched`
//! instance formats into a `Problem`, the daemon builds one from its store and the
//! astronomy crate.

pub mod bound;
pub mod construct;
pub mod geometry;
mod index;
pub mod instance;
mod lns;
pub mod model;
pub mod plan;
pub mod repair;
pub mod rng;
pub mod solve;
pub mod timeline;
pub mod validate;

pub use model::{Pinned, Preference, Problem, Request, Target, Telescope};
pub use plan::Plan;
pub use solve::{Options, Outcome, solve};
