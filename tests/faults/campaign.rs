//! The short campaign, as CI runs it: one two-hour night at 300×, every fault kind the
//! machine allows, through the real binary.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::common::daemon::{ensure_sim_driver, teld_bin};
use super::common::peers;

/// The figure `name: value` from the table.
pub fn figure<'a>(table: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    table
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{name}` line in the table:\n{table}"))
}

pub fn number(table: &str, name: &str) -> u64 {
    let v = figure(table, name);
    v.split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("`{name}: {v}` is not a count"))
}

/// Runs `teld chaos` with `args` (and a run folder of its own), at most `limit` real
/// time; the exit status and everything it printed, also written to stderr so it shows
/// in CI logs.
pub fn run_chaos(args: &[&str], limit: Duration) -> (std::process::ExitStatus, String) {
    let dir = tempfile::Builder::new().prefix("teld-chaos-test-").tempdir().unwrap();
    let out_path = dir.path().join("chaos.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let started = Instant::now();
    let mut child = Command::new(teld_bin())
        .arg("chaos")
        .args(args)
        .arg("--dir")
        .arg(dir.path().join("run"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = started + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "teld chaos ran over {} s:\n{}",
                limit.as_secs(),
                std::fs::read_to_string(&out_path).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let table = std::fs::read_to_string(&out_path).unwrap();
    // Straight to stderr so it shows in CI logs (the harness captures println!).
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "teld chaos took {:.0} s:\n{table}",
        started.elapsed().as_secs_f64()
    );
    (status, table)
}

/// The figures every campaign must show as zero: those that decide its exit status,
/// and two that say the campaign itself went as planned.
pub fn must_be_zero() -> impl Iterator<Item = &'static str> {
    teld::cli::chaos::report::MUST_BE_ZERO
        .into_iter()
        .chain(["faults not recovered from", "teld exits not caused by the campaign"])
}

#[test]
fn a_short_campaign_loses_nothing_and_stays_safe() {
    ensure_sim_driver();
    let broker = Command::new("mosquitto").arg("-h").output().is_ok();
    peers::require(
        broker.then_some(()),
        "mosquitto",
        "SIGKILL of the broker and the MQTT handoff outbox check",
    );
    let (status, table) = run_chaos(
        &[
            "--nights",
            "1",
            "--seed",
            "1",
            "--hours",
            "2",
            "--speed",
            "300",
            "--faults-per-hour",
            "5",
            "--requests-per-hour",
            "8",
        ],
        Duration::from_secs(600),
    );
    assert!(status.success(), "teld chaos failed ({status}):\n{table}");
    for zero in must_be_zero() {
        assert_eq!(number(&table, zero), 0, "{zero}:\n{table}");
    }
    assert!(number(&table, "faults injected") >= 6, "too few faults to mean anything:\n{table}");
    for kind in [
        "SIGKILL teld",
        "SIGSTOP teld",
        "SIGKILL driver",
        "SIGSTOP driver",
        "store locked",
        "corrupted inbox files",
    ] {
        assert!(
            number(&table, &format!("faults injected, {kind}")) >= 1,
            "{kind} not injected:\n{table}"
        );
    }
    // Disk full needs a tmpfs, so root: where the campaign could not mount one, the
    // table says so, and that is reported here like any missing peer.
    let disk = !table.contains("not injected, disk full");
    if peers::require(disk.then_some(()), "a tmpfs (mount, as root)", "the disk-full fault")
        .is_some()
    {
        assert!(
            number(&table, "faults injected, disk full") >= 1,
            "disk full not injected:\n{table}"
        );
    }
    assert!(number(&table, "requests acknowledged") >= 5, "{table}");
    assert!(number(&table, "frames") >= 5, "no observing happened:\n{table}");
    assert_eq!(figure(&table, "result"), "PASS");
}
