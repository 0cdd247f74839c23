//! Small angle helpers; everything public takes and returns degrees.

pub fn normalize_deg(a: f64) -> f64 {
    a.rem_euclid(360.0)
}

/// Great-circle separation of two points given as (longitude-like, latitude-like)
/// degrees, by the haversine form, which stays accurate at small separations.
pub fn separation_deg(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (l1, b1, l2, b2) =
        (lon1.to_radians(), lat1.to_radians(), lon2.to_radians(), lat2.to_radians());
    let h = ((b2 - b1) / 2.0).sin().powi(2) + b1.cos() * b2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
    (2.0 * h.sqrt().min(1.0).asin()).to_degrees()
}

/// Parses sexagesimal `12:34:56.7` / `-05 06 07` or plain decimal into a number in the
/// same unit as its first field.
pub fn parse_sexagesimal(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let neg = s.starts_with('-');
    let body = s.trim_start_matches(['-', '+']);
    let parts: Vec<&str> = body.split([':', ' ']).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut value = 0.0;
    let mut scale = 1.0;
    for (i, p) in parts.iter().enumerate() {
        let v: f64 = p.parse().ok()?;
        if v < 0.0 || (i > 0 && v >= 60.0) {
            return None;
        }
        value += v / scale;
        scale *= 60.0;
    }
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separation_known_cases() {
        assert!((separation_deg(0.0, 0.0, 90.0, 0.0) - 90.0).abs() < 1e-12);
        assert!((separation_deg(10.0, 89.0, 190.0, 89.0) - 2.0).abs() < 1e-9);
        assert!(separation_deg(1.0, 1.0, 1.0, 1.0).abs() < 1e-12);
    }

    #[test]
    fn sexagesimal() {
        assert!((parse_sexagesimal("01:30:00").unwrap() - 1.5).abs() < 1e-12);
        assert!((parse_sexagesimal("-05 30 00").unwrap() + 5.5).abs() < 1e-12);
        assert_eq!(parse_sexagesimal("12.25"), Some(12.25));
        assert_eq!(parse_sexagesimal("12:61:00"), None);
        assert_eq!(parse_sexagesimal("abc"), None);
    }
}
