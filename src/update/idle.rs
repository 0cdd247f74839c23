//! When a driver may be swapped: only when nothing it serves is moving or exposing,
//! judged from device-reported state (a telescope whose mount has not reported is
//! not known to be parked, so it is not idle).

use crate::config::{Config, DeviceAddress};
use crate::core::Snapshot;
use teld_driver_protocol::state::CameraStatus;

/// The telescopes that use any driver instance of `kind`.
pub fn telescopes_of_kind(config: &Config, kind: &str) -> Vec<String> {
    let instances: Vec<&str> = config
        .drivers
        .iter()
        .filter(|d| d.kind == kind && d.program.is_none())
        .map(|d| d.name.as_str())
        .collect();
    config
        .telescopes
        .iter()
        .filter(|t| {
            t.device_addresses().iter().any(|(_, a)| {
                DeviceAddress::parse(a).is_some_and(|a| instances.contains(&a.driver.as_str()))
            })
        })
        .map(|t| t.name.clone())
        .collect()
}

/// `None` when every telescope is idle, else why not (for the operator's view).
pub fn busy_reason(snapshot: &Snapshot, telescopes: &[String]) -> Option<String> {
    for name in telescopes {
        let Some(t) = snapshot.telescopes.get(name) else {
            return Some(format!("telescope {name} has not reported yet"));
        };
        if let Some(b) = &t.block {
            return Some(format!("telescope {name} is observing ({}, {})", b.target, b.phase));
        }
        match &t.mount {
            None => return Some(format!("telescope {name}'s mount has not reported its state")),
            Some(m) if m.slewing => return Some(format!("telescope {name}'s mount is slewing")),
            Some(m) if !m.at_park => {
                return Some(format!(
                    "telescope {name}'s mount is not parked (park it, or wait for the morning)"
                ));
            }
            Some(_) => {}
        }
        if let Some(c) = &t.camera
            && !matches!(c.camera_state, CameraStatus::Idle | CameraStatus::Error)
        {
            return Some(format!("telescope {name}'s camera is busy ({:?})", c.camera_state));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_CONFIG, load_str};
    use crate::core::{BlockView, TelescopeView};
    use teld_driver_protocol::state::{EquatorialSystem, MountState, PierSide};

    fn mount(at_park: bool, slewing: bool) -> MountState {
        MountState {
            connected: true,
            right_ascension: 0.0,
            declination: 0.0,
            altitude: 0.0,
            azimuth: 0.0,
            tracking: false,
            slewing,
            at_park,
            side_of_pier: PierSide::Unknown,
            equatorial_system: EquatorialSystem::J2000,
        }
    }

    #[test]
    fn only_parked_quiet_telescopes_are_idle() {
        let c = load_str(DEFAULT_CONFIG, "default", Vec::new()).unwrap();
        let tels = telescopes_of_kind(&c, "sim");
        assert!(!tels.is_empty());
        assert!(telescopes_of_kind(&c, "alpaca").is_empty());
        let mut snap = Snapshot::default();
        assert!(busy_reason(&snap, &tels).unwrap().contains("not reported"));
        for t in &tels {
            snap.telescopes.insert(
                t.clone(),
                TelescopeView { mount: Some(mount(true, false)), ..Default::default() },
            );
        }
        assert_eq!(busy_reason(&snap, &tels), None);
        let first = tels[0].clone();
        let set = |snap: &mut Snapshot, m| snap.telescopes.get_mut(&first).unwrap().mount = Some(m);
        set(&mut snap, mount(false, false));
        assert!(busy_reason(&snap, &tels).unwrap().contains("not parked"));
        set(&mut snap, mount(true, true));
        assert!(busy_reason(&snap, &tels).unwrap().contains("slewing"));
        set(&mut snap, mount(true, false));
        snap.telescopes.get_mut(&first).unwrap().block = Some(BlockView {
            request_id: 1,
            observation_id: 1,
            target: "2026 XA".into(),
            ra_deg: 0.0,
            dec_deg: 0.0,
            started_at: String::new(),
            frames_done: 0,
            frames_total: 3,
            phase: "exposing".into(),
            phase_since: String::new(),
        });
        assert!(busy_reason(&snap, &tels).unwrap().contains("observing (2026 XA, exposing)"));
    }
}
