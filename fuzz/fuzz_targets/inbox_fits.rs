#![no_main]
//! A file dropped into the inbox folder, as the daemon checks it: teld's own reading
//! of the FITS structure, then cfitsio opening it and verifying checksums, the
//! exposure keys, the telescope it names; an accepted file gets teld's keywords
//! written into it by cfitsio and must then pass the same checks again. cfitsio is
//! C: fuzz/cc-wrapper builds it with AddressSanitizer.

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use teld::ingest::KnownTelescope;
use teld::ingest::inbox_probe::{ProbeError, probe};

/// One folder for the whole run (in the system temporary folder, or `TMPDIR`): a
/// new one per input would cost more than the check.
fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
}

fuzz_target!(|data: &[u8]| {
    let path = dir().path().join("frame.fits");
    let mut f = std::fs::File::create(&path).expect("temporary file");
    f.write_all(data).expect("temporary file written");
    drop(f);
    let telescopes = [
        KnownTelescope { name: "t1".into(), names: vec!["t1".into(), "PlaneWave CDK24".into()] },
        KnownTelescope { name: "t2".into(), names: vec!["t2".into()] },
    ];
    match probe(&path, &telescopes) {
        Ok(p) => {
            assert!(p.exptime_s.is_finite() && p.exptime_s >= 0.0);
            assert_eq!(p.data_sha256.len(), 64);
        }
        Err(e @ ProbeError::EnrichedRefused(_)) => panic!("{e}"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
