//! Driver-update tests through the real daemon: a repository made with the real
//! `teld artefact` commands, and builds that are signed wrapper scripts around the
//! real `teld-driver-sim` (`--report-version`), so a "new version" costs no compile.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::daemon::{Teld, TestSite, teld_bin};

pub const WAIT: Duration = Duration::from_secs(90);

/// A repository made and published with the real `teld artefact` commands.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::Builder::new().prefix("teld-update-repo-").tempdir().unwrap();
        let r = Repo { dir };
        r.artefact(&["init", "--repo", &r.repo(), "--keys", &r.keys()]);
        r
    }

    pub fn repo(&self) -> String {
        self.dir.path().join("repo").display().to_string()
    }

    pub fn keys(&self) -> String {
        self.dir.path().join("keys").display().to_string()
    }

    pub fn root1(&self) -> String {
        format!("{}/metadata/1.root.json", self.repo())
    }

    pub fn artefact(&self, args: &[&str]) {
        let out = Command::new(teld_bin()).arg("artefact").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "teld artefact {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Signs and publishes a sim driver build whose program is `script`.
    pub fn publish(&self, version: &str, script: &str) {
        let file = self.dir.path().join(format!("build-{version}"));
        std::fs::write(&file, script).unwrap();
        let triple = teld::update::meta::HOST_TRIPLE;
        let protocol = teld_driver_protocol::PROTOCOL_VERSION.to_string();
        let sha = git_sha(version);
        self.artefact(&[
            "add",
            "--repo",
            &self.repo(),
            "--file",
            file.to_str().unwrap(),
            "--driver",
            "sim",
            "--version",
            version,
            "--triple",
            triple,
            "--protocol",
            &protocol,
            "--min-daemon",
            env!("CARGO_PKG_VERSION"),
            "--git-sha",
            &sha,
        ]);
        self.artefact(&["publish", "--repo", &self.repo(), "--keys", &self.keys()]);
    }

    /// A good build: the real simulator reporting `version`.
    pub fn publish_good(&self, version: &str) {
        let sim = teld_bin().with_file_name("teld-driver-sim");
        let script = format!(
            "#!/bin/sh\nexec {} --report-version {version} --report-git-sha {} \"$@\"\n",
            sim.display(),
            git_sha(version)
        );
        self.publish(version, &script);
    }
}

/// A made-up commit id per version (hex, as `teld artefact add` requires).
pub fn git_sha(version: &str) -> String {
    format!("dec0de{:0>34}", version.replace('.', ""))
}

pub fn site(repo: &Repo, name: &str, probation_s: u32) -> TestSite {
    let extra = format!(
        "\n[update]\nenabled = true\nsource = {:?}\nroot = {:?}\npoll_interval_s = 1\nready_timeout_s = 20\nprobation_s = {probation_s}\n",
        repo.repo(),
        repo.root1()
    );
    TestSite::new(name, &[], &extra)
}

pub fn sim(t: &Teld) -> Value {
    let all = t.get("/api/v1/drivers");
    all.as_array().unwrap().iter().find(|d| d["name"] == "sim").cloned().expect("driver sim")
}

pub fn installed(d: &Value) -> Option<String> {
    d["update"]["installed"]["version"].as_str().map(str::to_string)
}

/// Waits until the sim driver is up, running `version`, with `installed` recorded.
pub fn wait_running(t: &Teld, version: &str, installed_as: Option<&str>) -> Value {
    t.wait_for(&format!("sim driver up on {version}"), WAIT, |t| {
        let d = sim(t);
        (d["status"] == "up"
            && d["version"] == version
            && installed(&d).as_deref() == installed_as
            && d["update"]["trial"].is_null())
        .then_some(d)
    })
}
