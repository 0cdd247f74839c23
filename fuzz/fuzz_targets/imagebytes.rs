#![no_main]
//! An Alpaca camera's `application/imagebytes` answer, as the driver decodes it
//! into the pixels it spools for the daemon.

use libfuzzer_sys::fuzz_target;
use teld_driver_alpaca::imagebytes::decode;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(image) => {
            // The spool file holds exactly width × height pixels of the stored type.
            assert_eq!(image.data.len(), image.width * image.height * image.pixel.bytes());
            assert!(image.data.len() <= data.len() * 2, "an image cannot grow past 2x");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
