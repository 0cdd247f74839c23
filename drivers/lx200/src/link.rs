//! The mount's serial link over time: one command in flight at a time, the port
//! dropped when it fails, and a background task that reopens it with backoff and
//! initialises the mount again (precision, site, time) — a USB adapter unplugged and
//! plugged back is a fault for a while, never a crash.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use teld_driver_protocol::{ClockSync, DriverClock, Site};
use tokio::sync::{Mutex, MutexGuard, Notify};

use crate::error::Lx200Error;
use crate::mount::{Init, Session};
use crate::port::Port;
use crate::settings::Settings;

/// With teld's clock at a speed other than 1 the mount's own clock drifts from it;
/// set it again this often (real time), so its sidereal time, alt/az and horizon
/// check stay near teld's. Three short commands every 10 s cost the line ~0.5 %.
const CLOCK_RESET_INTERVAL: Duration = Duration::from_secs(10);

/// First pause before reopening a vanished port: a replugged adapter needs a moment
/// for udev to create its node again.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);

pub struct Link {
    settings: Settings,
    site: Site,
    clock: StdMutex<DriverClock>,
    /// The connected mount, or `None` while the port is gone. Holding the lock is
    /// holding the line: commands and their answers never interleave.
    session: Mutex<Option<Session>>,
    /// Why the link is down, for the errors calls get meanwhile.
    last_error: StdMutex<String>,
    lost: Notify,
    /// When the mount's clock was last set (real time).
    time_set: StdMutex<std::time::Instant>,
}

/// The line, held for one or more commands.
pub struct Held<'a> {
    link: &'a Link,
    guard: MutexGuard<'a, Option<Session>>,
}

impl Held<'_> {
    pub fn session(&mut self) -> &mut Session {
        // `Link::hold` only hands out a guard with a session in it.
        self.guard.as_mut().expect("held link has a session")
    }

    /// Passes a result through; a port that failed is dropped and reconnected.
    pub fn check<T>(&mut self, r: Result<T, Lx200Error>) -> Result<T, Lx200Error> {
        if let Err(e) = &r
            && e.is_gone()
        {
            tracing::warn!("{e}");
            *self.guard = None;
            *self.link.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
            self.link.lost.notify_one();
        }
        r
    }
}

impl Link {
    /// Opens the port and initialises the mount; failing that, configure fails (the
    /// daemon restarts the driver with backoff).
    pub async fn connect(
        settings: Settings,
        site: Site,
        clock: ClockSync,
    ) -> Result<Arc<Link>, Lx200Error> {
        let link = Arc::new(Link {
            settings,
            site,
            clock: StdMutex::new(DriverClock::new(clock)),
            session: Mutex::new(None),
            last_error: StdMutex::new(String::new()),
            lost: Notify::new(),
            time_set: StdMutex::new(std::time::Instant::now()),
        });
        let session = link.open().await?;
        *link.session.lock().await = Some(session);
        // The task holds the link for the life of the process, as the driver does.
        tokio::spawn(reconnect(link.clone()));
        Ok(link)
    }

    fn init(&self) -> Init {
        let now = self.clock.lock().unwrap_or_else(|p| p.into_inner()).now();
        Init {
            dialect: self.settings.dialect,
            site: self.settings.set_site.then_some(self.site),
            time: self.settings.set_time.then_some(now),
        }
    }

    async fn open(&self) -> Result<Session, Lx200Error> {
        let s = &self.settings;
        let port = Port::open(&s.port, s.baud, s.timeout())?;
        Session::connect(port, &self.init()).await
    }

    pub fn path(&self) -> &str {
        &self.settings.port
    }

    /// The line, or why there is none.
    pub async fn hold(&self) -> Result<Held<'_>, Lx200Error> {
        let guard = self.session.lock().await;
        if guard.is_none() {
            return Err(Lx200Error::Disconnected {
                path: self.settings.port.clone(),
                last: self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            });
        }
        let mut held = Held { link: self, guard };
        if held.session().revived() {
            tracing::info!(
                port = self.path(),
                "the mount answers again after a silence: initialising it again (it may have been power-cycled)"
            );
            let r = held.session().initialise(&self.init()).await;
            held.check(r)?;
        }
        Ok(held)
    }

    /// The daemon's clock changed: follow it, and tell the mount.
    pub async fn set_clock(&self, sync: ClockSync) {
        self.clock.lock().unwrap_or_else(|p| p.into_inner()).sync(sync);
        self.send_time().await;
    }

    /// Sets the mount's clock again when teld's runs at another speed and the last
    /// setting is older than [`CLOCK_RESET_INTERVAL`].
    pub async fn follow_clock(&self) {
        let speed = self.clock.lock().unwrap_or_else(|p| p.into_inner()).speed();
        let last = *self.time_set.lock().unwrap_or_else(|p| p.into_inner());
        if (speed - 1.0).abs() > 1e-9 && last.elapsed() >= CLOCK_RESET_INTERVAL {
            self.send_time().await;
        }
    }

    async fn send_time(&self) {
        if !self.settings.set_time {
            return;
        }
        *self.time_set.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        let now = self.clock.lock().unwrap_or_else(|p| p.into_inner()).now();
        match self.hold().await {
            Ok(mut held) => {
                let r = held.session().set_time(now).await;
                if let Err(e) = held.check(r) {
                    tracing::warn!("could not set the mount's clock: {e}");
                }
            }
            // Set at the next reconnect.
            Err(e) => tracing::info!("mount clock not set now: {e}"),
        }
    }
}

/// Reopens the port whenever it is lost, backing off while it stays gone.
async fn reconnect(l: Arc<Link>) {
    loop {
        l.lost.notified().await;
        let mut delay = RECONNECT_FIRST;
        loop {
            tokio::time::sleep(delay).await;
            match l.open().await {
                Ok(session) => {
                    tracing::info!(port = l.path(), "mount reconnected and initialised");
                    *l.session.lock().await = Some(session);
                    break;
                }
                Err(e) => {
                    tracing::debug!("reconnect failed: {e}");
                    *l.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
                    let max = Duration::from_secs_f64(l.settings.reconnect_max_s);
                    delay = (delay * 2).min(max);
                }
            }
        }
    }
}
