//! Assessing frames and queueing their handoffs, for the frame writer (one frame, at
//! once) and as a background catch-up over every frame that has no quick-look yet.

use std::path::PathBuf;
use std::sync::Arc;

use hifitime::Duration;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::quality::{Assessed, assess};
use super::{PipelineError, message};
use crate::clock::Clock;
use crate::config::QuicklookConfig;
use crate::core::Event;
use crate::store::{FrameQuality, NewHandoff, Store};

/// How often the catch-up looks for unassessed frames when nothing wakes it: a frame
/// the inbox registered is assessed within this (clock) time at worst.
const CATCH_UP_EVERY_S: f64 = 60.0;
/// Frames assessed per store query during catch-up.
const BATCH: u32 = 32;

#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    archive_root: PathBuf,
    cfg: QuicklookConfig,
    site: String,
    clock: Clock,
    sinks: Vec<&'static str>,
    /// Pinged when handoffs were queued, so the dispatchers don't wait for a tick.
    queued: Arc<Notify>,
}

impl Pipeline {
    pub fn new(
        store: Store,
        archive_root: PathBuf,
        cfg: QuicklookConfig,
        site: String,
        clock: Clock,
        sinks: Vec<&'static str>,
    ) -> Self {
        Pipeline { store, archive_root, cfg, site, clock, sinks, queued: Arc::new(Notify::new()) }
    }

    /// The handoff sinks frames are queued for.
    pub fn sinks(&self) -> &[&'static str] {
        &self.sinks
    }

    pub fn queued(&self) -> Arc<Notify> {
        Arc::clone(&self.queued)
    }

    /// Assesses `frame_id` and queues its handoffs; the stored quality is returned (the
    /// earlier one if another task got there first).
    pub async fn process(&self, frame_id: i64) -> Result<FrameQuality, PipelineError> {
        let frame =
            self.store.frame(frame_id).await?.ok_or(PipelineError::NoSuchFrame(frame_id))?;
        let (root, rel, cfg, now) =
            (self.archive_root.clone(), frame.path.clone(), self.cfg.clone(), self.clock.now());
        let assessed: Assessed =
            tokio::task::spawn_blocking(move || assess(&root, &rel, frame_id, &cfg, now))
                .await
                .map_err(|e| PipelineError::Task(e.to_string()))??;
        let (key, payload) = message::frame_message(&self.site, &frame, &assessed);
        let handoffs: Vec<NewHandoff> = self
            .sinks
            .iter()
            .map(|&sink| NewHandoff {
                sink,
                idempotency_key: key.clone(),
                payload: payload.clone(),
            })
            .collect();
        let q = &assessed.quality;
        if self.store.record_quality(q, &handoffs, assessed.data_sha256.as_deref()).await? {
            match q.pass {
                Some(false) => tracing::warn!(
                    frame = frame_id,
                    request = ?frame.request_id,
                    reason = q.reason.as_deref().unwrap_or(""),
                    "quick-look failed: {}",
                    q.detail
                ),
                _ => tracing::info!(frame = frame_id, pass = ?q.pass, "quick-look: {}", q.detail),
            }
            if !handoffs.is_empty() {
                self.queued.notify_waiters();
            }
            return Ok(assessed.quality);
        }
        Ok(self.store.quality(frame_id).await?.unwrap_or(assessed.quality))
    }

    /// Assesses every frame without a quick-look. Errors are logged per frame and the
    /// frame is tried again at the next catch-up.
    pub async fn catch_up(&self) -> Result<usize, PipelineError> {
        let mut done = 0;
        let mut failed = std::collections::HashSet::new();
        loop {
            let todo = self.store.unassessed_frames(BATCH + failed.len() as u32).await?;
            let todo: Vec<_> = todo.into_iter().filter(|u| !failed.contains(&u.frame_id)).collect();
            if todo.is_empty() {
                return Ok(done);
            }
            for u in todo {
                crate::liveness::touch();
                match self.process(u.frame_id).await {
                    Ok(_) => done += 1,
                    Err(e) => {
                        tracing::error!(frame = u.frame_id, path = %u.path, "cannot assess the frame: {e}");
                        failed.insert(u.frame_id);
                    }
                }
            }
        }
    }

    /// Catches up at start, whenever a frame is registered elsewhere, and every
    /// [`CATCH_UP_EVERY_S`], until `shutdown`.
    pub async fn run(self, mut events: broadcast::Receiver<Event>, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.catch_up().await {
                tracing::error!("quick-look catch-up failed: {e}; retrying later");
            }
            let next = self.clock.now() + Duration::from_seconds(CATCH_UP_EVERY_S);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.clock.sleep_until(next) => break,
                    ev = events.recv() => match ev {
                        Ok(Event::Frame { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        }
    }
}
