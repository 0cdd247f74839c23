//! Moving files out of the inbox without ever losing one: into the archive (copy,
//! fsync, link under a name that is free, fsync the folder) or into quarantine (the
//! `.reason` first, then a link, then the inbox name goes).
//!
//! The inbox file itself is only removed by the caller once the frame's row is
//! committed; until then a crash leaves it where it was, and the next start takes it
//! again (see `super::take`).

use crate::ingest::durable::{fsync_dir, make_dirs};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

/// Same-named files we step over (`name-2.fits`, …) before assuming a loop.
const MAX_NUMBERED: u32 = 1000;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// teld's copy of an inbox file, in the archive's file system.
#[derive(Debug)]
pub(super) struct Copied {
    pub temp: PathBuf,
    /// The inbox file as copied: size and modification time (ns since 1970).
    pub source_bytes: u64,
    pub source_mtime_ns: i64,
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub(super) enum CopyError {
    #[error("it changed while being copied; it is still being written")]
    Changed,
    #[error("{0}")]
    Source(io::Error),
    #[error("{0}")]
    Archive(io::Error),
}

pub(super) fn mtime_ns(m: &fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Copies `src` to a hidden temporary name in `root` (swept at start-up if a crash
/// leaves it) and fsyncs it. Refuses if the source changed meanwhile.
pub(super) fn copy_in(src: &Path, root: &Path, archive_name: &str) -> Result<Copied, CopyError> {
    let mut from = File::open(src).map_err(CopyError::Source)?;
    let before = from.metadata().map_err(CopyError::Source)?;
    let temp = root.join(temp_name(archive_name));
    let mut copy = || -> Result<u64, CopyError> {
        let mut to = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(CopyError::Archive)?;
        let n = io::copy(&mut from, &mut to).map_err(|e| match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::PermissionDenied => CopyError::Archive(e),
            _ => CopyError::Source(e),
        })?;
        to.sync_all().map_err(CopyError::Archive)?;
        Ok(n)
    };
    let result = copy().and_then(|n| {
        let after = fs::metadata(src).map_err(CopyError::Source)?;
        let same = n == before.len()
            && after.len() == before.len()
            && mtime_ns(&after) == mtime_ns(&before);
        if same { Ok(()) } else { Err(CopyError::Changed) }
    });
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    Ok(Copied { temp, source_bytes: before.len(), source_mtime_ns: mtime_ns(&before) })
}

/// Gives `temp` (complete) its final name `root/dirs…/name`, or `name-2.fits`… if
/// taken. A name already holding exactly these bytes but registered to no frame is
/// taken over: that is our own earlier attempt that a crash cut off before the row
/// was written. Returns the final path and its path relative to `root`.
pub(super) fn place(
    temp: &Path,
    root: &Path,
    dirs: &[String],
    name: &str,
    registered: &HashSet<String>,
) -> io::Result<(PathBuf, String)> {
    File::open(temp)?.sync_all()?;
    let dir = make_dirs(root, dirs)?;
    for n in 1..=MAX_NUMBERED {
        let file = numbered(name, n);
        let candidate = dir.join(&file);
        let relative = [dirs, &[file]].concat().join("/");
        match fs::hard_link(temp, &candidate) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if registered.contains(&relative) || !same_content(temp, &candidate)? {
                    continue;
                }
                tracing::info!(path = %relative, "took over the unregistered archive file of an interrupted take");
            }
            Err(_) if candidate.try_exists()? => continue,
            // No hard links on this file system: rename, racy only against another
            // writer of the same name.
            Err(_) => fs::rename(temp, &candidate)?,
        }
        let _ = fs::remove_file(temp);
        fsync_dir(&dir)?;
        return Ok((candidate, relative));
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_NUMBERED} files named like {name} exist in {}", dir.display()),
    ))
}

/// Moves `src` into `qdir` under its own name (numbered if taken) with the reason
/// in `<name>.reason` next to it. The bytes are never changed. Returns the new path.
pub(super) fn quarantine(src: &Path, qdir: &Path, reason: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(qdir)?;
    let name = src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for n in 1..=MAX_NUMBERED {
        let target = qdir.join(numbered(&name, n));
        let reason_path = qdir.join(format!("{}.reason", numbered(&name, n)));
        if target.try_exists()? {
            continue;
        }
        // The reason first: a crash before the move leaves a reason without a file
        // (and the file still in the inbox), never a file nobody can explain.
        let mut r = match OpenOptions::new().write(true).create_new(true).open(&reason_path) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        r.write_all(reason.as_bytes())?;
        r.sync_all()?;
        match fs::hard_link(src, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_file(&reason_path);
                continue;
            }
            // Another file system: copy, make it durable, then let go of the source.
            Err(_) => {
                let mut to = OpenOptions::new().write(true).create_new(true).open(&target)?;
                io::copy(&mut File::open(src)?, &mut to)?;
                to.sync_all()?;
            }
        }
        fsync_dir(qdir)?;
        fs::remove_file(src)?;
        if let Some(parent) = src.parent() {
            fsync_dir(parent)?;
        }
        return Ok(target);
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_NUMBERED} files named {name} in quarantine"),
    ))
}

/// Removes the inbox file of a frame now safely archived and registered.
pub(super) fn release(src: &Path) -> io::Result<()> {
    fs::remove_file(src)?;
    if let Some(parent) = src.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Byte for byte, in pieces (frames can be large).
fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    use std::io::Read;
    if fs::metadata(a)?.len() != fs::metadata(b)?.len() {
        return Ok(false);
    }
    let (mut fa, mut fb) = (io::BufReader::new(File::open(a)?), io::BufReader::new(File::open(b)?));
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// `name.fits`, then `name-2.fits`, `name-3.fits`…
fn numbered(name: &str, n: u32) -> String {
    if n == 1 {
        return name.to_string();
    }
    match name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()) {
        Some((stem, ext)) => format!("{stem}-{n}.{ext}"),
        None => format!("{name}-{n}"),
    }
}

/// Hidden, `.fits.` inside and `.tmp` at the end: what the archive's start-up sweep
/// removes (see `Archive::sweep_temp`).
fn temp_name(archive_name: &str) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{archive_name}.{}-inbox{n}.tmp", std::process::id())
}

/// The archive name of an inbox file: letters, digits, `-`, `_` and `.` only (the
/// name is part of a path the FITS library parses), ending in `.fits`.
pub(super) fn archive_name(inbox_name: &str) -> String {
    let lower = inbox_name.to_ascii_lowercase();
    let stem = [".fits", ".fit", ".fts"]
        .iter()
        .find_map(|ext| lower.ends_with(ext).then(|| &inbox_name[..inbox_name.len() - ext.len()]))
        .unwrap_or(inbox_name);
    let clean: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let clean = clean.trim_start_matches('.');
    let clean = if clean.is_empty() { "frame" } else { clean };
    format!("{clean}.fits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(archive_name("M42 [R] 001.FIT"), "M42__R__001.fits");
        assert_eq!(archive_name("light_0001.fits"), "light_0001.fits");
        assert_eq!(archive_name("..x(1)!.fts"), "x_1__.fits");
        assert_eq!(archive_name("raw.dat"), "raw.dat.fits");
        assert_eq!(numbered("a.fits", 2), "a-2.fits");
        assert_eq!(numbered("noext", 3), "noext-3");
        let t = temp_name("a.fits");
        assert!(t.starts_with(".a.fits.") && t.ends_with(".tmp"), "{t}");
    }

    #[test]
    fn placing_never_overwrites_but_takes_over_an_unregistered_twin() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        fs::create_dir(&root).unwrap();
        let src = dir.path().join("in.fits");
        fs::write(&src, b"frame one").unwrap();
        let dirs = ["n".to_string(), "inbox".to_string()];
        let c = copy_in(&src, &root, "in.fits").unwrap();
        assert_eq!(c.source_bytes, 9);
        let (p1, r1) = place(&c.temp, &root, &dirs, "in.fits", &HashSet::new()).unwrap();
        assert_eq!(r1, "n/inbox/in.fits");
        assert!(!c.temp.exists());
        // Same bytes again, first not registered (a crash before the row): taken over.
        let c = copy_in(&src, &root, "in.fits").unwrap();
        let (p2, _) = place(&c.temp, &root, &dirs, "in.fits", &HashSet::new()).unwrap();
        assert_eq!(p1, p2);
        // Registered: a new name.
        let c = copy_in(&src, &root, "in.fits").unwrap();
        let (_, r3) =
            place(&c.temp, &root, &dirs, "in.fits", &HashSet::from([r1.clone()])).unwrap();
        assert_eq!(r3, "n/inbox/in-2.fits");
        // Other bytes under the same name: a new name, the first untouched.
        fs::write(&src, b"frame two").unwrap();
        let c = copy_in(&src, &root, "in.fits").unwrap();
        let (_, r4) = place(&c.temp, &root, &dirs, "in.fits", &HashSet::new()).unwrap();
        assert_eq!(r4, "n/inbox/in-3.fits");
        assert_eq!(fs::read(&p1).unwrap(), b"frame one");
    }

    #[test]
    fn quarantine_keeps_bytes_and_explains() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("quarantine");
        for round in 1..=2 {
            let src = dir.path().join("bad.fits");
            fs::write(&src, b"not fits").unwrap();
            let moved = quarantine(&src, &q, &format!("reason {round}")).unwrap();
            assert!(!src.exists());
            assert_eq!(fs::read(&moved).unwrap(), b"not fits");
            let reason = fs::read_to_string(format!("{}.reason", moved.display())).unwrap();
            assert_eq!(reason, format!("reason {round}"));
        }
        assert!(q.join("bad-2.fits").exists() && q.join("bad-2.fits.reason").exists());
    }
}
