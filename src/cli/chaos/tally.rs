//! End-of-run accounting, with teld stopped: the store read directly with sqlx and the
//! archive walked on disk. Nothing here trusts teld's own API.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use sqlx::Row;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TallyError {
    #[error("reading the store {db}: {source} (is the campaign's state folder intact?)")]
    Store { db: PathBuf, source: sqlx::Error },
    #[error("walking the archive {dir}: {source}")]
    Archive { dir: PathBuf, source: std::io::Error },
    #[error("starting a runtime: {0}")]
    Runtime(std::io::Error),
}

/// What the tally is asked to check.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Frames the quick-look failed count towards their request (the site does not
    /// retake them: `quicklook.requeue_failed = false`).
    pub failed_frames_count: bool,
    /// Every request id the API answered 201 for.
    pub acknowledged: Vec<i64>,
    /// The handoff sinks teld runs (each frame must have a row per sink).
    pub sinks: Vec<String>,
    /// Names of the unusable files dropped into the inbox.
    pub inbox_garbage: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub requests_acknowledged: usize,
    pub requests_lost: Vec<i64>,
    pub request_states: BTreeMap<String, u64>,
    pub frames: u64,
    /// Rows without a file, files without a row, completed requests short of frames.
    pub frames_lost: Vec<String>,
    /// The same request and frame number twice among good frames, or more good frames
    /// than a completed request asked for.
    pub frames_duplicated: Vec<String>,
    /// Frames without a handoff row for some sink.
    pub outbox_missing: Vec<String>,
    pub handoffs_undelivered: u64,
    pub observations: u64,
    /// Observations beyond the first of each request.
    pub observations_retried: u64,
    pub observation_outcomes: BTreeMap<String, u64>,
    pub inbox_dropped: usize,
    pub inbox_quarantined: usize,
    /// Garbage files neither quarantined nor still waiting, or registered as frames.
    pub inbox_mishandled: Vec<String>,
}

pub fn tally(state_dir: &Path, expect: &Expect) -> Result<Tally, TallyError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(TallyError::Runtime)?;
    rt.block_on(tally_async(state_dir, expect))
}

async fn tally_async(state_dir: &Path, expect: &Expect) -> Result<Tally, TallyError> {
    use sqlx::Connection;
    let db = state_dir.join("teld.db");
    let err = |e| TallyError::Store { db: db.clone(), source: e };
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.map_err(err)?;
    let mut t = Tally { requests_acknowledged: expect.acknowledged.len(), ..Tally::default() };

    // Requests.
    let rows = sqlx::query("SELECT id, state, spec FROM requests")
        .fetch_all(&mut conn)
        .await
        .map_err(err)?;
    let mut specs: HashMap<i64, (String, u64)> = HashMap::new();
    for r in &rows {
        let id: i64 = r.get("id");
        let state: String = r.get("state");
        let spec: serde_json::Value =
            serde_json::from_str(r.get::<&str, _>("spec")).unwrap_or_default();
        let visits = spec["tracklet"]["visits"].as_u64().unwrap_or(1);
        let asked = spec["count"].as_u64().unwrap_or(0) * visits;
        *t.request_states.entry(state.clone()).or_default() += 1;
        specs.insert(id, (state, asked));
    }
    t.requests_lost =
        expect.acknowledged.iter().copied().filter(|id| !specs.contains_key(id)).collect();

    // Frames, with their quick-look verdict (0 = failed: not counted towards a request).
    let frames = sqlx::query(
        "SELECT f.id, f.request_id, f.path, f.source, q.pass AS pass, q.frame_id AS assessed
         FROM frames f LEFT JOIN frame_quicklook q ON q.frame_id = f.id ORDER BY f.id",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(err)?;
    t.frames = frames.len() as u64;
    let archive = state_dir.join("archive");
    let mut paths = BTreeSet::new();
    let mut seqs: BTreeMap<(i64, u32), Vec<i64>> = BTreeMap::new();
    let mut good: BTreeMap<i64, u64> = BTreeMap::new();
    for f in &frames {
        let id: i64 = f.get("id");
        let path: String = f.get("path");
        if !archive.join(&path).is_file() {
            t.frames_lost.push(format!("frame {id}: row without its file {path}"));
        }
        paths.insert(path.clone());
        let failed = f.get::<Option<i64>, _>("pass") == Some(0) && !expect.failed_frames_count;
        let source: String = f.get("source");
        if let (Some(req), false, "teld") =
            (f.get::<Option<i64>, _>("request_id"), failed, source.as_str())
        {
            *good.entry(req).or_default() += 1;
            if let Some(seq) = frame_seq(&path) {
                seqs.entry((req, seq)).or_default().push(id);
            }
        }
    }
    for ((req, seq), ids) in &seqs {
        if ids.len() > 1 {
            t.frames_duplicated.push(format!(
                "request {req} frame {seq} stored {} times (frames {ids:?})",
                ids.len()
            ));
        }
    }
    for (id, (state, asked)) in &specs {
        let have = good.get(id).copied().unwrap_or(0);
        if state == "completed" && have > *asked {
            t.frames_duplicated.push(format!("request {id}: {have} good frames, {asked} asked"));
        }
        if state == "completed" && have < *asked {
            t.frames_lost
                .push(format!("request {id} completed with {have} of {asked} good frames"));
        }
    }
    for file in
        walk_fits(&archive).map_err(|e| TallyError::Archive { dir: archive.clone(), source: e })?
    {
        if !paths.contains(&file) {
            t.frames_lost.push(format!("file {file} in the archive has no row"));
        }
    }

    // The outbox: every frame has a handoff row for every sink (docs/PIPELINE.md).
    let handoffs = sqlx::query("SELECT frame_id, sink, delivered_at FROM handoffs")
        .fetch_all(&mut conn)
        .await
        .map_err(err)?;
    let mut have: BTreeSet<(i64, String)> = BTreeSet::new();
    for h in &handoffs {
        have.insert((h.get("frame_id"), h.get("sink")));
        if h.get::<Option<String>, _>("delivered_at").is_none() {
            t.handoffs_undelivered += 1;
        }
    }
    for f in &frames {
        let id: i64 = f.get("id");
        for sink in &expect.sinks {
            if !have.contains(&(id, sink.clone())) {
                let assessed = f.get::<Option<i64>, _>("assessed").is_some();
                t.outbox_missing.push(format!(
                    "frame {id}: no `{sink}` handoff row (quick-look {})",
                    if assessed { "done" } else { "missing" }
                ));
            }
        }
    }

    // Observations: attempts beyond the first of a request are retries.
    let obs = sqlx::query("SELECT request_id, outcome FROM observations")
        .fetch_all(&mut conn)
        .await
        .map_err(err)?;
    t.observations = obs.len() as u64;
    let mut per_request: BTreeMap<i64, u64> = BTreeMap::new();
    for o in &obs {
        *per_request.entry(o.get("request_id")).or_default() += 1;
        let outcome = o.get::<Option<String>, _>("outcome").unwrap_or_else(|| "running".into());
        *t.observation_outcomes.entry(outcome).or_default() += 1;
    }
    t.observations_retried = per_request.values().map(|n| n - 1).sum();

    // The inbox garbage: each file quarantined, none registered as a frame.
    let inbox_frames: BTreeSet<String> =
        sqlx::query("SELECT source_name FROM frames WHERE source = 'inbox'")
            .fetch_all(&mut conn)
            .await
            .map_err(err)?
            .iter()
            .filter_map(|r| r.get::<Option<String>, _>("source_name"))
            .collect();
    let inbox = state_dir.join("inbox");
    let quarantine = inbox.join("quarantine");
    t.inbox_dropped = expect.inbox_garbage.len();
    for name in &expect.inbox_garbage {
        if inbox_frames.contains(name) {
            t.inbox_mishandled.push(format!("{name} was registered as a frame"));
        } else if quarantine.join(name).is_file() {
            t.inbox_quarantined += 1;
        } else if inbox.join(name).is_file() {
            t.inbox_mishandled.push(format!("{name} is still in the inbox, not quarantined"));
        } else {
            t.inbox_mishandled.push(format!("{name} is gone: neither quarantined nor registered"));
        }
    }
    conn.close().await.map_err(err)?;
    Ok(t)
}

/// `t1_20261124T195827941_r7_003.fits` → 3 (the frame number within the request).
pub fn frame_seq(path: &str) -> Option<u32> {
    let name = path.rsplit('/').next()?.strip_suffix(".fits")?;
    // A same-named retry is `name-2.fits`: the sequence is before the dash.
    let name = name.split('-').next()?;
    name.rsplit('_').next()?.parse().ok()
}

/// Every `*.fits` under `root`, relative to it, hidden temporaries excluded.
fn walk_fits(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "fits")
                && !e.file_name().to_string_lossy().starts_with('.')
            {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}
