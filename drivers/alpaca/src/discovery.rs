//! Alpaca discovery, a convenience for setting a site up: ask who serves Alpaca on
//! the network (UDP port 32227, the datagram `alpacadiscovery1`, answered with
//! `{"AlpacaPort": N}` by each server), then list each server's devices — from its
//! management API (`/management/v1/configureddevices`) when it has one, otherwise by
//! asking each device type for its `Name` at numbers 0, 1, 2… The result is printed
//! as the static addresses the driver's settings need: teld itself never depends on
//! discovery.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::UdpSocket;

use crate::address::{Address, DEVICE_TYPES};
use crate::client::{Endpoint, Session, Timeouts};
use crate::http::{Server, Wait};

/// The Alpaca discovery port (ASCOM Alpaca API, "Discovery protocol").
pub const DISCOVERY_PORT: u16 = 32227;
/// The version 1 discovery request.
const QUERY: &[u8] = b"alpacadiscovery1";
/// Device numbers probed per type on a server without a management API: small
/// observatories number their devices from 0 and rarely have more than a few of one kind.
const MAX_PROBED_NUMBER: u32 = 8;

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot open a UDP socket for discovery: {0}")]
    Socket(std::io::Error),
    #[error(
        "cannot send the discovery request to {to}: {source}; check the address, or that broadcasts are allowed on this network"
    )]
    Send { to: SocketAddr, source: std::io::Error },
}

/// One device a server offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub address: Address,
    pub name: String,
}

/// Sends the discovery request to each of `targets` (a broadcast address, or one
/// server's) and collects the distinct Alpaca servers that answer within `wait`.
/// Answers that are not a discovery reply are logged and ignored.
pub async fn find_servers(
    targets: &[SocketAddr],
    wait: Duration,
) -> Result<Vec<SocketAddr>, DiscoveryError> {
    // Only a broadcast or a server elsewhere needs the socket on every interface.
    let local =
        if targets.iter().all(|t| t.ip().is_loopback()) { "127.0.0.1:0" } else { "0.0.0.0:0" };
    let socket = UdpSocket::bind(local).await.map_err(DiscoveryError::Socket)?;
    socket.set_broadcast(true).map_err(DiscoveryError::Socket)?;
    for &to in targets {
        socket.send_to(QUERY, to).await.map_err(|source| DiscoveryError::Send { to, source })?;
    }
    let mut servers = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 1024];
    while let Ok(got) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        let (n, from) = got.map_err(DiscoveryError::Socket)?;
        match alpaca_port(&buf[..n]) {
            Some(port) => {
                servers.insert(SocketAddr::new(from.ip(), port));
            }
            None => tracing::warn!(
                %from,
                "ignored an answer that is not an Alpaca discovery reply: {}",
                String::from_utf8_lossy(&buf[..n.min(100)])
            ),
        }
    }
    Ok(servers.into_iter().collect())
}

/// `{"AlpacaPort": N}` with a usable port, or `None`.
fn alpaca_port(reply: &[u8]) -> Option<u16> {
    let v: Value = serde_json::from_slice(reply).ok()?;
    let port = v.get("AlpacaPort")?.as_u64()?;
    u16::try_from(port).ok().filter(|p| *p != 0)
}

/// The devices of the server at `server` (`host:port`).
pub async fn list_devices(server: &str, timeout: Duration) -> Vec<Found> {
    let srv = Arc::new(Server::new(server));
    let session = Arc::new(Session::new(std::process::id() % 65_536));
    let wait = Wait { answer: timeout, idle: timeout };
    let timeouts = Timeouts { call: wait, image: wait };
    let endpoint =
        |address: Address| Endpoint::new(address, srv.clone(), session.clone(), timeouts);
    if let Some(found) = configured_devices(&srv, server, wait).await {
        return found;
    }
    let mut found = Vec::new();
    for device_type in DEVICE_TYPES {
        for number in 0..MAX_PROBED_NUMBER {
            let address = Address { server: server.to_string(), device_type, number };
            match endpoint(address.clone()).get_string("name").await {
                Ok(name) => found.push(Found { address, name }),
                Err(_) => break,
            }
        }
    }
    found
}

/// The management API's device list; `None` when the server has no management API.
async fn configured_devices(srv: &Server, server: &str, wait: Wait) -> Option<Vec<Found>> {
    let path = "/management/v1/configureddevices?ClientID=1&ClientTransactionID=1";
    let reply = srv.send(path, None, "application/json", wait).await.ok()?;
    if reply.status != 200 {
        return None;
    }
    let v: Value = serde_json::from_slice(&reply.body).ok()?;
    let list = v.get("Value")?.as_array()?;
    let found = list
        .iter()
        .filter_map(|d| {
            let kind = d.get("DeviceType")?.as_str()?.to_ascii_lowercase();
            let device_type = DEVICE_TYPES.iter().copied().find(|t| *t == kind)?;
            let number = u32::try_from(d.get("DeviceNumber")?.as_u64()?).ok()?;
            let name = d.get("DeviceName").and_then(Value::as_str).unwrap_or("").to_string();
            Some(Found {
                address: Address { server: server.to_string(), device_type, number },
                name,
            })
        })
        .collect();
    Some(found)
}

/// The found devices as `[drivers.settings.devices.*]` tables to paste into teld's
/// configuration, named `<type><number>`.
pub fn as_settings(found: &[Found]) -> String {
    let mut out = String::new();
    for f in found {
        let a = &f.address;
        out.push_str(&format!(
            "[drivers.settings.devices.{}{}]   # {}\naddress = \"{a}\"\n\n",
            a.device_type,
            a.number,
            f.name.replace('\n', " ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_replies_name_a_port() {
        assert_eq!(alpaca_port(br#"{"AlpacaPort": 11111}"#), Some(11111));
        assert_eq!(alpaca_port(br#"{"AlpacaPort": 0}"#), None);
        assert_eq!(alpaca_port(br#"{"AlpacaPort": 70000}"#), None);
        assert_eq!(alpaca_port(br#"{"alpacaport": 11111}"#), None);
        assert_eq!(alpaca_port(b"alpacadiscovery1"), None);
    }

    #[test]
    fn settings_are_ready_to_paste() {
        let f = Found {
            address: Address::parse("10.0.0.5:11111/camera/1").unwrap(),
            name: "Main camera".into(),
        };
        assert_eq!(
            as_settings(&[f]),
            "[drivers.settings.devices.camera1]   # Main camera\naddress = \"10.0.0.5:11111/camera/1\"\n\n"
        );
    }
}
