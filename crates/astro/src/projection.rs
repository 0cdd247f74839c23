//! The gnomonic (TAN) projection: sky ↔ tangent plane, as FITS WCS `RA---TAN` uses.

/// Standard coordinates (ξ, η) of (ra, dec) about the tangent point (ra0, dec0), in
/// radians of the tangent plane; `None` for points 90° or more from the centre.
pub fn to_plane(ra0_deg: f64, dec0_deg: f64, ra_deg: f64, dec_deg: f64) -> Option<(f64, f64)> {
    let (a0, d0, a, d) =
        (ra0_deg.to_radians(), dec0_deg.to_radians(), ra_deg.to_radians(), dec_deg.to_radians());
    let cos_c = d0.sin() * d.sin() + d0.cos() * d.cos() * (a - a0).cos();
    if cos_c <= 1e-9 {
        return None;
    }
    let xi = d.cos() * (a - a0).sin() / cos_c;
    let eta = (d0.cos() * d.sin() - d0.sin() * d.cos() * (a - a0).cos()) / cos_c;
    Some((xi, eta))
}

/// Inverse of [`to_plane`]: (ra, dec) in degrees.
pub fn from_plane(ra0_deg: f64, dec0_deg: f64, xi: f64, eta: f64) -> (f64, f64) {
    let (a0, d0) = (ra0_deg.to_radians(), dec0_deg.to_radians());
    let rho = (xi * xi + eta * eta).sqrt();
    if rho == 0.0 {
        return (ra0_deg, dec0_deg);
    }
    let c = rho.atan();
    let dec = (c.cos() * d0.sin() + eta * c.sin() * d0.cos() / rho).asin();
    let ra = a0 + (xi * c.sin()).atan2(rho * d0.cos() * c.cos() - eta * d0.sin() * c.sin());
    (crate::angle::normalize_deg(ra.to_degrees()), dec.to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_orientation() {
        let (xi, eta) = to_plane(30.0, 20.0, 30.5, 20.2).unwrap();
        assert!(xi > 0.0 && eta > 0.0, "east is +ξ, north is +η");
        let (ra, dec) = from_plane(30.0, 20.0, xi, eta);
        assert!((ra - 30.5).abs() < 1e-10 && (dec - 20.2).abs() < 1e-10);
        assert_eq!(to_plane(0.0, 0.0, 180.0, 0.0), None);
    }
}
