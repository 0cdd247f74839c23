//! Recovery against a real archive folder and a real SQLite store: each crash
//! leftover the write order allows, made by hand, and what a restart makes of it.

use std::fs;

use teld_driver_protocol::{ImageInfo, PixelType};

use super::*;
use crate::ingest::fits::tests::sample_meta;
use crate::ingest::{FrameMeta, StoredFrame};
use crate::model::RequestSpec;

struct Fixture {
    _dir: tempfile::TempDir,
    archive: Archive,
    store: Store,
    request: i64,
    observation: i64,
}

fn now() -> Epoch {
    Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0)
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("archive"), &dir.path().join("spool")).unwrap();
    let store = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
    let request = store.insert_request(&RequestSpec::example(83.8, -5.4), now()).await.unwrap().id;
    let observation = store.start_observation(request, "t1", now()).await.unwrap();
    Fixture { _dir: dir, archive, store, request, observation }
}

fn info() -> ImageInfo {
    ImageInfo {
        width: 4,
        height: 3,
        pixel_type: PixelType::U16,
        exposure_start: "2026-11-24T22:01:07.100".into(),
        duration: 30.0,
        light: true,
        bin_x: 1,
        bin_y: 1,
    }
}

impl Fixture {
    fn meta(&self, seq: u32) -> FrameMeta {
        let mut m = sample_meta();
        (m.request_id, m.observation_id, m.frame_seq, m.wcs) =
            (self.request, self.observation, seq, None);
        m
    }

    fn spool(&self, seq: u32) -> PathBuf {
        let path = self.archive.spool_path("t1", self.observation, seq);
        fs::write(&path, [seq as u8; 24]).unwrap();
        path
    }

    /// A frame that reached its final name, as a crash before the insert leaves it.
    fn orphan(&self, seq: u32) -> StoredFrame {
        self.orphan_with(&self.meta(seq))
    }

    fn orphan_with(&self, meta: &FrameMeta) -> StoredFrame {
        let spool = self.archive.spool_path("t1", meta.observation_id, meta.frame_seq);
        fs::write(&spool, [meta.frame_seq as u8; 24]).unwrap();
        self.archive.store_frame(&spool, &info(), meta).unwrap()
    }

    async fn register(&self, f: &StoredFrame) {
        let new = NewFrame {
            request_id: self.request,
            observation_id: self.observation,
            telescope: "t1",
            path: &f.relative,
            date_obs: now(),
            exptime_s: 30.0,
            bytes: f.bytes,
        };
        self.store.insert_frame(&new, now()).await.unwrap();
    }

    async fn recover(&self) -> Recovery {
        recover(&self.archive, &self.store, now()).await.unwrap()
    }
}

#[tokio::test]
async fn a_frame_without_its_row_is_adopted_from_its_header() {
    let fx = fixture().await;
    let registered = fx.orphan(1);
    fx.register(&registered).await;
    let orphan = fx.orphan(2);

    let r = fx.recover().await;
    assert_eq!(r.adopted, std::slice::from_ref(&orphan.relative));
    assert!(r.set_aside.is_empty() && r.problems.is_empty(), "{r:?}");
    let rows = fx.store.frames_for(fx.request).await.unwrap();
    assert_eq!(rows.len(), 2, "the resumed block must continue at frame 3");
    let row = &rows[1];
    assert_eq!(
        (row.observation_id, row.telescope.as_str(), row.path.as_str(), row.bytes),
        (Some(fx.observation), "t1", orphan.relative.as_str(), orphan.bytes)
    );
    assert_eq!(row.date_obs, sample_meta().date_obs);
    assert_eq!(row.exptime_s, 30.0);
    assert!(orphan.path.exists(), "adopting moves nothing");
    assert!(fx.recover().await.adopted.is_empty(), "a second start has nothing to do");
}

#[tokio::test]
async fn a_frame_naming_an_unknown_observation_is_moved_aside_with_its_reason() {
    let fx = fixture().await;
    let mut meta = fx.meta(1);
    meta.observation_id = 999;
    let orphan = fx.orphan_with(&meta);

    let r = fx.recover().await;
    assert!(r.adopted.is_empty(), "{r:?}");
    let [(to, reason)] = r.set_aside.as_slice() else { panic!("{r:?}") };
    assert!(reason.contains("observation 999"), "{reason}");
    assert_eq!(*to, fx.archive.root().join(UNREGISTERED_DIR).join(&orphan.relative));
    assert!(!orphan.path.exists());
    let bytes = fs::metadata(to).unwrap().len();
    assert_eq!(bytes, orphan.bytes, "moved whole");
    let why = fs::read_to_string(format!("{}.reason", to.display())).unwrap();
    assert!(why.contains("observation 999") && why.contains(&orphan.relative), "{why}");
    assert!(fx.store.frames_for(fx.request).await.unwrap().is_empty());
    // The set-aside folder is not a night: the next start leaves it alone.
    let again = fx.recover().await;
    assert!(again.set_aside.is_empty() && again.adopted.is_empty(), "{again:?}");
}

#[tokio::test]
async fn a_frame_whose_checksum_fails_is_not_adopted() {
    let fx = fixture().await;
    let orphan = fx.orphan(1);
    let mut bytes = fs::read(&orphan.path).unwrap();
    let last = bytes.len() - 2880; // first data byte: a pixel changed on disk
    bytes[last] ^= 0x40;
    fs::write(&orphan.path, bytes).unwrap();

    let r = fx.recover().await;
    assert!(r.adopted.is_empty(), "{r:?}");
    let [(_, reason)] = r.set_aside.as_slice() else { panic!("{r:?}") };
    assert!(reason.contains("DATASUM is wrong"), "{reason}");
}

#[tokio::test]
async fn a_frame_in_another_requests_folder_is_not_adopted() {
    let fx = fixture().await;
    let other = fx.store.insert_request(&RequestSpec::example(1.0, 2.0), now()).await.unwrap().id;
    let mut meta = fx.meta(1);
    meta.request_id = other; // folder r<other>, but OBSID belongs to fx.request
    fx.orphan_with(&meta);
    let r = fx.recover().await;
    let [(_, reason)] = r.set_aside.as_slice() else { panic!("{r:?}") };
    assert!(reason.contains(&format!("belongs to request {}", fx.request)), "{reason}");
}

#[tokio::test]
async fn spool_files_are_removed_when_archived_and_kept_aside_otherwise() {
    let fx = fixture().await;
    let stored = fx.orphan(1);
    fx.register(&stored).await;
    let archived = fx.spool(1); // crash between the link and removing the spool file
    let unfinished = fx.spool(2); // crash before the FITS was written
    let stranger = fx.archive.spool_dir().join("notes.txt");
    fs::write(&stranger, b"mine").unwrap();

    let r = fx.recover().await;
    assert_eq!(r.spool_removed, std::slice::from_ref(&archived));
    let kept = fx.archive.spool_dir().join(UNFINISHED_DIR).join(unfinished.file_name().unwrap());
    assert_eq!(r.spool_unfinished, std::slice::from_ref(&kept));
    assert!(!archived.exists() && !unfinished.exists());
    assert_eq!(fs::read(&kept).unwrap(), [2u8; 24], "raw pixels kept");
    assert!(stranger.exists());
    assert_eq!(r.problems.len(), 1, "{r:?}");

    // The same name again (a fresh store reusing ids) never overwrites what was kept.
    let again = fx.spool(2);
    let r = fx.recover().await;
    assert_eq!(r.spool_unfinished, [PathBuf::from(format!("{}.2", kept.display()))]);
    assert!(!again.exists() && kept.exists());
}

#[tokio::test]
async fn temporary_files_are_swept() {
    let fx = fixture().await;
    let stored = fx.orphan(1);
    fx.register(&stored).await;
    let temp = stored.path.with_file_name(".t1_x_r1_002.fits.123-0.tmp");
    fs::write(&temp, b"half").unwrap();
    let r = fx.recover().await;
    assert_eq!(r.temp_removed, std::slice::from_ref(&temp));
    assert!(!temp.exists() && stored.path.exists());
    assert!(r.adopted.is_empty() && r.set_aside.is_empty());
}

#[test]
fn names() {
    assert_eq!(parse_spool_name("t1-o12-0004.raw"), Some((12, 4)));
    assert_eq!(parse_spool_name("my-scope-o3-0010.raw"), Some((3, 10)));
    assert_eq!(parse_spool_name("t1-o12-0004.fits"), None);
    assert_eq!(parse_spool_name("t1-x12-0004.raw"), None);
    assert!(is_night("2026-11-24") && !is_night("unregistered") && !is_night("2026-11-2x"));
    assert!(is_request("r12") && !is_request("r") && !is_request("x12"));
}

/// The start-up cost of the walk on a large archive (run by hand:
/// `cargo test -p teld --lib recover::tests::walk_cost -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check"]
fn walk_cost() {
    let dir = tempfile::tempdir().unwrap();
    let (nights, requests, frames) = (100, 50, 20); // 100 000 frames
    let mut registered = HashSet::new();
    for n in 0..nights {
        for r in 0..requests {
            let rel = format!("2026-{:02}-{:02}/t1/r{}", 1 + n / 28, 1 + n % 28, n * requests + r);
            fs::create_dir_all(dir.path().join(&rel)).unwrap();
            for f in 0..frames {
                let file = format!("{rel}/t1_x_{f:03}.fits");
                fs::write(dir.path().join(&file), b"").unwrap();
                registered.insert(file);
            }
        }
    }
    let t = std::time::Instant::now();
    let found = unregistered_frames(dir.path(), &registered).unwrap();
    eprintln!("walked {} frames in {:?}", registered.len(), t.elapsed());
    assert!(found.is_empty());
}
