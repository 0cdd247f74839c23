//! Installing signed driver builds: staging, verify-then-exec, trial, health check and
//! rollback, against the real `teld-driver-sim` binary and real processes. "New
//! versions" are tiny wrapper scripts (`exec teld-driver-sim --report-version …`), so
//! what runs is exactly the bytes that were staged and hashed.
//!
//! Needs the sim driver built next to teld (`cargo build -p teld-driver-sim`).

mod update {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use sha2::{Digest, Sha256};
    use teld::clock::Clock;
    use teld::config::{DEFAULT_CONFIG, DriverConfig};
    use teld::core::{Core, Snapshot};
    use teld::devices::{DriverHandle, SupervisorContext, spawn_supervisor_with_slot};
    use teld::store::Store;
    use teld::update::exec::{Launch, Role, SlotExec};
    use teld::update::health::TrialConfig;
    use teld::update::install::{Expected, InstallError, stage};
    use teld::update::meta::DriverMeta;
    use teld::update::paths::UpdatePaths;
    use teld::update::rollout::{Outcome, apply};
    use teld::update::slot::SlotDir;
    use teld::update::state::{Installed, StateFile, UpdateState};
    use teld::update::trial::{TrialError, begin_trial, commit, recover};
    use teld_driver_protocol::Site;
    use tokio_util::sync::CancellationToken;

    // ---------- fixtures ----------

    fn sim() -> PathBuf {
        let p = PathBuf::from(env!("CARGO_BIN_EXE_teld")).with_file_name("teld-driver-sim");
        assert!(p.is_file(), "{} missing: run `cargo build -p teld-driver-sim` first", p.display());
        p
    }

    /// A build: a shell wrapper around the real sim binary, as the metadata for it.
    struct Build {
        bytes: Vec<u8>,
        expected: Expected,
    }

    fn meta(kind: &str, version: &str, git_sha: &str) -> DriverMeta {
        DriverMeta {
            driver: kind.into(),
            version: version.parse().unwrap(),
            epoch: 0,
            triple: teld::update::meta::HOST_TRIPLE.into(),
            protocol: 1,
            min_daemon: "0.1.0".parse().unwrap(),
            git_sha: git_sha.into(),
            security_floor: None,
            channel: "stable".into(),
        }
    }

    /// `body` runs before the exec; `{sim}` is replaced by the sim's path.
    fn build_with(kind: &str, version: &str, reports: &str, body: &str) -> Build {
        let sha = format!("sha-{version}");
        let script = format!(
            "#!/bin/sh\n# {kind} {version}\n{}\nexec {} --report-version {reports} --report-git-sha {sha} \"$@\"\n",
            body.replace("{sim}", &sim().display().to_string()),
            sim().display()
        );
        let bytes = script.into_bytes();
        let expected = Expected {
            meta: meta(kind, version, &sha),
            sha256: hex(&Sha256::digest(&bytes)),
            length: bytes.len() as u64,
        };
        Build { bytes, expected }
    }

    fn build(kind: &str, version: &str) -> Build {
        build_with(kind, version, version, "")
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn chunks(bytes: &[u8]) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let parts: Vec<_> = bytes.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        futures_util::stream::iter(parts)
    }

    struct Site_ {
        _dir: tempfile::TempDir,
        paths: UpdatePaths,
        file: StateFile,
    }

    fn site() -> Site_ {
        let dir = tempfile::tempdir().unwrap();
        let paths = UpdatePaths::new(dir.path().join("state"));
        let file = StateFile::new(paths.update_dir());
        Site_ { _dir: dir, paths, file }
    }

    fn now() -> hifitime::Epoch {
        teld_driver_protocol::time::parse_utc("2026-11-24T20:00:00").unwrap()
    }

    async fn staged(s: &Site_, b: &Build) -> Installed {
        let slot = SlotDir::new(&s.paths, &b.expected.meta.driver).unwrap();
        stage(&slot, chunks(&b.bytes), &b.expected).await.unwrap()
    }

    /// Stages and commits `b` without a driver (a site that already runs it).
    async fn committed(s: &Site_, b: &Build) -> Installed {
        let i = staged(s, b).await;
        let slot = SlotDir::new(&s.paths, &b.expected.meta.driver).unwrap();
        begin_trial(&slot, &s.file, &i, now()).unwrap();
        commit(&slot, &s.file).unwrap()
    }

    fn state(s: &Site_) -> UpdateState {
        s.file.load().unwrap().0
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    struct Rig {
        _core: Core,
        shutdown: CancellationToken,
        _dir: tempfile::TempDir,
    }

    impl Drop for Rig {
        fn drop(&mut self) {
            self.shutdown.cancel();
        }
    }

    async fn supervise(paths: &UpdatePaths, kind: &str, name: &str) -> (Rig, DriverHandle) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
        let core = Core::new(Snapshot::default());
        let ctx = Arc::new(SupervisorContext {
            clock: Clock::simulated(now(), 60.0),
            core: core.clone(),
            store,
            spool_dir: dir.path().to_path_buf(),
            site: Site { latitude_deg: 28.76, longitude_deg: -17.88, height_m: 2396.0 },
            state_interval_ms: 500,
            routes: HashMap::new(),
            expected: HashMap::new(),
            liveness: Default::default(),
        });
        let base = teld::config::load_str(DEFAULT_CONFIG, "default", Vec::new())
            .unwrap()
            .drivers
            .remove(0);
        let cfg = DriverConfig {
            name: name.into(),
            kind: kind.into(),
            program: Some(sim().display().to_string()),
            heartbeat_interval_s: 0.25,
            heartbeat_timeout_s: 2.0,
            restart_backoff_initial_s: 0.1,
            restart_backoff_max_s: 0.5,
            start_timeout_s: 10.0,
            ..base
        };
        let shutdown = CancellationToken::new();
        let slot = SlotExec::new(paths, kind).unwrap();
        let (handle, _task) = spawn_supervisor_with_slot(cfg, ctx, shutdown.clone(), Some(slot));
        tokio::time::timeout(Duration::from_secs(30), handle.wait_up()).await.expect("driver up");
        (Rig { _core: core, shutdown, _dir: dir }, handle)
    }

    fn hello_version(h: &DriverHandle) -> Option<String> {
        h.runs().borrow().hello.as_ref().map(|h| h.version.clone())
    }

    const QUICK: TrialConfig =
        TrialConfig { ready_timeout: Duration::from_secs(15), probation: Duration::from_secs(1) };

    /// Tries `b` on a sim slot that committed 0.2.0 and runs it.
    async fn try_update(b: &Build, cfg: TrialConfig) -> (Site_, Rig, DriverHandle, Outcome) {
        let s = site();
        committed(&s, &build("sim", "0.2.0")).await;
        let (rig, h) = supervise(&s.paths, "sim", "sim").await;
        assert_eq!(hello_version(&h).as_deref(), Some("0.2.0"));
        let cand = staged(&s, b).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let out = apply(&h, &slot, &s.file, &cand, cfg, now).await.unwrap();
        (s, rig, h, out)
    }

    /// After a rollback: 0.2.0 committed and serving, the candidate bad, `current` back.
    fn assert_rolled_back(s: &Site_, h: &DriverHandle, bad: &str, out: &Outcome) {
        assert!(matches!(out, Outcome::RolledBack { .. }), "{out:?}");
        let st = state(s);
        let slot = st.slot("sim").unwrap();
        assert_eq!(slot.committed.as_ref().unwrap().release.version.to_string(), "0.2.0");
        assert!(slot.trial.is_none());
        assert!(slot.bad.iter().any(|b| b.release.version.to_string() == bad), "{:?}", slot.bad);
        let link = std::fs::read_link(s.paths.slot("sim").join("current")).unwrap();
        assert!(link.to_string_lossy().contains("0.2.0-"), "{}", link.display());
        assert!(h.is_up());
        assert_eq!(hello_version(h).as_deref(), Some("0.2.0"));
    }

    // ---------- staging ----------

    #[tokio::test]
    async fn case_02_bit_flip_is_refused_and_staging_deleted() {
        let s = site();
        let b = build("sim", "0.2.0");
        let mut bytes = b.bytes.clone();
        bytes[20] ^= 0x01;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let e = stage(&slot, chunks(&bytes), &b.expected).await.unwrap_err();
        assert!(matches!(e, InstallError::Mismatch { .. }), "{e}");
        assert!(entries(&slot.staging()).is_empty());
        assert!(entries(&slot.versions()).is_empty());
        assert!(!s.file.path().exists(), "state untouched");
    }

    #[tokio::test]
    async fn case_03_endless_or_short_or_broken_stream_is_refused() {
        let s = site();
        let b = build("sim", "0.2.0");
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let endless = futures_util::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(Bytes::from_static(b"AAAAAAAAAAAAAAAA"))
        });
        let e = stage(&slot, endless, &b.expected).await.unwrap_err();
        assert!(matches!(e, InstallError::TooLong { .. }), "{e}");
        let e = stage(&slot, chunks(&b.bytes[..10]), &b.expected).await.unwrap_err();
        assert!(matches!(e, InstallError::TooShort { .. }), "{e}");
        let broken = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"#!/bin/sh\n")),
            Err(std::io::Error::other("connection reset")),
        ]);
        let e = stage(&slot, broken, &b.expected).await.unwrap_err();
        assert!(e.to_string().contains("connection reset"), "{e}");
        assert!(entries(&slot.staging()).is_empty());
        assert!(entries(&slot.versions()).is_empty());
        // And the real thing installs, read-only, in its version folder.
        let i = stage(&slot, chunks(&b.bytes), &b.expected).await.unwrap();
        let p = slot.program(&i.dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o555);
        assert!(entries(&slot.staging()).is_empty());
    }

    #[tokio::test]
    async fn case_07_names_are_confined_to_versions() {
        let s = site();
        assert!(SlotDir::new(&s.paths, "../evil").is_err());
        assert!(SlotDir::new(&s.paths, "/etc").is_err());
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        // A target signed for another slot (or a path-like driver name) is refused.
        let mut b = build("sim", "0.2.0");
        b.expected.meta.driver = "../../tmp".into();
        let e = stage(&slot, chunks(&b.bytes), &b.expected).await.unwrap_err();
        assert!(matches!(e, InstallError::WrongSlot { .. }), "{e}");
        // A state entry naming a folder outside `versions/` is refused.
        assert!(slot.program("../../../etc").is_err());
        assert!(slot.program("/etc").is_err());
        // A symlink planted where the version folder goes is not followed.
        let b = build("sim", "0.2.0");
        let outside = tempfile::tempdir().unwrap();
        slot.prepare().unwrap();
        let name =
            teld::update::slot::version_dir_name(&b.expected.meta, &b.expected.sha256).unwrap();
        std::os::unix::fs::symlink(outside.path(), slot.versions().join(&name)).unwrap();
        let e = stage(&slot, chunks(&b.bytes), &b.expected).await.unwrap_err();
        assert!(matches!(e, InstallError::Occupied { .. }), "{e}");
        assert!(entries(outside.path()).is_empty(), "nothing written outside versions/");
        assert!(entries(&slot.staging()).is_empty());
    }

    // ---------- verify-then-exec ----------

    #[tokio::test]
    async fn case_09_exec_runs_the_verified_descriptor_not_the_path() {
        let s = site();
        let i = committed(&s, &build("sim", "0.2.0")).await;
        let exec = SlotExec::new(&s.paths, "sim").unwrap();
        let Launch::Slot(verified) = exec.select() else { panic!("no verified build") };
        // Swap the file on disk after the check (a local write race).
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let path = slot.program(&i.dir).unwrap();
        let vdir = path.parent().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(vdir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let evil = vdir.join("evil");
        std::fs::write(&evil, build("sim", "6.6.6").bytes).unwrap();
        std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&evil, &path).unwrap();
        // Exec through the descriptor: the verified build runs.
        let mut child = verified
            .command()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        drop(child.stdin.take());
        let _ = child.wait();
        assert!(line.contains("\"version\":\"0.2.0\""), "{line}");
        // And the next start refuses the swapped file.
        assert!(!matches!(exec.select(), Launch::Slot(_)));
    }

    #[tokio::test]
    async fn case_10_altered_binary_refused_previous_started_with_alert() {
        let s = site();
        committed(&s, &build("sim", "0.2.0")).await;
        let i3 = committed(&s, &build("sim", "0.3.0")).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let path = slot.program(&i3.dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[15] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let mut events = {
            let (rig, h) = supervise(&s.paths, "sim", "sim").await;
            assert_eq!(hello_version(&h).as_deref(), Some("0.2.0"), "previous started");
            let r = h.runs().borrow().installed.clone().unwrap();
            assert_eq!(r.release.version.to_string(), "0.2.0");
            (rig, h)
        };
        let _ = &mut events;
        let exec = SlotExec::new(&s.paths, "sim").unwrap();
        match exec.select() {
            Launch::Slot(v) => {
                assert_eq!(v.role, Role::Previous);
                assert!(v.alert.unwrap().contains("altered on disk"));
            }
            other => panic!("{other:?}"),
        }
        // Previous altered too: nothing runs.
        let prev =
            slot.program(&state(&s).slot("sim").unwrap().previous.clone().unwrap().dir).unwrap();
        std::fs::set_permissions(&prev, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&prev, b"").unwrap();
        assert!(matches!(exec.select(), Launch::Held(why) if why.contains("altered")));
    }

    #[tokio::test]
    async fn case_36_zero_length_binary_or_state_never_trusted() {
        let s = site();
        let i = committed(&s, &build("sim", "0.2.0")).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        // A power cut that lost the data of an un-fsynced file leaves it empty.
        let path = slot.program(&i.dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&path, b"").unwrap();
        let exec = SlotExec::new(&s.paths, "sim").unwrap();
        assert!(matches!(exec.select(), Launch::Held(_)), "an empty binary is never run");
        // Both state generations empty: fail closed, and never fall back to shipped.
        std::fs::write(s.file.path(), b"").unwrap();
        std::fs::write(s.paths.update_dir().join("state.json.prev"), b"").unwrap();
        assert!(s.file.load().is_err());
        assert!(matches!(exec.select(), Launch::Held(why) if why.contains("cannot be read")));
        assert!(recover(&s.paths, &s.file, "sim", now()).is_err());
    }

    // ---------- health check and rollback ----------

    #[tokio::test]
    async fn healthy_update_commits_moves_links_and_collects_old_versions() {
        let (s, _rig, h, out) = try_update(&build("sim", "0.3.0"), QUICK).await;
        assert!(matches!(out, Outcome::Committed(_)), "{out:?}");
        assert_eq!(hello_version(&h).as_deref(), Some("0.3.0"));
        let st = state(&s);
        let slot = st.slot("sim").unwrap();
        assert_eq!(slot.floor.as_ref().unwrap().version.to_string(), "0.3.0");
        assert_eq!(slot.previous.as_ref().unwrap().release.version.to_string(), "0.2.0");
        let root = s.paths.slot("sim");
        assert!(
            std::fs::read_link(root.join("previous")).unwrap().to_string_lossy().contains("0.2.0-")
        );
        // A third version pushes 0.2.0 out.
        let c4 = staged(&s, &build("sim", "0.4.0")).await;
        let sd = SlotDir::new(&s.paths, "sim").unwrap();
        let out = apply(&h, &sd, &s.file, &c4, QUICK, now).await.unwrap();
        assert!(matches!(out, Outcome::Committed(_)), "{out:?}");
        let v = entries(&sd.versions());
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().all(|d| !d.starts_with("0.2.0-")), "{v:?}");
    }

    #[tokio::test]
    async fn case_37_exits_at_once_rolls_back_and_is_not_retried() {
        let b = build_with("sim", "0.3.0", "0.3.0", "exit 1");
        let (s, _rig, h, out) = try_update(&b, QUICK).await;
        assert_rolled_back(&s, &h, "0.3.0", &out);
        let cand = staged(&s, &b).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let e = begin_trial(&slot, &s.file, &cand, now()).unwrap_err();
        assert!(matches!(e, TrialError::Bad { .. }), "{e}");
    }

    #[tokio::test]
    async fn case_38_hangs_without_hello_is_terminated_and_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // Ignores SIGTERM, so only the SIGKILL that follows ends it.
        let body =
            format!("echo $$ > {}\ntrap '' TERM\nwhile :; do sleep 0.2; done", pidfile.display());
        let b = build_with("sim", "0.3.0", "0.3.0", &body);
        let cfg = TrialConfig {
            ready_timeout: Duration::from_secs(2),
            probation: Duration::from_secs(1),
        };
        let (s, _rig, h, out) = try_update(&b, cfg).await;
        assert_rolled_back(&s, &h, "0.3.0", &out);
        let Outcome::RolledBack { alert } = &out else { unreachable!() };
        assert!(alert.contains("not ready"), "{alert}");
        let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "hung driver {pid} was killed");
    }

    #[tokio::test]
    async fn case_39_wrong_version_or_git_sha_rolls_back() {
        let b = build_with("sim", "0.3.0", "0.9.9", "");
        let (s, _rig, h, out) = try_update(&b, QUICK).await;
        assert_rolled_back(&s, &h, "0.3.0", &out);
        let Outcome::RolledBack { alert } = &out else { unreachable!() };
        assert!(alert.contains("0.9.9"), "{alert}");

        let mut b = build("sim", "0.4.0");
        b.expected.meta.git_sha = "not-what-it-reports".into();
        let cand = staged(&s, &b).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let out = apply(&h, &slot, &s.file, &cand, QUICK, now).await.unwrap();
        assert_rolled_back(&s, &h, "0.4.0", &out);
        let Outcome::RolledBack { alert } = &out else { unreachable!() };
        assert!(alert.contains("git sha"), "{alert}");
    }

    #[tokio::test]
    async fn case_40_crash_in_probation_rolls_back() {
        // Passes hello and self-test, then is killed 2 s in: inside the 6 s probation.
        let body =
            "exec timeout -s KILL 2 {sim} --report-version 0.3.0 --report-git-sha sha-0.3.0 \"$@\"";
        let b = build_with("sim", "0.3.0", "0.3.0", body);
        let cfg = TrialConfig {
            ready_timeout: Duration::from_secs(15),
            probation: Duration::from_secs(6),
        };
        let (s, _rig, h, out) = try_update(&b, cfg).await;
        assert_rolled_back(&s, &h, "0.3.0", &out);
    }

    #[tokio::test]
    async fn self_test_worse_than_baseline_rolls_back() {
        let b = build_with("sim", "0.3.0", "0.3.0 --fail-self-test camera", "");
        let (s, _rig, h, out) = try_update(&b, QUICK).await;
        assert_rolled_back(&s, &h, "0.3.0", &out);
        let Outcome::RolledBack { alert } = &out else { unreachable!() };
        assert!(alert.contains("camera"), "{alert}");
    }

    #[tokio::test]
    async fn case_41_previous_failing_too_leaves_driver_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("broken");
        let s = site();
        let body = format!("[ -e {} ] && exit 1", flag.display());
        committed(&s, &build_with("sim", "0.2.0", "0.2.0", &body)).await;
        let (_rig, h) = supervise(&s.paths, "sim", "sim").await;
        std::fs::write(&flag, b"").unwrap();
        let cand = staged(&s, &build_with("sim", "0.3.0", "0.3.0", "exit 1")).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let out = apply(&h, &slot, &s.file, &cand, QUICK, now).await.unwrap();
        let Outcome::Halted { alert } = &out else { panic!("{out:?}") };
        assert!(alert.contains("stopped"), "{alert}");
        assert!(state(&s).slot("sim").unwrap().halted.is_some());
        // The supervisor keeps it stopped: the next run ends held, and no process is
        // started again (starts stop growing apart from held attempts).
        let mut runs = h.runs();
        let held = tokio::time::timeout(
            Duration::from_secs(20),
            runs.wait_for(|r| r.ended.as_deref().is_some_and(|e| e.contains("halted"))),
        )
        .await;
        assert!(held.is_ok(), "driver not held: {:?}", h.runs().borrow());
        assert!(!h.is_up());
        assert!(matches!(SlotExec::new(&s.paths, "sim").unwrap().select(), Launch::Held(_)));
    }

    #[tokio::test]
    async fn case_44_failed_update_of_one_driver_leaves_another_alone() {
        let s = site();
        committed(&s, &build("sim", "0.2.0")).await;
        committed(&s, &build("simb", "0.2.0")).await;
        let (_ra, a) = supervise(&s.paths, "sim", "a").await;
        let (_rb, b) = supervise(&s.paths, "simb", "b").await;
        let b_before = b.runs().borrow().clone();
        let b_state = state(&s).slot("simb").cloned();
        let cand = staged(&s, &build_with("sim", "0.3.0", "0.3.0", "exit 1")).await;
        let slot = SlotDir::new(&s.paths, "sim").unwrap();
        let out = apply(&a, &slot, &s.file, &cand, QUICK, now).await.unwrap();
        assert!(matches!(out, Outcome::RolledBack { .. }), "{out:?}");
        assert_eq!(b.runs().borrow().starts, b_before.starts, "B never restarted");
        assert!(b.is_up());
        assert_eq!(state(&s).slot("simb").cloned(), b_state);
    }

    // ---------- crash safety: kill -9 at every step ----------

    const CHILD_DIR: &str = "TELD_TEST_UPDATE_CHILD_DIR";
    const CHILD_MODE: &str = "TELD_TEST_UPDATE_CHILD_MODE";

    /// Not a test of its own: the body of the child process the crash tests start
    /// (this test binary again), doing one install for real. Idle when run normally.
    #[tokio::test]
    async fn child_process_entry() {
        let (Some(dir), Some(mode)) = (std::env::var_os(CHILD_DIR), std::env::var_os(CHILD_MODE))
        else {
            return;
        };
        let paths = UpdatePaths::new(PathBuf::from(dir));
        let file = StateFile::new(paths.update_dir());
        let slot = SlotDir::new(&paths, "sim").unwrap();
        let b = build("sim", "0.3.0");
        if mode == "fsize" {
            // SAFETY: plain libc calls with valid arguments, before any file writes.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit { rlim_cur: 64, rlim_max: 64 };
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
            }
            let e = stage(&slot, chunks(&b.bytes), &b.expected).await.unwrap_err();
            println!("CHILD-RESULT {e}");
            return;
        }
        let (_rig, h) = supervise(&paths, "sim", "sim").await;
        let cand = stage(&slot, chunks(&b.bytes), &b.expected).await.unwrap();
        let out = apply(&h, &slot, &file, &cand, QUICK, now).await.unwrap();
        println!("CHILD-RESULT {out:?}");
    }

    fn run_child(dir: &Path, mode: &str, failpoint: Option<&str>) -> std::process::Child {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "update::child_process_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir)
            .env(CHILD_MODE, mode)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        match failpoint {
            Some(step) => cmd.env(teld::update::failpoint::ENV, step),
            None => cmd.env_remove(teld::update::failpoint::ENV),
        };
        cmd.spawn().unwrap()
    }

    /// Deadline polling of a real process: until it stops itself at the failpoint.
    fn wait_stopped(pid: u32) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rfind(')').and_then(|i| stat[i + 2..].chars().next());
            if state == Some('T') {
                return;
            }
            assert!(
                state.is_some() && state != Some('Z'),
                "child {pid} ended before its failpoint"
            );
            assert!(
                std::time::Instant::now() < deadline,
                "child {pid} never reached its failpoint"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The invariant after any crash and start-up recovery: `current` is the verified
    /// committed build, staging is empty, only committed/previous remain, no trial.
    fn assert_recovered(s: &Site_, step: &str) -> UpdateState {
        let r = recover(&s.paths, &s.file, "sim", now()).unwrap();
        let again = recover(&s.paths, &s.file, "sim", now()).unwrap();
        assert_eq!(again.rolled_back, None, "{step}: a trial is never rolled back twice");
        let st = state(s);
        let slot = st.slot("sim").unwrap();
        assert!(slot.trial.is_none(), "{step}");
        let c = slot.committed.clone().unwrap();
        let root = s.paths.slot("sim");
        let link = std::fs::read_link(root.join("current")).unwrap();
        assert_eq!(link, Path::new("versions").join(&c.dir), "{step}");
        assert!(entries(&root.join("staging")).is_empty(), "{step}: staging left: {r:?}");
        let keep: Vec<String> = [Some(&c), slot.previous.as_ref()]
            .into_iter()
            .flatten()
            .map(|i| i.dir.clone())
            .collect();
        let mut keep_sorted = keep.clone();
        keep_sorted.sort();
        assert_eq!(entries(&root.join("versions")), keep_sorted, "{step}");
        let exec = SlotExec::new(&s.paths, "sim").unwrap();
        for i in [Some(&c), slot.previous.as_ref()].into_iter().flatten() {
            assert!(i.length > 0);
            exec.open_verified(i).unwrap_or_else(|e| panic!("{step}: {e}"));
        }
        match exec.select() {
            Launch::Slot(v) => assert_eq!(v.installed, c, "{step}"),
            other => panic!("{step}: {other:?}"),
        }
        st
    }

    #[tokio::test]
    async fn case_30_to_34_and_36_kill_9_at_every_step_then_recover() {
        for &step in teld::update::failpoint::STEPS {
            let s = site();
            committed(&s, &build("sim", "0.2.0")).await;
            let mut child = run_child(s.paths.state_dir(), "install", Some(step));
            wait_stopped(child.id());
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let st = assert_recovered(&s, step);
            let slot = st.slot("sim").unwrap();
            let committed_v = slot.committed.as_ref().unwrap().release.version.to_string();
            let bad_03 = slot.bad.iter().any(|b| b.release.version.to_string() == "0.3.0");
            match step {
                // 30, 31, 32: before the journal: as if nothing happened.
                "stage.downloading" | "stage.verified" | "stage.renamed" => {
                    assert_eq!((committed_v.as_str(), bad_03), ("0.2.0", false), "{step}")
                }
                // 33, 34: journaled trial found at start-up: rolled back, marked bad.
                "trial.journaled" | "trial.switched" | "trial.health" => {
                    assert_eq!((committed_v.as_str(), bad_03), ("0.2.0", true), "{step}")
                }
                "commit.journaled" => {
                    assert_eq!((committed_v.as_str(), bad_03), ("0.3.0", false), "{step}")
                }
                other => panic!("no expectation for step {other}"),
            }
        }
    }

    #[tokio::test]
    async fn case_35_write_failure_during_staging_aborts_cleanly() {
        // A real kernel write failure, unprivileged: the child's RLIMIT_FSIZE makes
        // write(2) fail with EFBIG past 64 bytes (the same path as ENOSPC).
        let s = site();
        committed(&s, &build("sim", "0.2.0")).await;
        let before = std::fs::read(s.file.path()).unwrap();
        let link = std::fs::read_link(s.paths.slot("sim").join("current")).unwrap();
        let child = run_child(s.paths.state_dir(), "fsize", None);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("CHILD-RESULT") && text.contains("disk full"), "{text}");
        assert!(entries(&s.paths.slot("sim").join("staging")).is_empty());
        assert_eq!(std::fs::read(s.file.path()).unwrap(), before, "state untouched");
        assert_eq!(std::fs::read_link(s.paths.slot("sim").join("current")).unwrap(), link);
    }
}
