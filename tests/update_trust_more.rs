//! More adversarial cases for the verification client (numbers from `update-tests.md`),
//! against repositories made by teld's own CI code (`tests/common/tuf.rs`). Each site
//! keeps its state the way the update service does: `StateFile` on disk, loaded before
//! every cycle and handed to `trust::load`.

mod common;

mod update {
    use std::path::Path;

    use hifitime::Epoch;
    use teld::update::error::TrustError;
    use teld::update::paths::UpdatePaths;
    use teld::update::source::Source;
    use teld::update::state::{Loaded, PREV_FILE, STATE_FILE, StateError, StateFile, UpdateState};
    use teld::update::trust::{self, Verified};

    use crate::common::tuf::{RoleType, TestRepo, block_on, meta};

    /// A site: its state folder, and the root shipped in its package.
    struct Site {
        _dir: tempfile::TempDir,
        paths: UpdatePaths,
        shipped: Vec<u8>,
    }

    /// Why a cycle did not verify: the state file, or the client.
    #[derive(Debug)]
    enum CycleError {
        State(StateError),
        Trust(TrustError),
    }

    impl Site {
        fn new(shipped: Vec<u8>) -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let paths = UpdatePaths::new(dir.path());
            Self { _dir: dir, paths, shipped }
        }

        fn file(&self) -> StateFile {
            StateFile::new(self.paths.update_dir())
        }

        /// What the state file holds now (panics if unreadable).
        fn state(&self) -> UpdateState {
            self.file().load().expect("state readable").0
        }

        /// One update cycle as the service runs it: load the state file, then verify.
        fn cycle(&self, repo: &Path) -> Result<(Verified, UpdateState), CycleError> {
            let (mut state, _) = self.file().load().map_err(CycleError::State)?;
            let source = Source::Folder(repo.to_path_buf());
            let now = Epoch::now().expect("clock");
            block_on(trust::load(&self.paths, &source, &self.shipped, &mut state, now))
                .map(|v| (v, state))
                .map_err(CycleError::Trust)
        }

        fn trust_err(&self, repo: &Path) -> TrustError {
            match self.cycle(repo) {
                Err(CycleError::Trust(e)) => e,
                Err(CycleError::State(e)) => panic!("state unreadable, not a trust failure: {e}"),
                Ok((v, _)) => panic!("loaded {:?}, expected a refusal", v.versions()),
            }
        }

        fn trusted_root_version(&self) -> u64 {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(self.paths.trusted_root()).expect("root"))
                    .expect("json");
            v["signed"]["version"].as_u64().expect("version")
        }

        fn state_bytes(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
            let d = self.paths.update_dir();
            (std::fs::read(d.join(STATE_FILE)).ok(), std::fs::read(d.join(PREV_FILE)).ok())
        }
    }

    fn verification(e: &TrustError) -> &str {
        match e {
            TrustError::Verification { why, .. } => why,
            other => panic!("expected a verification failure, got {other:?}: {other}"),
        }
    }

    // ---- freshness ----

    #[test]
    fn case_17_mix_and_match_targets_n_plus_1_with_snapshot_n_rejected() {
        let r = TestRepo::new();
        r.add_driver(meta("sim", "0.2.0"), b"sim 0.2.0");
        r.publish();
        let n = r.snapshot_of_metadata();
        let vn = r.versions();
        let site = Site::new(r.root1());
        site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("version N loads");
        let before = site.state_bytes();
        assert_eq!(site.state().tuf, vn);
        r.add_driver(meta("sim", "0.3.0"), b"sim 0.3.0");
        r.publish();
        assert_eq!(r.versions().targets, vn.targets + 1);

        // The mirror serves timestamp and snapshot N with targets N+1 in place of targets
        // N, under every name a client may ask for.
        let targets_n1 = std::fs::read(r.metadata_dir().join("targets.json")).ok();
        let targets_n1_c =
            std::fs::read(r.metadata_dir().join(format!("{}.targets.json", vn.targets + 1))).ok();
        let newer = targets_n1_c.or(targets_n1).expect("targets N+1 published");
        r.restore(&n);
        for name in ["targets.json".to_string(), format!("{}.targets.json", vn.targets)] {
            if r.metadata_dir().join(&name).exists() {
                std::fs::write(r.metadata_dir().join(&name), &newer).expect("swap targets");
            }
        }

        // Snapshot N pins the length (and hashes) of targets N: the longer targets N+1
        // is cut off at that length, before it is even parsed.
        let pinned = |e: &TrustError| match e {
            TrustError::TooLarge { why, .. } => {
                assert!(why.contains("targets.json") && why.contains("snapshot.json"), "{why}")
            }
            other => panic!("expected the snapshot's pinned length to refuse it: {other}"),
        };
        let e = site.trust_err(r.path());
        pinned(&e);
        assert!(e.alerts());
        assert_eq!(site.state_bytes(), before, "state untouched");
        // A site that never saw the repository refuses the mix too.
        let fresh = Site::new(r.root1());
        pinned(&fresh.trust_err(r.path()));
        assert_eq!(fresh.state_bytes(), (None, None));
    }

    // ---- state integrity ----

    #[test]
    fn case_23_state_truncated_falls_back_to_prev_both_bad_fail_closed() {
        let r = TestRepo::new();
        let v1 = r.snapshot_of_metadata();
        r.publish();
        let site = Site::new(r.root1());
        site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("load 2");
        let floors_2 = site.state().tuf;
        r.publish();
        site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("load 3");
        assert!(site.state().tuf.timestamp > floors_2.timestamp);

        // A torn write of state.json, and tough's datastore gone too, so only our
        // previous generation stands between the site and a replay of version 1.
        let cur = site.paths.update_dir().join(STATE_FILE);
        let bytes = std::fs::read(&cur).expect("state");
        std::fs::write(&cur, &bytes[..bytes.len() / 2]).expect("truncate");
        std::fs::remove_dir_all(site.paths.datastore()).expect("wipe datastore");
        let (prev, how) = site.file().load().expect("previous generation");
        assert_eq!((prev.tuf, how), (floors_2, Loaded::Previous));

        // The mirror replays version 1 of everything, validly signed.
        let current = r.snapshot_of_metadata();
        r.restore(&v1);
        let before = site.state_bytes();
        let e = site.trust_err(r.path());
        match e {
            TrustError::Rollback { role, loaded, seen } => {
                assert_eq!((role, loaded, seen), ("timestamp", 1, floors_2.timestamp));
            }
            other => panic!("expected a rollback, got {other}"),
        }
        assert_eq!(site.state_bytes(), before, "nothing written on refusal");
        r.restore(&current);

        // The real repository still loads from the previous generation and writes a
        // whole new state.json.
        let (_, saved) = site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("recovers");
        assert_eq!(site.file().load().expect("state").1, Loaded::Current);
        assert_eq!(site.state().tuf, saved.tuf);

        // Both generations torn: the cycle refuses, and nothing is reset behind its back.
        for name in [STATE_FILE, PREV_FILE] {
            let p = site.paths.update_dir().join(name);
            let b = std::fs::read(&p).expect("state file");
            std::fs::write(&p, &b[..b.len() / 3]).expect("truncate");
        }
        let torn = site.state_bytes();
        for _ in 0..2 {
            match site.cycle(r.path()) {
                Err(CycleError::State(e @ StateError::Unreadable { .. })) => {
                    let msg = e.to_string();
                    assert!(msg.contains("reset-state") && msg.contains("no update"), "{msg}");
                }
                Err(other) => panic!("expected the state to be refused, got {other:?}"),
                Ok(_) => panic!("loaded with both state generations unreadable"),
            }
            assert_eq!(site.state_bytes(), torn, "no silent reset");
        }
    }

    // ---- key management ----

    #[test]
    fn case_28_key_removed_in_root_n_plus_1_cannot_sign_targets() {
        let mut r = TestRepo::new();
        r.add_driver(meta("sim", "0.2.0"), b"sim 0.2.0");
        r.publish();
        let old_targets_key = r.key_path(RoleType::Targets);
        r.rotate_keys(&[RoleType::Targets]);
        assert_eq!(r.versions().root, 2);
        assert_ne!(r.key_path(RoleType::Targets), old_targets_key, "targets key replaced");
        let site = Site::new(r.root1());
        site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("root 2 loads");
        assert_eq!((site.state().tuf.root, site.trusted_root_version()), (2, 2));
        let before = site.state_bytes();

        // The removed key signs new targets (snapshot and timestamp signed normally).
        r.sign_role_with(RoleType::Targets, &old_targets_key);
        let e = site.trust_err(r.path());
        let why = verification(&e);
        assert!(why.to_lowercase().contains("targets"), "{why}");
        assert!(e.alerts());
        assert_eq!(site.state_bytes(), before, "state untouched");
        assert_eq!(site.trusted_root_version(), 2);
        // A site that only has root 1 walks to root 2 first and refuses as well.
        let fresh = Site::new(r.root1());
        verification(&fresh.trust_err(r.path()));
    }

    #[test]
    fn case_29_expired_root_offline_then_newer_roots_chain_succeeds() {
        let r = TestRepo::new();
        r.add_driver(meta("sim", "0.2.0"), b"sim 0.2.0");
        r.publish();
        // Root 2 expired while the site was offline; the release team has since
        // published root 3 (same keys, fresh expiry).
        r.set_expiry(RoleType::Root, true);
        let expired = r.root(2);
        r.set_expiry(RoleType::Root, false);
        assert_eq!(r.versions().root, 3);

        // A site that walks 1 → 2 (expired) → 3 and one whose newest root is the
        // expired 2 (its package's): both end on root 3.
        for shipped in [r.root1(), expired] {
            let site = Site::new(shipped);
            let (v, state) =
                site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("chain to root 3");
            assert_eq!(v.versions().root, 3);
            assert_eq!((state.tuf.root, site.trusted_root_version()), (3, 3));
            assert_eq!(site.state().tuf, v.versions());
            assert!(v.targets().any(|(n, _)| n.raw().contains("sim")));
        }
    }

    #[test]
    fn case_29_expired_root_without_a_newer_one_means_no_install_and_an_alert() {
        let r = TestRepo::new();
        r.add_driver(meta("sim", "0.2.0"), b"sim 0.2.0");
        r.publish();
        let site = Site::new(r.root1());
        site.cycle(r.path()).map_err(|e| format!("{e:?}")).expect("root 1 loads");
        let before = site.state_bytes();
        r.set_expiry(RoleType::Root, true);
        let e = site.trust_err(r.path());
        assert!(matches!(&e, TrustError::Expired { role } if role == "root"), "{e}");
        assert!(e.alerts(), "an expired root needs the release team");
        assert!(e.to_string().contains("drivers keep running"), "{e}");
        assert_eq!(site.state_bytes(), before, "state untouched");
        assert_eq!(site.trusted_root_version(), 1, "the expired root is not persisted");
        // A fresh site is refused the same way and records nothing.
        let fresh = Site::new(r.root1());
        assert!(matches!(fresh.trust_err(r.path()), TrustError::Expired { .. }));
        assert_eq!(fresh.state_bytes(), (None, None));
    }
}
