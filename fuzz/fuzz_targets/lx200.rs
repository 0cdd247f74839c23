#![no_main]
//! Bytes from an LX200 mount's serial line as the driver takes them: the first input
//! byte picks the shape of answer the command expects, the rest is what the mount
//! sends; framed by the same `Framer` the port uses (the input running out is the
//! line going quiet), then read by every function the commands read answers with.

use libfuzzer_sys::fuzz_target;
use teld_driver_lx200::answers;
use teld_driver_lx200::framing::frame;
use teld_driver_lx200::port::Reply;
use teld_driver_lx200::sexagesimal::{
    Precision, format_hours, parse_degrees, parse_hours, parse_offset,
};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, line)) = data.split_first() else { return };
    let reply = match pick % 5 {
        0 => Reply::Nothing,
        1 => Reply::Char,
        2 => Reply::Text,
        3 => Reply::Goto,
        _ => Reply::Date { strings: usize::from(pick / 5 % 3) },
    };
    let text = match frame(reply, line) {
        Ok(Some((text, used))) => {
            assert!(used <= line.len());
            text
        }
        Ok(None) => return,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if let Ok((h, precision)) = parse_hours(&text) {
        assert!((0.0..24.0).contains(&h), "{text:?} read as {h} h");
        // What the driver would send back must read as the same time, to the
        // precision's last digit.
        let again = format_hours(h, precision);
        let (h2, _) = parse_hours(&again).unwrap_or_else(|e| panic!("{text:?} → {again:?}: {e}"));
        let step = if precision == Precision::High { 1.0 / 3600.0 } else { 0.1 / 60.0 };
        let diff = (h2 - h).abs().min(24.0 - (h2 - h).abs());
        assert!(diff <= step, "{text:?} → {h} → {again:?} → {h2}");
    }
    if let Ok((d, _)) = parse_degrees(&text) {
        assert!(d.is_finite() && d.abs() < 361.0, "{text:?} read as {d}°");
    }
    if let Ok(o) = parse_offset(&text) {
        assert!(o.is_finite(), "{text:?} read as offset {o}");
    }
    let _ = answers::accepted(&text);
    let _ = answers::is_onstep(&text);
    let _ = answers::onstep_status(&text);
    let _ = answers::meade_slewing(&text);
    let _ = answers::meade_tracking(&text);
    if let Some(answers::Goto::Refused(d, _)) = answers::goto(&text) {
        assert!(d.is_ascii_digit());
    }
});
