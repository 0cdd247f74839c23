//! Taking one frame: expose, confirm from the camera, read into the spool, write the
//! FITS into the archive, register it.

use std::sync::Arc;

use teld_driver_protocol::{CameraStatus, ImageInfo};

use super::ObserveContext;
use super::block::Stop;
use crate::config::TelescopeConfig;
use crate::devices::{DeviceError, Telescope, wait_for};
use crate::ingest::{FrameMeta, ImageType, MountPointing};
use crate::store::{NewFrame, RequestRecord};

pub(super) struct TakenFrame {
    pub id: i64,
    pub path: String,
}

pub(super) async fn take_frame(
    tel: &Telescope,
    cfg: &TelescopeConfig,
    ctx: &ObserveContext,
    req: &RequestRecord,
    obs: i64,
    seq: u32,
) -> Result<TakenFrame, Stop> {
    let spec = &req.spec;
    let clock = &ctx.clock;
    // Headers describe the sky at the start of the exposure, read from the devices.
    let mount = tel.mount.state().await?;
    let weather = tel.weather.state().await.ok();
    let date_obs = clock.now();
    tel.camera.start_exposure(spec.exposure_s, true).await?;
    let timeout = spec.exposure_s + cfg.readout_timeout_s;
    let cam = &tel.camera;
    let camera = wait_for(
        clock,
        &cam.0,
        "exposure to finish",
        timeout,
        || cam.state(),
        |s| s.image_ready || s.camera_state == CameraStatus::Error,
    )
    .await?;
    if camera.camera_state == CameraStatus::Error {
        return Err(Stop::Device(DeviceError::Device {
            driver: cam.0.driver.name().into(),
            device: cam.0.name.clone(),
            method: "start_exposure".into(),
            code: teld_driver_protocol::ErrorCode::DeviceFault,
            message: "camera reports an error state during the exposure".into(),
        }));
    }
    let spool = ctx.archive.spool_path(&tel.name, obs, seq);
    let info: ImageInfo = cam.read_image(&spool).await?;
    let pointing = tel.pointing_icrs(&mount);
    let meta = FrameMeta {
        date_obs,
        exptime_s: info.duration,
        image_type: if info.light { ImageType::Light } else { ImageType::Dark },
        object: spec.target.name.clone(),
        observer: spec.observer.clone(),
        request_id: req.id,
        observation_id: obs,
        frame_seq: seq,
        telescope: tel.name.clone(),
        telescop: cfg.model.clone().unwrap_or_else(|| tel.name.clone()),
        instrument: cfg.instrument.clone().unwrap_or_else(|| camera.sensor_name.clone()),
        filter: spec.filter.clone(),
        bin_x: info.bin_x,
        bin_y: info.bin_y,
        gain_e_per_adu: Some(camera.electrons_per_adu),
        ccd_temp_c: Some(camera.ccd_temperature),
        site_name: ctx.site.name.clone(),
        site: ctx.site.site(),
        target: spec.target.icrs(),
        mount: Some(MountPointing {
            icrs: pointing,
            alt_deg: mount.altitude,
            az_deg: mount.azimuth,
        }),
        airmass: teld_astro::Horizontal { alt_deg: mount.altitude, az_deg: mount.azimuth }
            .airmass(),
        weather,
        device_exposure_start: Some(info.exposure_start.clone()),
        software: crate::SOFTWARE.to_string(),
    };
    let archive = Arc::clone(&ctx.archive);
    let spool_file = spool.clone();
    let meta_for_write = meta.clone();
    let stored = tokio::task::spawn_blocking(move || {
        archive.store_frame(&spool_file, &info, &meta_for_write)
    })
    .await
    .map_err(|e| Stop::Interrupted(format!("frame writer task failed: {e}")))??;
    let new = NewFrame {
        request_id: req.id,
        observation_id: obs,
        telescope: &tel.name,
        path: &stored.relative,
        date_obs,
        exptime_s: meta.exptime_s,
        bytes: stored.bytes,
    };
    let id = ctx.store.insert_frame(&new, clock.now()).await?;
    tracing::info!(request = req.id, frame = id, seq, path = %stored.relative, "frame stored");
    Ok(TakenFrame { id, path: stored.relative })
}
