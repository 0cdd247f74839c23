//! Follow-up requests as observers submit them.

use hifitime::Epoch;
use serde::{Deserialize, Serialize};
use teld_astro::Icrs;

/// What an observer asks for. Stored verbatim (as JSON) so a later version of teld
/// still knows exactly what was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Free text shown in listings; defaults to the target name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who asked; written to FITS `OBSERVER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observer: Option<String>,
    pub target: Target,
    /// Seconds per frame.
    pub exposure_s: f64,
    /// Frames wanted.
    pub count: u32,
    /// 1 (lowest) to 100 (highest); higher runs first.
    #[serde(default = "default_priority")]
    pub priority: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default)]
    pub constraints: Constraints,
    /// Only observe inside this window; the request expires after its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// How the planner treats it: see [`RequestClass`].
    #[serde(default, skip_serializing_if = "RequestClass::is_normal")]
    pub class: RequestClass,
    /// ESA NEOCC priority-list category; when given it sets the value instead of
    /// `priority` (docs/SCHEDULER.md has the map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestClass {
    /// Planned for the most value over the night.
    #[default]
    Normal,
    /// Its window is hard and short; doubled value so it is rarely left out.
    TimeCritical,
    /// Goes in as soon as it is observable, ahead of lower-value work, and may
    /// interrupt the block that is running (`observing.rapid_response_abort`).
    RapidResponse,
}

impl RequestClass {
    pub fn is_normal(&self) -> bool {
        *self == RequestClass::Normal
    }
}

/// The categories of ESA NEOCC's priority list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Urgent,
    Necessary,
    Useful,
    Low,
}

impl Urgency {
    /// The benchmark's and teld's weights (FORMAT-v2.md): urgent 10, necessary 5,
    /// useful 2, low 1.
    pub fn weight(self) -> f64 {
        match self {
            Urgency::Urgent => 10.0,
            Urgency::Necessary => 5.0,
            Urgency::Useful => 2.0,
            Urgency::Low => 1.0,
        }
    }
}

/// Middle of the range: an observer who does not say how urgent a request is gets
/// neither precedence nor neglect.
fn default_priority() -> u32 {
    50
}

/// A sidereal target in ICRS (J2000). Moving targets and survey fields come with the
/// scheduler issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: String,
    pub ra_deg: f64,
    pub dec_deg: f64,
}

impl Target {
    pub fn icrs(&self) -> Icrs {
        Icrs { ra_deg: self.ra_deg, dec_deg: self.dec_deg }
    }
}

/// Per-request limits; absent values fall back to the telescope's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_altitude_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_airmass: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub start: Epoch,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub end: Epoch,
}

impl RequestSpec {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.target.name)
    }

    /// What completing it is worth to the planner: the NEOCC weight if given, else
    /// priority / 10 (so priority 100 = urgent); doubled when time-critical, four
    /// times for rapid response.
    pub fn value(&self) -> f64 {
        let base = self.urgency.map_or(self.priority as f64 / 10.0, Urgency::weight);
        base * match self.class {
            RequestClass::Normal => 1.0,
            RequestClass::TimeCritical => 2.0,
            RequestClass::RapidResponse => 4.0,
        }
    }
}

/// Where a request is in its life. Every change is a stored event row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Accepted and stored; waiting for a night where it fits.
    Queued,
    /// In tonight's plan.
    Scheduled,
    /// A telescope is working on it.
    Observing,
    /// All frames taken.
    Completed,
    /// Retired after too many failed attempts.
    Failed,
    /// Its window ended before it could be observed.
    Expired,
    Cancelled,
}

impl RequestState {
    pub const ALL: [RequestState; 7] = [
        RequestState::Queued,
        RequestState::Scheduled,
        RequestState::Observing,
        RequestState::Completed,
        RequestState::Failed,
        RequestState::Expired,
        RequestState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Queued => "queued",
            RequestState::Scheduled => "scheduled",
            RequestState::Observing => "observing",
            RequestState::Completed => "completed",
            RequestState::Failed => "failed",
            RequestState::Expired => "expired",
            RequestState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No further transitions happen from these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestState::Completed
                | RequestState::Failed
                | RequestState::Expired
                | RequestState::Cancelled
        )
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
