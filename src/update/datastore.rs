//! Guards around `tough`'s datastore (`update/tuf/`). `tough` reads its cached metadata
//! with "if it parses, check rollback against it" — a torn or emptied file therefore
//! silently switches its rollback check off, and so does a corrupt
//! `latest_known_time.json` for its clock check. We refuse to call `tough` at all
//! unless every file there parses as what it claims to be (update-design §3 rule 2).

use std::path::Path;

use serde::de::DeserializeOwned;
use tough::schema::{Root, Signed, Snapshot, Targets, Timestamp};

use super::error::TrustError;

/// The file in which `tough` keeps the latest system time it saw.
pub const LATEST_KNOWN_TIME: &str = "latest_known_time.json";

/// Fails closed unless every entry of the datastore is a regular file that parses as
/// JSON of its role. A missing folder is created (an empty store is legitimate: our own
/// floors in `state.json` still hold).
pub fn check(store: &Path) -> Result<(), TrustError> {
    let corrupt = |path: &Path, why: String| TrustError::DatastoreCorrupt {
        path: path.to_path_buf(),
        store: store.to_path_buf(),
        why,
    };
    std::fs::create_dir_all(store).map_err(|e| corrupt(store, e.to_string()))?;
    let list = std::fs::read_dir(store).map_err(|e| corrupt(store, e.to_string()))?;
    for entry in list {
        let entry = entry.map_err(|e| corrupt(store, e.to_string()))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| corrupt(&path, e.to_string()))?;
        if !kind.is_file() {
            return Err(corrupt(&path, "not a regular file".into()));
        }
        let bytes = std::fs::read(&path).map_err(|e| corrupt(&path, e.to_string()))?;
        let name = entry.file_name();
        let parsed = match name.to_str() {
            Some("root.json") => parses::<Signed<Root>>(&bytes),
            Some("timestamp.json") => parses::<Signed<Timestamp>>(&bytes),
            Some("snapshot.json") => parses::<Signed<Snapshot>>(&bytes),
            Some(LATEST_KNOWN_TIME) => parses_time(&bytes),
            // `targets.json` and any delegated role `tough` caches under its name.
            Some(n) if n.ends_with(".json") => parses::<Signed<Targets>>(&bytes),
            _ => Err("not a file tough writes".into()),
        };
        parsed.map_err(|why| corrupt(&path, why))?;
    }
    Ok(())
}

fn parses<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<T>(bytes).map(drop).map_err(|e| e.to_string())
}

fn parses_time(bytes: &[u8]) -> Result<(), String> {
    let s: String = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    teld_astro::time::parse_utc(&s).map(drop).map_err(|e| e.to_string())
}

/// Forgets the cached timestamp and snapshot, as TUF does when their keys rotate: the
/// rotation is how a repository recovers from a fast-forward attack, and the cached
/// (inflated) versions must not block it.
pub fn forget_timestamp_and_snapshot(store: &Path) -> Result<(), TrustError> {
    for name in ["timestamp.json", "snapshot.json"] {
        remove(&store.join(name))?;
    }
    Ok(())
}

/// Forgets the latest time `tough` saw: part of the operator's recovery after the clock
/// was set far ahead (case 20).
pub fn forget_latest_time(store: &Path) -> Result<(), TrustError> {
    remove(&store.join(LATEST_KNOWN_TIME))
}

fn remove(path: &Path) -> Result<(), TrustError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(TrustError::Write { path: path.to_path_buf(), source }),
    }
}

#[cfg(test)]
mod update_tests {
    use super::*;

    #[test]
    fn empty_or_torn_files_fail_closed_and_an_empty_store_passes() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("tuf");
        check(&store).unwrap();
        std::fs::write(store.join(LATEST_KNOWN_TIME), b"\"2026-05-01T10:00:00.123456Z\"").unwrap();
        check(&store).unwrap();
        for (name, bytes) in [
            ("timestamp.json", &b""[..]),
            ("snapshot.json", b"{\"signed\": {"),
            ("targets.json", b"[]"),
            (LATEST_KNOWN_TIME, b"\"yesterday\""),
            ("stray.tmp", b"x"),
        ] {
            std::fs::write(store.join(name), bytes).unwrap();
            let e = check(&store).unwrap_err();
            assert!(matches!(e, TrustError::DatastoreCorrupt { .. }), "{name}: {e}");
            std::fs::remove_file(store.join(name)).unwrap();
        }
    }
}
