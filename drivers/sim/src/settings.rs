//! The simulator's settings: the JSON object the daemon passes in `Configure::settings`.
//!
//! Every key is optional; the defaults describe a small NEO survey telescope on a dark
//! site (La Palma). Unknown keys are refused, naming the key, so a typo in teld's config
//! fails loudly instead of silently falling back to a default. `drivers/sim/README.md`
//! documents every key.

use hifitime::Epoch;
use serde::Deserialize;
use serde_json::Value;

/// Slew speed per axis. 3°/s is typical of a small survey mount's direct-drive slews
/// and makes a cross-sky slew last about a minute, as it does in real life.
pub const DEFAULT_SLEW_RATE_DEG_S: f64 = 3.0;
/// Axis acceleration. At 1.5°/s² an axis needs 2 s to reach and 2 s to leave 3°/s,
/// which is the extra second or two per slew a real mount spends ramping.
pub const DEFAULT_SLEW_ACCEL_DEG_S2: f64 = 1.5;
/// Lowest altitude a slew may target: 15° is airmass ≈ 3.8, where a survey frame is no
/// longer useful, and clears the dome's lower shutter edge on most small domes.
pub const DEFAULT_MIN_ALTITUDE_DEG: f64 = 15.0;
/// Park with the tube horizontal: dust and drips from the slit cannot land on the
/// mirror, and a parked mount is plainly below every altitude limit.
pub const DEFAULT_PARK_ALT_DEG: f64 = 0.0;
/// Park pointing north, away from the Sun's path at a northern site.
pub const DEFAULT_PARK_AZ_DEG: f64 = 0.0;
/// Hour angle past the meridian a German mount tracks on the west side of the pier:
/// the factory limit of many small GEM controllers.
pub const DEFAULT_MERIDIAN_LIMIT_DEG: f64 = 5.0;
/// Extra time of a slew that changes pier side: both axes turn about 180° at 3°/s.
pub const DEFAULT_FLIP_TIME_S: f64 = 62.0;

/// 1024×1024 pixels of 9 µm: a 1k back-illuminated CCD of a small survey camera.
pub const DEFAULT_WIDTH: u32 = 1024;
pub const DEFAULT_HEIGHT: u32 = 1024;
pub const DEFAULT_PIXEL_SIZE_UM: f64 = 9.0;
/// 1.5″/px samples 1.8″ seeing at 1.2 px FWHM: coarse, as survey cameras choose to
/// cover more sky (9 µm at 1.24 m focal length).
pub const DEFAULT_PLATE_SCALE_ARCSEC: f64 = 1.5;
/// A slow-scan 1k CCD reads out in about 2 s.
pub const DEFAULT_READOUT_S: f64 = 2.0;
/// 1.5 e-/ADU puts a 98 000 e- full well just under the 16-bit ceiling.
pub const DEFAULT_GAIN_E_PER_ADU: f64 = 1.5;
/// 8 e- rms is a good slow-scan CCD amplifier.
pub const DEFAULT_READ_NOISE_E: f64 = 8.0;
/// 1000 ADU of bias keeps read noise well clear of zero.
pub const DEFAULT_BIAS_ADU: f64 = 1000.0;
/// Dark current of a deep-cooled (−30 °C) CCD: a few hundredths of an electron per
/// second, negligible against the sky as it is in practice.
pub const DEFAULT_DARK_E_PER_S: f64 = 0.02;
/// Electrons per second from a magnitude-0 star at airmass 1: a V=0 star sends
/// ≈ 8.8·10⁹ photons/s/m²; a 0.4 m aperture with a 20 % central obstruction collects
/// 0.1 m², and optics times quantum efficiency pass ≈ 55 %.
pub const DEFAULT_ZERO_POINT_E_PER_S: f64 = 5.0e8;
/// La Palma's dark-sky V brightness at zenith (Benn & Ellison 1998: 21.9 at solar
/// minimum; 20.8 is a realistic working sky with some zodiacal light and airglow).
pub const DEFAULT_SKY_MAG_ARCSEC2: f64 = 20.8;
/// Typical La Palma seeing delivered by a small telescope.
pub const DEFAULT_SEEING_FWHM_ARCSEC: f64 = 1.8;
/// V-band extinction at La Palma is 0.13 mag/airmass on a clear night; an unfiltered
/// camera sees a little more in the blue.
pub const DEFAULT_EXTINCTION_MAG_PER_AIRMASS: f64 = 0.15;
/// About the 5σ depth of a 60 s frame with this telescope; fainter stars would only add
/// to an unresolved background the sky already dominates.
pub const DEFAULT_LIMIT_MAG: f64 = 20.0;
/// ASCOM `ExposureMax`: an hour is longer than any survey exposure.
pub const DEFAULT_MAX_EXPOSURE_S: f64 = 3600.0;
/// A thermo-electrically cooled CCD's usual set point.
pub const DEFAULT_CCD_TEMPERATURE_C: f64 = -30.0;
pub const DEFAULT_SENSOR_NAME: &str = "teld-sim 1k CCD";

/// A small dome's shutter takes about a minute to open or close.
pub const DEFAULT_SHUTTER_TIME_S: f64 = 60.0;

/// Slots of the default wheel, as `config/default.toml` lists them for requests.
pub const DEFAULT_FILTERS: [&str; 5] = ["clear", "L", "R", "V", "B"];
/// Parfocal offsets of the default filters in focuser steps: coloured glass of
/// slightly different thickness shifts focus by tens of steps on a small refocusing
/// motor (≈ 1 µm a step).
pub const DEFAULT_FOCUS_OFFSETS: [i32; 5] = [0, 0, 40, 25, 60];
/// A small wheel turns one slot in about a second.
pub const DEFAULT_SLOT_TIME_S: f64 = 1.0;
/// A 50 000-step absolute focuser (5 cm of travel at 1 µm a step).
pub const DEFAULT_FOCUSER_MAX_STEP: u32 = 50_000;
/// It powers up at mid-travel, near best focus.
pub const DEFAULT_FOCUSER_START: u32 = 25_000;
/// 1000 steps per second: refocusing for a filter change takes well under a second.
pub const DEFAULT_FOCUSER_STEPS_PER_S: f64 = 1000.0;

/// Largest image side accepted: 16k pixels already make a 512 MB frame.
const MAX_IMAGE_SIDE: u32 = 16_384;
/// Deepest star field rendered; star counts grow ×2 per magnitude, so deeper limits
/// cost memory and time for stars that cannot be seen.
const MAX_LIMIT_MAG: f64 = 23.0;

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub mount: MountSettings,
    pub camera: CameraSettings,
    pub dome: DomeSettings,
    pub weather: WeatherSettings,
    pub filter_wheel: FilterWheelSettings,
    pub focuser: FocuserSettings,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterWheelSettings {
    /// Filter name of each slot.
    pub names: Vec<String>,
    /// Focus offset of each slot, steps; as many as `names`.
    pub focus_offsets: Vec<i32>,
    pub slot_time_s: f64,
}

impl Default for FilterWheelSettings {
    fn default() -> Self {
        FilterWheelSettings {
            names: DEFAULT_FILTERS.iter().map(|s| s.to_string()).collect(),
            focus_offsets: DEFAULT_FOCUS_OFFSETS.to_vec(),
            slot_time_s: DEFAULT_SLOT_TIME_S,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FocuserSettings {
    pub max_step: u32,
    pub start_position: u32,
    pub steps_per_s: f64,
}

impl Default for FocuserSettings {
    fn default() -> Self {
        FocuserSettings {
            max_step: DEFAULT_FOCUSER_MAX_STEP,
            start_position: DEFAULT_FOCUSER_START,
            steps_per_s: DEFAULT_FOCUSER_STEPS_PER_S,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MountSettings {
    pub slew_rate_deg_s: f64,
    pub slew_accel_deg_s2: f64,
    pub min_altitude_deg: f64,
    pub park_alt_deg: f64,
    pub park_az_deg: f64,
    /// A German equatorial mount: reports its pier side from each slew, stops tracking
    /// `meridian_limit_deg` past the meridian on the west side, and takes `flip_time_s`
    /// longer for a slew that changes side.
    pub german: bool,
    pub meridian_limit_deg: f64,
    pub flip_time_s: f64,
}

impl Default for MountSettings {
    fn default() -> Self {
        MountSettings {
            slew_rate_deg_s: DEFAULT_SLEW_RATE_DEG_S,
            slew_accel_deg_s2: DEFAULT_SLEW_ACCEL_DEG_S2,
            min_altitude_deg: DEFAULT_MIN_ALTITUDE_DEG,
            park_alt_deg: DEFAULT_PARK_ALT_DEG,
            park_az_deg: DEFAULT_PARK_AZ_DEG,
            german: false,
            meridian_limit_deg: DEFAULT_MERIDIAN_LIMIT_DEG,
            flip_time_s: DEFAULT_FLIP_TIME_S,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraSettings {
    pub width: u32,
    pub height: u32,
    pub pixel_size_um: f64,
    pub plate_scale_arcsec: f64,
    pub readout_s: f64,
    pub gain_e_per_adu: f64,
    pub read_noise_e: f64,
    pub bias_adu: f64,
    pub dark_e_per_s: f64,
    pub zero_point_e_per_s: f64,
    pub sky_mag_arcsec2: f64,
    pub seeing_fwhm_arcsec: f64,
    pub extinction_mag_per_airmass: f64,
    pub limit_mag: f64,
    pub max_exposure_s: f64,
    pub ccd_temperature_c: f64,
    pub sensor_name: String,
}

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            pixel_size_um: DEFAULT_PIXEL_SIZE_UM,
            plate_scale_arcsec: DEFAULT_PLATE_SCALE_ARCSEC,
            readout_s: DEFAULT_READOUT_S,
            gain_e_per_adu: DEFAULT_GAIN_E_PER_ADU,
            read_noise_e: DEFAULT_READ_NOISE_E,
            bias_adu: DEFAULT_BIAS_ADU,
            dark_e_per_s: DEFAULT_DARK_E_PER_S,
            zero_point_e_per_s: DEFAULT_ZERO_POINT_E_PER_S,
            sky_mag_arcsec2: DEFAULT_SKY_MAG_ARCSEC2,
            seeing_fwhm_arcsec: DEFAULT_SEEING_FWHM_ARCSEC,
            extinction_mag_per_airmass: DEFAULT_EXTINCTION_MAG_PER_AIRMASS,
            limit_mag: DEFAULT_LIMIT_MAG,
            max_exposure_s: DEFAULT_MAX_EXPOSURE_S,
            ccd_temperature_c: DEFAULT_CCD_TEMPERATURE_C,
            sensor_name: DEFAULT_SENSOR_NAME.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomeSettings {
    pub shutter_time_s: f64,
}

impl Default for DomeSettings {
    fn default() -> Self {
        DomeSettings { shutter_time_s: DEFAULT_SHUTTER_TIME_S }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeatherSettings {
    /// Scripted bad weather; outside these intervals the night is clear.
    #[serde(rename = "unsafe")]
    pub unsafe_intervals: Vec<UnsafeInterval>,
}

/// `[from, to)`: the weather is unsafe from `from` (inclusive) until `to`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsafeInterval {
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub from: Epoch,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub to: Epoch,
    #[serde(default)]
    pub reason: UnsafeReason,
}

/// Why the weather is unsafe; decides which observing conditions go bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsafeReason {
    Rain,
    Clouds,
    Wind,
    Humidity,
    /// Wind near, not over, a closing limit: the device still calls it safe, and it
    /// is the observatory software's thresholds that must notice.
    Gusts,
    #[default]
    Other,
}

impl UnsafeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnsafeReason::Rain => "rain",
            UnsafeReason::Clouds => "clouds",
            UnsafeReason::Wind => "wind",
            UnsafeReason::Humidity => "humidity",
            UnsafeReason::Gusts => "gusts",
            UnsafeReason::Other => "other",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("sim driver settings: `{path}`: {message}")]
    Malformed { path: String, message: String },
    #[error("sim driver settings: `{key}` = {value} is out of range: {expected}")]
    OutOfRange { key: &'static str, value: String, expected: &'static str },
}

impl Settings {
    /// Parses and checks the settings object; `null` means all defaults.
    pub fn from_json(value: &Value) -> Result<Settings, SettingsError> {
        let settings: Settings = if value.is_null() {
            Settings::default()
        } else {
            serde_path_to_error::deserialize(value).map_err(|e| SettingsError::Malformed {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let (m, c, d) = (&self.mount, &self.camera, &self.dome);
        positive("mount.slew_rate_deg_s", m.slew_rate_deg_s)?;
        positive("mount.slew_accel_deg_s2", m.slew_accel_deg_s2)?;
        within("mount.min_altitude_deg", m.min_altitude_deg, -90.0, 90.0, "between -90 and 90")?;
        within("mount.park_alt_deg", m.park_alt_deg, -90.0, 90.0, "between -90 and 90")?;
        within("mount.park_az_deg", m.park_az_deg, 0.0, 360.0, "between 0 and 360")?;
        within("mount.meridian_limit_deg", m.meridian_limit_deg, 0.0, 90.0, "between 0 and 90")?;
        within("mount.flip_time_s", m.flip_time_s, 0.0, 86_400.0, "between 0 and 86400")?;
        for (key, side) in [("camera.width", c.width), ("camera.height", c.height)] {
            if side == 0 || side > MAX_IMAGE_SIDE {
                return Err(SettingsError::OutOfRange {
                    key,
                    value: side.to_string(),
                    expected: "between 1 and 16384 pixels",
                });
            }
        }
        positive("camera.pixel_size_um", c.pixel_size_um)?;
        positive("camera.plate_scale_arcsec", c.plate_scale_arcsec)?;
        non_negative("camera.readout_s", c.readout_s)?;
        positive("camera.gain_e_per_adu", c.gain_e_per_adu)?;
        non_negative("camera.read_noise_e", c.read_noise_e)?;
        within("camera.bias_adu", c.bias_adu, 0.0, 60000.0, "between 0 and 60000 ADU")?;
        non_negative("camera.dark_e_per_s", c.dark_e_per_s)?;
        non_negative("camera.zero_point_e_per_s", c.zero_point_e_per_s)?;
        within("camera.sky_mag_arcsec2", c.sky_mag_arcsec2, 10.0, 25.0, "between 10 and 25")?;
        positive("camera.seeing_fwhm_arcsec", c.seeing_fwhm_arcsec)?;
        non_negative("camera.extinction_mag_per_airmass", c.extinction_mag_per_airmass)?;
        within("camera.limit_mag", c.limit_mag, -2.0, MAX_LIMIT_MAG, "between -2 and 23")?;
        positive("camera.max_exposure_s", c.max_exposure_s)?;
        within("camera.ccd_temperature_c", c.ccd_temperature_c, -150.0, 60.0, "-150..60 °C")?;
        non_negative("dome.shutter_time_s", d.shutter_time_s)?;
        self.check_optics()?;
        for iv in &self.weather.unsafe_intervals {
            if iv.to <= iv.from {
                return Err(SettingsError::OutOfRange {
                    key: "weather.unsafe",
                    value: format!(
                        "{{ from = {}, to = {} }}",
                        teld_driver_protocol::time::format_utc(iv.from),
                        teld_driver_protocol::time::format_utc(iv.to)
                    ),
                    expected: "`to` must be after `from`",
                });
            }
        }
        Ok(())
    }
}

impl Settings {
    fn check_optics(&self) -> Result<(), SettingsError> {
        let (w, f) = (&self.filter_wheel, &self.focuser);
        if w.names.is_empty() || w.names.len() > 32 {
            return Err(SettingsError::OutOfRange {
                key: "filter_wheel.names",
                value: w.names.len().to_string(),
                expected: "1 to 32 filter names, one per slot",
            });
        }
        if w.focus_offsets.len() != w.names.len() {
            return Err(SettingsError::OutOfRange {
                key: "filter_wheel.focus_offsets",
                value: format!("{} offsets", w.focus_offsets.len()),
                expected: "one offset per name in filter_wheel.names",
            });
        }
        non_negative("filter_wheel.slot_time_s", w.slot_time_s)?;
        if f.max_step == 0 || f.start_position > f.max_step {
            return Err(SettingsError::OutOfRange {
                key: "focuser.start_position",
                value: f.start_position.to_string(),
                expected: "within 0..=focuser.max_step, and max_step > 0",
            });
        }
        positive("focuser.steps_per_s", f.steps_per_s)
    }
}

fn within(
    key: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
    expected: &'static str,
) -> Result<(), SettingsError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(SettingsError::OutOfRange { key, value: v.to_string(), expected })
    }
}

fn positive(key: &'static str, v: f64) -> Result<(), SettingsError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(SettingsError::OutOfRange { key, value: v.to_string(), expected: "a number > 0" })
    }
}

fn non_negative(key: &'static str, v: f64) -> Result<(), SettingsError> {
    within(key, v, 0.0, f64::MAX, "a number >= 0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_and_null_give_defaults() {
        assert_eq!(Settings::from_json(&json!({})).unwrap(), Settings::default());
        assert_eq!(Settings::from_json(&Value::Null).unwrap(), Settings::default());
    }

    #[test]
    fn partial_groups_keep_other_defaults() {
        let s = Settings::from_json(&json!({"camera": {"width": 256}})).unwrap();
        assert_eq!(s.camera.width, 256);
        assert_eq!(s.camera.height, DEFAULT_HEIGHT);
        assert_eq!(s.mount, MountSettings::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let e = Settings::from_json(&json!({"camera": {"widht": 256}})).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("widht") && msg.contains("camera"), "{msg}");
        let e = Settings::from_json(&json!({"rotator": {}})).unwrap_err();
        assert!(e.to_string().contains("rotator"), "{e}");
    }

    #[test]
    fn the_wheel_needs_one_offset_per_filter_and_the_focuser_a_start_in_its_travel() {
        let e = Settings::from_json(&json!({"filter_wheel": {"names": ["L", "R"]}})).unwrap_err();
        assert!(e.to_string().contains("one offset per name"), "{e}");
        let e = Settings::from_json(&json!({"filter_wheel": {"names": [], "focus_offsets": []}}))
            .unwrap_err();
        assert!(e.to_string().contains("filter_wheel.names"), "{e}");
        let e = Settings::from_json(&json!({"focuser": {"max_step": 100, "start_position": 200}}))
            .unwrap_err();
        assert!(e.to_string().contains("focuser.start_position"), "{e}");
        let ok = json!({"filter_wheel": {"names": ["L", "R"], "focus_offsets": [0, 12]}});
        assert_eq!(Settings::from_json(&ok).unwrap().filter_wheel.focus_offsets, [0, 12]);
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        let e = Settings::from_json(&json!({"mount": {"slew_rate_deg_s": 0}})).unwrap_err();
        assert!(e.to_string().contains("mount.slew_rate_deg_s"), "{e}");
        let e = Settings::from_json(&json!({"camera": {"width": 0}})).unwrap_err();
        assert!(e.to_string().contains("camera.width"), "{e}");
    }

    #[test]
    fn weather_intervals_parse_and_must_be_ordered() {
        let s = Settings::from_json(&json!({"weather": {"unsafe": [
            {"from": "2026-11-24T22:00:00", "to": "2026-11-24T23:00:00Z", "reason": "rain"}
        ]}}))
        .unwrap();
        assert_eq!(s.weather.unsafe_intervals[0].reason, UnsafeReason::Rain);
        let e = Settings::from_json(&json!({"weather": {"unsafe": [
            {"from": "2026-11-24T23:00:00", "to": "2026-11-24T22:00:00"}
        ]}}))
        .unwrap_err();
        assert!(e.to_string().contains("weather.unsafe"), "{e}");
        let e = Settings::from_json(&json!({"weather": {"unsafe": [
            {"from": "soon", "to": "2026-11-24T22:00:00"}
        ]}}))
        .unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
        let e = Settings::from_json(&json!({"weather": {"unsafe": [
            {"from": "2026-11-24T21:00:00", "to": "2026-11-24T22:00:00", "reason": "locusts"}
        ]}}))
        .unwrap_err();
        assert!(e.to_string().contains("locusts"), "{e}");
    }
}
