//! What the inbox needs from the store: the observation a foreign frame belongs to,
//! the frame that already holds the same pixels, and registering the frame.

use hifitime::Epoch;

use super::{Store, StoreError, time};
use crate::model::{FrameId, ObservationId, RequestId};

/// A frame from the inbox, complete under its final name in the archive.
#[derive(Debug, Clone)]
pub struct NewInboxFrame<'a> {
    /// `None` when no observation matched.
    pub observation: Option<ObservationRef>,
    /// Configured telescope name, or `inbox` when it could not be told.
    pub telescope: &'a str,
    /// Relative to the archive root.
    pub path: &'a str,
    pub date_obs: Epoch,
    pub exptime_s: f64,
    pub bytes: u64,
    pub source_name: &'a str,
    pub source_bytes: u64,
    pub source_mtime_ns: i64,
    pub data_sha256: &'a str,
}

/// One observation attempt as the inbox matches frames to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRef {
    pub observation_id: ObservationId,
    pub request_id: RequestId,
    pub telescope: String,
}

/// A stored frame holding the same pixels as a file in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTwin {
    pub id: FrameId,
    pub path: String,
    pub source_name: Option<String>,
    pub source_bytes: Option<u64>,
    pub source_mtime_ns: Option<i64>,
}

impl Store {
    pub async fn observation_ref(
        &self,
        id: ObservationId,
    ) -> Result<Option<ObservationRef>, StoreError> {
        let row: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT id, request_id, telescope FROM observations WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(observation_id, request_id, telescope)| ObservationRef {
            observation_id,
            request_id,
            telescope,
        }))
    }

    /// Observations running at `at` (started at or before it and not ended before
    /// it), on `telescope` if given. A frame's start lies inside its observation.
    pub async fn observations_at(
        &self,
        telescope: Option<&str>,
        at: Epoch,
    ) -> Result<Vec<ObservationRef>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, request_id, telescope FROM observations
             WHERE started_at <= ?1 AND (ended_at IS NULL OR ended_at >= ?1)
               AND (?2 IS NULL OR telescope = ?2)
             ORDER BY id",
        )
        .bind(time::encode(at))
        .bind(telescope)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(observation_id, request_id, telescope)| ObservationRef {
                observation_id,
                request_id,
                telescope,
            })
            .collect())
    }

    /// The first stored frame whose data unit has this SHA-256.
    pub async fn frame_with_data(&self, sha256: &str) -> Result<Option<DataTwin>, StoreError> {
        type Row = (i64, String, Option<String>, Option<i64>, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, path, source_name, source_bytes, source_mtime_ns FROM frames
             WHERE data_sha256 = ?1 ORDER BY id LIMIT 1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, path, source_name, bytes, source_mtime_ns)| DataTwin {
            id,
            path,
            source_name,
            source_bytes: bytes.map(|b| b.max(0) as u64),
            source_mtime_ns,
        }))
    }

    /// Whether a frame is registered under this archive path.
    pub async fn frame_path_taken(&self, path: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM frames WHERE path = ?1")
            .bind(path)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Paths of the frames registered in the archive folder `dir` (relative).
    pub async fn frame_paths_under(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        // Not LIKE: `_` in a telescope name is a LIKE wildcard.
        let prefix = format!("{dir}/");
        let paths =
            sqlx::query_scalar("SELECT path FROM frames WHERE substr(path, 1, length(?1)) = ?1")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?;
        Ok(paths)
    }

    pub async fn insert_inbox_frame(
        &self,
        f: &NewInboxFrame<'_>,
        at: Epoch,
    ) -> Result<FrameId, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO frames (request_id, observation_id, telescope, path, date_obs, exptime_s,
                                 bytes, created_at, source, source_name, source_bytes,
                                 source_mtime_ns, data_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'inbox', ?9, ?10, ?11, ?12) RETURNING id",
        )
        .bind(f.observation.as_ref().map(|o| o.request_id))
        .bind(f.observation.as_ref().map(|o| o.observation_id))
        .bind(f.telescope)
        .bind(f.path)
        .bind(time::encode(f.date_obs))
        .bind(f.exptime_s)
        .bind(f.bytes as i64)
        .bind(time::encode(at))
        .bind(f.source_name)
        .bind(f.source_bytes as i64)
        .bind(f.source_mtime_ns)
        .bind(f.data_sha256)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use hifitime::Duration;

    use super::*;
    use crate::model::{RequestSpec, Target};

    fn t0() -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 20, 0, 0, 0)
    }

    fn url(dir: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", dir.join("teld.db").display())
    }

    /// A store as the release before the inbox left it (migrations 0001 and 0002),
    /// with frames 1 and 2 and a deleted frame 3, then opened by this version.
    #[tokio::test]
    async fn migration_0003_keeps_frames_their_ids_and_the_id_counter() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old-migrations");
        std::fs::create_dir(&old).unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for f in ["0001_init.sql", "0002_plans.sql"] {
            std::fs::copy(src.join(f), old.join(f)).unwrap();
        }
        {
            let pool = sqlx::SqlitePool::connect(&url(dir.path())).await.unwrap();
            sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&pool).await.unwrap();
            for q in [
                "INSERT INTO requests (spec, priority, state, submitted_at, updated_at) VALUES ('{}', 1, 'completed', 'x', 'x')",
                "INSERT INTO observations (request_id, telescope, started_at) VALUES (1, 't1', '2026-11-24T20:00:00.000000')",
                "INSERT INTO frames (request_id, observation_id, telescope, path, date_obs, exptime_s, bytes, created_at) VALUES (1, 1, 't1', 'a.fits', 'd', 1.0, 10, 'c')",
                "INSERT INTO frames (request_id, observation_id, telescope, path, date_obs, exptime_s, bytes, created_at) VALUES (1, 1, 't1', 'b.fits', 'd', 1.0, 10, 'c')",
                "INSERT INTO frames (request_id, observation_id, telescope, path, date_obs, exptime_s, bytes, created_at) VALUES (1, 1, 't1', 'c.fits', 'd', 1.0, 10, 'c')",
                "DELETE FROM frames WHERE id = 3",
            ] {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let s = Store::open(&url(dir.path())).await.unwrap();
        let rows: Vec<(i64, String, String, Option<i64>)> =
            sqlx::query_as("SELECT id, path, source, request_id FROM frames ORDER BY id")
                .fetch_all(&s.pool)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                (1, "a.fits".into(), "teld".into(), Some(1)),
                (2, "b.fits".into(), "teld".into(), Some(1))
            ]
        );
        // Id 3 was handed out once: never again.
        let f = NewInboxFrame {
            observation: None,
            telescope: "inbox",
            path: "n/inbox/x.fits",
            date_obs: t0(),
            exptime_s: 5.0,
            bytes: 5760,
            source_name: "x.fits",
            source_bytes: 5760,
            source_mtime_ns: 7,
            data_sha256: "ab",
        };
        assert_eq!(s.insert_inbox_frame(&f, t0()).await.unwrap(), 4);
        // teld's own frames still need both ids.
        let bad = sqlx::query(
            "INSERT INTO frames (telescope, path, date_obs, exptime_s, bytes, created_at) VALUES ('t1', 'z', 'd', 1, 1, 'c')",
        )
        .execute(&s.pool)
        .await;
        assert!(bad.is_err(), "a teld frame without ids was accepted");
    }

    #[tokio::test]
    async fn inbox_queries_find_observations_twins_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
        let spec = RequestSpec {
            target: Target::sidereal("C4X9Z2", 22.5, 20.1),
            ..RequestSpec::example(22.5, 20.1)
        };
        let req = s.insert_request(&spec, t0()).await.unwrap().id;
        let obs = s.start_observation(req, "t1", t0()).await.unwrap();
        let later = |m: f64| t0() + Duration::from_seconds(m * 60.0);
        let want = ObservationRef { observation_id: obs, request_id: req, telescope: "t1".into() };
        // Running: matched from its start on, on its telescope only.
        assert_eq!(
            s.observations_at(Some("t1"), later(5.0)).await.unwrap(),
            std::slice::from_ref(&want)
        );
        assert!(s.observations_at(Some("t2"), later(5.0)).await.unwrap().is_empty());
        assert!(s.observations_at(Some("t1"), later(-1.0)).await.unwrap().is_empty());
        s.end_observation(obs, "completed", None, later(10.0)).await.unwrap();
        assert_eq!(
            s.observations_at(None, later(10.0)).await.unwrap(),
            std::slice::from_ref(&want)
        );
        assert!(s.observations_at(None, later(10.1)).await.unwrap().is_empty());
        assert_eq!(s.observation_ref(obs).await.unwrap(), Some(want.clone()));
        assert_eq!(s.observation_ref(obs + 1).await.unwrap(), None);

        let f = NewInboxFrame {
            observation: Some(want),
            telescope: "t1",
            path: "2026-11-24/t1/r1/a_b.fits",
            date_obs: later(5.0),
            exptime_s: 30.0,
            bytes: 8640,
            source_name: "a b.fits",
            source_bytes: 8640,
            source_mtime_ns: 42,
            data_sha256: "cafe",
        };
        let id = s.insert_inbox_frame(&f, later(11.0)).await.unwrap();
        let twin = s.frame_with_data("cafe").await.unwrap().unwrap();
        assert_eq!(twin.id, id);
        assert_eq!(twin.source_name.as_deref(), Some("a b.fits"));
        assert_eq!((twin.source_bytes, twin.source_mtime_ns), (Some(8640), Some(42)));
        assert!(s.frame_with_data("beef").await.unwrap().is_none());
        assert_eq!(s.frame_paths_under("2026-11-24/t1/r1").await.unwrap(), [f.path]);
        // `_` is no wildcard here.
        assert!(s.frame_paths_under("2026-11-24/t1/r_").await.unwrap().is_empty());
        // The request lists it with teld's own frames.
        assert_eq!(s.frames_for(req).await.unwrap().len(), 1);
    }
}
