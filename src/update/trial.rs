//! The journal side of a trial: begin (journal, then switch `current`), commit, fail,
//! and start-up recovery. The state file is the truth; the `current`/`previous` links
//! are derived from it and re-derived whenever they might disagree.

use hifitime::Epoch;

use super::failpoint;
use super::paths::UpdatePaths;
use super::slot::{CURRENT, PREVIOUS, SlotDir, SlotError};
use super::state::{BadVersion, Installed, StateError, StateFile, Trial, UpdateState};

#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Slot(#[from] SlotError),
    #[error(
        "driver `{kind}` has a trial of {running} under way; wait until it is committed or rolled back"
    )]
    Busy { kind: String, running: String },
    #[error("driver `{kind}` has no trial to {what}")]
    NoTrial { kind: String, what: &'static str },
    #[error(
        "driver `{kind}` runs the program shipped with teld; there is no earlier build to roll back to"
    )]
    NothingToRollBack { kind: String },
    #[error(
        "driver `{kind}`: {release} is marked bad ({why}); it is never installed again — publish a fixed version"
    )]
    Bad { kind: String, release: String, why: String },
}

fn stamp(now: Epoch) -> String {
    teld_driver_protocol::time::format_utc(now)
}

/// Journals `candidate` as the slot's trial, then points `current` at it.
pub fn begin_trial(
    slot: &SlotDir,
    file: &StateFile,
    candidate: &Installed,
    now: Epoch,
) -> Result<(), TrialError> {
    let kind = slot.kind().to_string();
    slot.program(&candidate.dir)?;
    file.update(|state| {
        let entry = state.slot_mut(&kind);
        if let Some(t) = &entry.trial {
            return Err(TrialError::Busy {
                kind: kind.clone(),
                running: t.candidate.release.to_string(),
            });
        }
        if let Some(b) = entry
            .bad
            .iter()
            .find(|b| b.release == candidate.release || b.sha256 == candidate.sha256)
        {
            return Err(TrialError::Bad {
                kind: kind.clone(),
                release: b.release.to_string(),
                why: b.why.clone(),
            });
        }
        entry.trial =
            Some(Trial { candidate: candidate.clone(), started: stamp(now), attempts: 1 });
        entry.halted = None;
        Ok(())
    })?;
    // Journaled first: a crash from here on is found at start-up and rolled back; a
    // crash before it left `current` untouched.
    failpoint::hit("trial.journaled");
    slot.set_link(CURRENT, Some(&candidate.dir))?;
    failpoint::hit("trial.switched");
    Ok(())
}

/// The trial passed: it becomes `committed`, the old one `previous`, the floor rises,
/// and versions older than `previous` are removed.
pub fn commit(slot: &SlotDir, file: &StateFile) -> Result<Installed, TrialError> {
    let kind = slot.kind().to_string();
    let (new, state) = file.update(|state| {
        let entry = state.slot_mut(&kind);
        let trial =
            entry.trial.take().ok_or(TrialError::NoTrial { kind: kind.clone(), what: "commit" })?;
        let new = trial.candidate;
        if let Some(old) = entry.committed.take() {
            entry.previous = Some(old);
        }
        entry.committed = Some(new.clone());
        if entry.floor.as_ref().is_none_or(|f| *f < new.release) {
            entry.floor = Some(new.release.clone());
        }
        entry.halted = None;
        Ok::<_, TrialError>(new)
    })?;
    failpoint::hit("commit.journaled");
    relink(slot, &state)?;
    Ok(new)
}

/// The trial failed: `current` goes back to `committed` (or away, when the shipped
/// driver ran before), and the candidate is marked bad for good. Returns the alert.
pub fn fail_trial(
    slot: &SlotDir,
    file: &StateFile,
    why: &str,
    now: Epoch,
) -> Result<String, TrialError> {
    let kind = slot.kind().to_string();
    let (alert, state) = file.update(|state| {
        let entry = state.slot_mut(&kind);
        let trial = entry
            .trial
            .take()
            .ok_or(TrialError::NoTrial { kind: kind.clone(), what: "roll back" })?;
        let bad = trial.candidate;
        entry.bad.push(BadVersion {
            release: bad.release.clone(),
            sha256: bad.sha256.clone(),
            why: why.to_string(),
            at: stamp(now),
        });
        let back_to = entry
            .committed
            .as_ref()
            .map_or_else(|| "the shipped driver".to_string(), |c| c.release.to_string());
        Ok::<_, TrialError>(format!(
            "driver `{kind}` update to {} failed ({why}); rolled back to {back_to}; {} is marked bad and will not be retried",
            bad.release, bad.release
        ))
    })?;
    relink(slot, &state)?;
    Ok(alert)
}

/// An operator's rollback: the committed build is marked bad and `previous` (or, with
/// none, the program shipped with teld) becomes what runs. The floor stays: a rollback
/// is a local decision, never a reason to accept an older build from the repository.
pub fn operator_rollback(
    slot: &SlotDir,
    file: &StateFile,
    now: Epoch,
) -> Result<String, TrialError> {
    let kind = slot.kind().to_string();
    let (msg, state) = file.update(|state| {
        let entry = state.slot_mut(&kind);
        if let Some(t) = &entry.trial {
            return Err(TrialError::Busy { kind: kind.clone(), running: t.candidate.release.to_string() });
        }
        let Some(current) = entry.committed.take() else {
            return Err(TrialError::NothingToRollBack { kind: kind.clone() });
        };
        entry.committed = entry.previous.take();
        entry.bad.push(BadVersion {
            release: current.release.clone(),
            sha256: current.sha256.clone(),
            why: "rolled back by an operator".into(),
            at: stamp(now),
        });
        entry.halted = None;
        let back_to = entry
            .committed
            .as_ref()
            .map_or_else(|| "the shipped driver".to_string(), |c| c.release.to_string());
        Ok(format!(
            "driver `{kind}` rolled back from {} to {back_to} by an operator; {} is marked bad and will not be installed again",
            current.release, current.release
        ))
    })?;
    relink(slot, &state)?;
    Ok(msg)
}

/// A rollback's target failed as well: leave the driver stopped and say so.
pub fn halt(slot: &SlotDir, file: &StateFile, why: &str) -> Result<String, TrialError> {
    let kind = slot.kind().to_string();
    file.update(|state| {
        state.slot_mut(&kind).halted = Some(why.to_string());
        Ok::<_, TrialError>(())
    })?;
    Ok(format!(
        "driver `{kind}` is stopped: {why}; it is left in its safe state and is not restarted until an operator installs or rolls back a version (`teld driver update {kind}` / `teld driver rollback {kind}`)"
    ))
}

/// Points `current` and `previous` at what the state says and removes every other
/// version folder; returns the folders removed.
pub fn relink(slot: &SlotDir, state: &UpdateState) -> Result<Vec<String>, TrialError> {
    let entry = state.slot(slot.kind()).cloned().unwrap_or_default();
    let current = entry.trial.as_ref().map(|t| &t.candidate).or(entry.committed.as_ref());
    slot.set_link(CURRENT, current.map(|i| i.dir.as_str()))?;
    slot.set_link(PREVIOUS, entry.previous.as_ref().map(|i| i.dir.as_str()))?;
    let keep: Vec<&str> =
        [current, entry.previous.as_ref()].into_iter().flatten().map(|i| i.dir.as_str()).collect();
    Ok(slot.gc_versions(&keep)?)
}

/// What start-up recovery found and did for one slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Partial downloads removed from `staging/`.
    pub staging_removed: usize,
    /// Version folders no state entry names (a crash before the journal, or a build
    /// just rolled back).
    pub versions_removed: Vec<String>,
    /// The alert for an interrupted trial that was rolled back.
    pub rolled_back: Option<String>,
}

/// Start-up recovery of one slot: an unfinished trial is a failed one (it never runs
/// again, so a crash in its health check cannot loop), staging is emptied, orphans go,
/// and the links are re-derived from the state file.
pub fn recover(
    paths: &UpdatePaths,
    file: &StateFile,
    kind: &str,
    now: Epoch,
) -> Result<Recovery, TrialError> {
    let slot = SlotDir::new(paths, kind)?;
    let (state, _) = file.load()?;
    let mut out = Recovery { staging_removed: slot.clear_staging()?, ..Recovery::default() };
    if let Some(trial) = state.slot(kind).and_then(|s| s.trial.clone()) {
        let why = format!(
            "teld stopped during the trial that began {} (crash, kill or power cut); an interrupted trial counts as failed",
            trial.started
        );
        out.rolled_back = Some(fail_trial(&slot, file, &why, now)?);
    }
    if slot.root().exists() {
        let (state, _) = file.load()?;
        out.versions_removed = relink(&slot, &state)?;
    }
    Ok(out)
}
