//! teld's MQTT device driver: domes, roll-off roofs and weather stations that live
//! behind an MQTT 5 broker, following the topic spec `docs/mqtt-devices.md` (v1),
//! behind teld's driver protocol; and an emulated device that follows the same spec.
//!
//! - [`wire`]: the spec's topics and payloads, parsed strictly.
//! - [`settings`]: the `[drivers.settings]` table.
//! - [`link`] and [`command`]: the broker connection (reconnect, resubscribe,
//!   re-send) and commands with correlation ids and timeouts.
//! - [`tracked`]: what is known of each device and whether it is fresh.
//! - [`dome`], [`weather`]: teld's calls and states; [`driver`]: the device set.
//! - [`emulator`]: the `teld-mqtt-device` program's roof and weather station.

pub mod command;
pub mod dome;
pub mod driver;
pub mod emulator;
pub mod link;
pub mod settings;
pub mod tracked;
pub mod weather;
pub mod wire;
