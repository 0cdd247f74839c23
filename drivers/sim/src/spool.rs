//! The spool folder where `read_image` writes pixels. The daemon names the file; the
//! driver refuses any name that would land outside the folder (`..`, a symlinked
//! parent, a symlink in place of the file), since a confused or hostile request must
//! not be able to overwrite arbitrary files with image data.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use teld_driver_protocol::ErrorCode;

use crate::error::Coded;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool folder `{dir}` cannot be used: {source}")]
    Folder { dir: String, source: std::io::Error },
    #[error(
        "spool path `{path}` is not inside the spool folder `{dir}`; name a file in that folder"
    )]
    Outside { path: String, dir: String },
    #[error("spool path `{path}` is not usable: {why}")]
    Unusable { path: String, why: String },
    #[error("writing the image to `{path}` failed: {source}")]
    Write { path: String, source: std::io::Error },
}

impl Coded for SpoolError {
    fn code(&self) -> ErrorCode {
        match self {
            SpoolError::Outside { .. } | SpoolError::Unusable { .. } => ErrorCode::InvalidValue,
            SpoolError::Folder { .. } | SpoolError::Write { .. } => ErrorCode::DeviceFault,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Spool {
    /// Canonical (symlink-free, absolute) path of the folder.
    dir: PathBuf,
}

impl Spool {
    /// Opens the folder, creating it if needed.
    pub fn open(dir: &str) -> Result<Spool, SpoolError> {
        let folder = |source| SpoolError::Folder { dir: dir.to_string(), source };
        std::fs::create_dir_all(dir).map_err(folder)?;
        Ok(Spool { dir: std::fs::canonicalize(dir).map_err(folder)? })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file `path` names (absolute, or relative to the folder), checked to be a
    /// plain file name inside the folder.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, SpoolError> {
        let unusable = |why: &str| SpoolError::Unusable { path: path.to_string(), why: why.into() };
        let outside =
            || SpoolError::Outside { path: path.to_string(), dir: self.dir.display().to_string() };
        let p = Path::new(path);
        if path.is_empty() {
            return Err(unusable("empty file name"));
        }
        if p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(outside());
        }
        let p = if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) };
        let name = match p.components().next_back() {
            Some(Component::Normal(name)) => name.to_owned(),
            _ => return Err(unusable("it does not end in a file name")),
        };
        let parent = p.parent().ok_or_else(outside)?;
        let parent = std::fs::canonicalize(parent).map_err(|_| outside())?;
        if !parent.starts_with(&self.dir) {
            return Err(outside());
        }
        let file = parent.join(name);
        match std::fs::symlink_metadata(&file) {
            Ok(m) if m.file_type().is_symlink() => Err(outside()),
            Ok(m) if m.is_dir() => Err(unusable("it is a folder")),
            _ => Ok(file),
        }
    }

    /// Writes `pixels` as little-endian u16, row-major, and makes them durable before
    /// answering: the daemon moves the file on as soon as it hears back.
    pub fn write_u16(path: &Path, pixels: &[u16]) -> Result<(), SpoolError> {
        let fail = |source| SpoolError::Write { path: path.display().to_string(), source };
        let bytes: Vec<u8> = pixels.iter().flat_map(|p| p.to_le_bytes()).collect();
        let mut f = std::fs::File::create(path).map_err(fail)?;
        f.write_all(&bytes).map_err(fail)?;
        f.flush().map_err(fail)?;
        f.sync_all().map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_files_inside_and_refuses_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("spool");
        let spool = Spool::open(root.to_str().unwrap()).unwrap();
        let inside = spool.resolve(root.join("f1.raw").to_str().unwrap()).unwrap();
        assert_eq!(inside, spool.dir().join("f1.raw"));
        assert_eq!(spool.resolve("f2.raw").unwrap(), spool.dir().join("f2.raw"));
        std::fs::create_dir(root.join("sub")).unwrap();
        assert!(spool.resolve("sub/f3.raw").is_ok());

        let refused = |p: &str| spool.resolve(p).unwrap_err();
        assert!(matches!(refused("../escape.raw"), SpoolError::Outside { .. }));
        assert!(matches!(
            refused(&format!("{}/sub/../../x.raw", root.display())),
            SpoolError::Outside { .. }
        ));
        assert!(matches!(refused("/etc/passwd"), SpoolError::Outside { .. }));
        assert!(matches!(refused("missing/x.raw"), SpoolError::Outside { .. }));
        assert!(matches!(refused("sub"), SpoolError::Unusable { .. }));
        assert_eq!(refused("/tmp/x").code(), ErrorCode::InvalidValue);

        // Symlinks out of the folder, as the parent or as the file itself.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("link")).unwrap();
        assert!(matches!(refused("link/x.raw"), SpoolError::Outside { .. }));
        std::os::unix::fs::symlink(elsewhere.join("target"), root.join("trap.raw")).unwrap();
        assert!(matches!(refused("trap.raw"), SpoolError::Outside { .. }));
    }

    #[test]
    fn writes_little_endian_pixels() {
        let tmp = tempfile::tempdir().unwrap();
        let spool = Spool::open(tmp.path().to_str().unwrap()).unwrap();
        let path = spool.resolve("img.raw").unwrap();
        Spool::write_u16(&path, &[1, 0x0203, 65535]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [1, 0, 3, 2, 255, 255]);
    }
}
