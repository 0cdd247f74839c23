//! One driver slot on disk: `staging/`, `versions/<version>-<sha12>/<program>`, and the
//! `current`/`previous` links. Every name under the slot is built here from checked
//! parts, so nothing signed metadata says can point outside `versions/`.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::meta::{DriverMeta, program_name};
use super::paths::UpdatePaths;
use super::state::fsync_dir;

pub const STAGING: &str = "staging";
pub const VERSIONS: &str = "versions";
pub const CURRENT: &str = "current";
pub const PREVIOUS: &str = "previous";

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error(
        "refusing name `{name}` for a driver slot: {why}; the signed metadata or the config names something that is not a plain file name — report it to whoever publishes the drivers"
    )]
    BadName { name: String, why: &'static str },
    #[error("driver slot {path}: {source}; check the disk and the folder's permissions")]
    Io { path: PathBuf, source: io::Error },
}

impl SlotError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> SlotError + '_ {
        move |source| SlotError::Io { path: path.to_path_buf(), source }
    }
}

/// A checked single path component: not empty, not `.`/`..`, no `/` or NUL, and only
/// characters a version or driver name uses.
pub fn component(name: &str) -> Result<&str, SlotError> {
    let bad = |why| Err(SlotError::BadName { name: name.to_string(), why });
    if name.is_empty() || name == "." || name == ".." {
        return bad("empty, `.` or `..`");
    }
    if name.len() > 200 {
        return bad("longer than 200 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b)) {
        return bad("only letters, digits and `-_.+` are allowed (no `/`, no absolute path)");
    }
    Ok(name)
}

/// `<version>-<first 12 hex of sha256>`: two builds of one version never share a folder.
pub fn version_dir_name(meta: &DriverMeta, sha256: &str) -> Result<String, SlotError> {
    let short = sha256.get(..12).ok_or_else(|| SlotError::BadName {
        name: sha256.to_string(),
        why: "a sha256 has 64 hex digits",
    })?;
    let name = format!("{}-{short}", meta.version);
    component(&name)?;
    Ok(name)
}

#[derive(Debug, Clone)]
pub struct SlotDir {
    root: PathBuf,
    kind: String,
}

impl SlotDir {
    pub fn new(paths: &UpdatePaths, kind: &str) -> Result<Self, SlotError> {
        component(kind)?;
        Ok(Self { root: paths.slot(kind), kind: kind.to_string() })
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn staging(&self) -> PathBuf {
        self.root.join(STAGING)
    }

    pub fn versions(&self) -> PathBuf {
        self.root.join(VERSIONS)
    }

    /// `versions/<dir>`, with `dir` checked (it comes from the state file).
    pub fn version_dir(&self, dir: &str) -> Result<PathBuf, SlotError> {
        Ok(self.versions().join(component(dir)?))
    }

    /// The program inside `versions/<dir>`.
    pub fn program(&self, dir: &str) -> Result<PathBuf, SlotError> {
        Ok(self.version_dir(dir)?.join(program_name(&self.kind)))
    }

    /// Creates the slot's folders: `staging/` readable by the updater only.
    pub fn prepare(&self) -> Result<(), SlotError> {
        for (dir, mode) in
            [(self.root.clone(), 0o755), (self.versions(), 0o755), (self.staging(), 0o700)]
        {
            std::fs::create_dir_all(&dir).map_err(SlotError::io(&dir))?;
            let meta = std::fs::symlink_metadata(&dir).map_err(SlotError::io(&dir))?;
            if !meta.is_dir() {
                let e = io::Error::other("is not a folder (a symlink?)");
                return Err(SlotError::Io { path: dir, source: e });
            }
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                .map_err(SlotError::io(&dir))?;
        }
        Ok(())
    }

    /// Points link `name` (`current`/`previous`) at `versions/<dir>`, or removes it for
    /// `None`: a new link beside it, renamed over it (atomic), then the folder fsynced.
    pub fn set_link(&self, name: &str, dir: Option<&str>) -> Result<(), SlotError> {
        let link = self.root.join(name);
        match dir {
            Some(dir) => {
                let target = Path::new(VERSIONS).join(component(dir)?);
                let tmp = self.root.join(format!("{name}.new"));
                match std::fs::remove_file(&tmp) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SlotError::Io { path: tmp, source: e }),
                }
                std::os::unix::fs::symlink(&target, &tmp).map_err(SlotError::io(&tmp))?;
                std::fs::rename(&tmp, &link).map_err(SlotError::io(&link))?;
            }
            None => match std::fs::remove_file(&link) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(SlotError::Io { path: link, source: e }),
            },
        }
        fsync_dir(&self.root).map_err(SlotError::io(&self.root))
    }

    /// The `versions/` folder a link points at, if it is a link of ours.
    pub fn link(&self, name: &str) -> Option<String> {
        let target = std::fs::read_link(self.root.join(name)).ok()?;
        let rest = target.strip_prefix(VERSIONS).ok()?;
        let dir = rest.to_str()?;
        component(dir).ok().map(str::to_string)
    }

    /// Removes everything in `staging/` (downloads a crash interrupted); returns how
    /// many entries went.
    pub fn clear_staging(&self) -> Result<usize, SlotError> {
        remove_children(&self.staging(), |_| true)
    }

    /// Removes every `versions/` folder not named in `keep`; returns their names.
    pub fn gc_versions(&self, keep: &[&str]) -> Result<Vec<String>, SlotError> {
        let dir = self.versions();
        let mut removed = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(SlotError::Io { path: dir, source: e }),
        };
        for entry in entries {
            let entry = entry.map_err(SlotError::io(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep.contains(&name.as_str()) {
                continue;
            }
            remove_tree(&entry.path())?;
            removed.push(name);
        }
        if !removed.is_empty() {
            fsync_dir(&dir).map_err(SlotError::io(&dir))?;
        }
        Ok(removed)
    }
}

fn remove_children(dir: &Path, pick: impl Fn(&str) -> bool) -> Result<usize, SlotError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(SlotError::Io { path: dir.to_path_buf(), source: e }),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry.map_err(SlotError::io(dir))?;
        if pick(&entry.file_name().to_string_lossy()) {
            remove_tree(&entry.path())?;
            n += 1;
        }
    }
    if n > 0 {
        fsync_dir(dir).map_err(SlotError::io(dir))?;
    }
    Ok(n)
}

/// Removes a file, link or folder without following links; read-only version folders
/// are made writable first (they are 0555 while installed).
fn remove_tree(path: &Path) -> Result<(), SlotError> {
    let meta = std::fs::symlink_metadata(path).map_err(SlotError::io(path))?;
    if meta.is_dir() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(SlotError::io(path))?;
        std::fs::remove_dir_all(path).map_err(SlotError::io(path))
    } else {
        std::fs::remove_file(path).map_err(SlotError::io(path))
    }
}
