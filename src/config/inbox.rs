//! `[inbox]`: the folder other capture software writes FITS frames into.

use std::path::PathBuf;

use serde::Deserialize;

use super::load::ConfigIssue;
use super::types::{Config, PathsConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {
    /// On by default: an empty inbox costs one inotify watch, and an operator who
    /// points a capture program at `<state_dir>/inbox` expects the frames to arrive
    /// without editing teld's configuration first. Nothing is ever taken from a
    /// folder nobody writes to.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Defaults to `<state_dir>/inbox`. Must be on the archive's file system, so a
    /// frame is linked, not copied twice.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Where refused files go, each with a `.reason` file; defaults to
    /// `<inbox dir>/quarantine` (next to where the operator dropped them).
    #[serde(default)]
    pub quarantine_dir: Option<PathBuf>,
    /// The configured telescope every frame of this inbox belongs to; unset means
    /// "tell from the header" (teld's REQID/OBSID, else TELESCOP/INSTRUME).
    #[serde(default)]
    pub telescope: Option<String>,
    /// Real seconds between scans of the folder when inotify reports nothing: the
    /// fallback for file systems without inotify (NFS, SMB) and for lost events.
    #[serde(default = "default_scan_interval")]
    pub scan_interval_s: f64,
    /// Seconds (teld's clock) a file's size and modification time must stay the same
    /// before it is taken. Capture programs pause between header and data or write
    /// in chunks; 5 s outlasts those pauses yet keeps frames flowing.
    #[serde(default = "default_settle")]
    pub settle_s: f64,
}

fn yes() -> bool {
    true
}

/// Real seconds: a frame found only by the scan waits at most this long.
fn default_scan_interval() -> f64 {
    10.0
}

fn default_settle() -> f64 {
    5.0
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            enabled: true,
            dir: None,
            quarantine_dir: None,
            telescope: None,
            scan_interval_s: default_scan_interval(),
            settle_s: default_settle(),
        }
    }
}

impl InboxConfig {
    pub fn dir(&self, paths: &PathsConfig) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| paths.state_dir.join("inbox"))
    }

    pub fn quarantine(&self, paths: &PathsConfig) -> PathBuf {
        self.quarantine_dir.clone().unwrap_or_else(|| self.dir(paths).join("quarantine"))
    }
}

pub(super) fn check(c: &Config, out: &mut Vec<ConfigIssue>) {
    let i = &c.inbox;
    let mut bad = |path: &str, message: String| {
        out.push(ConfigIssue { path: format!("inbox.{path}"), message })
    };
    if !(i.scan_interval_s.is_finite() && (0.05..=3600.0).contains(&i.scan_interval_s)) {
        bad(
            "scan_interval_s",
            format!("must be in [0.05, 3600] seconds, got {}", i.scan_interval_s),
        );
    }
    if !(i.settle_s.is_finite() && (0.0..=3600.0).contains(&i.settle_s)) {
        bad("settle_s", format!("must be in [0, 3600] seconds, got {}", i.settle_s));
    }
    if let Some(t) = &i.telescope
        && !c.telescopes.iter().any(|x| &x.name == t)
    {
        let known: Vec<&str> = c.telescopes.iter().map(|x| x.name.as_str()).collect();
        bad(
            "telescope",
            format!("`{t}` is not a configured telescope (known: {})", known.join(", ")),
        );
    }
    if i.enabled {
        let (dir, archive) = (i.dir(&c.paths), c.paths.archive());
        if i.quarantine(&c.paths) == dir {
            bad(
                "quarantine_dir",
                "must not be the inbox folder itself: refused files would be taken again".into(),
            );
        }
        if dir.starts_with(&archive) || archive.starts_with(&dir) {
            bad(
                "dir",
                format!(
                    "{} and the archive {} must not contain each other; give the inbox a folder of its own",
                    dir.display(),
                    archive.display()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DEFAULT_CONFIG, load_str};
    use std::path::PathBuf;

    #[test]
    fn on_by_default_under_the_state_folder() {
        let c = load_str(DEFAULT_CONFIG, "default", Vec::new()).unwrap();
        assert!(c.inbox.enabled);
        assert_eq!(c.inbox.dir(&c.paths), PathBuf::from("state/inbox"));
        assert_eq!(c.inbox.quarantine(&c.paths), PathBuf::from("state/inbox/quarantine"));
        assert_eq!((c.inbox.settle_s, c.inbox.scan_interval_s), (5.0, 10.0));
    }

    #[test]
    fn bad_values_are_reported_with_their_key() {
        let text = format!(
            "{DEFAULT_CONFIG}\n[inbox]\ntelescope = \"t9\"\nsettle_s = -1\nscan_interval_s = 0\ndir = \"state/archive/in\"\n"
        );
        let e = load_str(&text, "test", Vec::new()).unwrap_err().to_string();
        for part in [
            "inbox.telescope: `t9` is not a configured telescope (known: t1)",
            "inbox.settle_s",
            "inbox.scan_interval_s",
            "inbox.dir",
        ] {
            assert!(e.contains(part), "{part} not in {e}");
        }
        let off = format!("{DEFAULT_CONFIG}\n[inbox]\nenabled = false\nbogus = 1\n");
        let e = load_str(&off, "test", Vec::new()).unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }
}
