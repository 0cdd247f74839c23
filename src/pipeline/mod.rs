//! After a frame is archived: the quick-look (first stage of image processing), the
//! preview, and the handoff to the image pipeline over MQTT and a webhook.
//!
//! Durability comes from the store, not from memory: a frame's quick-look row and its
//! handoff rows are written in one transaction, and each sink's [`dispatch`] loop
//! delivers what the `handoffs` table says is undelivered, so a restart resumes where
//! the last run stopped and every frame is delivered at least once.
//!
//! The frame writer assesses its own frames at once (the block's outcome depends on
//! the verdict); [`worker`] catches up on any frame without a quick-look — frames from
//! the inbox, or one whose writer was killed between the two commits.

mod dispatch;
mod message;
mod mqtt_sink;
mod quality;
mod webhook;
mod worker;

pub use dispatch::{Dispatcher, Sink};
pub use mqtt_sink::MqttSink;
pub use quality::{HeaderFacts, preview_name};
pub use webhook::{WebhookSink, WebhookTarget};
pub use worker::Pipeline;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(
        "cannot read archived frame {path}: {source}; check the archive's disk and permissions"
    )]
    Io { path: String, source: std::io::Error },
    #[error("frame {0} is not in the store")]
    NoSuchFrame(i64),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the quick-look task failed: {0}")]
    Task(String),
}

/// Sink names as stored in `handoffs.sink`.
pub const SINK_MQTT: &str = "mqtt";
pub const SINK_WEBHOOK: &str = "webhook";
