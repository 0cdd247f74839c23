//! The graded safety state of a telescope's site: what each input says (weather,
//! drivers, clock, disk, operator), and the one verdict the device layer and the
//! executor act on. The monitor that turns verdicts into closing and parking lives in
//! `observe::safety`; this module only judges, so every rule is a pure function.

mod host;
mod level;
mod verdict;
mod weather;

pub use host::{ClockCheck, clock_synchronised, free_bytes};
pub use level::SafetyLevel;
pub use verdict::{Concern, Verdict};
pub use weather::WeatherJudge;
