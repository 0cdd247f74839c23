//! Frames stored by `Archive::store_frame` (teld's own FITS writer), checked from
//! outside teld: fitsio (cfitsio) reads the pixels back in the right orientation,
//! `fitsverify` finds no error, astropy opens the file, verifies its checksums and
//! computes the same CHECKSUM/DATASUM, Rice-compressed frames are what fpack writes,
//! and a writer killed mid-frame leaves only complete files under final names with
//! nothing lost.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::peers::{fitsverify, python_with_astropy, require};
use fitsio::FitsFile;
use teld::astro::{Icrs, Site};
use teld::ingest::{
    Archive, Compression, FrameMeta, ImageType, IngestError, MountPointing, StoredFrame,
};
use teld_driver_protocol::time::parse_utc;
use teld_driver_protocol::{ImageInfo, PixelType, WeatherState};

const W: u32 = 256;
const H: u32 = 192;
/// x is beyond the image height, so reading with axes swapped cannot find it.
const BRIGHT: (usize, usize) = (200, 37);

/// A gradient along both axes (distinct rates, so a transposed or flipped read
/// differs everywhere) with the extremes and the BZERO boundary in known places.
fn synthetic_frame(w: u32, h: u32) -> Vec<u16> {
    let (w, h) = (w as usize, h as usize);
    let mut px = vec![0u16; w * h];
    for y in 0..h {
        for x in 0..w {
            px[y * w + x] = ((x * 200 + y * 50) % 60_000) as u16;
        }
    }
    let mut set = |x: usize, y: usize, v: u16| {
        if x < w && y < h {
            px[y * w + x] = v;
        }
    };
    set(BRIGHT.0, BRIGHT.1, 65_535);
    set(10, 150, 65_000);
    set(3, 100, 32_768);
    set(4, 100, 32_767);
    px // (0, 0) is 0 from the gradient
}

fn le_bytes(px: &[u16]) -> Vec<u8> {
    px.iter().flat_map(|p| p.to_le_bytes()).collect()
}

fn info(w: u32, h: u32) -> ImageInfo {
    ImageInfo {
        width: w,
        height: h,
        pixel_type: PixelType::U16,
        exposure_start: "2026-11-24T22:01:07.100".into(),
        duration: 30.0,
        light: true,
        bin_x: 1,
        bin_y: 1,
    }
}

fn meta(seq: u32) -> FrameMeta {
    FrameMeta {
        date_obs: parse_utc("2026-11-24T22:01:07.123").unwrap(),
        exptime_s: 30.0,
        image_type: ImageType::Light,
        object: "M 42".into(),
        observer: Some("integration test".into()),
        request_id: 42,
        observation_id: 7,
        frame_seq: seq,
        plan_id: None,
        telescope: "t1".into(),
        telescop: "Sim 0.4m".into(),
        instrument: "SimCam".into(),
        filter: Some("R".into()),
        bin_x: 1,
        bin_y: 1,
        gain_e_per_adu: Some(1.25),
        ccd_temp_c: Some(-10.0),
        focus_position: Some(25_040),
        focuser_temp_c: Some(7.5),
        site_name: "La Palma".into(),
        site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
        target: Icrs { ra_deg: 83.8221, dec_deg: -5.3911 },
        mount: Some(MountPointing {
            icrs: Icrs { ra_deg: 83.82, dec_deg: -5.39 },
            alt_deg: 45.5,
            az_deg: 170.25,
        }),
        airmass: Some(1.4),
        weather: Some(WeatherState {
            connected: true,
            is_safe: true,
            cloud_cover: Some(5.0),
            humidity: Some(40.0),
            rain_rate: Some(0.0),
            wind_speed: Some(3.5),
            temperature: Some(8.25),
            pressure: Some(772.0),
            sky_quality: Some(21.3),
        }),
        device_exposure_start: Some("2026-11-24T22:01:07.100".into()),
        software: teld::SOFTWARE.into(),
        wcs: None,
        moon: None,
    }
}

struct Setup {
    dir: tempfile::TempDir,
    archive: Archive,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("archive"), &dir.path().join("spool")).unwrap();
    Setup { dir, archive }
}

/// Stores the synthetic frame; returns it and where it went.
fn store_synthetic(s: &Setup) -> (Vec<u16>, StoredFrame) {
    let px = synthetic_frame(W, H);
    let spool = s.archive.spool_path("t1", 7, 1);
    fs::write(&spool, le_bytes(&px)).unwrap();
    let stored = s.archive.store_frame(&spool, &info(W, H), &meta(1)).unwrap();
    (px, stored)
}

fn rice_setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("archive"), &dir.path().join("spool"))
        .unwrap()
        .with_compression(Compression::Rice);
    Setup { dir, archive }
}

/// Runs a Python script with astropy; fails the test with its output if it fails.
fn run_python(python: &Path, script: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "astropy check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fitsverify_clean(path: &Path) {
    let Some(fitsverify) = require(fitsverify(), "fitsverify", "FITS standard conformance") else {
        return;
    };
    let out = Command::new(&fitsverify).arg("-q").arg("-e").arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("verification OK"), "fitsverify: {text}");
    // Warnings are not errors, but we want none either: show them if any.
    let out = Command::new(&fitsverify).arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("found 0 warning(s) and 0 error(s)"), "fitsverify full report:\n{text}");
}

/// Every file under `dir` whose name satisfies `pred`.
fn files_where(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if pred(&p.file_name().unwrap().to_string_lossy()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn fits_files(dir: &Path) -> Vec<PathBuf> {
    files_where(dir, |n| n.ends_with(".fits"))
}

#[test]
fn fitsio_reads_back_identical_pixels_in_the_right_orientation() {
    let s = setup();
    let (px, stored) = store_synthetic(&s);
    let mut f = FitsFile::open(&stored.path).unwrap();
    let hdu = f.primary_hdu().unwrap();
    assert_eq!(hdu.read_key::<i64>(&mut f, "NAXIS1").unwrap(), W as i64);
    assert_eq!(hdu.read_key::<i64>(&mut f, "NAXIS2").unwrap(), H as i64);
    assert_eq!(hdu.read_key::<i64>(&mut f, "BITPIX").unwrap(), 16);
    assert_eq!(hdu.read_key::<f64>(&mut f, "BZERO").unwrap(), 32768.0);
    let back: Vec<u16> = hdu.read_image(&mut f).unwrap();
    assert_eq!(back.len(), px.len());
    assert!(back == px, "pixels differ after the round trip");
    assert!(back.contains(&0) && back.contains(&65_535));
    // Row y = 37 read as a row of the file holds the bright pixel at column x = 200.
    let row: Vec<u16> = hdu.read_row(&mut f, BRIGHT.1).unwrap();
    assert_eq!(row.len(), W as usize);
    assert_eq!(row[BRIGHT.0], 65_535);
    assert_eq!(hdu.read_key::<String>(&mut f, "DATE-OBS").unwrap(), "2026-11-24T22:01:07.123");
}

#[test]
fn fitsverify_finds_no_errors() {
    let s = setup();
    let (_, stored) = store_synthetic(&s);
    fitsverify_clean(&stored.path);
}

/// The golden check of our checksum code: astropy, given the very HDU teld wrote,
/// computes the same DATASUM and CHECKSUM (astropy's documented way to get
/// reproducible checksums: fixed comments instead of a time stamp), and serialises
/// the header to the same bytes.
#[test]
fn astropy_computes_the_same_checksum_and_datasum() {
    let Some(python) = require(python_with_astropy(), "astropy", "checksum golden test") else {
        return;
    };
    let s = setup();
    let (_, stored) = store_synthetic(&s);
    let script = r#"
import sys
from astropy.io import fits
path = sys.argv[1]
raw = open(path, "rb").read()
with fits.open(path) as hdul:
    hdu = hdul[0]
    teld = (hdu.header["DATASUM"], hdu.header["CHECKSUM"])
    header_bytes = hdu.header.tostring().encode()
    assert raw[:len(header_bytes)] == header_bytes, "astropy serialises the header differently"
    hdu.add_datasum(when="data unit checksum")
    hdu.add_checksum(when="HDU checksum", override_datasum=True)
    mine = (hdu.header["DATASUM"], hdu.header["CHECKSUM"])
    assert mine == teld, f"astropy computes {mine}, teld wrote {teld}"
    after = hdu.header.tostring().encode()
    diff = [(raw[i:i + 80], after[i:i + 80]) for i in range(0, len(after), 80)
            if raw[i:i + 80] != after[i:i + 80]]
    assert not diff, f"cards astropy writes differently: {diff}"
print("golden OK", teld)
"#;
    run_python(&python, script, &[&stored.path]);
}

#[test]
fn rice_frame_is_what_fpack_writes_lossless_and_checksummed() {
    let s = rice_setup();
    let (px, stored) = store_synthetic(&s);
    let plain = (W * H * 2) as u64;
    assert!(stored.bytes < plain, "{} bytes compressed, {plain} plain", stored.bytes);
    assert!(stored.relative.ends_with(".fits"), "{}", stored.relative);

    // cfitsio decompresses transparently: same pixels, same header values.
    let mut f = FitsFile::open(&stored.path).unwrap();
    assert_eq!(f.num_hdus().unwrap(), 2);
    let hdu = f.hdu(1).unwrap();
    let back: Vec<u16> = hdu.read_image(&mut f).unwrap();
    assert!(back == px, "pixels differ after the Rice round trip");
    assert_eq!(hdu.read_key::<String>(&mut f, "DATE-OBS").unwrap(), "2026-11-24T22:01:07.123");
    assert_eq!(hdu.read_key::<String>(&mut f, "ZCMPTYPE").unwrap(), "RICE_1");
    drop(f);

    fitsverify_clean(&stored.path);

    let Some(python) = require(python_with_astropy(), "astropy", "reading Rice frames") else {
        return;
    };
    let expected = s.dir.path().join("expected.raw");
    fs::write(&expected, le_bytes(&px)).unwrap();
    let script = r#"
import sys, warnings
import numpy as np
from astropy.io import fits
warnings.simplefilter("error")
path, raw, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with fits.open(path, checksum=True) as hdul:
    hdul.verify("exception")
    assert len(hdul) == 2
    img = hdul[1]
    assert isinstance(img, fits.CompImageHDU), type(img)
    data = img.data
    assert data.dtype.kind == "u" and data.dtype.itemsize == 2, data.dtype
    want = np.fromfile(raw, dtype="<u2").reshape(h, w)
    assert np.array_equal(data, want), "pixels differ"
    assert img.header["DATE-OBS"] == "2026-11-24T22:01:07.123"
    assert img.header["OBJECT"] == "M 42"
# The HDUs as stored (the compressed one as its binary table): both checksums hold.
with fits.open(path, disable_image_compression=True, checksum=True) as hdul:
    for i, hdu in enumerate(hdul):
        assert "CHECKSUM" in hdu.header and "DATASUM" in hdu.header, i
        assert hdu.verify_checksum() == 1, f"CHECKSUM of HDU {i}"
        assert hdu.verify_datasum() == 1, f"DATASUM of HDU {i}"
    t = hdul[1].header
    assert t["ZIMAGE"] is True and t["ZCMPTYPE"] == "RICE_1", t
    assert t["ZBITPIX"] == 16 and t["ZNAXIS1"] == w and t["ZNAXIS2"] == h
print("rice OK")
"#;
    run_python(&python, script, &[&stored.path, &expected, &W.to_string(), &H.to_string()]);
}

#[test]
fn astropy_opens_the_frame_and_verifies_its_checksums() {
    let Some(python) = require(python_with_astropy(), "astropy", "reading frames with astropy")
    else {
        return;
    };
    let s = setup();
    let (px, stored) = store_synthetic(&s);
    let expected = s.dir.path().join("expected.raw");
    fs::write(&expected, le_bytes(&px)).unwrap();
    let script = r#"
import sys, warnings
import numpy as np
from astropy.io import fits
warnings.simplefilter("error")  # a checksum or standard problem is a warning: fail on it
path, raw, x, y, w, h = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
with fits.open(path, checksum=True) as hdul:
    hdul.verify("exception")
    hdu = hdul[0]
    assert hdu.verify_checksum() == 1, "CHECKSUM"
    assert hdu.verify_datasum() == 1, "DATASUM"
    data = hdu.data
    assert data.dtype.kind == "u" and data.dtype.itemsize == 2, data.dtype
    assert data.shape == (h, w), data.shape
    assert data[y, x] == 65535, data[y, x]
    assert data[0, 0] == 0
    want = np.fromfile(raw, dtype="<u2").reshape(h, w)
    assert np.array_equal(data, want), "pixels differ"
    hd = hdu.header
    assert hd["DATE-OBS"] == "2026-11-24T22:01:07.123", hd["DATE-OBS"]
    assert hd["TIMESYS"] == "UTC"
    assert hd["EXPTIME"] == 30.0, hd["EXPTIME"]
    assert hd["OBJECT"] == "M 42", hd["OBJECT"]
    assert hd["REQID"] == 42, hd["REQID"]
    assert hd["FRAMESEQ"] == 1
    assert hd["RADESYS"] == "ICRS"
    assert abs(hd["MJD-OBS"] - 61368.917443553) < 1e-7, hd["MJD-OBS"]
    assert abs(hd["SITELONG"] + 17.8816) < 1e-9
    assert "EXTNAME" not in hd
print("astropy OK")
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&stored.path)
        .arg(&expected)
        .args([BRIGHT.0, BRIGHT.1, W as usize, H as usize].map(|v| v.to_string()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "astropy check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unwritable_destination_stores_nothing_and_keeps_the_spool() {
    let s = setup();
    // A file where the telescope folder should be: creating the request folder fails
    // (for root too, unlike a read-only permission).
    let night = s.archive.root().join("2026-11-24");
    fs::create_dir_all(&night).unwrap();
    fs::write(night.join("t1"), b"in the way").unwrap();
    let px = le_bytes(&synthetic_frame(W, H));
    let spool = s.archive.spool_path("t1", 7, 1);
    fs::write(&spool, &px).unwrap();

    let err = s.archive.store_frame(&spool, &info(W, H), &meta(1)).unwrap_err();
    assert!(matches!(err, IngestError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("writable"), "{err}");
    assert!(fits_files(s.archive.root()).is_empty());
    assert!(files_where(s.archive.root(), |n| n.ends_with(".tmp")).is_empty());
    assert_eq!(fs::read(&spool).unwrap(), px, "spool file lost or changed");
}

#[test]
fn short_spool_stores_nothing_and_keeps_the_spool() {
    let s = setup();
    let mut px = le_bytes(&synthetic_frame(W, H));
    px.truncate(px.len() - 2 * W as usize); // the last row never arrived
    let spool = s.archive.spool_path("t1", 7, 1);
    fs::write(&spool, &px).unwrap();
    let err = s.archive.store_frame(&spool, &info(W, H), &meta(1)).unwrap_err();
    assert!(matches!(err, IngestError::SpoolSize { .. }), "{err:?}");
    assert!(fits_files(s.archive.root()).is_empty());
    assert_eq!(fs::read(&spool).unwrap(), px);
}

/// Environment variable that turns [`crash_writer_child`] into the writer the crash
/// test kills; holds `<archive root>|<spool dir>|<frames>`.
const CHILD_ENV: &str = "TELD_TEST_FITS_CRASH_CHILD";
const CRASH_W: u32 = 512;
const CRASH_H: u32 = 512;

fn crash_pixels(seq: u32) -> Vec<u16> {
    static BASE: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    let mut px = BASE.get_or_init(|| synthetic_frame(CRASH_W, CRASH_H)).clone();
    px[0] = seq as u16; // tells the frames apart
    px
}

/// Not a test by itself: run by `killed_writer_leaves_only_complete_frames` as a
/// separate process (this test binary, filtered to this test) that stores frames
/// until it is killed. Without the environment variable it does nothing.
#[test]
fn crash_writer_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let mut parts = spec.split('|');
    let (root, spool, frames) =
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let archive = Archive::open(Path::new(root), Path::new(spool)).unwrap();
    for seq in 1..=frames.parse::<u32>().unwrap() {
        let spool = archive.spool_path("t1", 7, seq);
        archive.store_frame(&spool, &info(CRASH_W, CRASH_H), &meta(seq)).unwrap();
    }
}

#[test]
fn killed_writer_leaves_only_complete_frames_and_loses_nothing() {
    let s = setup();
    let frames = 100;
    let base = le_bytes(&crash_pixels(0));
    for seq in 1..=frames {
        let mut bytes = base.clone();
        bytes[..2].copy_from_slice(&(seq as u16).to_le_bytes()); // as crash_pixels(seq)
        fs::write(s.archive.spool_path("t1", 7, seq), bytes).unwrap();
    }
    let spec =
        format!("{}|{}|{frames}", s.archive.root().display(), s.archive.spool_dir().display());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_writer_child", "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, spec)
        .spawn()
        .unwrap();

    // Kill it (SIGKILL) while a frame is being written: some frames done and a
    // temporary file present.
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(120);
    loop {
        let done = fits_files(s.archive.root()).len();
        let writing = !files_where(s.archive.root(), |n| n.ends_with(".tmp")).is_empty();
        if done >= 3 && writing {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "writer finished before it could be killed");
        assert!(Instant::now() < deadline, "writer made no progress");
        std::thread::sleep(Duration::from_millis(2)); // polling interval, not a wait for an outcome
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let stored = fits_files(s.archive.root());
    let leftovers = files_where(s.archive.root(), |n| n.ends_with(".tmp"));
    eprintln!(
        "killed after {} frames ({:.2} s); {} temporary file(s) left",
        stored.len(),
        t0.elapsed().as_secs_f64(),
        leftovers.len()
    );
    // Every frame is either complete under its final name or still in the spool.
    for seq in 1..=frames {
        let name = format!("t1_20261124T220107123_r42_{seq:03}.fits");
        let frame = stored.iter().find(|p| p.file_name().unwrap() == name.as_str());
        let spooled = s.archive.spool_path("t1", 7, seq).exists();
        match frame {
            Some(path) => {
                let mut f = FitsFile::open(path).unwrap();
                let back: Vec<u16> = f.primary_hdu().unwrap().read_image(&mut f).unwrap();
                assert!(back == crash_pixels(seq), "{name} is not complete");
            }
            None => assert!(spooled, "frame {seq} lost: neither archived nor spooled"),
        }
    }
    assert!(
        stored.iter().all(|p| !p.to_string_lossy().ends_with("-2.fits")),
        "a frame stored twice"
    );

    // A restart sweeps what the crash left, and only that.
    let swept = s.archive.sweep_temp().unwrap();
    assert_eq!(swept, leftovers);
    assert!(files_where(s.archive.root(), |n| n.ends_with(".tmp")).is_empty());
    assert_eq!(fits_files(s.archive.root()), stored);
}

// Write speed is measured side by side with the physical limit and astropy by
// `examples/bench_ingest.rs` (see BENCHMARKS.md), not here.
