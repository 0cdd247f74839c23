//! The simulated observatory: the six devices, their shared site and time, and the
//! routing of device calls to them. Everything here is evaluated at an instant handed
//! in by the caller; nothing reads a clock.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hifitime::Epoch;
use serde_json::{Value, json};
use teld_astro::Site;
use teld_driver_protocol::{Call, DeviceInfo, DeviceKind, DeviceState, ErrorCode, ImageInfo};

use crate::camera::{Camera, Frame};
use crate::dome::Dome;
use crate::error::{CallError, Coded};
use crate::filterwheel::FilterWheel;
use crate::focuser::Focuser;
use crate::mount::Mount;
use crate::render;
use crate::scene;
use crate::settings::Settings;
use crate::spool::{Spool, SpoolError};
use crate::weather::Weather;

/// The devices this driver serves, by the names the daemon addresses them with.
pub const DEVICES: [(&str, DeviceKind); 6] = [
    ("mount", DeviceKind::Mount),
    ("camera", DeviceKind::Camera),
    ("dome", DeviceKind::Dome),
    ("weather", DeviceKind::Weather),
    ("filter_wheel", DeviceKind::FilterWheel),
    ("focuser", DeviceKind::Focuser),
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RouteError {
    #[error(
        "no device named `{0}`; this driver serves mount, camera, dome, weather, filter_wheel and focuser"
    )]
    UnknownDevice(String),
    #[error("the {kind} `{device}` does not implement `{method}`")]
    NotImplemented { device: String, kind: DeviceKind, method: &'static str },
}

impl Coded for RouteError {
    fn code(&self) -> ErrorCode {
        match self {
            RouteError::UnknownDevice(_) => ErrorCode::BadRequest,
            RouteError::NotImplemented { .. } => ErrorCode::NotImplemented,
        }
    }
}

/// What a device call produced.
#[derive(Debug)]
pub enum Outcome {
    /// The answer, ready to send.
    Done(Value),
    /// An image to render and write before answering; slow, so run off the loop.
    Read(Box<ReadJob>),
}

/// Rendering and writing one frame to its spool file.
#[derive(Debug)]
pub struct ReadJob {
    frame: Frame,
    path: PathBuf,
}

impl ReadJob {
    pub fn run(self) -> Result<ImageInfo, SpoolError> {
        let pixels = render::render(&self.frame.cfg, &self.frame.scene);
        Spool::write_u16(&self.path, &pixels)?;
        Ok(self.frame.info)
    }
}

#[derive(Debug)]
pub struct Observatory {
    site: Site,
    mount: Mount,
    camera: Camera,
    dome: Dome,
    weather: Weather,
    filter_wheel: FilterWheel,
    focuser: Focuser,
    spool: Spool,
}

impl Observatory {
    pub fn new(settings: Settings, site: Site, spool: Spool, now: Epoch) -> Self {
        let weather =
            Weather::new(site, settings.weather.unsafe_intervals, settings.camera.sky_mag_arcsec2);
        Observatory {
            site,
            mount: Mount::new(site, settings.mount, now),
            camera: Camera::new(settings.camera),
            dome: Dome::new(settings.dome, now),
            weather,
            filter_wheel: FilterWheel::new(settings.filter_wheel, now),
            focuser: Focuser::new(settings.focuser, now),
            spool,
        }
    }

    /// The answer to `configure`: devices with their ASCOM `Can*` flags.
    pub fn device_infos(&self) -> Vec<DeviceInfo> {
        let caps = |flags: &[(&str, bool)]| -> BTreeMap<String, bool> {
            flags.iter().map(|&(k, v)| (k.to_string(), v)).collect()
        };
        let c = self.camera.settings();
        let info = |name: &str, kind, description: String, capabilities| DeviceInfo {
            name: name.to_string(),
            kind,
            description,
            capabilities,
        };
        vec![
            info(
                "mount",
                DeviceKind::Mount,
                "simulated alt/az survey mount (ITelescopeV4, J2000)".into(),
                caps(&[
                    ("can_find_home", false),
                    ("can_park", true),
                    ("can_pulse_guide", false),
                    ("can_set_park", false),
                    ("can_set_pier_side", false),
                    ("can_set_tracking", true),
                    ("can_slew", false),
                    ("can_slew_alt_az", false),
                    ("can_slew_alt_az_async", false),
                    ("can_slew_async", true),
                    ("can_sync", false),
                    ("can_sync_alt_az", false),
                    ("can_unpark", true),
                ]),
            ),
            info(
                "camera",
                DeviceKind::Camera,
                format!(
                    "simulated {}×{} CCD, {}″/px (ICameraV4)",
                    c.width, c.height, c.plate_scale_arcsec
                ),
                caps(&[
                    ("can_abort_exposure", true),
                    ("can_asymmetric_bin", false),
                    ("can_fast_readout", false),
                    ("can_get_cooler_power", false),
                    ("can_pulse_guide", false),
                    ("can_set_ccd_temperature", false),
                    ("can_stop_exposure", false),
                    ("has_shutter", true),
                ]),
            ),
            info(
                "dome",
                DeviceKind::Dome,
                "simulated shutter-only dome (IDomeV3)".into(),
                caps(&[
                    ("can_find_home", false),
                    ("can_park", true),
                    ("can_set_altitude", false),
                    ("can_set_azimuth", false),
                    ("can_set_park", false),
                    ("can_set_shutter", true),
                    ("can_slave", false),
                    ("can_sync_azimuth", false),
                ]),
            ),
            info(
                "weather",
                DeviceKind::Weather,
                "simulated weather station (ISafetyMonitor + IObservingConditions)".into(),
                BTreeMap::new(),
            ),
            info(
                "filter_wheel",
                DeviceKind::FilterWheel,
                "simulated filter wheel (IFilterWheelV3)".into(),
                BTreeMap::new(),
            ),
            info(
                "focuser",
                DeviceKind::Focuser,
                "simulated absolute focuser (IFocuserV4)".into(),
                caps(&[("absolute", true), ("temp_comp_available", false)]),
            ),
        ]
    }

    /// Applies every transition due by `t`, in device order; the camera last, so an
    /// exposure that ended by `t` sees the mount and dome histories up to its end.
    pub fn settle(&mut self, t: Epoch) {
        self.mount.settle(t);
        self.dome.settle(t);
        self.filter_wheel.settle(t);
        self.focuser.settle(t);
        let (mount, dome, site) = (&self.mount, &self.dome, &self.site);
        let cfg = self.camera.settings().clone();
        self.camera.settle(t, |start, end, light| {
            scene::capture(mount, dome, site, &cfg, start, end, light)
        });
    }

    /// The next instant after `t` at which any device changes by itself.
    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        [
            self.mount.next_change_after(t),
            self.camera.next_change_after(t),
            self.dome.next_change_after(t),
            self.weather.next_change_after(t),
            self.filter_wheel.next_change_after(t),
            self.focuser.next_change_after(t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The daemon's clock went back from `from` to `to`.
    pub fn rebase(&mut self, from: Epoch, to: Epoch) {
        self.mount.rebase(from, to);
        self.dome.rebase(from, to);
        self.camera.rebase(from, to);
        self.filter_wheel.rebase(from, to);
        self.focuser.rebase(from, to);
    }

    /// Every device's state at `t`, in [`DEVICES`] order.
    pub fn states(&self, t: Epoch) -> Vec<(&'static str, DeviceState)> {
        DEVICES.iter().map(|&(name, kind)| (name, self.state_of(kind, t))).collect()
    }

    fn state_of(&self, kind: DeviceKind, t: Epoch) -> DeviceState {
        match kind {
            DeviceKind::Mount => DeviceState::Mount(self.mount.state(t)),
            DeviceKind::Camera => DeviceState::Camera(self.camera.state(t)),
            DeviceKind::Dome => DeviceState::Dome(self.dome.state(t)),
            DeviceKind::Weather => DeviceState::Weather(self.weather.state(t)),
            DeviceKind::FilterWheel => DeviceState::FilterWheel(self.filter_wheel.state(t)),
            DeviceKind::Focuser => {
                let air = self.weather.state(t).temperature;
                DeviceState::Focuser(self.focuser.state(t, air))
            }
        }
    }

    /// A line for the operator when `t` starts or ends a scripted unsafe interval.
    pub fn weather_alert(&self, t: Epoch) -> String {
        match self.weather.unsafe_interval(t) {
            Some(iv) => format!(
                "weather unsafe ({}) until {}: close the dome and park",
                iv.reason.as_str(),
                teld_driver_protocol::time::format_utc_digits(iv.to, 0)
            ),
            None => "weather safe again".to_string(),
        }
    }

    /// Closes the shutter, stops any exposure and parks the mount: what a driver that
    /// loses its daemon must leave behind.
    /// Aborts any exposure, closes the shutter and parks; returns what the devices
    /// report right after, for the log (a close or park may still be under way).
    pub fn make_safe(&mut self, now: Epoch) -> String {
        self.settle(now);
        self.camera.abort_exposure(now);
        self.focuser.halt(now);
        self.dome.close_shutter(now);
        self.mount.park(now);
        let dome = self.dome.state(now);
        let mount = self.mount.state(now);
        let mount_word = if mount.at_park { "parked" } else { "parking" };
        format!("shutter {:?}, mount {mount_word}", dome.shutter_status).to_lowercase()
    }

    /// Runs a device call at `now`; the caller has settled the observatory to `now`.
    pub fn call(&mut self, device: &str, call: Call, now: Epoch) -> Result<Outcome, CallError> {
        let kind = DEVICES
            .iter()
            .find(|(name, _)| *name == device)
            .map(|&(_, kind)| kind)
            .ok_or_else(|| RouteError::UnknownDevice(device.to_string()))?;
        let method = call.method();
        let done = || Ok(Outcome::Done(json!({})));
        match (kind, call) {
            (_, Call::GetState) => Ok(Outcome::Done(
                serde_json::to_value(self.state_of(kind, now)).unwrap_or_default(),
            )),
            (DeviceKind::Mount, Call::SlewToCoordinatesAsync { right_ascension, declination }) => {
                self.mount.slew_to(now, right_ascension, declination)?;
                done()
            }
            (DeviceKind::Mount, Call::AbortSlew) => {
                self.mount.abort_slew(now)?;
                done()
            }
            (DeviceKind::Mount, Call::Park) => {
                self.mount.park(now);
                done()
            }
            (DeviceKind::Mount, Call::Unpark) => {
                self.mount.unpark(now);
                done()
            }
            (DeviceKind::Mount, Call::SetTracking { tracking }) => {
                self.mount.set_tracking(now, tracking)?;
                done()
            }
            (DeviceKind::Camera, Call::StartExposure { duration, light, bin }) => {
                self.camera.start_exposure(now, duration, light, bin)?;
                done()
            }
            (DeviceKind::Camera, Call::AbortExposure) => {
                self.camera.abort_exposure(now);
                done()
            }
            (DeviceKind::Camera, Call::ReadImage { spool_path }) => {
                let path = self.spool.resolve(&spool_path)?;
                let frame = self.camera.frame(now)?;
                Ok(Outcome::Read(Box::new(ReadJob { frame, path })))
            }
            (DeviceKind::Dome, Call::OpenShutter) => {
                self.dome.open_shutter(now);
                done()
            }
            (DeviceKind::Dome, Call::CloseShutter) => {
                self.dome.close_shutter(now);
                done()
            }
            // A shutter-only dome has no azimuth: it is always parked.
            (DeviceKind::Dome, Call::Park) => done(),
            (DeviceKind::Dome, Call::AbortSlew) => {
                self.dome.abort_slew(now);
                done()
            }
            (DeviceKind::FilterWheel, Call::SetPosition { position }) => {
                self.filter_wheel.set_position(now, position)?;
                done()
            }
            (DeviceKind::Focuser, Call::Move { position }) => {
                self.focuser.move_to(now, position)?;
                done()
            }
            (DeviceKind::Focuser, Call::Halt) => {
                self.focuser.halt(now);
                done()
            }
            (kind, _) => {
                Err(RouteError::NotImplemented { device: device.to_string(), kind, method }.into())
            }
        }
    }
}
