//! Assessing one archived frame: its SHA-256, teld-quicklook's measurements and
//! verdict, and the PNG preview written next to it. Blocking (file I/O and a pass over
//! the pixels); callers run it on the blocking pool.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use fitsio::FitsFile;
use fitsio::hdu::HduInfo;
use hifitime::Epoch;
use sha2::{Digest, Sha256};
use teld_quicklook::{Image, QuickLook, Settings, preview_png, quick_look};

use super::PipelineError;
use crate::config::QuicklookConfig;
use crate::store::FrameQuality;

/// Frame kinds the verdict applies to: only a light frame of the sky has stars to
/// judge; darks, biases and flats are measured but never failed. `Light Frame` is the
/// usual IMAGETYP (teld, MaxIm DL, N.I.N.A. write it), `object` is IRAF's.
fn judged(imagetyp: &str) -> bool {
    let t = imagetyp.trim().to_ascii_lowercase();
    t.starts_with("light") || t == "object"
}

/// Everything learnt about a frame, for the store and the handoff message.
pub struct Assessed {
    pub quality: FrameQuality,
    /// The quick-look summary and verdict as JSON (no source list), `None` when the
    /// frame could not be measured.
    pub quicklook: Option<serde_json::Value>,
    /// Header values the handoff message repeats, so a subscriber can route a frame
    /// without opening it.
    pub header: HeaderFacts,
    /// SHA-256 of the primary data unit, for the inbox's duplicate check; `None` when
    /// the file's layout could not be read.
    pub data_sha256: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HeaderFacts {
    pub imagetyp: Option<String>,
    pub object: Option<String>,
    pub filter: Option<String>,
    pub date_obs: Option<String>,
    pub exptime_s: Option<f64>,
    pub checksum: Option<String>,
    pub datasum: Option<String>,
}

/// Assesses the frame at `archive_root/relative`. An unreadable or unmeasurable frame is
/// not an error of the pipeline: it is recorded as not judged, with the reason.
pub fn assess(
    archive_root: &Path,
    relative: &str,
    frame_id: i64,
    cfg: &QuicklookConfig,
    now: Epoch,
) -> Result<Assessed, PipelineError> {
    let path = archive_root.join(relative);
    let span = crate::ingest::primary_data_span(&path)
        .map_err(|e| tracing::warn!(frame = frame_id, "no data checksum for {relative}: {e}"))
        .ok();
    let (sha256, data_sha256) = sha256_file(&path, span)?;
    let mut quality = FrameQuality {
        frame_id,
        measured_at: now,
        sha256,
        pass: None,
        reason: None,
        detail: String::new(),
        background: None,
        noise: None,
        sources: None,
        fwhm_px: None,
        fwhm_arcsec: None,
        ellipticity: None,
        saturated_fraction: None,
        preview: None,
    };
    if !cfg.enabled {
        quality.detail = "not measured: quicklook.enabled is false".into();
        return Ok(Assessed {
            quality,
            quicklook: None,
            header: HeaderFacts::default(),
            data_sha256,
        });
    }
    let frame = match read_frame(&path) {
        Ok(f) => f,
        Err(why) => {
            quality.detail = format!("not measured: {why}");
            return Ok(Assessed {
                quality,
                quicklook: None,
                header: HeaderFacts::default(),
                data_sha256,
            });
        }
    };
    let settings = settings(cfg, &frame);
    let img = match Image::new(&frame.pixels, frame.width, frame.height) {
        Ok(img) => img,
        Err(e) => {
            quality.detail = format!("not measured: {e}");
            return Ok(Assessed { quality, quicklook: None, header: frame.facts, data_sha256 });
        }
    };
    let ql = match quick_look(&img, &settings) {
        Ok(ql) => ql,
        Err(e) => {
            quality.detail = format!("not measured: {e}");
            return Ok(Assessed { quality, quicklook: None, header: frame.facts, data_sha256 });
        }
    };
    let s = &ql.summary;
    quality.background = Some(s.background);
    quality.noise = Some(s.noise);
    quality.sources = Some(s.sources as u64);
    quality.fwhm_px = s.median_fwhm_px;
    quality.fwhm_arcsec = s.median_fwhm_arcsec;
    quality.ellipticity = s.median_ellipticity;
    quality.saturated_fraction = Some(s.saturated_fraction);
    let judged = frame.facts.imagetyp.as_deref().is_some_and(judged);
    if judged {
        quality.pass = Some(ql.verdict.pass);
        quality.reason = ql.verdict.reason.map(|r| reason_word(r).to_string());
        quality.detail = ql.verdict.detail.clone();
    } else {
        quality.detail = format!(
            "not judged: IMAGETYP is {}, only light frames are",
            frame.facts.imagetyp.as_deref().unwrap_or("missing")
        );
    }
    // A preview is a convenience: failing to write one is logged, never fatal.
    match write_preview(&path, &img, &ql, cfg.preview_max_px) {
        Ok(()) => quality.preview = Some(preview_name(relative)),
        Err(e) => tracing::warn!(frame = frame_id, "no preview for {relative}: {e}"),
    }
    let quicklook = serde_json::json!({
        "summary": ql.summary,
        "verdict": ql.verdict,
        "judged": judged,
    });
    Ok(Assessed { quality, quicklook: Some(quicklook), header: frame.facts, data_sha256 })
}

fn reason_word(r: teld_quicklook::FailReason) -> &'static str {
    match r {
        teld_quicklook::FailReason::Clouds => "clouds",
        teld_quicklook::FailReason::Trailing => "trailing",
        teld_quicklook::FailReason::Defocus => "defocus",
    }
}

/// `…/f3.fits` → `…/f3.preview.png` (beside the frame, so it moves with it).
pub fn preview_name(relative: &str) -> String {
    let stem = relative.strip_suffix(".fits").unwrap_or(relative);
    format!("{stem}.preview.png")
}

fn settings(cfg: &QuicklookConfig, frame: &Frame) -> Settings {
    let mut s = Settings { plate_scale_arcsec: frame.plate_scale_arcsec, ..Settings::default() };
    if let Some(e) = cfg.max_ellipticity {
        s.limits.max_ellipticity = e;
    }
    if let Some(f) = cfg.max_fwhm_arcsec {
        s.limits.max_fwhm_arcsec = f;
    }
    if let Some(n) = cfg.min_sources {
        s.limits.min_sources = n;
    }
    if let Some(sat) = frame.saturation_adu {
        s.saturation_adu = sat;
    }
    s
}

struct Frame {
    pixels: Vec<f32>,
    width: usize,
    height: usize,
    plate_scale_arcsec: Option<f64>,
    saturation_adu: Option<f64>,
    facts: HeaderFacts,
}

/// The primary image as f32 (exact for 16-bit data) and the header values we use.
fn read_frame(path: &Path) -> Result<Frame, String> {
    let mut f = FitsFile::open(path).map_err(|e| format!("cfitsio cannot open it: {e}"))?;
    let hdu = f.primary_hdu().map_err(|e| format!("no primary HDU: {e}"))?;
    let (width, height) = match &hdu.info {
        HduInfo::ImageInfo { shape, .. } if shape.len() == 2 => (shape[1], shape[0]),
        HduInfo::ImageInfo { shape, .. } => {
            return Err(format!("the primary image has {} axes, not 2", shape.len()));
        }
        _ => return Err("the primary HDU is not an image".into()),
    };
    let pixels: Vec<f32> =
        hdu.read_image(&mut f).map_err(|e| format!("cannot read the pixels: {e}"))?;
    let mut text = |k: &str| hdu.read_key::<String>(&mut f, k).ok().map(|v| v.trim().to_string());
    let facts = HeaderFacts {
        imagetyp: text("IMAGETYP"),
        object: text("OBJECT"),
        filter: text("FILTER"),
        date_obs: text("DATE-OBS"),
        exptime_s: None,
        checksum: text("CHECKSUM"),
        datasum: text("DATASUM"),
    };
    let mut num = |k: &str| hdu.read_key::<f64>(&mut f, k).ok().filter(|v| v.is_finite());
    let exptime_s = num("EXPTIME");
    // |det CD| is the pixel's area on the sky: its root the plate scale, whatever the
    // rotation and flip.
    let scale = match (num("CD1_1"), num("CD1_2"), num("CD2_1"), num("CD2_2")) {
        (Some(a), Some(b), Some(c), Some(d)) => Some((a * d - b * c).abs().sqrt() * 3600.0),
        _ => None,
    }
    .filter(|s| *s > 0.0);
    let saturation_adu = num("SATURATE");
    Ok(Frame {
        pixels,
        width,
        height,
        plate_scale_arcsec: scale,
        saturation_adu,
        facts: HeaderFacts { exptime_s, ..facts },
    })
}

/// SHA-256 of the whole file and, in the same pass, of the byte range `span` (start,
/// length): one read of the file for both.
fn sha256_file(
    path: &Path,
    span: Option<(u64, u64)>,
) -> Result<(String, Option<String>), PipelineError> {
    let io = |source| PipelineError::Io { path: path.display().to_string(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let (mut whole, mut part) = (Sha256::new(), Sha256::new());
    let (start, end) = span.map_or((0, 0), |(s, n)| (s, s + n));
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        whole.update(&buf[..n]);
        let (lo, hi) = (start.max(at), end.min(at + n as u64));
        if lo < hi {
            part.update(&buf[(lo - at) as usize..(hi - at) as usize]);
        }
        at += n as u64;
    }
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let data = span.filter(|_| at >= end).map(|_| hex(&part.finalize()));
    Ok((hex(&whole.finalize()), data))
}

fn write_preview(
    frame: &Path,
    img: &Image<'_, f32>,
    ql: &QuickLook,
    max_side: usize,
) -> Result<(), String> {
    let (png, _, _) = preview_png(img, ql.summary.background, ql.summary.noise, max_side)
        .map_err(|e| e.to_string())?;
    let name = frame.file_name().and_then(|n| n.to_str()).ok_or("frame path has no name")?;
    let target = frame.with_file_name(preview_name(name));
    let tmp: PathBuf = frame.with_file_name(format!(".{name}.preview.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&png)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", target.display())
    })
}
