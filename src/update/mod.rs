//! Signed driver updates: a TUF repository (verified with `tough`) is the only way a
//! new driver binary reaches this site. See `docs/UPDATES.md` for the operator's view
//! and `docs/ARCHITECTURE.md` for how the parts fit.
//!
//! - [`meta`]: what CI signs about each driver build (the target's `custom` fields).
//! - [`state`]: our own fsynced journal — floors, trials, bad versions — which closes
//!   the gaps `tough`'s datastore leaves open.
//! - [`handle`], [`view`]: what the API and CLI see and ask.

pub mod datastore;
pub mod error;
pub mod exec;
pub mod failpoint;
pub mod handle;
pub mod health;
pub mod idle;
pub mod install;
pub mod meta;
pub mod paths;
pub mod policy;
pub mod rollout;
mod roots;
pub mod service;
pub mod slot;
pub mod source;
pub mod state;
pub mod transport;
pub mod trial;
pub mod trust;
pub mod view;
