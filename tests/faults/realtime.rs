//! The real-time campaign, as CI runs it: a few minutes of one night on the real clock
//! against the ASCOM Alpaca simulators and the LX200 emulator on a pty, with one of each
//! device fault (`teld chaos --devices real`, docs/CHAOS.md).

use std::time::Duration;

use super::campaign::{must_be_zero, number, run_chaos};
use super::common::daemon::teld_bin;
use super::common::peers;

/// Every device fault kind, as `--kinds` names them and the table counts them.
const DEVICE_KINDS: [(&str, &str); 7] = [
    ("alpaca-hang", "Alpaca hang"),
    ("alpaca-errors", "Alpaca errors (server killed, restarted)"),
    ("serial-garbage", "serial garbage"),
    ("serial-dropped", "serial answers dropped"),
    ("serial-partial", "serial answers cut short"),
    ("port-loss", "serial port loss"),
    ("mount-freeze", "mount freeze"),
];

#[test]
fn a_real_time_campaign_with_alpaca_and_serial_faults_loses_nothing_and_stays_safe() {
    if peers::require(
        peers::alpaca_simulators(),
        "alpaca-simulators",
        "the real-time fault campaign (Alpaca hangs and errors, serial faults)",
    )
    .is_none()
    {
        return;
    }
    for bin in ["teld-driver-alpaca", "teld-driver-lx200", "teld-lx200-emulator"] {
        let path = teld_bin().with_file_name(bin);
        assert!(path.is_file(), "{} is missing: cargo build --bin {bin}", path.display());
    }
    let kinds: Vec<&str> = DEVICE_KINDS.iter().map(|(slug, _)| *slug).collect();
    let kinds = kinds.join(",");
    // 0.06 h is 3.6 min: 7 faults (one of each kind, 26 s apart on average) and one
    // unsafe spell of 1.5–2.3 min.
    let (status, table) = run_chaos(
        &[
            "--devices",
            "real",
            "--nights",
            "1",
            "--hours",
            "0.06",
            "--seed",
            "1",
            "--faults-per-hour",
            "117",
            "--requests-per-hour",
            "60",
            "--kinds",
            &kinds,
        ],
        Duration::from_secs(480),
    );
    assert!(status.success(), "teld chaos --devices real failed ({status}):\n{table}");
    for zero in must_be_zero() {
        assert_eq!(number(&table, zero), 0, "{zero}:\n{table}");
    }
    for (_, kind) in DEVICE_KINDS {
        assert!(
            number(&table, &format!("faults injected, {kind}")) >= 1,
            "{kind} not injected:\n{table}"
        );
    }
    assert!(number(&table, "unsafe weather spells") >= 1, "{table}");
    assert!(number(&table, "requests acknowledged") >= 2, "{table}");
    assert!(number(&table, "frames") >= 1, "no observing happened:\n{table}");
}
