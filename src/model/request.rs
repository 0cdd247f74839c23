//! Follow-up requests as observers submit them.

use hifitime::Epoch;
use serde::{Deserialize, Serialize};

use super::Target;

/// What an observer asks for. Stored verbatim (as JSON) so a later version of teld
/// still knows exactly what was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// On-chip binning, the same in x and y (1 to 4); unbinned if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binning: Option<u32>,
    #[serde(default)]
    pub constraints: Constraints,
    /// Only observe inside this window; the request expires after its end. Kept for
    /// requests written before `windows`; give one or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Only observe inside one of these; the request expires after the last ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<Window>,
    /// Several visits of the same target on one telescope (all or nothing); each
    /// visit takes `count` frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracklet: Option<Tracklet>,
    /// Only these telescopes (by name) may take it; empty = any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telescopes: Vec<String>,
    /// The submitter's own id (e.g. a NEOCC request tag). A second submission with
    /// the id of an open request is refused, so a retried POST cannot double-book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// How the planner treats it: see [`RequestClass`].
    #[serde(default, skip_serializing_if = "RequestClass::is_normal")]
    pub class: RequestClass,
    /// ESA NEOCC priority-list category; when given it sets the value instead of
    /// `priority` (docs/SCHEDULER.md has the map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Per-request limits; absent values fall back to the telescope's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_altitude_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_airmass: Option<f64>,
    /// Keep at least this far from the Moon, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_moon_separation_deg: Option<f64>,
    /// Only while the Moon is below the horizon or at most this illuminated (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_moon_illumination: Option<f64>,
    /// Only while the Sun is at most this high, degrees (stricter than the site's
    /// night definition, e.g. -18 for astronomical darkness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sun_altitude_deg: Option<f64>,
}

/// Visits of one target for a tracklet: NEO confirmation needs motion measured over
/// time, so 3 to 5 visits spaced tens of minutes apart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tracklet {
    pub visits: u32,
    /// Start-to-start spacing between consecutive visits, minutes.
    pub min_spacing_min: f64,
    pub max_spacing_min: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(with = "teld_driver_protocol::time::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub start: Epoch,
    #[serde(with = "teld_driver_protocol::time::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub end: Epoch,
}

impl RequestSpec {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.target.name)
    }

    /// Every window the request may be observed in (none = any time).
    pub fn all_windows(&self) -> impl Iterator<Item = &Window> {
        self.window.iter().chain(&self.windows)
    }

    /// Whether [start, end] lies inside one window (always, without windows).
    pub fn window_allows(&self, start: Epoch, end: Epoch) -> bool {
        let mut any = false;
        for w in self.all_windows() {
            if w.start <= start && end <= w.end {
                return true;
            }
            any = true;
        }
        !any
    }

    /// When the last window ends, after which the request cannot be observed.
    pub fn expires_at(&self) -> Option<Epoch> {
        self.all_windows().map(|w| w.end).max()
    }

    pub fn visits(&self) -> u32 {
        self.tracklet.map_or(1, |t| t.visits)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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

#[cfg(test)]
impl RequestSpec {
    /// A plain sidereal request for tests: 5 frames of 60 s, priority 50, no limits
    /// beyond the telescope's.
    pub fn example(ra_deg: f64, dec_deg: f64) -> RequestSpec {
        RequestSpec {
            name: None,
            observer: None,
            target: Target::sidereal("x", ra_deg, dec_deg),
            exposure_s: 60.0,
            count: 5,
            priority: default_priority(),
            filter: None,
            binning: None,
            constraints: Constraints::default(),
            window: None,
            windows: Vec::new(),
            tracklet: None,
            telescopes: Vec::new(),
            external_id: None,
            class: RequestClass::Normal,
            urgency: None,
        }
    }
}
