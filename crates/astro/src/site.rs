//! Where a telescope stands, and the air it looks through.

use serde::{Deserialize, Serialize};

use crate::AstroError;

/// WGS84 geodetic position; longitude east-positive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub height_m: f64,
}

impl Site {
    /// Refuses positions that would give silently wrong numbers downstream.
    pub fn validate(&self) -> Result<(), AstroError> {
        let ok = self.latitude_deg.is_finite()
            && (-90.0..=90.0).contains(&self.latitude_deg)
            && self.longitude_deg.is_finite()
            && (-180.0..=360.0).contains(&self.longitude_deg)
            && self.height_m.is_finite()
            && (-1000.0..=10_000.0).contains(&self.height_m);
        if ok { Ok(()) } else { Err(AstroError::BadSite(*self)) }
    }
    /// Geocentric Cartesian position on the WGS84 ellipsoid (ITRS), metres: FITS
    /// `OBSGEO-X/Y/Z` (WCS Paper VII). SOFA `gd2gc`.
    pub fn geocentric_m(&self) -> Result<[f64; 3], AstroError> {
        self.validate()?;
        const WGS84: i32 = 1;
        sofars::coords::gd2gc(
            WGS84,
            self.longitude_deg.to_radians(),
            self.latitude_deg.to_radians(),
            self.height_m,
        )
        .map_err(|_| AstroError::BadSite(*self))
    }
}

/// Ambient conditions for refraction (ERFA's model: `refco`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weather {
    pub pressure_hpa: f64,
    pub temperature_c: f64,
    /// Relative humidity, 0 to 1.
    pub humidity: f64,
    pub wavelength_um: f64,
}

impl Weather {
    /// A standard atmosphere at `height_m` (scale height 8434.5 m, 10 °C, 50 % humidity,
    /// V band): good to a few percent of refraction when no sensor reading exists.
    pub fn standard(height_m: f64) -> Weather {
        Weather {
            pressure_hpa: 1013.25 * (-height_m / 8434.5).exp(),
            temperature_c: 10.0,
            humidity: 0.5,
            wavelength_um: 0.55,
        }
    }

    pub fn validate(&self) -> Result<(), AstroError> {
        let ok = self.pressure_hpa.is_finite()
            && (0.0..=1200.0).contains(&self.pressure_hpa)
            && self.temperature_c.is_finite()
            && (-150.0..=200.0).contains(&self.temperature_c)
            && self.humidity.is_finite()
            && (0.0..=1.0).contains(&self.humidity)
            && self.wavelength_um.is_finite()
            && self.wavelength_um > 0.0;
        if ok { Ok(()) } else { Err(AstroError::BadWeather(*self)) }
    }
}

#[cfg(test)]
mod geocentric_tests {
    use super::*;

    #[test]
    fn la_palma_in_itrs_matches_astropy() {
        // astropy: EarthLocation.from_geodetic(-17.8816, 28.7606, 2396).to_geocentric()
        let xyz = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
            .geocentric_m()
            .unwrap();
        let want = [5_327_343.492_424, -1_718_795.954_578, 3_051_820.413_315];
        for (got, want) in xyz.iter().zip(want) {
            assert!((got - want).abs() < 1e-3, "{xyz:?}");
        }
    }
}
