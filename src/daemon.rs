//! Wiring: builds every part from the configuration, runs them, and stops them in an
//! order that leaves the telescopes safe.
//!
//! Start: store (and restart recovery) → HTTP listener → telemetry → drivers → per
//! telescope a safety monitor and an executor → ready.
//! Stop: executors finish or abort their block and close and park through the
//! still-running drivers → drivers are told to shut down → telemetry says offline.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiState};
use crate::clock::Clock;
use crate::config::{Config, DeviceAddress, TelescopeConfig};
use crate::core::{Core, Snapshot, TelemetryView, TelescopeView};
use crate::devices::{
    Camera, Device, Dome, DriverHandle, FilterWheel, Focuser, Interlocks, Mount, Optics,
    SiteSafety, SupervisorContext, Telescope, Timeouts, Weather, spawn_supervisor_with_slot,
};
use crate::feed::Feed;
use crate::ingest::{
    Archive, InboxContext, InboxError, IngestError, RecoverError, Recovery, run_inbox,
};
use crate::ledger::Ledger;
use crate::observe::{Controls, ObserveContext, run_executor, run_safety_monitor};
use crate::pipeline::{Dispatcher, MqttSink, Pipeline, Sink, WebhookSink, WebhookTarget};
use crate::schedule::{Limits, PlannedTelescope, Planner};
use crate::store::{Store, StoreError};
use crate::systemd;

/// Real milliseconds between periodic state events from drivers: the status page and
/// telemetry stay fresh without flooding the pipes.
const STATE_INTERVAL_MS: u64 = 1000;
/// Acceleration, deceleration and dome following per slew, on top of the settle the
/// executor waits: what the planner charges per block besides distance / rate.
const SLEW_OVERHEAD_S: f64 = 10.0;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] IngestError),
    #[error(transparent)]
    Inbox(#[from] InboxError),
    #[error(transparent)]
    Recover(#[from] RecoverError),
    #[error(transparent)]
    Listen(#[from] api::ListenError),
    #[error("paths.surveys_dir `{dir}`: {source}")]
    Survey { dir: std::path::PathBuf, source: teld_survey::SurveyError },
    #[error(transparent)]
    Update(#[from] crate::update::service::StartError),
    #[error("survey definitions do not fit this site; change the survey or the telescopes:\n  {}", .0.join("\n  "))]
    SurveyMisfit(Vec<String>),
}

pub async fn run(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let paths = &config.paths;
    let archive = Arc::new(
        Archive::open(&paths.archive(), &paths.spool())?
            .with_compression(config.archive.compression),
    );
    let url = match &config.store.url {
        Some(u) => u.clone(),
        None => Store::default_url(&paths.state_dir)?,
    };
    install_iers(&config);
    let store = Store::open(&url).await?;
    // Before any driver or executor runs: what a crash left half done in the archive
    // and the spool is finished or put aside now, so it is never mistaken for work in
    // progress and the resumed requests count their frames right.
    log_recovery(&crate::ingest::recover(&archive, &store, clock.now()).await?);
    let requeued = store.recover_after_restart(clock.now()).await?;
    if !requeued.is_empty() {
        tracing::warn!(?requeued, "requests interrupted by the last stop are back in the queue");
    }
    tracing::info!(store = %url, archive = %paths.archive().display(), clock = ?clock, "teld starting");

    let core = Core::new(initial_snapshot(&config));
    // Before anything publishes, so the feed numbers every event from the first.
    let feed = Feed::new(core.clone(), clock.clone(), shutdown.clone());
    let feed_task =
        tokio::spawn(crate::feed::run(feed.clone(), core.clone(), store.clone(), shutdown.clone()));
    let ledger = Ledger { store: store.clone(), core: core.clone(), clock: clock.clone() };
    let listener = api::listen(&config.http).await?;
    let addr = axum::serve::Listener::local_addr(&listener)
        .map_err(|source| api::ListenError::Bind { addr: config.http.listen, source })?;
    log_access(&config.http);
    tracing::info!("listening on {addr}");

    let sinks = handoff_sinks(&config);
    let pipeline = Pipeline::new(
        store.clone(),
        paths.archive(),
        config.quicklook.clone(),
        config.site.name.clone(),
        clock.clone(),
        sinks.iter().map(Sink::name).collect(),
    );

    // The planner tells running blocks to yield to a rapid-response request here.
    let (yields, yields_rx) = watch::channel(Vec::new());
    let liveness = crate::liveness::Liveness::default();
    let stored_hold = store.safety_hold().await?;
    if let Some(h) = &stored_hold {
        tracing::warn!(
            by = %h.by,
            since = %h.since,
            "the site is held at stop by an operator since before the restart; POST /api/v1/safety/clear to release it"
        );
    }
    let observe = Arc::new(ObserveContext {
        clock: clock.clone(),
        core: core.clone(),
        store: store.clone(),
        ledger: ledger.clone(),
        archive: archive.clone(),
        site: config.site.clone(),
        observing: config.observing.clone(),
        safety: config.safety.clone(),
        quicklook: config.quicklook.clone(),
        pipeline: pipeline.clone(),
        wake: watch::channel(0).0,
        yields: yields_rx,
        liveness: liveness.clone(),
        hold: watch::channel(stored_hold).0,
    });

    let drivers_stop = CancellationToken::new();
    let telemetry_stop = CancellationToken::new();
    // Started before the drivers so subscribers see every event from the first one.
    let telemetry = crate::telemetry::spawn_watched(
        config.telemetry.clone(),
        config.site.name.clone(),
        core.clone(),
        clock.clone(),
        telemetry_stop.clone(),
        &liveness,
    );
    // Frames are assessed and handed off until the very end; what is not delivered by
    // then waits in the store's outbox for the next start.
    let pipeline_stop = CancellationToken::new();
    let mut pipeline_tasks = JoinSet::new();
    let allow = Allowances::of(&config);
    pipeline_tasks.spawn(liveness.watch(
        "pipeline",
        allow.pipeline,
        pipeline.clone().run(core.subscribe(), pipeline_stop.clone()),
    ));
    for sink in sinks {
        let task = format!("handoff:{}", sink.name());
        let d = Dispatcher {
            store: store.clone(),
            clock: clock.clone(),
            sink,
            queued: pipeline.queued(),
            retry_max_s: config.handoff.retry_max_s,
        };
        pipeline_tasks.spawn(liveness.watch(&task, allow.handoff, d.run(pipeline_stop.clone())));
    }
    let update_prepared = crate::update::service::prepare(&config)?;
    let mut supervisors = JoinSet::new();
    let sup_ctx = Arc::new(supervisor_context(
        &config,
        &clock,
        &core,
        &store,
        archive.spool_dir(),
        &liveness,
    ));
    let mut drivers: HashMap<String, DriverHandle> = HashMap::new();
    let update_paths = crate::update::paths::UpdatePaths::new(&paths.state_dir);
    recover_driver_slots(&update_paths, &config.drivers, &clock, &core);
    for d in &config.drivers {
        // A driver with its own `program` is pinned: updates never choose what it runs.
        let slot = d
            .program
            .is_none()
            .then(|| crate::update::exec::SlotExec::new(&update_paths, &d.kind).ok())
            .flatten();
        let (handle, task) =
            spawn_supervisor_with_slot(d.clone(), sup_ctx.clone(), drivers_stop.clone(), slot);
        drivers.insert(d.name.clone(), handle);
        supervisors.spawn(async move {
            let _ = task.await;
        });
    }

    let mut observers = JoinSet::new();
    let mut built = Vec::new();
    let mut planned = Vec::new();
    for t in &config.telescopes {
        let (verdict, verdict_rx) = watch::channel(SiteSafety::unknown());
        let tel = Arc::new(build_telescope(&config, t, &drivers, verdict_rx, &clock, &observe));
        observers.spawn(run_safety_monitor(
            tel.clone(),
            observe.clone(),
            verdict,
            shutdown.clone(),
        ));
        observers.spawn(liveness.watch(
            &format!("guard:{}", t.name),
            allow.telescope,
            run_tracking_guard(tel.clone(), core.clone(), shutdown.clone()),
        ));
        planned.push(PlannedTelescope {
            name: t.name.clone(),
            limits: Limits {
                site: config.site.site(),
                min_altitude_deg: observe.min_altitude(t),
                sun_avoidance_deg: config.safety.sun_avoidance_deg,
                pointing: tel.interlocks.limits.clone(),
            },
            settle_s: config.observing.settle_s + SLEW_OVERHEAD_S,
            slew_rate_deg_s: t.slew_rate_deg_s,
            filters: t.filters.clone(),
            mount: tel.interlocks.mount,
        });
        built.push((tel, t.clone()));
    }
    let surveys = load_surveys(&config)?;
    let planner = Arc::new(
        Planner::new(
            ledger.clone(),
            config.site.site(),
            planned,
            config.observing.sun_altitude_max_deg,
            1,
            config.observing.rapid_response_abort,
            yields,
        )
        .with_surveys(surveys),
    );
    let controls = Arc::new(
        Controls::load(
            store.clone(),
            core.clone(),
            clock.clone(),
            built.iter().map(|(tel, _)| tel.clone()).collect(),
        )
        .await?,
    );
    for (tel, t) in built {
        let control = controls.subscribe(&t.name).expect("every telescope has a control");
        let task = format!("executor:{}", t.name);
        observers.spawn(liveness.watch(
            &task,
            allow.telescope,
            run_executor(tel, t, observe.clone(), planner.clone(), control, shutdown.clone()),
        ));
    }

    let driver_map: Arc<std::collections::BTreeMap<String, DriverHandle>> =
        Arc::new(drivers.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let (updates, update_task) = crate::update::service::spawn(
        update_prepared,
        &config,
        clock.clone(),
        core.clone(),
        &driver_map,
        shutdown.clone(),
    );
    let api_state = ApiState {
        ledger: ledger.clone(),
        core: core.clone(),
        clock: clock.clone(),
        site: config.site.clone(),
        observe: observe.clone(),
        planner: planner.clone(),
        submit_lock: Default::default(),
        auth: Arc::new(crate::auth::Auth::new(&config.http, store.clone())),
        feed: feed.clone(),
        controls: controls.clone(),
        drivers: driver_map,
        updates,
        metrics: crate::metrics::Metrics::new(),
    };
    let plan_feed =
        tokio::spawn(crate::feed::watch_plan(feed.clone(), planner.clone(), shutdown.clone()));
    let http = tokio::spawn(api::serve(listener, api_state, shutdown.clone()));
    // Frames other software writes: started once the store and the event stream are
    // up, so every frame it registers is announced.
    let inbox = if config.inbox.enabled {
        let ctx =
            InboxContext::new(&config, clock.clone(), store.clone(), core.clone(), archive.root())?;
        let watched =
            liveness.watch("inbox", allow.inbox, run_inbox(Arc::new(ctx), shutdown.clone()));
        Some(tokio::spawn(watched))
    } else {
        None
    };
    let watchdog = tokio::spawn(systemd::watchdog(
        store.clone(),
        liveness.clone(),
        core.clone(),
        clock.clone(),
        telemetry_stop.clone(),
    ));

    systemd::ready();
    systemd::status(&format!(
        "observing with {} telescope(s); API on {addr}",
        config.telescopes.len()
    ));
    shutdown.cancelled().await;

    tracing::info!("shutting down: making telescopes safe");
    systemd::stopping();
    while observers.join_next().await.is_some() {}
    if let Some(task) = update_task {
        let _ = task.await;
    }
    if let Some(inbox) = inbox {
        let _ = inbox.await;
    }
    drivers_stop.cancel();
    while supervisors.join_next().await.is_some() {}
    if let Ok(Err(e)) = http.await {
        tracing::warn!("HTTP server ended with an error: {e}");
    }
    pipeline_stop.cancel();
    while pipeline_tasks.join_next().await.is_some() {}
    telemetry_stop.cancel();
    let _ = telemetry.await;
    let _ = feed_task.await;
    let _ = plan_feed.await;
    let _ = watchdog.await;
    store.close().await;
    tracing::info!("teld stopped");
    Ok(())
}

/// How long each watched task may go without showing life (`crate::liveness`): the
/// longest call it makes that has a deadline of its own, plus the margin. Waits on
/// teld's clock and device polls show life as they go, so they need no allowance.
struct Allowances {
    /// Executors and tracking guards: any driver call (an image download is one).
    telescope: std::time::Duration,
    pipeline: std::time::Duration,
    handoff: std::time::Duration,
    inbox: std::time::Duration,
}

impl Allowances {
    fn of(config: &Config) -> Self {
        let allow = |s: f64| crate::liveness::allowance(std::time::Duration::from_secs_f64(s));
        let call = config.drivers.iter().map(|d| d.request_timeout_s).fold(0.0, f64::max);
        Allowances {
            telescope: allow(call),
            pipeline: allow(0.0),
            handoff: allow(config.handoff.timeout_s),
            inbox: allow(config.inbox.scan_interval_s),
        }
    }
}

/// How the API is protected, said once at start (config validation already refused
/// the unsafe combinations).
fn log_access(http: &crate::config::HttpConfig) {
    let scheme = if http.tls() { "https" } else { "http" };
    if http.auth {
        tracing::info!(scheme, "API access: bearer tokens required (http.auth = true)");
    } else {
        tracing::warn!(
            scheme,
            "API access: http.auth is off, so every caller on this machine is an admin; \
             set http.auth = true and create tokens with `teld token create` to give out roles"
        );
    }
    if http.allow_plaintext_remote && !http.tls() && !http.listen.ip().is_loopback() {
        tracing::warn!(
            "API on {} without TLS (http.allow_plaintext_remote): only behind a proxy that terminates TLS",
            http.listen
        );
    }
}

/// The configured handoff destinations. MQTT goes to the telemetry broker, so it is
/// off when telemetry is; config validation has already checked both addresses.
fn handoff_sinks(config: &Config) -> Vec<Sink> {
    let h = &config.handoff;
    let timeout = std::time::Duration::from_secs_f64(h.timeout_s);
    let mut sinks = Vec::new();
    if h.mqtt && config.telemetry.enabled {
        match MqttSink::new(&config.telemetry, &config.site.name, timeout) {
            Ok(s) => sinks.push(Sink::Mqtt(Box::new(s))),
            Err(e) => tracing::error!("frame handoff over MQTT is off: {e}"),
        }
    }
    if let Some(url) = &h.webhook_url {
        match WebhookTarget::parse(url) {
            Ok(t) => sinks.push(Sink::Webhook(WebhookSink::new(t, timeout))),
            Err(e) => tracing::error!("frame handoff webhook is off: {e}"),
        }
    }
    sinks
}

/// Every repair start-up recovery made is said out loud: each is a crash's trace.
fn log_recovery(r: &Recovery) {
    for path in &r.temp_removed {
        tracing::warn!(path = %path.display(), "removed a partial frame left by a crash");
    }
    for path in &r.adopted {
        tracing::warn!(%path, "registered a complete frame a crash left without its store row");
    }
    for (path, reason) in &r.set_aside {
        tracing::error!(path = %path.display(), %reason,
            "a frame without a store row could not be registered; moved aside, not deleted");
    }
    for path in &r.spool_removed {
        tracing::info!(path = %path.display(), "removed a spool file whose frame is archived");
    }
    for path in &r.spool_unfinished {
        tracing::warn!(path = %path.display(),
            "raw pixels of a frame a crash interrupted; kept there, the frame is taken again");
    }
    for problem in &r.problems {
        tracing::error!("start-up recovery: {problem}");
    }
    tracing::info!(
        temp_removed = r.temp_removed.len(),
        adopted = r.adopted.len(),
        set_aside = r.set_aside.len(),
        spool_removed = r.spool_removed.len(),
        spool_unfinished = r.spool_unfinished.len(),
        problems = r.problems.len(),
        "archive recovery done"
    );
}

/// Earth orientation for every computation of this process: the operator's file if
/// configured (validated readable at load), else the bundled table. Says loudly when
/// the current date is outside the table, where UT1−UTC is taken as 0.
fn install_iers(config: &Config) {
    use teld_astro::iers::{self, IersTable};
    if let Some(path) = &config.astro.iers_file {
        match IersTable::from_file(path) {
            Ok(table) => {
                iers::install(table);
            }
            Err(e) => tracing::error!(
                "cannot use astro.iers_file {}: {e}; using the bundled table",
                path.display()
            ),
        }
    }
    let t = iers::active();
    let (first, last) = t.span();
    tracing::info!(source = %t.source, first_mjd = first, last_mjd = last, "IERS Earth orientation table");
}

fn initial_snapshot(config: &Config) -> Snapshot {
    let mut s = Snapshot::default();
    for t in &config.telescopes {
        s.telescopes.insert(
            t.name.clone(),
            TelescopeView { activity: "starting".into(), ..Default::default() },
        );
    }
    s.telemetry = TelemetryView {
        enabled: config.telemetry.enabled,
        broker: config.telemetry.broker.clone(),
        connected: false,
        last_error: None,
    };
    s
}

fn supervisor_context(
    config: &Config,
    clock: &Clock,
    core: &Core,
    store: &Store,
    spool: &std::path::Path,
    liveness: &crate::liveness::Liveness,
) -> SupervisorContext {
    let mut routes: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut expected: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (i, t) in config.telescopes.iter().enumerate() {
        for (role, addr) in t.device_addresses() {
            let Some(a) = DeviceAddress::parse(addr) else { continue };
            routes.entry((a.driver.clone(), a.device.clone())).or_default().push(t.name.clone());
            expected
                .entry(a.driver)
                .or_default()
                .push((a.device, format!("telescopes[{i}].{role}")));
        }
    }
    SupervisorContext {
        clock: clock.clone(),
        core: core.clone(),
        store: store.clone(),
        spool_dir: spool.to_path_buf(),
        site: teld_driver_protocol::call::Site {
            latitude_deg: config.site.latitude_deg,
            longitude_deg: config.site.longitude_deg,
            height_m: config.site.height_m,
        },
        state_interval_ms: STATE_INTERVAL_MS,
        routes,
        expected,
        liveness: liveness.clone(),
    }
}

fn build_telescope(
    config: &Config,
    t: &TelescopeConfig,
    drivers: &HashMap<String, DriverHandle>,
    safety: watch::Receiver<SiteSafety>,
    clock: &Clock,
    observe: &ObserveContext,
) -> Telescope {
    // Addresses were validated against the driver list at load time.
    let device = |addr: &str| {
        let a = DeviceAddress::parse(addr).expect("validated device address");
        Device::new(drivers[&a.driver].clone(), a.device)
    };
    Telescope::new(
        t.name.clone(),
        Mount(device(&t.mount)),
        Camera(device(&t.camera)),
        t.dome.as_deref().map(|d| Dome(device(d))),
        Weather(device(&t.weather)),
        Optics {
            filter_wheel: t.filter_wheel.as_deref().map(|d| FilterWheel(device(d))),
            focuser: t.focuser.as_deref().map(|d| Focuser(device(d))),
            focus_position: t.focus_position,
        },
        Interlocks {
            site: config.site.site(),
            sun_avoidance_deg: config.safety.sun_avoidance_deg,
            min_altitude_deg: observe.min_altitude(t),
            // Validated when the configuration was loaded.
            limits: t.pointing_limits().expect("pointing limits validated at load"),
            sun_altitude_max_deg: config.observing.sun_altitude_max_deg,
            sun_path_margin_deg: config.safety.sun_path_margin_deg,
            mount: t.mount_geometry(),
            enclosure: t.enclosure,
        },
        Timeouts {
            slew_s: t.slew_timeout_s,
            dome_s: t.dome_timeout_s,
            filter_s: t.filter_timeout_s,
        },
        safety,
        clock.clone(),
    )
}

/// The tracking guard of one telescope, for as long as teld runs (between blocks too:
/// a mount left tracking after the last block walks into its limits by itself).
async fn run_tracking_guard(tel: Arc<Telescope>, core: Core, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            e = tel.guard_tracking() => core.publish(crate::core::Event::Alert {
                source: format!("telescope/{}", tel.name),
                message: e.to_string(),
                at: tel.clock_now(),
            }),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The survey definitions of `paths.surveys_dir`, checked against the telescopes and
/// filters of this config, so a survey that could never be planned stops the start.
pub fn load_surveys(config: &Config) -> Result<Vec<teld_survey::Survey>, StartError> {
    let Some(dir) = &config.paths.surveys_dir else { return Ok(Vec::new()) };
    let surveys = teld_survey::load_dir(dir)
        .map_err(|source| StartError::Survey { dir: dir.clone(), source })?;
    let tels: Vec<(String, Vec<String>)> =
        config.telescopes.iter().map(|t| (t.name.clone(), t.filters.clone())).collect();
    let problems = crate::schedule::surveys::check_against_site(&surveys, &tels);
    if !problems.is_empty() {
        return Err(StartError::SurveyMisfit(problems));
    }
    for s in &surveys {
        tracing::info!(
            survey = s.name(),
            fields = s.field_count(),
            source = s.source(),
            "survey loaded"
        );
    }
    Ok(surveys)
}

/// Start-up recovery of every driver slot that has signed installs, before any driver
/// starts: an interrupted trial is rolled back, partial downloads and orphans removed,
/// `current` re-derived from the state file.
fn recover_driver_slots(
    paths: &crate::update::paths::UpdatePaths,
    drivers: &[crate::config::DriverConfig],
    clock: &Clock,
    core: &Core,
) {
    let file = crate::update::state::StateFile::new(paths.update_dir());
    let mut kinds: Vec<&str> = drivers.iter().map(|d| d.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        if !paths.slot(kind).exists() {
            continue;
        }
        match crate::update::trial::recover(paths, &file, kind, clock.now()) {
            Ok(r) => {
                if let Some(alert) = r.rolled_back {
                    tracing::error!(driver = kind, "{alert}");
                    let source = format!("update/{kind}");
                    core.publish(crate::core::Event::Alert {
                        source,
                        message: alert,
                        at: clock.now(),
                    });
                }
            }
            Err(e) => tracing::error!(driver = kind, "driver slot recovery failed: {e}"),
        }
    }
}
