//! One connected LX200 mount: identification, initialisation (precision, site, time)
//! and the commands teld's mount calls map to, in the generic Meade set and OnStep's.
//!
//! Coordinates on this link are **JNow** — true equator and equinox of date — because
//! that is what LX200 mounts take and report. The daemon converts ICRS ↔ JNow at its
//! boundary (the state says `equatorial_system: topocentric`); this layer passes the
//! mount's own numbers through untouched. Every state is read from the mount each
//! time; nothing is cached except what the generic set cannot ask (see `park_sent`).

use hifitime::Epoch;
use teld_driver_protocol::{DeviceState, EquatorialSystem, MountState, PierSide, Site};

use crate::answers::{self, Goto};
use crate::error::Lx200Error;
use crate::port::{Port, Reply};
use crate::settings::DialectSetting;
use crate::sexagesimal::{
    Precision, format_dec, format_hours, format_offset, meade_longitude, parse_degrees, parse_hours,
};

/// The command set the mount speaks beyond reading and pointing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Meade's published set (LX200GPS/Autostar level): tracking via `:AP#`/`:AL#`
    /// and `:GW#`, slewing via `:D#`, park `:hP#`.
    Generic,
    /// OnStep: status flags `:GU#`, unpark `:hR#`, tracking `:Te#`/`:Td#`.
    OnStep,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Generic => "generic",
            Dialect::OnStep => "onstep",
        }
    }
}

/// What to tell the mount at every (re)connect.
#[derive(Debug, Clone)]
pub struct Init {
    pub dialect: DialectSetting,
    pub site: Option<Site>,
    pub time: Option<Epoch>,
}

pub struct Session {
    port: Port,
    pub dialect: Dialect,
    /// `:GVP#` and `:GVN#`, for the device description and the log.
    pub product: String,
    pub firmware: String,
    /// Generic dialect only: Meade's set has no "are you parked" query, so after an
    /// accepted `:hP#` the mount counts as parked once it reports it stopped moving,
    /// until unpark, a slew, or a reconnect. OnStep reports parking itself.
    park_sent: bool,
}

impl Session {
    /// Identifies the mount, switches it to high precision, sets site and time.
    pub async fn connect(mut port: Port, init: &Init) -> Result<Session, Lx200Error> {
        port.resync().await?;
        let product = match port.command(":GVP#", Reply::Text).await {
            Ok(p) => p.trim().to_string(),
            // A classic LX200 predates :GVP#; it is generic by definition.
            Err(e) if !e.is_gone() && init.dialect != DialectSetting::Auto => String::new(),
            Err(e) if !e.is_gone() => {
                tracing::info!("no product name from the mount ({e}); taking the generic dialect");
                String::new()
            }
            Err(e) => return Err(e),
        };
        let firmware = match port.command(":GVN#", Reply::Text).await {
            Ok(v) => v.trim().to_string(),
            Err(e) if !e.is_gone() => String::new(),
            Err(e) => return Err(e),
        };
        let dialect = match init.dialect {
            DialectSetting::Generic => Dialect::Generic,
            DialectSetting::Onstep => Dialect::OnStep,
            DialectSetting::Auto if answers::is_onstep(&product) => Dialect::OnStep,
            DialectSetting::Auto => Dialect::Generic,
        };
        let mut s = Session { port, dialect, product, firmware, park_sent: false };
        s.initialise(init).await?;
        // The status query is where dialects differ: a mount that ignores it would
        // fail every state read later, so find out now and say what to change.
        if let Err(e) = s.status().await {
            if e.is_gone() {
                return Err(e);
            }
            let other = if dialect == Dialect::OnStep { "generic" } else { "onstep" };
            return Err(s.invalid(format!(
                "does not answer the {} dialect's status query ({e}); set dialect = \"{other}\" (or \"auto\") in the driver settings",
                dialect.name()
            )));
        }
        tracing::info!(
            port = s.port.path(),
            product = s.product,
            firmware = s.firmware,
            dialect = dialect.name(),
            "mount initialised"
        );
        Ok(s)
    }

    pub fn path(&self) -> &str {
        self.port.path()
    }

    /// Precision, site and time: what a mount forgets when it loses power.
    pub async fn initialise(&mut self, init: &Init) -> Result<(), Lx200Error> {
        self.high_precision().await?;
        if let Some(site) = init.site {
            self.set_site(site).await?;
        }
        if let Some(t) = init.time {
            self.set_time(t).await?;
        }
        Ok(())
    }

    /// The mount answers again after a silence: it may have been power-cycled.
    pub fn revived(&mut self) -> bool {
        self.port.take_revived()
    }

    fn invalid(&self, what: String) -> Lx200Error {
        Lx200Error::Invalid { path: self.port.path().to_string(), what }
    }

    fn refused(&self, command: &str, why: impl Into<String>) -> Lx200Error {
        Lx200Error::Refused {
            path: self.port.path().to_string(),
            command: command.to_string(),
            why: why.into(),
        }
    }

    /// A well-framed answer that does not parse: garbage, and the line is suspect.
    fn unreadable(&mut self, command: &str, got: &str) -> Lx200Error {
        self.port.mark_dirty();
        Lx200Error::Garbage {
            path: self.port.path().to_string(),
            command: command.to_string(),
            got: got.to_string(),
        }
    }

    /// A command answered `1` (accepted) or `0` (refused).
    async fn accepted(&mut self, command: &str, why: &str) -> Result<(), Lx200Error> {
        let answer = self.port.command(command, Reply::Char).await?;
        match answers::accepted(&answer) {
            Some(true) => Ok(()),
            Some(false) => Err(self.refused(command, why)),
            None => Err(self.unreadable(command, &answer)),
        }
    }

    /// Classic mounts power up in low precision (`HH:MM.T`); `:U#` toggles it.
    async fn high_precision(&mut self) -> Result<(), Lx200Error> {
        for toggles in 0..2 {
            let text = self.port.command(":GR#", Reply::Text).await?;
            let (_, precision) = parse_hours(&text).map_err(|_| self.unreadable(":GR#", &text))?;
            if precision == Precision::High {
                return Ok(());
            }
            if toggles == 0 {
                tracing::info!(port = self.port.path(), "mount in low precision: sending :U#");
                self.port.command(":U#", Reply::Nothing).await?;
            }
        }
        Err(self.invalid(
            "stays in low precision after :U#; switch it to high precision on its hand controller (Meade: hold MODE)".into(),
        ))
    }

    /// Latitude (north positive) and longitude (Meade: **west** positive).
    pub async fn set_site(&mut self, site: Site) -> Result<(), Lx200Error> {
        let lat = format!(":St{}#", format_dec(site.latitude_deg, Precision::Low, ':'));
        self.accepted(&lat, "check the site latitude in teld's [site]").await?;
        let long = format!(":Sg{}#", meade_longitude(site.longitude_deg));
        self.accepted(&long, "check the site longitude in teld's [site]").await
    }

    /// The mount's clock to `utc`: UTC offset 0, then local time = UTC and the date.
    pub async fn set_time(&mut self, utc: Epoch) -> Result<(), Lx200Error> {
        let mut utc = utc;
        let p = teld_astro::time::utc_parts(utc);
        if p.hour == 23 && p.minute == 59 && p.second >= 58 {
            // Time and date are two commands: never straddle midnight between them.
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            utc += hifitime::Duration::from_seconds(3.0);
        }
        let p = teld_astro::time::utc_parts(utc);
        self.accepted(&format!(":SG{}#", format_offset(0.0)), "check the mount's firmware").await?;
        let time = format!(":SL{:02}:{:02}:{:02}#", p.hour, p.minute, p.second.min(59));
        self.accepted(&time, "check teld's clock").await?;
        let date = format!(":SC{:02}/{:02}/{:02}#", p.month, p.day, p.year.rem_euclid(100));
        let strings = if self.dialect == Dialect::Generic { 2 } else { 0 };
        let answer = self.port.command(&date, Reply::Date { strings }).await?;
        match answers::accepted(&answer) {
            Some(true) => Ok(()),
            Some(false) => {
                Err(self.refused(&date, "check teld's clock (the mount takes 2000–2099)"))
            }
            None => Err(self.unreadable(&date, &answer)),
        }
    }

    async fn hours(&mut self, command: &str) -> Result<f64, Lx200Error> {
        let text = self.port.command(command, Reply::Text).await?;
        parse_hours(&text).map(|(h, _)| h).map_err(|_| self.unreadable(command, &text))
    }

    async fn degrees(&mut self, command: &str) -> Result<f64, Lx200Error> {
        let text = self.port.command(command, Reply::Text).await?;
        parse_degrees(&text).map(|(d, _)| d).map_err(|_| self.unreadable(command, &text))
    }

    /// `(tracking, slewing, parked)` as the mount reports them.
    async fn status(&mut self) -> Result<(bool, bool, bool), Lx200Error> {
        match self.dialect {
            Dialect::OnStep => {
                let flags = self.port.command(":GU#", Reply::Text).await?;
                answers::onstep_status(&flags).ok_or_else(|| self.unreadable(":GU#", &flags))
            }
            Dialect::Generic => {
                let bars = self.port.command(":D#", Reply::Text).await?;
                let slewing = answers::meade_slewing(&bars);
                let w = self.port.command(":GW#", Reply::Text).await?;
                let tracking =
                    answers::meade_tracking(&w).ok_or_else(|| self.unreadable(":GW#", &w))?;
                Ok((tracking, slewing, self.park_sent && !slewing))
            }
        }
    }

    pub async fn state(&mut self) -> Result<DeviceState, Lx200Error> {
        // Status before position: the reads are ~70 ms apart at 9600 baud, and a
        // slew that ends between them must not be reported finished at a position
        // read mid-way. Read in this order, "not slewing" vouches for what follows.
        let (tracking, slewing, at_park) = self.status().await?;
        let right_ascension = self.hours(":GR#").await?;
        let declination = self.degrees(":GD#").await?;
        let altitude = self.degrees(":GA#").await?;
        let azimuth = self.degrees(":GZ#").await?;
        let side_of_pier = self.pier_side().await?;
        Ok(DeviceState::Mount(MountState {
            connected: true,
            right_ascension,
            declination,
            altitude,
            azimuth,
            tracking,
            slewing,
            at_park,
            side_of_pier,
            equatorial_system: EquatorialSystem::Topocentric,
        }))
    }

    /// OnStep `:Gm#` answers `E`, `W` or `N` (none: an alt-az or fork mount, or not
    /// known); the generic Meade set has no such command.
    async fn pier_side(&mut self) -> Result<PierSide, Lx200Error> {
        if self.dialect != Dialect::OnStep {
            return Ok(PierSide::Unknown);
        }
        let text = self.port.command(":Gm#", Reply::Text).await?;
        match text.trim() {
            "E" => Ok(PierSide::East),
            "W" => Ok(PierSide::West),
            "N" | "?" => Ok(PierSide::Unknown),
            _ => Err(self.unreadable(":Gm#", &text)),
        }
    }

    pub async fn parked(&mut self) -> Result<bool, Lx200Error> {
        Ok(self.status().await?.2)
    }

    async fn set_target(&mut self, ra_h: f64, dec_deg: f64) -> Result<(), Lx200Error> {
        let ra = format!(":Sr{}#", format_hours(ra_h, Precision::High));
        self.accepted(&ra, "right ascension out of range").await?;
        let dec = format!(":Sd{}#", format_dec(dec_deg, Precision::High, ':'));
        self.accepted(&dec, "declination out of range or outside the mount's limits").await
    }

    /// Starts a slew to JNow coordinates; completion is `slewing == false`.
    pub async fn slew(&mut self, ra_h: f64, dec_deg: f64) -> Result<(), Lx200Error> {
        if self.parked().await? {
            return Err(self.refused(":MS#", "the mount is parked: unpark it first"));
        }
        self.set_target(ra_h, dec_deg).await?;
        let answer = self.port.command(":MS#", Reply::Goto).await?;
        match answers::goto(&answer) {
            Some(Goto::Started) => {
                self.park_sent = false;
                Ok(())
            }
            Some(Goto::BelowHorizon(m)) => {
                Err(self.refused(":MS#", format!("target below the horizon ({m})")))
            }
            Some(Goto::Refused(d, m)) => Err(self.refused(":MS#", format!("error {d} ({m})"))),
            None => Err(self.unreadable(":MS#", &answer)),
        }
    }

    /// Tells the mount it points at these JNow coordinates (`:CM#`).
    pub async fn sync(&mut self, ra_h: f64, dec_deg: f64) -> Result<(), Lx200Error> {
        self.set_target(ra_h, dec_deg).await?;
        self.port.command(":CM#", Reply::Text).await.map(drop)
    }

    pub async fn abort(&mut self) -> Result<(), Lx200Error> {
        self.port.command(":Q#", Reply::Nothing).await.map(drop)
    }

    pub async fn park(&mut self) -> Result<(), Lx200Error> {
        match self.dialect {
            Dialect::OnStep => {
                if !self.parked().await? {
                    self.accepted(":hP#", "no park position set, or the mount is moving").await?;
                }
            }
            Dialect::Generic => {
                self.port.command(":hP#", Reply::Nothing).await?;
                self.park_sent = true;
            }
        }
        Ok(())
    }

    pub async fn unpark(&mut self) -> Result<(), Lx200Error> {
        match self.dialect {
            Dialect::OnStep => {
                if self.parked().await? {
                    self.accepted(":hR#", "the mount cannot unpark (is it homed?)").await?;
                }
            }
            // Meade's set has no unpark: the mount takes commands again as it is.
            Dialect::Generic => self.park_sent = false,
        }
        Ok(())
    }

    pub async fn set_tracking(&mut self, on: bool) -> Result<(), Lx200Error> {
        match (self.dialect, on) {
            (Dialect::OnStep, true) => {
                self.accepted(":Te#", "the mount is parked or not aligned").await
            }
            (Dialect::OnStep, false) => self.accepted(":Td#", "the mount refused").await,
            (Dialect::Generic, true) => self.port.command(":AP#", Reply::Nothing).await.map(drop),
            (Dialect::Generic, false) => self.port.command(":AL#", Reply::Nothing).await.map(drop),
        }
    }
}
