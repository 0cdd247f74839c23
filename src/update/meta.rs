//! The signed description of one driver build: the `custom` object of its TUF target,
//! and the ordering that decides what counts as newer.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The host this teld runs on, as CI names it in `triple`.
pub const HOST_TRIPLE: &str = env!("TELD_HOST_TRIPLE");

/// `custom` fields of a driver target. Every field is signed by the targets role, so
/// the daemon may trust them once the metadata verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverMeta {
    /// The driver slot: the `kind` of `[[drivers]]` (`sim`, `alpaca`, `lx200`, `mqtt`).
    pub driver: String,
    /// Semantic version the driver reports in its `hello`.
    pub version: semver::Version,
    /// Raised only after a targets-key rotation, to step over versions an attacker
    /// inflated; compared before `version`.
    #[serde(default)]
    pub epoch: u64,
    /// Rust target triple the binary was built for.
    pub triple: String,
    /// Driver protocol version (`teld_driver_protocol::PROTOCOL_VERSION`).
    pub protocol: u32,
    /// Oldest teld that may run this driver.
    pub min_daemon: semver::Version,
    /// Commit the binary was built from; the driver's `hello` must report the same.
    pub git_sha: String,
    /// Versions below this are refused from now on, even by an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_floor: Option<semver::Version>,
    #[serde(default = "default_channel")]
    pub channel: String,
}

fn default_channel() -> String {
    "stable".into()
}

impl DriverMeta {
    pub fn release(&self) -> Release {
        Release { epoch: self.epoch, version: self.version.clone() }
    }

    /// The program's file name inside its version folder.
    pub fn program(&self) -> String {
        program_name(&self.driver)
    }

    /// `drivers/<driver>/<version>/<triple>/<program>`: one name per build, so
    /// publishing is append-only by name.
    pub fn target_name(&self) -> String {
        format!("drivers/{}/{}/{}/{}", self.driver, self.version, self.triple, self.program())
    }
}

/// `teld-driver-<kind>`, as the supervisor looks it up.
pub fn program_name(kind: &str) -> String {
    format!("teld-driver-{kind}")
}

/// What "newer" compares: epoch first, then semantic version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Release {
    pub epoch: u64,
    pub version: semver::Version,
}

impl Release {
    pub fn new(epoch: u64, version: semver::Version) -> Self {
        Self { epoch, version }
    }
}

impl Ord for Release {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch.cmp(&other.epoch).then_with(|| self.version.cmp(&other.version))
    }
}

impl PartialOrd for Release {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch == 0 {
            write!(f, "{}", self.version)
        } else {
            write!(f, "{}!{}", self.epoch, self.version)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(epoch: u64, v: &str) -> Release {
        Release::new(epoch, v.parse().unwrap())
    }

    #[test]
    fn epoch_outranks_version() {
        assert!(r(1, "0.1.0") > r(0, "9.9.9"));
        assert!(r(0, "1.10.0") > r(0, "1.9.3"));
        assert!(r(0, "1.0.0") > r(0, "1.0.0-rc.1"));
        assert_eq!(r(2, "1.0.0").to_string(), "2!1.0.0");
    }

    #[test]
    fn custom_fields_round_trip_and_refuse_unknown_keys() {
        let json = r#"{"driver":"sim","version":"0.2.0","epoch":0,"triple":"x86_64-unknown-linux-gnu","protocol":1,"min_daemon":"0.1.0","git_sha":"abc","channel":"stable"}"#;
        let m: DriverMeta = serde_json::from_str(json).unwrap();
        assert_eq!(m.target_name(), "drivers/sim/0.2.0/x86_64-unknown-linux-gnu/teld-driver-sim");
        let bad = json.replace("\"channel\"", "\"chanel\"");
        assert!(serde_json::from_str::<DriverMeta>(&bad).is_err());
    }
}
