//! Weather thresholds, judged by teld on the readings the device reports, on top of
//! the device's own safe/unsafe flag. Each threshold has hysteresis: once crossed it
//! holds until the reading falls `hysteresis_pct` below it, so wind gusting around a
//! limit does not open and close the dome every minute.

use teld_driver_protocol::WeatherState;

use super::{Concern, SafetyLevel};
use crate::config::SafetyConfig;

/// One reading's thresholds, mildest first.
struct Thresholds {
    name: &'static str,
    warn: Option<f64>,
    stop: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct WeatherJudge {
    wind_warn: Option<f64>,
    wind_stop: Option<f64>,
    humidity_stop: Option<f64>,
    /// Fraction of a limit the reading must fall below it to clear.
    hysteresis: f64,
    /// What each reading's thresholds said last time (for the hysteresis).
    wind: SafetyLevel,
    humidity: SafetyLevel,
}

impl WeatherJudge {
    pub fn new(cfg: &SafetyConfig) -> Self {
        WeatherJudge {
            wind_warn: on(cfg.wind_warn_m_s),
            wind_stop: on(cfg.wind_stop_m_s),
            humidity_stop: on(cfg.humidity_stop_pct),
            hysteresis: cfg.hysteresis_pct / 100.0,
            wind: SafetyLevel::Safe,
            humidity: SafetyLevel::Safe,
        }
    }

    /// The concerns in one report. Unknown counts as unsafe: a sensor that is not
    /// connected is a `stop`, whatever its last numbers were.
    pub fn judge(&mut self, w: &WeatherState) -> Vec<Concern> {
        if !w.connected {
            return vec![Concern::new(SafetyLevel::Stop, "weather sensor not connected")];
        }
        let mut out = Vec::new();
        // Water on the optics is the one thing that cannot wait for a park: close first.
        if w.rain_rate.is_some_and(|r| r > 0.0) {
            out.push(Concern::new(SafetyLevel::Emergency, "rain"));
        } else if !w.is_safe {
            out.push(Concern::new(SafetyLevel::Stop, "safety monitor reports unsafe"));
        }
        let wind = Thresholds { name: "wind", warn: self.wind_warn, stop: self.wind_stop };
        self.wind = self.grade(&wind, w.wind_speed, self.wind);
        let humidity = Thresholds { name: "humidity", warn: None, stop: self.humidity_stop };
        self.humidity = self.grade(&humidity, w.humidity, self.humidity);
        for (t, level) in [(&wind, self.wind), (&humidity, self.humidity)] {
            match level {
                SafetyLevel::Safe => {}
                SafetyLevel::Warn => {
                    out.push(Concern::new(level, format!("{} near its limit", t.name)))
                }
                _ => out.push(Concern::new(level, format!("{} above its limit", t.name))),
            }
        }
        out
    }

    /// The level a reading reaches: a threshold crossed now, or crossed before and not
    /// yet cleared by the hysteresis margin. A missing reading keeps the last level:
    /// a sensor that stops reporting one quantity must not clear its alarm.
    fn grade(&self, t: &Thresholds, value: Option<f64>, before: SafetyLevel) -> SafetyLevel {
        let Some(v) = value else { return before };
        let mut level = SafetyLevel::Safe;
        for (at, limit) in [(SafetyLevel::Warn, t.warn), (SafetyLevel::Stop, t.stop)] {
            let Some(limit) = limit else { continue };
            let holds = before >= at && v > limit * (1.0 - self.hysteresis);
            if v >= limit || holds {
                level = at;
            }
        }
        level
    }
}

/// 0 turns a threshold off.
fn on(limit: f64) -> Option<f64> {
    (limit > 0.0).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(wind: f64, humidity: f64) -> WeatherState {
        WeatherState {
            connected: true,
            is_safe: true,
            cloud_cover: None,
            humidity: Some(humidity),
            rain_rate: Some(0.0),
            wind_speed: Some(wind),
            temperature: None,
            pressure: None,
            sky_quality: None,
        }
    }

    fn judge() -> WeatherJudge {
        let cfg = SafetyConfig {
            wind_warn_m_s: 10.0,
            wind_stop_m_s: 15.0,
            humidity_stop_pct: 90.0,
            hysteresis_pct: 10.0,
            ..SafetyConfig::default()
        };
        WeatherJudge::new(&cfg)
    }

    fn level(j: &mut WeatherJudge, w: &WeatherState) -> SafetyLevel {
        super::super::Verdict::of(j.judge(w)).level
    }

    #[test]
    fn wind_is_graded_with_hysteresis_both_ways() {
        let mut j = judge();
        assert_eq!(level(&mut j, &report(9.9, 50.0)), SafetyLevel::Safe);
        assert_eq!(level(&mut j, &report(10.0, 50.0)), SafetyLevel::Warn);
        assert_eq!(level(&mut j, &report(15.5, 50.0)), SafetyLevel::Stop);
        // Gusting just under the limit holds the stop (15 × 0.9 = 13.5)...
        assert_eq!(level(&mut j, &report(14.0, 50.0)), SafetyLevel::Stop);
        // ...until it falls below the margin; then the warn band's own hysteresis.
        assert_eq!(level(&mut j, &report(13.4, 50.0)), SafetyLevel::Warn);
        assert_eq!(level(&mut j, &report(9.5, 50.0)), SafetyLevel::Warn);
        assert_eq!(level(&mut j, &report(8.9, 50.0)), SafetyLevel::Safe);
        // Rising again needs the limit itself, not the margin.
        assert_eq!(level(&mut j, &report(9.5, 50.0)), SafetyLevel::Safe);
    }

    #[test]
    fn humidity_rain_and_the_device_flag() {
        let mut j = judge();
        let v = super::super::Verdict::of(j.judge(&report(3.0, 91.0)));
        assert_eq!((v.level, v.reason.as_str()), (SafetyLevel::Stop, "humidity above its limit"));
        assert_eq!(level(&mut j, &report(3.0, 85.0)), SafetyLevel::Stop, "81 clears, 85 holds");
        assert_eq!(level(&mut j, &report(3.0, 80.0)), SafetyLevel::Safe);
        let mut wet = report(3.0, 80.0);
        wet.rain_rate = Some(2.0);
        wet.is_safe = false;
        let v = super::super::Verdict::of(j.judge(&wet));
        assert_eq!((v.level, v.reason.as_str()), (SafetyLevel::Emergency, "rain"));
        let mut flagged = report(3.0, 50.0);
        flagged.is_safe = false;
        assert_eq!(level(&mut j, &flagged), SafetyLevel::Stop);
        flagged.connected = false;
        flagged.is_safe = true;
        assert_eq!(level(&mut j, &flagged), SafetyLevel::Stop, "unknown is unsafe");
    }

    #[test]
    fn a_reading_that_goes_missing_keeps_its_alarm() {
        let mut j = judge();
        assert_eq!(level(&mut j, &report(16.0, 50.0)), SafetyLevel::Stop);
        let mut blind = report(0.0, 50.0);
        blind.wind_speed = None;
        assert_eq!(level(&mut j, &blind), SafetyLevel::Stop);
    }
}
