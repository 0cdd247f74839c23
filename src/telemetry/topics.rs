//! The topic tree of one site, `<topic_prefix>/<site>/...`, in one place so the
//! publisher, the tests and `docs/mqtt-telemetry.md` cannot drift apart.

use super::TelemetryError;

/// Topic names under `<topic_prefix>/<site>/`.
#[derive(Debug, Clone)]
pub struct Topics {
    base: String,
}

/// The per-telescope topics, in the order they are published each interval.
pub const TELESCOPE_PARTS: [&str; 9] = [
    "mount",
    "camera",
    "dome",
    "weather",
    "filter_wheel",
    "focuser",
    "safety",
    "block",
    "activity",
];

impl Topics {
    /// Refuses wildcards and empty levels up front: rumqttc rejects such a topic on every
    /// publish with the same error as a full queue, which would look like a stall.
    pub fn new(prefix: &str, site: &str) -> Result<Self, TelemetryError> {
        let base = format!("{prefix}/{site}");
        let levels_ok = !prefix.is_empty() && !site.is_empty() && !site.contains('/');
        if !levels_ok || !rumqttc::valid_topic(&base) {
            return Err(TelemetryError::BadTopic { topic: base });
        }
        Ok(Topics { base })
    }

    /// `<prefix>/<site>`, for subscribing to everything with `<base>/#`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Retained online/offline status, also the last will.
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// `telescopes/<name>/<part>`, `part` one of [`TELESCOPE_PARTS`].
    pub fn telescope(&self, name: &str, part: &str) -> String {
        format!("{}/telescopes/{name}/{part}", self.base)
    }

    pub fn driver(&self, name: &str) -> String {
        format!("{}/drivers/{name}", self.base)
    }

    /// `events/<kind>`, `kind` from [`crate::core::Event::kind`].
    pub fn event(&self, kind: &str) -> String {
        format!("{}/events/{kind}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_sit_under_prefix_and_site() {
        let t = Topics::new("teld", "lapalma").unwrap();
        assert_eq!(t.status(), "teld/lapalma/status");
        assert_eq!(t.telescope("t1", "mount"), "teld/lapalma/telescopes/t1/mount");
        assert_eq!(t.driver("sim"), "teld/lapalma/drivers/sim");
        assert_eq!(t.event("frame"), "teld/lapalma/events/frame");
    }

    #[test]
    fn a_multi_level_prefix_is_fine() {
        let t = Topics::new("obs/north", "s1").unwrap();
        assert_eq!(t.base(), "obs/north/s1");
    }

    #[test]
    fn wildcards_and_empty_levels_are_refused() {
        for (prefix, site) in
            [("te+ld", "s"), ("teld", "s#"), ("", "s"), ("teld", ""), ("t", "a/b")]
        {
            assert!(Topics::new(prefix, site).is_err(), "{prefix:?} {site:?}");
        }
    }
}
