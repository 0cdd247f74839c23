//! Taking one frame: expose and confirm from the camera (interruptible), then read
//! into the spool, write the FITS into the archive and register it (not
//! interruptible: once the camera holds the image, the frame is finished and stored
//! whatever happens to the block).

use std::path::PathBuf;
use std::sync::Arc;

use teld_driver_protocol::CameraStatus;

use super::ObserveContext;
use super::block::Stop;
use crate::clock::Clock;
use crate::config::TelescopeConfig;
use crate::core::{Core, Event};
use crate::devices::{Camera, DeviceError, Telescope, wait_for};
use crate::ingest::{Archive, Detector, FrameMeta, ImageType, MoonAtFrame, MountPointing, Wcs};
use crate::pipeline::Pipeline;
use crate::store::{NewFrame, RequestRecord, Store};

/// Which frame of the request, and how to place its target (at mid-exposure, for a
/// moving one; where the mount was pointed if that fails).
pub(super) struct Shot<'a> {
    pub seq: u32,
    pub motion: Option<&'a crate::model::Motion>,
    pub pointed: teld_astro::Icrs,
    pub plan_id: Option<&'a str>,
}

pub(super) async fn take_frame(
    tel: &Telescope,
    cfg: &TelescopeConfig,
    ctx: &ObserveContext,
    req: &RequestRecord,
    obs: i64,
    shot: Shot<'_>,
) -> Result<(), Stop> {
    let Shot { seq, motion, pointed, plan_id } = shot;
    let spec = &req.spec;
    let clock = &ctx.clock;
    // Headers describe the sky at the start of the exposure, read from the devices.
    let mount = tel.mount.state().await?;
    let weather = tel.weather.state().await.ok();
    let optics = tel.optics.report(spec.filter.as_deref()).await?;
    let date_obs = clock.now();
    let mid = date_obs + hifitime::Duration::from_seconds(spec.exposure_s / 2.0);
    let target = motion.and_then(|m| m.place(&ctx.site.site(), mid).ok()).unwrap_or(pointed);
    tel.camera.start_exposure(spec.exposure_s, true, spec.binning.unwrap_or(1)).await?;
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
    let meta = FrameMeta {
        date_obs,
        exptime_s: spec.exposure_s,
        image_type: ImageType::Light,
        object: spec.target.name.clone(),
        observer: spec.observer.clone(),
        request_id: req.id,
        observation_id: obs,
        frame_seq: seq,
        plan_id: plan_id.map(str::to_string),
        telescope: tel.name.clone(),
        telescop: cfg.model.clone().unwrap_or_else(|| tel.name.clone()),
        instrument: cfg.instrument.clone().unwrap_or_else(|| camera.sensor_name.clone()),
        filter: optics.filter,
        bin_x: camera.bin_x,
        bin_y: camera.bin_y,
        gain_e_per_adu: Some(camera.electrons_per_adu),
        ccd_temp_c: Some(camera.ccd_temperature),
        focus_position: optics.focus_position,
        focuser_temp_c: optics.focuser_temperature,
        site_name: ctx.site.name.clone(),
        site: ctx.site.site(),
        target,
        mount: Some(MountPointing {
            icrs: tel.pointing_icrs(&mount),
            alt_deg: mount.altitude,
            az_deg: mount.azimuth,
        }),
        airmass: teld_astro::Horizontal { alt_deg: mount.altitude, az_deg: mount.azimuth }
            .airmass(),
        weather,
        device_exposure_start: None,
        software: crate::SOFTWARE.to_string(),
        wcs: None,
        moon: moon_at(&ctx.site.site(), date_obs, target),
    };
    let detector = detector(cfg, camera.pixel_size_x);
    let job = Finish {
        camera: tel.camera.clone(),
        archive: Arc::clone(&ctx.archive),
        store: ctx.store.clone(),
        core: ctx.core.clone(),
        clock: ctx.clock.clone(),
        pipeline: ctx.pipeline.clone(),
        spool: ctx.archive.spool_path(&tel.name, obs, seq),
        meta,
        detector,
    };
    // A task of its own: if the block is interrupted now (weather, shutdown), dropping
    // this future does not cancel the task, so the frame still lands in the archive
    // and the store instead of being half done.
    tokio::spawn(job.run())
        .await
        .map_err(|e| Stop::Interrupted(format!("frame writer task failed: {e}")))?
}

/// The uninterruptible part of a frame.
struct Finish {
    camera: Camera,
    archive: Arc<Archive>,
    store: Store,
    core: Core,
    clock: Clock,
    pipeline: Pipeline,
    spool: PathBuf,
    meta: FrameMeta,
    detector: Option<Detector>,
}

impl Finish {
    async fn run(self) -> Result<(), Stop> {
        let Finish { camera, archive, store, core, clock, pipeline, spool, mut meta, detector } =
            self;
        let info = camera.read_image(&spool).await?;
        // Centred where the mount said it pointed: that is where the stars are, even
        // when it is off the target.
        let centre = meta.mount.map_or(meta.target, |m| m.icrs);
        meta.wcs = detector
            .map(|d| Wcs::new(d, centre, (info.width, info.height), (info.bin_x, info.bin_y)));
        meta.exptime_s = info.duration;
        meta.image_type = if info.light { ImageType::Light } else { ImageType::Dark };
        meta.bin_x = info.bin_x;
        meta.bin_y = info.bin_y;
        meta.device_exposure_start = Some(info.exposure_start.clone());
        let for_write = meta.clone();
        let stored =
            tokio::task::spawn_blocking(move || archive.store_frame(&spool, &info, &for_write))
                .await
                .map_err(|e| Stop::Interrupted(format!("frame writer task failed: {e}")))??;
        let new = NewFrame {
            request_id: meta.request_id,
            observation_id: meta.observation_id,
            telescope: &meta.telescope,
            path: &stored.relative,
            date_obs: meta.date_obs,
            exptime_s: meta.exptime_s,
            bytes: stored.bytes,
        };
        let id = store.insert_frame(&new, clock.now()).await?;
        tracing::info!(request = meta.request_id, frame = id, seq = meta.frame_seq, path = %stored.relative, "frame stored");
        // Assessed before the block goes on, so the block's outcome can count only good
        // frames. A failure here loses nothing: the frame is stored, and the pipeline's
        // catch-up assesses it later.
        if let Err(e) = pipeline.process(id).await {
            tracing::error!(
                frame = id,
                "quick-look of the new frame failed: {e}; it will be retried"
            );
        }
        core.publish(Event::Frame {
            telescope: meta.telescope.clone(),
            request_id: Some(meta.request_id),
            observation_id: Some(meta.observation_id),
            frame_id: id,
            path: stored.relative,
            source: crate::core::FrameSource::Teld,
            at: clock.now(),
        });
        Ok(())
    }
}

/// How the camera sits on the sky, from the telescope's configuration; `None` when
/// neither its plate scale nor its focal length is known (the frame gets no WCS).
fn detector(cfg: &TelescopeConfig, pixel_size_um: f64) -> Option<Detector> {
    let from_focal = cfg.focal_length_mm.filter(|_| pixel_size_um > 0.0).map(|f| {
        // Small-angle plate scale: 206 265″ per radian, µm over mm is 10⁻³.
        206.264_806_247 * pixel_size_um / f
    });
    let arcsec = cfg.plate_scale_arcsec.or(from_focal)?;
    Some(Detector {
        scale_deg: arcsec / 3600.0,
        angle_deg: cfg.camera_angle_deg,
        flipped: cfg.camera_flipped,
    })
}

/// The Moon from the site at `at`; `None` outside the ephemeris's dates.
fn moon_at(
    site: &teld_astro::Site,
    at: hifitime::Epoch,
    target: teld_astro::Icrs,
) -> Option<MoonAtFrame> {
    let moon = teld_astro::Astrometry::at(site, at).ok()?.moon();
    Some(MoonAtFrame {
        separation_deg: moon.place.apparent_icrs_axes.separation_deg(target),
        alt_deg: moon.place.observed.alt_deg,
        illumination: moon.illumination,
    })
}
