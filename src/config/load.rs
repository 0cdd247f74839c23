//! Reading configuration: TOML text → environment overrides → typed sections →
//! semantic checks. Each section is deserialised on its own and the semantic checks
//! run on whatever parsed, so one run reports every problem with its key path.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::types::*;
use super::validate;

/// The simulated observatory teld runs when given no configuration file.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/default.toml");

/// Prefix of environment variables that override configuration keys:
/// `TELD__TELEMETRY__PASSWORD=…` sets `telemetry.password`;
/// `TELD__DRIVERS__0__SETTINGS__X=…` indexes arrays.
const ENV_PREFIX: &str = "TELD__";

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// Dotted key path, e.g. `drivers[0].heartbeat_timeout_s`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}; check the path given to --config")]
    Read { path: String, source: std::io::Error },
    #[error("{source_name} has {} problem(s); fix them and run `teld check-config` again:\n{}", issues.len(), list(issues))]
    Invalid { source_name: String, issues: Vec<ConfigIssue> },
}

fn list(issues: &[ConfigIssue]) -> String {
    issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}

/// Reads `path` (or the embedded default when `None`), applies `TELD__…` environment
/// overrides and then `overrides` (key path, value) from the command line.
pub fn load_file(path: Option<&Path>, overrides: &[(&str, String)]) -> Result<Config, ConfigError> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|source| ConfigError::Read { path: p.display().to_string(), source })?,
            p.display().to_string(),
        ),
        None => (DEFAULT_CONFIG.to_string(), "the embedded default configuration".to_string()),
    };
    let cli = overrides.iter().map(|(key, value)| {
        let var = format!("{ENV_PREFIX}{}", key.replace('.', "__").to_ascii_uppercase());
        // Quoted as a TOML string so a value like `8080` stays a string where needed.
        (var, toml::Value::String(value.clone()).to_string())
    });
    load_str(&text, &name, std::env::vars().chain(cli))
}

pub fn load_str(
    text: &str,
    source_name: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let invalid = |issues| ConfigError::Invalid { source_name: source_name.into(), issues };
    let mut table: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let e: toml::de::Error = e;
            return Err(invalid(vec![ConfigIssue {
                path: "(syntax)".into(),
                message: e.to_string().trim().replace('\n', " "),
            }]));
        }
    };
    let mut issues = Vec::new();
    apply_env(&mut table, env, &mut issues);

    let site: Option<SiteConfig> = match table.remove("site") {
        Some(v) => section(v, "site", &mut issues),
        None => {
            issues.push(ConfigIssue {
                path: "site".into(),
                message: "missing section [site] (name, latitude_deg, longitude_deg, height_m)"
                    .into(),
            });
            None
        }
    };
    let paths = optional_section(&mut table, "paths", &mut issues);
    let archive = optional_section(&mut table, "archive", &mut issues);
    let store = optional_section(&mut table, "store", &mut issues);
    let http = optional_section(&mut table, "http", &mut issues);
    let telemetry = optional_section(&mut table, "telemetry", &mut issues);
    let observing = optional_section(&mut table, "observing", &mut issues);
    let safety = optional_section(&mut table, "safety", &mut issues);
    let astro = optional_section(&mut table, "astro", &mut issues);
    let quicklook = optional_section(&mut table, "quicklook", &mut issues);
    let handoff = optional_section(&mut table, "handoff", &mut issues);
    let inbox = optional_section(&mut table, "inbox", &mut issues);
    let update = optional_section(&mut table, "update", &mut issues);
    let drivers = array_section(&mut table, "drivers", &mut issues);
    let telescopes = array_section(&mut table, "telescopes", &mut issues);
    for key in table.keys() {
        issues.push(ConfigIssue {
            path: key.clone(),
            message: "unknown section or key (known: site, paths, archive, store, http, telemetry, observing, safety, astro, inbox, quicklook, handoff, update, drivers, telescopes)".into(),
        });
    }

    // Without a usable [site] the other sections are still checked, against a
    // neutral stand-in, so one run reports everything.
    let site_ok = site.is_some();
    let site = site.unwrap_or(SiteConfig {
        name: "unknown".into(),
        latitude_deg: 0.0,
        longitude_deg: 0.0,
        height_m: 0.0,
    });
    let config = Config {
        site,
        paths,
        archive,
        store,
        http,
        telemetry,
        observing,
        safety,
        astro,
        quicklook,
        handoff,
        inbox,
        update,
        drivers,
        telescopes,
    };
    let mut checked = validate::check(&config);
    if !site_ok {
        checked.retain(|i| !i.path.starts_with("site."));
    }
    issues.extend(checked);
    if issues.is_empty() { Ok(config) } else { Err(invalid(issues)) }
}

/// Deserialises one section. On a type error the offending key is set aside and the
/// rest retried, so every bad key of the section is reported, not just the first.
fn section<T: DeserializeOwned>(
    mut value: Value,
    path: &str,
    issues: &mut Vec<ConfigIssue>,
) -> Option<T> {
    let mut set_aside: Vec<String> = Vec::new();
    // Bounded: each retry removes one key.
    for _ in 0..64 {
        let e = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let inner = e.path().to_string();
        let full = if inner == "." { path.to_string() } else { format!("{path}.{inner}") };
        // The deserializer appends "in `key`" on a second line; the path says it.
        let message = e.inner().to_string();
        let message = message.lines().next().unwrap_or_default().trim().to_string();
        let is_missing = message.starts_with("missing field");
        let full = match (is_missing, message.split('`').nth(1)) {
            (true, Some(field)) => format!("{full}.{field}"),
            _ => full,
        };
        // A key set aside for a type error then shows up as missing: already reported.
        if !(is_missing && set_aside.contains(&full)) {
            issues.push(ConfigIssue { path: full.clone(), message });
        }
        let segments: Vec<String> = e.path().iter().map(|s| s.to_string()).collect();
        if is_missing || segments.is_empty() || !remove_at(&mut value, &segments) {
            return None;
        }
        set_aside.push(full);
    }
    None
}

fn remove_at(value: &mut Value, segments: &[String]) -> bool {
    let Some((last, parents)) = segments.split_last() else { return false };
    let mut cur = value;
    for seg in parents {
        cur = match cur {
            Value::Table(t) => match t.get_mut(seg) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match cur {
        Value::Table(t) => t.remove(last).is_some(),
        _ => false,
    }
}

fn optional_section<T: DeserializeOwned + Default>(
    table: &mut Table,
    key: &str,
    issues: &mut Vec<ConfigIssue>,
) -> T {
    table.remove(key).and_then(|v| section(v, key, issues)).unwrap_or_default()
}

fn array_section<T: DeserializeOwned>(
    table: &mut Table,
    key: &str,
    issues: &mut Vec<ConfigIssue>,
) -> Vec<T> {
    match table.remove(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| section(v, &format!("{key}[{i}]"), issues))
            .collect(),
        Some(_) => {
            issues.push(ConfigIssue {
                path: key.into(),
                message: format!("must be an array of tables, written [[{key}]]"),
            });
            Vec::new()
        }
    }
}

fn apply_env(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    issues: &mut Vec<ConfigIssue>,
) {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
        let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
        if keys.iter().any(|k| k.is_empty()) {
            issues.push(ConfigIssue { path: name.clone(), message: "empty key segment".into() });
            continue;
        }
        // A value that parses as TOML (number, bool, array) keeps its type; anything
        // else is a string, so passwords need no quoting.
        let value = format!("v = {raw}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(Value::String(raw));
        if let Err(msg) = set_path(table, &keys, value) {
            issues.push(ConfigIssue { path: name.clone(), message: msg });
        }
    }
}

fn set_path(table: &mut Table, keys: &[String], value: Value) -> Result<(), String> {
    let mut root = Value::Table(std::mem::take(table));
    let result = set_in(&mut root, keys, value);
    if let Value::Table(t) = root {
        *table = t;
    }
    result
}

fn set_in(root: &mut Value, keys: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("no key")?;
    let mut cur = root;
    for k in parents {
        cur = step(cur, k)?;
    }
    match cur {
        Value::Table(t) => {
            t.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| format!("`{last}` is not an array index"))?;
            let slot = a.get_mut(i).ok_or(format!("index {i} is past the array's end"))?;
            *slot = value;
            Ok(())
        }
        _ => Err("path goes through a value that is not a table".to_string()),
    }
}

fn step<'a>(v: &'a mut Value, key: &str) -> Result<&'a mut Value, String> {
    match v {
        Value::Table(t) => {
            Ok(t.entry(key.to_string()).or_insert_with(|| Value::Table(Table::new())))
        }
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| format!("`{key}` is not an array index"))?;
            a.get_mut(i).ok_or(format!("index {i} is past the array's end"))
        }
        _ => Err(format!("`{key}`: path goes through a value that is not a table")),
    }
}
