//! Taking one settled file from the inbox: copy it into the archive's file system,
//! check it, find its observation, enrich it, give it its final name, register it,
//! tell subscribers, and only then remove it from the inbox. Anything wrong with the
//! file itself sends it to quarantine; anything wrong with teld's side (disk, store)
//! leaves it in the inbox for the next attempt.
//!
//! Restart safety: a crash before the row is committed leaves the inbox file in
//! place; the next attempt produces the same bytes and takes over its own
//! unregistered archive file instead of making a second one. A crash after the
//! commit but before the inbox file is removed is recognised by the frame's
//! recorded source name, size and time, and the file is then just removed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use hifitime::Duration;

use super::InboxContext;
use super::check::{self, CheckError, Inspected};
use super::enrich::{self, Context};
use super::header::Layout;
use super::place::{self, Copied, CopyError};
use super::refusal::{RETRY, Refusal};
use crate::core::{Event, FrameSource};
use crate::ingest::night_of;
use crate::store::{NewInboxFrame, ObservationRef, StoreError};

/// Telescope column of frames whose telescope could not be told; also their folder.
pub(super) const UNKNOWN_TELESCOPE: &str = "inbox";

/// What happened to a file.
#[derive(Debug)]
pub(super) enum Taken {
    Archived {
        frame_id: i64,
        path: String,
    },
    /// Registered by an earlier run that stopped before removing it.
    AlreadyIn {
        frame_id: i64,
    },
    Quarantined {
        to: PathBuf,
        reason: String,
    },
    /// It changed while being copied: not settled after all.
    StillChanging,
}

/// teld could not take the file now (its disk or store failed); the file stays in
/// the inbox and is tried again.
#[derive(Debug, thiserror::Error)]
pub(super) enum TakeError {
    #[error("archive I/O: {0}; check that the archive is writable and the disk not full")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot quarantine {path}: {source}; check that {qdir} is writable")]
    Quarantine { path: String, qdir: String, source: std::io::Error },
}

pub(super) async fn take(ctx: &InboxContext, src: &Path) -> Result<Taken, TakeError> {
    let name = src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let archive_name = place::archive_name(&name);
    let (src_b, root) = (src.to_path_buf(), ctx.archive_root.clone());
    let copied = blocking(move || {
        let copied = place::copy_in(&src_b, &root, &archive_name)?;
        let checked = check::inspect(&copied.temp);
        Ok::<_, CopyError>((copied, checked))
    })
    .await?;
    let (copied, checked) = match copied {
        Ok(c) => c,
        Err(CopyError::Changed) => return Ok(Taken::StillChanging),
        Err(CopyError::Source(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return quarantine(ctx, src, Refusal::Io(e.to_string())).await;
        }
        Err(CopyError::Source(e) | CopyError::Archive(e)) => {
            return Err(TakeError::Io(e.to_string()));
        }
    };
    let result = take_copy(ctx, src, &name, &copied, checked).await;
    // Gone already if placed; otherwise nothing of value is in it.
    let _ = std::fs::remove_file(&copied.temp);
    result
}

async fn take_copy(
    ctx: &InboxContext,
    src: &Path,
    name: &str,
    copied: &Copied,
    checked: Result<Inspected, CheckError>,
) -> Result<Taken, TakeError> {
    let found = match checked {
        Ok(i) => i,
        Err(CheckError::Refused(r)) => return quarantine(ctx, src, r).await,
        Err(CheckError::Io(e)) => return Err(TakeError::Io(e.to_string())),
    };
    if let Some(twin) = ctx.store.frame_with_data(&found.data_sha256).await? {
        let same_file = twin.source_name.as_deref() == Some(name)
            && twin.source_bytes == Some(copied.source_bytes)
            && twin.source_mtime_ns == Some(copied.source_mtime_ns);
        if same_file {
            blocking_io(place::release, src.to_path_buf()).await?;
            return Ok(Taken::AlreadyIn { frame_id: twin.id });
        }
        return quarantine(ctx, src, Refusal::Duplicate { id: twin.id, path: twin.path }).await;
    }

    let telescope = telescope_of(ctx.telescope.as_deref(), &ctx.telescopes, &found.layout);
    let observation = match_observation(ctx, &found, telescope.as_deref()).await?;
    let telescope = observation
        .as_ref()
        .map(|o| o.telescope.clone())
        .or(telescope)
        .unwrap_or_else(|| UNKNOWN_TELESCOPE.to_string());
    let night = night_of(found.date_obs, ctx.site.longitude_deg);
    let dirs = match &observation {
        Some(o) => vec![night, telescope.clone(), format!("r{}", o.request_id)],
        None if telescope == UNKNOWN_TELESCOPE => vec![night, UNKNOWN_TELESCOPE.to_string()],
        None => vec![night, telescope.clone(), UNKNOWN_TELESCOPE.to_string()],
    };
    let context = match &observation {
        Some(o) => Some(context_for(ctx, o, &found, name).await?),
        None => None,
    };
    let registered: HashSet<String> =
        ctx.store.frame_paths_under(&dirs.join("/")).await?.into_iter().collect();

    let (temp, root, file) =
        (copied.temp.clone(), ctx.archive_root.clone(), place::archive_name(name));
    let layout = found.layout.clone();
    let placed = blocking(move || -> Result<Result<(PathBuf, String), Refusal>, String> {
        if let Some(c) = &context {
            if let Err(e) = enrich::enrich(&temp, &layout, c) {
                return Ok(Err(Refusal::Unreadable(format!("adding teld's keywords failed: {e}"))));
            }
            // What we wrote must verify like anything else that enters the archive.
            match check::inspect(&temp) {
                Ok(_) => {}
                Err(CheckError::Refused(r)) => return Ok(Err(r)),
                Err(CheckError::Io(e)) => return Err(e.to_string()),
            }
        }
        place::place(&temp, &root, &dirs, &file, &registered).map(Ok).map_err(|e| e.to_string())
    })
    .await?;
    let (path, relative) = match placed {
        Ok(Ok(p)) => p,
        Ok(Err(refusal)) => return quarantine(ctx, src, refusal).await,
        Err(e) => return Err(TakeError::Io(e)),
    };
    let bytes = std::fs::metadata(&path).map_err(|e| TakeError::Io(e.to_string()))?.len();
    let frame_id = ctx
        .store
        .insert_inbox_frame(
            &NewInboxFrame {
                observation: observation.clone(),
                telescope: &telescope,
                path: &relative,
                date_obs: found.date_obs,
                exptime_s: found.exptime_s,
                bytes,
                source_name: name,
                source_bytes: copied.source_bytes,
                source_mtime_ns: copied.source_mtime_ns,
                data_sha256: &found.data_sha256,
            },
            ctx.clock.now(),
        )
        .await?;
    ctx.core.publish(Event::Frame {
        telescope,
        request_id: observation.as_ref().map(|o| o.request_id),
        observation_id: observation.as_ref().map(|o| o.observation_id),
        frame_id,
        path: relative.clone(),
        source: FrameSource::Inbox,
        at: ctx.clock.now(),
    });
    // The frame is safe and registered; a failure here only leaves a copy that the
    // next scan recognises as already in.
    if let Err(e) = blocking_io(place::release, src.to_path_buf()).await {
        tracing::warn!(inbox_file = %src.display(), error = %e, "frame archived but its inbox file could not be removed");
    }
    Ok(Taken::Archived { frame_id, path: relative })
}

/// The configured telescope a frame comes from, if it can be told: the inbox's own
/// telescope, else TELESCOP or INSTRUME naming one (by name, model or instrument),
/// else the only telescope of a single-telescope site.
pub(super) fn telescope_of(
    fixed: Option<&str>,
    telescopes: &[super::KnownTelescope],
    layout: &Layout,
) -> Option<String> {
    if let Some(t) = fixed {
        return Some(t.to_string());
    }
    let said: Vec<String> = ["TELESCOP", "INSTRUME"]
        .iter()
        .filter_map(|k| layout.value(k))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    let matching: Vec<&super::KnownTelescope> = telescopes
        .iter()
        .filter(|t| t.names.iter().any(|n| said.contains(&n.trim().to_ascii_lowercase())))
        .collect();
    match (matching.as_slice(), telescopes) {
        ([one], _) => Some(one.name.clone()),
        ([], [only]) => Some(only.name.clone()),
        _ => None,
    }
}

/// teld's own ids in the header (a frame teld wrote, passed through other software)
/// win; else the observation running on the telescope at the exposure start.
async fn match_observation(
    ctx: &InboxContext,
    found: &Inspected,
    telescope: Option<&str>,
) -> Result<Option<ObservationRef>, StoreError> {
    let id = |k| found.layout.value(k).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(obs) = id("OBSID")
        && let Some(o) = ctx.store.observation_ref(obs).await?
        && id("REQID").is_none_or(|r| r == o.request_id)
    {
        return Ok(Some(o));
    }
    let Some(telescope) = telescope else { return Ok(None) };
    let running = ctx.store.observations_at(Some(telescope), found.date_obs).await?;
    // Two at once on one telescope cannot happen; if the store says so, take the later.
    Ok(running.into_iter().next_back())
}

async fn context_for(
    ctx: &InboxContext,
    o: &ObservationRef,
    found: &Inspected,
    name: &str,
) -> Result<Context, StoreError> {
    let request = ctx.store.request(o.request_id).await?;
    let mid = found.date_obs + Duration::from_seconds(found.exptime_s / 2.0);
    let site = ctx.site.site();
    let target = request.as_ref().and_then(|r| r.spec.target.motion().ok()?.place(&site, mid).ok());
    Ok(Context {
        request_id: o.request_id,
        observation_id: o.observation_id,
        object: request.map(|r| r.spec.target.name),
        target,
        site_name: ctx.site.name.clone(),
        site,
        original_name: name.to_string(),
    })
}

async fn quarantine(ctx: &InboxContext, src: &Path, why: Refusal) -> Result<Taken, TakeError> {
    let name = src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let reason = why.to_string();
    let text = format!(
        "file: {name}\nrefused: {} (teld's clock)\nreason: {reason}\nwhat to do: {}\n{RETRY}\n",
        teld_driver_protocol::time::format_utc_digits(ctx.clock.now(), 0),
        why.advice(),
    );
    let (src_b, qdir) = (src.to_path_buf(), ctx.quarantine.clone());
    let moved = blocking(move || place::quarantine(&src_b, &qdir, &text)).await?;
    match moved {
        Ok(to) => Ok(Taken::Quarantined { to, reason }),
        Err(source) => Err(TakeError::Quarantine {
            path: src.display().to_string(),
            qdir: ctx.quarantine.display().to_string(),
            source,
        }),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TakeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TakeError::Io(format!("inbox worker failed: {e}")))
}

async fn blocking_io(f: fn(&Path) -> std::io::Result<()>, p: PathBuf) -> Result<(), TakeError> {
    blocking(move || f(&p)).await?.map_err(|e| TakeError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::KnownTelescope;
    use super::super::header::read_layout;
    use super::super::header::tests::image;
    use super::*;

    fn layout(cards: &[&str]) -> Layout {
        let f = image(4, 4, cards);
        let len = f.len() as u64;
        read_layout(std::io::Cursor::new(f), len).ok().unwrap()
    }

    fn scope(name: &str, model: &str, instrument: &str) -> KnownTelescope {
        KnownTelescope {
            name: name.into(),
            names: vec![name.into(), model.into(), instrument.into()],
        }
    }

    #[test]
    fn the_telescope_is_told_by_config_header_or_being_the_only_one() {
        let two = [scope("t1", "PlaneWave CDK20", "QHY600"), scope("t2", "RC16", "ASI6200")];
        let l = layout(&["TELESCOP= 'planewave cdk20 '"]);
        assert_eq!(telescope_of(None, &two, &l).as_deref(), Some("t1"));
        let l = layout(&["TELESCOP= 'unknown '", "INSTRUME= 'ASI6200 '"]);
        assert_eq!(telescope_of(None, &two, &l).as_deref(), Some("t2"));
        let l = layout(&["TELESCOP= 'unknown '"]);
        assert_eq!(telescope_of(None, &two, &l), None);
        assert_eq!(telescope_of(Some("t2"), &two, &l).as_deref(), Some("t2"));
        assert_eq!(telescope_of(None, &two[..1], &l).as_deref(), Some("t1"));
        // Naming both is no answer.
        let l = layout(&["TELESCOP= 'RC16    '", "INSTRUME= 'QHY600  '"]);
        assert_eq!(telescope_of(None, &two, &l), None);
    }
}
