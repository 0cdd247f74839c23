//! The archive folder: layout and crash-safe placement of frames.
//!
//! A frame goes `<root>/<night>/<telescope>/r<request>/<name>.fits`. It is written to a
//! hidden temporary name next to its final place (`.<name>.fits.<pid>-<n>.tmp`),
//! checked, fsynced, then linked to its final name and the folder fsynced
//! (DESIGN §5). A crash at any point leaves either no file under a final name or a
//! complete one; the spool file is removed only once the frame is safely stored, so
//! a crash never loses pixels either. Temporary files a crash leaves behind are
//! removed by [`Archive::sweep_temp`] at start-up.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hifitime::Epoch;
use teld_driver_protocol::ImageInfo;
use teld_driver_protocol::time::format_utc_digits;

use super::{FrameMeta, IngestError, rice, writer};

/// How many same-named frames (`name.fits`, `name-2.fits`, …) we accept before
/// assuming something is looping and refusing: a retried write adds one.
const MAX_DUPLICATES: u32 = 1000;
/// Temporary files end so; with the leading dot and `.fits.` in the name, this is what
/// [`Archive::sweep_temp`] recognises (and nothing a person would name a file).
const TEMP_SUFFIX: &str = ".tmp";

/// Makes temporary names unique within this process, so two writes of the same frame
/// (a retry racing a slow first attempt) never share a temporary file.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct Archive {
    root: PathBuf,
    spool: PathBuf,
    compression: Compression,
}

/// How frames are stored (`[archive] compression` in the config).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain FITS: every tool reads it, and it is the fastest to write.
    #[default]
    None,
    /// Rice tile compression as `fpack -r` writes it: lossless for integer frames
    /// (typically half the size for sky frames), slower to write; float frames stay
    /// uncompressed.
    Rice,
}

#[derive(Debug, Clone)]
pub struct StoredFrame {
    /// Absolute path of the final file.
    pub path: PathBuf,
    /// Path relative to the archive root, as stored and published.
    pub relative: String,
    pub bytes: u64,
}

impl Archive {
    /// Opens (creating if needed) the archive and spool folders.
    pub fn open(root: &Path, spool: &Path) -> Result<Self, IngestError> {
        let io_err = |dir: &Path| {
            let path = dir.display().to_string();
            move |source| IngestError::Io { path, source }
        };
        for dir in [root, spool] {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let root = std::path::absolute(root).map_err(io_err(root))?;
        let spool = std::path::absolute(spool).map_err(io_err(spool))?;
        check_cfitsio_path(&root)?;
        Ok(Archive { root, spool, compression: Compression::None })
    }

    /// Stores later frames with `compression` (default: none).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn spool_dir(&self) -> &Path {
        &self.spool
    }

    /// Where a driver should write the raw pixels of one frame.
    pub fn spool_path(&self, telescope: &str, observation_id: i64, seq: u32) -> PathBuf {
        self.spool.join(format!("{telescope}-o{observation_id}-{seq:04}.raw"))
    }

    /// Turns a spool file into a FITS file in the archive; blocking (call it from
    /// `spawn_blocking`). Removes the spool file on success; on any error the spool
    /// file stays for inspection or a retry, and no file appears under a final name.
    pub fn store_frame(
        &self,
        spool_file: &Path,
        info: &ImageInfo,
        meta: &FrameMeta,
    ) -> Result<StoredFrame, IngestError> {
        let started = std::time::Instant::now();
        let stored = self.store_frame_untimed(spool_file, info, meta)?;
        crate::metrics::ingest_seconds().observe(started.elapsed().as_secs_f64());
        Ok(stored)
    }

    fn store_frame_untimed(
        &self,
        spool_file: &Path,
        info: &ImageInfo,
        meta: &FrameMeta,
    ) -> Result<StoredFrame, IngestError> {
        check_spool(spool_file, info)?;
        let frame = FramePath::new(meta)?;
        let dir = self.make_dirs(&frame.dirs)?;
        let temp = dir.join(temp_name(&frame.file_name));

        let rice = self.compression == Compression::Rice && rice::compresses(info.pixel_type);
        let placed = write_and_place(&temp, &dir, &frame.file_name, spool_file, info, meta, rice);
        if placed.is_err() {
            // Nothing of value is in it: the spool file still holds the pixels.
            let _ = fs::remove_file(&temp);
        }
        let (path, bytes) = placed?;

        if let Err(e) = fs::remove_file(spool_file) {
            // The frame is safe; failing here must not make the caller retry it.
            tracing::warn!(
                spool = %spool_file.display(),
                error = %e,
                "frame archived but its spool file could not be removed"
            );
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let relative = [frame.dirs.as_slice(), &[name]].concat().join("/");
        Ok(StoredFrame { path, relative, bytes })
    }

    /// Removes temporary files a crash left in the archive (never complete frames:
    /// those have their final name). Call at start-up, before the first
    /// [`Archive::store_frame`] — it would also remove a write in progress. Returns
    /// what it removed, for the log.
    pub fn sweep_temp(&self) -> Result<Vec<PathBuf>, IngestError> {
        let mut removed = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let io_err = |source| IngestError::Io { path: dir.display().to_string(), source };
            for entry in fs::read_dir(&dir).map_err(io_err)? {
                let entry = entry.map_err(io_err)?;
                let kind = entry.file_type().map_err(io_err)?;
                let path = entry.path();
                if kind.is_dir() {
                    dirs.push(path);
                } else if kind.is_file() && is_temp_name(&entry.file_name().to_string_lossy()) {
                    fs::remove_file(&path).map_err(|source| IngestError::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                    removed.push(path);
                }
            }
        }
        removed.sort();
        Ok(removed)
    }

    /// Creates the frame's folders, each made durable (see [`super::durable`]).
    fn make_dirs(&self, dirs: &[String]) -> Result<PathBuf, IngestError> {
        super::durable::make_dirs(&self.root, dirs).map_err(|source| IngestError::Io {
            path: self.root.join(dirs.join("/")).display().to_string(),
            source,
        })
    }
}

/// The spool file must hold exactly the pixels the driver described.
fn check_spool(spool_file: &Path, info: &ImageInfo) -> Result<(), IngestError> {
    let expected = u64::from(info.width)
        .checked_mul(u64::from(info.height))
        .and_then(|n| n.checked_mul(info.pixel_type.bytes() as u64));
    let actual = fs::metadata(spool_file)
        .map_err(|source| IngestError::Io { path: spool_file.display().to_string(), source })?
        .len();
    match expected {
        Some(expected) if expected == actual && expected > 0 => Ok(()),
        expected => Err(IngestError::SpoolSize {
            path: spool_file.display().to_string(),
            expected: expected.unwrap_or(u64::MAX),
            actual,
            width: info.width,
            height: info.height,
            pixel: format!("{:?}", info.pixel_type).to_lowercase(),
        }),
    }
}

/// Writes the FITS file under `temp`, checks it, makes it durable and gives it its
/// final name in `dir`. Returns the final path and size.
///
/// The check is cheap on purpose. Reading a file back right after writing it reads
/// the page cache, not the disk, so it only re-checks our own writer — which the
/// tests do against cfitsio, astropy and fitsverify — for 6–8 ms a 4096² frame
/// (15 % of the write, `examples/bench_ingest.rs`). What can fail at run time is the
/// I/O: every `write` and the `fsync` report errors, and the file's size must be what
/// was written; the writer checks its sealed header against the data sum. A Rice
/// frame is read back anyway: sealing its checksums reads it, and cfitsio cannot
/// report its final flush.
fn write_and_place(
    temp: &Path,
    dir: &Path,
    file_name: &str,
    spool_file: &Path,
    info: &ImageInfo,
    meta: &FrameMeta,
    rice: bool,
) -> Result<(PathBuf, u64), IngestError> {
    let io_err = |source| IngestError::Io { path: temp.display().to_string(), source };
    let (file, bytes) = if rice {
        rice::write_frame(temp, spool_file, info, meta)?;
        let file = File::options().read(true).write(true).open(temp).map_err(io_err)?;
        let bytes = writer::seal_hdus(&file, temp)?;
        (file, bytes)
    } else {
        let file = File::options().write(true).create_new(true).open(temp).map_err(io_err)?;
        let written = writer::write_frame(&file, temp, spool_file, info, meta)?;
        (file, written.file_bytes)
    };
    file.sync_all().map_err(io_err)?;
    let on_disk = file.metadata().map_err(io_err)?.len();
    if on_disk != bytes {
        return Err(IngestError::ReadBack {
            path: temp.display().to_string(),
            reason: format!("the file holds {on_disk} bytes but {bytes} were written"),
        });
    }
    drop(file);
    let path = place_without_overwrite(temp, dir, file_name)?;
    fsync_dir(dir)?;
    Ok((path, bytes))
}

/// Gives `temp` the name `file_name` in `dir`, or `stem-2.fits`, `stem-3.fits`… if
/// taken: a stored frame is never overwritten.
///
/// A hard link fails atomically if the name exists, which a rename cannot do (it
/// replaces silently). On file systems without hard links we fall back to
/// check-then-rename, which is only racy against another writer of the same name.
fn place_without_overwrite(
    temp: &Path,
    dir: &Path,
    file_name: &str,
) -> Result<PathBuf, IngestError> {
    let io_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| IngestError::Io { path, source }
    };
    for n in 1..=MAX_DUPLICATES {
        let candidate = dir.join(numbered(file_name, n));
        match fs::hard_link(temp, &candidate) {
            Ok(()) => {
                // If this fails the temp is a second name of the complete frame:
                // harmless, and `sweep_temp` removes it.
                let _ = fs::remove_file(temp);
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                if candidate.try_exists().map_err(io_err(&candidate))? {
                    continue;
                }
                fs::rename(temp, &candidate).map_err(io_err(&candidate))?;
                return Ok(candidate);
            }
        }
    }
    Err(IngestError::Io {
        path: dir.join(file_name).display().to_string(),
        source: io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{MAX_DUPLICATES} frames of that name exist already"),
        ),
    })
}

/// `name.fits` for the first, `name-2.fits` from the second on.
fn numbered(file_name: &str, n: u32) -> String {
    match (n, file_name.strip_suffix(".fits")) {
        (1, _) | (_, None) => file_name.to_string(),
        (n, Some(stem)) => format!("{stem}-{n}.fits"),
    }
}

fn temp_name(file_name: &str) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{file_name}.{}-{n}{TEMP_SUFFIX}", std::process::id())
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && name.contains(".fits.")
}

/// Makes the folder's entries (a new file name, a new subfolder) durable.
fn fsync_dir(dir: &Path) -> Result<(), IngestError> {
    super::durable::fsync_dir(dir)
        .map_err(|source| IngestError::Io { path: dir.display().to_string(), source })
}

/// Where a frame goes, relative to the archive root.
struct FramePath {
    /// `[night, telescope, r<request>]`.
    dirs: Vec<String>,
    /// `<telescope>_<YYYYMMDDTHHMMSSmmm>_r<request>_<seq:03>.fits`.
    file_name: String,
}

impl FramePath {
    fn new(meta: &FrameMeta) -> Result<Self, IngestError> {
        let tel = &meta.telescope;
        // Config allows only slugs; checked again here because the name becomes a
        // path component and part of a cfitsio file name.
        if tel.is_empty() || !tel.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(IngestError::UnusablePath {
                path: tel.clone(),
                reason: "a telescope name in the archive must be letters, digits, - and _".into(),
            });
        }
        let night = night_of(meta.date_obs, meta.site.longitude_deg);
        // Same digits as DATE-OBS, so file name and header always agree.
        let stamp: String = format_utc_digits(meta.date_obs, 3)
            .chars()
            .filter(|c| !matches!(c, '-' | ':' | '.'))
            .collect();
        let req = meta.request_id;
        Ok(FramePath {
            dirs: vec![night, tel.clone(), format!("r{req}")],
            file_name: format!("{tel}_{stamp}_r{req}_{:03}.fits", meta.frame_seq),
        })
    }
}

/// cfitsio parses file names (`file.fits[1]`, `!file`, `file(template)`), so a root
/// with such characters would be misread; say so at start-up, not at the first frame.
fn check_cfitsio_path(root: &Path) -> Result<(), IngestError> {
    let bad = |reason: &str| IngestError::UnusablePath {
        path: root.display().to_string(),
        reason: reason.to_string(),
    };
    let s = root.to_str().ok_or_else(|| bad("the path is not valid UTF-8"))?;
    if s.contains(['[', ']', '(', ')', '!']) {
        return Err(bad("the FITS library reads [ ] ( ) ! in file names as instructions"));
    }
    // cfitsio's FLEN_FILENAME is 1025 with the NUL; leave room for the frame's part.
    if s.len() > 800 {
        return Err(bad("the path is too long for the FITS library (keep it under 800 bytes)"));
    }
    Ok(())
}

/// The observing night an instant belongs to, named by the local date of its evening
/// (`2026-11-24` for the whole night 24→25 November at the site's longitude). The
/// night changes at local mean noon (longitude east-positive, degrees), so daytime
/// calibrations before noon belong to the night that just ended.
pub fn night_of(epoch: Epoch, longitude_deg: f64) -> String {
    let local_noon_shift =
        hifitime::Duration::from_seconds(longitude_deg / 15.0 * 3600.0 - 12.0 * 3600.0);
    let p = teld_astro::time::utc_parts(epoch + local_noon_shift);
    let (y, m, d) = (p.year, p.month, p.day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::fits::tests::sample_meta;
    use fitsio::FitsFile;
    use teld_driver_protocol::PixelType;

    fn info(width: u32, height: u32, pixel_type: PixelType) -> ImageInfo {
        ImageInfo {
            width,
            height,
            pixel_type,
            exposure_start: "2026-11-24T22:01:07.100".into(),
            duration: 30.0,
            light: true,
            bin_x: 2,
            bin_y: 2,
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        archive: Archive,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let archive =
            Archive::open(&dir.path().join("archive"), &dir.path().join("spool")).unwrap();
        Fixture { _dir: dir, archive }
    }

    fn spool(archive: &Archive, seq: u32, bytes: &[u8]) -> PathBuf {
        let path = archive.spool_path("t1", 7, seq);
        fs::write(&path, bytes).unwrap();
        path
    }

    fn u16_bytes(pixels: &[u16]) -> Vec<u8> {
        pixels.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    /// Every file under `dir`, relative, sorted.
    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![dir.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn night_changes_at_local_mean_noon() {
        let t = |s| teld_driver_protocol::time::parse_utc(s).unwrap();
        let la_palma = -17.9;
        assert_eq!(night_of(t("2026-11-25T02:00:00"), la_palma), "2026-11-24");
        assert_eq!(night_of(t("2026-11-24T20:00:00"), la_palma), "2026-11-24");
        // Local mean noon at -17.9° is 13:11:36 UTC: the night turns then.
        assert_eq!(night_of(t("2026-11-25T13:00:00"), la_palma), "2026-11-24");
        assert_eq!(night_of(t("2026-11-25T13:12:00"), la_palma), "2026-11-25");
        assert_eq!(night_of(t("2026-11-25T13:00:00"), 0.0), "2026-11-25");
        // At 150° E, 10:00 UTC is 20:00 local: the evening of the 25th. 23:30 UTC is
        // the next morning, still that night.
        assert_eq!(night_of(t("2026-11-25T10:00:00"), 150.0), "2026-11-25");
        assert_eq!(night_of(t("2026-11-25T23:30:00"), 150.0), "2026-11-25");
        assert_eq!(night_of(t("2026-11-25T01:30:00"), 150.0), "2026-11-24");
    }

    #[test]
    fn frame_lands_under_night_telescope_request() {
        let fx = fixture();
        let pixels: Vec<u16> = (0..12 * 10).map(|i| (i * 500) as u16).collect();
        let spool_file = spool(&fx.archive, 1, &u16_bytes(&pixels));
        let stored = fx
            .archive
            .store_frame(&spool_file, &info(12, 10, PixelType::U16), &sample_meta())
            .unwrap();

        assert_eq!(stored.relative, "2026-11-24/t1/r42/t1_20261124T220107123_r42_003.fits");
        assert!(stored.path.is_absolute());
        assert_eq!(stored.path, fx.archive.root().join(&stored.relative));
        assert_eq!(stored.bytes, fs::metadata(&stored.path).unwrap().len());
        assert_eq!(stored.bytes % 2880, 0);
        assert!(!spool_file.exists(), "spool file kept after success");
        assert_eq!(
            files(fx.archive.root()),
            std::slice::from_ref(&stored.relative),
            "stray files in the archive"
        );

        let mut f = FitsFile::open(&stored.path).unwrap();
        let hdu = f.primary_hdu().unwrap();
        let back: Vec<u16> = hdu.read_image(&mut f).unwrap();
        assert_eq!(back, pixels);
    }

    #[test]
    fn i32_and_f32_frames_keep_their_values() {
        let fx = fixture();
        let ints: Vec<i32> = vec![i32::MIN, -1, 0, 1, i32::MAX, 123_456];
        let bytes: Vec<u8> = ints.iter().flat_map(|p| p.to_le_bytes()).collect();
        let s = fx
            .archive
            .store_frame(
                &spool(&fx.archive, 1, &bytes),
                &info(3, 2, PixelType::I32),
                &sample_meta(),
            )
            .unwrap();
        let mut f = FitsFile::open(&s.path).unwrap();
        let hdu = f.primary_hdu().unwrap();
        assert_eq!(hdu.read_key::<i64>(&mut f, "BITPIX").unwrap(), 32);
        assert_eq!(hdu.read_image::<Vec<i32>>(&mut f).unwrap(), ints);

        let floats: Vec<f32> = vec![-1.5, 0.0, 1e-30, 65535.25, f32::MAX, 3.0];
        let bytes: Vec<u8> = floats.iter().flat_map(|p| p.to_le_bytes()).collect();
        let mut meta = sample_meta();
        meta.frame_seq = 4;
        let s = fx
            .archive
            .store_frame(&spool(&fx.archive, 2, &bytes), &info(3, 2, PixelType::F32), &meta)
            .unwrap();
        let mut f = FitsFile::open(&s.path).unwrap();
        let hdu = f.primary_hdu().unwrap();
        assert_eq!(hdu.read_key::<i64>(&mut f, "BITPIX").unwrap(), -32);
        assert_eq!(hdu.read_image::<Vec<f32>>(&mut f).unwrap(), floats);
    }

    #[test]
    fn rice_compresses_integer_frames_losslessly_and_leaves_floats_plain() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(&dir.path().join("archive"), &dir.path().join("spool"))
            .unwrap()
            .with_compression(Compression::Rice);
        assert_eq!(archive.compression(), Compression::Rice);
        let spool = |seq: u32, bytes: &[u8]| {
            let path = archive.spool_path("t1", 7, seq);
            fs::write(&path, bytes).unwrap();
            path
        };
        let mut meta = sample_meta();

        let pixels: Vec<u16> = (0..40 * 30).map(|i| (i * 37 % 65_536) as u16).collect();
        let s = archive
            .store_frame(&spool(1, &u16_bytes(&pixels)), &info(40, 30, PixelType::U16), &meta)
            .unwrap();
        let mut f = FitsFile::open(&s.path).unwrap();
        assert_eq!(f.num_hdus().unwrap(), 2);
        let hdu = f.hdu(1).unwrap();
        assert_eq!(hdu.read_image::<Vec<u16>>(&mut f).unwrap(), pixels);

        meta.frame_seq = 4;
        let ints: Vec<i32> = (0..40 * 30).map(|i| i * 1_000_003 - 600_000_000).collect();
        let bytes: Vec<u8> = ints.iter().flat_map(|p| p.to_le_bytes()).collect();
        let s =
            archive.store_frame(&spool(2, &bytes), &info(40, 30, PixelType::I32), &meta).unwrap();
        let rice_path = s.path.clone();
        let mut f = FitsFile::open(&s.path).unwrap();
        let hdu = f.hdu(1).unwrap();
        assert_eq!(hdu.read_key::<String>(&mut f, "ZCMPTYPE").unwrap(), "RICE_1");
        assert_eq!(hdu.read_image::<Vec<i32>>(&mut f).unwrap(), ints);

        meta.frame_seq = 5;
        let floats = vec![1.5f32; 6];
        let bytes: Vec<u8> = floats.iter().flat_map(|p| p.to_le_bytes()).collect();
        let s = archive.store_frame(&spool(3, &bytes), &info(3, 2, PixelType::F32), &meta).unwrap();
        let mut f = FitsFile::open(&s.path).unwrap();
        assert_eq!(f.num_hdus().unwrap(), 1, "a float frame was compressed");
        let hdu = f.primary_hdu().unwrap();
        assert_eq!(hdu.read_image::<Vec<f32>>(&mut f).unwrap(), floats);
        // Both HDUs of a Rice frame carry checksum cards (that they hold is checked
        // by astropy in tests/fits_archive.rs).
        let rice = fs::read(rice_path).unwrap();
        assert_eq!(rice.windows(9).filter(|w| w == b"CHECKSUM=").count(), 2);
        assert_eq!(rice.windows(9).filter(|w| w == b"DATASUM =").count(), 2);
    }

    #[test]
    fn wrong_spool_size_is_refused_and_the_spool_kept() {
        let fx = fixture();
        let spool_file = spool(&fx.archive, 1, &[0u8; 100]);
        let err = fx
            .archive
            .store_frame(&spool_file, &info(12, 10, PixelType::U16), &sample_meta())
            .unwrap_err();
        assert!(
            matches!(err, IngestError::SpoolSize { expected: 240, actual: 100, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("holds 100 bytes but the driver described 240 (12x10 u16)"), "{msg}");
        assert!(msg.contains("short or wrong image"), "{msg}");
        assert_eq!(fs::read(&spool_file).unwrap(), [0u8; 100], "spool file touched");
        assert!(files(fx.archive.root()).is_empty());
    }

    #[test]
    fn a_retried_frame_never_overwrites_the_first() {
        let fx = fixture();
        let first = fx
            .archive
            .store_frame(
                &spool(&fx.archive, 1, &u16_bytes(&[1; 6])),
                &info(3, 2, PixelType::U16),
                &sample_meta(),
            )
            .unwrap();
        let first_bytes = fs::read(&first.path).unwrap();
        let second = fx
            .archive
            .store_frame(
                &spool(&fx.archive, 1, &u16_bytes(&[2; 6])),
                &info(3, 2, PixelType::U16),
                &sample_meta(),
            )
            .unwrap();
        assert_eq!(second.relative, "2026-11-24/t1/r42/t1_20261124T220107123_r42_003-2.fits");
        assert_eq!(fs::read(&first.path).unwrap(), first_bytes, "first frame changed");
        let third = fx
            .archive
            .store_frame(
                &spool(&fx.archive, 1, &u16_bytes(&[3; 6])),
                &info(3, 2, PixelType::U16),
                &sample_meta(),
            )
            .unwrap();
        assert!(third.relative.ends_with("_003-3.fits"), "{}", third.relative);
    }

    #[test]
    fn same_frame_gives_identical_bytes() {
        // Nothing in the file comes from the wall clock (cfitsio's checksum comment
        // would), so a frame's file depends only on the frame.
        let (a, b) = (fixture(), fixture());
        let pixels = u16_bytes(&[7, 8, 9, 10, 11, 12]);
        let sa = a
            .archive
            .store_frame(
                &spool(&a.archive, 1, &pixels),
                &info(3, 2, PixelType::U16),
                &sample_meta(),
            )
            .unwrap();
        let sb = b
            .archive
            .store_frame(
                &spool(&b.archive, 1, &pixels),
                &info(3, 2, PixelType::U16),
                &sample_meta(),
            )
            .unwrap();
        assert_eq!(fs::read(sa.path).unwrap(), fs::read(sb.path).unwrap());
    }

    #[test]
    fn a_failed_write_leaves_no_temp_and_no_frame() {
        let fx = fixture();
        // A folder as "spool file": its size passes the check (we size the image to
        // match), opening it works, reading fails mid-write, after the temp FITS file
        // exists.
        let spool_dir = fx.archive.spool_path("t1", 7, 1);
        fs::create_dir(&spool_dir).unwrap();
        let len = fs::metadata(&spool_dir).unwrap().len() as u32;
        assert!(len >= 2 && len.is_multiple_of(2), "unexpected folder size {len}");
        let err = fx
            .archive
            .store_frame(&spool_dir, &info(len / 2, 1, PixelType::U16), &sample_meta())
            .unwrap_err();
        assert!(matches!(&err, IngestError::Io { path, .. } if path.ends_with(".raw")), "{err:?}");
        assert!(files(fx.archive.root()).is_empty(), "left behind: {:?}", files(fx.archive.root()));
        assert!(spool_dir.exists());
    }

    #[test]
    fn sweep_removes_only_crash_leftovers() {
        let fx = fixture();
        let stored = fx
            .archive
            .store_frame(
                &spool(&fx.archive, 1, &u16_bytes(&[1; 6])),
                &info(3, 2, PixelType::U16),
                &sample_meta(),
            )
            .unwrap();
        let dir = stored.path.parent().unwrap();
        let leftover = dir.join(temp_name("t1_20261124T230000000_r42_004.fits"));
        fs::write(&leftover, b"half a frame").unwrap();
        let unrelated = dir.join(".notes.tmp");
        fs::write(&unrelated, b"someone's notes").unwrap();

        assert_eq!(fx.archive.sweep_temp().unwrap(), std::slice::from_ref(&leftover));
        assert!(!leftover.exists() && unrelated.exists() && stored.path.exists());
        assert!(fx.archive.sweep_temp().unwrap().is_empty());
    }

    #[test]
    fn names() {
        assert_eq!(numbered("a_001.fits", 1), "a_001.fits");
        assert_eq!(numbered("a_001.fits", 2), "a_001-2.fits");
        let t = temp_name("a_001.fits");
        assert!(t.starts_with(".a_001.fits.") && is_temp_name(&t), "{t}");
        assert!(!is_temp_name("a_001.fits") && !is_temp_name(".a_001.fits"));
    }

    #[test]
    fn unusable_roots_and_telescope_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Archive::open(&dir.path().join("arch[1]"), &dir.path().join("spool")).err().unwrap();
        assert!(err.to_string().contains("[ ] ( ) !"), "{err}");

        let fx = fixture();
        let mut meta = sample_meta();
        meta.telescope = "../t1".into();
        let spool_file = spool(&fx.archive, 1, &u16_bytes(&[1; 6]));
        let err =
            fx.archive.store_frame(&spool_file, &info(3, 2, PixelType::U16), &meta).unwrap_err();
        assert!(matches!(err, IngestError::UnusablePath { .. }), "{err:?}");
        assert!(spool_file.exists());
    }
}
