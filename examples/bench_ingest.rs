//! Frame ingest speed, side by side in one run on the same file system, 16-bit frames
//! with teld's full header and checksums:
//! - **raw limit**: the least any crash-safe writer must do — write the same bytes as
//!   teld's file to a temporary name, fsync, rename, fsync the folder;
//! - **raw+wb**: the same, written in 1 MiB pieces with the early writeback teld uses
//!   (`sync_file_range` after each): the limit for a writer using that trick too;
//! - **teld**: `Archive::store_frame` from a spool file (the whole path: header
//!   cards, conversion to big-endian with BZERO, DATASUM/CHECKSUM, fsync, link into
//!   place, folder fsync, spool removal);
//! - **astropy** (if `.venv-peers` has it): `writeto(checksum=True)` of the same
//!   pixels with the same header cards, then the same fsync/rename/fsync, timed inside
//!   one long-running Python process (no start-up counted);
//! - **teld rice**: `store_frame` with `Compression::Rice` (cfitsio compresses).
//!
//! Writers take turns frame by frame (the order rotates), so a load from elsewhere on
//! the machine hits all of them alike. teld's spool file is written, untimed, just
//! before its turn, as a driver would have written it.
//!
//! `cargo run --release --example bench_ingest [-- --frames N] [--size PX] [--no-rice] [--dir DIR]`
//! (a debug build defaults to 1024 px, so CI's smoke run stays quick).

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use teld::astro::{Icrs, Site};
use teld::ingest::{
    Archive, Compression, Detector, FrameMeta, ImageType, MoonAtFrame, MountPointing, Wcs,
};
use teld_driver_protocol::{ImageInfo, PixelType, WeatherState};

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

struct Run {
    name: &'static str,
    ms: Vec<f64>,
    bytes: u64,
}

fn main() {
    let frames: u32 = arg("--frames").and_then(|n| n.parse().ok()).unwrap_or(10).max(1);
    let default_size = if cfg!(debug_assertions) { 1024 } else { 4096 };
    let size: u32 = arg("--size").and_then(|n| n.parse().ok()).unwrap_or(default_size);
    let base = arg("--dir").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let raw = pixels(size);
    let info = info(size);
    let plain = Archive::open(&dir.path().join("archive"), &dir.path().join("spool")).unwrap();
    let rice = Archive::open(&dir.path().join("archive-rice"), &dir.path().join("spool"))
        .unwrap()
        .with_compression(Compression::Rice);

    // One frame first, untimed: its file gives the raw limit its bytes and astropy
    // its header, and warms the page cache and the allocator for everyone.
    let spool = plain.spool_path("t1", 1, 0);
    fs::write(&spool, &raw).unwrap();
    let first = plain.store_frame(&spool, &info, &meta(0, size)).unwrap();
    let teld_file = fs::read(&first.path).unwrap();

    let mut runs = vec![
        Run { name: "raw limit", ms: Vec::new(), bytes: teld_file.len() as u64 },
        Run { name: "raw+wb", ms: Vec::new(), bytes: teld_file.len() as u64 },
        Run { name: "teld", ms: Vec::new(), bytes: first.bytes },
    ];
    let mut astropy = Astropy::start(dir.path(), &raw, &first.path, size);
    if astropy.is_some() {
        runs.push(Run { name: "astropy", ms: Vec::new(), bytes: 0 });
    } else {
        println!("astropy not available (run .ci/install-peers): peer NOT measured");
    }
    if !flag("--no-rice") {
        runs.push(Run { name: "teld rice", ms: Vec::new(), bytes: 0 });
    }
    let limit_dir = dir.path().join("limit");
    fs::create_dir_all(&limit_dir).unwrap();

    for seq in 1..=frames {
        let spool = plain.spool_path("t1", 1, seq);
        fs::write(&spool, &raw).unwrap();
        File::open(&spool).unwrap().sync_all().unwrap();
        let n = runs.len();
        for k in 0..n {
            let run = &mut runs[(k + seq as usize) % n];
            let t = Instant::now();
            match run.name {
                "raw limit" => crash_safe_write(&limit_dir, &format!("f{seq}.fits"), &teld_file),
                "raw+wb" => crash_safe_write_wb(&limit_dir, &format!("w{seq}.fits"), &teld_file),
                "teld" => {
                    let spool_copy = copy_spool(&spool, "plain");
                    let t0 = Instant::now();
                    let s = plain.store_frame(&spool_copy, &info, &meta(seq, size)).unwrap();
                    run.ms.push(t0.elapsed().as_secs_f64() * 1e3);
                    run.bytes = s.bytes;
                    continue;
                }
                "teld rice" => {
                    let spool_copy = copy_spool(&spool, "rice");
                    let t0 = Instant::now();
                    let s = rice.store_frame(&spool_copy, &info, &meta(seq, size)).unwrap();
                    run.ms.push(t0.elapsed().as_secs_f64() * 1e3);
                    run.bytes = s.bytes;
                    continue;
                }
                _ => {
                    let a = astropy.as_mut().unwrap();
                    let (ms, bytes) = a.write(seq);
                    run.ms.push(ms);
                    run.bytes = bytes;
                    continue;
                }
            }
            run.ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        fs::remove_file(&spool).unwrap();
    }

    // What a read-back check would cost (the archive no longer does one): reading the
    // file just written — from the page cache — through a reused buffer and summing
    // its words, as the checksum check did. Median of the frames.
    let mut read_back = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..frames {
        let t = Instant::now();
        let mut f = File::open(&first.path).unwrap();
        let (mut sum, mut total) = (0u64, 0usize);
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for w in buf[..n].chunks_exact(4) {
                sum += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
            }
            total += n;
        }
        read_back.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(total, teld_file.len(), "{sum}");
    }
    let read_back_ms = median(&read_back);

    println!(
        "{size}x{size} u16 frames, full header + CHECKSUM/DATASUM, fsync + rename + folder fsync; {frames} frames each, writers interleaved, in {}",
        base.display()
    );
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>13}",
        "writer", "frames/s", "median ms", "p90 ms", "min ms", "MB/s", "MB", "of raw limit"
    );
    let limit = median(&runs[0].ms);
    for r in &runs {
        let m = median(&r.ms);
        println!(
            "{:<10} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8.0} {:>7.1} {:>12.0}%",
            r.name,
            1e3 / m,
            m,
            p90(&r.ms),
            r.ms.iter().copied().fold(f64::INFINITY, f64::min),
            r.bytes as f64 / 1e6 / (m / 1e3),
            r.bytes as f64 / 1e6,
            limit / m * 100.0
        );
    }
    println!("(a read-back of teld's file from the page cache would add {read_back_ms:.1} ms)");
    if cfg!(debug_assertions) {
        println!("(debug build: a smoke run, the numbers mean nothing; use --release)");
    }
    if let Some(a) = astropy {
        a.finish();
    }
}

/// The spool file a driver would leave, written (untimed) just before teld takes it:
/// its own file, so removing it costs what it costs in the daemon (not synced, as a
/// driver leaves it: a synced 33 MB file costs 6–9 ms to remove instead of 2.5).
fn copy_spool(spool: &Path, tag: &str) -> PathBuf {
    let p = spool.with_extension(format!("{tag}.raw"));
    fs::copy(spool, &p).unwrap();
    p
}

/// Sky-like values: bias + noise, from a fixed LCG so every run writes the same.
fn pixels(size: u32) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..size * size)
        .flat_map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (1000 + (x >> 24) as u16).to_le_bytes()
        })
        .collect()
}

fn crash_safe_write(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
    fs::rename(&tmp, dir.join(name)).unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
}

fn crash_safe_write_wb(dir: &Path, name: &str, bytes: &[u8]) {
    use std::os::fd::AsRawFd;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).unwrap();
    let mut offset = 0;
    for piece in bytes.chunks(1 << 20) {
        f.write_all(piece).unwrap();
        // SAFETY: `f` is open; the call only schedules writeback of its pages.
        unsafe {
            libc::sync_file_range(
                f.as_raw_fd(),
                offset,
                piece.len() as i64,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        offset += piece.len() as i64;
    }
    f.sync_all().unwrap();
    fs::rename(&tmp, dir.join(name)).unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
}

/// astropy in one Python process, driven line by line over a pipe.
struct Astropy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

const ASTROPY: &str = r#"
import os, sys, time, numpy as np
from astropy.io import fits
raw, teld_file, out, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = np.fromfile(raw, dtype="<u2").reshape(size, size)
# teld's cards, without the two astropy computes itself
header = fits.getheader(teld_file)
for k in ("CHECKSUM", "DATASUM"):
    del header[k]
with fits.open(teld_file) as h:
    assert np.array_equal(h[0].data, data), "teld's pixels differ"
print("ready", flush=True)
for line in sys.stdin:
    i = int(line)
    t = time.perf_counter()
    hdu = fits.PrimaryHDU(data, header=header)
    tmp = os.path.join(out, f".f{i}.fits.tmp")
    hdu.writeto(tmp, checksum=True)
    fd = os.open(tmp, os.O_RDONLY); os.fsync(fd); os.close(fd)
    os.rename(tmp, os.path.join(out, f"f{i}.fits"))
    fd = os.open(out, os.O_RDONLY); os.fsync(fd); os.close(fd)
    ms = (time.perf_counter() - t) * 1e3
    print(f"{ms:.3f} {os.path.getsize(os.path.join(out, f'f{i}.fits'))}", flush=True)
"#;

impl Astropy {
    fn start(dir: &Path, raw: &[u8], teld_file: &Path, size: u32) -> Option<Astropy> {
        let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-peers/bin/python");
        if !py.is_file() {
            return None;
        }
        let raw_path = dir.join("frame.raw");
        fs::write(&raw_path, raw).ok()?;
        let out = dir.join("astropy");
        fs::create_dir_all(&out).ok()?;
        let mut child = Command::new(py)
            .args(["-c", ASTROPY])
            .arg(&raw_path)
            .arg(teld_file)
            .arg(&out)
            .arg(size.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let mut stdout = BufReader::new(child.stdout.take()?);
        let mut line = String::new();
        stdout.read_line(&mut line).ok()?;
        if line.trim() != "ready" {
            eprintln!("astropy did not start: {line}");
            return None;
        }
        Some(Astropy { child, stdin, stdout })
    }

    fn write(&mut self, seq: u32) -> (f64, u64) {
        writeln!(self.stdin, "{seq}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut parts = line.split_whitespace();
        let ms = parts.next().and_then(|s| s.parse().ok()).expect("astropy timing");
        let bytes = parts.next().and_then(|s| s.parse().ok()).expect("astropy size");
        (ms, bytes)
    }

    fn finish(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn p90(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[(s.len() * 9 / 10).min(s.len() - 1)]
}

fn info(size: u32) -> ImageInfo {
    ImageInfo {
        width: size,
        height: size,
        pixel_type: PixelType::U16,
        exposure_start: "2026-11-24T22:01:07.123456".into(),
        duration: 60.0,
        light: true,
        bin_x: 1,
        bin_y: 1,
    }
}

/// A frame with every header section teld writes (time, observation, instrument,
/// site, pointing, WCS, Moon, weather).
fn meta(seq: u32, size: u32) -> FrameMeta {
    let date_obs = teld_driver_protocol::time::parse_utc("2026-11-24T22:01:07.123").unwrap()
        + hifitime::Duration::from_seconds(70.0 * seq as f64);
    let pointing = Icrs { ra_deg: 22.5, dec_deg: 20.1 };
    FrameMeta {
        date_obs,
        exptime_s: 60.0,
        image_type: ImageType::Light,
        object: "C4X9Z2".into(),
        observer: Some("bench".into()),
        request_id: 1,
        observation_id: 1,
        frame_seq: seq,
        plan_id: Some("2026-11-24T19:12:41.000000".into()),
        telescope: "t1".into(),
        telescop: "teld-sim 0.5m".into(),
        instrument: "teld-sim 4k CCD".into(),
        filter: Some("R".into()),
        bin_x: 1,
        bin_y: 1,
        gain_e_per_adu: Some(1.5),
        ccd_temp_c: Some(-30.0),
        focus_position: Some(25_000),
        focuser_temp_c: Some(8.0),
        site_name: "la-palma".into(),
        site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
        target: pointing,
        mount: Some(MountPointing { icrs: pointing, alt_deg: 52.6, az_deg: 93.9 }),
        airmass: Some(1.258),
        weather: Some(WeatherState {
            connected: true,
            is_safe: true,
            cloud_cover: Some(0.0),
            humidity: Some(34.9),
            rain_rate: Some(0.0),
            wind_speed: Some(2.75),
            temperature: Some(11.64),
            pressure: Some(763.8),
            sky_quality: Some(20.77),
        }),
        device_exposure_start: Some("2026-11-24T22:01:07.100000".into()),
        software: teld::SOFTWARE.into(),
        wcs: Some(wcs(pointing, size)),
        moon: Some(MoonAtFrame { separation_deg: 61.2, alt_deg: 47.4, illumination: 0.97 }),
    }
}

fn wcs(pointing: Icrs, size: u32) -> Wcs {
    let detector = Detector { scale_deg: 1.5 / 3600.0, angle_deg: 0.0, flipped: false };
    Wcs::new(detector, pointing, (size, size), (1, 1))
}
