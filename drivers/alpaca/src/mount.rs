//! ITelescope over Alpaca. Slews are asynchronous and confirmed by `Slewing`; park
//! is confirmed by `AtPark` (never `AtHome`, which some servers leave set after a
//! slew). Capabilities are read at connect and a call the mount cannot do is refused
//! before anything is sent.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{
    Call, DeviceState, EquatorialSystem, ErrorCode, MountState, PierSide, Site,
};

use crate::client::{Endpoint, Failure};

pub struct Mount {
    ep: Endpoint,
    caps: BTreeMap<String, bool>,
    system: EquatorialSystem,
}

const CAPS: [(&str, &str); 6] = [
    ("can_park", "canpark"),
    ("can_unpark", "canunpark"),
    ("can_slew_async", "canslewasync"),
    ("can_set_tracking", "cansettracking"),
    ("can_sync", "cansync"),
    ("can_set_park", "cansetpark"),
];

impl Mount {
    pub async fn connect(
        ep: Endpoint,
        system: Option<EquatorialSystem>,
        site: Option<Site>,
    ) -> Result<Mount, CallError> {
        crate::connect(&ep).await?;
        let mut caps = BTreeMap::new();
        for (name, member) in CAPS {
            caps.insert(name.to_string(), ep.can(member).await?);
        }
        let reported = match ep.get_i64("equatorialsystem").await {
            Ok(n) => Some(n),
            Err(e) if e.not_implemented() => None,
            Err(e) => return Err(e.into()),
        };
        let system = match (system, reported) {
            (Some(s), _) => s,
            (None, Some(1)) => EquatorialSystem::Topocentric,
            (None, Some(2)) => EquatorialSystem::J2000,
            (None, other) => {
                return Err(CallError::new(
                    ErrorCode::InvalidValue,
                    format!(
                        "{}: the mount reports EquatorialSystem {} (not JNow or J2000): set equatorial_system = \"j2000\" or \"topocentric\" for it in the driver settings",
                        ep.address,
                        other.map_or("(none)".into(), |n| n.to_string())
                    ),
                ));
            }
        };
        if let Some(site) = site {
            set_site(&ep, site).await;
        }
        Ok(Mount { ep, caps, system })
    }

    pub fn capabilities(&self) -> BTreeMap<String, bool> {
        self.caps.clone()
    }

    fn require(&self, cap: &str, call: &str) -> Result<(), CallError> {
        if self.caps.get(cap).copied().unwrap_or(false) {
            Ok(())
        } else {
            Err(CallError::new(
                ErrorCode::NotImplemented,
                format!("{}: the mount cannot {call} ({cap} is false)", self.ep.address),
            ))
        }
    }

    pub async fn state(&self) -> Result<DeviceState, Failure> {
        let ep = &self.ep;
        let (ra, dec, alt, az) = tokio::try_join!(
            ep.get_f64("rightascension"),
            ep.get_f64("declination"),
            ep.get_f64("altitude"),
            ep.get_f64("azimuth"),
        )?;
        let (tracking, slewing, at_park) = tokio::try_join!(
            ep.get_bool("tracking"),
            ep.get_bool("slewing"),
            ep.get_bool("atpark")
        )?;
        let side_of_pier = match ep.get_i64("sideofpier").await {
            Ok(0) => PierSide::East,
            Ok(1) => PierSide::West,
            Ok(_) => PierSide::Unknown,
            Err(e) if e.not_implemented() => PierSide::Unknown,
            Err(e) => return Err(e),
        };
        Ok(DeviceState::Mount(MountState {
            connected: true,
            right_ascension: ra,
            declination: dec,
            altitude: alt,
            azimuth: az,
            tracking,
            slewing,
            at_park,
            side_of_pier,
            equatorial_system: self.system,
        }))
    }

    pub async fn call(&self, call: Call) -> Result<Value, CallError> {
        let ep = &self.ep;
        match call {
            Call::SlewToCoordinatesAsync { right_ascension, declination } => {
                self.require("can_slew_async", "slew asynchronously")?;
                let params = [
                    ("RightAscension", right_ascension.to_string()),
                    ("Declination", declination.to_string()),
                ];
                ep.put("slewtocoordinatesasync", &params).await?;
            }
            Call::AbortSlew => drop(ep.put("abortslew", &[]).await?),
            Call::Park => {
                self.require("can_park", "park")?;
                // Parking a parked mount is a success (the protocol's idempotence).
                if !ep.get_bool("atpark").await? {
                    ep.put("park", &[]).await?;
                }
            }
            Call::Unpark => {
                if ep.get_bool("atpark").await? {
                    self.require("can_unpark", "unpark")?;
                    ep.put("unpark", &[]).await?;
                }
            }
            Call::SetTracking { tracking } => {
                self.require("can_set_tracking", "switch tracking")?;
                ep.put("tracking", &[("Tracking", tracking.to_string())]).await?;
            }
            other => return Err(crate::not_for("mount", &other)),
        }
        Ok(json!({}))
    }

    /// Stops any slew and parks; errors are logged, the next device still gets its turn.
    pub async fn make_safe(&self) {
        let _ = self.ep.put("abortslew", &[]).await;
        if self.caps.get("can_park").copied().unwrap_or(false)
            && let Err(e) = self.ep.put("park", &[]).await
        {
            tracing::error!("could not park {}: {e}", self.ep.address);
        }
    }
}

/// Tells the mount where it stands; a mount that refuses keeps its own (logged: its
/// alt/az and limits may then disagree with teld's).
async fn set_site(ep: &Endpoint, site: Site) {
    for (member, param, v) in [
        ("sitelatitude", "SiteLatitude", site.latitude_deg),
        ("sitelongitude", "SiteLongitude", site.longitude_deg),
        ("siteelevation", "SiteElevation", site.height_m),
    ] {
        if let Err(e) = ep.put(member, &[(param, v.to_string())]).await {
            tracing::warn!("{}: the mount kept its own site ({e})", ep.address);
        }
    }
}
