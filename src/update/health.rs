//! The health check of a new driver build: it must start from the verified file, say
//! hello in time with the version and commit its signed metadata promised, do no worse
//! in its self-test than the build it replaces, and stay up through probation.

use std::time::Duration;

use teld_driver_protocol::SelfTest;

use super::failpoint;
use super::state::Installed;
use crate::devices::{DriverHandle, RunStatus};

/// Real-time limits of a trial (process timing, not the simulated clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialConfig {
    /// From the switch until the new process has said hello and been configured.
    pub ready_timeout: Duration,
    /// How long it must then stay up: no exit, no missed heartbeat, no restart.
    pub probation: Duration,
}

impl Default for TrialConfig {
    fn default() -> Self {
        Self { ready_timeout: Duration::from_secs(30), probation: Duration::from_secs(20) }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrialFailure {
    #[error("not ready within {after_s} s of the switch (no hello, or configure unanswered)")]
    NotReady { after_s: f64 },
    #[error("exited before it was ready: {why}")]
    Exited { why: String },
    #[error("was restarted before it was ready (crash loop)")]
    Restarted,
    #[error("the signed build was not the one started ({why})")]
    NotStarted { why: String },
    #[error("hello reported version {got}, but the signed metadata promises {want}")]
    WrongVersion { got: String, want: String },
    #[error("hello reported git sha {got}, but the signed metadata promises {want}")]
    WrongGitSha { got: String, want: String },
    #[error("self-test fails where the old build passed: {devices}")]
    WorseSelfTest { devices: String },
    #[error("self-test could not be run: {why}")]
    SelfTestBroken { why: String },
    #[error("went down {after_s:.1} s into its {probation_s} s probation: {why}")]
    Died { after_s: f64, probation_s: f64, why: String },
}

/// Restarts the driver on the switched-in build and judges it. `baseline` is the old
/// build's self-test (taken before the switch); `None` when it had none to give (an
/// old driver, or it was down), and then any answer passes.
pub async fn run_trial(
    handle: &DriverHandle,
    expect: &Installed,
    baseline: Option<&SelfTest>,
    cfg: TrialConfig,
) -> Result<(), TrialFailure> {
    let ended = handle.restart_fresh();
    let status = wait_ready(handle, ended, cfg.ready_timeout).await?;
    match &status.installed {
        Some(i) if i.sha256 == expect.sha256 => {}
        Some(i) => {
            let why = format!("{} started instead; the trial build failed verification", i.release);
            return Err(TrialFailure::NotStarted { why });
        }
        None => {
            let why = "the shipped program started instead".to_string();
            return Err(TrialFailure::NotStarted { why });
        }
    }
    let hello = status.hello.clone().unwrap_or_else(|| teld_driver_protocol::Hello::new("?", "?"));
    let want = expect.release.version.to_string();
    if hello.version.parse::<semver::Version>().ok().as_ref() != Some(&expect.release.version) {
        return Err(TrialFailure::WrongVersion { got: hello.version, want });
    }
    if hello.git_sha.as_deref() != Some(expect.git_sha.as_str()) {
        let got = hello.git_sha.unwrap_or_else(|| "nothing".into());
        return Err(TrialFailure::WrongGitSha { got, want: expect.git_sha.clone() });
    }
    let report = handle
        .self_test()
        .await
        .map_err(|e| TrialFailure::SelfTestBroken { why: e.to_string() })?;
    if let Some(baseline) = baseline {
        let worse = report.regressions(baseline);
        if !worse.is_empty() {
            return Err(TrialFailure::WorseSelfTest { devices: worse.join(", ") });
        }
    }
    failpoint::hit("trial.health");
    probation(handle, status.starts, cfg.probation).await
}

/// Longest the supervisor takes to stop a process it was told to replace (its
/// shutdown grace plus a margin); not counted against the new build's readiness.
const STOP_BOUND: Duration = Duration::from_secs(30);

/// Waits for the first run after run `ended` to be up. Any other outcome is a failure.
/// `timeout` runs from the moment the old process is gone.
pub async fn wait_ready(
    handle: &DriverHandle,
    ended: u64,
    timeout: Duration,
) -> Result<RunStatus, TrialFailure> {
    let mut runs = handle.runs();
    let gone = tokio::time::timeout(STOP_BOUND, async {
        let _ = runs.wait_for(|r| r.starts > ended || r.ended.is_some()).await;
    })
    .await;
    if gone.is_err() {
        let why = format!("the running process did not stop within {} s", STOP_BOUND.as_secs());
        return Err(TrialFailure::Exited { why });
    }
    let done = tokio::time::timeout(timeout, async {
        runs.wait_for(|r| {
            r.starts > ended + 1 || (r.starts == ended + 1 && (r.up || r.ended.is_some()))
        })
        .await
        .map(|r| r.clone())
    })
    .await;
    let status = match done {
        Err(_) => return Err(TrialFailure::NotReady { after_s: timeout.as_secs_f64() }),
        Ok(Err(_)) => return Err(TrialFailure::Exited { why: "the supervisor stopped".into() }),
        Ok(Ok(s)) => s,
    };
    if status.starts > ended + 1 {
        return Err(TrialFailure::Restarted);
    }
    if let Some(why) = status.ended {
        return Err(TrialFailure::Exited { why });
    }
    Ok(status)
}

async fn probation(handle: &DriverHandle, run: u64, window: Duration) -> Result<(), TrialFailure> {
    let started = tokio::time::Instant::now();
    let mut runs = handle.runs();
    let fell = tokio::time::timeout(window, async {
        runs.wait_for(|r| r.starts != run || !r.up).await.map(|r| r.clone())
    })
    .await;
    match fell {
        Err(_) => Ok(()),
        Ok(r) => Err(TrialFailure::Died {
            after_s: started.elapsed().as_secs_f64(),
            probation_s: window.as_secs_f64(),
            why: r.ok().and_then(|r| r.ended).unwrap_or_else(|| "stopped serving".into()),
        }),
    }
}
