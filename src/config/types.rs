//! The configuration tree. Every default is a named constant or function with the
//! reason it is right.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: SiteConfig,
    #[serde(default)]
    pub paths: PathsConfig,
    #[serde(default)]
    pub archive: ArchiveConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub observing: ObservingConfig,
    #[serde(default)]
    pub safety: SafetyConfig,
    #[serde(default)]
    pub astro: AstroConfig,
    #[serde(default)]
    pub quicklook: QuicklookConfig,
    #[serde(default)]
    pub handoff: HandoffConfig,
    pub inbox: super::InboxConfig,
    #[serde(default)]
    pub update: super::UpdateConfig,
    #[serde(default)]
    pub drivers: Vec<DriverConfig>,
    #[serde(default)]
    pub telescopes: Vec<TelescopeConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Short name used in MQTT topics and FITS headers: lowercase letters, digits, `-`, `_`.
    pub name: String,
    pub latitude_deg: f64,
    /// East-positive.
    pub longitude_deg: f64,
    pub height_m: f64,
}

impl SiteConfig {
    pub fn site(&self) -> teld_astro::Site {
        teld_astro::Site {
            latitude_deg: self.latitude_deg,
            longitude_deg: self.longitude_deg,
            height_m: self.height_m,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    /// Everything teld writes lives under here unless set separately.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Defaults to `<state_dir>/archive`.
    #[serde(default)]
    pub archive_dir: Option<PathBuf>,
    /// Where drivers write raw images; defaults to `<state_dir>/spool`. Keep it on the
    /// archive's file system so the final rename is atomic.
    #[serde(default)]
    pub spool_dir: Option<PathBuf>,
    /// Survey definitions (`*.toml`, format in crates/survey/README.md); unset = no
    /// surveys, only observers' requests.
    #[serde(default)]
    pub surveys_dir: Option<PathBuf>,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            state_dir: default_state_dir(),
            archive_dir: None,
            spool_dir: None,
            surveys_dir: None,
        }
    }
}

impl PathsConfig {
    pub fn archive(&self) -> PathBuf {
        self.archive_dir.clone().unwrap_or_else(|| self.state_dir.join("archive"))
    }
    pub fn spool(&self) -> PathBuf {
        self.spool_dir.clone().unwrap_or_else(|| self.state_dir.join("spool"))
    }
}

/// How frames are stored in the archive (docs/FITS.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// `"none"` (default: plain FITS, fastest, every tool reads it) or `"rice"`
    /// (fpack-compatible tile compression, lossless for integer frames).
    #[serde(default)]
    pub compression: crate::ingest::Compression,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH`; defaults to `sqlite://<state_dir>/teld.db`.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Loopback by default. Another address needs `auth = true` (and TLS, or
    /// `allow_plaintext_remote`): docs/API.md, "TLS and the loopback rule".
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Every `/api/v1` call needs `Authorization: Bearer teld_…` (`teld token create`).
    /// Off: every caller is a local admin, which only loopback may allow.
    #[serde(default)]
    pub auth: bool,
    /// PEM certificate chain and private key: both or neither. With them teld speaks
    /// only HTTPS on `listen`.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP on a non-loopback address with auth on: only behind a proxy that
    /// terminates TLS, or bearer tokens cross the network in clear.
    #[serde(default)]
    pub allow_plaintext_remote: bool,
    /// Longest time to produce a response head (streams may run longer).
    #[serde(default = "default_http_request_timeout")]
    pub request_timeout_s: f64,
    /// Open connections at most; more wait in the kernel's backlog. Bounds what
    /// idle or slow clients can hold (there is no header-read timeout).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Live event streams per token at most (admins are exempt).
    #[serde(default = "default_sse_max_per_token")]
    pub sse_max_per_token: u32,
    /// Requests per second and burst per token, by role.
    #[serde(default)]
    pub rate_limit: RateLimits,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Longer than any handler needs (a plan repair is milliseconds, a FITS head is
/// immediate), short enough that a stuck store does not pin connections for minutes.
fn default_http_request_timeout() -> f64 {
    30.0
}

/// Room for hundreds of live-event clients plus benchmarks, far below the file
/// descriptor limit of the systemd unit.
fn default_max_connections() -> usize {
    2048
}

/// A browser tab or two, with reconnects, per person.
fn default_sse_max_per_token() -> u32 {
    16
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
            auth: false,
            tls_cert: None,
            tls_key: None,
            allow_plaintext_remote: false,
            request_timeout_s: default_http_request_timeout(),
            max_connections: default_max_connections(),
            sse_max_per_token: default_sse_max_per_token(),
            rate_limit: RateLimits::default(),
        }
    }
}

impl HttpConfig {
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
}

/// One token bucket per token: `per_s` sustained, `burst` at once. `per_s = 0`: unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_s: f64,
    pub burst: u32,
}

impl RateLimit {
    pub const UNLIMITED: RateLimit = RateLimit { per_s: 0.0, burst: 0 };

    pub fn unlimited(&self) -> bool {
        self.per_s == 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// A person with a script: a few calls a second, a page load's burst.
    #[serde(default = "default_observer_rate")]
    pub observer: RateLimit,
    /// Control panels poll more.
    #[serde(default = "default_operator_rate")]
    pub operator: RateLimit,
    /// Unlimited: admins run benchmarks and contract tests.
    #[serde(default = "default_admin_rate")]
    pub admin: RateLimit,
}

fn default_observer_rate() -> RateLimit {
    RateLimit { per_s: 5.0, burst: 30 }
}
fn default_operator_rate() -> RateLimit {
    RateLimit { per_s: 20.0, burst: 60 }
}
fn default_admin_rate() -> RateLimit {
    RateLimit::UNLIMITED
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            observer: default_observer_rate(),
            operator: default_operator_rate(),
            admin: default_admin_rate(),
        }
    }
}

impl RateLimits {
    pub fn for_role(&self, role: crate::auth::Role) -> RateLimit {
        match role {
            crate::auth::Role::Observer => self.observer,
            crate::auth::Role::Operator => self.operator,
            crate::auth::Role::Admin => self.admin,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// MQTT broker `host:port`.
    #[serde(default = "default_broker")]
    pub broker: String,
    /// Defaults to `teld-<site>`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Topics are `<topic_prefix>/<site>/...`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Real seconds between device-state publications: often enough for a live
    /// display, rare enough for a metered site link.
    #[serde(default = "default_telemetry_interval")]
    pub interval_s: f64,
    #[serde(default)]
    pub username: Option<String>,
    /// Set with `TELD__TELEMETRY__PASSWORD`, not in the file.
    #[serde(default)]
    pub password: Option<String>,
    /// MQTT over TLS (the broker's TLS listener, usually port 8883); the broker's
    /// certificate is checked against `ca_file` and the host name in `broker`.
    #[serde(default)]
    pub tls: bool,
    /// PEM file of the CA certificates to trust; default the system's bundle
    /// (`/etc/ssl/certs/ca-certificates.crt`).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

fn yes() -> bool {
    true
}
fn default_broker() -> String {
    "127.0.0.1:1883".into()
}
fn default_topic_prefix() -> String {
    "teld".into()
}
fn default_telemetry_interval() -> f64 {
    2.0
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            enabled: true,
            broker: default_broker(),
            client_id: None,
            topic_prefix: default_topic_prefix(),
            interval_s: default_telemetry_interval(),
            username: None,
            password: None,
            tls: false,
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservingConfig {
    /// Science starts when the Sun is below this: nautical twilight (−12°) is dark
    /// enough for NEO follow-up of bright targets and gains ~40 min a night over −18°.
    #[serde(default = "default_sun_altitude_max")]
    pub sun_altitude_max_deg: f64,
    /// Seconds to wait after a slew before exposing, for the mount to damp.
    #[serde(default = "default_settle")]
    pub settle_s: f64,
    /// Failed attempts before a request is retired: one glitch is retried, a
    /// request that keeps breaking something is not retried all night.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Used when neither request nor telescope says otherwise: airmass 2.
    #[serde(default = "default_min_altitude")]
    pub min_altitude_deg: f64,
    /// Sky flats are taken while the Sun is between these altitudes: bright enough to
    /// beat the bias in seconds, dark enough not to saturate a small telescope.
    #[serde(default = "default_flats_sun_altitude")]
    pub flats_sun_altitude_deg: [f64; 2],
    /// A rapid-response request (a fresh NEO, a GRB) is worth more than the minutes
    /// of lower-value work an interrupted block loses (its frames taken so far are
    /// kept): by default it aborts such a block instead of waiting for it to end.
    #[serde(default = "yes")]
    pub rapid_response_abort: bool,
}

fn default_flats_sun_altitude() -> [f64; 2] {
    [-10.0, -3.0]
}

fn default_sun_altitude_max() -> f64 {
    -12.0
}
fn default_settle() -> f64 {
    5.0
}
fn default_max_attempts() -> u32 {
    3
}
fn default_min_altitude() -> f64 {
    30.0
}

impl Default for ObservingConfig {
    fn default() -> Self {
        ObservingConfig {
            sun_altitude_max_deg: default_sun_altitude_max(),
            settle_s: default_settle(),
            max_attempts: default_max_attempts(),
            min_altitude_deg: default_min_altitude(),
            flats_sun_altitude_deg: default_flats_sun_altitude(),
            rapid_response_abort: true,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AstroConfig {
    /// An IERS `finals2000A.all`/`.data` file (or teld's CSV) newer than the bundled
    /// table; UT1−UTC and polar motion come from it.
    #[serde(default)]
    pub iers_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Simulated seconds within which the dome must be closed and the mount parked
    /// after weather turns unsafe. Rain sensors trigger at first drops; two minutes
    /// keeps optics dry for a typical clamshell or roll-off.
    #[serde(default = "default_close_within")]
    pub close_within_s: f64,
    /// After weather is safe again, wait this long before reopening: showers come in
    /// bands, and a shutter cycling every few minutes wears out and lets rain in.
    #[serde(default = "default_reopen_after")]
    pub reopen_after_safe_s: f64,
    /// Never point closer than this to the Sun while it is up.
    #[serde(default = "default_sun_avoidance")]
    pub sun_avoidance_deg: f64,
    /// Wind (m/s) at which no new block starts (`warn`); `stop` closes. Judged by
    /// teld on the reported wind, on top of the device's own safe flag. 0 turns a
    /// threshold off.
    #[serde(default = "default_wind_warn")]
    pub wind_warn_m_s: f64,
    #[serde(default = "default_wind_stop")]
    pub wind_stop_m_s: f64,
    /// Relative humidity (%) at which the site closes: dew on the optics. 0: off.
    #[serde(default = "default_humidity_stop")]
    pub humidity_stop_pct: f64,
    /// A crossed threshold clears only once the reading is this many percent below
    /// it, so a reading hovering at a limit does not cycle the dome.
    #[serde(default = "default_hysteresis")]
    pub hysteresis_pct: f64,
    /// Free space (MiB) on the archive's filesystem below which no new block starts.
    #[serde(default = "default_disk_min_free")]
    pub disk_min_free_mb: f64,
    /// How the system clock's synchronisation is checked (real clock only; a
    /// simulated clock is exact by definition). Unsynchronised means `warn`.
    #[serde(default)]
    pub clock_sync: crate::safety::ClockCheck,
    /// Largest clock error bound the kernel may report before the clock counts as
    /// unsynchronised.
    #[serde(default = "default_max_clock_error")]
    pub max_clock_error_ms: f64,
    /// A slew's path may pass closer than `sun_avoidance_deg` to the Sun only while
    /// the Sun is this far below the horizon.
    #[serde(default = "default_sun_path_margin")]
    pub sun_path_margin_deg: f64,
}

fn default_close_within() -> f64 {
    120.0
}
fn default_reopen_after() -> f64 {
    600.0
}
fn default_sun_avoidance() -> f64 {
    30.0
}
/// Typical small-telescope enclosure ratings close at 15 m/s (54 km/h); a fifth
/// below that, nothing new is started.
fn default_wind_warn() -> f64 {
    12.0
}
fn default_wind_stop() -> f64 {
    15.0
}
fn default_humidity_stop() -> f64 {
    90.0
}
fn default_hysteresis() -> f64 {
    10.0
}
/// A night of a small telescope's frames is a few GiB; below 1 GiB the next frames
/// might not fit, and a full disk loses them.
fn default_disk_min_free() -> f64 {
    1024.0
}
/// Pointing is good to arcseconds only if the clock is good to ~0.1 s; half a second
/// is already a loose bound for chrony or ntpd with a working source.
fn default_max_clock_error() -> f64 {
    500.0
}
/// 10° below the horizon: well past refraction and the scattered light of the
/// Sun's disc, so light from a path swept under the Earth cannot reach the optics.
fn default_sun_path_margin() -> f64 {
    10.0
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            close_within_s: default_close_within(),
            reopen_after_safe_s: default_reopen_after(),
            sun_avoidance_deg: default_sun_avoidance(),
            wind_warn_m_s: default_wind_warn(),
            wind_stop_m_s: default_wind_stop(),
            humidity_stop_pct: default_humidity_stop(),
            hysteresis_pct: default_hysteresis(),
            disk_min_free_mb: default_disk_min_free(),
            clock_sync: Default::default(),
            max_clock_error_ms: default_max_clock_error(),
            sun_path_margin_deg: default_sun_path_margin(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverConfig {
    /// Instance name, referenced by telescopes as `<name>/<device>`.
    pub name: String,
    /// Program to run: a path, or a bare name looked up next to `teld` and then on
    /// `PATH`. Defaults to `teld-driver-<kind>`.
    pub kind: String,
    #[serde(default)]
    pub program: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Passed to the driver in `configure`; the driver validates it.
    #[serde(default)]
    pub settings: toml::Table,
    /// Real seconds a driver has to say `hello` and answer `configure`.
    #[serde(default = "default_start_timeout")]
    pub start_timeout_s: f64,
    /// Real seconds a single request may take. Long operations (slews, exposures) are
    /// asynchronous in the protocol, so every request is quick when the device is well.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: f64,
    /// Real seconds between pings.
    #[serde(default = "default_heartbeat_interval")]
    pub heartbeat_interval_s: f64,
    /// A driver silent this long is killed and restarted.
    #[serde(default = "default_heartbeat_timeout")]
    pub heartbeat_timeout_s: f64,
    /// Restart delay doubles from this up to `restart_backoff_max_s`.
    #[serde(default = "default_backoff_initial")]
    pub restart_backoff_initial_s: f64,
    #[serde(default = "default_backoff_max")]
    pub restart_backoff_max_s: f64,
}

fn default_start_timeout() -> f64 {
    10.0
}
fn default_request_timeout() -> f64 {
    10.0
}
fn default_heartbeat_interval() -> f64 {
    1.0
}
fn default_heartbeat_timeout() -> f64 {
    5.0
}
fn default_backoff_initial() -> f64 {
    0.5
}
fn default_backoff_max() -> f64 {
    30.0
}

impl DriverConfig {
    pub fn program_name(&self) -> String {
        self.program.clone().unwrap_or_else(|| format!("teld-driver-{}", self.kind))
    }
}

impl TelescopeConfig {
    /// Every device address with the key that names it (`mount`, `camera`, …).
    pub fn device_addresses(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("mount", self.mount.as_str()),
            ("camera", self.camera.as_str()),
            ("weather", self.weather.as_str()),
        ];
        for (role, addr) in
            [("dome", &self.dome), ("filter_wheel", &self.filter_wheel), ("focuser", &self.focuser)]
        {
            if let Some(a) = addr {
                v.push((role, a.as_str()));
            }
        }
        v
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelescopeConfig {
    pub name: String,
    /// Device addresses `<driver>/<device>`.
    pub mount: String,
    pub camera: String,
    #[serde(default)]
    pub dome: Option<String>,
    pub weather: String,
    /// Filter wheel `<driver>/<device>`: the telescope turns it to each request's
    /// filter, and FITS `FILTER` is the name the wheel reports in the beam.
    #[serde(default)]
    pub filter_wheel: Option<String>,
    /// Focuser `<driver>/<device>`.
    #[serde(default)]
    pub focuser: Option<String>,
    /// Best focus, focuser steps, for a filter with offset 0. With a focuser and this
    /// set, each filter change moves the focuser to it plus the wheel's focus offset
    /// of the new filter; without it, the focuser is left where it is.
    #[serde(default)]
    pub focus_position: Option<i32>,
    /// FITS `TELESCOP`; defaults to the telescope name.
    #[serde(default)]
    pub model: Option<String>,
    /// Sky per unbinned pixel, arcseconds: with it (or `focal_length_mm`) every frame
    /// gets a WCS.
    #[serde(default)]
    pub plate_scale_arcsec: Option<f64>,
    /// Focal length, mm: the plate scale is then the camera's reported pixel size
    /// over it, unless `plate_scale_arcsec` is given.
    #[serde(default)]
    pub focal_length_mm: Option<f64>,
    /// Position angle of the detector's +y axis, degrees east of north (0: north up).
    #[serde(default)]
    pub camera_angle_deg: f64,
    /// East at +x when north is at +y (a mirror image, e.g. behind a diagonal).
    #[serde(default)]
    pub camera_flipped: bool,
    /// FITS `INSTRUME`; defaults to the camera's sensor name.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Mount limit for science blocks; overrides `observing.min_altitude_deg`.
    #[serde(default)]
    pub min_altitude_deg: Option<f64>,
    /// Local horizon: `[[azimuth, minimum altitude], ...]` in degrees, linear between
    /// points, wrapping at north (trees, buildings, the dome's slit).
    #[serde(default)]
    pub horizon: Vec<[f64; 2]>,
    /// The mount's hard limits; the interlocks refuse any pointing outside them.
    #[serde(default)]
    pub mount_limits: MountLimitsConfig,
    /// `equatorial` (default; tracks through the meridian), `german` (meridian
    /// flips) or `altaz`: how slews move, for the slew-path check and the flip.
    #[serde(default)]
    pub mount_type: super::MountType,
    /// German mounts: degrees of hour angle past the meridian the mount can track
    /// before it must flip.
    #[serde(default = "super::mount::default_meridian_limit")]
    pub meridian_limit_deg: f64,
    /// German mounts: teld flips the mount in a block that crosses the limit; with
    /// `false` such a block is refused.
    #[serde(default = "yes")]
    pub meridian_flip: bool,
    /// `dome` (default: unpark only with the shutter open) or `roll_off_park_safe`.
    #[serde(default)]
    pub enclosure: super::Enclosure,
    /// Mean slew speed in degrees per second, for the planner's transition times.
    #[serde(default = "default_slew_rate")]
    pub slew_rate_deg_s: f64,
    /// Filters requests may name. With a `filter_wheel` each must be in the wheel
    /// (by the name the device reports); without one, at most one (a fixed filter).
    #[serde(default)]
    pub filters: Vec<String>,
    /// Longest a filter change and its refocus may take, simulated seconds.
    #[serde(default = "default_filter_timeout")]
    pub filter_timeout_s: f64,
    /// Real-hardware timeouts, simulated seconds.
    #[serde(default = "default_slew_timeout")]
    pub slew_timeout_s: f64,
    #[serde(default = "default_dome_timeout")]
    pub dome_timeout_s: f64,
    /// Extra time beyond exposure + readout before an exposure counts as hung.
    #[serde(default = "default_readout_timeout")]
    pub readout_timeout_s: f64,
}

fn default_slew_rate() -> f64 {
    2.0
}

fn default_slew_timeout() -> f64 {
    300.0
}
/// A 12-slot wheel turning the long way round plus a full-travel refocus take well
/// under a minute on any small-telescope hardware; twice that is a fault.
fn default_filter_timeout() -> f64 {
    120.0
}
fn default_dome_timeout() -> f64 {
    180.0
}
fn default_readout_timeout() -> f64 {
    60.0
}

/// A parsed `<driver>/<device>` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAddress {
    pub driver: String,
    pub device: String,
}

impl DeviceAddress {
    pub fn parse(s: &str) -> Option<Self> {
        let (driver, device) = s.split_once('/')?;
        if driver.is_empty() || device.is_empty() || device.contains('/') {
            return None;
        }
        Some(DeviceAddress { driver: driver.into(), device: device.into() })
    }
}

impl std::fmt::Display for DeviceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.driver, self.device)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountLimitsConfig {
    #[serde(default)]
    pub min_alt_deg: f64,
    #[serde(default = "ha_min")]
    pub ha_min_deg: f64,
    #[serde(default = "ha_max")]
    pub ha_max_deg: f64,
    #[serde(default = "dec_min")]
    pub dec_min_deg: f64,
    #[serde(default = "dec_max")]
    pub dec_max_deg: f64,
}

fn ha_min() -> f64 {
    -180.0
}
fn ha_max() -> f64 {
    180.0
}
fn dec_min() -> f64 {
    -90.0
}
fn dec_max() -> f64 {
    90.0
}

impl Default for MountLimitsConfig {
    /// No limit beyond the horizon.
    fn default() -> Self {
        MountLimitsConfig {
            min_alt_deg: 0.0,
            ha_min_deg: ha_min(),
            ha_max_deg: ha_max(),
            dec_min_deg: dec_min(),
            dec_max_deg: dec_max(),
        }
    }
}

impl TelescopeConfig {
    /// Horizon mask and mount limits as the astronomy crate checks them. The config
    /// was validated at load time, so this cannot fail then.
    pub fn pointing_limits(
        &self,
    ) -> Result<teld_astro::horizon::PointingLimits, teld_astro::horizon::LimitError> {
        let mask = teld_astro::horizon::HorizonMask::new(
            self.horizon.iter().map(|p| (p[0], p[1])).collect(),
        )?;
        let m = &self.mount_limits;
        let mount = teld_astro::horizon::MountLimits {
            min_alt_deg: m.min_alt_deg,
            ha_min_deg: m.ha_min_deg,
            ha_max_deg: m.ha_max_deg,
            dec_min_deg: m.dec_min_deg,
            dec_max_deg: m.dec_max_deg,
        };
        mount.validate()?;
        Ok(teld_astro::horizon::PointingLimits { mask, mount })
    }

    /// The mount facts the interlocks use beyond the limits.
    pub fn mount_geometry(&self) -> super::MountGeometry {
        super::MountGeometry {
            kind: self.mount_type,
            meridian_limit_deg: self.meridian_limit_deg,
            meridian_flip: self.meridian_flip,
        }
    }
}

/// The first stage of image processing, run on every archived frame (docs/FITS.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuicklookConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A light frame that fails (clouds, trailing, defocus) does not count towards its
    /// request, and the observation is retried (up to `observing.max_attempts`).
    #[serde(default = "yes")]
    pub requeue_failed: bool,
    /// Longest side of the PNG preview: enough for a web page, ~1/4 of a 4k frame.
    #[serde(default = "default_preview_px")]
    pub preview_max_px: usize,
    /// Verdict limits; unset keys keep teld-quicklook's defaults (crates/quicklook).
    #[serde(default)]
    pub max_ellipticity: Option<f64>,
    #[serde(default)]
    pub max_fwhm_arcsec: Option<f64>,
    #[serde(default)]
    pub min_sources: Option<usize>,
}

fn default_preview_px() -> usize {
    1024
}

impl Default for QuicklookConfig {
    fn default() -> Self {
        QuicklookConfig {
            enabled: true,
            requeue_failed: true,
            preview_max_px: default_preview_px(),
            max_ellipticity: None,
            max_fwhm_arcsec: None,
            min_sources: None,
        }
    }
}

/// Where each archived frame is announced to the image pipeline (docs/FITS.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffConfig {
    /// Publish on `<topic_prefix>/<site>/frames` at the telemetry broker (needs
    /// `telemetry.enabled`).
    #[serde(default = "yes")]
    pub mqtt: bool,
    /// `http://host:port/path` to POST each frame's JSON to; unset = no webhook.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Real seconds one delivery attempt may take.
    #[serde(default = "default_handoff_timeout")]
    pub timeout_s: f64,
    /// Longest wait between retries (the wait doubles from 5 s up to this).
    #[serde(default = "default_handoff_retry_max")]
    pub retry_max_s: f64,
}

fn default_handoff_timeout() -> f64 {
    10.0
}
fn default_handoff_retry_max() -> f64 {
    300.0
}

impl Default for HandoffConfig {
    fn default() -> Self {
        HandoffConfig {
            mqtt: true,
            webhook_url: None,
            timeout_s: default_handoff_timeout(),
            retry_max_s: default_handoff_retry_max(),
        }
    }
}
