//! The root role: who may sign what. Root 1 is shipped with the daemon; every later
//! root must be signed by a threshold of the previous root's keys AND of its own
//! (TUF §5.3.4), which is what lets a site follow a key rotation it never saw happen.

use std::collections::HashMap;
use std::num::NonZeroU64;

use jiff::Timestamp;
use tough::schema::key::Key;
use tough::schema::{RoleKeys, RoleType, Root, Signed};

use super::error::{ArtefactError, Result};
use super::keys::Signer;
use super::sign::sign_role;

pub const SPEC_VERSION: &str = "1.0.0";

/// The four top-level roles, in the order they are listed.
pub const ROLES: [RoleType; 4] =
    [RoleType::Root, RoleType::Targets, RoleType::Snapshot, RoleType::Timestamp];

/// Keys and threshold of one role.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub keys: Vec<Key>,
    pub threshold: u64,
}

impl RoleSpec {
    pub fn of(signers: &[&Signer], threshold: u64) -> Self {
        Self { keys: signers.iter().map(|s| s.key.clone()).collect(), threshold }
    }
}

/// Root 1 of a new repository. Consistent snapshots are always on: the layout in
/// `repo.rs` and the daemon's reads depend on them.
pub fn first_root(roles: &HashMap<RoleType, RoleSpec>, expires: Timestamp) -> Result<Root> {
    let mut root = Root {
        spec_version: SPEC_VERSION.into(),
        consistent_snapshot: true,
        version: NonZeroU64::MIN,
        expires,
        keys: HashMap::new(),
        roles: HashMap::new(),
        _extra: HashMap::new(),
    };
    for role in ROLES {
        let spec = roles.get(&role).ok_or_else(|| {
            ArtefactError::invalid("root", format!("no keys given for the {role} role"))
        })?;
        set_role(&mut root, role, spec)?;
    }
    Ok(root)
}

/// Root N+1: the same as `current` except the roles in `replace`, with a new expiry.
/// Keys no role uses any more are dropped, so a retired key signs nothing.
pub fn next_root(
    current: &Root,
    replace: &HashMap<RoleType, RoleSpec>,
    expires: Timestamp,
) -> Result<Root> {
    let mut root = current.clone();
    root.version = current
        .version
        .checked_add(1)
        .ok_or_else(|| ArtefactError::invalid("root version", "at its maximum"))?;
    root.expires = expires;
    for (role, spec) in replace {
        set_role(&mut root, *role, spec)?;
    }
    let used: Vec<_> = root.roles.values().flat_map(|r| r.keyids.iter().cloned()).collect();
    root.keys.retain(|id, _| used.contains(id));
    Ok(root)
}

fn set_role(root: &mut Root, role: RoleType, spec: &RoleSpec) -> Result<()> {
    let threshold = NonZeroU64::new(spec.threshold)
        .filter(|t| t.get() <= spec.keys.len() as u64)
        .ok_or_else(|| {
        ArtefactError::invalid(
            format!("{role} threshold"),
            format!(
                "{} with {} key(s); it must be between 1 and the number of keys",
                spec.threshold,
                spec.keys.len()
            ),
        )
    })?;
    let mut keyids = Vec::with_capacity(spec.keys.len());
    for key in &spec.keys {
        let id = key.key_id().map_err(|e| ArtefactError::invalid("public key", e))?;
        root.keys.insert(id.clone(), key.clone());
        if !keyids.contains(&id) {
            keyids.push(id);
        }
    }
    root.roles.insert(role, RoleKeys { keyids, threshold, _extra: HashMap::new() });
    Ok(())
}

/// Signs a root with the previous root's keys (`old`; none for root 1) and its own
/// (`new`). Which and how many is the caller's choice: tests sign short on purpose.
pub async fn sign_root(root: Root, old: &[&Signer], new: &[&Signer]) -> Result<Signed<Root>> {
    let all: Vec<&Signer> = old.iter().chain(new).copied().collect();
    sign_role(root, &all).await
}
