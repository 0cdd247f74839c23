//! `teld artefact …`: the CI side of signed driver updates (see `crate::artefact`).
//! Arguments and the anyhow edge only; the work is in the library.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use tough::schema::RoleType;

use crate::artefact::init::init;
use crate::artefact::keys::KeyRing;
use crate::artefact::publish::{Options, publish, refresh_timestamp};
use crate::artefact::rotate::{Rotation, rotate_root};
use crate::artefact::stage::{self, Added};
use crate::artefact::verify::{Verified, verify};
use crate::artefact::{Expiries, RepoDir, Validity};
use crate::update::meta::DriverMeta;

#[derive(Subcommand)]
pub enum ArtefactCommand {
    /// Create a repository and its keys (root 2-of-3; targets, snapshot, timestamp).
    Init {
        #[command(flatten)]
        at: RepoKeys,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Stage a driver build; `publish` signs it. Append-only: a published
    /// driver/version/triple never changes bytes.
    Add(AddArgs),
    /// Sign the staged builds into new targets, snapshot and timestamp versions, check
    /// the result as a fresh site would, then write `timestamp.json` last.
    #[command(visible_alias = "sign")]
    Publish {
        #[command(flatten)]
        at: RepoKeys,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Re-sign only the timestamp (run daily, release or not).
    RefreshTimestamp {
        #[command(flatten)]
        at: RepoKeys,
        /// How long the new timestamp stays valid.
        #[arg(long, default_value = "14d")]
        expires: Validity,
    },
    /// Root N+1 signed by the old and the new root keys, optionally new online keys.
    RotateRoot {
        #[command(flatten)]
        at: RepoKeys,
        /// An empty folder for the keys used from now on (new ones, and copies of kept ones).
        #[arg(long)]
        new_keys: PathBuf,
        /// Also replace these online roles' keys (after a compromise), e.g. targets,snapshot.
        #[arg(long, value_delimiter = ',', value_parser = online_role)]
        replace: Vec<RoleType>,
        /// Keep the root keys (only rotate online keys).
        #[arg(long)]
        keep_root_keys: bool,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Check a repository as a fresh site would: root FILE, empty state, every target read.
    Verify {
        #[arg(long)]
        repo: PathBuf,
        /// The root the daemon ships (normally the repository's 1.root.json).
        #[arg(long)]
        root: PathBuf,
    },
}

#[derive(Args)]
pub struct RepoKeys {
    /// The repository folder (metadata/, targets/ are served).
    #[arg(long)]
    repo: PathBuf,
    /// The folder of key files (PKCS#8 PEM or DER, 0600).
    #[arg(long)]
    keys: PathBuf,
}

#[derive(Args)]
pub struct ExpiryArgs {
    #[arg(long, default_value = "365d")]
    root_expires: Validity,
    #[arg(long, default_value = "90d")]
    targets_expires: Validity,
    #[arg(long, default_value = "30d")]
    snapshot_expires: Validity,
    #[arg(long, default_value = "14d")]
    timestamp_expires: Validity,
}

impl ExpiryArgs {
    fn expiries(&self) -> Expiries {
        Expiries {
            root: self.root_expires.0,
            targets: self.targets_expires.0,
            snapshot: self.snapshot_expires.0,
            timestamp: self.timestamp_expires.0,
        }
    }
}

#[derive(Args)]
pub struct AddArgs {
    #[arg(long)]
    repo: PathBuf,
    /// Accepted for symmetry with the other commands; staging needs no key.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The driver binary.
    #[arg(long)]
    file: PathBuf,
    /// The driver slot (`sim`, `alpaca`, `lx200`, `mqtt`).
    #[arg(long)]
    driver: String,
    #[arg(long)]
    version: semver::Version,
    #[arg(long, default_value_t = 0)]
    epoch: u64,
    /// Rust target triple it was built for.
    #[arg(long)]
    triple: String,
    /// Driver protocol version it speaks.
    #[arg(long)]
    protocol: u32,
    /// Oldest teld that may run it.
    #[arg(long)]
    min_daemon: semver::Version,
    /// Commit it was built from (its `hello` reports the same).
    #[arg(long)]
    git_sha: String,
    #[arg(long)]
    security_floor: Option<semver::Version>,
    #[arg(long, default_value = "stable")]
    channel: String,
}

fn online_role(s: &str) -> Result<RoleType, String> {
    match s {
        "targets" => Ok(RoleType::Targets),
        "snapshot" => Ok(RoleType::Snapshot),
        "timestamp" => Ok(RoleType::Timestamp),
        _ => Err(format!("`{s}`: name targets, snapshot or timestamp")),
    }
}

/// The signing time: CI's system clock through teld's clock.
fn now() -> anyhow::Result<jiff::Timestamp> {
    let secs = crate::clock::Clock::system().now().to_unix_seconds();
    jiff::Timestamp::from_second(secs.floor() as i64).context("system clock out of range")
}

pub fn run(cmd: ArtefactCommand, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run_async(cmd, out))
}

async fn run_async(cmd: ArtefactCommand, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    match cmd {
        ArtefactCommand::Init { at, expiry } => {
            let opts = Options { now: now()?, expiries: expiry.expiries() };
            let v = init(&RepoDir::new(&at.repo), &at.keys, &opts).await?;
            writeln!(
                out,
                "repository {} created (root 1: 2 of 3 keys); keys in {} — move the root-*.pem keys offline, ship {}",
                at.repo.display(),
                at.keys.display(),
                RepoDir::new(&at.repo).root_file(1).display()
            )?;
            report(out, &v)?;
        }
        ArtefactCommand::Add(a) => {
            let meta = DriverMeta {
                driver: a.driver,
                version: a.version,
                epoch: a.epoch,
                triple: a.triple,
                protocol: a.protocol,
                min_daemon: a.min_daemon,
                git_sha: a.git_sha,
                security_floor: a.security_floor,
                channel: a.channel,
            };
            let (name, added) = stage::add(&RepoDir::new(&a.repo), &a.file, &meta)?;
            let what = match added {
                Added::Staged => "staged; run `teld artefact publish` to sign it",
                Added::AlreadyStaged => "already staged with these bytes",
                Added::AlreadyPublished => "already published with these bytes: nothing to do",
            };
            writeln!(out, "{name}: {what}")?;
        }
        ArtefactCommand::Publish { at, expiry } => {
            let ring = keys(&at.keys).await?;
            let opts = Options { now: now()?, expiries: expiry.expiries() };
            let p = publish(&RepoDir::new(&at.repo), &ring, &opts).await?;
            writeln!(out, "published {} new build(s)", p.added)?;
            report(out, &p.verified)?;
        }
        ArtefactCommand::RefreshTimestamp { at, expires } => {
            let ring = keys(&at.keys).await?;
            let expiries = Expiries { timestamp: expires.0, ..Expiries::default() };
            let opts = Options { now: now()?, expiries };
            let v = refresh_timestamp(&RepoDir::new(&at.repo), &ring, &opts, true).await?;
            if let Some(v) = v {
                report(out, &v)?;
            }
        }
        ArtefactCommand::RotateRoot { at, new_keys, replace, keep_root_keys, expiry } => {
            let ring = keys(&at.keys).await?;
            let mut rotation = Rotation { replace, ..Rotation::default() };
            if !keep_root_keys {
                rotation.replace.insert(0, RoleType::Root);
            }
            anyhow::ensure!(
                !rotation.replace.is_empty(),
                "--keep-root-keys without --replace changes no key; name the roles to replace"
            );
            let opts = Options { now: now()?, expiries: expiry.expiries() };
            let v =
                rotate_root(&RepoDir::new(&at.repo), &ring, &new_keys, &rotation, &opts).await?;
            writeln!(
                out,
                "root {} written; use --keys {} from now on",
                v.root_version,
                new_keys.display()
            )?;
            report(out, &v)?;
        }
        ArtefactCommand::Verify { repo, root } => {
            let root_bytes =
                std::fs::read(&root).with_context(|| format!("reading root {}", root.display()))?;
            let dir = RepoDir::new(&repo);
            let v = verify(&dir.metadata_dir(), &dir.targets_dir(), &root_bytes).await?;
            report(out, &v)?;
        }
    }
    Ok(())
}

async fn keys(dir: &Path) -> anyhow::Result<KeyRing> {
    Ok(KeyRing::load(dir).await?)
}

/// One line of versions, then one JSON line per driver target (for scripts and tests).
fn report(out: &mut impl std::io::Write, v: &Verified) -> anyhow::Result<()> {
    writeln!(
        out,
        "verified from root 1 with an empty state: root {} targets {} snapshot {} timestamp {}, {} driver target(s)",
        v.root_version,
        v.targets_version,
        v.snapshot_version,
        v.timestamp_version,
        v.drivers.len()
    )?;
    for d in &v.drivers {
        let line = serde_json::json!({
            "name": d.name, "sha256": d.sha256, "length": d.length, "custom": d.meta,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}
