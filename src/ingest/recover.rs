//! Start-up recovery after a crash: brings the archive, the spool and the store's
//! `frames` table back to one consistent picture before anything new is written.
//!
//! A frame is written to a temporary name, fsynced, linked to its final name, the
//! spool file removed, and only then registered (see `archive.rs`). So a crash
//! (`kill -9`, power cut) can leave, depending on the instant:
//! - a temporary file: never a frame — removed ([`Archive::sweep_temp`]);
//! - a complete frame under its final name without a row (crash between the link and
//!   the insert): **adopted** — registered from its own header (REQID, OBSID,
//!   FRAMESEQ, DATE-OBS, EXPTIME) once its CHECKSUM and DATASUM verify and the
//!   observation it names exists for that request and telescope. Adopting loses
//!   nothing and keeps the request's frame count right, so the resumed block goes on
//!   with the next sequence number instead of taking this one a second time. A file
//!   that cannot be adopted (checksum wrong, ids unknown) is moved, never deleted, to
//!   `<archive>/unregistered/<same path>` with a `.reason` file next to it;
//! - a spool file: removed if its frame (same observation and sequence number) is
//!   registered — the pixels are safe in the archive — otherwise moved to
//!   `<spool>/unfinished/`: its metadata died with the process, the frame is taken
//!   again, and the raw pixels are kept for whoever wants them, out of the spool so a
//!   later frame can never reuse the name.
//!
//! The reverse — a row whose file is missing — cannot happen: the row is written only
//! after the file and its folder are durable.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use fitsio::FitsFile;
use hifitime::Epoch;

use super::{Archive, IngestError};
use crate::store::{NewFrame, Store, StoreError};

/// Where frames that cannot be registered go, under the archive root.
pub const UNREGISTERED_DIR: &str = "unregistered";
/// Where raw spool files without a frame go, under the spool folder.
pub const UNFINISHED_DIR: &str = "unfinished";

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    Archive(#[from] IngestError),
    #[error("start-up recovery cannot read the store's frames: {0}")]
    Store(#[from] StoreError),
    #[error(
        "start-up recovery cannot read {path}: {source}; check that the folder exists and is readable by teld"
    )]
    Io { path: String, source: io::Error },
}

/// What recovery did, for the log (and tests).
#[derive(Debug, Default)]
pub struct Recovery {
    /// Temporary files of interrupted writes, removed.
    pub temp_removed: Vec<PathBuf>,
    /// Frames found without a row and registered (paths relative to the archive).
    pub adopted: Vec<String>,
    /// Frames found without a row that could not be registered: (new path, reason).
    pub set_aside: Vec<(PathBuf, String)>,
    /// Spool files whose frame is registered, removed.
    pub spool_removed: Vec<PathBuf>,
    /// Spool files without a registered frame, moved to `unfinished/`.
    pub spool_unfinished: Vec<PathBuf>,
    /// Things recovery could not fix; nothing was deleted for them.
    pub problems: Vec<String>,
}

/// Runs recovery; call at start-up after the store is open and before any driver or
/// executor runs (it would otherwise see writes in progress as crash leftovers).
/// Fails only when the archive cannot be read at all; each file's trouble is a
/// [`Recovery::problems`] entry and the file stays where it is.
pub async fn recover(
    archive: &Archive,
    store: &Store,
    now: Epoch,
) -> Result<Recovery, RecoverError> {
    let mut rec = Recovery { temp_removed: archive.sweep_temp()?, ..Default::default() };
    let root = archive.root().to_path_buf();

    let registered = store.frame_paths().await?;
    let walk_root = root.clone();
    let orphans = blocking(move || unregistered_frames(&walk_root, &registered))
        .await
        .map_err(|e| with_path(e, &root))?;
    for relative in orphans {
        adopt_or_set_aside(&root, store, &relative, now, &mut rec).await;
    }

    let spool = archive.spool_dir().to_path_buf();
    let spooled = blocking({
        let spool = spool.clone();
        move || {
            let mut files = Vec::new();
            for entry in fs::read_dir(&spool)? {
                let entry = entry?;
                if entry.file_type()?.is_file() {
                    files.push(entry.path());
                }
            }
            files.sort();
            Ok(files)
        }
    })
    .await
    .map_err(|e| with_path(e, &spool))?;
    for file in spooled {
        settle_spool_file(&root, &spool, store, &file, &mut rec).await;
    }
    Ok(rec)
}

/// Relative paths of files laid out as frames (`<night>/<telescope>/r<request>/x.fits`)
/// that have no row. Only names are read: no file is opened or stat'ed here.
fn unregistered_frames(root: &Path, registered: &HashSet<String>) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for night in subdirs(root)?.into_iter().filter(|n| is_night(n)) {
        for tel in subdirs(&root.join(&night))? {
            for req in subdirs(&root.join(&night).join(&tel))?.into_iter().filter(|r| is_request(r))
            {
                let dir = root.join(&night).join(&tel).join(&req);
                for entry in fs::read_dir(&dir)? {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !entry.file_type()?.is_file()
                        || name.starts_with('.')
                        || !name.ends_with(".fits")
                    {
                        continue;
                    }
                    let relative = format!("{night}/{tel}/{req}/{name}");
                    if !registered.contains(&relative) {
                        out.push(relative);
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn adopt_or_set_aside(
    root: &Path,
    store: &Store,
    relative: &str,
    now: Epoch,
    rec: &mut Recovery,
) {
    let path = root.join(relative);
    let parts: Vec<&str> = relative.split('/').collect();
    let (tel, req_dir) = (parts[1].to_string(), parts[2]);
    // A frame the inbox placed but had not registered is the inbox's to finish: its
    // original is still in the inbox, and the inbox takes its own placed copy over.
    let from_inbox = blocking({
        let path = path.clone();
        move || Ok(has_key(&path, "ORIGFILE"))
    })
    .await
    .unwrap_or(false);
    if from_inbox {
        return;
    }
    let header = blocking({
        let path = path.clone();
        move || Ok(read_header(&path))
    })
    .await;
    let verdict = match header {
        Err(e) => Err(format!("cannot be read: {e}")),
        Ok(Err(reason)) => Err(reason),
        Ok(Ok(h)) => match store.observation_owner(h.observation_id).await {
            Err(e) => {
                // The store is unwell: leave the file for the next start.
                rec.problems.push(format!("{relative}: cannot look up its observation: {e}"));
                return;
            }
            Ok(owner) => check_owner(&h, owner, &tel, req_dir).map(|()| h),
        },
    };
    match verdict {
        Ok(h) => {
            let new = NewFrame {
                request_id: h.request_id,
                observation_id: h.observation_id,
                telescope: &tel,
                path: relative,
                date_obs: h.date_obs,
                exptime_s: h.exptime_s,
                bytes: h.bytes,
            };
            match store.insert_frame(&new, now).await {
                Ok(_) => rec.adopted.push(relative.to_string()),
                Err(e) => rec.problems.push(format!("{relative}: cannot be registered: {e}")),
            }
        }
        Err(reason) => {
            let moved = blocking({
                let (root, relative, reason) =
                    (root.to_path_buf(), relative.to_string(), reason.clone());
                move || set_aside(&root, &relative, &reason)
            })
            .await;
            match moved {
                Ok(to) => rec.set_aside.push((to, reason)),
                Err(e) => rec.problems.push(format!(
                    "{relative} has no row and cannot be registered ({reason}), and moving it to {UNREGISTERED_DIR}/ failed: {e}"
                )),
            }
        }
    }
}

/// The ids in the header must name an observation of that request on that telescope,
/// and agree with the folder the file is in.
fn check_owner(
    h: &FrameHeader,
    owner: Option<(i64, String)>,
    tel: &str,
    req_dir: &str,
) -> Result<(), String> {
    let (req, obs) = (h.request_id, h.observation_id);
    match owner {
        None => Err(format!("its observation {obs} (OBSID) is not in the store")),
        Some((r, _)) if r != req => {
            Err(format!("OBSID {obs} belongs to request {r}, the header says REQID {req}"))
        }
        Some((_, t)) if t != tel => {
            Err(format!("OBSID {obs} was taken by telescope {t}, the file is in folder {tel}"))
        }
        Some(_) if req_dir != format!("r{req}") => {
            Err(format!("REQID {req} does not match its folder {req_dir}"))
        }
        Some(_) => Ok(()),
    }
}

/// A spool file `<telescope>-o<observation>-<seq>.raw`: removed if that frame is
/// registered, else moved to `unfinished/`. Files of other names are left alone.
async fn settle_spool_file(
    root: &Path,
    spool: &Path,
    store: &Store,
    file: &Path,
    rec: &mut Recovery,
) {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some((obs, seq)) = parse_spool_name(&name) else {
        rec.problems
            .push(format!("{} is not a spool file teld names; left in place", file.display()));
        return;
    };
    let paths = match store.frame_paths_of_observation(obs).await {
        Ok(p) => p,
        Err(e) => {
            rec.problems.push(format!("{}: cannot look up its frames: {e}", file.display()));
            return;
        }
    };
    let archived = blocking({
        let paths: Vec<PathBuf> = paths.iter().map(|p| root.join(p)).collect();
        move || Ok(paths.iter().any(|p| read_header(p).is_ok_and(|h| h.seq == seq)))
    })
    .await
    .unwrap_or(false);
    let file = file.to_path_buf();
    let result = if archived {
        fs::remove_file(&file).map(|()| rec.spool_removed.push(file.clone()))
    } else {
        let dest_dir = spool.join(UNFINISHED_DIR);
        fs::create_dir_all(&dest_dir)
            .and_then(|()| free_name(&dest_dir.join(&name)))
            .and_then(|to| fs::rename(&file, &to).map(|()| to))
            .map(|to| rec.spool_unfinished.push(to))
    };
    if let Err(e) = result {
        rec.problems.push(format!("{}: {e}; left in place", file.display()));
    }
}

/// `t1-o12-0004.raw` → (12, 4), as `Archive::spool_path` names them.
fn parse_spool_name(name: &str) -> Option<(i64, u32)> {
    let stem = name.strip_suffix(".raw")?;
    let (head, seq) = stem.rsplit_once('-')?;
    let (_tel, obs) = head.rsplit_once("-o")?;
    Some((obs.parse().ok()?, seq.parse().ok()?))
}

/// What a frame's own header says about it.
#[derive(Debug)]
struct FrameHeader {
    request_id: i64,
    observation_id: i64,
    seq: u32,
    date_obs: Epoch,
    exptime_s: f64,
    bytes: u64,
}

/// Opens a frame with cfitsio (independent of teld's writer), verifies CHECKSUM and
/// DATASUM and reads the ids. Errors say why the file cannot be adopted.
fn read_header(path: &Path) -> Result<FrameHeader, String> {
    let bytes = fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?.len();
    let mut f = FitsFile::open(path).map_err(|e| format!("is not a readable FITS file: {e}"))?;
    verify_checksums(&mut f)?;
    let hdu = f.primary_hdu().map_err(|e| format!("has no primary HDU: {e}"))?;
    let mut int = |key: &str| {
        hdu.read_key::<i64>(&mut f, key).map_err(|e| format!("has no usable {key} card: {e}"))
    };
    let (request_id, observation_id, seq) = (int("REQID")?, int("OBSID")?, int("FRAMESEQ")?);
    let date_obs = hdu
        .read_key::<String>(&mut f, "DATE-OBS")
        .map_err(|e| format!("has no DATE-OBS card: {e}"))
        .and_then(|s| {
            teld_driver_protocol::time::parse_utc(&s).map_err(|e| format!("DATE-OBS {s:?}: {e}"))
        })?;
    let exptime_s =
        hdu.read_key::<f64>(&mut f, "EXPTIME").map_err(|e| format!("has no EXPTIME card: {e}"))?;
    let seq = u32::try_from(seq).map_err(|_| format!("FRAMESEQ {seq} is out of range"))?;
    Ok(FrameHeader { request_id, observation_id, seq, date_obs, exptime_s, bytes })
}

/// Whether the primary header has `key` (false when the file cannot be read).
fn has_key(path: &Path, key: &str) -> bool {
    let Ok(mut f) = FitsFile::open(path) else { return false };
    let Ok(hdu) = f.primary_hdu() else { return false };
    hdu.read_key::<String>(&mut f, key).is_ok()
}

/// cfitsio's own check of the current HDU's CHECKSUM and DATASUM cards.
fn verify_checksums(f: &mut FitsFile) -> Result<(), String> {
    let (mut data, mut hdu, mut status) = (0, 0, 0);
    // SAFETY: `as_raw` gives the live `fitsfile*` owned by `f`, borrowed mutably for
    // the duration of the call; cfitsio only reads through it and writes the three ints.
    unsafe {
        fitsio::sys::ffvcks(f.as_raw(), &mut data, &mut hdu, &mut status);
    }
    let word = |v| match v {
        1 => "correct",
        0 => "missing",
        _ => "wrong",
    };
    match (status, data, hdu) {
        (0, 1, 1) => Ok(()),
        (0, d, h) => Err(format!("DATASUM is {} and CHECKSUM is {}", word(d), word(h))),
        (s, _, _) => Err(format!("cfitsio cannot check its checksums (status {s}): truncated?")),
    }
}

/// Moves `<root>/<relative>` to `<root>/unregistered/<relative>` and writes the reason
/// next to it. Returns the new path.
fn set_aside(root: &Path, relative: &str, reason: &str) -> io::Result<PathBuf> {
    let from = root.join(relative);
    let to = free_name(&root.join(UNREGISTERED_DIR).join(relative))?;
    let dir = to.parent().ok_or_else(|| io::Error::other("no parent folder"))?;
    fs::create_dir_all(dir)?;
    let mut why = to.clone().into_os_string();
    why.push(".reason");
    fs::write(&why, format!("{reason}\nfound without a store row at start-up; was {relative}\n"))?;
    fs::rename(&from, &to)?;
    fs::File::open(dir).and_then(|d| d.sync_all())?;
    Ok(to)
}

/// `path` if free, else `path.2`, `path.3`, …: recovery never overwrites a file.
fn free_name(path: &Path) -> io::Result<PathBuf> {
    if !path.try_exists()? {
        return Ok(path.to_path_buf());
    }
    for n in 2..10_000 {
        let mut p = path.to_path_buf().into_os_string();
        p.push(format!(".{n}"));
        let p = PathBuf::from(p);
        if !p.try_exists()? {
            return Ok(p);
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "too many files of that name"))
}

fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

/// `2026-11-24`: a night folder (not `unregistered/` or anything a person made).
fn is_night(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10
        && b.iter()
            .enumerate()
            .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

fn is_request(name: &str) -> bool {
    name.strip_prefix('r').is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(io::Error::other)?
}

fn with_path(source: io::Error, path: &Path) -> RecoverError {
    RecoverError::Io { path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests;
