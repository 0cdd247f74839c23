//! The WCS teld writes into a frame, checked against the sky itself: a night of the
//! real daemon and simulator driver, then the catalogue stars of the simulator's
//! fixed sky are placed on the frame through the header's WCS and must be found
//! there (centroids within a pixel). astropy must read the same header the same way.

mod common;

use std::time::Duration;

use common::daemon::{Teld, TestSite};
use common::peers::{python_with_astropy, require};
use teld_astro::Icrs;
use teld_astro::projection::to_plane;
use teld_driver_sim::starfield::stars_near;

const FIELD: (f64, f64) = (22.5, 20.1);

struct Header {
    crval: (f64, f64),
    crpix: (f64, f64),
    cd: [[f64; 2]; 2],
    width: usize,
    height: usize,
}

impl Header {
    fn read(f: &mut fitsio::FitsFile) -> Header {
        let hdu = f.primary_hdu().unwrap();
        let mut k = |key: &str| -> f64 {
            hdu.read_key(f, key).unwrap_or_else(|e| panic!("{key} missing from the header: {e}"))
        };
        let h = Header {
            crval: (k("CRVAL1"), k("CRVAL2")),
            crpix: (k("CRPIX1"), k("CRPIX2")),
            cd: [[k("CD1_1"), k("CD1_2")], [k("CD2_1"), k("CD2_2")]],
            width: k("NAXIS1") as usize,
            height: k("NAXIS2") as usize,
        };
        let ctype: String = hdu.read_key(f, "CTYPE1").unwrap();
        assert_eq!(ctype, "RA---TAN");
        h
    }

    /// 1-based FITS pixel of a place, by the header's TAN projection.
    fn pixel(&self, ra_deg: f64, dec_deg: f64) -> (f64, f64) {
        let (xi, eta) = to_plane(self.crval.0, self.crval.1, ra_deg, dec_deg).unwrap();
        let (xi, eta) = (xi.to_degrees(), eta.to_degrees());
        let [[a, b], [c, d]] = self.cd;
        let det = a * d - b * c;
        ((d * xi - b * eta) / det + self.crpix.0, (a * eta - c * xi) / det + self.crpix.1)
    }
}

/// Background-subtracted centroid in a (2r+1)² box around 0-based (x, y).
fn centroid(px: &[i32], w: usize, (x, y): (usize, usize), r: usize, sky: f64) -> (f64, f64) {
    let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
    for yy in y - r..=y + r {
        for xx in x - r..=x + r {
            let v = (f64::from(px[yy * w + xx]) - sky).max(0.0);
            sx += v * xx as f64;
            sy += v * yy as f64;
            s += v;
        }
    }
    (sx / s, sy / s)
}

#[test]
fn catalogue_stars_land_where_the_header_wcs_says() {
    let site = TestSite::new("wcs", &[], "");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let id = teld.submit(&format!(
        r#"{{"name": "wcs", "target": {{"name": "wcs", "ra_deg": {}, "dec_deg": {}}},
            "exposure_s": 10, "count": 1, "filter": "V"}}"#,
        FIELD.0, FIELD.1
    ));
    let r = teld.wait_state(id, "completed", Duration::from_secs(120));
    let path = site.archive().join(r["frames"][0]["path"].as_str().unwrap());
    let mut f = fitsio::FitsFile::open(&path).unwrap();
    let h = Header::read(&mut f);
    let hdu = f.primary_hdu().unwrap();
    let px: Vec<i32> = hdu.read_image(&mut f).unwrap();
    let moon_sep: f64 = hdu.read_key(&mut f, "MOONSEP").unwrap();
    assert!((0.0..=180.0).contains(&moon_sep), "{moon_sep}");
    let mut sorted = px.clone();
    sorted.sort_unstable();
    let sky = f64::from(sorted[sorted.len() / 2]);

    // Isolated, unsaturated catalogue stars well inside the frame.
    let centre = Icrs { ra_deg: h.crval.0, dec_deg: h.crval.1 };
    let stars = stars_near(centre, 0.5, 16.0);
    let (w, ht) = (h.width as f64, h.height as f64);
    let placed: Vec<(f64, f64, f64, f64)> = stars
        .iter()
        .map(|s| {
            let (x, y) = h.pixel(s.ra_deg, s.dec_deg);
            (x, y, s.ra_deg, s.mag)
        })
        .collect();
    let mut checked = Vec::new();
    for (i, &(x, y, _, mag)) in placed.iter().enumerate() {
        let inside = (20.0..w - 20.0).contains(&x) && (20.0..ht - 20.0).contains(&y);
        let alone = placed
            .iter()
            .enumerate()
            .all(|(j, &(x2, y2, _, m2))| j == i || (x - x2).hypot(y - y2) > 12.0 || m2 > mag + 3.0);
        if inside && alone && (12.5..15.5).contains(&mag) {
            let at = ((x - 1.0).round() as usize, (y - 1.0).round() as usize);
            let (cx, cy) = centroid(&px, h.width, at, 4, sky);
            let off = (cx - (x - 1.0)).hypot(cy - (y - 1.0));
            checked.push((mag, off));
        }
    }
    assert!(checked.len() >= 5, "too few test stars in the field: {checked:?}");
    let worst = checked.iter().map(|c| c.1).fold(0.0, f64::max);
    assert!(worst < 1.0, "a star lies {worst:.2} px from where the WCS puts it: {checked:?}");
    println!("{} catalogue stars within {worst:.3} px of their WCS places", checked.len());

    // astropy reads the same header to the same pixels.
    let Some(python) = require(python_with_astropy(), "astropy", "astropy reading teld's WCS")
    else {
        return;
    };
    let probe: Vec<String> =
        stars.iter().take(20).map(|s| format!("{},{}", s.ra_deg, s.dec_deg)).collect();
    let script = r#"
import sys, warnings
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
warnings.simplefilter("error")
# wcslib's own OBSGEO check puts WGS84 3 m away from where SOFA and astropy's
# EarthLocation put it; it only notes that, so it is not a failure here.
warnings.simplefilter("ignore", FITSFixedWarning)
w = WCS(fits.getheader(sys.argv[1]))
for pair in sys.argv[2:]:
    ra, dec = map(float, pair.split(","))
    x, y = w.all_world2pix([[ra, dec]], 1)[0]
    print(f"{float(x)!r} {float(y)!r}")
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&path)
        .args(&probe)
        .output()
        .unwrap();
    assert!(out.status.success(), "astropy: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for (line, s) in text.lines().zip(&stars) {
        let v: Vec<f64> = line.split(' ').map(|t| t.parse().unwrap()).collect();
        let (x, y) = h.pixel(s.ra_deg, s.dec_deg);
        assert!(
            (v[0] - x).abs() < 1e-3 && (v[1] - y).abs() < 1e-3,
            "astropy puts {s:?} at {v:?}, teld at ({x}, {y})"
        );
    }
}
