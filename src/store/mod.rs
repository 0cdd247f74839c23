//! Persistent state: requests and their history, observations, frames, device events.
//!
//! SQLite through sqlx by default (one file under the state folder, WAL, synchronous
//! commits), with migrations embedded in the binary. A request is committed here
//! before the API acknowledges it, and every state change is a new row, never an
//! overwrite without history.

mod audit;
mod control;
mod counts;
mod error;
mod frame_query;
mod frames;
mod handoffs;
mod hold;
mod inbox;
mod observations;
mod plans;
mod quicklook;
mod recovery;
mod requests;
mod time;
mod tokens;
mod txn_guard;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use audit::{AuditRecord, NewAudit};
pub use control::ControlRecord;
pub use error::StoreError;
pub use frame_query::FrameFilter;
pub use frames::{FrameRecord, NewFrame};
pub use handoffs::{HandoffCounts, PendingHandoff};
pub use hold::HoldRecord;
pub use inbox::{DataTwin, NewInboxFrame, ObservationRef};
pub use observations::ObservationRecord;
pub use plans::StoredPlan;
pub use quicklook::{FrameQuality, NewHandoff, Unassessed};
pub use requests::{RequestEvent, RequestRecord};
pub use tokens::TokenRecord;

/// Connections in the pool: SQLite has one writer at a time; a few readers let the
/// API answer while the executor writes.
const POOL_SIZE: u32 = 4;
/// How long a writer waits for another before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url { url: url.into(), message: e.to_string() })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed request survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            // SQLite may cancel a transaction by itself (disk full); txn_guard.rs.
            .after_release(txn_guard::clean_on_release)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Open { url: url.into(), source: e })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Store { pool })
    }

    /// `sqlite://<state_dir>/teld.db`, creating the folder.
    pub fn default_url(state_dir: &Path) -> Result<String, StoreError> {
        std::fs::create_dir_all(state_dir).map_err(|source| StoreError::StateDir {
            path: state_dir.display().to_string(),
            source,
        })?;
        Ok(format!("sqlite://{}", state_dir.join("teld.db").display()))
    }

    /// Cheap round trip, for readiness and the watchdog.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn record_device_event(
        &self,
        at: hifitime::Epoch,
        source: &str,
        kind: &str,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO device_events (at, source, kind, detail) VALUES (?1, ?2, ?3, ?4)")
            .bind(time::encode(at))
            .bind(source)
            .bind(kind)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
