//! Command-line tools besides running the daemon: `teld astro …`, `teld plan …` and
//! `teld bench …`.
//! Each reads plain arguments or JSON lines and writes JSON lines, so users, tests
//! and benchmarks drive them the same way.

pub mod artefact;
pub mod astro;
pub mod bench_astro;
pub mod bench_repair;
pub mod chaos;
pub mod driver;
pub mod plan;
pub mod plan_svg;
pub mod token;
pub mod update;
