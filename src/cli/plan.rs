//! `teld plan --instance FILE`: plans a benchmark instance (`telsched` formats v1 and
//! v2, `../shared/bench/`) and writes the `telsched-schedule` document, with the wall
//! and CPU time the planner took, so any validator can score it.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde_json::json;
use teld_schedule::{Options, instance, solve, validate};

#[derive(Debug, thiserror::Error)]
pub enum PlanCliError {
    #[error("cannot read {path}: {source}; check the path")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {source}; see ../shared/bench/FORMAT-v2.md for the format")]
    Instance { path: String, source: instance::InstanceError },
    #[error("cannot write the schedule: {0}")]
    Write(#[from] std::io::Error),
}

/// What the command prints on stderr (and tests read back).
#[derive(Debug, Clone)]
pub struct Summary {
    pub value: f64,
    pub greedy_value: f64,
    pub completed: usize,
    pub requests: usize,
    pub slew_s: f64,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub violations: usize,
}

/// Plans `path` and writes the schedule to `out`.
pub fn run(path: &Path, opts: &Options, out: impl Write) -> Result<Summary, PlanCliError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| PlanCliError::Read { path: name.clone(), source })?;
    let wall0 = Instant::now();
    let cpu0 = thread_cpu_s();
    let (problem, version) =
        instance::parse(&text).map_err(|source| PlanCliError::Instance { path: name, source })?;
    let outcome = solve(&problem, opts);
    let (wall_s, cpu_s) = (wall0.elapsed().as_secs_f64(), thread_cpu_s() - cpu0);
    // Our own scoring, as a guard: the benchmark's validator is the judge.
    let report = validate::validate(&problem, &outcome.observations);
    let params = json!({
        "seed": opts.seed,
        "effort": opts.effort.unwrap_or_else(|| teld_schedule::solve::default_effort(&problem)),
        "iterations": outcome.iterations,
        "greedy_value": outcome.greedy_value,
        "value": outcome.value,
    });
    let doc =
        instance::schedule_json(&problem, version, &outcome.observations, params, wall_s, cpu_s);
    let mut out = out;
    serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(Summary {
        value: report.value,
        greedy_value: outcome.greedy_value,
        completed: outcome.plan.assigned.iter().filter(|a| a.is_some()).count(),
        requests: problem.requests.len(),
        slew_s: report.slew_s,
        wall_s,
        cpu_s,
        violations: report.violations.len(),
    })
}

/// CPU time of the calling thread (the planner is single-threaded), from the kernel's
/// scheduler statistics in nanoseconds; 0 where /proc is not available.
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()))
        .map_or(0.0, |ns| ns as f64 * 1e-9)
}
