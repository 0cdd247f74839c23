//! Who decides what each telescope does: the scheduler (`auto`) or an operator
//! (`paused`, `manual`). One `watch` per telescope, loaded from the store at start
//! and written back on every change, so a maintenance pause survives a restart.
//! The executor only asks the planner in `auto`; a running block stops when the
//! mode leaves `auto`. The safety monitor ignores the mode: it always closes.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::{Caller, Role};
use crate::clock::Clock;
use crate::core::{ControlMode, ControlView, Core};
use crate::devices::Telescope;
use crate::store::{ControlRecord, Store, StoreError};

/// What an operator asks of a telescope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Stop,
    Park,
    Close,
    Open,
    Resume,
    Take,
    Release,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "stop" => Action::Stop,
            "park" => Action::Park,
            "close" => Action::Close,
            "open" => Action::Open,
            "resume" => Action::Resume,
            "take" => Action::Take,
            "release" => Action::Release,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Stop => "stop",
            Action::Park => "park",
            Action::Close => "close",
            Action::Open => "open",
            Action::Resume => "resume",
            Action::Take => "take",
            Action::Release => "release",
        }
    }
}

/// Why an action is refused by the control mode (not by the devices).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "{holder} holds this telescope in manual mode; ask them to release it, or an admin may take it with force=true"
    )]
    HeldBy { holder: String },
    #[error("opening needs manual mode held by you; take control first (action `take`)")]
    NotHeld,
}

/// The holder of a manual telescope is the caller (same token; with auth off, the
/// same name with no token).
fn is_holder(c: &ControlView, caller: &Caller) -> bool {
    match caller.token_id {
        Some(id) => c.holder_token_id == Some(id),
        None => c.holder_token_id.is_none() && c.holder.as_deref() == Some(caller.name.as_str()),
    }
}

/// The mode `action` leaves the telescope in, or why it may not. Stop, park and
/// close are always allowed (they only make things safer) and pause an automatic
/// telescope; a manual one stays with its holder. Everything that would take the
/// telescope from someone else's hands needs that someone's release, or an admin
/// with `force`.
pub fn decide(
    current: &ControlView,
    action: Action,
    caller: &Caller,
    force: bool,
) -> Result<ControlMode, Refusal> {
    let held_by_other = current.mode == ControlMode::Manual && !is_holder(current, caller);
    let overridden = force && caller.may(Role::Admin);
    let check_other = || {
        if held_by_other && !overridden {
            Err(Refusal::HeldBy { holder: current.holder.clone().unwrap_or_default() })
        } else {
            Ok(())
        }
    };
    match action {
        Action::Stop | Action::Park | Action::Close => Ok(match current.mode {
            ControlMode::Manual => ControlMode::Manual,
            _ => ControlMode::Paused,
        }),
        Action::Open => {
            if current.mode == ControlMode::Manual && !held_by_other {
                Ok(ControlMode::Manual)
            } else if held_by_other {
                Err(Refusal::HeldBy { holder: current.holder.clone().unwrap_or_default() })
            } else {
                Err(Refusal::NotHeld)
            }
        }
        Action::Take => check_other().map(|()| ControlMode::Manual),
        Action::Release => check_other().map(|()| ControlMode::Paused),
        Action::Resume => check_other().map(|()| ControlMode::Auto),
    }
}

struct Entry {
    tel: Arc<Telescope>,
    tx: watch::Sender<ControlView>,
}

/// Every telescope's control watch and the telescope itself, for the API.
pub struct Controls {
    entries: BTreeMap<String, Entry>,
    store: Store,
    core: Core,
    clock: Clock,
    /// Decide-then-write as one step, so two operators cannot both take a telescope.
    lock: tokio::sync::Mutex<()>,
}

impl Controls {
    /// Loads the stored modes (telescopes without a row start in `auto`) and shows
    /// them in the snapshot.
    pub async fn load(
        store: Store,
        core: Core,
        clock: Clock,
        telescopes: Vec<Arc<Telescope>>,
    ) -> Result<Controls, StoreError> {
        let stored: BTreeMap<String, ControlRecord> =
            store.controls().await?.into_iter().map(|r| (r.telescope.clone(), r)).collect();
        let mut entries = BTreeMap::new();
        for tel in telescopes {
            let view = match stored.get(&tel.name) {
                Some(r) => match ControlMode::parse(&r.mode) {
                    Some(mode) => ControlView {
                        mode,
                        holder: r.holder_name.clone(),
                        holder_token_id: r.holder_token_id,
                        reason: r.reason.clone(),
                        since: Some(r.since.clone()),
                    },
                    None => {
                        // The CHECK constraint makes this unreachable short of a hand
                        // edit; pausing is the safe reading of a mode we cannot read.
                        tracing::error!(telescope = %tel.name, mode = %r.mode, "unknown stored control mode; starting paused");
                        ControlView { mode: ControlMode::Paused, ..Default::default() }
                    }
                },
                None => ControlView::default(),
            };
            if view.mode != ControlMode::Auto {
                tracing::warn!(
                    telescope = %tel.name,
                    mode = view.mode.as_str(),
                    holder = view.holder.as_deref().unwrap_or("-"),
                    "telescope is not in automatic mode since before the restart; `resume` it to observe"
                );
            }
            core.update(|s| {
                s.telescopes.entry(tel.name.clone()).or_default().control = view.clone()
            });
            entries.insert(tel.name.clone(), Entry { tel, tx: watch::channel(view).0 });
        }
        Ok(Controls { entries, store, core, clock, lock: Default::default() })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn telescope(&self, name: &str) -> Option<&Arc<Telescope>> {
        self.entries.get(name).map(|e| &e.tel)
    }

    pub fn get(&self, name: &str) -> Option<ControlView> {
        self.entries.get(name).map(|e| e.tx.borrow().clone())
    }

    pub fn subscribe(&self, name: &str) -> Option<watch::Receiver<ControlView>> {
        self.entries.get(name).map(|e| e.tx.subscribe())
    }

    /// Applies `action` for `caller`: decides, persists, then publishes (the store
    /// first, so what executors act on is what a restart will find). `None` for an
    /// unknown telescope.
    pub async fn apply(
        &self,
        name: &str,
        action: Action,
        caller: &Caller,
        force: bool,
        reason: Option<String>,
    ) -> Option<Result<ControlView, ApplyError>> {
        let entry = self.entries.get(name)?;
        let _guard = self.lock.lock().await;
        let current = entry.tx.borrow().clone();
        let mode = match decide(&current, action, caller, force) {
            Ok(m) => m,
            Err(r) => return Some(Err(ApplyError::Refused(r))),
        };
        let unchanged = mode == current.mode
            && (mode != ControlMode::Manual || is_holder(&current, caller))
            && (reason.is_none() || reason == current.reason);
        if unchanged {
            return Some(Ok(current));
        }
        let (holder, holder_token_id) =
            if mode == ControlMode::Manual && is_holder(&current, caller) {
                (current.holder.clone(), current.holder_token_id)
            } else if mode == ControlMode::Manual
                && matches!(action, Action::Stop | Action::Park | Action::Close)
            {
                // A safety action on someone else's manual telescope leaves it theirs.
                (current.holder.clone(), current.holder_token_id)
            } else {
                (Some(caller.name.clone()), caller.token_id)
            };
        let since = teld_driver_protocol::time::format_utc(self.clock.now());
        let view = ControlView {
            mode,
            holder,
            holder_token_id,
            reason: reason.or_else(|| Some(format!("{} by {}", action.as_str(), caller.name))),
            since: Some(since.clone()),
        };
        let record = ControlRecord {
            telescope: name.to_string(),
            mode: mode.as_str().to_string(),
            holder_name: view.holder.clone(),
            holder_token_id: view.holder_token_id,
            reason: view.reason.clone(),
            since,
        };
        if let Err(e) = self.store.set_control(&record).await {
            return Some(Err(ApplyError::Store(e)));
        }
        tracing::warn!(
            telescope = name,
            mode = mode.as_str(),
            by = %caller.name,
            "control mode changed ({})",
            action.as_str()
        );
        entry.tx.send_replace(view.clone());
        self.core
            .update(|s| s.telescopes.entry(name.to_string()).or_default().control = view.clone());
        Some(Ok(view))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, id: i64) -> Caller {
        Caller { token_id: Some(id), name: name.into(), role: Role::Operator }
    }

    fn manual(holder: &Caller) -> ControlView {
        ControlView {
            mode: ControlMode::Manual,
            holder: Some(holder.name.clone()),
            holder_token_id: holder.token_id,
            ..Default::default()
        }
    }

    #[test]
    fn a_second_operator_cannot_take_or_resume_a_held_telescope() {
        let (ann, bob) = (op("ann", 1), op("bob", 2));
        let held = manual(&ann);
        for a in [Action::Take, Action::Release, Action::Resume, Action::Open] {
            assert_eq!(
                decide(&held, a, &bob, false),
                Err(Refusal::HeldBy { holder: "ann".into() }),
                "{a:?}"
            );
            // force means nothing below admin
            assert!(decide(&held, a, &bob, true).is_err(), "{a:?}");
        }
        assert_eq!(decide(&held, Action::Take, &ann, false), Ok(ControlMode::Manual));
        assert_eq!(decide(&held, Action::Open, &ann, false), Ok(ControlMode::Manual));
        let admin = Caller { role: Role::Admin, ..op("root", 3) };
        assert!(decide(&held, Action::Take, &admin, false).is_err());
        assert_eq!(decide(&held, Action::Take, &admin, true), Ok(ControlMode::Manual));
    }

    #[test]
    fn safety_actions_are_always_allowed_and_keep_manual_with_its_holder() {
        let (ann, bob) = (op("ann", 1), op("bob", 2));
        for a in [Action::Stop, Action::Park, Action::Close] {
            assert_eq!(decide(&manual(&ann), a, &bob, false), Ok(ControlMode::Manual));
            assert_eq!(decide(&ControlView::default(), a, &bob, false), Ok(ControlMode::Paused));
        }
    }

    #[test]
    fn open_needs_manual_held_by_the_caller() {
        let ann = op("ann", 1);
        assert_eq!(
            decide(&ControlView::default(), Action::Open, &ann, false),
            Err(Refusal::NotHeld)
        );
        let local = Caller::local();
        assert_eq!(decide(&manual(&local), Action::Open, &local, false), Ok(ControlMode::Manual));
        // a token holder and the local caller are different people
        assert!(decide(&manual(&local), Action::Open, &ann, false).is_err());
    }
}
