//! The one `mount` device this driver serves, behind [`teld_driver_protocol::serve`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use teld_driver_protocol::serve::{CallError, Devices, Polled};
use teld_driver_protocol::{Call, ClockSync, Configure, DeviceInfo, DeviceKind, ErrorCode};

use crate::error::Lx200Error;
use crate::link::Link;
use crate::settings::{DEVICE, Settings};

pub struct Lx200Devices {
    link: Arc<Link>,
}

impl Lx200Devices {
    async fn state(&self) -> Result<Value, Lx200Error> {
        let mut held = self.link.hold().await?;
        let r = held.session().state().await;
        let r = match r {
            // Line noise: the port resynchronised; one more read is cheap and the
            // answer is then clean (a timeout is not retried: it would only double it).
            Err(Lx200Error::Garbage { .. }) => held.session().state().await,
            r => r,
        };
        held.check(r).map(|s| serde_json::to_value(s).unwrap_or_default())
    }

    async fn mount_call(&self, call: Call) -> Result<Value, CallError> {
        if let Call::GetState = call {
            return Ok(self.state().await?);
        }
        let mut held = self.link.hold().await?;
        let s = held.session();
        let r = match call {
            Call::SlewToCoordinatesAsync { right_ascension, declination } => {
                if !(0.0..24.0).contains(&right_ascension) || !(-90.0..=90.0).contains(&declination)
                {
                    return Err(CallError::new(
                        ErrorCode::InvalidValue,
                        format!(
                            "right_ascension {right_ascension} h / declination {declination}° out of range (0..24 h, ±90°)"
                        ),
                    ));
                }
                s.slew(right_ascension, declination).await
            }
            Call::AbortSlew => s.abort().await,
            Call::Park => s.park().await,
            Call::Unpark => s.unpark().await,
            Call::SetTracking { tracking } => s.set_tracking(tracking).await,
            // Includes calls added to the protocol later (filter wheels, focusers).
            other => {
                return Err(CallError::new(
                    ErrorCode::NotImplemented,
                    format!("`{}` is not a mount call", other.method()),
                ));
            }
        };
        held.check(r)?;
        Ok(json!({}))
    }
}

impl Devices for Lx200Devices {
    async fn configure(cfg: Configure) -> Result<(Self, Vec<DeviceInfo>), CallError> {
        let settings = Settings::from_json(&cfg.settings)
            .map_err(|e| CallError::new(ErrorCode::InvalidValue, e.to_string()))?;
        let link = Link::connect(settings, cfg.site, cfg.clock).await?;
        let description = {
            let mut held = link.hold().await?;
            let s = held.session();
            format!(
                "{} {} (LX200 {} dialect on {}; coordinates JNow)",
                if s.product.is_empty() { "LX200 mount" } else { &s.product },
                s.firmware,
                s.dialect.name(),
                s.path()
            )
        };
        let capabilities: BTreeMap<String, bool> =
            ["can_park", "can_unpark", "can_slew_async", "can_set_tracking", "can_sync"]
                .into_iter()
                .map(|c| (c.to_string(), true))
                .collect();
        let info =
            DeviceInfo { name: DEVICE.into(), kind: DeviceKind::Mount, description, capabilities };
        Ok((Lx200Devices { link }, vec![info]))
    }

    async fn call(&self, device: &str, call: Call) -> Result<Value, CallError> {
        if device != DEVICE {
            return Err(CallError::new(
                ErrorCode::BadRequest,
                format!("no device `{device}` in this driver (it has: {DEVICE})"),
            ));
        }
        self.mount_call(call).await
    }

    async fn poll(&self) -> Vec<Polled> {
        self.link.follow_clock().await;
        let state = self.state().await.and_then(|v| {
            serde_json::from_value(v).map_err(|e| Lx200Error::Invalid {
                path: self.link.path().to_string(),
                what: format!("state could not be encoded: {e}"),
            })
        });
        vec![(DEVICE.to_string(), state.map_err(CallError::from))]
    }

    async fn make_safe(&self) {
        let Ok(mut held) = self.link.hold().await else {
            tracing::error!("cannot park the mount on {}: it is not connected", self.link.path());
            return;
        };
        let aborted = held.session().abort().await;
        let r = match held.check(aborted) {
            Ok(()) => held.session().park().await,
            Err(e) => Err(e),
        };
        match held.check(r) {
            Ok(()) => tracing::info!("mount parking"),
            Err(e) => tracing::error!("could not park the mount: {e}"),
        }
    }

    fn set_clock(&self, sync: ClockSync) {
        let link = self.link.clone();
        tokio::spawn(async move { link.set_clock(sync).await });
    }
}
