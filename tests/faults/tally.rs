//! The tally finds what it must: a frame row whose file is gone, a file with no row,
//! the same frame stored twice, a request the API acknowledged that the store lacks,
//! a frame with no handoff row, and an inbox file that vanished.

use sqlx::{Connection, Executor};
use teld::cli::chaos::tally::{Expect, frame_seq, tally};
use teld::store::Store;

#[test]
fn frame_numbers_are_read_from_archive_names() {
    assert_eq!(frame_seq("2026-11-24/t1/r7/t1_20261124T195827941_r7_003.fits"), Some(3));
    assert_eq!(frame_seq("2026-11-24/t1/r7/t1_20261124T195827941_r7_012-2.fits"), Some(12));
}

#[test]
fn planted_losses_and_duplicates_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let archive = state.join("archive");
    let night = archive.join("2026-11-24/t1/r1");
    std::fs::create_dir_all(&night).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // The real schema, by the store's own migrations; rows planted beside it.
        let url = Store::default_url(&state).unwrap();
        Store::open(&url).await.unwrap().close().await;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let pool = &mut conn;
        let at = "2026-11-24T20:00:00.000000";
        (&mut *pool).execute(sqlx::query(
            "INSERT INTO requests (id, spec, priority, state, submitted_at, updated_at)
             VALUES (1, '{\"count\": 2}', 50, 'completed', ?1, ?1)",
        ).bind(at)).await.unwrap();
        (&mut *pool).execute(sqlx::query(
            "INSERT INTO observations (id, request_id, telescope, started_at) VALUES (1, 1, 't1', ?1)",
        ).bind(at)).await.unwrap();
        // Frame 1 twice (both files present), frame 2's row without its file.
        for (id, name, file) in [(1, "t1_a_r1_001.fits", true), (2, "t1_b_r1_001.fits", true), (3, "t1_c_r1_002.fits", false)] {
            let rel = format!("2026-11-24/t1/r1/{name}");
            if file {
                std::fs::write(archive.join(&rel), b"SIMPLE").unwrap();
            }
            (&mut *pool).execute(sqlx::query(
                "INSERT INTO frames (id, request_id, observation_id, telescope, path, date_obs, exptime_s, bytes, created_at)
                 VALUES (?1, 1, 1, 't1', ?2, ?3, 30.0, 6, ?3)",
            ).bind(id).bind(&rel).bind(at)).await.unwrap();
        }
        // Frame 1 has its handoff row; the others do not.
        (&mut *pool).execute(sqlx::query(
            "INSERT INTO handoffs (frame_id, sink, idempotency_key, payload, created_at, next_at)
             VALUES (1, 'mqtt', 'k1', '{}', ?1, ?1)",
        ).bind(at)).await.unwrap();
        conn.close().await.unwrap();
    });
    // A file that no row names.
    std::fs::write(night.join("t1_d_r1_009.fits"), b"SIMPLE").unwrap();
    // An inbox file that disappeared without being quarantined.
    let t = tally(
        &state,
        &Expect {
            acknowledged: vec![1, 2],
            sinks: vec!["mqtt".into()],
            inbox_garbage: vec!["chaos-gone.fits".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.requests_lost, vec![2], "{t:?}");
    assert!(
        t.frames_lost.iter().any(|l| l.contains("row without its file") && l.contains("r1_002")),
        "{t:?}"
    );
    assert!(
        t.frames_lost.iter().any(|l| l.contains("t1_d_r1_009.fits") && l.contains("no row")),
        "{t:?}"
    );
    assert!(t.frames_duplicated.iter().any(|l| l.contains("frame 1 stored 2 times")), "{t:?}");
    assert!(t.frames_duplicated.iter().any(|l| l.contains("3 good frames, 2 asked")), "{t:?}");
    assert_eq!(t.outbox_missing.len(), 2, "{t:?}");
    assert_eq!(t.inbox_mishandled.len(), 1, "{t:?}");
}
