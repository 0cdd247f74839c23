//! `[update]`: where signed driver updates come from and how a new driver is tried.

use std::path::PathBuf;

use serde::Deserialize;

use super::load::ConfigIssue;
use super::types::Config;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Off by default: a site turns updates on when it has a repository and the root
    /// key file its operations centre ships out of band.
    #[serde(default)]
    pub enabled: bool,
    /// The TUF repository: `http://host/path` (polled; https is not supported yet) or
    /// a local folder (a copy on a stick). The folder holds `metadata/` and `targets/` as `teld artefact publish`
    /// writes them.
    #[serde(default)]
    pub source: Option<String>,
    /// The repository's root metadata this site trusts first (`1.root.json`, shipped
    /// with the package). teld then follows the signed chain of newer roots and keeps
    /// the newest it has verified.
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// Real seconds between checks of the source. 30 s keeps CI-to-telescope under a
    /// minute (poll + install + probation) while a check costs a static server one
    /// small `timestamp.json` per site (the rest is fetched only when it changed).
    #[serde(default = "default_poll")]
    pub poll_interval_s: f64,
    /// Real seconds a new driver has to say `hello` with the promised version.
    #[serde(default = "default_ready")]
    pub ready_timeout_s: f64,
    /// Real seconds a new driver must stay up, answering heartbeats, before it is
    /// committed. 20 s covers a crash loop on connect (the usual way a bad build
    /// fails) while keeping CI-to-serving well under a minute.
    #[serde(default = "default_probation")]
    pub probation_s: f64,
    /// Driver kinds that take updates; empty = every kind the config runs.
    #[serde(default)]
    pub drivers: Vec<String>,
}

fn default_poll() -> f64 {
    30.0
}
fn default_ready() -> f64 {
    30.0
}
fn default_probation() -> f64 {
    20.0
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            enabled: false,
            source: None,
            root: None,
            poll_interval_s: default_poll(),
            ready_timeout_s: default_ready(),
            probation_s: default_probation(),
            drivers: Vec::new(),
        }
    }
}

impl UpdateConfig {
    /// The kinds that take updates.
    pub fn kinds(&self, c: &Config) -> Vec<String> {
        let mut kinds: Vec<String> = if self.drivers.is_empty() {
            c.drivers.iter().filter(|d| d.program.is_none()).map(|d| d.kind.clone()).collect()
        } else {
            self.drivers.clone()
        };
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

pub(super) fn check(c: &Config, out: &mut Vec<ConfigIssue>) {
    let u = &c.update;
    let mut bad = |path: &str, message: String| {
        out.push(ConfigIssue { path: format!("update.{path}"), message })
    };
    for (k, v, lo, hi) in [
        ("poll_interval_s", u.poll_interval_s, 1.0, 86_400.0),
        ("ready_timeout_s", u.ready_timeout_s, 0.1, 600.0),
        ("probation_s", u.probation_s, 0.0, 86_400.0),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            bad(k, format!("must be in [{lo}, {hi}] seconds, got {v}"));
        }
    }
    for k in &u.drivers {
        match c.drivers.iter().find(|d| &d.kind == k) {
            None => bad(
                "drivers",
                format!(
                    "`{k}` is not the kind of any [[drivers]] entry; list kinds like \"sim\" or \"alpaca\""
                ),
            ),
            Some(d) if d.program.is_some() => bad(
                "drivers",
                format!(
                    "driver `{}` of kind `{k}` runs its own `program`; updates manage only drivers without one — remove `program` or the kind from this list",
                    d.name
                ),
            ),
            Some(_) => {}
        }
    }
    if !u.enabled {
        return;
    }
    match u.source.as_deref() {
        None | Some("") => bad(
            "source",
            "updates are enabled but no source is set; give the repository's http:// URL or folder"
                .into(),
        ),
        Some(s) if s.starts_with("https://") => bad(
            "source",
            format!(
                "`{s}`: https is not supported yet; serve the repository over http:// (the TUF signatures, not the transport, protect what is installed) or use a folder"
            ),
        ),
        Some(s) if s.contains("://") && !s.starts_with("http://") => {
            bad("source", format!("`{s}`: use an http:// URL or a plain folder path"))
        }
        Some(_) => {}
    }
    if u.root.is_none() {
        bad(
            "root",
            "updates are enabled but no root is set; give the path of the repository's 1.root.json shipped with this site".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DEFAULT_CONFIG, load_str};

    #[test]
    fn off_by_default_and_every_kind_without_a_program_when_on() {
        let c = load_str(DEFAULT_CONFIG, "default", Vec::new()).unwrap();
        assert!(!c.update.enabled);
        assert_eq!(c.update.kinds(&c), vec!["sim".to_string()]);
        assert_eq!((c.update.probation_s, c.update.ready_timeout_s), (20.0, 30.0));
    }

    #[test]
    fn enabled_without_source_or_root_and_unknown_kinds_are_named() {
        let text = format!(
            "{DEFAULT_CONFIG}\n[update]\nenabled = true\nsource = \"ftp://x\"\ndrivers = [\"lx200\"]\nprobation_s = -1\n"
        );
        let e = load_str(&text, "t", Vec::new()).unwrap_err().to_string();
        for want in [
            "update.source",
            "ftp://x",
            "update.root",
            "update.drivers",
            "`lx200`",
            "update.probation_s",
        ] {
            assert!(e.contains(want), "{want} missing from: {e}");
        }
    }
}
