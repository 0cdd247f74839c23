//! The campaign's site config: the embedded default observatory, with its own state
//! folder, its own broker, quick driver heartbeats (real-time limits are multiplied by
//! the speed-up: a 5 s heartbeat at 300× is 25 simulated minutes), a smaller camera
//! (a week of 1k frames would fill gigabytes) and the whole run's weather script; or,
//! for the real-time campaign, `real-devices.toml` (the Alpaca simulators and the LX200
//! emulator, whose weather the campaign sets through the devices themselves).

use std::fmt::Write as _;
use std::path::Path;

use super::plan::NightPlan;

pub const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");

pub fn config_text(state_dir: &Path, broker_port: Option<u16>, nights: &[NightPlan]) -> String {
    let mut text = String::new();
    for line in DEFAULT_CONFIG.lines() {
        let t = line.trim_start();
        let replaced = if t.starts_with("state_dir =") {
            format!("state_dir = {:?}", state_dir.display().to_string())
        } else if t.starts_with("broker =") {
            format!("broker = \"127.0.0.1:{}\"", broker_port.unwrap_or(1))
        } else if t.starts_with("enabled = true") && broker_port.is_none() {
            "enabled = false".to_string()
        } else if t.starts_with("topic_prefix =") {
            "topic_prefix = \"chaos\"\nclient_id = \"teld-chaos\"".to_string()
        } else if t.starts_with("kind = \"sim\"") {
            format!("{line}\nheartbeat_interval_s = 0.5\nheartbeat_timeout_s = 2.0")
        } else if t.starts_with("plate_scale_arcsec = 1.5") && !t.contains('#') {
            format!("{line}\nwidth = 512\nheight = 512")
        } else {
            line.to_string()
        };
        text.push_str(&replaced);
        text.push('\n');
    }
    text.push_str("\n[drivers.settings.weather]\nunsafe = [\n");
    for spell in nights.iter().flat_map(|n| &n.weather) {
        let _ = writeln!(
            text,
            "  {{ from = {:?}, to = {:?}, reason = {:?} }},",
            teld_astro::time::format_utc(spell.from, 0),
            teld_astro::time::format_utc(spell.to, 0),
            spell.reason
        );
    }
    text.push_str("]\n\n[inbox]\nenabled = true\nscan_interval_s = 2.0\n");
    text
}

/// The real-time campaign's site (`--devices real`): the Alpaca simulators at `alpaca`
/// and the LX200 emulator behind the symlink `tty`.
pub fn real_config_text(
    state_dir: &Path,
    broker_port: Option<u16>,
    alpaca: std::net::SocketAddr,
    tty: &Path,
) -> String {
    include_str!("real-devices.toml")
        .replace("@STATE_DIR@", &state_dir.display().to_string())
        .replace("@TELEMETRY@", if broker_port.is_some() { "true" } else { "false" })
        .replace("@BROKER@", &format!("127.0.0.1:{}", broker_port.unwrap_or(1)))
        .replace("@ALPACA@", &alpaca.to_string())
        .replace("@TTY@", &tty.display().to_string())
}
