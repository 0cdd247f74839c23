//! `teld plan --svg`: the picture of a night's plan for the configured site, from the
//! store the daemon writes (it keeps the latest plan of every night).

use hifitime::Epoch;

use crate::config::Config;
use crate::store::{Store, StoreError, StoredPlan};

#[derive(Debug, thiserror::Error)]
pub enum PlanSvgError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "no stored plan{0}: the daemon stores a night's plan once it plans the night; run `teld run` with this config first"
    )]
    NoPlan(String),
}

/// The plan of the night that started last before `before` (the newest without it).
pub async fn stored(config: &Config, before: Option<Epoch>) -> Result<StoredPlan, PlanSvgError> {
    let url = match &config.store.url {
        Some(u) => u.clone(),
        None => Store::default_url(&config.paths.state_dir)?,
    };
    let store = Store::open(&url).await?;
    let when = before
        .map(|t| {
            format!(" for a night starting before {}", teld_driver_protocol::time::format_utc(t))
        })
        .unwrap_or_default();
    store.plan_before(before).await?.ok_or(PlanSvgError::NoPlan(when))
}
