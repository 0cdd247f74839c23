//! Things that happened, for subscribers (MQTT now, server-sent events later).

use hifitime::Epoch;
use serde::Serialize;

use crate::model::{FrameId, ObservationId, RequestId, RequestState};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RequestState {
        request_id: RequestId,
        state: RequestState,
        detail: Option<String>,
        #[serde(with = "teld_driver_protocol::time::utc")]
        at: Epoch,
    },
    Observation {
        telescope: String,
        request_id: RequestId,
        observation_id: ObservationId,
        phase: ObservationPhase,
        detail: Option<String>,
        #[serde(with = "teld_driver_protocol::time::utc")]
        at: Epoch,
    },
    /// A frame registered in the store. Frames teld takes always carry both ids;
    /// a frame from the inbox that matched no observation has them `null`.
    Frame {
        telescope: String,
        request_id: Option<RequestId>,
        observation_id: Option<ObservationId>,
        frame_id: FrameId,
        /// Relative to the archive root.
        path: String,
        source: FrameSource,
        #[serde(with = "teld_driver_protocol::time::utc")]
        at: Epoch,
    },
    Safety {
        telescope: String,
        safe: bool,
        level: crate::safety::SafetyLevel,
        reason: Option<String>,
        #[serde(with = "teld_driver_protocol::time::utc")]
        at: Epoch,
    },
    Driver {
        driver: String,
        /// `up`, `down`, `restarting`.
        status: String,
        detail: Option<String>,
        #[serde(with = "teld_driver_protocol::time::utc")]
        at: Epoch,
    },
    Alert {
        source: String,
        message: String,
        #[serde(with = "teld_driver_protocol::time::utc")]
        at: Epoch,
    },
}

impl Event {
    /// Short name, used as the last MQTT topic level.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RequestState { .. } => "request",
            Event::Observation { .. } => "observation",
            Event::Frame { .. } => "frame",
            Event::Safety { .. } => "safety",
            Event::Driver { .. } => "driver",
            Event::Alert { .. } => "alert",
        }
    }
}

/// Who wrote a frame's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameSource {
    /// teld itself, from a camera it drives.
    Teld,
    /// Other capture software, through the inbox folder.
    Inbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationPhase {
    Started,
    Completed,
    /// Stopped by weather, dawn or an operator; the request goes back to the queue.
    Aborted,
    /// A device or driver failed; counts as an attempt.
    Failed,
}
