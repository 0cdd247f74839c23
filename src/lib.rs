//! teld: telescope tasking and observation control daemon.
//!
//! See `docs/ARCHITECTURE.md` for how the parts fit together.

pub mod api;
pub mod artefact;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod daemon;
pub mod devices;
pub mod feed;
pub mod ingest;
pub mod ledger;
pub mod liveness;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod pipeline;
pub mod safety;
pub mod schedule;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod update;

pub use teld_astro as astro;

/// `teld <version>`, written into FITS headers and status.
pub const SOFTWARE: &str = concat!("teld ", env!("CARGO_PKG_VERSION"));
