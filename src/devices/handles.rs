//! Typed handles for each device kind. Commands that move hardware into risk (slew,
//! unpark, open) are visible only inside `devices`, so every such command passes
//! through [`super::Telescope`] and its interlocks.

use serde::de::DeserializeOwned;
use serde_json::Value;
use teld_driver_protocol::{
    Call, CameraState, DeviceState, DomeState, FilterWheelState, FocuserState, ImageInfo,
    MountState, WeatherState,
};

use super::{DeviceError, DriverHandle};

/// One device of one driver.
#[derive(Clone)]
pub struct Device {
    pub driver: DriverHandle,
    pub name: String,
}

impl Device {
    pub fn new(driver: DriverHandle, name: impl Into<String>) -> Self {
        Device { driver, name: name.into() }
    }

    pub(super) async fn call(&self, call: Call) -> Result<Value, DeviceError> {
        self.driver.call(&self.name, call).await
    }

    async fn call_typed<T: DeserializeOwned>(&self, call: Call) -> Result<T, DeviceError> {
        let method = call.method();
        let v = self.call(call).await?;
        serde_json::from_value(v).map_err(|e| self.bad_answer(method, e.to_string()))
    }

    /// Reads the device's state now (never a cached copy) and records it.
    pub async fn state(&self) -> Result<DeviceState, DeviceError> {
        let s: DeviceState = self.call_typed(Call::GetState).await?;
        self.driver.observe_state(&self.name, &s);
        Ok(s)
    }

    fn bad_answer(&self, method: &str, message: String) -> DeviceError {
        DeviceError::BadAnswer {
            driver: self.driver.name().to_string(),
            device: self.name.clone(),
            method: method.to_string(),
            message,
        }
    }

    fn wrong_kind(&self, want: &str, got: &DeviceState) -> DeviceError {
        self.bad_answer("get_state", format!("expected a {want} state, got a {} state", got.kind()))
    }
}

macro_rules! device_kind {
    ($name:ident, $variant:ident, $state:ty, $label:literal) => {
        #[derive(Clone)]
        pub struct $name(pub Device);

        impl $name {
            pub async fn state(&self) -> Result<$state, DeviceError> {
                match self.0.state().await? {
                    DeviceState::$variant(s) => Ok(s),
                    other => Err(self.0.wrong_kind($label, &other)),
                }
            }
        }
    };
}

device_kind!(Mount, Mount, MountState, "mount");
device_kind!(Camera, Camera, CameraState, "camera");
device_kind!(Dome, Dome, DomeState, "dome");
device_kind!(Weather, Weather, WeatherState, "weather");
device_kind!(FilterWheel, FilterWheel, FilterWheelState, "filter wheel");
device_kind!(Focuser, Focuser, FocuserState, "focuser");

impl FilterWheel {
    /// Starts turning to `slot`; confirmed by `position` in a later state read.
    pub async fn set_position(&self, slot: u32) -> Result<(), DeviceError> {
        self.0.call(Call::SetPosition { position: slot }).await.map(drop)
    }
}

impl Focuser {
    /// Starts a move (to a step on an absolute focuser); confirmed by `is_moving`.
    pub async fn move_to(&self, position: i32) -> Result<(), DeviceError> {
        self.0.call(Call::Move { position }).await.map(drop)
    }

    pub async fn halt(&self) -> Result<(), DeviceError> {
        self.0.call(Call::Halt).await.map(drop)
    }
}

impl Mount {
    /// Raw slew in the mount's own equatorial system; callers go through `Telescope`.
    pub(super) async fn slew_raw(&self, ra_hours: f64, dec_deg: f64) -> Result<(), DeviceError> {
        let call = Call::SlewToCoordinatesAsync { right_ascension: ra_hours, declination: dec_deg };
        self.0.call(call).await.map(drop)
    }

    pub(super) async fn unpark(&self) -> Result<(), DeviceError> {
        self.0.call(Call::Unpark).await.map(drop)
    }

    pub async fn abort_slew(&self) -> Result<(), DeviceError> {
        self.0.call(Call::AbortSlew).await.map(drop)
    }

    /// Starts parking; confirmed by `at_park` in a later state read.
    pub async fn park(&self) -> Result<(), DeviceError> {
        self.0.call(Call::Park).await.map(drop)
    }

    pub async fn set_tracking(&self, tracking: bool) -> Result<(), DeviceError> {
        self.0.call(Call::SetTracking { tracking }).await.map(drop)
    }
}

impl Camera {
    pub async fn start_exposure(
        &self,
        duration_s: f64,
        light: bool,
        bin: u32,
    ) -> Result<(), DeviceError> {
        self.0.call(Call::StartExposure { duration: duration_s, light, bin }).await.map(drop)
    }

    pub async fn abort_exposure(&self) -> Result<(), DeviceError> {
        self.0.call(Call::AbortExposure).await.map(drop)
    }

    /// Has the driver write the last image to `spool_path`.
    pub async fn read_image(&self, spool_path: &std::path::Path) -> Result<ImageInfo, DeviceError> {
        let call = Call::ReadImage { spool_path: spool_path.display().to_string() };
        self.0.call_typed(call).await
    }
}

impl Dome {
    pub(super) async fn open_shutter(&self) -> Result<(), DeviceError> {
        self.0.call(Call::OpenShutter).await.map(drop)
    }

    /// Starts closing; always allowed.
    pub async fn close_shutter(&self) -> Result<(), DeviceError> {
        self.0.call(Call::CloseShutter).await.map(drop)
    }
}
