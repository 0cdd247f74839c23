//! Frame ingest speed, side by side in one run on the same file system:
//! - **teld**: `Archive::store_frame` (FITS with ~60 header cards, CHECKSUM/DATASUM,
//!   read-back check, fsync, link into place, folder fsync);
//! - **limit**: the least any crash-safe writer must do — write the same number of
//!   bytes to a temp file, fsync, rename, fsync the folder;
//! - **astropy** (if `.venv-peers` has it): `writeto(..., checksum=True)` of the same
//!   pixels and header size, then the same fsync/rename/fsync.
//!
//! `cargo run --release --example bench_ingest [-- --frames N] [--dir DIR]`

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use teld::astro::{Icrs, Site};
use teld::ingest::{Archive, FrameMeta, ImageType, MountPointing};
use teld_driver_protocol::{ImageInfo, PixelType};

const W: u32 = 1024;
const H: u32 = 1024;

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() {
    let frames: u32 = arg("--frames").and_then(|n| n.parse().ok()).unwrap_or(30);
    let base = arg("--dir").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let raw = pixels();
    let archive = Archive::open(&dir.path().join("archive"), &dir.path().join("spool")).unwrap();

    let mut teld_ms = Vec::new();
    let mut size = 0;
    for seq in 1..=frames {
        let spool = archive.spool_path("t1", 1, seq);
        fs::write(&spool, &raw).unwrap();
        let t = Instant::now();
        let stored = archive.store_frame(&spool, &info(), &meta(seq)).unwrap();
        teld_ms.push(t.elapsed().as_secs_f64() * 1e3);
        size = stored.bytes;
    }

    let limit_dir = dir.path().join("limit");
    fs::create_dir_all(&limit_dir).unwrap();
    let payload = vec![0x5Au8; size as usize];
    let limit_ms: Vec<f64> = (0..frames)
        .map(|i| {
            let t = Instant::now();
            crash_safe_write(&limit_dir, &format!("f{i}.fits"), &payload);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();

    let astropy_ms = astropy(dir.path(), &raw, frames);

    println!(
        "1024x1024 u16 frame ({size} bytes on disk), {frames} frames each, in {}",
        base.display()
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>14}",
        "writer", "median ms", "p90 ms", "MB/s", "vs limit"
    );
    let limit = median(&limit_ms);
    let row = |name: &str, v: &[f64]| {
        let m = median(v);
        println!(
            "{name:<10} {m:>10.1} {:>10.1} {:>10.0} {:>13.2}x",
            p90(v),
            size as f64 / 1e6 / (m / 1e3),
            m / limit
        );
    };
    row("limit", &limit_ms);
    row("teld", &teld_ms);
    match &astropy_ms {
        Some(v) => row("astropy", v),
        None => println!("astropy    not available (run .ci/install-peers): peer NOT measured"),
    }
}

fn pixels() -> Vec<u8> {
    // Sky-like values: bias + noise, from a fixed LCG so every run writes the same.
    let mut x: u32 = 12345;
    (0..W * H)
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

fn astropy(dir: &Path, raw: &[u8], frames: u32) -> Option<Vec<f64>> {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-peers/bin/python");
    if !py.is_file() {
        return None;
    }
    let raw_path = dir.join("frame.raw");
    fs::write(&raw_path, raw).ok()?;
    let out_dir = dir.join("astropy");
    fs::create_dir_all(&out_dir).ok()?;
    let script = r#"
import os, sys, time, numpy as np
from astropy.io import fits
raw, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = np.fromfile(raw, dtype="<u2").reshape(1024, 1024)
times = []
for i in range(n):
    t = time.perf_counter()
    hdu = fits.PrimaryHDU(data)
    for k in range(60):
        hdu.header[f"KEY{k:04d}"] = (float(k), "a comment like teld's")
    tmp = os.path.join(out, f".f{i}.fits.tmp")
    hdu.writeto(tmp, checksum=True, overwrite=True)
    fd = os.open(tmp, os.O_RDONLY); os.fsync(fd); os.close(fd)
    os.rename(tmp, os.path.join(out, f"f{i}.fits"))
    fd = os.open(out, os.O_RDONLY); os.fsync(fd); os.close(fd)
    times.append((time.perf_counter() - t) * 1e3)
print(" ".join(f"{x:.3f}" for x in times))
"#;
    let o = Command::new(py)
        .args(["-c", script])
        .arg(&raw_path)
        .arg(&out_dir)
        .arg(frames.to_string())
        .output()
        .ok()?;
    if !o.status.success() {
        eprintln!("astropy run failed: {}", String::from_utf8_lossy(&o.stderr));
        return None;
    }
    Some(
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect(),
    )
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

fn info() -> ImageInfo {
    ImageInfo {
        width: W,
        height: H,
        pixel_type: PixelType::U16,
        exposure_start: "2026-11-24T22:01:07.123456".into(),
        duration: 60.0,
        light: true,
        bin_x: 1,
        bin_y: 1,
    }
}

fn meta(seq: u32) -> FrameMeta {
    let date_obs = teld_driver_protocol::time::parse_utc("2026-11-24T22:01:07.123").unwrap()
        + hifitime::Duration::from_seconds(70.0 * seq as f64);
    FrameMeta {
        date_obs,
        exptime_s: 60.0,
        image_type: ImageType::Light,
        object: "C4X9Z2".into(),
        observer: Some("bench".into()),
        request_id: 1,
        observation_id: 1,
        frame_seq: seq,
        telescope: "t1".into(),
        telescop: "teld-sim 0.5m".into(),
        instrument: "teld-sim 1k CCD".into(),
        filter: None,
        bin_x: 1,
        bin_y: 1,
        gain_e_per_adu: Some(1.5),
        ccd_temp_c: Some(-30.0),
        focus_position: Some(25_000),
        focuser_temp_c: Some(8.0),
        site_name: "la-palma".into(),
        site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
        target: Icrs { ra_deg: 22.5, dec_deg: 20.1 },
        mount: Some(MountPointing {
            icrs: Icrs { ra_deg: 22.5, dec_deg: 20.1 },
            alt_deg: 52.6,
            az_deg: 93.9,
        }),
        airmass: Some(1.258),
        weather: None,
        device_exposure_start: Some("2026-11-24T22:01:07.100000".into()),
        software: teld::SOFTWARE.into(),
        wcs: None,
        moon: None,
    }
}
