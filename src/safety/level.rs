//! The four grades, in order of severity: a verdict is the worst of its inputs.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SafetyLevel {
    /// Observe.
    Safe,
    /// Finish the exposure under way, start nothing new; the dome stays as it is.
    Warn,
    /// Abort, park and close.
    Stop,
    /// Close first, then park, again until the devices confirm it; alert.
    Emergency,
}

impl SafetyLevel {
    pub const ALL: [SafetyLevel; 4] =
        [SafetyLevel::Safe, SafetyLevel::Warn, SafetyLevel::Stop, SafetyLevel::Emergency];

    pub fn as_str(self) -> &'static str {
        match self {
            SafetyLevel::Safe => "safe",
            SafetyLevel::Warn => "warn",
            SafetyLevel::Stop => "stop",
            SafetyLevel::Emergency => "emergency",
        }
    }

    /// For the metric: 0 safe … 3 emergency.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The dome must be closed and the mount parked.
    pub fn must_secure(self) -> bool {
        self >= SafetyLevel::Stop
    }
}

impl std::fmt::Display for SafetyLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
