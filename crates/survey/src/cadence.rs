//! Which fields are due tonight and how many of them the survey's share of the night
//! pays for.

use crate::definition::{Constraints, Survey};

/// One field's tracklet for tonight: everything the planner needs to make a request
/// of it without looking back at the survey.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTask {
    pub survey: String,
    pub field_id: String,
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub visits: u32,
    /// Start-to-start spacing between consecutive visits, seconds (min, max);
    /// `None` for a single visit.
    pub spacing_s: Option<(f64, f64)>,
    /// Seconds per frame.
    pub exposure_s: f64,
    /// Frames per visit.
    pub count: u32,
    pub filter: Option<String>,
    pub binning: Option<u32>,
    /// Earned when every visit of the tracklet is done.
    pub value: f64,
    pub constraints: Constraints,
    /// Telescope ids that may observe it; empty means any.
    pub telescopes: Vec<String>,
    /// Night index of the last completed tracklet, `None` if never observed.
    pub last_done: Option<i64>,
}

impl FieldTask {
    /// Shutter time of one visit (the planner's visit duration).
    pub fn visit_duration_s(&self) -> f64 {
        self.count as f64 * self.exposure_s
    }
}

/// A field is due when its last completed tracklet is at least `cadence_nights`
/// nights old, or it was never observed. A `last_done` after `night_index` (a clock
/// or store oddity) is not due: observing again would not help.
pub fn is_due(night_index: i64, last_done: Option<i64>, cadence_nights: u32) -> bool {
    match last_done {
        None => true,
        Some(last) => night_index.saturating_sub(last) >= cadence_nights as i64,
    }
}

impl Survey {
    /// Telescope time one field's tracklet costs: every visit pays its exposures and
    /// one slew/settle/readout overhead.
    pub fn task_time_s(&self, slew_overhead_s: f64) -> f64 {
        let t = self.tracklet();
        t.visits as f64 * (t.visit_duration_s() + slew_overhead_s.max(0.0))
    }

    /// The fields due on night `night_index` (any integer day count, e.g. the MJD at
    /// the night's start; `last_done` must use the same count), most overdue first:
    /// never-observed fields, then the longest unobserved, ties broken by field id so
    /// the same inputs always give the same list. Truncated to the fields whose
    /// tracklets fit together in `share × dark_time_s`.
    ///
    /// `dark_time_s` is the time the share is taken of: one telescope's dark time,
    /// or the sum over the telescopes the survey may use. A negative or NaN overhead
    /// counts as none; a dark time that is not positive selects nothing. Whether a
    /// tracklet fits in the actual night window is left to the planner.
    pub fn due_tonight(
        &self,
        night_index: i64,
        last_done: impl Fn(&str) -> Option<i64>,
        dark_time_s: f64,
        slew_overhead_s: f64,
    ) -> Vec<FieldTask> {
        let budget = self.share() * dark_time_s;
        let cost = self.task_time_s(slew_overhead_s);
        if !(budget > 0.0 && cost > 0.0) {
            return Vec::new();
        }
        // The relative slack keeps a budget of exactly n tracklets from losing the
        // last one to rounding.
        let fit = (budget / cost * (1.0 + 1e-12)).floor();
        if fit < 1.0 {
            return Vec::new();
        }
        let mut due: Vec<(Option<i64>, usize)> = self
            .field_slice()
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let last = last_done(&f.id);
                is_due(night_index, last, self.cadence_nights()).then_some((last, i))
            })
            .collect();
        let fields = self.field_slice();
        // `None < Some(_)`: never observed sorts first, then the oldest.
        due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| fields[a.1].id.cmp(&fields[b.1].id)));
        due.truncate(fit.min(due.len() as f64) as usize);
        due.into_iter().map(|(last, i)| self.task(i, last)).collect()
    }

    fn task(&self, i: usize, last_done: Option<i64>) -> FieldTask {
        let f = &self.field_slice()[i];
        let t = self.tracklet();
        FieldTask {
            survey: self.name().to_string(),
            field_id: f.id.clone(),
            ra_deg: f.ra_deg,
            dec_deg: f.dec_deg,
            visits: t.visits,
            spacing_s: t.spacing_s,
            exposure_s: t.exposure_s,
            count: t.count,
            filter: t.filter.clone(),
            binning: t.binning,
            value: self.value(),
            constraints: *self.constraints(),
            telescopes: self.telescopes().to_vec(),
            last_done,
        }
    }
}
