//! A telescope: its devices, the safety verdict for its site, and the interlocked
//! operations the executor and operators use.

use std::sync::atomic::{AtomicUsize, Ordering};

use hifitime::{Duration, Epoch};
use teld_astro::{Icrs, TrueOfDate};
use teld_driver_protocol::{
    CameraStatus, DomeState, EquatorialSystem, MountState, PierSide, ShutterStatus,
};
use tokio::sync::watch;

use super::interlock::SiteSafety;
use super::meridian::{FLIP_MIN_HA_DEG, SIDEREAL_DEG_PER_S, destination_side};
use super::span::Track;
use super::{Camera, DeviceError, Dome, Interlocks, Mount, Optics, Weather, wait_for};
use crate::clock::Clock;
use crate::config::MountType;

/// A mount that reports itself further than this from the target after a slew is
/// not trusted to be there: 0.1° is well outside any sane pointing error but inside a
/// small telescope's field.
const ARRIVAL_TOLERANCE_DEG: f64 = 0.1;
/// Slews tried before a mount that keeps stopping short is reported as not arrived.
const SLEW_ATTEMPTS: u32 = 2;

/// A mount pointed for a block: its state read back after arrival, and when (a
/// German mount on the west side) it must flip before the block can go on.
#[derive(Debug, Clone)]
pub struct Pointed {
    pub state: MountState,
    pub flip_due: Option<Epoch>,
}

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
    /// Slews this telescope is commanding right now: between unpark, tracking on and
    /// the slew's start the mount briefly tracks wherever it stood (a park position
    /// may be below the mask), which the tracking guard must not take for a runaway.
    slews_in_progress: AtomicUsize,
}

/// Counts a slew in progress for as long as it lives.
struct SlewInProgress<'a>(&'a AtomicUsize);

impl<'a> SlewInProgress<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        SlewInProgress(count)
    }
}

impl Drop for SlewInProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
            slews_in_progress: AtomicUsize::new(0),
        }
    }

    /// Whether this telescope is commanding a slew right now.
    pub(super) fn slewing_by_command(&self) -> bool {
        self.slews_in_progress.load(Ordering::SeqCst) > 0
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

    /// At least one of the devices that secure the site can be reached: closing what
    /// can be closed beats waiting for the rest.
    pub fn can_secure_any(&self) -> bool {
        self.mount.0.driver.is_up() || self.dome.as_ref().is_some_and(|d| d.0.driver.is_up())
    }

    /// Until [`Self::can_secure_any`] holds.
    pub async fn wait_any_secure_driver_up(&self) {
        let dome = async {
            match &self.dome {
                Some(d) => d.0.driver.wait_up().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.mount.0.driver.wait_up() => {}
            _ = dome => {}
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

    /// Imaging drivers not up now, by name.
    pub fn imaging_drivers_down(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .imaging_drivers()
            .iter()
            .filter(|d| !d.is_up())
            .map(|d| d.name().to_string())
            .collect();
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

    /// Points at `track` for a block that lasts until `until` and confirms arrival from
    /// the mount's own report. The only way to slew: the whole span from now to
    /// `until` is checked first (Sun, altitude, mask, mount limits, a German mount's
    /// meridian limit), then the slew's path from where the mount reports it is. The
    /// answer says when a German mount must flip ([`Self::meridian_flip`]).
    pub async fn point_for(&self, track: &Track<'_>, until: Epoch) -> Result<Pointed, DeviceError> {
        let now = self.clock.now();
        let span = self.interlocks.check_span(track, now, until)?;
        // A German mount that may not flip is refused before it moves, on the side it
        // will take (the mount's own report is checked again after the slew).
        if self.interlocks.mount.kind == MountType::German && !self.interlocks.mount.meridian_flip {
            self.interlocks.flip_deadline(&span, destination_side(span.first().ha_deg))?;
        }
        let state = self.slew_to(track.place(now)?).await?;
        let flip_due = self.interlocks.flip_deadline(&span, state.side_of_pier)?;
        Ok(Pointed { state, flip_due })
    }

    /// Unparks if needed (shutter rule), starts tracking, slews (path rule) and
    /// confirms arrival; each step on the state the mount reports after the last
    /// command. Unparks and starts tracking as ASCOM requires before a slew.
    async fn slew_to(&self, target: Icrs) -> Result<MountState, DeviceError> {
        let _in_progress = SlewInProgress::new(&self.slews_in_progress);
        let mut st = self.mount.state().await?;
        if st.at_park {
            let shutter = self.dome_state().await?.map(|d| d.shutter_status);
            self.interlocks.check_unpark(shutter)?;
            self.mount.unpark().await?;
            st = self.wait_mount("mount unparked", |s| !s.at_park).await?;
        }
        if !st.tracking {
            self.mount.set_tracking(true).await?;
            st = self.wait_mount("tracking on", |s| s.tracking).await?;
        }
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
            let now = self.clock.now();
            self.interlocks.check_slew_path(self.pointing_icrs(&st), target, now)?;
            let (ra_deg, dec_deg) = self.mount_coordinates(target, &st)?;
            self.mount.slew_raw(ra_deg / 15.0, dec_deg).await?;
            st = self.wait_mount("slew to target", |s| !s.slewing).await?;
            off_deg = self.pointing_icrs(&st).separation_deg(target);
            if off_deg <= ARRIVAL_TOLERANCE_DEG {
                return Ok(st);
            }
        }
        Err(DeviceError::NotArrived { off_deg })
    }

    /// `target` in the mount's own equatorial system, now.
    fn mount_coordinates(&self, target: Icrs, st: &MountState) -> Result<(f64, f64), DeviceError> {
        Ok(match st.equatorial_system {
            EquatorialSystem::J2000 => (target.ra_deg, target.dec_deg),
            EquatorialSystem::Topocentric => {
                let d = target
                    .to_true_of_date(&self.interlocks.site, self.clock.now())
                    .map_err(|e| super::InterlockError::Astronomy(e.to_string()))?;
                (d.ra_deg, d.dec_deg)
            }
        })
    }

    /// Flips a German mount to the other side of the pier: waits until the target is
    /// past the meridian, slews to it again through [`Self::point_for`] (every check
    /// applies) and verifies from the mount's report that the pier side changed. On
    /// any failure the mount is stopped and parked and the flip reported as a fault,
    /// because a mount left on the west side tracks into the pier.
    pub async fn meridian_flip(
        &self,
        track: &Track<'_>,
        until: Epoch,
    ) -> Result<Pointed, DeviceError> {
        let before = self.mount.state().await?.side_of_pier;
        let result = async {
            self.wait_past_meridian(track).await?;
            tracing::info!(telescope = %self.name, "meridian flip: slewing to the target again");
            self.point_for(track, until).await
        }
        .await;
        let reason = match result {
            Ok(p)
                if p.state.side_of_pier != before && p.state.side_of_pier != PierSide::Unknown =>
            {
                tracing::info!(
                    telescope = %self.name,
                    "meridian flip done: the mount reports pier side {:?}",
                    p.state.side_of_pier
                );
                return Ok(p);
            }
            Ok(p) => format!(
                "the mount still reports pier side {:?} after the re-slew",
                p.state.side_of_pier
            ),
            Err(e) => e.to_string(),
        };
        tracing::error!(telescope = %self.name, "meridian flip failed: {reason}; stopping and parking");
        let parked = self.stop_and_park().await;
        Err(DeviceError::FlipFailed { reason, parked: parked.is_ok() })
    }

    /// Waits (on the observatory clock) until `track` is past the meridian, so that a
    /// German mount slewing to it takes the east side of the pier and needs no flip.
    pub async fn wait_past_meridian(&self, track: &Track<'_>) -> Result<(), DeviceError> {
        loop {
            let now = self.clock.now();
            let ha = self.interlocks.observed(track.place(now)?, now)?.ha_deg;
            if ha >= FLIP_MIN_HA_DEG {
                return Ok(());
            }
            let wait = (FLIP_MIN_HA_DEG - ha) / SIDEREAL_DEG_PER_S + 1.0;
            self.clock.sleep(Duration::from_seconds(wait)).await;
        }
    }

    /// Stops tracking and parks, each confirmed from the mount's report: the safe
    /// state for a mount that must not go on tracking.
    pub async fn stop_and_park(&self) -> Result<(), DeviceError> {
        let st = self.mount.state().await?;
        if st.tracking && !st.at_park {
            self.mount.set_tracking(false).await?;
            self.wait_mount("tracking off", |s| !s.tracking).await?;
        }
        self.park().await
    }

    pub(super) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The observatory clock's now (simulated or real).
    pub fn clock_now(&self) -> Epoch {
        self.clock.now()
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

    /// The emergency order: the dome is closed first (water or wind is already on
    /// the optics), then the mount is parked — also when the dome could not be closed
    /// (its driver down): a parked mount is still better than one left pointing.
    /// The exposure is aborted alongside, never waited for.
    pub async fn close_then_park(&self) -> Result<(), DeviceError> {
        let stop_exposure = async {
            let _ = self.camera.abort_exposure().await;
        };
        let secure = async {
            let closed = self.close_dome().await;
            let parked = self.park().await;
            closed.and(parked)
        };
        let ((), secured) = tokio::join!(stop_exposure, secure);
        secured
    }

    /// Closed and parked, as the devices say now (not as we last left them).
    pub async fn is_secure(&self) -> bool {
        let parked = self.mount.state().await.is_ok_and(|s| s.at_park && !s.slewing);
        let closed = match self.dome_state().await {
            Ok(None) => true,
            Ok(Some(d)) => d.shutter_status == ShutterStatus::Closed,
            Err(_) => false,
        };
        parked && closed
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
