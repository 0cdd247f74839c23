//! The emulated mount itself: an equatorial mount with its own clock and site, that
//! slews at a finite rate in hour angle and declination, tracks at the sidereal rate,
//! parks at the pole, and computes altitude/azimuth from JNow RA/Dec and its local
//! sidereal time (teld-astro's GMST: a few arcseconds, plenty for a simulation).

use std::time::Instant;

use hifitime::{Duration, Epoch};
use teld_astro::sidereal::{jd_utc, lmst_deg};

/// The mount's clock: what it was last told, running on from there in real time.
#[derive(Debug, Clone)]
pub struct MountClock {
    anchor_utc: Epoch,
    anchor: Instant,
    /// Meade's `:SG`: hours added to local time to give UTC.
    pub utc_offset_h: f64,
}

impl MountClock {
    pub fn system() -> MountClock {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        MountClock {
            anchor_utc: teld_astro::time::from_unix_seconds(unix),
            anchor: Instant::now(),
            utc_offset_h: 0.0,
        }
    }

    pub fn utc(&self) -> Epoch {
        self.anchor_utc + Duration::from_seconds(self.anchor.elapsed().as_secs_f64())
    }

    pub fn local(&self) -> Epoch {
        self.utc() - Duration::from_seconds(self.utc_offset_h * 3600.0)
    }

    fn set_local(&mut self, local: Epoch) {
        self.anchor_utc = local + Duration::from_seconds(self.utc_offset_h * 3600.0);
        self.anchor = Instant::now();
    }

    /// `:SL`: local time of day, keeping the local date.
    pub fn set_local_time(&mut self, h: u32, m: u32, s: u32) -> bool {
        let p = teld_astro::time::utc_parts(self.local());
        match teld_astro::time::utc(p.year, p.month, p.day, h, m, f64::from(s)) {
            Ok(e) => {
                self.set_local(e);
                true
            }
            Err(_) => false,
        }
    }

    /// `:SC`: local date, keeping the local time of day.
    pub fn set_local_date(&mut self, year: i32, month: u32, day: u32) -> bool {
        let p = teld_astro::time::utc_parts(self.local());
        let sec = f64::from(p.second.min(59)) + f64::from(p.nanos) * 1e-9;
        match teld_astro::time::utc(year, month, day, p.hour, p.minute, sec) {
            Ok(e) => {
                self.set_local(e);
                true
            }
            Err(_) => false,
        }
    }
}

/// Where a slew is going.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Goto {
    /// JNow RA (degrees) and Dec: the hour angle to reach moves with the sky.
    Sky {
        ra_deg: f64,
        dec_deg: f64,
    },
    Park,
}

/// The park position: pointing at the celestial pole, counterweights down.
const PARK_HA_DEG: f64 = 0.0;
const PARK_DEC_DEG: f64 = 90.0;

#[derive(Debug, Clone)]
pub struct Model {
    pub clock: MountClock,
    pub latitude_deg: f64,
    /// As Meade keeps it: degrees **west** of Greenwich.
    pub longitude_west_deg: f64,
    /// Mechanical position: hour angle and declination, degrees.
    ha_deg: f64,
    dec_deg: f64,
    pub tracking: bool,
    pub parked: bool,
    pub high_precision: bool,
    /// The target of `:Sr`/`:Sd`, RA hours and Dec degrees.
    pub target: (f64, f64),
    /// OnStep `:Gm#`: the pier side the last goto chose ('E' looking west of the
    /// meridian, 'W' looking east), as a German mount reports it.
    pub pier_side: char,
    goto: Option<Goto>,
    /// Fault: the next this many gotos end 0.5° short in declination, reported done.
    pub stop_short: u32,
    slew_rate_deg_s: f64,
    last: Instant,
    last_lst: f64,
}

fn wrap180(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

impl Model {
    pub fn new(latitude_deg: f64, longitude_west_deg: f64, slew_rate_deg_s: f64) -> Model {
        let clock = MountClock::system();
        let mut m = Model {
            clock,
            latitude_deg,
            longitude_west_deg,
            ha_deg: PARK_HA_DEG,
            dec_deg: PARK_DEC_DEG,
            tracking: false,
            parked: false,
            high_precision: false,
            target: (0.0, 0.0),
            pier_side: 'E',
            goto: None,
            stop_short: 0,
            slew_rate_deg_s,
            last: Instant::now(),
            last_lst: 0.0,
        };
        m.last_lst = m.lst_deg();
        m
    }

    /// Local apparent-enough sidereal time from the mount's own clock and site.
    pub fn lst_deg(&self) -> f64 {
        lmst_deg(jd_utc(self.clock.utc()), -self.longitude_west_deg)
    }

    /// Moves the mount to now: slew progress, or tracking with the sky.
    pub fn step(&mut self) {
        let now = Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        let lst = self.lst_deg();
        let dlst = wrap180(lst - self.last_lst);
        self.last_lst = lst;
        match self.goto {
            Some(goto) => {
                let (ha, dec) = match goto {
                    Goto::Sky { ra_deg, dec_deg } => (wrap180(lst - ra_deg), dec_deg),
                    Goto::Park => (PARK_HA_DEG, PARK_DEC_DEG),
                };
                let step = self.slew_rate_deg_s * dt;
                let toward = |from: f64, to: f64| from + (to - from).clamp(-step, step);
                self.ha_deg = toward(self.ha_deg, ha);
                self.dec_deg = toward(self.dec_deg, dec);
                if self.ha_deg == ha && self.dec_deg == dec {
                    self.goto = None;
                    if goto == Goto::Park {
                        self.parked = true;
                        self.tracking = false;
                    }
                }
            }
            None if self.tracking => self.ha_deg = wrap180(self.ha_deg + dlst),
            None => {}
        }
    }

    pub fn slewing(&self) -> bool {
        self.goto.is_some()
    }

    pub fn parking(&self) -> bool {
        self.goto == Some(Goto::Park)
    }

    /// JNow right ascension in hours and declination in degrees.
    pub fn ra_dec(&self) -> (f64, f64) {
        ((self.lst_deg() - self.ha_deg).rem_euclid(360.0) / 15.0, self.dec_deg)
    }

    /// Altitude and azimuth (north through east) of an hour angle and declination.
    pub fn alt_az_of(&self, ha_deg: f64, dec_deg: f64) -> (f64, f64) {
        let (h, d, phi) =
            (ha_deg.to_radians(), dec_deg.to_radians(), self.latitude_deg.to_radians());
        let sin_alt = phi.sin() * d.sin() + phi.cos() * d.cos() * h.cos();
        let az = (-d.cos() * h.sin()).atan2(d.sin() * phi.cos() - d.cos() * h.cos() * phi.sin());
        (sin_alt.clamp(-1.0, 1.0).asin().to_degrees(), az.to_degrees().rem_euclid(360.0))
    }

    pub fn alt_az(&self) -> (f64, f64) {
        self.alt_az_of(self.ha_deg, self.dec_deg)
    }

    /// `:MS#`: `Ok` if the slew started, else Meade's refusal digit and message.
    pub fn goto_target(&mut self) -> Result<(), (char, &'static str)> {
        let (ra_h, dec) = self.target;
        let ha = wrap180(self.lst_deg() - ra_h * 15.0);
        if self.alt_az_of(ha, dec).0 < 0.0 {
            return Err(('1', "Object Below Horizon"));
        }
        let dec_deg = if self.stop_short > 0 {
            self.stop_short -= 1;
            dec - 0.5_f64.copysign(dec - self.dec_deg)
        } else {
            dec
        };
        self.goto = Some(Goto::Sky { ra_deg: ra_h * 15.0, dec_deg });
        self.pier_side = if ha < 0.0 { 'W' } else { 'E' };
        Ok(())
    }

    pub fn park(&mut self) {
        if !self.parked {
            self.goto = Some(Goto::Park);
        }
    }

    pub fn abort(&mut self) {
        self.goto = None;
    }

    /// `:CM#`: the mount now believes it points at the target.
    pub fn sync(&mut self) {
        let (ra_h, dec) = self.target;
        self.ha_deg = wrap180(self.lst_deg() - ra_h * 15.0);
        self.dec_deg = dec;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_az_of_meridian_pole_and_west() {
        let m = Model::new(28.76, 17.88, 5.0);
        let (alt, az) = m.alt_az_of(0.0, 0.0);
        assert!((alt - (90.0 - 28.76)).abs() < 1e-9 && (az - 180.0).abs() < 1e-9, "{alt} {az}");
        let (alt, az) = m.alt_az_of(0.0, 90.0);
        assert!((alt - 28.76).abs() < 1e-9 && az.abs() < 1e-9, "{alt} {az}");
        let (_, az) = m.alt_az_of(45.0, 10.0);
        assert!(az > 180.0 && az < 360.0, "positive hour angle is west: {az}");
    }
}
