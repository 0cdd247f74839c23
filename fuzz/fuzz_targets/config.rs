#![no_main]
//! A configuration file as `teld` reads it: TOML text, then `TELD__…` environment
//! overrides, then every section typed and checked. After a NUL byte, the input's
//! lines are `NAME=value` environment variables (the overrides path).

use libfuzzer_sys::fuzz_target;
use teld::config::{ConfigError, load_str};

fuzz_target!(|data: &[u8]| {
    let (text, env) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let env: Vec<(String, String)> = String::from_utf8_lossy(env)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match load_str(text, "fuzz.toml", env) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            if let ConfigError::Invalid { issues, .. } = &e {
                assert!(!issues.is_empty(), "refused without saying why");
            }
            let _ = e.to_string();
        }
    }
});
