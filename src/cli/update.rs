//! `teld update reset-clock|reset-state`: the site operator's recovery commands for the
//! two states in which the updater refuses to go on by itself. Run with teld stopped;
//! both act on `<state_dir>/update/` of the given config.

use std::path::Path;

use anyhow::Context;

use crate::config;
use crate::update::paths::UpdatePaths;
use crate::update::state::{PREV_FILE, STATE_FILE, StateFile, UpdateState};
use crate::update::trust;

fn paths(config: Option<&Path>) -> anyhow::Result<UpdatePaths> {
    let c = config::load_file(config, &[])?;
    Ok(UpdatePaths::new(&c.paths.state_dir))
}

/// After the clock was set far ahead and corrected: forget the last verified time
/// (ours and `tough`'s). Every floor stays, so no rollback can come back through this.
pub fn reset_clock(config: Option<&Path>) -> anyhow::Result<String> {
    let paths = paths(config)?;
    let file = StateFile::new(paths.update_dir());
    let (mut state, _) = file.load().context("the update state must be readable first")?;
    let was = state.verified_at.clone().unwrap_or_else(|| "never".into());
    trust::reset_clock(&paths, &mut state)?;
    Ok(format!(
        "last verified time {was} forgotten; floors kept; the next check judges expiry by the corrected clock"
    ))
}

/// Both state generations are damaged: keep them aside for inspection and start a new
/// journal. The floors they held are gone, which is why this is a command an operator
/// runs after looking, never something teld does by itself; the root this site trusts
/// (`trusted_root.json`) and `tough`'s datastore stay, so replayed metadata is still
/// refused, and the drivers run the program shipped with teld until the next check
/// installs the newest signed build again.
pub fn reset_state(config: Option<&Path>) -> anyhow::Result<String> {
    let paths = paths(config)?;
    let dir = paths.update_dir();
    let file = StateFile::new(&dir);
    if file.load().is_ok() {
        anyhow::bail!(
            "the update state in {} is readable; nothing to reset (use `teld driver rollback` to change what runs)",
            dir.display()
        );
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut kept = Vec::new();
    for name in [STATE_FILE, PREV_FILE] {
        let from = dir.join(name);
        if from.exists() {
            let to = dir.join(format!("{name}.damaged-{stamp}"));
            std::fs::rename(&from, &to)
                .with_context(|| format!("cannot move {} aside", from.display()))?;
            kept.push(to.display().to_string());
        }
    }
    for slot in std::fs::read_dir(paths.state_dir().join("drivers")).into_iter().flatten().flatten()
    {
        // Without a journal nothing may be taken as verified: the shipped program runs.
        let _ = std::fs::remove_file(slot.path().join("current"));
        let _ = std::fs::remove_file(slot.path().join("previous"));
    }
    file.save(&mut UpdateState::default())?;
    Ok(format!(
        "new update state written; the damaged files are kept as {}; drivers run their shipped programs until the next check reinstalls the newest signed build",
        kept.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(dir: &Path) -> std::path::PathBuf {
        let text = config::DEFAULT_CONFIG.replace(
            "state_dir = \"state\"",
            &format!("state_dir = {:?}", dir.join("state").display().to_string()),
        );
        let p = dir.join("teld.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reset_state_only_when_both_generations_are_damaged_and_keeps_them() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = site(tmp.path());
        let upd = tmp.path().join("state/update");
        let file = StateFile::new(&upd);
        let mut s = UpdateState::default();
        s.tuf.targets = 9;
        file.save(&mut s).unwrap();
        assert!(reset_state(Some(&cfg)).unwrap_err().to_string().contains("readable"));
        std::fs::write(upd.join(STATE_FILE), b"{").unwrap();
        std::fs::write(upd.join(PREV_FILE), b"").unwrap();
        assert!(file.load().is_err());
        let said = reset_state(Some(&cfg)).unwrap();
        assert!(said.contains("damaged"), "{said}");
        assert_eq!(file.load().unwrap().0.tuf.targets, 0);
        let aside = std::fs::read_dir(&upd)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"));
        assert_eq!(aside.count(), 2);
    }

    #[test]
    fn reset_clock_forgets_the_time_and_keeps_floors() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = site(tmp.path());
        let file = StateFile::new(tmp.path().join("state/update"));
        let mut s =
            UpdateState { verified_at: Some("2099-01-01T00:00:00Z".into()), ..Default::default() };
        s.tuf.timestamp = 7;
        file.save(&mut s).unwrap();
        reset_clock(Some(&cfg)).unwrap();
        let (s, _) = file.load().unwrap();
        assert_eq!((s.verified_at, s.tuf.timestamp), (None, 7));
    }
}
