//! The frame's world coordinate system: a gnomonic (TAN) projection centred on where
//! the mount reported it pointed, with a CD matrix from the plate scale, the camera's
//! angle on the sky and its parity (FITS WCS Paper II, Calabretta & Greisen 2002).
//! Good enough for a plate solver to start from; exact for the simulated camera.

use teld_astro::Icrs;
use teld_astro::projection::{from_plane, to_plane};

/// How the detector sits on the sky, from the telescope's configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detector {
    /// Degrees per unbinned pixel.
    pub scale_deg: f64,
    /// Position angle of the detector's +y axis (NAXIS2 increasing), degrees east of
    /// north: 0 puts north at +y.
    pub angle_deg: f64,
    /// East at +x with north at +y: a mirror image, as an odd number of reflections
    /// in the light path (a diagonal) gives. Unflipped, east is at −x, the sky as seen.
    pub flipped: bool,
}

/// A complete TAN WCS of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wcs {
    pub crval: Icrs,
    /// FITS 1-based reference pixel.
    pub crpix: (f64, f64),
    /// Degrees per pixel: `[[CD1_1, CD1_2], [CD2_1, CD2_2]]`.
    pub cd: [[f64; 2]; 2],
}

impl Wcs {
    /// The WCS of a `width`×`height` image binned `bin_x`×`bin_y`, the pointing on the
    /// image centre.
    pub fn new(
        d: Detector,
        crval: Icrs,
        (width, height): (u32, u32),
        (bin_x, bin_y): (u32, u32),
    ) -> Wcs {
        let (sx, sy) = (d.scale_deg * f64::from(bin_x), d.scale_deg * f64::from(bin_y));
        let (sin, cos) = d.angle_deg.to_radians().sin_cos();
        // Columns are where +x and +y point in (ξ east, η north): +y at the position
        // angle, +x a right angle from it on the side parity says.
        let x_dir = if d.flipped { (cos, -sin) } else { (-cos, sin) };
        let y_dir = (sin, cos);
        Wcs {
            crval,
            crpix: ((f64::from(width) + 1.0) / 2.0, (f64::from(height) + 1.0) / 2.0),
            cd: [[sx * x_dir.0, sy * y_dir.0], [sx * x_dir.1, sy * y_dir.1]],
        }
    }

    /// ICRS of a 1-based FITS pixel.
    pub fn pixel_to_world(&self, x: f64, y: f64) -> Icrs {
        let (u, v) = (x - self.crpix.0, y - self.crpix.1);
        let xi = (self.cd[0][0] * u + self.cd[0][1] * v).to_radians();
        let eta = (self.cd[1][0] * u + self.cd[1][1] * v).to_radians();
        let (ra_deg, dec_deg) = from_plane(self.crval.ra_deg, self.crval.dec_deg, xi, eta);
        Icrs { ra_deg, dec_deg }
    }

    /// The 1-based FITS pixel of a place; `None` on the far hemisphere.
    pub fn world_to_pixel(&self, p: Icrs) -> Option<(f64, f64)> {
        let (xi, eta) = to_plane(self.crval.ra_deg, self.crval.dec_deg, p.ra_deg, p.dec_deg)?;
        let (xi, eta) = (xi.to_degrees(), eta.to_degrees());
        let [[a, b], [c, d]] = self.cd;
        let det = a * d - b * c;
        let u = (d * xi - b * eta) / det;
        let v = (a * eta - c * xi) / det;
        Some((u + self.crpix.0, v + self.crpix.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCSEC: f64 = 1.0 / 3600.0;

    fn wcs(angle_deg: f64, flipped: bool) -> Wcs {
        let d = Detector { scale_deg: 1.5 * ARCSEC, angle_deg, flipped };
        Wcs::new(d, Icrs { ra_deg: 45.0, dec_deg: 30.0 }, (1024, 1024), (1, 1))
    }

    #[test]
    fn north_up_east_left_is_the_usual_cd_matrix() {
        let w = wcs(0.0, false);
        assert_eq!(w.crpix, (512.5, 512.5));
        let s = 1.5 * ARCSEC;
        assert!((w.cd[0][0] + s).abs() < 1e-15 && (w.cd[1][1] - s).abs() < 1e-15);
        assert!(w.cd[0][1].abs() < 1e-15 && w.cd[1][0].abs() < 1e-15);
        // One pixel up is 1.5″ north; one pixel right is 1.5″ west (RA down).
        let up = w.pixel_to_world(512.5, 513.5);
        assert!((up.dec_deg - 30.0 - s).abs() < 1e-9 && (up.ra_deg - 45.0).abs() < 1e-9);
        let right = w.pixel_to_world(513.5, 512.5);
        assert!(right.ra_deg < 45.0, "{right:?}");
    }

    #[test]
    fn the_angle_turns_north_and_the_flip_mirrors_east() {
        // +y at PA 90°: east is up; unflipped, north is then to the right (+x).
        let w = wcs(90.0, false);
        let up = w.pixel_to_world(512.5, 612.5);
        let right = w.pixel_to_world(612.5, 512.5);
        assert!(up.ra_deg > 45.0 && (up.dec_deg - 30.0).abs() < 1e-4, "{up:?}");
        assert!(right.dec_deg > 30.0, "{right:?}");
        // Flipped, north up: east is to the right.
        let f = wcs(0.0, true);
        assert!(f.pixel_to_world(612.5, 512.5).ra_deg > 45.0);
    }

    #[test]
    fn pixels_and_places_round_trip_for_any_angle_and_binning() {
        for (angle, flipped) in [(0.0, false), (33.0, false), (-120.0, true), (180.0, true)] {
            let d = Detector { scale_deg: 0.9 * ARCSEC, angle_deg: angle, flipped };
            let w = Wcs::new(d, Icrs { ra_deg: 359.9, dec_deg: -62.0 }, (2048, 1536), (2, 2));
            for (x, y) in [(1.0, 1.0), (2048.0, 1.0), (700.3, 1200.7), (1024.5, 768.5)] {
                let p = w.pixel_to_world(x, y);
                let (x2, y2) = w.world_to_pixel(p).unwrap();
                assert!(
                    (x - x2).abs() < 1e-6 && (y - y2).abs() < 1e-6,
                    "{angle} {flipped}: {x},{y} → {x2},{y2}"
                );
            }
            // Binned 2×2, a pixel spans 1.8″.
            let a = w.pixel_to_world(1024.5, 768.5);
            let b = w.pixel_to_world(1025.5, 768.5);
            assert!((a.separation_deg(b) / ARCSEC - 1.8).abs() < 1e-6);
        }
    }
}
