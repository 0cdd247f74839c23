//! The update service: checks the source on a schedule or on request, and takes each
//! driver kind through verify → wait for idle → stage → trial → commit or roll back.
//! One task, so updates happen one at a time, and a request that arrives during a
//! trial waits in the channel until the trial's outcome is known.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::handle::{Command, CommandError, Updates};
use super::health::TrialConfig;
use super::idle::{busy_reason, telescopes_of_kind};
use super::install::{Expected, stage};
use super::paths::UpdatePaths;
use super::policy::{Candidate, Host, pick, pick_version};
use super::rollout::{Outcome, apply_observed};
use super::slot::SlotDir;
use super::source::Source;
use super::state::StateFile;
use super::trust::{self, Verified};
use super::view::{BuildView, SlotView};
use crate::clock::Clock;
use crate::config::Config;
use crate::core::{Core, Event};
use crate::devices::DriverHandle;
use crate::metrics::{TrialOutcome, UpdateCounters};

/// How often a build that waits for an idle telescope looks again.
const IDLE_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("update.source `{value}`: {why}; give an http(s):// URL or a folder")]
    Source { value: String, why: String },
    #[error(
        "cannot read the shipped root update.root {path}: {err}; install the repository's 1.root.json there"
    )]
    Root { path: std::path::PathBuf, err: std::io::Error },
}

enum Work {
    Check(Option<String>, Option<semver::Version>),
    Waiting,
    Rollback(String, tokio::sync::oneshot::Sender<Result<String, CommandError>>),
}

pub struct UpdateService {
    paths: UpdatePaths,
    file: StateFile,
    source: Source,
    shipped_root: Vec<u8>,
    poll: Duration,
    trial: TrialConfig,
    /// kind → its driver instances (the first is the one tried).
    instances: BTreeMap<String, Vec<DriverHandle>>,
    /// kind → telescopes it serves (all must be idle).
    telescopes: BTreeMap<String, Vec<String>>,
    clock: Clock,
    core: Core,
    views: watch::Sender<BTreeMap<String, SlotView>>,
    /// Kinds with a build that waits for idle.
    waiting: BTreeSet<String>,
    host: Host,
    counters: Arc<UpdateCounters>,
}

/// Parses `update.source`: an http(s) URL or a folder.
pub fn parse_source(s: &str) -> Result<Source, StartError> {
    if s.starts_with("http://") || s.starts_with("https://") {
        let url = url::Url::parse(s)
            .map_err(|e| StartError::Source { value: s.into(), why: e.to_string() })?;
        Ok(Source::Http(url))
    } else {
        Ok(Source::Folder(std::path::PathBuf::from(s)))
    }
}

/// What start-up checks before any driver runs: the source parses and the shipped
/// root can be read, so a bad `[update]` stops teld before it touches a device.
pub struct Prepared {
    source: Source,
    shipped_root: Vec<u8>,
}

/// `None` when updates are off.
pub fn prepare(config: &Config) -> Result<Option<Prepared>, StartError> {
    let u = &config.update;
    if !u.enabled {
        return Ok(None);
    }
    let source = parse_source(u.source.as_deref().unwrap_or_default())?;
    let root_path = u.root.clone().unwrap_or_default();
    let shipped_root = std::fs::read(&root_path)
        .map_err(|err| StartError::Root { path: root_path.clone(), err })?;
    Ok(Some(Prepared { source, shipped_root }))
}

/// Starts the service (once the drivers are supervised); a disabled handle when
/// updates are off.
pub fn spawn(
    prepared: Option<Prepared>,
    config: &Config,
    clock: Clock,
    core: Core,
    drivers: &BTreeMap<String, DriverHandle>,
    shutdown: CancellationToken,
) -> (Updates, Option<JoinHandle<()>>) {
    let Some(Prepared { source, shipped_root }) = prepared else {
        return (Updates::disabled(), None);
    };
    let u = &config.update;
    let paths = UpdatePaths::new(&config.paths.state_dir);
    let mut instances = BTreeMap::new();
    let mut telescopes = BTreeMap::new();
    for kind in u.kinds(config) {
        let handles: Vec<DriverHandle> = config
            .drivers
            .iter()
            .filter(|d| d.kind == kind && d.program.is_none())
            .filter_map(|d| drivers.get(&d.name).cloned())
            .collect();
        telescopes.insert(kind.clone(), telescopes_of_kind(config, &kind));
        instances.insert(kind, handles);
    }
    let (tx, rx) = mpsc::channel(16);
    let file = StateFile::new(paths.update_dir());
    let views = watch::channel(BTreeMap::new()).0;
    let service = UpdateService {
        file,
        paths,
        source,
        shipped_root,
        poll: Duration::from_secs_f64(u.poll_interval_s),
        trial: TrialConfig {
            ready_timeout: Duration::from_secs_f64(u.ready_timeout_s),
            probation: Duration::from_secs_f64(u.probation_s),
        },
        instances,
        telescopes,
        clock,
        core,
        views,
        waiting: BTreeSet::new(),
        host: Host::this(),
        counters: Arc::default(),
    };
    service.refresh_views(None);
    let managed = config
        .drivers
        .iter()
        .filter(|d| d.program.is_none() && service.instances.contains_key(&d.kind))
        .map(|d| d.name.clone())
        .collect();
    let handle =
        Updates::new(tx, service.views.subscribe(), Arc::clone(&service.counters), managed);
    let task = tokio::spawn(service.run(rx, shutdown));
    (handle, Some(task))
}

impl UpdateService {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let retry = !self.waiting.is_empty();
            let work = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => Work::Check(None, None),
                _ = tokio::time::sleep(IDLE_RETRY), if retry => Work::Waiting,
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(Command::Check { kind, version, reply }) => {
                        let what = match &version {
                            Some(v) => format!("checking the source for {kind} {v}"),
                            None => format!("checking the source for {kind}"),
                        };
                        let _ = reply.send(Ok(what));
                        Work::Check(Some(kind), version)
                    }
                    Some(Command::Rollback { kind, reply }) => Work::Rollback(kind, reply),
                },
            };
            // A shutdown mid-trial drops the trial here; the journal has it, and the
            // next start rolls it back like any other interrupted trial.
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.work(work) => {}
            }
        }
    }

    async fn work(&mut self, work: Work) {
        match work {
            Work::Check(kind, version) => self.cycle(kind.as_deref(), version).await,
            Work::Waiting => {
                let kinds: Vec<String> = self.waiting.iter().cloned().collect();
                for k in kinds {
                    self.cycle(Some(&k), None).await;
                }
            }
            Work::Rollback(kind, reply) => {
                let r = self.rollback(&kind).await;
                let _ = reply.send(r);
            }
        }
    }

    fn kinds(&self, only: Option<&str>) -> Vec<String> {
        self.instances.keys().filter(|k| only.is_none_or(|o| o == k.as_str())).cloned().collect()
    }

    /// One check of the source for every kind (or one).
    async fn cycle(&mut self, only: Option<&str>, wanted: Option<semver::Version>) {
        // Real UTC, not the observatory clock: `tough` judges metadata expiry by the
        // system clock itself, so the stepped-back check must read the same clock (a
        // simulated night in the past would otherwise look like a clock stepped back).
        let Ok(now) = hifitime::Epoch::now() else {
            self.counters.check(false);
            for k in self.kinds(only) {
                let msg = "the system clock cannot be read; no update check".to_string();
                self.note(&k, None, Some(self.alert(&k, msg)), None);
            }
            return;
        };
        let verified = self.verify(now).await;
        self.counters.check(verified.is_ok());
        let verified = match verified {
            Ok(v) => v,
            Err(msg) => {
                for k in self.kinds(only) {
                    self.note(&k, None, Some(msg.clone()), None);
                }
                return;
            }
        };
        for kind in self.kinds(only) {
            self.update_kind(&verified, &kind, wanted.as_ref()).await;
        }
    }

    async fn verify(&self, now: hifitime::Epoch) -> Result<Verified, String> {
        let (mut state, _) = self.file.load().map_err(|e| self.alert("update", e.to_string()))?;
        trust::load(&self.paths, &self.source, &self.shipped_root, &mut state, now).await.map_err(
            |e| {
                if e.alerts() {
                    self.alert("update", e.to_string())
                } else {
                    tracing::warn!("driver update check: {e}");
                    e.to_string()
                }
            },
        )
    }

    async fn update_kind(
        &mut self,
        verified: &Verified,
        kind: &str,
        wanted: Option<&semver::Version>,
    ) {
        let candidate = match self.choose(verified, kind, wanted) {
            Ok(c) => c,
            Err(msg) => {
                self.waiting.remove(kind);
                self.note(kind, None, Some(msg), None);
                return;
            }
        };
        let Some(candidate) = candidate else {
            self.waiting.remove(kind);
            self.note(kind, None, Some("up to date".into()), None);
            return;
        };
        let available = candidate_view(&candidate);
        let tels = self.telescopes.get(kind).cloned().unwrap_or_default();
        if let Some(why) = busy_reason(&self.core.snapshot(), &tels) {
            if self.waiting.insert(kind.to_string()) {
                tracing::info!(driver = kind, version = %candidate.meta.version, "driver update waits: {why}");
            }
            self.note(kind, Some(available), None, Some(why));
            return;
        }
        self.waiting.remove(kind);
        self.note(
            kind,
            Some(available.clone()),
            Some(format!("installing {}", available.version)),
            None,
        );
        let result = self.install(verified, kind, &candidate).await;
        let msg = match result {
            Ok(m) => m,
            Err(m) => self.alert(kind, m),
        };
        self.note(kind, None, Some(msg), None);
    }

    fn choose(
        &self,
        verified: &Verified,
        kind: &str,
        wanted: Option<&semver::Version>,
    ) -> Result<Option<Candidate>, String> {
        // What was learnt (hashes seen, signed floors) is saved even when the pick
        // fails: a republished version must stay flagged.
        let learnt = self.file.update(|state| {
            Ok::<_, super::state::StateError>(match wanted {
                Some(v) => pick_version(verified, state, kind, &self.host, v).map(Some),
                None => pick(verified, state, kind, &self.host),
            })
        });
        match learnt {
            Ok((picked, _)) => picked.map_err(|e| self.alert(kind, e.to_string())),
            Err(e) => Err(self.alert(kind, e.to_string())),
        }
    }

    async fn install(
        &mut self,
        verified: &Verified,
        kind: &str,
        c: &Candidate,
    ) -> Result<String, String> {
        let handles = self.instances.get(kind).cloned().unwrap_or_default();
        let Some(first) = handles.first() else {
            return Err(format!("no running driver of kind {kind} to update"));
        };
        let slot = SlotDir::new(&self.paths, kind).map_err(|e| e.to_string())?;
        let stream = verified.read_target(&c.target).await.map_err(|e| e.to_string())?;
        let expected =
            Expected { meta: c.meta.clone(), sha256: c.sha256.clone(), length: c.length };
        let installed = stage(&slot, stream, &expected).await.map_err(|e| e.to_string())?;
        let version = installed.release.to_string();
        self.event(kind, "update_trial", Some(format!("trying {version}")));
        let clock = self.clock.clone();
        let began = || self.note(kind, None, Some(format!("trying {version}")), None);
        let outcome =
            apply_observed(first, &slot, &self.file, &installed, self.trial, || clock.now(), began)
                .await
                .map_err(|e| e.to_string())?;
        let counted = match &outcome {
            Outcome::Committed(_) => TrialOutcome::Committed,
            Outcome::RolledBack { .. } => TrialOutcome::RolledBack,
            Outcome::Halted { .. } => TrialOutcome::Halted,
        };
        self.counters.trial(kind, counted);
        match outcome {
            Outcome::Committed(i) => {
                // The other instances of the kind were idle too; move them over now.
                for h in handles.iter().skip(1) {
                    h.restart_fresh();
                }
                let msg = format!("updated to {} (git {})", i.release, i.git_sha);
                tracing::info!(driver = kind, "{msg}");
                self.event(kind, "updated", Some(msg.clone()));
                Ok(msg)
            }
            Outcome::RolledBack { alert } => {
                self.event(kind, "rolled_back", Some(alert.clone()));
                Err(alert)
            }
            Outcome::Halted { alert } => {
                self.event(kind, "halted", Some(alert.clone()));
                Err(alert)
            }
        }
    }

    async fn rollback(&mut self, kind: &str) -> Result<String, CommandError> {
        let slot =
            SlotDir::new(&self.paths, kind).map_err(|e| CommandError::Refused(e.to_string()))?;
        let now = self.clock.now();
        let msg = super::trial::operator_rollback(&slot, &self.file, now)
            .map_err(|e| CommandError::Refused(e.to_string()))?;
        for h in self.instances.get(kind).into_iter().flatten() {
            h.restart_fresh();
        }
        self.event(kind, "rolled_back", Some(msg.clone()));
        self.note(kind, None, Some(msg.clone()), None);
        Ok(msg)
    }

    /// Logs, publishes (live feed, MQTT) and returns an alert.
    fn alert(&self, kind: &str, message: String) -> String {
        tracing::error!(driver = kind, "driver update: {message}");
        let at = self.clock.now();
        self.core.publish(Event::Alert {
            source: format!("update/{kind}"),
            message: message.clone(),
            at,
        });
        message
    }

    fn event(&self, kind: &str, status: &str, detail: Option<String>) {
        let at = self.clock.now();
        self.core.publish(Event::Driver {
            driver: kind.to_string(),
            status: status.into(),
            detail,
            at,
        });
    }

    /// Records the last outcome for `kind` and refreshes every view from the journal.
    fn note(
        &self,
        kind: &str,
        available: Option<BuildView>,
        result: Option<String>,
        waiting: Option<String>,
    ) {
        let at = teld_driver_protocol::time::format_utc(self.clock.now());
        self.refresh_views(Some(Noted { kind, available, result, waiting, at }));
    }

    fn refresh_views(&self, changed: Option<Noted<'_>>) {
        let state = self.file.load().map(|(s, _)| s).ok();
        self.views.send_modify(|views| {
            for kind in self.instances.keys() {
                let old = views.remove(kind).unwrap_or_default();
                let mut v = SlotView::from_slot(kind, state.as_ref().and_then(|s| s.slot(kind)));
                v.available = old.available;
                v.last_check = old.last_check;
                v.last_result = old.last_result;
                v.waiting = old.waiting;
                if let Some(n) = &changed
                    && n.kind == kind.as_str()
                {
                    v.available = n.available.clone();
                    v.last_check = Some(n.at.clone());
                    if n.result.is_some() {
                        v.last_result = n.result.clone();
                    }
                    v.waiting = n.waiting.clone();
                }
                views.insert(kind.clone(), v);
            }
        });
    }
}

/// One kind's outcome of a check, for its view.
struct Noted<'a> {
    kind: &'a str,
    available: Option<BuildView>,
    result: Option<String>,
    waiting: Option<String>,
    /// UTC (teld's clock) of the check.
    at: String,
}

fn candidate_view(c: &Candidate) -> BuildView {
    BuildView {
        version: c.release().to_string(),
        sha256: c.sha256.clone(),
        git_sha: c.meta.git_sha.clone(),
    }
}
