//! Adding teld's context to a foreign frame that matched an observation: the ids,
//! the target and the site, as the keywords teld's own frames carry (docs/FITS.md).
//!
//! Only keywords the file lacks are added — what the capture program wrote stays as
//! it wrote it, and the pixels are never touched — then DATASUM and CHECKSUM are
//! written (or updated) so the file verifies again. The result depends only on the
//! input and the store, never on the wall clock, so an enrichment repeated after a
//! crash produces the same bytes.

use std::ffi::CString;
use std::path::Path;

use fitsio::FitsFile;
use teld_astro::{Icrs, Site};

use super::header::Layout;

/// What teld knows about the observation a frame belongs to.
#[derive(Debug, Clone)]
pub(super) struct Context {
    pub request_id: i64,
    pub observation_id: i64,
    pub object: Option<String>,
    /// Target place (ICRS) at mid-exposure.
    pub target: Option<Icrs>,
    pub site_name: String,
    pub site: Site,
    /// The file's name in the inbox.
    pub original_name: String,
}

enum Value {
    Text(String),
    Int(i64),
    Real(f64, i32),
}

/// Adds the context to the FITS file at `path` (teld's temporary copy) in place.
/// Returns the keywords added, for the log.
pub(super) fn enrich(
    path: &Path,
    layout: &Layout,
    ctx: &Context,
) -> Result<Vec<&'static str>, fitsio::errors::Error> {
    let mut cards: Vec<(&'static str, Value, &'static str)> = vec![
        ("REQID", Value::Int(ctx.request_id), "teld request id"),
        ("OBSID", Value::Int(ctx.observation_id), "teld observation id"),
    ];
    if let Some(o) = &ctx.object {
        cards.push(("OBJECT", Value::Text(printable(o)), "target name (teld)"));
    }
    // Coordinates only as a set, and only where the file names no other frame.
    let frame_ok = layout.value("RADESYS").is_none_or(|f| f.trim().eq_ignore_ascii_case("ICRS"));
    if let Some(t) = ctx.target.filter(|_| frame_ok && !layout.has("RA") && !layout.has("DEC")) {
        cards.push(("RADESYS", Value::Text("ICRS".into()), "frame of RA/DEC"));
        cards.push(("RA", Value::Real(t.ra_deg, 6), "[deg] target right ascension (ICRS)"));
        cards.push(("DEC", Value::Real(t.dec_deg, 6), "[deg] target declination (ICRS)"));
    }
    let s = &ctx.site;
    cards.extend([
        ("SITENAME", Value::Text(printable(&ctx.site_name)), "observatory site"),
        ("SITELAT", Value::Real(s.latitude_deg, 6), "[deg] site latitude, north positive"),
        ("SITELONG", Value::Real(s.longitude_deg, 6), "[deg] site longitude, east positive"),
        ("SITEELEV", Value::Real(s.height_m, 1), "[m] site height above WGS84 ellipsoid"),
        ("OBSGEO-B", Value::Real(s.latitude_deg, 6), "[deg] geodetic latitude (WGS84)"),
        ("OBSGEO-L", Value::Real(s.longitude_deg, 6), "[deg] geodetic longitude, east positive"),
        ("OBSGEO-H", Value::Real(s.height_m, 1), "[m] height above WGS84 ellipsoid"),
        ("ORIGFILE", Value::Text(printable(&ctx.original_name)), "file name in teld's inbox"),
    ]);

    let mut f = FitsFile::edit(path)?;
    let hdu = f.primary_hdu()?;
    let mut added = Vec::new();
    for (key, value, comment) in cards {
        if layout.has(key) {
            continue;
        }
        match value {
            Value::Text(v) => hdu.write_key(&mut f, key, (v.as_str(), comment))?,
            Value::Int(v) => hdu.write_key(&mut f, key, (v, comment))?,
            Value::Real(v, decimals) => {
                let scale = 10f64.powi(decimals);
                hdu.write_key(&mut f, key, ((v * scale).round() / scale, comment))?
            }
        }
        added.push(key);
    }
    let history = format!(
        "teld: observation {} of request {}; added {}",
        ctx.observation_id,
        ctx.request_id,
        if added.is_empty() { "nothing".to_string() } else { added.join(" ") }
    );
    write_checksums(&mut f, &history)?;
    Ok(added)
}

/// HISTORY, then DATASUM and CHECKSUM over the final header and data.
fn write_checksums(f: &mut FitsFile, history: &str) -> Result<(), fitsio::errors::Error> {
    // Our own comments first: left to itself cfitsio writes the wall-clock time into
    // the checksum cards' comments, and the file would depend on when it was written.
    let c = |s: &str| CString::new(printable(s)).unwrap_or_default();
    let (hist, ds, cs) = (c(history), c("DATASUM"), c("CHECKSUM"));
    let (zero, zeros) = (c("0"), c("0000000000000000"));
    let (ds_comment, cs_comment) = (c("data unit checksum"), c("HDU checksum"));
    let (mut status, mut kind) = (0, 0);
    // SAFETY: `as_raw` gives the live `fitsfile*` owned by `f`, borrowed mutably for
    // the whole block and not kept; all strings are NUL-terminated CStrings that
    // outlive the calls; cfitsio reports failure in `status`, checked below (each
    // call does nothing once `status` is non-zero).
    unsafe {
        let p = f.as_raw();
        fitsio::sys::ffmahd(p, 1, &mut kind, &mut status);
        fitsio::sys::ffphis(p, hist.as_ptr(), &mut status);
        fitsio::sys::ffukys(p, ds.as_ptr(), zero.as_ptr(), ds_comment.as_ptr(), &mut status);
        fitsio::sys::ffukys(p, cs.as_ptr(), zeros.as_ptr(), cs_comment.as_ptr(), &mut status);
        fitsio::sys::ffpcks(p, &mut status);
    }
    fitsio::errors::check_status(status)
}

/// FITS header text is printable ASCII, at most one card long.
fn printable(s: &str) -> String {
    s.chars().map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' }).take(68).collect()
}

#[cfg(test)]
mod tests {
    use super::super::check::{CheckError, inspect};
    use super::super::header::tests::image;
    use super::*;

    fn context() -> Context {
        Context {
            request_id: 7,
            observation_id: 9,
            object: Some("C4X9Z2".into()),
            target: Some(Icrs { ra_deg: 22.5, dec_deg: 20.1 }),
            site_name: "la-palma".into(),
            site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
            original_name: "cam 1.fits".into(),
        }
    }

    /// Enriches a copy of `original` in `dir` and returns its bytes.
    fn enriched(dir: &Path, name: &str, original: &[u8]) -> (Vec<u8>, Vec<&'static str>) {
        let p = dir.join(name);
        std::fs::write(&p, original).unwrap();
        let layout = match inspect(&p) {
            Ok(i) => i.layout,
            Err(CheckError::Refused(r)) => panic!("{r}"),
            Err(CheckError::Io(e)) => panic!("{e}"),
        };
        let added = enrich(&p, &layout, &context()).unwrap();
        if let Err(CheckError::Refused(r)) = inspect(&p) {
            panic!("enriched file refused: {r}");
        }
        (std::fs::read(&p).unwrap(), added)
    }

    #[test]
    fn adds_only_missing_keys_keeps_pixels_and_checksums_verify() {
        let dir = tempfile::tempdir().unwrap();
        // 30 cards already: the added ones push the header into a second block, so
        // the data unit moves and must arrive unchanged.
        let mut cards = vec![
            "DATE-OBS= '2026-11-24T22:01:07.5'".to_string(),
            "EXPTIME =                 30.0".to_string(),
            "OBJECT  = 'M 42    '".to_string(),
        ];
        cards.extend((0..27).map(|i| format!("COMMENT filler {i}")));
        let cards: Vec<&str> = cards.iter().map(String::as_str).collect();
        let original = image(40, 30, &cards);
        let (bytes, added) = enriched(dir.path(), "a.fits", &original);
        assert!(!added.contains(&"OBJECT"), "{added:?}");
        for k in ["REQID", "OBSID", "RA", "DEC", "RADESYS", "SITELAT", "ORIGFILE"] {
            assert!(added.contains(&k), "{k} not added: {added:?}");
        }
        assert_eq!(bytes.len(), original.len() + 2880, "one more header block");
        assert_eq!(&bytes[5760..5760 + 2400], &original[2880..2880 + 2400], "pixels moved intact");

        let p = dir.path().join("a.fits");
        let mut f = FitsFile::open(&p).unwrap();
        let hdu = f.primary_hdu().unwrap();
        assert_eq!(hdu.read_key::<String>(&mut f, "OBJECT").unwrap(), "M 42", "kept as written");
        assert_eq!(hdu.read_key::<i64>(&mut f, "REQID").unwrap(), 7);
        assert_eq!(hdu.read_key::<i64>(&mut f, "OBSID").unwrap(), 9);
        assert_eq!(hdu.read_key::<f64>(&mut f, "RA").unwrap(), 22.5);
        assert_eq!(hdu.read_key::<String>(&mut f, "ORIGFILE").unwrap(), "cam 1.fits");
        let text = String::from_utf8_lossy(&bytes[..5760]).into_owned();
        assert!(
            text.contains("HISTORY teld: observation 9 of request 7; added REQID OBSID"),
            "{text}"
        );
        assert!(text.contains("CHECKSUM= '") && text.contains("DATASUM = '"), "{text}");
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        // What lets a take repeated after a crash recognise its own archive file.
        let dir = tempfile::tempdir().unwrap();
        let original = image(16, 16, &["DATE-OBS= '2026-11-24T22:01:07'", "EXPTIME =  1.0"]);
        let (a, _) = enriched(dir.path(), "a.fits", &original);
        let (b, _) = enriched(dir.path(), "b.fits", &original);
        assert!(a == b, "enrichment is not deterministic");
        // Existing checksums are updated in place, not duplicated.
        let (c, added) = enriched(dir.path(), "c.fits", &a);
        assert!(added.is_empty(), "{added:?}");
        let text = String::from_utf8_lossy(&c[..2880]).into_owned();
        assert_eq!(text.matches("CHECKSUM=").count(), 1, "{text}");
        assert_eq!(text.matches("DATASUM =").count(), 1, "{text}");
    }
}
