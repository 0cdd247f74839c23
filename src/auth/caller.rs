//! Who is calling: put into every API request's extensions by the auth layer, so
//! handlers never parse headers themselves.

use super::Role;

/// The store's id of an API token.
pub type TokenId = i64;

/// The authenticated caller of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    /// `None` for the local caller (auth off, loopback only).
    pub token_id: Option<TokenId>,
    /// The token's name, or `local`; what logs and the audit log show.
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// With auth off (allowed on loopback only) every caller is a local admin.
    pub fn local() -> Self {
        Caller { token_id: None, name: "local".into(), role: Role::Admin }
    }

    /// At least `role`.
    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }

    /// May see or cancel a request owned by `owner` (`None`: local or survey work):
    /// observers only their own, operators and admins everything.
    pub fn owns_or_oversees(&self, owner: Option<TokenId>) -> bool {
        self.role >= Role::Operator || (owner.is_some() && owner == self.token_id)
    }

    /// For listings: `None` = everything (operators and up), `Some(id)` = only what
    /// token `id` owns. An observer without a token cannot exist (local callers are
    /// admins); should one appear, -1 matches nothing, so it fails closed.
    pub fn owner_filter(&self) -> Option<TokenId> {
        (self.role < Role::Operator).then(|| self.token_id.unwrap_or(-1))
    }
}

/// Written by hand so no future field (or a secret put here by mistake) reaches a log.
impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({} as {})", self.name, self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observers_oversee_only_their_own_requests() {
        let obs = Caller { token_id: Some(3), name: "ann".into(), role: Role::Observer };
        assert!(obs.owns_or_oversees(Some(3)));
        assert!(!obs.owns_or_oversees(Some(4)));
        assert!(!obs.owns_or_oversees(None));
        let op = Caller { role: Role::Operator, ..obs.clone() };
        assert!(op.owns_or_oversees(Some(4)) && op.owns_or_oversees(None));
        assert!(Caller::local().may(Role::Admin));
        assert_eq!(obs.owner_filter(), Some(3));
        assert_eq!(op.owner_filter(), None);
        assert_eq!(format!("{obs:?}"), "Caller(ann as observer)");
    }
}
