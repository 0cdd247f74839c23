//! The inbox's checks on one file as a single call, for the fuzz target
//! (`fuzz/fuzz_targets/inbox_fits.rs`): what `take` runs on a dropped frame — the
//! checks, the telescope it names, teld's keywords added and the checks again —
//! without the store, the clock or the archive around them.

use std::path::Path;

use teld_astro::{Icrs, Site};

use super::KnownTelescope;
use super::check::{CheckError, inspect};
use super::enrich::{Context, enrich};
use super::take::telescope_of;
use crate::ingest::night_of;

/// What the checks made of an acceptable file.
#[derive(Debug, Clone)]
pub struct Probed {
    pub exptime_s: f64,
    pub night: String,
    pub telescope: Option<String>,
    pub data_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// What the daemon quarantines the file for.
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
    /// cfitsio could not add teld's keywords (the daemon quarantines it too).
    #[error("adding teld's keywords failed: {0}")]
    Enrich(String),
    /// teld's own edit of an accepted file made it unacceptable: a bug in teld.
    #[error("accepted, then refused after teld added its keywords: {0}")]
    EnrichedRefused(String),
}

fn checked(path: &Path) -> Result<super::check::Inspected, ProbeError> {
    inspect(path).map_err(|e| match e {
        CheckError::Refused(r) => ProbeError::Refused(r.to_string()),
        CheckError::Io(e) => ProbeError::Io(e.to_string()),
    })
}

/// Checks the file at `path` as the inbox does, then (when it passes) adds teld's
/// keywords to it in place and checks it again.
pub fn probe(path: &Path, telescopes: &[KnownTelescope]) -> Result<Probed, ProbeError> {
    let found = checked(path)?;
    let telescope = telescope_of(None, telescopes, &found.layout);
    let night = night_of(found.date_obs, -17.88);
    let ctx = Context {
        request_id: 1,
        observation_id: 1,
        object: Some("C4X9Z2".into()),
        target: Some(Icrs { ra_deg: 22.5, dec_deg: 20.1 }),
        site_name: "la-palma".into(),
        site: Site { latitude_deg: 28.76, longitude_deg: -17.88, height_m: 2396.0 },
        original_name: "frame.fits".into(),
    };
    enrich(path, &found.layout, &ctx).map_err(|e| ProbeError::Enrich(e.to_string()))?;
    checked(path).map_err(|e| match e {
        ProbeError::Refused(r) => ProbeError::EnrichedRefused(r),
        other => other,
    })?;
    Ok(Probed { exptime_s: found.exptime_s, night, telescope, data_sha256: found.data_sha256 })
}
