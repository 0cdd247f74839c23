//! The few 3-vector operations the orbit code needs, on plain arrays.

pub type V3 = [f64; 3];

pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(k: f64, a: V3) -> V3 {
    [k * a[0], k * a[1], k * a[2]]
}

pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

/// Right ascension and declination (radians; RA in [0, 2π)) of a direction.
pub fn ra_dec(p: V3) -> (f64, f64) {
    let ra = p[1].atan2(p[0]).rem_euclid(std::f64::consts::TAU);
    let dec = p[2].atan2(p[0].hypot(p[1]));
    (ra, dec)
}

/// Unit vectors towards increasing RA (east) and Dec (north) at a place on the sky:
/// projecting a velocity on them gives RA·cos(Dec) and Dec rates without dividing by
/// cos(Dec), so the rates stay finite near the poles.
pub fn east_north(ra: f64, dec: f64) -> (V3, V3) {
    let (sa, ca) = ra.sin_cos();
    let (sd, cd) = dec.sin_cos();
    ([-sa, ca, 0.0], [-sd * ca, -sd * sa, cd])
}

/// The unit vector at RA, Dec (radians).
pub fn unit(ra: f64, dec: f64) -> V3 {
    let (sa, ca) = ra.sin_cos();
    let (sd, cd) = dec.sin_cos();
    [cd * ca, cd * sa, sd]
}
