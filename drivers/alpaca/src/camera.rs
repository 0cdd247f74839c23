//! ICamera over Alpaca. An exposure is started, confirmed by `ImageReady`, and its
//! image downloaded as ImageBytes into the daemon's spool file.
//!
//! `ImageReady` is believed only for an exposure this driver started and did not
//! abort: some servers (the PyPI simulators among them) finish an aborted exposure in
//! the background and raise `ImageReady` later, and that frame must not be taken for
//! the next one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, CameraState, CameraStatus, DeviceState, ErrorCode, ImageInfo};

use crate::client::{Endpoint, Failure};

/// What was asked of the exposure in progress.
#[derive(Debug, Clone, Copy)]
struct Pending {
    light: bool,
    bin: u32,
    /// The device has said `ImageReady` for this exposure. Servers clear the flag once
    /// an image is downloaded, even by a request whose answer was lost to a timeout,
    /// so the image may be fetched again after that.
    ready_seen: bool,
}

pub struct Camera {
    ep: Endpoint,
    spool_dir: PathBuf,
    caps: BTreeMap<String, bool>,
    x_size: u32,
    y_size: u32,
    max_bin: u32,
    pixel_size: (f64, f64),
    sensor_name: String,
    electrons_per_adu: f64,
    pending: Mutex<Option<Pending>>,
}

impl Camera {
    pub async fn connect(ep: Endpoint, spool_dir: PathBuf) -> Result<Camera, CallError> {
        crate::connect(&ep).await?;
        let mut caps = BTreeMap::new();
        for (name, member) in [
            ("can_abort_exposure", "canabortexposure"),
            ("can_stop_exposure", "canstopexposure"),
            ("can_asymmetric_bin", "canasymmetricbin"),
        ] {
            caps.insert(name.to_string(), ep.can(member).await?);
        }
        let (x_size, y_size) = (ep.get_i64("cameraxsize").await?, ep.get_i64("cameraysize").await?);
        let max_bin = ep.get_i64("maxbinx").await?.min(ep.get_i64("maxbiny").await?);
        let dims = [x_size, y_size, max_bin];
        if dims.iter().any(|&d| !(1..=65_536).contains(&d)) {
            return Err(CallError::new(
                ErrorCode::DeviceFault,
                format!("{}: implausible sensor size or binning {dims:?}", ep.address),
            ));
        }
        let pixel_size = (ep.get_f64("pixelsizex").await?, ep.get_f64("pixelsizey").await?);
        let sensor_name = ep.get_string("sensorname").await.unwrap_or_default();
        let electrons_per_adu = ep.get_f64("electronsperadu").await.unwrap_or(1.0);
        Ok(Camera {
            ep,
            spool_dir,
            caps,
            x_size: x_size as u32,
            y_size: y_size as u32,
            max_bin: max_bin as u32,
            pixel_size,
            sensor_name,
            electrons_per_adu,
            pending: Mutex::new(None),
        })
    }

    pub fn capabilities(&self) -> BTreeMap<String, bool> {
        self.caps.clone()
    }

    fn pending(&self) -> Option<Pending> {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_pending(&self, p: Option<Pending>) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = p;
    }

    fn mark_ready(&self) {
        if let Some(p) = self.pending.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            p.ready_seen = true;
        }
    }

    pub async fn state(&self) -> Result<DeviceState, Failure> {
        let ep = &self.ep;
        let (code, ready, percent) = tokio::try_join!(
            ep.get_i64("camerastate"),
            ep.get_bool("imageready"),
            ep.get_i64("percentcompleted"),
        )?;
        let (bin_x, bin_y) = tokio::try_join!(ep.get_i64("binx"), ep.get_i64("biny"))?;
        let ccd_temperature = match ep.get_f64("ccdtemperature").await {
            Ok(t) => t,
            Err(e) if e.not_implemented() => f64::NAN,
            Err(e) => return Err(e),
        };
        let camera_state = match code {
            0 => CameraStatus::Idle,
            1 => CameraStatus::Waiting,
            2 => CameraStatus::Exposing,
            3 => CameraStatus::Reading,
            4 => CameraStatus::Download,
            _ => CameraStatus::Error,
        };
        let image_ready = ready && self.pending().is_some();
        if image_ready {
            self.mark_ready();
        }
        Ok(DeviceState::Camera(CameraState {
            connected: true,
            camera_state,
            image_ready,
            percent_completed: percent.clamp(0, 100) as u8,
            ccd_temperature,
            camera_x_size: self.x_size,
            camera_y_size: self.y_size,
            pixel_size_x: self.pixel_size.0,
            pixel_size_y: self.pixel_size.1,
            bin_x: bin_x.max(1) as u32,
            bin_y: bin_y.max(1) as u32,
            sensor_name: self.sensor_name.clone(),
            electrons_per_adu: self.electrons_per_adu,
        }))
    }

    pub async fn call(&self, call: Call) -> Result<Value, CallError> {
        match call {
            Call::StartExposure { duration, light, bin } => self.start(duration, light, bin).await,
            Call::AbortExposure => self.abort().await,
            Call::ReadImage { spool_path } => self.read(&spool_path).await,
            other => Err(crate::not_for("camera", &other)),
        }
    }

    async fn start(&self, duration: f64, light: bool, bin: u32) -> Result<Value, CallError> {
        if !(1..=self.max_bin).contains(&bin) {
            return Err(CallError::new(
                ErrorCode::InvalidValue,
                format!("{}: binning {bin} is outside 1..={}", self.ep.address, self.max_bin),
            ));
        }
        let ep = &self.ep;
        // The subframe is given in binned pixels and servers do not adjust it when the
        // binning changes: set all of it, every time.
        for (member, param, v) in [
            ("binx", "BinX", bin),
            ("biny", "BinY", bin),
            ("startx", "StartX", 0),
            ("starty", "StartY", 0),
            ("numx", "NumX", self.x_size / bin),
            ("numy", "NumY", self.y_size / bin),
        ] {
            ep.put(member, &[(param, v.to_string())]).await?;
        }
        self.set_pending(Some(Pending { light, bin, ready_seen: false }));
        let params = [("Duration", duration.to_string()), ("Light", light.to_string())];
        if let Err(e) = ep.put("startexposure", &params).await {
            self.set_pending(None);
            return Err(e.into());
        }
        Ok(json!({}))
    }

    async fn abort(&self) -> Result<Value, CallError> {
        self.set_pending(None);
        let member = if self.caps.get("can_abort_exposure").copied().unwrap_or(false) {
            "abortexposure"
        } else if self.caps.get("can_stop_exposure").copied().unwrap_or(false) {
            // The frame is discarded anyway: `pending` is cleared.
            "stopexposure"
        } else {
            return Err(CallError::new(
                ErrorCode::NotImplemented,
                format!("{}: the camera can neither abort nor stop an exposure", self.ep.address),
            ));
        };
        self.ep.put(member, &[]).await?;
        Ok(json!({}))
    }

    async fn read(&self, spool_path: &str) -> Result<Value, CallError> {
        let path = inside(&self.spool_dir, spool_path)?;
        let Some(pending) = self.pending() else {
            return Err(CallError::new(
                ErrorCode::InvalidOperation,
                "no exposure to read: none was started, or it was aborted; start one first",
            ));
        };
        let ep = &self.ep;
        if !pending.ready_seen && !ep.get_bool("imageready").await? {
            return Err(CallError::new(
                ErrorCode::InvalidOperation,
                format!("{}: the image is not ready yet; wait for image_ready", ep.address),
            ));
        }
        let image = ep.image().await?;
        let exposure_start = match ep.get_string("lastexposurestarttime").await {
            Ok(s) => normalise_start(&s),
            Err(_) => None,
        }
        .unwrap_or_else(|| {
            teld_driver_protocol::time::format_utc(hifitime::Epoch::now().unwrap_or_default())
        });
        let duration = ep.get_f64("lastexposureduration").await?;
        let info = ImageInfo {
            width: image.width as u32,
            height: image.height as u32,
            pixel_type: image.pixel,
            exposure_start,
            duration,
            light: pending.light,
            bin_x: pending.bin,
            bin_y: pending.bin,
        };
        let data = image.data;
        let written = tokio::task::spawn_blocking(move || write_spool(&path, &data)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(CallError::new(
                    ErrorCode::DeviceFault,
                    format!("cannot write the image to the spool file: {e}; check the disk"),
                ));
            }
            Err(e) => return Err(CallError::new(ErrorCode::DeviceFault, e.to_string())),
        }
        self.set_pending(None);
        Ok(serde_json::to_value(info).unwrap_or_default())
    }

    pub async fn make_safe(&self) {
        if self.pending().is_some() {
            let _ = self.abort().await;
        }
    }
}

/// The spool file named by the daemon, refused outside the spool folder.
fn inside(spool_dir: &Path, spool_path: &str) -> Result<PathBuf, CallError> {
    let path = PathBuf::from(spool_path);
    let ok = path.is_absolute()
        && path.starts_with(spool_dir)
        && !path.components().any(|c| matches!(c, std::path::Component::ParentDir));
    if ok {
        Ok(path)
    } else {
        Err(CallError::new(
            ErrorCode::InvalidValue,
            format!("spool path {spool_path} is outside the spool folder {}", spool_dir.display()),
        ))
    }
}

fn write_spool(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// ASCOM's `CCYY-MM-DDThh:mm:ss[.sss…]` as the protocol's microsecond form.
fn normalise_start(s: &str) -> Option<String> {
    let epoch = teld_driver_protocol::time::parse_utc(s.trim()).ok()?;
    Some(teld_driver_protocol::time::format_utc(epoch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_paths_outside_the_folder_are_refused() {
        let dir = Path::new("/var/spool/teld");
        assert!(inside(dir, "/var/spool/teld/f1.raw").is_ok());
        for bad in ["/etc/passwd", "/var/spool/teld/../x", "relative.raw"] {
            let e = inside(dir, bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidValue, "{bad}");
        }
    }

    #[test]
    fn exposure_start_times_are_normalised() {
        assert_eq!(
            normalise_start("2026-11-24T22:01:07.12").as_deref(),
            Some("2026-11-24T22:01:07.120000")
        );
        assert_eq!(normalise_start("garbage"), None);
    }
}
