//! `teld-mqtt-device`: an emulated roll-off roof and weather station that follow
//! the MQTT device spec (`docs/mqtt-devices.md`) exactly, for the tests and for
//! users trying teld without hardware.
//!
//! It prints one line on stdout per thing a test may want to count — `CONNECTED`,
//! `ACTION open #1 id=…` (a command carried out), `REPLAY open id=…` (a repeated id
//! answered from memory, not carried out), `EXPIRED open id=…` (arrived late), `ROOF open`, `OK <control>` /
//! `ERR <why>` — and takes scenario control lines on stdin ([`control`]).

pub mod control;
pub mod device;
pub mod memory;
pub mod roof;
pub mod station;

use std::time::Duration;

/// Real roll-off roofs take 20–60 s; 10 s keeps a demo brisk while still showing
/// `opening` in teld's status.
pub const DEFAULT_TRAVEL_S: f64 = 10.0;

/// The spec asks for a state at least every 10 s; every 2 s keeps teld's view of
/// the weather current without load on any broker.
pub const DEFAULT_PERIOD_S: f64 = 2.0;

/// A persistent session keeps commands sent during a short disconnect (the broker
/// queues them; their expiry drops stale ones); 5 minutes outlasts a Wi-Fi roam or
/// a broker restart with persistence.
pub const SESSION_EXPIRY_S: u32 = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub broker: (String, u16),
    pub client_id: String,
    /// Topic prefix of the roof, if it emulates one.
    pub roof: Option<String>,
    /// Topic prefix of the weather station, if it emulates one.
    pub weather: Option<String>,
    pub travel: Duration,
    pub period: Duration,
    /// The roof starts open.
    pub open: bool,
}

pub const USAGE: &str =
    "usage: teld-mqtt-device [--broker HOST:PORT] [--roof PREFIX] [--weather PREFIX] \
[--client-id ID] [--travel-s S] [--period-s S] [--open]
Emulates a roll-off roof and/or weather station on an MQTT 5 broker (spec: docs/mqtt-devices.md).
Defaults: --broker 127.0.0.1:1883, --travel-s 10, --period-s 2; at least one of --roof, --weather.
Scenario control on stdin, one per line; ";

impl Options {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut o = Options {
            broker: ("127.0.0.1".into(), 1883),
            client_id: format!("teld-mqtt-device-{}", std::process::id()),
            roof: None,
            weather: None,
            travel: Duration::from_secs_f64(DEFAULT_TRAVEL_S),
            period: Duration::from_secs_f64(DEFAULT_PERIOD_S),
            open: false,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--open" {
                o.open = true;
                continue;
            }
            if flag == "--help" || flag == "-h" {
                return Err(String::new());
            }
            const TAKE_VALUE: [&str; 6] =
                ["--broker", "--client-id", "--roof", "--weather", "--travel-s", "--period-s"];
            if !TAKE_VALUE.contains(&flag.as_str()) {
                return Err(format!("unknown option {flag}"));
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let secs = |v: &str| {
                v.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("{flag} {v}: give seconds between 0 and 3600"))
            };
            let prefix = |v: String| {
                crate::wire::check_prefix(&v)
                    .map(|()| v.clone())
                    .map_err(|w| format!("{flag} {v:?} {w}"))
            };
            match flag.as_str() {
                "--broker" => {
                    let (h, p) = value
                        .rsplit_once(':')
                        .ok_or(format!("--broker {value}: give host:port"))?;
                    let p = p.parse().map_err(|_| format!("--broker {value}: bad port"))?;
                    o.broker = (h.trim_matches(['[', ']']).to_string(), p);
                }
                "--client-id" => o.client_id = value,
                "--roof" => o.roof = Some(prefix(value)?),
                "--weather" => o.weather = Some(prefix(value)?),
                "--travel-s" => o.travel = secs(&value)?,
                "--period-s" => {
                    o.period = secs(&value)?;
                    if o.period.is_zero() || o.period > Duration::from_secs(10) {
                        return Err(
                            "--period-s must be above 0 and at most 10 (the spec's limit)".into()
                        );
                    }
                }
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if o.roof.is_none() && o.weather.is_none() {
            return Err("nothing to emulate: give --roof PREFIX and/or --weather PREFIX".into());
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_parse_with_defaults_and_refuse_mistakes() {
        let o =
            Options::parse(args("--roof obs/roof --broker 127.0.0.1:1999 --travel-s 2")).unwrap();
        assert_eq!(o.broker, ("127.0.0.1".into(), 1999));
        assert_eq!(o.travel, Duration::from_secs(2));
        assert_eq!(o.period, Duration::from_secs(2));
        assert!(Options::parse(args("")).unwrap_err().contains("nothing to emulate"));
        assert!(Options::parse(args("--roof obs/#")).unwrap_err().contains("wildcard"));
        assert!(Options::parse(args("--roof a --period-s 30")).is_err());
        assert!(Options::parse(args("--roof a --colour red")).unwrap_err().contains("unknown"));
    }
}
