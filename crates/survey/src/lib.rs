//! Survey definitions for teld: which patches of sky to sweep for near-Earth objects,
//! how, and how often.
//!
//! Each `schedules/*.toml` file defines one [`Survey`]: its fields (a sky grid or a
//! list of named pointings), the tracklet taken of a field on a night (visits,
//! spacing, exposures), how many nights before a field is due again, what share of
//! the night it may take and what a completed tracklet is worth. The format is
//! described, with an example, in this crate's `README.md`.
//!
//! [`Survey::due_tonight`] turns a survey and the record of what was done into the
//! night's [`FieldTask`]s; the planner makes requests of them. The crate keeps no
//! state: progress (the night each field was last completed) lives with the caller.
//!
//! ```
//! let text = r#"
//!     name = "ecliptic"
//!     cadence_nights = 3
//!     share = 0.5
//!     [tracklet]
//!     visits = 4
//!     min_spacing_min = 20
//!     max_spacing_min = 40
//!     exposure_s = 30
//!     [grid]
//!     ra_range_deg = [350, 10]
//!     dec_range_deg = [-2, 2]
//!     field_width_deg = 2
//!     field_height_deg = 2
//! "#;
//! let survey = teld_survey::Survey::from_toml_str(text, "ecliptic.toml").unwrap();
//! assert_eq!(survey.field_count(), 20);
//! // Eight hours of dark time, half of it for the survey, 30 s overhead per visit:
//! // 4 × (30 + 30) s = 240 s per field, so 60 of the due fields would fit.
//! let tasks = survey.due_tonight(60_000, |_| None, 8.0 * 3600.0, 30.0);
//! assert_eq!(tasks.len(), 20);
//! assert_eq!(tasks[0].field_id, "ecliptic-0-0");
//! ```

mod cadence;
mod definition;
mod error;
mod field;
mod grid;
mod load;

pub use cadence::{FieldTask, is_due};
pub use definition::{Constraints, MAX_VISITS, Survey, Tracklet};
pub use error::{Issue, SurveyError};
pub use field::Field;
pub use grid::MAX_GRID_FIELDS;
pub use load::load_dir;
