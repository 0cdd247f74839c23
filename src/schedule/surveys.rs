//! Survey fields into the night's requests: at the first plan of a night, each
//! survey's due fields (cadence across nights, share of the night) become stored
//! requests for that night only. From then on they are requests like any other:
//! planned, observed, archived and expired by the same code, every change an event.
//!
//! Bookkeeping lives in the request's `external_id`, `survey:<survey>:<field>:<night>`
//! (night = MJD of the evening), so a restart does not create a night's fields twice
//! and "last done" is the newest completed request of the field.

use std::collections::HashMap;

use hifitime::Epoch;
use teld_survey::{FieldTask, Survey};

use crate::ledger::Ledger;
use crate::model::{Constraints, RequestSpec, RequestState, Target, Tracklet, Window};
use crate::store::StoreError;

/// The survey and night part of an external id.
fn prefix(survey: &str) -> String {
    format!("survey:{survey}:")
}

/// The night's number: the MJD (UTC) at the night's start, so an evening and the
/// morning after share one.
pub fn night_index(night_start: Epoch) -> i64 {
    night_start.to_mjd_utc_days().floor() as i64
}

/// Creates tonight's requests of every survey that has none yet; returns how many.
pub async fn materialize(
    ledger: &Ledger,
    surveys: &[Survey],
    night: (Epoch, Epoch),
    overhead_s: f64,
) -> Result<usize, StoreError> {
    let tonight = night_index(night.0);
    let dark_s = (night.1 - night.0).to_seconds();
    let mut created = 0;
    for survey in surveys {
        let ids = ledger.store.external_ids_with_prefix(&prefix(survey.name())).await?;
        let mut last: HashMap<String, i64> = HashMap::new();
        let mut planned_tonight = false;
        for (id, state) in &ids {
            let Some((field, n)) = parse(survey.name(), id) else { continue };
            planned_tonight |= n == tonight;
            if *state == RequestState::Completed {
                let e = last.entry(field.to_string()).or_insert(n);
                *e = (*e).max(n);
            }
        }
        if planned_tonight {
            continue;
        }
        let tasks = survey.due_tonight(tonight, |f| last.get(f).copied(), dark_s, overhead_s);
        for task in &tasks {
            ledger.submit(&spec(task, tonight, night)).await?;
        }
        tracing::info!(
            survey = survey.name(),
            fields = tasks.len(),
            night = tonight,
            "survey fields queued for the night"
        );
        created += tasks.len();
    }
    Ok(created)
}

/// `survey:<survey>:<field>:<night>` → (field, night).
fn parse<'a>(survey: &str, id: &'a str) -> Option<(&'a str, i64)> {
    let rest = id.strip_prefix("survey:")?.strip_prefix(survey)?.strip_prefix(':')?;
    let (field, night) = rest.rsplit_once(':')?;
    Some((field, night.parse().ok()?))
}

/// The request a field's visits make tonight.
fn spec(task: &FieldTask, night_index: i64, night: (Epoch, Epoch)) -> RequestSpec {
    let c = &task.constraints;
    RequestSpec {
        name: Some(format!("{} {}", task.survey, task.field_id)),
        observer: Some(format!("survey {}", task.survey)),
        target: Target::sidereal(task.field_id.clone(), task.ra_deg, task.dec_deg),
        exposure_s: task.exposure_s,
        count: task.count,
        // RequestSpec::value is priority / 10.
        priority: (task.value * 10.0).round().clamp(1.0, 100.0) as u32,
        filter: task.filter.clone(),
        binning: task.binning,
        constraints: Constraints {
            min_altitude_deg: c.min_altitude_deg,
            max_airmass: c.max_airmass,
            min_moon_separation_deg: c.min_moon_sep_deg,
            max_moon_illumination: c.max_moon_illumination,
            max_sun_altitude_deg: c.max_sun_alt_deg,
        },
        window: None,
        windows: vec![Window { start: night.0, end: night.1 }],
        tracklet: task.spacing_s.filter(|_| task.visits > 1).map(|(lo, hi)| Tracklet {
            visits: task.visits,
            min_spacing_min: lo / 60.0,
            max_spacing_min: hi / 60.0,
        }),
        telescopes: task.telescopes.clone(),
        external_id: Some(format!("survey:{}:{}:{night_index}", task.survey, task.field_id)),
        class: Default::default(),
        urgency: None,
    }
}

/// Problems that would make a survey's requests unplannable here, found at start-up.
pub fn check_against_site(surveys: &[Survey], telescopes: &[(String, Vec<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for s in surveys {
        for t in s.telescopes() {
            if !telescopes.iter().any(|(n, _)| n == t) {
                out.push(format!(
                    "survey `{}` ({}): no telescope `{t}` in this config",
                    s.name(),
                    s.source()
                ));
            }
        }
        if let Some(b) = s.tracklet().binning.filter(|b| *b > crate::model::MAX_BINNING) {
            out.push(format!(
                "survey `{}` ({}): binning {b} is more than teld offers (1 to {})",
                s.name(),
                s.source(),
                crate::model::MAX_BINNING
            ));
        }
        if let Some(f) = &s.tracklet().filter {
            let usable = telescopes
                .iter()
                .filter(|(n, _)| s.telescopes().is_empty() || s.telescopes().contains(n))
                .any(|(_, fs)| fs.contains(f));
            if !usable {
                out.push(format!(
                    "survey `{}` ({}): filter `{f}` is in no telescope's `filters` it may use; add it there or change the survey",
                    s.name(),
                    s.source()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_round_trip_with_colons_in_field_ids() {
        assert_eq!(
            parse("deep", "survey:deep:deep:opp-centre:61368"),
            Some(("deep:opp-centre", 61368))
        );
        assert_eq!(parse("ecl", "survey:ecl:ecl-03-07:61368"), Some(("ecl-03-07", 61368)));
        assert_eq!(parse("ecl", "survey:eclipse:x:1"), None, "another survey's prefix");
        assert_eq!(parse("ecl", "neocc-42"), None);
    }

    #[test]
    fn evening_and_morning_share_a_night() {
        let evening = Epoch::from_gregorian_utc(2026, 11, 24, 19, 0, 0, 0);
        assert_eq!(night_index(evening), 61368);
    }

    #[test]
    fn field_tasks_become_valid_requests() {
        let text = r#"
name = "ecl"
cadence_nights = 2
share = 0.5
value = 1.0
[tracklet]
visits = 3
min_spacing_min = 20
max_spacing_min = 40
exposure_s = 30
count = 2
[[fields]]
name = "a"
ra_deg = 10.0
dec_deg = 5.0
"#;
        let s = Survey::from_toml_str(text, "ecl.toml").unwrap();
        let night = (
            Epoch::from_gregorian_utc(2026, 11, 24, 19, 0, 0, 0),
            Epoch::from_gregorian_utc(2026, 11, 25, 6, 0, 0, 0),
        );
        let tasks = s.due_tonight(night_index(night.0), |_| None, 39_600.0, 15.0);
        let spec = spec(&tasks[0], night_index(night.0), night);
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        assert_eq!(spec.tracklet.unwrap().visits, 3);
        assert_eq!(spec.value(), 1.0);
        assert_eq!(spec.external_id.as_deref(), Some("survey:ecl:ecl:a:61368"));
    }
}
