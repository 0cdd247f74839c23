//! What operators see of each driver slot (`GET /api/v1/drivers`, `teld driver list`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::state::{Installed, Slot};

/// One build: version (with `epoch!` when the epoch is not 0), hashes, commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BuildView {
    pub version: String,
    pub sha256: String,
    pub git_sha: String,
}

impl From<&Installed> for BuildView {
    fn from(i: &Installed) -> Self {
        BuildView {
            version: i.release.to_string(),
            sha256: i.sha256.clone(),
            git_sha: i.git_sha.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrialView {
    pub build: BuildView,
    /// UTC (teld's clock) the trial began.
    pub started: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BadView {
    pub version: String,
    pub sha256: String,
    pub why: String,
    pub at: String,
}

/// A driver kind's update state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlotView {
    pub kind: String,
    /// The verified build it runs; `None` = the program shipped with teld.
    pub installed: Option<BuildView>,
    /// What a rollback goes back to.
    pub previous: Option<BuildView>,
    /// The newest signed build that passes every check and is not installed yet.
    pub available: Option<BuildView>,
    pub trial: Option<TrialView>,
    pub bad: Vec<BadView>,
    /// Nothing below this installs again.
    pub floor: Option<String>,
    /// UTC (teld's clock) of the last check of the source.
    pub last_check: Option<String>,
    /// What the last check or install concluded, in words.
    pub last_result: Option<String>,
    /// Why an available build waits (e.g. the telescope is observing).
    pub waiting: Option<String>,
}

impl SlotView {
    /// Fills the installed/previous/trial/bad/floor part from the journal.
    pub fn from_slot(kind: &str, slot: Option<&Slot>) -> SlotView {
        let mut v = SlotView { kind: kind.to_string(), ..Default::default() };
        let Some(s) = slot else { return v };
        v.installed = s.committed.as_ref().map(BuildView::from);
        v.previous = s.previous.as_ref().map(BuildView::from);
        v.trial = s.trial.as_ref().map(|t| TrialView {
            build: BuildView::from(&t.candidate),
            started: t.started.clone(),
        });
        v.bad = s
            .bad
            .iter()
            .map(|b| BadView {
                version: b.release.to_string(),
                sha256: b.sha256.clone(),
                why: b.why.clone(),
                at: b.at.clone(),
            })
            .collect();
        v.floor = s.floor.as_ref().map(ToString::to_string);
        v
    }
}
