//! The three roles, each allowed everything the one before it is.

use serde::{Deserialize, Serialize};

/// Ordered: `observer < operator < admin`, so "at least operator" is `role >= Operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits and follows their own requests; sees status, plan and frames.
    Observer,
    /// Also controls telescopes (stop, park, close, open, manual control).
    Operator,
    /// Also manages tokens and driver updates.
    Admin,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("`{0}` is not a role; use observer, operator or admin")]
pub struct RoleError(pub String);

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "observer" => Ok(Role::Observer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(RoleError(other.to_string())),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_and_parse_from_their_names() {
        assert!(Role::Observer < Role::Operator && Role::Operator < Role::Admin);
        for r in [Role::Observer, Role::Operator, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        let e = "root".parse::<Role>().unwrap_err().to_string();
        assert!(e.contains("observer, operator or admin"), "{e}");
    }
}
