//! `teld token create|list|revoke`: API tokens, managed on the store directly, so it
//! works while teld is stopped (and while it runs: SQLite serialises the writers).

use std::path::Path;

use crate::auth::{Role, TokenSecret, valid_name};
use crate::config::{self, Config};
use crate::store::Store;

/// Who made a token from the command line, in the store.
const BY_CLI: &str = "cli";

async fn open(config: Option<&Path>) -> anyhow::Result<Store> {
    let c: Config = config::load_file(config, &[])?;
    let url = match &c.store.url {
        Some(u) => u.clone(),
        None => Store::default_url(&c.paths.state_dir)?,
    };
    Ok(Store::open(&url).await?)
}

fn now() -> hifitime::Epoch {
    // Token records carry real time (who did what when), whatever clock a daemon runs.
    hifitime::Epoch::now().unwrap_or_else(|_| hifitime::Epoch::from_unix_seconds(0.0))
}

/// Makes a token and returns its secret, the only time it is ever shown.
pub async fn create(
    config: Option<&Path>,
    name: &str,
    role: Role,
    expires_days: Option<f64>,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        valid_name(name),
        "token name `{name}` must be 1-64 printable characters without spaces, e.g. `neocc-duty`"
    );
    if let Some(d) = expires_days {
        anyhow::ensure!(
            d.is_finite() && d > 0.0 && d <= 3650.0,
            "--expires-days must be above 0 and at most 3650, got {d}; leave it out for a token that never expires"
        );
    }
    let store = open(config).await?;
    let secret = TokenSecret::generate()?;
    let at = now();
    let expires = expires_days.map(|d| at + hifitime::Duration::from_days(d));
    let r = store
        .insert_token_expiring(name, role, &secret.hash(), &secret.hint(), BY_CLI, at, expires)
        .await;
    store.close().await;
    r?;
    Ok(secret.expose().to_string())
}

/// One line per token: id, name, role, hint, created, revoked.
pub async fn list(config: Option<&Path>) -> anyhow::Result<String> {
    let store = open(config).await?;
    let tokens = store.tokens().await;
    store.close().await;
    let mut out = String::new();
    for t in tokens? {
        let created = teld_driver_protocol::time::format_utc(t.created_at);
        let state = match (&t.revoked_at, t.expires_at) {
            (Some(at), _) => format!("revoked {at}"),
            (None, Some(e)) if !t.live_at(now()) => {
                format!("expired {}", teld_driver_protocol::time::format_utc(e))
            }
            (None, Some(e)) => {
                format!("live until {}", teld_driver_protocol::time::format_utc(e))
            }
            (None, None) => "live".to_string(),
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\tcreated {created} by {}\t{state}\n",
            t.id, t.name, t.role, t.hint, t.created_by
        ));
    }
    Ok(out)
}

pub async fn revoke(config: Option<&Path>, name: &str) -> anyhow::Result<()> {
    let store = open(config).await?;
    let r = store.revoke_token(name, now()).await;
    store.close().await;
    anyhow::ensure!(r?, "no live token is called `{name}`; `teld token list` shows them");
    Ok(())
}
