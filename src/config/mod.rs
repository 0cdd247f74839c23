//! Typed configuration. `config/default.toml` (embedded in the binary) describes the
//! simulated observatory; a site's file replaces it. Secrets come from the
//! environment (`TELD__SECTION__KEY=value`), never from files in a repository.

mod http;
mod inbox;
mod load;
mod mount;
mod types;
mod update;
mod validate;

pub use inbox::InboxConfig;
pub use load::{ConfigError, ConfigIssue, DEFAULT_CONFIG, load_file, load_str};
pub use mount::{Enclosure, MIN_MERIDIAN_LIMIT_DEG, MountGeometry, MountType};
pub use types::*;
pub use update::UpdateConfig;

#[cfg(test)]
mod tests;
