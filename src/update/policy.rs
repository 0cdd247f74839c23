//! Which signed build, if any, a driver slot should move to (update-design §3 rule 4).
//! Everything compared here is signed, so it can be trusted once `trust::load`
//! succeeded; what makes it safe is that the floors and the `seen` hashes live in our
//! own state and only ever move up.

use super::error::PolicyError;
use super::meta::{DriverMeta, HOST_TRIPLE, Release};
use super::state::{Slot, UpdateState};
use super::trust::{Verified, hex};

/// What a build must match to run on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub triple: String,
    pub protocol: u32,
    pub daemon: semver::Version,
}

impl Host {
    /// This teld: the triple it was built for, its driver protocol and its version.
    pub fn this() -> Self {
        Self {
            triple: HOST_TRIPLE.to_string(),
            protocol: teld_driver_protocol::PROTOCOL_VERSION,
            daemon: semver::Version::parse(env!("CARGO_PKG_VERSION"))
                .expect("the package version is semver"),
        }
    }
}

/// A signed build chosen for installation: what `install` needs to fetch and check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The TUF target name, for [`Verified::read_target`].
    pub target: String,
    pub meta: DriverMeta,
    /// Hex SHA-256, as signed.
    pub sha256: String,
    pub length: u64,
}

impl Candidate {
    pub fn release(&self) -> Release {
        self.meta.release()
    }
}

/// Every signed build of `slot`. Targets whose `custom` is not a driver description are
/// someone else's (or a newer CI's) and are left alone; a driver build whose name does
/// not match its own fields is ignored, so a name can never point into another slot.
pub fn builds(verified: &Verified, slot: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (name, target) in verified.targets() {
        let custom = serde_json::Value::Object(
            target.custom.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        );
        let Ok(meta) = serde_json::from_value::<DriverMeta>(custom) else { continue };
        if meta.driver != slot {
            continue;
        }
        if meta.target_name() != name.raw() {
            tracing::warn!(
                target = name.raw(),
                "signed driver target's name does not match its fields; ignored"
            );
            continue;
        }
        out.push(Candidate {
            target: name.raw().to_string(),
            sha256: hex(&target.hashes.sha256),
            length: target.length,
            meta,
        });
    }
    out
}

/// The best build for `slot`, or `None` when nothing newer is eligible. Records every
/// build seen and raises the slot floor to any signed security floor: the caller must
/// save `state` (before installing), so a later replay cannot lower either.
pub fn pick(
    verified: &Verified,
    state: &mut UpdateState,
    slot: &str,
    host: &Host,
) -> Result<Option<Candidate>, PolicyError> {
    let builds = builds(verified, slot);
    let s = state.slot_mut(slot);
    learn(s, slot, &builds)?;
    Ok(builds
        .into_iter()
        .filter(|c| match eligible(s, slot, host, c) {
            Ok(()) => true,
            Err(why) => {
                tracing::debug!(slot, target = %c.target, %why, "not a candidate");
                false
            }
        })
        .max_by(|a, b| a.release().cmp(&b.release())))
}

/// The build of `wanted` for this host, as an operator asked. The same rules as
/// [`pick`]: an operator cannot install below a floor (case 14) or go back to an older
/// version through the repository (case 13; `rollback` uses the local `previous`).
pub fn pick_version(
    verified: &Verified,
    state: &mut UpdateState,
    slot: &str,
    host: &Host,
    wanted: &semver::Version,
) -> Result<Candidate, PolicyError> {
    let builds = builds(verified, slot);
    let s = state.slot_mut(slot);
    learn(s, slot, &builds)?;
    let found = builds
        .into_iter()
        .filter(|c| &c.meta.version == wanted && c.meta.triple == host.triple)
        .max_by_key(|c| c.meta.epoch)
        .ok_or_else(|| PolicyError::NotFound {
            slot: slot.to_string(),
            wanted: wanted.to_string(),
            triple: host.triple.clone(),
        })?;
    eligible(s, slot, host, &found)?;
    Ok(found)
}

/// Remembers each build's hash and the signed security floor, refusing the whole slot if
/// a version comes back with other bytes: a signed repository never does that, so
/// either CI broke its append-only rule or someone holds the targets key (case 11).
fn learn(s: &mut Slot, slot: &str, builds: &[Candidate]) -> Result<(), PolicyError> {
    for c in builds {
        if let Some(before) = s.seen.get(&seen_key(&c.meta))
            && before != &c.sha256
        {
            return Err(PolicyError::Republished {
                slot: slot.to_string(),
                version: c.meta.version.to_string(),
                triple: c.meta.triple.clone(),
                before: before.clone(),
                now: c.sha256.clone(),
            });
        }
    }
    for c in builds {
        s.seen.insert(seen_key(&c.meta), c.sha256.clone());
        if let Some(sf) = &c.meta.security_floor {
            let sf = Release::new(c.meta.epoch, sf.clone());
            if s.floor.as_ref().is_none_or(|f| &sf > f) {
                s.floor = Some(sf);
            }
        }
    }
    Ok(())
}

fn seen_key(meta: &DriverMeta) -> String {
    format!("{}@{}", meta.version, meta.triple)
}

fn eligible(s: &Slot, slot: &str, host: &Host, c: &Candidate) -> Result<(), PolicyError> {
    let release = c.release();
    let incompatible = |why: String| PolicyError::Incompatible {
        slot: slot.to_string(),
        release: release.clone(),
        why,
    };
    let m = &c.meta;
    if m.triple != host.triple {
        return Err(incompatible(format!("built for {}, this host is {}", m.triple, host.triple)));
    }
    if m.protocol != host.protocol {
        return Err(incompatible(format!(
            "driver protocol {}, this teld speaks {}",
            m.protocol, host.protocol
        )));
    }
    if m.min_daemon > host.daemon {
        return Err(incompatible(format!(
            "needs teld {} or later, this is {}",
            m.min_daemon, host.daemon
        )));
    }
    if s.is_bad(&release, &c.sha256) {
        return Err(PolicyError::Bad { slot: slot.to_string(), release });
    }
    if let Some(floor) = &s.floor
        && &release < floor
    {
        return Err(PolicyError::BelowFloor {
            slot: slot.to_string(),
            release,
            floor: floor.clone(),
        });
    }
    if let Some(committed) = &s.committed
        && release <= committed.release
    {
        return Err(PolicyError::NotNewer {
            slot: slot.to_string(),
            release,
            committed: committed.release.clone(),
        });
    }
    Ok(())
}
