//! The inbox: a folder other capture software (next to teld, on the same machine)
//! writes FITS frames into. Each finished file is checked, matched to the
//! observation it belongs to and enriched with teld's context, moved into the
//! archive and registered like teld's own frames; a bad file goes to quarantine with
//! a `.reason` file. Nothing that enters the inbox is ever deleted or lost: it leaves
//! only as an archived frame (after its row is committed) or into quarantine.
//!
//! inotify (the `notify` crate) wakes the task as soon as something changes; a scan
//! every `scan_interval_s` is the fallback where inotify is missing (network file
//! systems) or events are lost. Either way the whole folder is scanned, so one code
//! path decides — and files already there at start-up are found by the first scan.

mod check;
mod enrich;
mod header;
mod place;
#[doc(hidden)]
pub mod probe;
mod refusal;
mod settle;
mod take;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hifitime::{Duration, Epoch};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Config, SiteConfig};
use crate::core::Core;
use crate::store::Store;
pub(crate) use check::primary_data_span;
use settle::{Settler, Verdict};
use take::Taken;

/// Real seconds between looks at the clock while a file settles on a clock that is
/// stepped by hand (a manual test clock has no speed to convert by).
const MANUAL_CLOCK_POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// Shortest real wait between scans: a burst of inotify events costs one scan.
const MIN_WAIT: std::time::Duration = std::time::Duration::from_millis(20);
/// Endings of names that are work in progress (browsers, rsync, editors, capture
/// programs writing to a temporary name before renaming), never frames.
const TEMP_ENDINGS: [&str; 7] =
    [".tmp", ".part", ".partial", ".crdownload", ".filepart", ".swp", "~"];

/// A configured telescope and the names a header may call it by.
#[derive(Debug, Clone)]
pub struct KnownTelescope {
    pub name: String,
    /// Name, model and instrument as configured (TELESCOP/INSTRUME values).
    pub names: Vec<String>,
}

pub struct InboxContext {
    pub clock: Clock,
    pub store: Store,
    pub core: Core,
    pub archive_root: PathBuf,
    pub dir: PathBuf,
    pub quarantine: PathBuf,
    pub site: SiteConfig,
    pub telescopes: Vec<KnownTelescope>,
    /// Every frame of this inbox belongs to this telescope (`inbox.telescope`).
    pub telescope: Option<String>,
    pub settle: Duration,
    pub scan_interval: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot use the inbox folder {path}: {source}; create it or set inbox.dir (or inbox.enabled = false)"
)]
pub struct InboxError {
    path: String,
    source: std::io::Error,
}

impl InboxContext {
    /// From the configuration; creates the inbox and quarantine folders.
    pub fn new(
        config: &Config,
        clock: Clock,
        store: Store,
        core: Core,
        archive_root: &Path,
    ) -> Result<Self, InboxError> {
        let i = &config.inbox;
        let (dir, quarantine) = (i.dir(&config.paths), i.quarantine(&config.paths));
        for d in [&dir, &quarantine] {
            std::fs::create_dir_all(d)
                .map_err(|source| InboxError { path: d.display().to_string(), source })?;
        }
        let telescopes = config
            .telescopes
            .iter()
            .map(|t| KnownTelescope {
                name: t.name.clone(),
                names: [Some(&t.name), t.model.as_ref(), t.instrument.as_ref()]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect(),
            })
            .collect();
        Ok(InboxContext {
            clock,
            store,
            core,
            archive_root: archive_root.to_path_buf(),
            dir,
            quarantine,
            site: config.site.clone(),
            telescopes,
            telescope: i.telescope.clone(),
            settle: Duration::from_seconds(i.settle_s),
            scan_interval: std::time::Duration::from_secs_f64(i.scan_interval_s),
        })
    }
}

/// Watches and empties the inbox until `shutdown`. A file being taken when shutdown
/// comes is finished first (every step is crash-safe anyway).
pub async fn run_inbox(ctx: Arc<InboxContext>, shutdown: CancellationToken) {
    let (tx, mut rx) = mpsc::channel(1);
    // Kept alive for the task's lifetime: dropping the watcher stops inotify.
    let _watcher = watch(&ctx.dir, tx);
    tracing::info!(inbox = %ctx.dir.display(), quarantine = %ctx.quarantine.display(), "inbox watched");
    let mut state = ScanState { settler: Settler::new(ctx.settle), told_open: HashSet::new() };
    loop {
        crate::liveness::touch();
        let next = scan(&ctx, &mut state, &shutdown).await;
        let wait =
            next.map_or(ctx.scan_interval, |at| real_wait(&ctx.clock, at, ctx.scan_interval));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = rx.recv() => {}
            _ = tokio::time::sleep(wait.max(MIN_WAIT)) => {}
        }
    }
    tracing::info!("inbox stopped");
}

/// inotify on the folder (not its subfolders: quarantine lives there). `None` if
/// the kernel or file system cannot: the periodic scan then does the work.
fn watch(dir: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let handler = move |event: notify::Result<notify::Event>| {
        // Reads are not news: our own scan opens the folder and its files, and
        // reacting to that would scan forever. A writer closing a file is.
        use notify::EventKind::Access;
        use notify::event::{AccessKind, AccessMode};
        let news = match event {
            Ok(e) => !matches!(e.kind, Access(k) if k != AccessKind::Close(AccessMode::Write)),
            Err(_) => false,
        };
        if news {
            // A full channel already means "scan soon".
            let _ = tx.try_send(());
        }
    };
    let watcher = notify::recommended_watcher(handler)
        .and_then(|mut w| w.watch(dir, notify::RecursiveMode::NonRecursive).map(|()| w));
    match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(inbox = %dir.display(), error = %e, "no inotify on the inbox; relying on the periodic scan");
            None
        }
    }
}

/// Real time until the clock reaches `at`, at most `cap`.
fn real_wait(clock: &Clock, at: Epoch, cap: std::time::Duration) -> std::time::Duration {
    let speed = clock.speed();
    if speed <= 0.0 {
        return MANUAL_CLOCK_POLL.min(cap);
    }
    let s = ((at - clock.now()).to_seconds() / speed).max(0.0);
    std::time::Duration::from_secs_f64(s).min(cap)
}

struct ScanState {
    settler: Settler,
    /// Files we already said are open for writing (said once, not every scan).
    told_open: HashSet<PathBuf>,
}

/// One pass over the folder: takes every settled file. Returns when the next
/// settling file will be ready, if any.
async fn scan(
    ctx: &InboxContext,
    st: &mut ScanState,
    shutdown: &CancellationToken,
) -> Option<Epoch> {
    let files = match list(&ctx.dir) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(inbox = %ctx.dir.display(), error = %e, "cannot list the inbox; trying again");
            return None;
        }
    };
    let present: HashSet<PathBuf> = files.iter().map(|(p, ..)| p.clone()).collect();
    st.settler.retain(|p| present.contains(p));
    st.told_open.retain(|p| present.contains(p));
    let mut next: Option<Epoch> = None;
    let mut later = |at: Epoch| next = Some(next.map_or(at, |n: Epoch| n.min(at)));
    for (path, size, mtime_ns) in files {
        if shutdown.is_cancelled() {
            break;
        }
        let now = ctx.clock.now();
        if let Verdict::Settling { ready_at } = st.settler.observe(&path, size, mtime_ns, now) {
            later(ready_at);
            continue;
        }
        let p = path.clone();
        let open =
            tokio::task::spawn_blocking(move || settle::open_for_writing(&p)).await.ok().flatten();
        if open == Some(true) {
            if st.told_open.insert(path.clone()) {
                tracing::info!(file = %path.display(), "inbox file still open for writing; waiting until it is closed");
            }
            st.settler.restart(&path, now);
            later(now + ctx.settle);
            continue;
        }
        match take::take(ctx, &path).await {
            Ok(Taken::Archived { frame_id, path: archived }) => {
                tracing::info!(file = %path.display(), frame = frame_id, path = %archived, "inbox frame archived");
                st.settler.forget(&path);
            }
            Ok(Taken::AlreadyIn { frame_id }) => {
                tracing::info!(file = %path.display(), frame = frame_id, "inbox file was archived before the last stop; removed it from the inbox");
                st.settler.forget(&path);
            }
            Ok(Taken::Quarantined { to, reason }) => {
                tracing::warn!(file = %path.display(), quarantine = %to.display(), %reason, "inbox file quarantined");
                st.settler.forget(&path);
            }
            Ok(Taken::StillChanging) => {
                st.settler.restart(&path, now);
                later(now + ctx.settle);
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "inbox file not taken now; trying again after the settle time");
                st.settler.restart(&path, now);
                later(now + ctx.settle);
            }
        }
    }
    next
}

/// Regular files directly in `dir` that may be frames, with size and mtime, by name.
fn list(dir: &Path) -> std::io::Result<Vec<(PathBuf, u64, i64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        // Not following links: a symlink's target is someone else's file to keep.
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        if meta.is_file() {
            out.push((entry.path(), meta.len(), place::mtime_ns(&meta)));
        }
    }
    out.sort();
    Ok(out)
}

/// Hidden files and temporary names are someone's work in progress.
fn ignored(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.') || TEMP_ENDINGS.iter().any(|e| lower.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_and_hidden_names_are_left_alone() {
        for n in [".a.fits", "a.fits.tmp", "a.fits.part", "a.FITS.PART", "a.fits~", "x.crdownload"]
        {
            assert!(ignored(n), "{n}");
        }
        for n in ["a.fits", "a.fit", "notes.txt", "a.fits.gz"] {
            assert!(!ignored(n), "{n}");
        }
    }
}
