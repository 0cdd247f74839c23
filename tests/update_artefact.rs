//! `teld artefact …` as CI runs it: the real binary on a real folder, checked with
//! `tough` from an empty client state.

mod common;

mod update {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use teld::artefact::RepoDir;
    use teld::update::meta::DriverMeta;

    use crate::common::tuf::{self, TestRepo, block_on};

    fn teld(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_teld"))
            .arg("artefact")
            .args(args)
            .output()
            .expect("run teld")
    }

    fn ok(args: &[&str]) -> String {
        let out = teld(args);
        assert!(
            out.status.success(),
            "teld artefact {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn fails(args: &[&str]) -> String {
        let out = teld(args);
        assert!(!out.status.success(), "teld artefact {args:?} should fail");
        String::from_utf8(out.stderr).expect("utf-8")
    }

    struct Site {
        _dir: tempfile::TempDir,
        repo: PathBuf,
        keys: PathBuf,
        scratch: PathBuf,
    }

    impl Site {
        fn init() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let repo = dir.path().join("repo");
            let keys = dir.path().join("keys");
            let scratch = dir.path().join("scratch");
            std::fs::create_dir_all(&scratch).unwrap();
            ok(&["init", "--repo", s(&repo), "--keys", s(&keys)]);
            Self { _dir: dir, repo, keys, scratch }
        }

        fn at(&self) -> [&str; 4] {
            ["--repo", s(&self.repo), "--keys", s(&self.keys)]
        }

        fn add(&self, meta: &DriverMeta, bytes: &[u8]) -> Output {
            let file = self.scratch.join(format!("{}-{}", meta.driver, meta.version));
            std::fs::write(&file, bytes).unwrap();
            let (version, epoch, protocol) =
                (meta.version.to_string(), meta.epoch.to_string(), meta.protocol.to_string());
            let min = meta.min_daemon.to_string();
            let mut args = vec!["add"];
            args.extend(self.at());
            args.extend([
                "--file",
                s(&file),
                "--driver",
                &meta.driver,
                "--version",
                &version,
                "--epoch",
                &epoch,
                "--triple",
                &meta.triple,
                "--protocol",
                &protocol,
                "--min-daemon",
                &min,
                "--git-sha",
                &meta.git_sha,
            ]);
            teld(&args)
        }

        fn publish(&self) -> String {
            let mut args = vec!["publish"];
            args.extend(self.at());
            ok(&args)
        }

        fn root1(&self) -> PathBuf {
            RepoDir::new(&self.repo).root_file(1)
        }

        fn verify_cli(&self) -> String {
            ok(&["verify", "--repo", s(&self.repo), "--root", s(&self.root1())])
        }

        fn versions(&self) -> (u64, u64, u64, u64) {
            let c = RepoDir::new(&self.repo).current().unwrap();
            (
                c.root_version(),
                c.targets.signed.version.get(),
                c.snapshot.signed.version.get(),
                c.timestamp.signed.version.get(),
            )
        }
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn init_writes_private_keys_a_loadable_repository_and_never_overwrites() {
        let site = Site::init();
        let md = RepoDir::new(&site.repo).metadata_dir();
        for f in ["1.root.json", "1.targets.json", "1.snapshot.json", "timestamp.json"] {
            assert!(md.join(f).is_file(), "{f} missing");
        }
        assert_eq!(mode(&site.keys), 0o700);
        let mut names: Vec<String> = std::fs::read_dir(&site.keys)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "root-1.pem",
                "root-2.pem",
                "root-3.pem",
                "snapshot.pem",
                "targets.pem",
                "timestamp.pem"
            ]
        );
        for n in &names {
            let p = site.keys.join(n);
            assert_eq!(mode(&p), 0o600, "{n}");
            assert!(
                std::fs::read_to_string(&p).unwrap().starts_with("-----BEGIN PRIVATE KEY-----")
            );
        }
        assert!(site.verify_cli().contains("root 1 targets 1 snapshot 1 timestamp 1, 0 driver"));

        let before = std::fs::read(site.keys.join("root-1.pem")).unwrap();
        let root_before = std::fs::read(site.root1()).unwrap();
        let e = fails(&["init", "--repo", s(&site.repo), "--keys", s(&site.keys)]);
        assert!(e.contains("already exists") && e.contains("never replaced"), "{e}");
        // Another repository folder but the same keys: still refused, keys untouched.
        let other = site.scratch.join("other");
        let e = fails(&["init", "--repo", s(&other), "--keys", s(&site.keys)]);
        assert!(e.contains("key file"), "{e}");
        assert!(!other.join("metadata").exists());
        assert_eq!(std::fs::read(site.keys.join("root-1.pem")).unwrap(), before);
        assert_eq!(std::fs::read(site.root1()).unwrap(), root_before);
    }

    #[test]
    fn added_build_is_signed_with_its_custom_fields_and_reads_back_from_empty_state() {
        let site = Site::init();
        let mut m = tuf::meta("sim", "0.2.0");
        m.epoch = 1;
        let bytes = b"#!/bin/sh\necho driver 0.2.0\n".repeat(100);
        let out = site.add(&m, &bytes);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("staged"));
        let published = site.publish();
        assert!(published.contains("published 1 new build"), "{published}");

        // CLI verify: one JSON line per driver, custom fields as signed.
        let out = site.verify_cli();
        let line = out.lines().find(|l| l.starts_with('{')).expect("a driver line");
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let custom: DriverMeta = serde_json::from_value(v["custom"].clone()).unwrap();
        assert_eq!(custom, m);
        assert_eq!(v["name"], m.target_name());

        // Independently: tough, empty datastore, root 1, file transport.
        let repo = RepoDir::new(&site.repo);
        let root1 = std::fs::read(site.root1()).unwrap();
        let verified = block_on(teld::artefact::verify::verify(
            &repo.metadata_dir(),
            &repo.targets_dir(),
            &root1,
        ))
        .unwrap();
        assert_eq!(verified.drivers.len(), 1);
        assert_eq!(verified.drivers[0].meta, m);
        let sha = teld::artefact::stage::sha256_hex(&bytes);
        assert_eq!(verified.drivers[0].sha256, sha);
        // Served where tough looks with consistent snapshots.
        let on_disk = repo.target_file(&m.target_name(), &sha);
        assert_eq!(std::fs::read(&on_disk).unwrap(), bytes);
        assert!(on_disk.starts_with(repo.targets_dir().join(format!("{sha}.drivers"))));
        assert!(!repo.staging_dir().exists(), "staging cleared after publish");

        // Same bytes again: a no-op, not a new build.
        let out = site.add(&m, &bytes);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    }

    /// Two CI jobs build "sim 1.0.0" from different trees. The second staged its build
    /// before the first published; it syncs the published repository and publishes:
    /// refused, whatever `add` saw. And once published, `add` itself refuses.
    #[test]
    fn case_11_same_version_other_bytes_refused_at_publish() {
        let a = Site::init();
        let b_dir = a.scratch.join("job-b");
        copy_dir(&a.repo, &b_dir);
        let m = tuf::meta("sim", "1.0.0");
        assert!(a.add(&m, b"build A").status.success());
        a.publish();

        let b = Site {
            _dir: tempfile::tempdir().unwrap(),
            repo: b_dir,
            keys: a.keys.clone(),
            scratch: a.scratch.clone(),
        };
        assert!(b.add(&m, b"build B").status.success(), "B's add saw no published 1.0.0");
        // B syncs what the mirror serves now (A's publish), keeping its staging.
        std::fs::remove_dir_all(b.repo.join("metadata")).unwrap();
        std::fs::remove_dir_all(b.repo.join("targets")).unwrap();
        copy_dir(&a.repo.join("metadata"), &b.repo.join("metadata"));
        copy_dir(&a.repo.join("targets"), &b.repo.join("targets"));
        let before = b.versions();
        let mut args = vec!["publish"];
        args.extend(b.at());
        let e = fails(&args);
        assert!(
            e.contains("new build under an old version") && e.contains("bump the version"),
            "{e}"
        );
        assert_eq!(b.versions(), before, "nothing signed");
        let sha_a = teld::artefact::stage::sha256_hex(b"build A");
        let out = b.verify_cli();
        assert!(out.contains(&sha_a), "A's build still the one served: {out}");

        // After the publish, `add` of other bytes is refused at once.
        let out = a.add(&m, b"build C");
        assert!(!out.status.success());
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains("already published") && e.contains("bump the version"), "{e}");
        // Same bytes but other signed fields: refused too.
        let mut m2 = m.clone();
        m2.git_sha = "abcdef1234567".into();
        let out = a.add(&m2, b"build A");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("metadata never changes"));
    }

    #[test]
    fn refresh_timestamp_bumps_only_the_timestamp() {
        let site = Site::init();
        assert!(site.add(&tuf::meta("lx200", "0.3.0"), b"lx200").status.success());
        site.publish();
        let (root, targets, snapshot, ts) = site.versions();
        let md = RepoDir::new(&site.repo).metadata_dir();
        let listing = |md: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(md)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let files = listing(&md);
        let mut args = vec!["refresh-timestamp"];
        args.extend(site.at());
        args.extend(["--expires", "2d"]);
        let out = ok(&args);
        assert!(out.contains(&format!("timestamp {}", ts + 1)), "{out}");
        assert_eq!(site.versions(), (root, targets, snapshot, ts + 1));
        assert_eq!(listing(&md), files, "no new versioned file, only timestamp.json rewritten");
        let c = RepoDir::new(&site.repo).current().unwrap();
        let left = c.timestamp.signed.expires.duration_since(jiff::Timestamp::now());
        assert!(
            left > jiff::SignedDuration::from_hours(47)
                && left <= jiff::SignedDuration::from_hours(48)
        );
    }

    /// Root 1 is 2-of-3: a copy carrying only two signatures still verifies (one key
    /// holder absent), one signature does not; a rotation signed with only two root
    /// keys present is accepted by a fresh client following the chain.
    #[test]
    fn root_2_of_3_verifies_with_two_signatures() {
        let site = Site::init();
        let root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(site.root1()).unwrap()).unwrap();
        assert_eq!(root["signatures"].as_array().unwrap().len(), 3);
        assert_eq!(root["signed"]["roles"]["root"]["threshold"], 2);
        assert_eq!(root["signed"]["consistent_snapshot"], true);
        let with = |n: usize| {
            let mut r = root.clone();
            r["signatures"].as_array_mut().unwrap().truncate(n);
            let p = site.scratch.join(format!("root-{n}-sigs.json"));
            std::fs::write(&p, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
            p
        };
        ok(&["verify", "--repo", s(&site.repo), "--root", s(&with(2))]);
        let e = fails(&["verify", "--repo", s(&site.repo), "--root", s(&with(1))]);
        assert!(e.contains("does not verify") && e.to_lowercase().contains("threshold"), "{e}");

        // Rotation with root key holder 3 absent.
        let two = site.scratch.join("two-root-keys");
        std::fs::create_dir_all(&two).unwrap();
        for f in ["root-1.pem", "root-2.pem", "targets.pem", "snapshot.pem", "timestamp.pem"] {
            std::fs::copy(site.keys.join(f), two.join(f)).unwrap();
        }
        let new = site.scratch.join("keys-2");
        let out =
            ok(&["rotate-root", "--repo", s(&site.repo), "--keys", s(&two), "--new-keys", s(&new)]);
        assert!(out.contains("root 2 written"), "{out}");
        let r2: serde_json::Value =
            serde_json::from_slice(&std::fs::read(RepoDir::new(&site.repo).root_file(2)).unwrap())
                .unwrap();
        assert_eq!(r2["signatures"].as_array().unwrap().len(), 2 + 3, "2 old + 3 new");
        assert!(site.verify_cli().contains("root 2 "));
    }

    #[test]
    fn rotate_root_replacing_the_targets_key_retires_the_old_one() {
        let site = Site::init();
        let new = site.scratch.join("keys-2");
        let mut args = vec!["rotate-root"];
        args.extend(site.at());
        args.extend(["--new-keys", s(&new), "--replace", "targets,snapshot"]);
        ok(&args);
        for f in ["root-1.pem", "targets.pem", "timestamp.pem"] {
            assert_eq!(mode(&new.join(f)), 0o600, "{f}");
        }
        assert_ne!(
            std::fs::read(new.join("targets.pem")).unwrap(),
            std::fs::read(site.keys.join("targets.pem")).unwrap()
        );
        assert_eq!(
            std::fs::read(new.join("timestamp.pem")).unwrap(),
            std::fs::read(site.keys.join("timestamp.pem")).unwrap(),
            "kept roles keep their keys"
        );
        assert!(site.add(&tuf::meta("sim", "0.4.0"), b"x").status.success());
        let e = fails(&["publish", "--repo", s(&site.repo), "--keys", s(&site.keys)]);
        assert!(e.contains("targets key(s)"), "{e}");
        ok(&["publish", "--repo", s(&site.repo), "--keys", s(&new)]);
        assert!(site.verify_cli().contains("root 2 targets 3"));
        // A rotation into a folder that already holds keys is refused.
        let mut args = vec!["rotate-root"];
        args.extend(["--repo", s(&site.repo), "--keys", s(&new), "--new-keys", s(&new)]);
        assert!(fails(&args).contains("already exists"));
    }

    #[test]
    fn bad_flags_and_missing_pieces_give_clear_errors() {
        let site = Site::init();
        let e = fails(&[
            "refresh-timestamp",
            "--repo",
            s(&site.repo),
            "--keys",
            s(&site.keys),
            "--expires",
            "2w",
        ]);
        assert!(e.contains("14d, 12h"), "{e}");
        let file = site.scratch.join("bin");
        std::fs::write(&file, b"x").unwrap();
        let base = |version: &str, sha: &str| {
            vec![
                "add".to_string(),
                "--repo".into(),
                s(&site.repo).into(),
                "--file".into(),
                s(&file).into(),
                "--driver".into(),
                "sim".into(),
                "--version".into(),
                version.into(),
                "--triple".into(),
                "x86_64-unknown-linux-gnu".into(),
                "--protocol".into(),
                "1".into(),
                "--min-daemon".into(),
                "0.1.0".into(),
                "--git-sha".into(),
                sha.into(),
            ]
        };
        let run = |a: Vec<String>| teld(&a.iter().map(String::as_str).collect::<Vec<_>>());
        let e = String::from_utf8(run(base("1.x", "abcdef1")).stderr).unwrap();
        assert!(e.contains("--version"), "{e}");
        let e = String::from_utf8(run(base("1.0.0", "not-a-sha")).stderr).unwrap();
        assert!(e.contains("git sha") && e.contains("hex"), "{e}");
        let mut a = base("1.0.0", "abcdef1");
        a[6] = "../evil".into();
        let e = String::from_utf8(run(a).stderr).unwrap();
        assert!(e.contains("invalid driver"), "{e}");
        let mut a = base("1.0.0", "abcdef1");
        a[2] = s(&site.scratch).into();
        let e = String::from_utf8(run(a).stderr).unwrap();
        assert!(e.contains("teld artefact init"), "{e}");
        // Online keys missing (only root keys here): named, with what to do.
        let only_root = site.scratch.join("root-only");
        std::fs::create_dir_all(&only_root).unwrap();
        std::fs::copy(site.keys.join("root-1.pem"), only_root.join("root-1.pem")).unwrap();
        let e = fails(&["publish", "--repo", s(&site.repo), "--keys", s(&only_root)]);
        assert!(e.contains("only 0 of the 1 targets key(s)"), "{e}");
        std::fs::write(
            only_root.join("junk.pem"),
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = fails(&["publish", "--repo", s(&site.repo), "--keys", s(&only_root)]);
        assert!(e.contains("junk.pem") && e.contains("PKCS#8"), "{e}");
        assert_eq!(site.versions(), (1, 1, 1, 1), "nothing signed by failed commands");
    }

    /// The fixture other pieces build on: basics behave like the CLI.
    #[test]
    fn fixture_builds_publishes_and_refreshes() {
        let t = TestRepo::new();
        let name = t.add_driver(tuf::meta("sim", "0.2.0"), b"sim 0.2.0");
        let v = t.publish();
        assert_eq!(v.drivers.len(), 1);
        assert_eq!(v.drivers[0].name, name);
        assert_eq!(std::fs::read(t.target_file(&name)).unwrap(), b"sim 0.2.0");
        let before = t.versions();
        let v = t.refresh_timestamp();
        assert_eq!(v.timestamp_version, before.timestamp + 1);
        assert_eq!(t.versions().targets, before.targets);
        assert!(!t.root1().is_empty());
    }

    /// Plain tough from an empty state: what the fixture's bad metadata does to a
    /// client that trusts `root`. (The daemon-level cases belong to the TRUST tests.)
    fn tough_load(t: &TestRepo, root: &[u8]) -> Result<teld::artefact::Verified, String> {
        block_on(teld::artefact::verify::verify(&t.metadata_dir(), &t.targets_dir(), root))
            .map_err(|e| e.to_string())
    }

    /// Fixture for cases 5 and 28: a valid key of the wrong role, or one the newest root
    /// dropped, signs targets.
    #[test]
    fn fixture_wrong_role_and_retired_keys_are_rejected_by_tough() {
        let t = TestRepo::new();
        t.add_driver(tuf::meta("sim", "0.2.0"), b"sim");
        t.publish();
        t.sign_role_with(tuf::RoleType::Targets, &t.key_path(tuf::RoleType::Timestamp));
        let e = tough_load(&t, &t.root1()).unwrap_err();
        assert!(e.to_lowercase().contains("threshold"), "{e}");

        let mut t = TestRepo::new();
        let old_targets_key = t.key_path(tuf::RoleType::Targets);
        t.rotate_keys(&[tuf::RoleType::Targets]);
        assert_ne!(t.key_path(tuf::RoleType::Targets), old_targets_key);
        assert_eq!(tough_load(&t, &t.root1()).unwrap().root_version, 2);
        t.sign_role_with(tuf::RoleType::Targets, &old_targets_key);
        assert!(tough_load(&t, &t.root1()).is_err());
    }

    /// Fixture for case 15 (and 29's expired root): past expiries fail tough's check.
    #[test]
    fn fixture_expired_roles_are_rejected_by_tough() {
        for role in [
            tuf::RoleType::Timestamp,
            tuf::RoleType::Snapshot,
            tuf::RoleType::Targets,
            tuf::RoleType::Root,
        ] {
            let t = TestRepo::new();
            t.set_expiry(role, true);
            let e = tough_load(&t, &t.root1()).unwrap_err();
            assert!(e.to_lowercase().contains("expired"), "{role}: {e}");
            t.set_expiry(role, false);
            tough_load(&t, &t.root1()).unwrap_or_else(|e| panic!("{role} renewed: {e}"));
        }
    }

    /// Fixture for cases 26 and 27: cross-signed rotation accepted, the others not; a
    /// gap in the chain leaves the client on the last root it can reach.
    #[test]
    fn fixture_root_rotations_behave_as_tuf_says() {
        let mut t = TestRepo::new();
        t.rotate_root(true, true);
        assert_eq!(tough_load(&t, &t.root1()).unwrap().root_version, 2);
        for (cross, threshold) in [(false, true), (true, false)] {
            let mut t = TestRepo::new();
            t.rotate_root(cross, threshold);
            let e = tough_load(&t, &t.root1()).unwrap_err();
            assert!(e.to_lowercase().contains("threshold"), "{cross} {threshold}: {e}");
        }
        let mut t = TestRepo::new();
        t.rotate_root(true, true);
        t.rotate_root(true, true);
        t.remove_root(2);
        assert_eq!(tough_load(&t, &t.root1()).unwrap().root_version, 1, "no skip to 3");
    }

    /// Fixture for cases 12, 18 and 24: replay, fast-forward, forged root.
    #[test]
    fn fixture_replay_fast_forward_and_forged_root() {
        let t = TestRepo::new();
        let old = t.snapshot_of_metadata();
        t.add_driver(tuf::meta("sim", "0.3.0"), b"new");
        t.publish();
        t.restore(&old);
        assert_eq!(t.versions().targets, 1);
        assert_eq!(tough_load(&t, &t.root1()).unwrap().drivers.len(), 0);

        let big = 1u64 << 40;
        t.publish_with_versions(teld::artefact::Versions {
            snapshot: Some(big),
            timestamp: Some(big),
            ..Default::default()
        });
        let v = tough_load(&t, &t.root1()).unwrap();
        assert_eq!((v.snapshot_version, v.timestamp_version), (big, big));

        let mut t = TestRepo::new();
        t.rotate_root(true, true);
        let legit_root2 = t.root(2);
        t.forge_next_root(1);
        // tough's gap: from root 1 alone the forged root 2 is accepted…
        assert_eq!(tough_load(&t, &t.root1()).unwrap().root_version, 2);
        // …but not by a client that starts from the legitimate root 2.
        assert!(tough_load(&t, &legit_root2).is_err());
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dest = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
    }
}
