//! One update of one driver, end to end on an already staged build: baseline, journal
//! and switch, health check, then commit — or roll back, and if the old build fails
//! too, stop the driver rather than flip back and forth. The caller (the update
//! service) decides *when*: only with the driver idle, one update per driver at a time.

use hifitime::Epoch;

use super::health::{TrialConfig, run_trial, wait_ready};
use super::slot::SlotDir;
use super::state::{Installed, StateFile};
use super::trial::{TrialError, begin_trial, commit, fail_trial, halt};
use crate::devices::DriverHandle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The new build passed and is committed.
    Committed(Installed),
    /// It failed; the old build runs again. The alert says why.
    RolledBack { alert: String },
    /// It failed and so did the build rolled back to: the driver is stopped.
    Halted { alert: String },
}

/// Tries `candidate` (already staged into the slot) on the driver behind `handle`.
pub async fn apply(
    handle: &DriverHandle,
    slot: &SlotDir,
    file: &StateFile,
    candidate: &Installed,
    cfg: TrialConfig,
    now: impl Fn() -> Epoch,
) -> Result<Outcome, TrialError> {
    apply_observed(handle, slot, file, candidate, cfg, now, || {}).await
}

/// [`apply`], calling `began` once the trial is journaled: the service refreshes what
/// operators see then, so a trial shows for the whole probation, not only afterwards.
pub async fn apply_observed(
    handle: &DriverHandle,
    slot: &SlotDir,
    file: &StateFile,
    candidate: &Installed,
    cfg: TrialConfig,
    now: impl Fn() -> Epoch,
    began: impl FnOnce(),
) -> Result<Outcome, TrialError> {
    // What the old build manages is the bar; a device it cannot reach either (a
    // camera switched off) does not count against the new one.
    let baseline = if handle.is_up() { handle.self_test().await.ok() } else { None };
    begin_trial(slot, file, candidate, now())?;
    began();
    let failure = match run_trial(handle, candidate, baseline.as_ref(), cfg).await {
        Ok(()) => return Ok(Outcome::Committed(commit(slot, file)?)),
        Err(f) => f,
    };
    let why = failure.to_string();
    let mut alert = fail_trial(slot, file, &why, now())?;
    tracing::error!(driver = %slot.kind(), "{alert}");
    let (state, _) = file.load()?;
    let back_to = state.slot(slot.kind()).and_then(|s| s.committed.clone());
    let ended = handle.restart_fresh();
    let back = wait_ready(handle, ended, cfg.ready_timeout).await.and_then(|status| {
        let same = match (&back_to, &status.installed) {
            (Some(want), Some(got)) => want.sha256 == got.sha256,
            (None, None) => true,
            _ => false,
        };
        if same {
            Ok(())
        } else {
            Err(super::health::TrialFailure::NotStarted {
                why: "the rollback target did not start".into(),
            })
        }
    });
    match back {
        Ok(()) => Ok(Outcome::RolledBack { alert }),
        Err(f) => {
            let what =
                back_to.map_or_else(|| "the shipped driver".to_string(), |c| c.release.to_string());
            let halted =
                halt(slot, file, &format!("rolled back to {what}, which failed too: {f}"))?;
            // Stop whatever is starting now; the supervisor then finds the slot halted.
            handle.restart_fresh();
            tracing::error!(driver = %slot.kind(), "{halted}");
            alert = format!("{alert}. {halted}");
            Ok(Outcome::Halted { alert })
        }
    }
}
