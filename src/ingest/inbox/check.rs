//! Checking a file from the inbox before it may enter the archive: complete and
//! standard FITS, an image in the primary HDU, checksums right where present, and the
//! keys teld needs (exposure start and length) present or derivable.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use fitsio::FitsFile;
use hifitime::Epoch;
use sha2::{Digest, Sha256};

use super::header::{Layout, ReadError, read_layout};
use super::refusal::Refusal;

/// What the checks learnt about an acceptable file.
#[derive(Debug, Clone)]
pub(super) struct Inspected {
    pub layout: Layout,
    /// Exposure start (UTC).
    pub date_obs: Epoch,
    pub exptime_s: f64,
    /// SHA-256 of the primary data unit without padding, lowercase hex.
    pub data_sha256: String,
}

/// A check could not be made (the disk failed, not the file): try again later.
#[derive(Debug, thiserror::Error)]
#[error("reading {path}: {source}")]
pub(super) struct CheckIo {
    pub path: String,
    pub source: std::io::Error,
}

pub(super) enum CheckError {
    Refused(Refusal),
    Io(CheckIo),
}

impl From<Refusal> for CheckError {
    fn from(r: Refusal) -> Self {
        CheckError::Refused(r)
    }
}

/// Checks the file at `path` (teld's own copy, with a name cfitsio reads literally).
pub(super) fn inspect(path: &Path) -> Result<Inspected, CheckError> {
    let io = |source| CheckError::Io(CheckIo { path: path.display().to_string(), source });
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    let layout = match read_layout(&mut reader, len) {
        Ok(l) => l,
        Err(ReadError::Bad(b)) => return Err(Refusal::Layout(b).into()),
        Err(ReadError::Io(e)) => return Err(io(e)),
    };
    let naxis = layout.value("NAXIS").unwrap_or("0");
    if naxis.parse::<u32>().map_or(true, |n| n < 2) || layout.hdus[0].data_bytes == 0 {
        return Err(Refusal::NotImage { naxis: naxis.to_string() }.into());
    }
    verify_with_cfitsio(path, layout.hdus.len())?;
    let date_obs = date_obs(&layout)?;
    let exptime_s = exptime(&layout)?;
    let span = &layout.hdus[0];
    let data_sha256 = sha256_of(&mut reader, span.data_start, span.data_bytes).map_err(io)?;
    Ok(Inspected { layout, date_obs, exptime_s, data_sha256 })
}

/// cfitsio must open the file (its own conformance checks of the headers), and every
/// HDU with CHECKSUM or DATASUM must match them.
fn verify_with_cfitsio(path: &Path, hdus: usize) -> Result<(), Refusal> {
    let mut f = FitsFile::open(path).map_err(|e| Refusal::Unreadable(message(&e)))?;
    for hdu in 1..=hdus {
        let (mut kind, mut data, mut whole, mut status) = (0, 0, 0, 0);
        // SAFETY: `as_raw` gives the live `fitsfile*` owned by `f`, borrowed mutably
        // for these two calls only and not kept; cfitsio reports errors in `status`.
        unsafe {
            fitsio::sys::ffmahd(f.as_raw(), hdu as i32, &mut kind, &mut status);
            fitsio::sys::ffvcks(f.as_raw(), &mut data, &mut whole, &mut status);
        }
        if status != 0 {
            let e = fitsio::errors::check_status(status).err();
            return Err(Refusal::Unreadable(e.map(|e| message(&e)).unwrap_or_default()));
        }
        // 1 = correct, 0 = keyword absent, -1 = wrong.
        if data < 0 {
            return Err(Refusal::Checksum { hdu, which: "DATASUM" });
        }
        if whole < 0 {
            return Err(Refusal::Checksum { hdu, which: "CHECKSUM" });
        }
    }
    Ok(())
}

fn message(e: &fitsio::errors::Error) -> String {
    match e {
        fitsio::errors::Error::Fits(f) => format!("{} (cfitsio status {})", f.message, f.status),
        other => other.to_string(),
    }
}

/// Exposure start, from the first of: DATE-OBS with a time; DATE-OBS as a date plus
/// TIME-OBS or UT (older writers); MJD-OBS. Only UTC is taken.
pub(super) fn date_obs(l: &Layout) -> Result<Epoch, Refusal> {
    if let Some(sys) = l.value("TIMESYS")
        && !sys.trim().eq_ignore_ascii_case("UTC")
    {
        return Err(Refusal::BadValue {
            key: "TIMESYS",
            value: sys.to_string(),
            why: "teld takes exposure times in UTC only; write DATE-OBS in UTC and TIMESYS = 'UTC'",
        });
    }
    let bad = |value: &str| Refusal::BadValue {
        key: "DATE-OBS",
        value: value.to_string(),
        why: "not an ISO-8601 UTC date and time (2026-11-24T22:01:07.123)",
    };
    if let Some(d) = l.value("DATE-OBS") {
        let d = d.trim();
        if d.contains('T') {
            return teld_driver_protocol::time::parse_utc(d).map_err(|_| bad(d));
        }
        let iso_date = d.len() == 10
            && d.bytes()
                .enumerate()
                .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !iso_date {
            return Err(Refusal::BadValue {
                key: "DATE-OBS",
                value: d.to_string(),
                why: "not an ISO-8601 UTC date and time (2026-11-24T22:01:07.123); the old DD/MM/YY form is ambiguous and not taken",
            });
        }
        let time = l.value("TIME-OBS").or_else(|| l.value("UT"));
        if let Some(t) = time {
            let joined = format!("{d}T{}", t.trim());
            return teld_driver_protocol::time::parse_utc(&joined).map_err(|_| bad(&joined));
        }
        if l.value("MJD-OBS").is_none() {
            return Err(Refusal::BadValue {
                key: "DATE-OBS",
                value: d.to_string(),
                why: "a date without the time of day, and no TIME-OBS, UT or MJD-OBS to give it",
            });
        }
    }
    if let Some(m) = l.value("MJD-OBS") {
        return match m.trim().parse::<f64>() {
            Ok(mjd) if mjd.is_finite() && (40_000.0..100_000.0).contains(&mjd) => {
                Ok(Epoch::from_mjd_utc(mjd))
            }
            _ => Err(Refusal::BadValue {
                key: "MJD-OBS",
                value: m.to_string(),
                why: "not a Modified Julian Date between 1968 and 2132",
            }),
        };
    }
    Err(Refusal::MissingKey {
        key: "DATE-OBS",
        what: "UTC start of the exposure; MJD-OBS would also do",
    })
}

/// Exposure length in seconds: EXPTIME, else EXPOSURE, else DATE-END − DATE-OBS.
pub(super) fn exptime(l: &Layout) -> Result<f64, Refusal> {
    for key in ["EXPTIME", "EXPOSURE"] {
        if let Some(v) = l.value(key) {
            return match v.trim().replace(['D', 'd'], "E").parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
                _ => Err(Refusal::BadValue {
                    key: if key == "EXPTIME" { "EXPTIME" } else { "EXPOSURE" },
                    value: v.to_string(),
                    why: "not a number of seconds >= 0",
                }),
            };
        }
    }
    let end = l.value("DATE-END").and_then(|e| teld_driver_protocol::time::parse_utc(e).ok());
    if let (Some(end), Ok(start)) = (end, date_obs(l)) {
        let s = (end - start).to_seconds();
        if s >= 0.0 {
            return Ok(s);
        }
    }
    Err(Refusal::MissingKey { key: "EXPTIME", what: "exposure length in seconds" })
}

/// Where the primary data unit of the FITS file at `path` lies (start, unpadded
/// length): what duplicates are found by. teld's own frames get its SHA-256 from the
/// pipeline, so a copy of one dropped into the inbox is recognised.
pub(crate) fn primary_data_span(path: &Path) -> Result<(u64, u64), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let layout = match read_layout(BufReader::new(file), len) {
        Ok(l) => l,
        Err(ReadError::Bad(b)) => return Err(b.to_string()),
        Err(ReadError::Io(e)) => return Err(e.to_string()),
    };
    let span = &layout.hdus[0];
    Ok((span.data_start, span.data_bytes))
}

fn sha256_of(r: &mut (impl Read + Seek), start: u64, len: u64) -> std::io::Result<String> {
    r.seek(SeekFrom::Start(start))?;
    let mut hasher = Sha256::new();
    let mut left = len;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        r.read_exact(&mut buf[..n])?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::super::header::tests::image;
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn refused(r: Result<Inspected, CheckError>) -> Refusal {
        match r {
            Err(CheckError::Refused(r)) => r,
            Err(CheckError::Io(e)) => panic!("I/O: {e}"),
            Ok(i) => panic!("accepted: {i:?}"),
        }
    }

    #[test]
    fn a_good_frame_passes_with_its_times() {
        let dir = tempfile::tempdir().unwrap();
        let f = image(
            64,
            32,
            &["DATE-OBS= '2026-11-24T22:01:07.500'", "EXPTIME =                 30.0"],
        );
        let i = match inspect(&write(dir.path(), "a.fits", &f)) {
            Ok(i) => i,
            Err(CheckError::Refused(r)) => panic!("{r}"),
            Err(CheckError::Io(e)) => panic!("{e}"),
        };
        assert_eq!(
            teld_driver_protocol::time::format_utc_digits(i.date_obs, 3),
            "2026-11-24T22:01:07.500"
        );
        assert_eq!(i.exptime_s, 30.0);
        let data = &f[2880..2880 + 64 * 32 * 2];
        let want: String = Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(i.data_sha256, want);
    }

    #[test]
    fn dates_are_derived_from_older_keys() {
        let dir = tempfile::tempdir().unwrap();
        let f = image(
            8,
            8,
            &[
                "DATE-OBS= '2026-11-24'",
                "TIME-OBS= '22:01:07.25'",
                "EXPOSURE=                  5.0",
            ],
        );
        let i = inspect(&write(dir.path(), "a.fits", &f)).ok().unwrap();
        assert_eq!(
            teld_driver_protocol::time::format_utc_digits(i.date_obs, 2),
            "2026-11-24T22:01:07.25"
        );
        assert_eq!(i.exptime_s, 5.0);
        let f = image(8, 8, &["MJD-OBS =         61368.5", "EXPTIME =                  1.0"]);
        let i = inspect(&write(dir.path(), "b.fits", &f)).ok().unwrap();
        assert_eq!(
            teld_driver_protocol::time::format_utc_digits(i.date_obs, 0),
            "2026-11-24T12:00:00"
        );
    }

    #[test]
    fn missing_or_bad_keys_say_which() {
        let dir = tempfile::tempdir().unwrap();
        let f = image(8, 8, &["EXPTIME =                  1.0"]);
        let r = refused(inspect(&write(dir.path(), "a.fits", &f)));
        assert!(matches!(r, Refusal::MissingKey { key: "DATE-OBS", .. }), "{r}");
        let f = image(8, 8, &["DATE-OBS= '24/11/26'", "EXPTIME =                  1.0"]);
        let r = refused(inspect(&write(dir.path(), "b.fits", &f)));
        assert!(r.to_string().contains("DATE-OBS = '24/11/26'"), "{r}");
        assert!(r.to_string().contains("DD/MM/YY"), "{r}");
        let f = image(8, 8, &["DATE-OBS= '2026-11-24T22:01:07'"]);
        let r = refused(inspect(&write(dir.path(), "c.fits", &f)));
        assert!(matches!(r, Refusal::MissingKey { key: "EXPTIME", .. }), "{r}");
        let f =
            image(8, 8, &["DATE-OBS= '2026-11-24T22:01:07'", "EXPTIME =  1.0", "TIMESYS = 'TT'"]);
        let r = refused(inspect(&write(dir.path(), "d.fits", &f)));
        assert!(matches!(r, Refusal::BadValue { key: "TIMESYS", .. }), "{r}");
    }

    #[test]
    fn truncated_non_fits_and_non_image_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = image(64, 64, &["DATE-OBS= '2026-11-24T22:01:07'", "EXPTIME =  1.0"]);
        let r = refused(inspect(&write(dir.path(), "a.fits", &f[..f.len() - 100])));
        assert!(r.to_string().contains("truncated"), "{r}");
        let r = refused(inspect(&write(dir.path(), "b.fits", b"#!/bin/sh\necho not a frame\n")));
        assert!(r.to_string().contains("not a FITS file"), "{r}");
        let f = super::super::header::tests::header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                    8",
            "NAXIS   =                    0",
        ]);
        let r = refused(inspect(&write(dir.path(), "c.fits", &f)));
        assert!(matches!(r, Refusal::NotImage { .. }), "{r}");
    }

    #[test]
    fn a_wrong_checksum_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        // DATASUM of a data unit of zeros is 0; ours is not zeros.
        let f = image(
            8,
            8,
            &["DATE-OBS= '2026-11-24T22:01:07'", "EXPTIME =  1.0", "DATASUM = '0       '"],
        );
        let r = refused(inspect(&write(dir.path(), "a.fits", &f)));
        assert!(matches!(r, Refusal::Checksum { hdu: 1, which: "DATASUM" }), "{r}");
    }
}
