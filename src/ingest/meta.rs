//! What teld knows about a frame besides its pixels: everything that goes into the
//! FITS header.

use hifitime::Epoch;
use teld_astro::{Icrs, Site};
use teld_driver_protocol::WeatherState;

use super::wcs::Wcs;
use crate::model::{ObservationId, RequestId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Light,
    Dark,
    Bias,
    Flat,
}

impl ImageType {
    /// FITS `IMAGETYP` value, as most capture software writes it.
    pub fn fits_value(self) -> &'static str {
        match self {
            ImageType::Light => "Light Frame",
            ImageType::Dark => "Dark Frame",
            ImageType::Bias => "Bias Frame",
            ImageType::Flat => "Flat Field",
        }
    }
}

/// Where the mount said it pointed, read back from the device at exposure start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MountPointing {
    /// ICRS (the daemon converts coordinates of date before filling this).
    pub icrs: Icrs,
    pub alt_deg: f64,
    pub az_deg: f64,
}

#[derive(Debug, Clone)]
pub struct FrameMeta {
    /// Start of exposure by teld's clock (FITS `DATE-OBS`), not the camera's.
    pub date_obs: Epoch,
    pub exptime_s: f64,
    pub image_type: ImageType,
    pub object: String,
    pub observer: Option<String>,
    pub request_id: RequestId,
    pub observation_id: ObservationId,
    /// 1-based number of this frame within its request.
    pub frame_seq: u32,
    /// The night plan that scheduled the observation (see `Block::plan_id`).
    pub plan_id: Option<String>,
    /// Configured telescope name: used in the archive path.
    pub telescope: String,
    /// FITS `TELESCOP`.
    pub telescop: String,
    /// FITS `INSTRUME`.
    pub instrument: String,
    pub filter: Option<String>,
    pub bin_x: u32,
    pub bin_y: u32,
    pub gain_e_per_adu: Option<f64>,
    pub ccd_temp_c: Option<f64>,
    /// Focuser steps and probe temperature as the focuser reported them at the start.
    pub focus_position: Option<i32>,
    pub focuser_temp_c: Option<f64>,
    pub site_name: String,
    pub site: Site,
    /// Requested target (ICRS).
    pub target: Icrs,
    pub mount: Option<MountPointing>,
    pub airmass: Option<f64>,
    pub weather: Option<WeatherState>,
    /// Exposure start by the camera's own clock, if it reported one.
    pub device_exposure_start: Option<String>,
    /// `teld <version>`.
    pub software: String,
    /// The frame's WCS, when the telescope's plate scale is known.
    pub wcs: Option<Wcs>,
    /// The Moon seen from the site at exposure start.
    pub moon: Option<MoonAtFrame>,
}

/// The Moon at exposure start, for the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoonAtFrame {
    /// Degrees from the target.
    pub separation_deg: f64,
    pub alt_deg: f64,
    /// Illuminated fraction, 0..1.
    pub illumination: f64,
}
