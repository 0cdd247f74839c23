//! When a file in the inbox is finished: its size and modification time have not
//! changed for the settle time (teld's clock), and — where the kernel can tell us —
//! no process holds it open for writing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hifitime::{Duration, Epoch};

/// What the inbox has seen of one file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    size: u64,
    mtime_ns: i64,
    /// When the file was first seen with this size and time.
    since: Epoch,
}

#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// Changed recently; look again later.
    Settling { ready_at: Epoch },
    /// Unchanged for the whole settle time.
    Settled,
}

#[derive(Debug)]
pub(super) struct Settler {
    settle: Duration,
    seen: HashMap<PathBuf, Seen>,
}

impl Settler {
    pub fn new(settle: Duration) -> Self {
        Settler { settle, seen: HashMap::new() }
    }

    /// Records the file's current size and time, seen at `now`.
    pub fn observe(&mut self, path: &Path, size: u64, mtime_ns: i64, now: Epoch) -> Verdict {
        let fresh = Seen { size, mtime_ns, since: now };
        let seen = self.seen.entry(path.to_path_buf()).or_insert(fresh);
        if seen.size != size || seen.mtime_ns != mtime_ns {
            *seen = fresh;
        }
        let ready_at = seen.since + self.settle;
        if now >= ready_at { Verdict::Settled } else { Verdict::Settling { ready_at } }
    }

    /// Starts the settle time again (the file was found still open for writing).
    pub fn restart(&mut self, path: &Path, now: Epoch) {
        if let Some(s) = self.seen.get_mut(path) {
            s.since = now;
        }
    }

    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }

    /// Drops what we remember of files no longer in the inbox.
    pub fn retain(&mut self, present: impl Fn(&Path) -> bool) {
        self.seen.retain(|p, _| present(p));
    }
}

/// Whether some process has `path` open for writing: `Some(true)`/`Some(false)` when
/// the kernel could tell, `None` when it cannot (the file is not ours, or the file
/// system has no leases, e.g. NFS) and the settle time alone decides.
///
/// A read lease (`F_SETLEASE`, fcntl(2)) is granted only while no one has the file
/// open for writing; we drop it at once, so a writer is never held up.
pub(super) fn open_for_writing(path: &Path) -> Option<bool> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).ok()?;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is a valid descriptor owned by `file`, open for the whole call;
    // F_SETLEASE takes an int argument and changes no memory of ours.
    let got = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if got == 0 {
        // SAFETY: as above; releasing the lease we just took.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return Some(false);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn t(s: f64) -> Epoch {
        Epoch::from_gregorian_utc_at_midnight(2026, 11, 24) + Duration::from_seconds(s)
    }

    #[test]
    fn a_file_settles_only_after_a_quiet_settle_time() {
        let mut s = Settler::new(Duration::from_seconds(5.0));
        let p = Path::new("/inbox/a.fits");
        assert_eq!(s.observe(p, 100, 1, t(0.0)), Verdict::Settling { ready_at: t(5.0) });
        assert_eq!(s.observe(p, 100, 1, t(4.9)), Verdict::Settling { ready_at: t(5.0) });
        // It grew: the wait starts again.
        assert_eq!(s.observe(p, 200, 2, t(4.95)), Verdict::Settling { ready_at: t(9.95) });
        // Only the time changed (rewritten in place, same size): again.
        assert_eq!(s.observe(p, 200, 3, t(9.0)), Verdict::Settling { ready_at: t(14.0) });
        assert_eq!(s.observe(p, 200, 3, t(14.0)), Verdict::Settled);
        s.restart(p, t(14.0));
        assert_eq!(s.observe(p, 200, 3, t(15.0)), Verdict::Settling { ready_at: t(19.0) });
        s.forget(p);
        assert_eq!(s.observe(p, 200, 3, t(15.0)), Verdict::Settling { ready_at: t(20.0) });
        s.retain(|_| false);
        assert!(s.seen.is_empty());
    }

    #[test]
    fn a_file_held_open_for_writing_is_seen_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fits");
        let mut w = std::fs::File::create(&p).unwrap();
        w.write_all(b"SIMPLE").unwrap();
        let held = open_for_writing(&p);
        drop(w);
        let released = open_for_writing(&p);
        // Leases need support from the file system; where there is none, both are None.
        if held.is_some() || released.is_some() {
            assert_eq!((held, released), (Some(true), Some(false)));
        }
    }
}
