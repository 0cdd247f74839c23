//! The update service's face to the API and CLI: read the slots' views, ask for a
//! check (optionally of one version) or a rollback. Commands queue: one update at a
//! time per slot, and a second request during a trial waits for its outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::view::SlotView;
use crate::metrics::UpdateCounters;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "driver updates are off on this site; set [update] enabled = true with a source and root in teld's config"
    )]
    Disabled,
    #[error("`{0}` is not a driver kind that takes updates here; GET /api/v1/drivers lists them")]
    UnknownKind(String),
    #[error("the update service has stopped (teld is shutting down); retry after it restarts")]
    Stopped,
    #[error("{0}")]
    Refused(String),
}

#[derive(Debug)]
pub enum Command {
    /// Check the source now; with `version`, install exactly that one (still only
    /// upwards and above the floors).
    Check {
        kind: String,
        version: Option<semver::Version>,
        reply: oneshot::Sender<Result<String, CommandError>>,
    },
    /// Go back to the previous verified build and mark the current one bad.
    Rollback { kind: String, reply: oneshot::Sender<Result<String, CommandError>> },
}

#[derive(Clone)]
pub struct Updates {
    tx: Option<mpsc::Sender<Command>>,
    views: watch::Receiver<BTreeMap<String, SlotView>>,
    counters: Arc<UpdateCounters>,
    /// Driver instances whose program the updater chooses.
    managed: Arc<BTreeSet<String>>,
}

impl Updates {
    /// The handle of a site without updates: views are empty, commands refused.
    pub fn disabled() -> Updates {
        Updates {
            tx: None,
            views: watch::channel(BTreeMap::new()).1,
            counters: Arc::default(),
            managed: Arc::default(),
        }
    }

    pub fn new(
        tx: mpsc::Sender<Command>,
        views: watch::Receiver<BTreeMap<String, SlotView>>,
        counters: Arc<UpdateCounters>,
        managed: BTreeSet<String>,
    ) -> Updates {
        Updates { tx: Some(tx), views, counters, managed: Arc::new(managed) }
    }

    /// Whether updates choose what driver instance `name` runs (not when it is pinned
    /// by its own `program`, nor when its kind is not listed).
    pub fn manages(&self, name: &str) -> bool {
        self.managed.contains(name)
    }

    /// The update view for driver instance `name` of `kind`; `None` when updates do
    /// not manage it.
    pub fn driver_view(&self, name: &str, kind: &str) -> Option<SlotView> {
        if self.manages(name) { self.view(kind) } else { None }
    }

    /// What the service has counted (checks, trial outcomes), for `/metrics`.
    pub fn counters(&self) -> &UpdateCounters {
        &self.counters
    }

    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    pub fn view(&self, kind: &str) -> Option<SlotView> {
        self.views.borrow().get(kind).cloned()
    }

    pub fn views(&self) -> BTreeMap<String, SlotView> {
        self.views.borrow().clone()
    }

    /// Queues a check and returns once it is accepted (not when it ends: a trial
    /// lasts the probation window; its outcome comes on the live feed).
    pub async fn check(
        &self,
        kind: &str,
        version: Option<semver::Version>,
    ) -> Result<String, CommandError> {
        self.ask(kind, |reply| Command::Check { kind: kind.to_string(), version, reply }).await
    }

    pub async fn rollback(&self, kind: &str) -> Result<String, CommandError> {
        self.ask(kind, |reply| Command::Rollback { kind: kind.to_string(), reply }).await
    }

    async fn ask(
        &self,
        kind: &str,
        make: impl FnOnce(oneshot::Sender<Result<String, CommandError>>) -> Command,
    ) -> Result<String, CommandError> {
        let tx = self.tx.as_ref().ok_or(CommandError::Disabled)?;
        if !self.views.borrow().contains_key(kind) {
            return Err(CommandError::UnknownKind(kind.to_string()));
        }
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply)).await.map_err(|_| CommandError::Stopped)?;
        rx.await.map_err(|_| CommandError::Stopped)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_drivers_show_no_update_view_and_take_no_commands() {
        let (tx, _rx) = mpsc::channel(1);
        let views = BTreeMap::from([(
            "sim".to_string(),
            SlotView { kind: "sim".into(), ..Default::default() },
        )]);
        let (_keep, views_rx) = watch::channel(views);
        let u = Updates::new(tx, views_rx, Arc::default(), BTreeSet::from(["east".to_string()]));
        assert!(u.driver_view("east", "sim").is_some());
        assert!(u.driver_view("west", "sim").is_none(), "west is pinned");
        assert!(!u.manages("west"));
        assert!(Updates::disabled().driver_view("east", "sim").is_none());
    }
}
