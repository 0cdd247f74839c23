//! The end-of-run table: one figure per line, `name: value`, so people read it and
//! tests grep it. The must-be-zero figures decide the exit status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::plan::FaultKind;
use super::tally::Tally;
use super::watch::{Checker, Usage};

/// One injected fault and how long teld took to be whole again (real seconds), if it
/// came back within the campaign's patience.
#[derive(Debug, Clone)]
pub struct Injected {
    pub kind: FaultKind,
    pub night: usize,
    pub recovered_s: Option<f64>,
}

pub struct Report {
    /// The fault kinds this run could inject (one line each, 0 or not).
    pub kinds: Vec<FaultKind>,
    pub header: String,
    pub injected: Vec<Injected>,
    pub scheduled: usize,
    pub not_injected: Vec<(&'static str, &'static str)>,
    pub spells: usize,
    pub submitted: usize,
    pub refused: usize,
    pub checker: Checker,
    pub tally: Tally,
    pub usage: Usage,
    /// teld exits during the run that the campaign did not cause.
    pub unexpected_exits: usize,
}

/// Figures that must be zero for the campaign to pass.
pub const MUST_BE_ZERO: [&str; 6] = [
    "unsafe states",
    "requests lost",
    "frames lost",
    "frames duplicated",
    "frames missing from the outbox",
    "inbox files mishandled",
];

impl Report {
    pub fn figures(&self) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| f.push((k.to_string(), v));
        put("faults scheduled", self.scheduled.to_string());
        put("faults injected", self.injected.len().to_string());
        let mut by_kind: BTreeMap<FaultKind, usize> = BTreeMap::new();
        for i in &self.injected {
            *by_kind.entry(i.kind).or_default() += 1;
        }
        for &k in &self.kinds {
            put(
                &format!("faults injected, {}", k.name()),
                by_kind.get(&k).copied().unwrap_or(0).to_string(),
            );
        }
        for (what, why) in &self.not_injected {
            put(&format!("not injected, {what}"), why.to_string());
        }
        let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
        for p in self.checker.spell_phase.values() {
            *phases.entry(p.as_str()).or_default() += 1;
        }
        let phases: Vec<String> = phases.iter().map(|(p, n)| format!("{p} {n}")).collect();
        put(
            "unsafe weather spells",
            format!("{} (block phase when seen: {})", self.spells, phases.join(", ")),
        );
        put("requests submitted", self.submitted.to_string());
        put("requests acknowledged", self.tally.requests_acknowledged.to_string());
        put("requests refused or unanswered", self.refused.to_string());
        let states: Vec<String> =
            self.tally.request_states.iter().map(|(s, n)| format!("{s} {n}")).collect();
        put("requests by state", states.join(", "));
        put("unsafe states", self.checker.unsafe_count().to_string());
        put("requests lost", self.tally.requests_lost.len().to_string());
        put("frames", self.tally.frames.to_string());
        put("frames lost", self.tally.frames_lost.len().to_string());
        put("frames duplicated", self.tally.frames_duplicated.len().to_string());
        put("frames missing from the outbox", self.tally.outbox_missing.len().to_string());
        put("handoffs undelivered at the end", self.tally.handoffs_undelivered.to_string());
        put(
            "inbox files quarantined",
            format!("{} of {}", self.tally.inbox_quarantined, self.tally.inbox_dropped),
        );
        put("inbox files mishandled", self.tally.inbox_mishandled.len().to_string());
        put("observations", self.tally.observations.to_string());
        put("observations retried", self.tally.observations_retried.to_string());
        let outcomes: Vec<String> =
            self.tally.observation_outcomes.iter().map(|(s, n)| format!("{s} {n}")).collect();
        put("observation outcomes", outcomes.join(", "));
        let rec: Vec<f64> = self.injected.iter().filter_map(|i| i.recovered_s).collect();
        let unrecovered = self.injected.len() - rec.len();
        let mean = if rec.is_empty() { 0.0 } else { rec.iter().sum::<f64>() / rec.len() as f64 };
        let max = rec.iter().copied().fold(0.0, f64::max);
        put(
            "mean time to recover",
            format!("{mean:.2} s (max {max:.2} s, over {} faults)", rec.len()),
        );
        put("faults not recovered from", unrecovered.to_string());
        put("teld exits not caused by the campaign", self.unexpected_exits.to_string());
        put(
            "status samples",
            format!("{} ({} unanswered)", self.checker.samples, self.checker.missed),
        );
        let (rss, fds) = usage_summary(&self.usage);
        put("teld RSS MiB", rss);
        put("teld open fds", fds);
        f
    }

    pub fn passed(&self) -> bool {
        let figures = self.figures();
        MUST_BE_ZERO.iter().all(|k| figures.iter().any(|(n, v)| n == k && v == "0"))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.header);
        for (k, v) in self.figures() {
            let _ = writeln!(out, "{k}: {v}");
        }
        let _ = writeln!(out, "result: {}", if self.passed() { "PASS" } else { "FAIL" });
        let details: [(&str, Vec<String>); 5] = [
            (
                "unsafe state",
                self.checker
                    .findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {:?}: {}",
                            teld_astro::time::format_utc(f.at, 0),
                            f.kind,
                            f.detail
                        )
                    })
                    .collect(),
            ),
            (
                "request lost",
                self.tally.requests_lost.iter().map(|i| format!("request {i}")).collect(),
            ),
            ("frame lost", self.tally.frames_lost.clone()),
            ("frame duplicated", self.tally.frames_duplicated.clone()),
            ("outbox", self.tally.outbox_missing.clone()),
        ];
        for (what, list) in details {
            for line in list.iter().take(10) {
                let _ = writeln!(out, "  {what}: {line}");
            }
            if list.len() > 10 {
                let _ = writeln!(out, "  {what}: … and {} more", list.len() - 10);
            }
        }
        for line in &self.tally.inbox_mishandled {
            let _ = writeln!(out, "  inbox: {line}");
        }
        out
    }
}

/// First/last/max over the run, from each teld process's median, and whether the
/// last process sits clearly above the first (a leak across restarts) or a process's
/// last sample above its own median after warm-up (a leak within a night).
pub fn usage_summary(usage: &Usage) -> (String, String) {
    let lives: Vec<&Vec<(f64, u64, u64)>> = usage.values().filter(|v| !v.is_empty()).collect();
    if lives.is_empty() {
        return ("no samples".into(), "no samples".into());
    }
    let median = |v: &[(f64, u64, u64)], pick: fn(&(f64, u64, u64)) -> u64| {
        let mut x: Vec<u64> = v.iter().map(pick).collect();
        x.sort_unstable();
        x[x.len() / 2]
    };
    let fig = |pick: fn(&(f64, u64, u64)) -> u64, scale: f64, slack: f64, unit_add: f64| {
        let first = median(lives[0], pick) as f64 / scale;
        let last = median(lives[lives.len() - 1], pick) as f64 / scale;
        let max = lives.iter().flat_map(|l| l.iter().map(pick)).max().unwrap_or(0) as f64 / scale;
        let within = lives.iter().any(|l| {
            l.len() >= 10 && {
                let m = median(l, pick) as f64 / scale;
                let end = pick(&l[l.len() - 1]) as f64 / scale;
                end > m * slack + unit_add
            }
        });
        let across = last > first * slack + unit_add;
        let verdict = if within || across { "GROWING" } else { "flat" };
        format!(
            "first {first:.1}, last {last:.1}, max {max:.1} over {} processes ({verdict})",
            lives.len()
        )
    };
    (fig(|s| s.1, 1024.0, 1.5, 8.0), fig(|s| s.2, 1.0, 1.0, 16.0))
}
