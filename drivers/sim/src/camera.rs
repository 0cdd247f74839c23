//! The simulated camera (ASCOM ICameraV4): exposing for the requested time, reading out
//! for `readout_s`, then idle with `image_ready`. The pixels are rendered only when the
//! daemon asks for them, from a [`Scene`] captured when the exposure ended, so a frame
//! is deterministic and costs nothing until it is read.

use hifitime::{Duration, Epoch};
use teld_driver_protocol::{CameraState, CameraStatus, ErrorCode, ImageInfo, PixelType};

use crate::error::Coded;
use crate::render::Scene;
use crate::settings::CameraSettings;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CameraError {
    #[error("exposure duration {duration} s is outside 0..{max} s (ASCOM ExposureMin/ExposureMax)")]
    BadDuration { duration: f64, max: f64 },
    #[error("the camera is busy ({0:?}); wait for image_ready or call abort_exposure first")]
    Busy(CameraStatus),
    #[error("no image is ready: call start_exposure and wait for image_ready before read_image")]
    NoImage,
    #[error("binning {0} is not supported: 1 to {MAX_BIN} (ASCOM MaxBinX)")]
    BadBinning(u32),
}

/// Highest on-chip binning the simulated camera offers (ASCOM MaxBinX = MaxBinY).
pub const MAX_BIN: u32 = 4;

impl Coded for CameraError {
    fn code(&self) -> ErrorCode {
        match self {
            CameraError::BadDuration { .. } | CameraError::BadBinning(_) => ErrorCode::InvalidValue,
            CameraError::Busy(_) | CameraError::NoImage => ErrorCode::InvalidOperation,
        }
    }
}

/// One exposure, from start to its image.
#[derive(Debug, Clone)]
struct Exposure {
    start: Epoch,
    duration: f64,
    light: bool,
    bin: u32,
    /// Filled in when the shutter closes.
    scene: Option<Scene>,
}

impl Exposure {
    fn exposure_end(&self) -> Epoch {
        self.start + Duration::from_seconds(self.duration)
    }
}

/// What `read_image` needs to render and describe a frame, detached from the camera so
/// rendering can run off the message loop.
#[derive(Debug, Clone)]
pub struct Frame {
    pub cfg: CameraSettings,
    pub scene: Scene,
    pub info: ImageInfo,
}

#[derive(Debug, Clone)]
pub struct Camera {
    cfg: CameraSettings,
    active: Option<Exposure>,
    /// The last completed exposure; ASCOM keeps ImageReady true until the next start.
    ready: Option<Exposure>,
}

impl Camera {
    pub fn new(cfg: CameraSettings) -> Self {
        Camera { cfg, active: None, ready: None }
    }

    pub fn settings(&self) -> &CameraSettings {
        &self.cfg
    }

    fn readout_end(&self, e: &Exposure) -> Epoch {
        e.exposure_end() + Duration::from_seconds(self.cfg.readout_s)
    }

    /// Status and percent done at `t`.
    fn status(&self, t: Epoch) -> (CameraStatus, bool, u8) {
        let pct = |from: Epoch, seconds: f64| {
            if seconds <= 0.0 {
                100
            } else {
                ((t - from).to_seconds() / seconds * 100.0).clamp(0.0, 100.0) as u8
            }
        };
        match &self.active {
            Some(e) if t < e.exposure_end() => {
                (CameraStatus::Exposing, false, pct(e.start, e.duration))
            }
            Some(e) if t < self.readout_end(e) => {
                (CameraStatus::Reading, false, pct(e.exposure_end(), self.cfg.readout_s))
            }
            Some(_) => (CameraStatus::Idle, true, 100),
            None if self.ready.is_some() => (CameraStatus::Idle, true, 100),
            None => (CameraStatus::Idle, false, 0),
        }
    }

    pub fn state(&self, t: Epoch) -> CameraState {
        let (camera_state, image_ready, percent_completed) = self.status(t);
        let c = &self.cfg;
        let bin = self.active.as_ref().or(self.ready.as_ref()).map_or(1, |e| e.bin);
        CameraState {
            connected: true,
            camera_state,
            image_ready,
            percent_completed,
            ccd_temperature: c.ccd_temperature_c,
            camera_x_size: c.width,
            camera_y_size: c.height,
            pixel_size_x: c.pixel_size_um,
            pixel_size_y: c.pixel_size_um,
            bin_x: bin,
            bin_y: bin,
            sensor_name: c.sensor_name.clone(),
            electrons_per_adu: c.gain_e_per_adu,
        }
    }

    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        let e = self.active.as_ref()?;
        [e.exposure_end(), self.readout_end(e)].into_iter().find(|&edge| edge > t)
    }

    /// Applies what happened by `t`: when the exposure has ended, `capture` records its
    /// scene (start, end, light); when readout has ended, the image becomes ready.
    pub fn settle(&mut self, t: Epoch, capture: impl FnOnce(Epoch, Epoch, bool) -> Scene) {
        let readout_end = match &self.active {
            Some(e) => self.readout_end(e),
            None => return,
        };
        let e = self.active.as_mut().expect("checked above");
        if e.scene.is_none() && e.exposure_end() <= t {
            e.scene = Some(capture(e.start, e.exposure_end(), e.light));
        }
        if readout_end <= t {
            self.ready = self.active.take();
        }
    }

    /// ASCOM StartExposure: asynchronous; a 0 s exposure is a bias frame.
    pub fn start_exposure(
        &mut self,
        now: Epoch,
        duration: f64,
        light: bool,
        bin: u32,
    ) -> Result<(), CameraError> {
        if !(1..=MAX_BIN).contains(&bin) {
            return Err(CameraError::BadBinning(bin));
        }
        let max = self.cfg.max_exposure_s;
        if !(duration.is_finite() && (0.0..=max).contains(&duration)) {
            return Err(CameraError::BadDuration { duration, max });
        }
        let (status, _, _) = self.status(now);
        if self.active.is_some() && status != CameraStatus::Idle {
            return Err(CameraError::Busy(status));
        }
        self.ready = None;
        self.active = Some(Exposure { start: now, duration, light, bin, scene: None });
        Ok(())
    }

    /// The daemon's clock was set back by `to − from`: an exposure under way keeps its
    /// elapsed and remaining time.
    pub fn rebase(&mut self, from: Epoch, to: Epoch) {
        if let Some(e) = self.active.as_mut() {
            e.start += to - from;
        }
    }

    /// ASCOM AbortExposure: back to idle, the frame discarded; harmless when idle.
    pub fn abort_exposure(&mut self, now: Epoch) {
        if matches!(self.status(now).0, CameraStatus::Exposing | CameraStatus::Reading) {
            self.active = None;
            self.ready = None;
        }
    }

    /// The ready frame's scene and description (ASCOM ImageArray + LastExposure*).
    pub fn frame(&self, now: Epoch) -> Result<Frame, CameraError> {
        let (status, ready, _) = self.status(now);
        let e = match (&self.active, &self.ready) {
            (Some(e), _) if ready => e,
            (None, Some(e)) => e,
            _ if status == CameraStatus::Idle => return Err(CameraError::NoImage),
            _ => return Err(CameraError::Busy(status)),
        };
        let scene = e.scene.clone().ok_or(CameraError::NoImage)?;
        let cfg = binned(&self.cfg, e.bin);
        let info = ImageInfo {
            width: cfg.width,
            height: cfg.height,
            pixel_type: PixelType::U16,
            exposure_start: teld_driver_protocol::time::format_utc(e.start),
            duration: e.duration,
            light: e.light,
            bin_x: e.bin,
            bin_y: e.bin,
        };
        Ok(Frame { cfg, scene, info })
    }
}

/// The sensor as a binned readout sees it: fewer, larger pixels, each collecting the
/// sky and dark current of `bin²` pixels and read out once (on-chip binning).
fn binned(cfg: &CameraSettings, bin: u32) -> CameraSettings {
    let b = bin as f64;
    CameraSettings {
        width: cfg.width / bin,
        height: cfg.height / bin,
        pixel_size_um: cfg.pixel_size_um * b,
        plate_scale_arcsec: cfg.plate_scale_arcsec * b,
        dark_e_per_s: cfg.dark_e_per_s * b * b,
        ..cfg.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teld_astro::Icrs;

    fn t(s: f64) -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0) + Duration::from_seconds(s)
    }

    fn scene(_: Epoch, _: Epoch, light: bool) -> Scene {
        Scene {
            pointings: vec![Icrs { ra_deg: 10.0, dec_deg: 20.0 }],
            duration_s: 60.0,
            light,
            open_fraction: 1.0,
            sky_mag_arcsec2: 20.8,
            transmission: 1.0,
            noise_seed: 1,
        }
    }

    #[test]
    fn exposes_reads_out_then_holds_the_image() {
        let mut c = Camera::new(CameraSettings::default());
        assert_eq!(c.state(t(0.0)).camera_state, CameraStatus::Idle);
        c.start_exposure(t(0.0), 60.0, true, 1).unwrap();
        let s = c.state(t(30.0));
        assert_eq!(
            (s.camera_state, s.image_ready, s.percent_completed),
            (CameraStatus::Exposing, false, 50)
        );
        assert_eq!(c.next_change_after(t(30.0)), Some(t(60.0)));
        assert_eq!(
            c.start_exposure(t(30.0), 1.0, true, 1),
            Err(CameraError::Busy(CameraStatus::Exposing))
        );
        c.settle(t(61.0), scene);
        let s = c.state(t(61.0));
        assert_eq!((s.camera_state, s.percent_completed), (CameraStatus::Reading, 50));
        assert_eq!(c.frame(t(61.0)).unwrap_err().code(), ErrorCode::InvalidOperation);
        assert_eq!(c.next_change_after(t(61.0)), Some(t(62.0)));
        c.settle(t(62.0), |_, _, _| unreachable!("scene captured once"));
        let s = c.state(t(62.0));
        assert!(s.image_ready && s.camera_state == CameraStatus::Idle);
        assert_eq!(c.next_change_after(t(62.0)), None);
        let f = c.frame(t(62.0)).unwrap();
        assert_eq!(f.info.exposure_start, "2026-11-24T23:00:00.000000");
        assert_eq!((f.info.width, f.info.duration, f.info.light), (1024, 60.0, true));
        assert!(c.frame(t(100.0)).is_ok(), "still ready after a read (ASCOM)");
        c.start_exposure(t(100.0), 1.0, false, 1).unwrap();
        assert!(!c.state(t(100.0)).image_ready, "a new exposure clears image_ready");
    }

    #[test]
    fn refuses_bad_durations_with_the_limits() {
        let mut c = Camera::new(CameraSettings::default());
        for d in [-1.0, 3601.0, f64::NAN] {
            let e = c.start_exposure(t(0.0), d, true, 1).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidValue);
            assert!(e.to_string().contains("3600"), "{e}");
        }
        c.start_exposure(t(0.0), 0.0, false, 1).unwrap();
        assert_eq!(c.state(t(0.0)).camera_state, CameraStatus::Reading, "bias frames read at once");
    }

    #[test]
    fn abort_discards_the_frame() {
        let mut c = Camera::new(CameraSettings::default());
        c.start_exposure(t(0.0), 60.0, true, 1).unwrap();
        c.abort_exposure(t(10.0));
        let s = c.state(t(10.0));
        assert!(s.camera_state == CameraStatus::Idle && !s.image_ready);
        assert_eq!(c.frame(t(10.0)).unwrap_err(), CameraError::NoImage);
        assert_eq!(c.next_change_after(t(10.0)), None);
        c.abort_exposure(t(11.0)); // idle: harmless
        c.start_exposure(t(11.0), 1.0, true, 1).unwrap();
    }

    #[test]
    fn binning_gives_fewer_larger_pixels_and_is_reported() {
        let mut c = Camera::new(CameraSettings::default());
        let full = (c.cfg.width, c.cfg.height, c.cfg.plate_scale_arcsec);
        c.start_exposure(t(0.0), 1.0, true, 2).unwrap();
        assert_eq!((c.state(t(0.5)).bin_x, c.state(t(0.5)).bin_y), (2, 2));
        c.settle(t(100.0), scene);
        let f = c.frame(t(100.0)).unwrap();
        assert_eq!((f.info.width, f.info.height), (full.0 / 2, full.1 / 2));
        assert_eq!((f.info.bin_x, f.info.bin_y), (2, 2));
        assert_eq!(f.cfg.plate_scale_arcsec, full.2 * 2.0);
        let e = c.start_exposure(t(200.0), 1.0, true, 5).unwrap_err();
        assert!(e.to_string().contains("binning 5"), "{e}");
    }
}
