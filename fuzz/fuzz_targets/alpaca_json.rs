#![no_main]
//! An Alpaca server's JSON answer (the envelope around every member's value), as
//! the driver decodes it: the first two input bytes are the HTTP status (200 half
//! the time), the rest the body.

use libfuzzer_sys::fuzz_target;
use teld_driver_alpaca::envelope::decode;

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<2>() else { return };
    let status = match u16::from_le_bytes(*head) {
        s if s % 2 == 0 => 200,
        s => 100 + s % 500,
    };
    match decode(status, body, 7) {
        Ok(v) => assert_eq!(status, 200, "a failed request gave a value: {v}"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
