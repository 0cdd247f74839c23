//! teld killed with `kill -9` again and again while it writes frames, on one state
//! folder: the archive and the store stay consistent through every crash and every
//! restart's recovery (issue 6: "a crash at any instant leaves no partial file under a
//! final name and no row pointing at a missing file").
//!
//! Each round starts the real daemon (with the simulator driver) on the same state
//! folder, lets frames flow (1 s exposures at 60× speed) and kills it at a random
//! instant — mostly right when a frame's temporary file appears, or a few
//! milliseconds later, to land inside the write, the fsync, the link or the insert.
//! With teld dead the test checks the invariants and notes what the crash left
//! (temporary files, frames without rows, spool files); after the restart it checks
//! that recovery dealt with exactly those. At the end every file under a final name
//! has exactly one row, every row its file, every file verifies, and the request's
//! frame numbers are 1..N with none missing or taken twice.
//!
//! `TELD_CRASH_KILLS` (default 100) and `TELD_CRASH_SEED` (default: from the clock,
//! printed) reproduce a run.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::{Teld, TestSite};
use common::peers::{fitsverify, python_with_astropy, require};
use fitsio::FitsFile;
use teld::store::Store;
use teld_driver_protocol::time::{format_utc, parse_utc};

const SPEED: f64 = 60.0;

#[test]
fn kill_9_during_writes_never_leaves_the_archive_and_store_inconsistent() {
    let kills: usize = env_or("TELD_CRASH_KILLS", 100);
    let seed: u64 = env_or(
        "TELD_CRASH_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64,
    );
    eprintln!("crash test: {kills} kills, seed {seed} (TELD_CRASH_SEED={seed} repeats it)");
    let mut rng = SplitMix(seed);
    let camera = "[drivers.settings.camera]\nplate_scale_arcsec = 1.5";
    // A short readout, a fast dome and mount and a short settle keep frames coming
    // back to back and each restart's simulated time short, so a hundred restarts
    // fit in the night.
    let fast = "[drivers.settings.dome]\nshutter_time_s = 5.0\n[drivers.settings.mount]\nslew_rate_deg_s = 10.0\n";
    let site = TestSite::new(
        "crash",
        &[(camera, &format!("{camera}\nreadout_s = 0.5")), ("settle_s = 5.0", "settle_s = 1.0")],
        fast,
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = format!("sqlite://{}", site.state_dir().join("teld.db").display());

    let t0 = Instant::now();
    let mut from = parse_utc("2026-11-24T19:30:00").unwrap();
    let mut teld = Teld::start(&site, &format_utc(from), SPEED);
    // Transits after midnight: above 30° from the start until about 03:30 UTC, so a
    // slow machine's hundred restarts (each moving the clock on) still find it up.
    let requests = [(30.0, 30.0, 80)].map(|(ra, dec, priority)| {
        teld.submit(&format!(
            r#"{{"name": "crash", "target": {{"name": "crash", "ra_deg": {ra}, "dec_deg": {dec}}},
                "exposure_s": 1.0, "count": 1000, "priority": {priority}}}"#
        ))
    });
    let mut verified = Verified::default();
    let mut stats = Stats::default();
    let mut writes = Writes::default();
    let mut start_s = 0.0;
    for round in 0..kills {
        let run_start = Instant::now();
        let driver =
            teld.wait_for("the simulator driver", Duration::from_secs(30), |t| t.driver_pid("sim"));
        // Where the kill lands (the first, second or third frame of this run):
        // right when its temporary file appears; a random instant within 1.5 times
        // a write's time (write, read back, fsync, link, insert); right when the
        // temporary file is gone (linked, not yet registered); or any time while
        // the request is observed.
        let nth = 1 + rng.below(3) as usize;
        match rng.below(20) {
            0..=5 => {
                wait_for_temp_files(&site.archive(), nth, &teld, &mut writes);
            }
            6..=11 => {
                wait_for_temp_files(&site.archive(), nth, &teld, &mut writes);
                // Not a wait for an outcome: it picks the instant of the crash.
                std::thread::sleep(Duration::from_millis(rng.below(1 + writes.mean_ms() * 3 / 2)));
            }
            12..=16 => {
                let temp = wait_for_temp_files(&site.archive(), nth, &teld, &mut writes);
                wait_for_gone(&temp, &teld);
            }
            _ => {
                teld.wait_for("a request observed", Duration::from_secs(120), |t| {
                    requests.iter().any(|r| t.request_state(*r) == "observing").then_some(())
                });
                std::thread::sleep(Duration::from_millis(rng.below(3000)));
            }
        }
        teld.kill9();
        wait_gone(driver);
        // The next start is later on the same night, as after a real crash.
        from += hifitime::Duration::from_seconds(run_start.elapsed().as_secs_f64() * SPEED + 30.0);

        let left = rt.block_on(check_while_dead(&site, &db, &mut verified));
        stats.count(&left);

        let t = Instant::now();
        teld = Teld::start(&site, &format_utc(from), SPEED);
        start_s += t.elapsed().as_secs_f64();
        rt.block_on(check_recovery(&teld, &db, &left));
        if round % 10 == 9 {
            let s = t0.elapsed().as_secs_f64();
            eprintln!(
                "  {} kills, {s:.0} s (starting teld {start_s:.0} s, a write {} ms): {stats}",
                round + 1,
                writes.mean_ms()
            );
        }
    }

    // A clean stop after the last restart, then everything must add up exactly.
    teld.wait_log("frame stored", Duration::from_secs(120));
    assert!(teld.terminate().success(), "teld did not stop cleanly");
    let frames = rt.block_on(check_final(&site, &db, &requests, &mut verified));
    eprintln!(
        "crash test done in {:.0} s: {kills} kills; {stats}; frames in the archive per request {frames:?}, each registered once, numbered 1..N; simulated clock reached {}",
        t0.elapsed().as_secs_f64(),
        format_utc(from)
    );
    let frames: usize = frames.iter().sum();
    assert!(frames >= kills / 2, "frames should accumulate across restarts: {frames}");
    assert!(stats.mid_write > kills / 4, "too few kills landed inside a write: {stats}");
    external_tools_accept(&site.archive(), &verified, &mut rng);
}

/// What a crash left behind, seen with teld dead.
#[derive(Debug, Default)]
struct Leftovers {
    temp: Vec<PathBuf>,
    /// Complete frames under their final name without a row (relative paths).
    orphans: Vec<String>,
    spool: Vec<PathBuf>,
}

#[derive(Debug, Default)]
struct Stats {
    kills: usize,
    /// A temporary file or a frame without its row: the kill landed in
    /// `store_frame` or between it and the insert.
    mid_write: usize,
    temp: usize,
    orphans: usize,
    spool: usize,
}

impl Stats {
    fn count(&mut self, l: &Leftovers) {
        self.kills += 1;
        self.mid_write += usize::from(!l.temp.is_empty() || !l.orphans.is_empty());
        self.temp += l.temp.len();
        self.orphans += l.orphans.len();
        self.spool += l.spool.len();
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} mid-write (temporary files left {}, frames without row {}), spool files left {}",
            self.mid_write, self.temp, self.orphans, self.spool
        )
    }
}

/// Invariants that hold at any instant, checked with teld dead: every row's file
/// exists with the recorded size, and every file under a final name is complete.
async fn check_while_dead(site: &TestSite, db: &str, verified: &mut Verified) -> Leftovers {
    let store = Store::open(db).await.unwrap();
    let rows = rows(&store).await;
    store.close().await;
    let archive = site.archive();
    for (path, bytes) in &rows {
        let len = fs::metadata(archive.join(path)).map(|m| m.len());
        assert_eq!(len.ok(), Some(*bytes), "row {path}: file missing or of another size");
    }
    let mut orphans = Vec::new();
    for relative in final_files(&archive) {
        verified.check(&archive.join(&relative));
        if !rows.contains_key(&relative) {
            orphans.push(relative);
        }
    }
    let spool = fs::read_dir(site.state_dir().join("spool"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.path())
        .collect();
    Leftovers { temp: temp_files(&archive), orphans, spool }
}

/// Recovery (done before teld listens) dealt with exactly what the crash left.
async fn check_recovery(teld: &Teld, db: &str, left: &Leftovers) {
    let log = teld.log_text();
    let line = log.lines().find(|l| l.contains("archive recovery done")).expect("recovery logged");
    let n = |key: &str| -> usize {
        let v = line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{key}=")));
        v.unwrap_or_else(|| panic!("{key} in {line}")).parse().unwrap()
    };
    assert_eq!(n("temp_removed"), left.temp.len(), "{line}\n{left:?}");
    assert_eq!(n("adopted"), left.orphans.len(), "{line}\n{left:?}");
    assert_eq!((n("set_aside"), n("problems")), (0, 0), "{line}");
    assert_eq!(n("spool_removed") + n("spool_unfinished"), left.spool.len(), "{line}\n{left:?}");
    assert!(left.temp.iter().all(|p| !p.exists()), "temporary files survived: {left:?}");
    assert!(left.spool.iter().all(|p| !p.exists()), "spool files not settled: {left:?}");
    let store = Store::open(db).await.unwrap();
    let rows = rows(&store).await;
    store.close().await;
    for o in &left.orphans {
        assert!(rows.contains_key(o), "frame {o} was not adopted");
    }
}

/// After a clean stop: files and rows match one to one, all verify, and the frames of
/// each request are numbered 1..N, none twice (an orphan not adopted would have been
/// taken again under the same number). Returns each N.
async fn check_final(
    site: &TestSite,
    db: &str,
    requests: &[i64],
    verified: &mut Verified,
) -> Vec<usize> {
    let archive = site.archive();
    assert!(temp_files(&archive).is_empty(), "temporary files after a clean stop");
    let store = Store::open(db).await.unwrap();
    let rows = rows(&store).await;
    let mut of_requests = Vec::new();
    for r in requests {
        of_requests.push((*r, store.frames_for(*r).await.unwrap()));
    }
    store.close().await;
    let files = final_files(&archive);
    let registered: Vec<String> = rows.keys().cloned().collect();
    assert_eq!(files, registered, "files under final names and rows differ");
    let mut counts = Vec::new();
    for (request, frames) in of_requests {
        let mut seqs = Vec::new();
        for f in &frames {
            let h = verified.check(&archive.join(&f.path));
            assert_eq!((h.request, Some(h.observation)), (request, f.observation_id), "{}", f.path);
            seqs.push(h.seq);
        }
        seqs.sort_unstable();
        let want: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, want, "request {request}: frame numbers missing or taken twice");
        counts.push(seqs.len());
    }
    assert_eq!(counts.iter().sum::<usize>(), rows.len(), "frames of other requests");
    assert!(
        fs::read_dir(site.state_dir().join("spool")).unwrap().all(|e| e
            .unwrap()
            .file_type()
            .unwrap()
            .is_dir()),
        "spool files left after a clean stop"
    );
    counts
}

/// fitsverify and astropy (checksums, `verify('exception')`) on a sample of frames.
fn external_tools_accept(archive: &Path, verified: &Verified, rng: &mut SplitMix) {
    let all: Vec<&PathBuf> = verified.seen.keys().filter(|p| p.exists()).collect();
    let sample: Vec<&PathBuf> = (0..6).map(|_| all[rng.below(all.len() as u64) as usize]).collect();
    if let Some(fv) = require(fitsverify(), "fitsverify", "fitsverify on crash-test frames") {
        for p in &sample {
            let out = Command::new(&fv).arg("-q").arg("-e").arg(p).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("verification OK"), "fitsverify {}: {text}", p.display());
        }
    }
    if let Some(py) = require(python_with_astropy(), "astropy", "astropy on crash-test frames") {
        let script = r#"
import sys, warnings
from astropy.io import fits
warnings.simplefilter("error")
for path in sys.argv[1:]:
    with fits.open(path, checksum=True) as hdul:
        hdul.verify("exception")
        assert hdul[0].verify_checksum() == 1 and hdul[0].verify_datasum() == 1, path
print("astropy OK")
"#;
        let out = Command::new(py).arg("-c").arg(script).args(&sample).output().unwrap();
        assert!(
            out.status.success(),
            "astropy on {archive:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!("fitsverify/astropy accepted {} sampled frames", sample.len());
}

/// Registered frames: relative path → recorded size.
async fn rows(store: &Store) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for path in store.frame_paths().await.unwrap() {
        out.insert(path, 0);
    }
    // Sizes from the per-request listing (the one the API serves).
    let ids: Vec<i64> = out
        .keys()
        .filter_map(|p| p.split('/').nth(2)?.strip_prefix('r')?.parse().ok())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for id in ids {
        for f in store.frames_for(id).await.unwrap() {
            out.insert(f.path, f.bytes);
        }
    }
    out
}

/// Frames' header facts, each file verified once (files under a final name never
/// change: a changed size would be a bug and is checked again).
#[derive(Default)]
struct Verified {
    seen: HashMap<PathBuf, (u64, Header)>,
}

#[derive(Debug, Clone, Copy)]
struct Header {
    request: i64,
    observation: i64,
    seq: i64,
}

impl Verified {
    fn check(&mut self, path: &Path) -> Header {
        let len = fs::metadata(path).unwrap().len();
        if let Some((l, h)) = self.seen.get(path) {
            assert_eq!(*l, len, "{} changed size after it got its final name", path.display());
            return *h;
        }
        let h = verify_frame(path);
        self.seen.insert(path.to_path_buf(), (len, h));
        h
    }
}

/// cfitsio opens it and its CHECKSUM and DATASUM are both correct.
fn verify_frame(path: &Path) -> Header {
    let shown = path.display();
    let mut f = FitsFile::open(path).unwrap_or_else(|e| panic!("{shown} does not open: {e}"));
    let (mut data, mut hdu, mut status) = (0, 0, 0);
    // SAFETY: the live fitsfile of `f`; cfitsio writes only the three ints.
    unsafe { fitsio::sys::ffvcks(f.as_raw(), &mut data, &mut hdu, &mut status) };
    assert_eq!((status, data, hdu), (0, 1, 1), "{shown}: checksums (1 = correct)");
    let primary = f.primary_hdu().unwrap();
    let mut key = |k: &str| primary.read_key::<i64>(&mut f, k).unwrap();
    Header { request: key("REQID"), observation: key("OBSID"), seq: key("FRAMESEQ") }
}

/// Files under a final name (`<night>/<telescope>/r<request>/*.fits`), relative, sorted.
fn final_files(archive: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (dir, rel) in request_dirs(archive) {
        for e in fs::read_dir(&dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && name.ends_with(".fits") {
                out.push(format!("{rel}/{name}"));
            }
        }
    }
    out.sort();
    out
}

fn temp_files(archive: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (dir, _) in request_dirs(archive) {
        // A folder can vanish under a running teld only if recovery moved it: ignore.
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for e in entries.map_while(Result::ok) {
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// `(<archive>/<night>/<tel>/r<req>, "<night>/<tel>/r<req>")` for every night folder.
fn request_dirs(archive: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let subdirs = |d: &Path| -> Vec<String> {
        fs::read_dir(d)
            .map(|it| {
                it.map_while(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for night in subdirs(archive).into_iter().filter(|n| n.starts_with("20")) {
        for tel in subdirs(&archive.join(&night)) {
            for req in subdirs(&archive.join(&night).join(&tel)) {
                let rel = format!("{night}/{tel}/{req}");
                out.push((archive.join(&rel), rel));
            }
        }
    }
    out
}

/// How long temporary files were seen to live (write, read back, fsync).
#[derive(Default)]
struct Writes {
    total_ms: u64,
    count: u64,
}

impl Writes {
    fn mean_ms(&self) -> u64 {
        self.total_ms.checked_div(self.count).unwrap_or(50)
    }
}

/// Polls (every millisecond, to catch short writes) until this run of teld has had
/// `nth` temporary files appear; returns the last. Learns how long one lives.
fn wait_for_temp_files(archive: &Path, nth: usize, teld: &Teld, writes: &mut Writes) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen: HashMap<PathBuf, (Instant, bool)> = HashMap::new();
    let pid = format!(".{}-", teld.pid());
    loop {
        let now = temp_files(archive);
        for (t, (since, gone)) in seen.iter_mut() {
            if !*gone && !now.contains(t) {
                *gone = true;
                writes.total_ms += since.elapsed().as_millis() as u64;
                writes.count += 1;
            }
        }
        for t in now {
            if t.to_string_lossy().contains(&pid) && !seen.contains_key(&t) {
                seen.insert(t.clone(), (Instant::now(), false));
                if seen.len() >= nth {
                    return t;
                }
            }
        }
        assert!(Instant::now() < deadline, "no frame written within 120 s:\n{}", tail(teld));
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Polls every 200 µs until `temp` is gone: the frame has just been linked.
fn wait_for_gone(temp: &Path, teld: &Teld) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp.exists() {
        assert!(Instant::now() < deadline, "a write took over 60 s:\n{}", tail(teld));
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The killed teld's driver notices its closed pipe and exits; wait for that, so it
/// cannot add a spool file after the leftovers were counted.
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        assert!(Instant::now() < deadline, "driver {pid} outlived teld by 20 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Running (a zombie no one reaped counts as gone).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

fn tail(teld: &Teld) -> String {
    let log = teld.log_text();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// splitmix64: a tiny seeded generator, so a failing run can be repeated.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
