//! Static device addresses, `host:port/type/number` (e.g.
//! `127.0.0.1:11111/telescope/0`): every device can be reached without discovery.

use std::fmt;

/// The Alpaca device types this driver serves (URL spelling).
pub const DEVICE_TYPES: [&str; 7] = [
    "telescope",
    "camera",
    "dome",
    "safetymonitor",
    "observingconditions",
    "filterwheel",
    "focuser",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// `host:port`.
    pub server: String,
    pub device_type: &'static str,
    pub number: u32,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.server, self.device_type, self.number)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "device address `{given}`: {problem}; write it as host:port/type/number, e.g. 127.0.0.1:11111/telescope/0"
)]
pub struct AddressError {
    pub given: String,
    pub problem: String,
}

impl Address {
    pub fn parse(given: &str) -> Result<Address, AddressError> {
        let fail = |problem: &str| AddressError { given: given.into(), problem: problem.into() };
        let rest = given.trim().strip_prefix("http://").unwrap_or(given.trim());
        if rest.starts_with("https://") {
            return Err(fail("HTTPS is not supported by Alpaca devices; use plain host:port"));
        }
        let rest = rest.trim_end_matches('/');
        let parts: Vec<&str> = rest.split('/').collect();
        // Tolerate the API prefix users copy from a browser: host:port/api/v1/type/n.
        let parts: Vec<&str> = match parts.as_slice() {
            [s, "api", "v1", t, n] => vec![s, t, n],
            _ => parts,
        };
        let [server, device_type, number] = parts.as_slice() else {
            return Err(fail("expected three parts separated by `/`"));
        };
        let (host, port) = server.rsplit_once(':').ok_or_else(|| fail("the port is missing"))?;
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        port.parse::<u16>().map_err(|_| fail("the port is not a number from 1 to 65535"))?;
        let lower = device_type.to_ascii_lowercase();
        let device_type = DEVICE_TYPES.iter().find(|t| **t == lower).ok_or_else(|| {
            fail(&format!(
                "unknown device type `{device_type}` (known: {})",
                DEVICE_TYPES.join(", ")
            ))
        })?;
        let number = number.parse().map_err(|_| fail("the device number is not a whole number"))?;
        Ok(Address { server: server.to_string(), device_type, number })
    }

    /// Path of a member of this device, without the query.
    pub fn member_path(&self, member: &str) -> String {
        format!("/api/v1/{}/{}/{member}", self.device_type, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        let a = Address::parse("127.0.0.1:11111/telescope/0").unwrap();
        assert_eq!(
            (a.server.as_str(), a.device_type, a.number),
            ("127.0.0.1:11111", "telescope", 0)
        );
        assert_eq!(Address::parse("http://127.0.0.1:11111/api/v1/Camera/2/").unwrap().number, 2);
        assert_eq!(a.member_path("atpark"), "/api/v1/telescope/0/atpark");
        assert_eq!(Address::parse("[::1]:80/dome/0").unwrap().server, "[::1]:80");
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (given, says) in [
            ("127.0.0.1/telescope/0", "port is missing"),
            ("127.0.0.1:x/telescope/0", "port is not a number"),
            ("127.0.0.1:11111/toaster/0", "unknown device type `toaster`"),
            ("127.0.0.1:11111/camera", "three parts"),
            ("127.0.0.1:11111/camera/a", "device number"),
            ("https://h:1/camera/0", "HTTPS"),
        ] {
            let e = Address::parse(given).unwrap_err().to_string();
            assert!(e.contains(says), "{given}: {e}");
            assert!(e.contains("host:port/type/number"), "{e}");
        }
    }
}
