//! A telescope: its devices, the safety verdict for its site, and the interlocked
//! operations the executor and operators use.

use teld_astro::{Icrs, TrueOfDate};
use teld_driver_protocol::{CameraStatus, DomeState, EquatorialSystem, MountState, ShutterStatus};
use tokio::sync::watch;

use super::interlock::SiteSafety;
use super::{Camera, DeviceError, Dome, Interlocks, Mount, Optics, Weather, wait_for};
use crate::clock::Clock;

/// A mount that reports itself further than this from the target after a slew is
/// not trusted to be there: 0.1° is well outside any sane pointing error but inside a
/// small telescope's field.
const ARRIVAL_TOLERANCE_DEG: f64 = 0.1;
/// Slews tried before a mount that keeps stopping short is reported as not arrived.
const SLEW_ATTEMPTS: u32 = 2;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub slew_s: f64,
    pub dome_s: f64,
    /// A filter change and its refocus.
    pub filter_s: f64,
}

pub struct Telescope {
    pub name: String,
    pub mount: Mount,
    pub camera: Camera,
    pub dome: Option<Dome>,
    pub weather: Weather,
    pub optics: Optics,
    pub interlocks: Interlocks,
    pub timeouts: Timeouts,
    safety: watch::Receiver<SiteSafety>,
    clock: Clock,
}

impl Telescope {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        mount: Mount,
        camera: Camera,
        dome: Option<Dome>,
        weather: Weather,
        optics: Optics,
        interlocks: Interlocks,
        timeouts: Timeouts,
        safety: watch::Receiver<SiteSafety>,
        clock: Clock,
    ) -> Self {
        Telescope {
            name,
            mount,
            camera,
            dome,
            weather,
            optics,
            interlocks,
            timeouts,
            safety,
            clock,
        }
    }

    pub fn safety(&self) -> SiteSafety {
        self.safety.borrow().clone()
    }

    pub fn safety_changes(&self) -> watch::Receiver<SiteSafety> {
        self.safety.clone()
    }

    /// Every driver this telescope needs is running.
    pub fn drivers_up(&self) -> bool {
        self.drivers().iter().all(|d| d.is_up())
    }

    pub async fn wait_drivers_up(&self) {
        for d in self.drivers() {
            d.wait_up().await;
        }
    }

    /// The drivers needed to make this telescope safe (mount and dome): securing
    /// must not wait for a camera or weather driver that is down.
    pub fn can_secure(&self) -> bool {
        self.mount.0.driver.is_up() && self.dome.as_ref().is_none_or(|d| d.0.driver.is_up())
    }

    pub async fn wait_secure_drivers_up(&self) {
        self.mount.0.driver.wait_up().await;
        if let Some(d) = &self.dome {
            d.0.driver.wait_up().await;
        }
    }

    pub fn imaging_drivers_up(&self) -> bool {
        self.imaging_drivers().iter().all(|d| d.is_up())
    }

    /// Names of the drivers a block's own work goes through (mount, camera, filter
    /// wheel, focuser): losing one of these is the block's fault; losing the weather
    /// or dome driver is not.
    pub fn imaging_driver_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.imaging_drivers().iter().map(|d| d.name().to_string()).collect();
        names.sort();
        names.dedup();
        names
    }

    fn imaging_drivers(&self) -> Vec<&super::DriverHandle> {
        let mut v = vec![&self.mount.0.driver, &self.camera.0.driver];
        v.extend(self.optics.filter_wheel.as_ref().map(|w| &w.0.driver));
        v.extend(self.optics.focuser.as_ref().map(|f| &f.0.driver));
        v
    }

    fn drivers(&self) -> Vec<&super::DriverHandle> {
        let mut v = self.imaging_drivers();
        v.push(&self.weather.0.driver);
        if let Some(d) = &self.dome {
            v.push(&d.0.driver);
        }
        v
    }

    /// Turns the filter wheel to `filter` and refocuses for it (see [`Optics`]).
    pub async fn select_filter(&self, filter: Option<&str>) -> Result<(), DeviceError> {
        self.optics.select(&self.clock, filter, self.timeouts.filter_s).await
    }

    /// Where the mount points, in ICRS, from its own reported coordinates.
    pub fn pointing_icrs(&self, st: &MountState) -> Icrs {
        let (ra_deg, dec_deg) = (st.right_ascension * 15.0, st.declination);
        match st.equatorial_system {
            EquatorialSystem::J2000 => Icrs { ra_deg, dec_deg },
            // A mount working in coordinates of date: convert with the full chain.
            // If that fails (a date outside 1901–2099), its own numbers are the best
            // available and the arrival check will catch a real mismatch.
            EquatorialSystem::Topocentric => TrueOfDate { ra_deg, dec_deg }
                .to_icrs(&self.interlocks.site, self.clock.now())
                .unwrap_or(Icrs { ra_deg, dec_deg }),
        }
    }

    /// Points at `target` and confirms arrival from the mount's own report. Checks
    /// the interlocks first; unparks and starts tracking as ASCOM requires before a
    /// slew.
    pub async fn point(&self, target: Icrs) -> Result<MountState, DeviceError> {
        let now = self.clock.now();
        self.interlocks.check_pointing(target, now)?;
        let st = self.mount.state().await?;
        if st.at_park {
            self.mount.unpark().await?;
            self.wait_mount("mount unparked", |s| !s.at_park).await?;
        }
        if !st.tracking {
            self.mount.set_tracking(true).await?;
        }
        let (ra_deg, dec_deg) = match st.equatorial_system {
            EquatorialSystem::J2000 => (target.ra_deg, target.dec_deg),
            EquatorialSystem::Topocentric => {
                let d = target
                    .to_true_of_date(&self.interlocks.site, now)
                    .map_err(|e| super::InterlockError::Astronomy(e.to_string()))?;
                (d.ra_deg, d.dec_deg)
            }
        };
        // A mount that reports the slew over but stands short of the target gets one
        // more slew: a second, short slew is how an operator recovers a mount that
        // stopped early (a lost step, a controller race); twice short is a fault.
        let mut off_deg = f64::NAN;
        for attempt in 0..SLEW_ATTEMPTS {
            if attempt > 0 {
                tracing::warn!(
                    telescope = %self.name,
                    off_deg,
                    "the mount reported the slew done {off_deg:.3}° from the target; slewing again"
                );
            }
            self.mount.slew_raw(ra_deg / 15.0, dec_deg).await?;
            let st = self.wait_mount("slew to target", |s| !s.slewing).await?;
            off_deg = self.pointing_icrs(&st).separation_deg(target);
            if off_deg <= ARRIVAL_TOLERANCE_DEG {
                return Ok(st);
            }
        }
        Err(DeviceError::NotArrived { off_deg })
    }

    /// Opens the dome (explicit step only: never as a side effect of another call).
    pub async fn open_dome(&self) -> Result<(), DeviceError> {
        let Some(dome) = &self.dome else { return Ok(()) };
        self.interlocks.check_open(&self.safety(), self.clock.now())?;
        if dome.state().await?.shutter_status == ShutterStatus::Open {
            return Ok(());
        }
        dome.open_shutter().await?;
        self.wait_dome("dome shutter open", ShutterStatus::Open).await.map(drop)
    }

    pub async fn close_dome(&self) -> Result<(), DeviceError> {
        let Some(dome) = &self.dome else { return Ok(()) };
        // Command even if it reads closed: closing a closed shutter is harmless, and
        // the state we read may be stale in the device itself.
        dome.close_shutter().await?;
        self.wait_dome("dome shutter closed", ShutterStatus::Closed).await.map(drop)
    }

    pub async fn park(&self) -> Result<(), DeviceError> {
        let st = self.mount.state().await?;
        if st.slewing {
            self.mount.abort_slew().await?;
        }
        self.mount.park().await?;
        self.wait_mount("mount parked", |s| s.at_park && !s.slewing).await.map(drop)
    }

    /// Closes the dome and parks the mount at the same time, each confirmed from the
    /// device's own state, and stops any exposure alongside (a hung camera driver must
    /// not delay closing). Returns the first failure of closing or parking, after
    /// trying both.
    pub async fn make_safe(&self) -> Result<(), DeviceError> {
        let stop_exposure = async {
            if let Ok(cam) = self.camera.state().await
                && matches!(cam.camera_state, CameraStatus::Exposing | CameraStatus::Waiting)
            {
                let _ = self.camera.abort_exposure().await;
            }
        };
        let ((), closed, parked) = tokio::join!(stop_exposure, self.close_dome(), self.park());
        closed.and(parked)
    }

    /// The dome shutter state as the device reports it (`None` without a dome).
    pub async fn dome_state(&self) -> Result<Option<DomeState>, DeviceError> {
        match &self.dome {
            Some(d) => d.state().await.map(Some),
            None => Ok(None),
        }
    }

    async fn wait_mount(
        &self,
        what: &str,
        done: impl Fn(&MountState) -> bool,
    ) -> Result<MountState, DeviceError> {
        let t = self.timeouts.slew_s;
        wait_for(&self.clock, &self.mount.0, what, t, || self.mount.state(), done).await
    }

    async fn wait_dome(&self, what: &str, want: ShutterStatus) -> Result<DomeState, DeviceError> {
        let dome = self.dome.as_ref().ok_or(DeviceError::Missing("a dome"))?;
        let t = self.timeouts.dome_s;
        let st = wait_for(
            &self.clock,
            &dome.0,
            what,
            t,
            || dome.state(),
            |s| s.shutter_status == want || s.shutter_status == ShutterStatus::Error,
        )
        .await?;
        if st.shutter_status == ShutterStatus::Error {
            return Err(DeviceError::Device {
                driver: dome.0.driver.name().to_string(),
                device: dome.0.name.clone(),
                method: "shutter".into(),
                code: teld_driver_protocol::ErrorCode::DeviceFault,
                message: format!("shutter reports an error while waiting for {what}"),
            });
        }
        Ok(st)
    }
}
