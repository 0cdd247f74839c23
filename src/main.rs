//! `teld`: the command line. Thin: parse arguments, load configuration, hand over to
//! [`teld::daemon`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use teld::clock::Clock;
use teld::config::{self, Config, ConfigError};
use teld::logging::{self, LogFormat};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "teld", version, about = "Telescope tasking and observation control daemon")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (the default when no command is given).
    Run(RunArgs),
    /// Check a configuration file and list every problem, without starting.
    CheckConfig {
        /// The file to check; the embedded default if omitted.
        file: Option<PathBuf>,
    },
    /// Astronomy from the command line: observability, time scales, night events.
    #[command(subcommand)]
    Astro(AstroCommand),
    /// Plan a benchmark instance (telsched v1/v2 JSON) and write the schedule.
    Plan(PlanArgs),
    /// Side-by-side benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// API bearer tokens: made, listed and revoked on the store (teld may be stopped).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Driver processes and their signed updates, through the running daemon's API
    /// (token from TELD_TOKEN; update and rollback need an admin token).
    Driver {
        /// The daemon's address.
        #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
        url: String,
        #[command(subcommand)]
        command: DriverCommand,
    },
    /// Recovery of the driver updater, on the site with teld stopped.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// CI side of signed driver updates: make, sign, publish and check a TUF repository.
    #[command(subcommand)]
    Artefact(teld::cli::artefact::ArtefactCommand),
    /// The fault campaign: simulated nights at high speed with faults injected into the
    /// real teld, its drivers and its broker; prints a table and fails on any unsafe
    /// state, lost request or lost/duplicated frame (docs/CHAOS.md).
    Chaos(ChaosArgs),
}

#[derive(clap::Args)]
struct ChaosArgs {
    #[arg(long, default_value_t = 7)]
    nights: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per real second: default 300, and 1 (the only choice) with
    /// `--devices real`.
    #[arg(long)]
    speed: Option<f64>,
    /// Simulated hours of each night, from dusk (real hours with `--devices real`).
    #[arg(long, default_value_t = 11.0)]
    hours: f64,
    /// The first night's dusk (UTC); night k starts k days later.
    #[arg(long, default_value = "2026-11-24T19:30:00")]
    from: String,
    /// Faults per simulated hour (one per slot, at a random time in it), besides the
    /// clock jump that ends the first night and about every other one.
    #[arg(long, default_value_t = 2.0)]
    faults_per_hour: f64,
    /// Mean follow-up requests per simulated hour.
    #[arg(long, default_value_t = 4.0)]
    requests_per_hour: f64,
    /// Run folder (store, archive, logs, config); default a new one under the temp dir.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The teld binary to run (default: this one).
    #[arg(long)]
    teld: Option<PathBuf>,
    /// `sim`: teld-driver-sim at high speed. `real`: on the real clock against the
    /// ASCOM Alpaca simulators (camera, dome, wheel, focuser, weather) and the LX200
    /// emulator on a pty (mount), with their faults too: Alpaca hangs and errors,
    /// serial garbage, dropped and partial answers, port loss, mount freeze. Needs
    /// .ci/install-peers (the simulators) and teld-lx200-emulator next to teld.
    #[arg(long, value_enum, default_value_t = ChaosDevices::Sim)]
    devices: ChaosDevices,
    /// Only these fault kinds, comma-separated (kill-teld, stop-teld, kill-driver,
    /// stop-driver, kill-broker, lock-store, corrupt-inbox, disk-full, clock-jump,
    /// alpaca-hang, alpaca-errors, serial-garbage, serial-dropped, serial-partial,
    /// port-loss, mount-freeze); default every kind the devices allow.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Do not start a broker even if mosquitto is installed.
    #[arg(long)]
    no_broker: bool,
    /// MiB of the tmpfs the run's state folder is mounted on (needs root), which the
    /// disk-full fault fills; 0: no tmpfs and no disk-full fault.
    #[arg(long, default_value_t = 3072)]
    tmpfs_mib: u64,
}

#[derive(Subcommand)]
enum UpdateCommand {
    /// The clock was set far ahead and corrected: forget the last verified time (floors stay).
    ResetClock {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Both update state generations are damaged: keep them aside and start a new journal.
    ResetState {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DriverCommand {
    /// Every driver: status, version, installed/previous/available builds, trial.
    List,
    /// Check the update source now and install the newest acceptable build of this
    /// driver's kind (or exactly --version), when its telescope is idle.
    Update {
        /// The driver's name from the config.
        name: String,
        #[arg(long)]
        version: Option<String>,
    },
    /// Go back to the previous verified build; the current one is marked bad.
    Rollback { name: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token and print it once; the store keeps only its SHA-256.
    Create {
        /// The site's config (default: the embedded one), for the store's location.
        #[arg(long)]
        config: Option<PathBuf>,
        /// observer, operator or admin.
        #[arg(long)]
        role: teld::auth::Role,
        /// Who it is for, e.g. `neocc-duty`; unique among live tokens.
        #[arg(long)]
        name: String,
        /// Days until it stops working (default: never).
        #[arg(long, value_name = "DAYS")]
        expires_days: Option<f64>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Revoke the live token of this name.
    Revoke {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        name: String,
    },
}

#[derive(clap::Args)]
struct PlanArgs {
    /// A `telsched-instance` file (../shared/bench/FORMAT.md, FORMAT-v2.md).
    #[arg(long, required_unless_present = "svg", conflicts_with = "svg")]
    instance: Option<PathBuf>,
    /// Write the picture of the configured site's stored night plan here (`-` for
    /// stdout) instead of planning an instance.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// With --svg: the site's config (default: the embedded one).
    #[arg(long, requires = "svg")]
    config: Option<PathBuf>,
    /// With --svg: the night that started last before this UTC time (default: the
    /// newest stored night), e.g. 2026-11-25T12:00:00.
    #[arg(long, requires = "svg")]
    before: Option<String>,
    /// Where to write the `telsched-schedule` (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Search effort in places examined (default: scaled to the instance).
    #[arg(long)]
    effort: Option<u64>,
}

#[derive(Subcommand)]
enum AstroCommand {
    /// Reads JSON lines of cases on stdin ({"lat_deg","lon_deg","height_m","utc",
    /// "ra_deg","dec_deg"} and optional "pressure_hpa","temperature_c","humidity",
    /// "wavelength_um","ut1_utc_s","xp_arcsec","yp_arcsec"); writes one JSON line each.
    Observe,
    /// Time scales and sidereal times for UTC instants.
    Time {
        #[arg(long = "utc", required = true)]
        utc: Vec<String>,
        /// UT1−UTC in seconds (default: the IERS table).
        #[arg(long = "ut1-utc", allow_hyphen_values = true)]
        ut1_utc: Option<f64>,
    },
    /// Sunset, twilights, sunrise, moonrise/set and Moon illumination for a night.
    Night {
        #[command(flatten)]
        site: SiteArgs,
        /// Local civil date of the evening, YYYY-MM-DD.
        #[arg(long)]
        date: String,
    },
    /// Topocentric astrometric RA/Dec (J2000), distance and rates of an object from MPC
    /// one-line elements (MPCORB/NEOCP format).
    Ephem {
        #[arg(long)]
        mpc: String,
        #[command(flatten)]
        site: SiteArgs,
        #[arg(long = "utc", required = true)]
        utc: Vec<String>,
    },
}

/// A WGS84 site on the command line.
#[derive(clap::Args)]
struct SiteArgs {
    #[arg(long = "lat-deg", allow_hyphen_values = true)]
    lat_deg: f64,
    /// East-positive.
    #[arg(long = "lon-deg", allow_hyphen_values = true)]
    lon_deg: f64,
    #[arg(long = "height-m", allow_hyphen_values = true, default_value_t = 0.0)]
    height_m: f64,
}

impl SiteArgs {
    fn site(&self) -> teld::astro::Site {
        teld::astro::Site {
            latitude_deg: self.lat_deg,
            longitude_deg: self.lon_deg,
            height_m: self.height_m,
        }
    }
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time to put a rapid-response request into a live plan, vs the 50 ms budget.
    Repair {
        #[arg(long)]
        instance: PathBuf,
        #[arg(long, default_value_t = 50)]
        trials: usize,
        /// Where in the night "now" is, 0 to 1.
        #[arg(long, default_value_t = 0.5)]
        at: f64,
    },
    /// Visibility grid vs astropy's AltAz transform.
    Astro {
        #[arg(long, default_value_t = 10_000)]
        targets: usize,
        #[arg(long, default_value_t = 720)]
        instants: usize,
        /// Python with astropy (default: .venv-peers/bin/python or $TELD_PEERS_VENV).
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Configuration file; without it teld runs the embedded simulated observatory.
    #[arg(long, env = "TELD_CONFIG")]
    config: Option<PathBuf>,
    /// Run on a simulated clock starting at this UTC instant (e.g. 2026-11-24T19:30:00).
    #[arg(long, value_name = "UTC")]
    simulate_from: Option<String>,
    /// Simulated seconds per real second (with --simulate-from).
    #[arg(long, requires = "simulate_from", value_name = "FACTOR")]
    speed: Option<f64>,
    /// Overrides paths.state_dir.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Overrides http.listen, e.g. 127.0.0.1:0 for any free port (another address
    /// needs http.auth and TLS: docs/API.md).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    #[arg(long, value_enum, default_value_t = LogFormat::Auto)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::CheckConfig { file } => check_config(file),
        Command::Astro(cmd) => astro(cmd),
        Command::Plan(args) => plan(args),
        Command::Bench(BenchCommand::Repair { instance, trials, at }) => {
            match teld::cli::bench_repair::run(
                &instance,
                trials.max(1),
                at,
                std::io::stdout().lock(),
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("teld bench repair: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench(BenchCommand::Astro { targets, instants, python }) => {
            let python = python.or_else(peers_python);
            let opts = teld::cli::bench_astro::Options { targets, instants, python };
            match teld::cli::bench_astro::run(&opts, std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("teld bench astro: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Token(cmd) => token(cmd),
        Command::Chaos(a) => chaos(a),
        Command::Driver { url, command } => driver(&url, command),
        Command::Update(cmd) => {
            let done = match cmd {
                UpdateCommand::ResetClock { config } => {
                    teld::cli::update::reset_clock(config.as_deref())
                }
                UpdateCommand::ResetState { config } => {
                    teld::cli::update::reset_state(config.as_deref())
                }
            };
            match done {
                Ok(said) => {
                    println!("{said}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("teld update: {e:#}");
                    exit_code(&e)
                }
            }
        }
        Command::Artefact(cmd) => match teld::cli::artefact::run(cmd, &mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("teld artefact: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => {
            logging::init(args.log_format);
            match run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("teld: {e:#}");
                    exit_code(&e)
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ChaosDevices {
    Sim,
    Real,
}

fn chaos(a: ChaosArgs) -> ExitCode {
    use teld::cli::chaos::plan::{Devices, FaultKind};
    let devices = match a.devices {
        ChaosDevices::Sim => Devices::Sim,
        ChaosDevices::Real => Devices::Real,
    };
    let mut kinds = Vec::new();
    for slug in &a.kinds {
        match FaultKind::from_slug(slug.trim()) {
            Some(k) if k.applies_to(devices) => kinds.push(k),
            Some(_) => {
                eprintln!(
                    "teld chaos: --kinds {slug} does not apply to these --devices; leave it out"
                );
                return ExitCode::from(2);
            }
            None => {
                eprintln!(
                    "teld chaos: --kinds: `{slug}` is not a fault kind; see teld chaos --help"
                );
                return ExitCode::from(2);
            }
        }
    }
    let opts = teld::cli::chaos::Options {
        nights: a.nights,
        seed: a.seed,
        speed: a.speed.unwrap_or(if devices == Devices::Real { 1.0 } else { 300.0 }),
        hours: a.hours,
        first_dusk: a.from,
        faults_per_hour: a.faults_per_hour,
        requests_per_hour: a.requests_per_hour,
        dir: a.dir,
        teld: a.teld,
        devices,
        kinds,
        no_broker: a.no_broker,
        tmpfs_mib: a.tmpfs_mib,
    };
    let mut out = std::io::stdout();
    match teld::cli::chaos::run(&opts, &mut out) {
        Ok(report) => {
            print!("{}", report.render());
            if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("teld chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn token(cmd: TokenCommand) -> ExitCode {
    use teld::cli::token;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("teld token: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = runtime.block_on(async {
        match cmd {
            TokenCommand::Create { config, role, name, expires_days } => {
                let secret = token::create(config.as_deref(), &name, role, expires_days).await?;
                println!("{secret}");
                eprintln!(
                    "token `{name}` ({role}) created; it is shown this once — keep it secret (teld stores only its hash)"
                );
            }
            TokenCommand::List { config } => print!("{}", token::list(config.as_deref()).await?),
            TokenCommand::Revoke { config, name } => {
                token::revoke(config.as_deref(), &name).await?;
                eprintln!("token `{name}` revoked");
            }
        }
        anyhow::Ok(())
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("teld token: {e:#}");
            exit_code(&e)
        }
    }
}

fn driver(url: &str, cmd: DriverCommand) -> ExitCode {
    let done = (|| {
        let daemon = teld::cli::driver::Daemon::parse(url, std::env::var("TELD_TOKEN").ok())?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let text = match cmd {
                DriverCommand::List => daemon.list().await?,
                DriverCommand::Update { name, version } => {
                    daemon.update(&name, version.as_deref()).await? + "\n"
                }
                DriverCommand::Rollback { name } => daemon.rollback(&name).await? + "\n",
            };
            print!("{text}");
            anyhow::Ok(())
        })
    })();
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("teld driver: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn exit_code(e: &anyhow::Error) -> ExitCode {
    if e.downcast_ref::<ConfigError>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
}

fn load(args: &RunArgs) -> Result<Config, ConfigError> {
    let mut overrides = Vec::new();
    if let Some(d) = &args.state_dir {
        overrides.push(("paths.state_dir", d.display().to_string()));
    }
    if let Some(l) = &args.listen {
        overrides.push(("http.listen", l.to_string()));
    }
    config::load_file(args.config.as_deref(), &overrides)
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = load(&args)?;
    let clock_spec = match &args.simulate_from {
        Some(from) => {
            let start = teld_driver_protocol::time::parse_utc(from).context("--simulate-from")?;
            let speed = args.speed.unwrap_or(1.0);
            anyhow::ensure!(
                speed.is_finite() && speed > 0.0,
                "--speed must be a positive number, got {speed}"
            );
            Some((start, speed))
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // The simulated clock starts when the runtime does, not at argument parsing.
        let clock = match clock_spec {
            Some((start, speed)) => Clock::simulated(start, speed),
            None => Clock::system(),
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(watch_signals(shutdown.clone()));
        teld::daemon::run(config, clock, shutdown).await
    })?;
    Ok(())
}

/// First SIGINT/SIGTERM: orderly shutdown (make telescopes safe, stop drivers).
/// A second one: leave at once.
async fn watch_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot install signal handlers; stop teld with SIGKILL");
        return;
    };
    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
    tracing::info!("signal received: shutting down (again to exit at once)");
    shutdown.cancel();
    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
    eprintln!("teld: second signal, exiting without finishing shutdown");
    std::process::exit(130);
}

fn check_config(file: Option<PathBuf>) -> ExitCode {
    match config::load_file(file.as_deref(), &[]) {
        Ok(c) => {
            let surveys = match teld::daemon::load_surveys(&c) {
                Ok(s) => s.len(),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let name = file.map_or("embedded default".to_string(), |f| f.display().to_string());
            println!(
                "{name}: OK — site {} ({:.4}°, {:.4}°), {} driver(s), {} telescope(s), {surveys} survey(s)",
                c.site.name,
                c.site.latitude_deg,
                c.site.longitude_deg,
                c.drivers.len(),
                c.telescopes.len()
            );
            println!("{}", describe_http(&c.http));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// The `[http]` settings that decide who can reach the API, for `teld check-config`.
fn describe_http(h: &config::HttpConfig) -> String {
    let rate = |l: config::RateLimit| {
        if l.unlimited() {
            "unlimited".to_string()
        } else {
            format!("{}/s burst {}", l.per_s, l.burst)
        }
    };
    let r = &h.rate_limit;
    format!(
        "http: {}://{} — auth {}, TLS {}{}, request timeout {} s, at most {} connections; \
         rate per token: observer {}, operator {}, admin {}",
        if h.tls() { "https" } else { "http" },
        h.listen,
        if h.auth { "on (bearer tokens)" } else { "off (every local caller is admin)" },
        if h.tls() { "on" } else { "off" },
        if h.allow_plaintext_remote { " (plaintext remote allowed)" } else { "" },
        h.request_timeout_s,
        h.max_connections,
        rate(r.observer),
        rate(r.operator),
        rate(r.admin),
    )
}

/// `teld plan --instance`: exit 0 with a valid schedule, 1 if the planner's own check
/// found a violation (a bug: please report it), 2 on a bad instance or arguments.
fn plan(args: PlanArgs) -> ExitCode {
    use teld::cli::plan::{PlanCliError, run};
    let Some(instance) = &args.instance else { return plan_svg(&args) };
    let opts =
        teld_schedule::Options { seed: args.seed, effort: args.effort, ..Default::default() };
    let result = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => run(instance, &opts, std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("teld plan: cannot create {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => run(instance, &opts, std::io::stdout().lock()),
    };
    match result {
        Ok(s) => {
            eprintln!(
                "teld plan: value {} ({} of {} requests; greedy {}), slew {:.0} s, wall {:.3} s, CPU {:.3} s",
                s.value, s.completed, s.requests, s.greedy_value, s.slew_s, s.wall_s, s.cpu_s
            );
            if s.violations > 0 {
                eprintln!(
                    "teld plan: {} violations in the planner's own check; this is a bug",
                    s.violations
                );
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e @ (PlanCliError::Read { .. } | PlanCliError::Instance { .. })) => {
            eprintln!("teld plan: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("teld plan: {e}");
            ExitCode::FAILURE
        }
    }
}

fn peers_python() -> Option<PathBuf> {
    let venv = std::env::var_os("TELD_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv-peers"));
    Some(venv.join("bin/python")).filter(|p| p.is_file())
}

/// `teld astro …`: exit 0 when every case was answered, 1 when some were refused
/// (their error lines say why), 2 on bad arguments.
fn astro(cmd: AstroCommand) -> ExitCode {
    use teld::cli::astro;
    let stdout = std::io::stdout().lock();
    let result = match cmd {
        AstroCommand::Ephem { mpc, site, utc } => {
            match astro::ephem(&mpc, site.site(), &utc, stdout) {
                Ok(errors) => Ok(errors == 0),
                Err(e) => {
                    eprintln!("teld astro ephem: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        AstroCommand::Observe => {
            astro::observe(std::io::stdin().lock(), stdout).map(|errors| errors == 0)
        }
        AstroCommand::Time { utc, ut1_utc } => {
            astro::time_lines(&utc, ut1_utc, stdout).map(|errors| errors == 0)
        }
        AstroCommand::Night { site, date } => match astro::night(site.site(), &date) {
            Ok(v) => {
                println!("{v}");
                Ok(true)
            }
            Err(e) => {
                eprintln!("teld astro night: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("teld astro: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `teld plan --svg FILE`: the stored picture of a night of the configured site.
fn plan_svg(args: &PlanArgs) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("teld plan: {msg}");
        ExitCode::from(2)
    };
    let Some(out) = &args.svg else { return fail("give --instance FILE or --svg FILE".into()) };
    let config = match config::load_file(args.config.as_deref(), &[]) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let before = match args.before.as_deref().map(teld_driver_protocol::time::parse_utc) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return fail(format!("--before: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let plan = match runtime.block_on(teld::cli::plan_svg::stored(&config, before)) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let written = if out.as_os_str() == "-" {
        std::io::Write::write_all(&mut std::io::stdout().lock(), plan.svg.as_bytes())
    } else {
        std::fs::write(out, &plan.svg)
    };
    if let Err(e) = written {
        return fail(format!("cannot write {}: {e}", out.display()));
    }
    eprintln!(
        "teld plan: night from {} (updated {}) written to {}",
        teld_driver_protocol::time::format_utc(plan.night_start),
        teld_driver_protocol::time::format_utc(plan.updated_at),
        out.display()
    );
    ExitCode::SUCCESS
}
