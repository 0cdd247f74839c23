//! Times are stored as fixed-width ISO-8601 UTC text so they sort and read naturally.

use hifitime::Epoch;

use super::StoreError;

pub fn encode(t: Epoch) -> String {
    teld_driver_protocol::time::format_utc(t)
}

pub fn decode(s: &str) -> Result<Epoch, StoreError> {
    teld_driver_protocol::time::parse_utc(s)
        .map_err(|e| StoreError::Corrupt { what: e.to_string() })
}
