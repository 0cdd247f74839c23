//! Folder operations that survive a crash: an entry made in a folder is durable only
//! once the folder itself is fsynced. Shared by the archive writer and the inbox.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `root/a/b/c` as needed, fsyncing each parent that gained an entry, so the
/// folder of a frame survives a crash as surely as the frame.
pub(crate) fn make_dirs(root: &Path, dirs: &[String]) -> io::Result<PathBuf> {
    let mut path = root.to_path_buf();
    for d in dirs {
        let parent = path.clone();
        path.push(d);
        match fs::create_dir(&path) {
            Ok(()) => fsync_dir(&parent)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(path)
}
