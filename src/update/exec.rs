//! Verify-then-exec: which program a driver kind starts from its slot, checked on the
//! very file descriptor that will be executed. The file is opened once, hashed through
//! that descriptor, and run as `/proc/self/fd/N`, so swapping the file on disk after
//! the check (a local write race) cannot change what runs.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::install::hash_reader;
use super::paths::UpdatePaths;
use super::slot::{CURRENT, SlotDir};
use super::state::{Installed, StateFile};

/// Which recorded build a start uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Trial,
    Committed,
    Previous,
}

/// A program opened and verified; exec it through [`VerifiedProgram::exec_path`]
/// while this value (and so the descriptor) is alive.
#[derive(Debug)]
pub struct VerifiedProgram {
    pub file: File,
    pub installed: Installed,
    pub role: Role,
    /// Something an operator must hear about (a build that failed verification).
    pub alert: Option<String>,
}

impl VerifiedProgram {
    pub fn fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    /// `/proc/self/fd/N`: in the child after fork this is the same open file.
    pub fn exec_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd()))
    }

    /// A command that executes this very inode. Spawn it while `self` is alive.
    pub fn command(&self) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let fd = self.fd();
        let mut cmd = std::process::Command::new(self.exec_path());
        // SAFETY: only async-signal-safe calls (fcntl) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Close-on-exec in teld; the child must keep it across exec, or a
                // script's interpreter could not open `/proc/self/fd/N`.
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

/// What the next start of a driver runs.
#[derive(Debug)]
pub enum Launch {
    /// No signed install for this kind: the program shipped with teld, as before.
    Shipped,
    Slot(VerifiedProgram),
    /// Nothing may run (both builds failed, or the slot was halted); the reason says
    /// what the operator must do.
    Held(String),
}

/// The slot of one driver kind, as the supervisor sees it.
#[derive(Debug, Clone)]
pub struct SlotExec {
    slot: SlotDir,
    state: StateFile,
}

impl SlotExec {
    pub fn new(paths: &UpdatePaths, kind: &str) -> Result<Self, super::slot::SlotError> {
        Ok(Self { slot: SlotDir::new(paths, kind)?, state: StateFile::new(paths.update_dir()) })
    }

    pub fn kind(&self) -> &str {
        self.slot.kind()
    }

    /// Decides what to start: the trial build during a trial, else the committed one;
    /// if that fails verification, `previous` if it verifies (with an alert); the
    /// shipped program only when this kind never had a signed install.
    pub fn select(&self) -> Launch {
        let kind = self.slot.kind();
        let state = match self.state.load() {
            Ok((s, _)) => s,
            Err(e) => {
                if std::fs::symlink_metadata(self.slot.root().join(CURRENT)).is_ok() {
                    return Launch::Held(format!(
                        "driver `{kind}` has signed installs but the update state cannot be read, so none can be verified: {e}"
                    ));
                }
                return Launch::Shipped;
            }
        };
        let Some(entry) = state.slot(kind) else { return Launch::Shipped };
        if let Some(why) = &entry.halted {
            return Launch::Held(format!(
                "driver `{kind}` is halted after a failed rollback ({why}); install or roll back a version to start it again"
            ));
        }
        let mut tried = Vec::new();
        let choices = [
            (Role::Trial, entry.trial.as_ref().map(|t| &t.candidate)),
            (Role::Committed, entry.committed.as_ref()),
            (Role::Previous, entry.previous.as_ref()),
        ];
        for (role, installed) in choices {
            let Some(installed) = installed else { continue };
            match self.open_verified(installed) {
                Ok(file) => {
                    let alert = (!tried.is_empty()).then(|| {
                        format!(
                            "driver `{kind}`: {}; started {} ({role:?}) instead",
                            tried.join("; "),
                            installed.release
                        )
                    });
                    if let Some(a) = &alert {
                        tracing::error!("{a}");
                    }
                    return Launch::Slot(VerifiedProgram {
                        file,
                        installed: installed.clone(),
                        role,
                        alert,
                    });
                }
                Err(why) => {
                    tried.push(format!("{role:?} build {} refused: {why}", installed.release))
                }
            }
        }
        if tried.is_empty() {
            return Launch::Shipped;
        }
        Launch::Held(format!(
            "driver `{kind}` not started: {}; reinstall a signed version (`teld driver update {kind}`)",
            tried.join("; ")
        ))
    }

    /// Opens the installed program without following links and checks the open file's
    /// hash and length against the state.
    pub fn open_verified(&self, installed: &Installed) -> Result<File, String> {
        let path = self.slot.program(&installed.dir).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let meta = file.metadata().map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("{} is not a regular file", path.display()));
        }
        let (sha, len) =
            hash_reader(&mut file).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if len != installed.length || !sha.eq_ignore_ascii_case(&installed.sha256) {
            return Err(format!(
                "{} altered on disk (sha256 {sha}, {len} bytes; installed as {}, {} bytes)",
                path.display(),
                installed.sha256,
                installed.length
            ));
        }
        Ok(file)
    }
}
