//! One verification of the repository: `tough` does the TUF client workflow, this
//! module closes the gaps it leaves (update-design §3 rules 1–3 and 7):
//!
//! - start from the newest root this site verified, never the shipped one alone;
//! - refuse to run `tough` over a datastore file that does not parse;
//! - compare what `tough` accepted with our own fsynced floors, so a wiped or torn
//!   datastore cannot reopen a replay;
//! - refuse to run when teld's clock is before the last verified time.
//!
//! Nothing here touches drivers: a failure means "no update this cycle", never "stop".

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hifitime::Epoch;
use tough::schema::RoleType;
use tough::{ExpirationEnforcement, Limits, Repository, RepositoryLoader, TargetName};

use super::datastore;
use super::error::{Role, TrustError};
use super::paths::UpdatePaths;
use super::roots;
use super::source::Source;
use super::state::{StateFile, TufVersions, UpdateState};
use super::transport::HttpLimits;

/// Bounds on what a repository may make this site fetch.
#[derive(Debug, Clone, Copy)]
pub struct TrustConfig {
    pub limits: Limits,
    pub http: HttpLimits,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            // A timestamp is a few hundred bytes and a snapshot lists a handful of roles:
            // anything near these sizes is an endless-data attack, not a repository.
            limits: Limits {
                max_root_size: 1024 * 1024,
                max_targets_size: 10 * 1024 * 1024,
                max_timestamp_size: 64 * 1024,
                max_snapshot_size: 1024 * 1024,
                max_root_updates: 1024,
            },
            http: HttpLimits::default(),
        }
    }
}

/// A repository whose metadata verified and passed our floors.
#[derive(Debug)]
pub struct Verified {
    repo: Repository,
    versions: TufVersions,
    source: Source,
}

/// What the signed metadata says about one target: enough to check a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    pub name: String,
    /// Hex SHA-256.
    pub sha256: String,
    pub length: u64,
}

/// The bytes of a target as they arrive. `tough` checks the signed length and hash as
/// the stream goes; an error item means everything read so far must be thrown away.
pub type TargetStream = Pin<Box<dyn Stream<Item = Result<Bytes, TrustError>> + Send + Sync>>;

/// Verifies `source` with the production bounds; see [`load_with`].
pub async fn load(
    paths: &UpdatePaths,
    source: &Source,
    shipped_root: &[u8],
    state: &mut UpdateState,
    now: Epoch,
) -> Result<Verified, TrustError> {
    load_with(paths, source, shipped_root, state, now, &TrustConfig::default()).await
}

/// Verifies `source`, then records the verified versions and time in `state` (saved to
/// `paths.update_dir()/state.json` before returning) and the newest root in
/// `trusted_root.json`. On any error nothing in `state` changes.
pub async fn load_with(
    paths: &UpdatePaths,
    source: &Source,
    shipped_root: &[u8],
    state: &mut UpdateState,
    now: Epoch,
    config: &TrustConfig,
) -> Result<Verified, TrustError> {
    check_clock(state, now)?;
    let store = paths.datastore();
    datastore::check(&store)?;
    let trusted_path = paths.trusted_root();
    let start = roots::choose(&trusted_path, shipped_root, state.tuf.root)?;
    // A newer shipped root that rotated the timestamp or snapshot keys is a rotation
    // `tough` cannot see (it compares against the root it was given): do its part.
    if let Some(persisted) = &start.persisted
        && start.version > persisted.signed.version.get()
        && (roots::rotated(persisted, &start.start, RoleType::Timestamp)
            || roots::rotated(persisted, &start.start, RoleType::Snapshot))
    {
        datastore::forget_timestamp_and_snapshot(&store)?;
    }
    let ends = source.endpoints(config.http)?;
    let repo = RepositoryLoader::new(&start.bytes, ends.metadata, ends.targets)
        .transport(ends.transport)
        .limits(config.limits)
        .datastore(&store)
        // Never `Unsafe`: expiry is what bounds a freeze or replay window.
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await
        .map_err(|e| classify(&e, source))?;

    let loaded = versions_of(&repo);
    let floors =
        floors_after_rotation(state.tuf, start.persisted.as_ref().unwrap_or(&start.start), &repo);
    for (role, loaded, seen) in [
        ("root", loaded.root, floors.root),
        ("timestamp", loaded.timestamp, floors.timestamp),
        ("snapshot", loaded.snapshot, floors.snapshot),
        ("targets", loaded.targets, floors.targets),
    ] {
        if loaded < seen {
            return Err(TrustError::Rollback { role, loaded, seen });
        }
    }

    roots::save(&trusted_path, repo.root())?;
    let mut next = state.clone();
    next.tuf = loaded;
    next.verified_at = Some(teld_astro::time::format_utc(now, 3));
    StateFile::new(paths.update_dir()).save(&mut next)?;
    *state = next;
    Ok(Verified { repo, versions: loaded, source: source.clone() })
}

/// The floors to compare a load with. TUF's answer to a fast-forward attack (a stolen
/// online key signing version 2^40) is to rotate that key through root; after such a
/// rotation the inflated version must stop blocking, exactly as `tough` drops its cached
/// timestamp and snapshot. Only a root signed by the offline root keys can do this.
fn floors_after_rotation(
    mut floors: TufVersions,
    before: &tough::schema::Signed<tough::schema::Root>,
    repo: &Repository,
) -> TufVersions {
    let after = repo.root();
    if roots::rotated(before, after, RoleType::Timestamp)
        || roots::rotated(before, after, RoleType::Snapshot)
    {
        floors.timestamp = 0;
        floors.snapshot = 0;
    }
    if roots::rotated(before, after, RoleType::Targets) {
        floors.targets = 0;
    }
    floors
}

fn versions_of(repo: &Repository) -> TufVersions {
    TufVersions {
        root: repo.root().signed.version.get(),
        timestamp: repo.timestamp().signed.version.get(),
        snapshot: repo.snapshot().signed.version.get(),
        targets: repo.targets().signed.version.get(),
    }
}

/// Rule 7: a clock behind the last verified time has been stepped back (or was ahead
/// before). Expiry checks are meaningless on such a clock, so no cycle runs.
fn check_clock(state: &UpdateState, now: Epoch) -> Result<(), TrustError> {
    let Some(at) = &state.verified_at else { return Ok(()) };
    let verified = teld_astro::time::parse_utc(at).map_err(|e| TrustError::ClockSteppedBack {
        now: teld_astro::time::format_utc(now, 3),
        verified_at: format!("{at} (unreadable: {e})"),
    })?;
    if now < verified {
        return Err(TrustError::ClockSteppedBack {
            now: teld_astro::time::format_utc(now, 3),
            verified_at: at.clone(),
        });
    }
    Ok(())
}

/// The operator's recovery after the clock was set far ahead and then corrected
/// (case 20): forget the last verified time, ours and `tough`'s. Floors stay, so this
/// cannot reopen a rollback; it only lets expiry be judged by the corrected clock.
pub fn reset_clock(paths: &UpdatePaths, state: &mut UpdateState) -> Result<(), TrustError> {
    datastore::forget_latest_time(&paths.datastore())?;
    let mut next = state.clone();
    next.verified_at = None;
    StateFile::new(paths.update_dir()).save(&mut next)?;
    *state = next;
    Ok(())
}

impl Verified {
    /// Versions of the four top-level roles that verified (now also our floors).
    pub fn versions(&self) -> TufVersions {
        self.versions
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// When the signed timestamp expires (RFC 3339): the freeze window left.
    pub fn timestamp_expires(&self) -> String {
        self.repo.timestamp().signed.expires.to_string()
    }

    /// Every signed target with its `custom` fields.
    pub fn targets(&self) -> impl Iterator<Item = (&TargetName, &tough::schema::Target)> {
        self.repo.all_targets()
    }

    /// The signed length and hash of `name`, if it is a signed target.
    pub fn target(&self, name: &str) -> Option<TargetInfo> {
        let tn = TargetName::new(name).ok()?;
        let t = self.repo.targets().signed.find_target(&tn, false).ok()?;
        Some(TargetInfo { name: name.to_string(), sha256: hex(&t.hashes.sha256), length: t.length })
    }

    /// Streams a signed target. Only names listed in the signed targets can be read at
    /// all (an unsigned artefact is never fetched); the stream ends in an error if the
    /// bytes differ from the signed length or sha256.
    pub async fn read_target(&self, name: &str) -> Result<TargetStream, TrustError> {
        let not_signed = || TrustError::NotSigned { name: name.to_string() };
        let tn = TargetName::new(name).map_err(|_| not_signed())?;
        let stream = self
            .repo
            .read_target(&tn)
            .await
            .map_err(|e| classify(&e, &self.source))?
            .ok_or_else(not_signed)?;
        let name = name.to_string();
        let source = self.source.clone();
        Ok(Box::pin(stream.map(move |item| {
            item.map_err(|e| match classify(&e, &source) {
                TrustError::TooLarge { why, .. } | TrustError::Verification { why, .. } => {
                    TrustError::TargetMismatch { name: name.clone(), why }
                }
                other => other,
            })
        })))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn role_name(role: RoleType) -> Role {
    match role {
        RoleType::Root => "root",
        RoleType::Snapshot => "snapshot",
        RoleType::Targets => "targets",
        RoleType::Timestamp => "timestamp",
        RoleType::DelegatedTargets => "delegated targets",
    }
}

/// Maps `tough`'s error to what the site should do about it, looking through the chain
/// because size and hash failures arrive wrapped in transport errors.
fn classify(err: &tough::error::Error, source: &Source) -> TrustError {
    use tough::error::Error as E;
    let source_desc = source.to_string();
    let why = chain(err);
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<E>() {
            match t {
                E::ExpiredMetadata { role, .. } => {
                    return TrustError::Expired { role: role_name(*role).to_string() };
                }
                E::SystemTimeSteppedBackward { sys_time, latest_known_time } => {
                    return TrustError::ClockSteppedBack {
                        now: sys_time.to_string(),
                        verified_at: latest_known_time.to_string(),
                    };
                }
                E::OlderMetadata { role, current_version, new_version, .. } => {
                    return TrustError::Rollback {
                        role: role_name(*role),
                        loaded: *new_version,
                        seen: *current_version,
                    };
                }
                E::MaxSizeExceeded { .. } => return TrustError::TooLarge { source_desc, why },
                _ => {}
            }
        }
        if let Some(t) = e.downcast_ref::<tough::TransportError>() {
            match t.kind() {
                // Without a timestamp there is nothing signed to look at (rule: first
                // boot offline, an empty stick). Other missing files are damage.
                tough::TransportErrorKind::FileNotFound if t.url().ends_with("/timestamp.json") => {
                    return TrustError::NoMetadata { source_desc, why };
                }
                tough::TransportErrorKind::FileNotFound => {}
                _ if e.source().is_none_or(|s| s.downcast_ref::<E>().is_none()) => {
                    return TrustError::Transport { source_desc, why };
                }
                _ => {}
            }
        }
        cur = e.source();
    }
    TrustError::Verification { source_desc, why }
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = e.source();
    }
    s
}
