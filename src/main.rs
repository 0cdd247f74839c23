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
