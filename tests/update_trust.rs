//! The verification client against real signed repositories: keys made here, metadata
//! signed with `tough`'s editor, served from folders and from a loopback HTTP server.
//! Case numbers are those of `update-tests.md`.

#[path = "update_trust/http.rs"]
mod http;
#[path = "update_trust/repo.rs"]
mod repo;

mod update {
    use crate::{http, repo};

    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use futures_util::StreamExt;
    use hifitime::Epoch;
    use repo::{Build, Repo};
    use teld::update::error::{PolicyError, TrustError};
    use teld::update::paths::UpdatePaths;
    use teld::update::policy::{self, Host};
    use teld::update::source::Source;
    use teld::update::state::{Installed, UpdateState};
    use teld::update::transport::HttpLimits;
    use teld::update::trust::{self, TrustConfig, Verified};

    /// A site: its state folder, its state, the root shipped in its package.
    struct Site {
        _dir: tempfile::TempDir,
        paths: UpdatePaths,
        state: UpdateState,
        shipped: Vec<u8>,
    }

    impl Site {
        fn new(shipped: Vec<u8>) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let paths = UpdatePaths::new(dir.path());
            Self { _dir: dir, paths, state: UpdateState::default(), shipped }
        }

        async fn load(&mut self, source: &Source) -> Result<Verified, TrustError> {
            self.load_with(source, &TrustConfig::default()).await
        }

        async fn load_with(
            &mut self,
            source: &Source,
            config: &TrustConfig,
        ) -> Result<Verified, TrustError> {
            trust::load_with(
                &self.paths,
                source,
                &self.shipped,
                &mut self.state,
                Epoch::now().unwrap(),
                config,
            )
            .await
        }

        fn store(&self) -> PathBuf {
            self.paths.datastore()
        }
    }

    fn folder(p: &Path) -> Source {
        Source::Folder(p.to_path_buf())
    }

    async fn read_all(v: &Verified, name: &str) -> Result<Vec<u8>, TrustError> {
        let mut s = v.read_target(name).await?;
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn sim(version: &str) -> Build {
        Build::new("sim", version)
    }

    // ---- authenticity and integrity ----

    #[tokio::test]
    async fn case_01_unsigned_artefact_is_never_read() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        // An artefact copied next to the signed one, under a name CI never signed.
        let name = sim("0.3.0").meta().target_name();
        let p = r.dir().join("targets").join(format!("{}.{}", "00".repeat(32), name));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"unsigned").unwrap();
        let mut site = Site::new(r.root_bytes(1));
        let v = site.load(&folder(r.dir())).await.unwrap();
        let e = v.read_target(&name).await.err().expect("unsigned target refused");
        assert!(matches!(e, TrustError::NotSigned { .. }), "{e}");
        assert_eq!(
            policy::pick(&v, &mut site.state, "sim", &Host::this())
                .unwrap()
                .unwrap()
                .meta
                .version
                .to_string(),
            "0.2.0"
        );
    }

    #[tokio::test]
    async fn case_02_bit_flipped_target_ends_in_an_error() {
        let mut r = Repo::new().await;
        let b = sim("0.2.0");
        let name = b.meta().target_name();
        r.add(b);
        r.publish().await;
        let file = r.target_file(&name);
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[3] ^= 0x10;
        std::fs::write(&file, &bytes).unwrap();
        let mut site = Site::new(r.root_bytes(1));
        let v = site.load(&folder(r.dir())).await.unwrap();
        let e = read_all(&v, &name).await.unwrap_err();
        assert!(matches!(e, TrustError::TargetMismatch { .. }), "{e}");
    }

    #[tokio::test]
    async fn case_03_truncated_or_endless_target_is_rejected() {
        let mut r = Repo::new().await;
        let b = sim("0.2.0");
        let name = b.meta().target_name();
        let good = b.bytes.clone();
        r.add(b);
        r.publish().await;
        let file = r.target_file(&name);
        let mut site = Site::new(r.root_bytes(1));
        let v = site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(read_all(&v, &name).await.unwrap(), good);
        std::fs::write(&file, &good[..good.len() - 1]).unwrap();
        assert!(matches!(
            read_all(&v, &name).await.unwrap_err(),
            TrustError::TargetMismatch { .. }
        ));
        let mut long = good.clone();
        long.extend(std::iter::repeat_n(0u8, 1 << 20));
        std::fs::write(&file, &long).unwrap();
        assert!(matches!(
            read_all(&v, &name).await.unwrap_err(),
            TrustError::TargetMismatch { .. }
        ));
    }

    #[tokio::test]
    async fn case_04_metadata_edited_without_resigning_is_rejected() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        let ts = r.dir().join("metadata/timestamp.json");
        let text = std::fs::read_to_string(&ts).unwrap();
        let edited = text.replacen("\"version\": 1", "\"version\": 7", 1);
        assert_ne!(text, edited);
        std::fs::write(&ts, edited).unwrap();
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::Verification { .. }), "{e}");
        assert_eq!(site.state, UpdateState::default(), "nothing recorded");
    }

    #[tokio::test]
    async fn case_05_valid_key_of_the_wrong_role_is_rejected() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        // The snapshot key (valid, in root) signs a timestamp.
        r.resign_timestamp_with_snapshot_key().await;
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::Verification { .. }), "{e}");
    }

    #[tokio::test]
    async fn case_06_threshold_not_met_or_a_signature_counted_twice_is_rejected() {
        // Root needs 2 of 3: the next root carries one signature, or that one twice.
        for dup in [false, true] {
            let mut r = Repo::new().await;
            r.next_root_signed_by_one(dup).await;
            r.publish().await;
            let mut site = Site::new(r.root_bytes(1));
            let e = site.load(&folder(r.dir())).await.unwrap_err();
            assert!(matches!(e, TrustError::Verification { .. }), "dup={dup}: {e}");
        }
    }

    #[tokio::test]
    async fn case_07_links_fifos_and_escapes_in_a_bundle_are_refused() {
        let mut r = Repo::new().await;
        let b = sim("0.2.0");
        let name = b.meta().target_name();
        r.add(b);
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        // A link inside the bundle, even to a harmless file, refuses the bundle.
        let secret = r.dir().parent().unwrap().join("secret");
        std::fs::write(&secret, b"outside").unwrap();
        let link = r.dir().join("targets/evil");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::UnsafeBundle { .. }), "{e}");
        std::fs::remove_file(&link).unwrap();
        // A FIFO would block a naive reader forever.
        let fifo = r.dir().join("metadata/fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::UnsafeBundle { .. }), "{e}");
        std::fs::remove_file(&fifo).unwrap();
        // The signed target replaced by a link after the scan: the transport refuses it.
        let v = site.load(&folder(r.dir())).await.unwrap();
        let file = r.target_file(&name);
        std::fs::rename(&file, &secret).unwrap();
        std::os::unix::fs::symlink(&secret, &file).unwrap();
        assert!(read_all(&v, &name).await.is_err());
        // A name escaping the folder never resolves to a signed target.
        assert!(v.read_target("../../secret").await.is_err());
        assert!(v.read_target("/etc/passwd").await.is_err());
    }

    #[tokio::test]
    async fn case_08_wrong_slot_or_triple_is_refused_before_download() {
        let mut r = Repo::new().await;
        r.add(Build::new("alpaca", "0.9.0"));
        let mut other = sim("0.5.0");
        other.triple = "aarch64-unknown-linux-gnu".into();
        r.add(other);
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let v = site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap(), None);
        let e = policy::pick_version(
            &v,
            &mut site.state,
            "sim",
            &Host::this(),
            &"0.5.0".parse().unwrap(),
        )
        .unwrap_err();
        assert!(matches!(e, PolicyError::NotFound { .. }), "{e}");
        assert!(policy::pick(&v, &mut site.state, "alpaca", &Host::this()).unwrap().is_some());
    }

    #[tokio::test]
    async fn case_11_same_version_with_other_bytes_is_flagged() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let v = site.load(&folder(r.dir())).await.unwrap();
        policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap().unwrap();
        let mut again = sim("0.2.0");
        again.bytes = b"other bytes, same version".to_vec();
        r.clear();
        r.add(again);
        r.publish().await;
        let v = site.load(&folder(r.dir())).await.unwrap();
        let e = policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap_err();
        assert!(matches!(e, PolicyError::Republished { .. }), "{e}");
        assert!(e.to_string().contains("compromise"));
    }

    // ---- freshness ----

    #[tokio::test]
    async fn case_12_replayed_older_metadata_is_rejected() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        let old = r.snapshot_copy();
        r.add(sim("0.3.0"));
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        let before = site.state.clone();
        let e = site.load(&folder(old.path())).await.unwrap_err();
        assert!(matches!(e, TrustError::Rollback { .. }), "{e}");
        assert_eq!(site.state, before);
    }

    fn installed(version: &str, epoch: u64) -> Installed {
        Installed {
            release: teld::update::meta::Release::new(epoch, version.parse().unwrap()),
            sha256: "ab".repeat(32),
            length: 1,
            git_sha: "x".into(),
            dir: format!("{version}-abababababab"),
        }
    }

    #[tokio::test]
    async fn case_13_older_version_only_through_a_higher_epoch() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let s = site.state.slot_mut("sim");
        s.committed = Some(installed("0.3.0", 0));
        s.floor = Some(installed("0.3.0", 0).release);
        let v = site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap(), None);
        let e = policy::pick_version(
            &v,
            &mut site.state,
            "sim",
            &Host::this(),
            &"0.2.0".parse().unwrap(),
        )
        .unwrap_err();
        assert!(matches!(e, PolicyError::BelowFloor { .. }), "{e}");
        let mut epoch = sim("0.1.0");
        epoch.epoch = 1;
        r.add(epoch);
        r.publish().await;
        let v = site.load(&folder(r.dir())).await.unwrap();
        let c = policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap().unwrap();
        assert_eq!(c.release().to_string(), "1!0.1.0");
    }

    #[tokio::test]
    async fn case_14_below_security_floor_refused_even_manually() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        let mut fixed = sim("0.3.0");
        fixed.security_floor = Some("0.3.0".parse().unwrap());
        r.add(fixed);
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let v = site.load(&folder(r.dir())).await.unwrap();
        let e = policy::pick_version(
            &v,
            &mut site.state,
            "sim",
            &Host::this(),
            &"0.2.0".parse().unwrap(),
        )
        .unwrap_err();
        assert!(matches!(e, PolicyError::BelowFloor { .. }), "{e}");
        // The floor is ours now: a replayed repository without the advisory keeps it.
        assert_eq!(site.state.slot("sim").unwrap().floor.as_ref().unwrap().to_string(), "0.3.0");
        let c = policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap().unwrap();
        assert_eq!(c.meta.version.to_string(), "0.3.0");
    }

    #[tokio::test]
    async fn case_15_expired_timestamp_means_no_update_and_an_alert() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.timestamp_expires = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::Expired { ref role } if role == "timestamp"), "{e}");
        assert!(e.alerts() && e.to_string().contains("keep running"));
    }

    #[tokio::test]
    async fn case_16_fresh_bundle_after_a_long_offline_is_accepted_stale_refused() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        r.timestamp_expires = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
        r.publish().await;
        let stale = r.snapshot_copy();
        assert!(matches!(
            site.load(&folder(stale.path())).await.unwrap_err(),
            TrustError::Expired { .. }
        ));
        r.timestamp_expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        r.add(sim("0.3.0"));
        r.publish().await;
        let v = site.load(&folder(r.dir())).await.unwrap();
        assert!(policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap().is_some());
    }

    #[tokio::test]
    async fn case_18_fast_forward_recovers_after_the_online_keys_rotate() {
        let mut r = Repo::new().await;
        r.add(sim("0.2.0"));
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        // Stolen online keys sign version 2^40 of everything; the site takes it.
        r.set_next_version(1 << 40);
        r.publish().await;
        site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(site.state.tuf.timestamp, 1 << 40);
        // The release team rotates the online keys through root 2 and starts again low.
        r.rotate_online_keys().await;
        r.set_next_version(3);
        r.add(sim("0.3.0"));
        r.publish().await;
        let v = site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(site.state.tuf.root, 2);
        assert_eq!((site.state.tuf.timestamp, site.state.tuf.targets), (3, 3));
        let c = policy::pick(&v, &mut site.state, "sim", &Host::this()).unwrap().unwrap();
        assert_eq!(c.meta.version.to_string(), "0.3.0");
        // Without a rotation, a low version after the inflated one stays a rollback.
        let mut r = Repo::new().await;
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        r.set_next_version(1 << 40);
        r.publish().await;
        site.load(&folder(r.dir())).await.unwrap();
        r.set_next_version(3);
        r.publish().await;
        assert!(matches!(
            site.load(&folder(r.dir())).await.unwrap_err(),
            TrustError::Rollback { .. }
        ));
    }

    #[tokio::test]
    async fn case_19_clock_stepped_back_blocks_the_cycle() {
        let mut r = Repo::new().await;
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        let earlier = Epoch::now().unwrap() - hifitime::Duration::from_hours(2.0);
        let e = trust::load(&site.paths, &folder(r.dir()), &site.shipped, &mut site.state, earlier)
            .await
            .unwrap_err();
        assert!(matches!(e, TrustError::ClockSteppedBack { .. }), "{e}");
        // `tough`'s own record says the system clock went back: same answer.
        let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(5);
        std::fs::write(
            site.store().join("latest_known_time.json"),
            serde_json::to_vec(&ahead).unwrap(),
        )
        .unwrap();
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::ClockSteppedBack { .. }), "{e}");
    }

    #[tokio::test]
    async fn case_20_clock_far_ahead_then_corrected_needs_the_operator_reset() {
        let mut r = Repo::new().await;
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let ahead = Epoch::now().unwrap() + hifitime::Duration::from_days(30.0);
        trust::load(&site.paths, &folder(r.dir()), &site.shipped, &mut site.state, ahead)
            .await
            .unwrap();
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(e.to_string().contains("reset-clock"), "{e}");
        trust::reset_clock(&site.paths, &mut site.state).unwrap();
        site.load(&folder(r.dir())).await.unwrap();
    }

    // ---- state integrity ----

    #[tokio::test]
    async fn case_21_torn_datastore_file_fails_closed() {
        let mut r = Repo::new().await;
        r.publish().await;
        let old = r.snapshot_copy();
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        for torn in [&b""[..], b"{\"signed\":{\"_type\":\"timesta"] {
            std::fs::write(site.store().join("timestamp.json"), torn).unwrap();
            let e = site.load(&folder(old.path())).await.unwrap_err();
            assert!(matches!(e, TrustError::DatastoreCorrupt { .. }), "{e}");
        }
    }

    #[tokio::test]
    async fn case_22_wiped_datastore_our_floors_still_block_a_replay() {
        let mut r = Repo::new().await;
        r.publish().await;
        let old = r.snapshot_copy();
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        std::fs::remove_dir_all(site.store()).unwrap();
        let e = site.load(&folder(old.path())).await.unwrap_err();
        assert!(matches!(e, TrustError::Rollback { .. }), "{e}");
        // And the current repository still loads, rebuilding the store.
        site.load(&folder(r.dir())).await.unwrap();
    }

    #[tokio::test]
    async fn case_24_forged_next_root_by_leaked_old_keys_is_rejected() {
        let mut r = Repo::new().await;
        r.publish().await;
        let shipped = r.root_bytes(1);
        r.rotate_root_keys(true).await; // root 2: new root keys, cross-signed
        r.publish().await;
        let mut site = Site::new(shipped.clone());
        site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(site.state.tuf.root, 2);
        // The attacker holds the v1 root keys and serves a different "2.root.json".
        let evil = r.forge_from_v1().await;
        let e = site.load(&folder(evil.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::Verification { .. }), "{e}");
        // Without our persisted root (deleted), we refuse rather than start from v1.
        std::fs::remove_file(site.paths.trusted_root()).unwrap();
        let e = site.load(&folder(evil.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::TrustedRoot { .. }), "{e}");
        // This is the gap: a fresh client with only the shipped root accepts the forgery.
        let mut naive = Site::new(shipped);
        naive.load(&folder(evil.dir())).await.unwrap();
    }

    #[tokio::test]
    async fn case_25_newer_shipped_root_is_used() {
        let mut r = Repo::new().await;
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        r.rotate_root_keys(true).await;
        r.rotate_root_keys(true).await;
        r.publish().await;
        // The mirror lost 2.root.json; the package brings root 3 (verified out of band).
        std::fs::remove_file(r.dir().join("metadata/2.root.json")).unwrap();
        site.shipped = r.root_bytes(3);
        site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(site.state.tuf.root, 3);
    }

    // ---- key management ----

    #[tokio::test]
    async fn case_26_cross_signed_rotation_accepted_otherwise_rejected() {
        let mut r = Repo::new().await;
        r.rotate_root_keys(true).await;
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(site.state.tuf.root, 2);

        let mut r = Repo::new().await;
        r.rotate_root_keys(false).await;
        r.publish().await;
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&folder(r.dir())).await.unwrap_err();
        assert!(matches!(e, TrustError::Verification { .. }), "{e}");
    }

    #[tokio::test]
    async fn case_27_root_version_gap_does_not_skip_ahead() {
        let mut r = Repo::new().await;
        r.publish().await;
        r.rotate_root_keys(true).await;
        r.rotate_root_keys(true).await;
        r.publish().await;
        std::fs::remove_file(r.dir().join("metadata/2.root.json")).unwrap();
        let mut site = Site::new(r.root_bytes(1));
        // 3.root.json is there, 2 is not: the chain stops at 1 (the online keys did not
        // change, so the rest still verifies under root 1).
        site.load(&folder(r.dir())).await.unwrap();
        assert_eq!(site.state.tuf.root, 1);
        let trusted: serde_json::Value =
            serde_json::from_slice(&std::fs::read(site.paths.trusted_root()).unwrap()).unwrap();
        assert_eq!(trusted["signed"]["version"], 1);
    }

    // ---- transport and input ----

    #[tokio::test]
    async fn case_45_two_mib_timestamp_is_refused_at_the_limit() {
        let mut r = Repo::new().await;
        r.publish().await;
        let server = http::serve(r.dir(), http::Mode::HugeTimestamp).await;
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&server.source()).await.unwrap_err();
        assert!(matches!(e, TrustError::TooLarge { .. }), "{e}");
        assert_eq!(site.state, UpdateState::default());
    }

    #[tokio::test]
    async fn case_46_stalled_mirror_times_out_without_state_change() {
        let mut r = Repo::new().await;
        r.publish().await;
        let server = http::serve(r.dir(), http::Mode::Stall).await;
        let mut site = Site::new(r.root_bytes(1));
        let config = TrustConfig {
            http: HttpLimits {
                request_timeout: Duration::from_secs(5),
                idle_timeout: Duration::from_millis(300),
                transfer_timeout: Duration::from_secs(2),
                max_total_bytes: 1 << 20,
            },
            ..TrustConfig::default()
        };
        let e = site.load_with(&server.source(), &config).await.unwrap_err();
        assert!(matches!(e, TrustError::Transport { .. }), "{e}");
        assert!(!e.alerts(), "retried next cycle, not an alert");
        assert_eq!(site.state, UpdateState::default());
        // The same mirror behaving: the load goes through HTTP end to end.
        let server = http::serve(r.dir(), http::Mode::Normal).await;
        site.load_with(&server.source(), &config).await.unwrap();
    }

    #[tokio::test]
    async fn case_47_html_with_200_fails_cleanly() {
        let mut r = Repo::new().await;
        r.publish().await;
        let server = http::serve(r.dir(), http::Mode::Html).await;
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&server.source()).await.unwrap_err();
        assert!(matches!(e, TrustError::Verification { .. }), "{e}");
        assert_eq!(site.state, UpdateState::default());
    }

    #[tokio::test]
    async fn case_48_no_metadata_at_all_means_no_install() {
        let dir = tempfile::tempdir().unwrap();
        let r = Repo::new().await;
        let mut site = Site::new(r.root_bytes(1));
        let e = site.load(&folder(&dir.path().join("absent"))).await.unwrap_err();
        assert!(matches!(e, TrustError::NoMetadata { .. }), "{e}");
        std::fs::create_dir_all(dir.path().join("empty/metadata")).unwrap();
        let e = site.load(&folder(&dir.path().join("empty"))).await.unwrap_err();
        assert!(matches!(e, TrustError::NoMetadata { .. }), "{e}");
        assert!(!e.alerts());
        assert_eq!(site.state, UpdateState::default());
    }
}
