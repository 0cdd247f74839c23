//! The wire formats against the answers the PyPI Alpaca simulators give
//! (docs/research/alpaca-simulators.md) and the failures a link can produce.

use teld_driver_alpaca::envelope::{AlpacaError, AscomCode, decode};
use teld_driver_alpaca::imagebytes::{self, ImageBytesError};
use teld_driver_protocol::PixelType;

#[test]
fn values_and_methods_without_one() {
    let v = decode(
        200,
        br#"{"ClientTransactionID":42,"ServerTransactionID":1,"ErrorNumber":0,"ErrorMessage":"","Value":true}"#,
        42,
    );
    assert_eq!(v, Ok(serde_json::Value::Bool(true)));
    let m = decode(
        200,
        br#"{"ClientTransactionID":43,"ServerTransactionID":2,"ErrorNumber":0,"ErrorMessage":""}"#,
        43,
    );
    assert_eq!(m, Ok(serde_json::Value::Null));
}

#[test]
fn device_errors_on_http_200_are_typed() {
    let e = decode(
        200,
        br#"{"ErrorNumber":1032,"ErrorMessage":"Telescope is parked","ClientTransactionID":0,"ServerTransactionID":4}"#,
        7,
    )
    .unwrap_err();
    assert_eq!(
        e,
        AlpacaError::Device {
            number: 0x408,
            code: AscomCode::InvalidWhileParked,
            message: "Telescope is parked".into()
        }
    );
    assert!(e.to_string().contains("0x408"), "{e}");
    // Unassigned codes some servers use are kept, not guessed.
    let e = decode(200, br#"{"ErrorNumber":1037,"ErrorMessage":"No image data available"}"#, 1);
    assert!(matches!(e, Err(AlpacaError::Device { code: AscomCode::Other(0x40D), .. })));
    // A 500 that still carries an Alpaca error is that error.
    let e = decode(500, br#"{"ErrorNumber":1280,"ErrorMessage":"Internal server error: x"}"#, 1);
    assert!(matches!(e, Err(AlpacaError::Device { code: AscomCode::DriverSpecific(0x500), .. })));
}

#[test]
fn framework_refusals_name_the_parameter() {
    let body = br#"{"detail":[{"type":"missing","loc":["body","RightAscension"],"msg":"Field required","input":null}]}"#;
    let e = decode(422, body, 1).unwrap_err();
    assert_eq!(
        e,
        AlpacaError::Rejected { status: 422, detail: "body.RightAscension: Field required".into() }
    );
    let e = decode(404, br#"{"detail":"Not Found"}"#, 1).unwrap_err();
    assert_eq!(e, AlpacaError::Rejected { status: 404, detail: "Not Found".into() });
    let e = decode(502, b"<html>Bad gateway</html>", 1).unwrap_err();
    assert!(matches!(e, AlpacaError::Rejected { status: 502, .. }), "{e}");
}

#[test]
fn malformed_and_crossed_answers_are_refused() {
    let e = decode(200, b"<html>login</html>", 1).unwrap_err();
    assert!(matches!(e, AlpacaError::Malformed { status: 200, .. }), "{e}");
    let e = decode(200, br#"{"ClientTransactionID":9,"ErrorNumber":0,"Value":1}"#, 8).unwrap_err();
    assert_eq!(e, AlpacaError::Crossed { sent: 8, got: 9 });
}

/// An ImageBytes answer as the simulator sends it: image type Int32 declared,
/// UInt16 transmitted, x outer (y fastest).
fn image(width: i32, height: i32, sent: i32, px: &[u8]) -> Vec<u8> {
    let header = [1, 0, 5, 6, 44, 2, sent, 2, width, height, 0];
    let mut out: Vec<u8> = header.iter().flat_map(|v: &i32| v.to_le_bytes()).collect();
    out.extend_from_slice(px);
    out
}

#[test]
fn uint16_images_are_transposed_to_fits_order() {
    // 3 wide, 2 high; value = 10·x + y, sent x-outer: (0,0) (0,1) (1,0) (1,1) (2,0) (2,1).
    let wire: Vec<u8> = [0u16, 1, 10, 11, 20, 21].iter().flat_map(|v| v.to_le_bytes()).collect();
    let img = imagebytes::decode(&image(3, 2, 8, &wire)).unwrap();
    assert_eq!(
        (img.width, img.height, img.pixel, img.client_transaction_id),
        (3, 2, PixelType::U16, 5)
    );
    let px: Vec<u16> = img.data.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    assert_eq!(px, [0, 10, 20, 1, 11, 21], "row-major, x fastest");
}

#[test]
fn every_element_type_decodes_to_a_type_that_holds_it() {
    let one = |sent: i32, bytes: &[u8]| imagebytes::decode(&image(1, 1, sent, bytes)).unwrap();
    assert_eq!(one(6, &[200]).pixel, PixelType::U16);
    let i16_img = one(1, &(-5i16).to_le_bytes());
    assert_eq!((i16_img.pixel, i16_img.data), (PixelType::I32, (-5i32).to_le_bytes().to_vec()));
    assert_eq!(one(9, &70_000u32.to_le_bytes()).data, 70_000i32.to_le_bytes().to_vec());
    assert_eq!(one(7, &(-3i64).to_le_bytes()).data, (-3i32).to_le_bytes().to_vec());
    assert_eq!(one(4, &1.5f32.to_le_bytes()).pixel, PixelType::F32);
    assert_eq!(one(3, &2.25f64.to_le_bytes()).data, 2.25f32.to_le_bytes().to_vec());
    let e = imagebytes::decode(&image(1, 1, 5, &u64::MAX.to_le_bytes())).unwrap_err();
    assert!(matches!(e, ImageBytesError::Range { .. }), "{e}");
}

#[test]
fn broken_images_are_refused_with_the_reason() {
    assert_eq!(imagebytes::decode(&[0; 10]), Err(ImageBytesError::Short(10)));
    let cut = image(4, 4, 8, &[0; 20]);
    assert!(matches!(
        imagebytes::decode(&cut),
        Err(ImageBytesError::Length { need: 32, have: 20, .. })
    ));
    let mut err = image(1, 1, 8, b"Camera is not idle");
    err[4..8].copy_from_slice(&0x40Bi32.to_le_bytes());
    assert_eq!(
        imagebytes::decode(&err),
        Err(ImageBytesError::Device { number: 0x40B, message: "Camera is not idle".into() })
    );
    let mut colour = image(1, 1, 8, &[0, 0]);
    colour[28..32].copy_from_slice(&3i32.to_le_bytes());
    assert_eq!(imagebytes::decode(&colour), Err(ImageBytesError::Rank(3)));
    assert!(matches!(
        imagebytes::decode(&image(1, 1, 42, &[0])),
        Err(ImageBytesError::ElementType { what: "transmission", code: 42 })
    ));
    assert!(matches!(
        imagebytes::decode(&image(0, 1, 8, &[])),
        Err(ImageBytesError::Dimensions(0, 1))
    ));
}

/// A real answer of the PyPI simulator's camera (alpaca-simulators 1.3.2, a 0.1 s
/// light frame, 30×20 subframe, `Accept: application/imagebytes`), captured on
/// loopback for this test.
#[test]
fn a_real_simulator_frame_decodes() {
    let bytes = include_bytes!("fixtures/sim_camera_30x20.imagebytes");
    let img = imagebytes::decode(bytes).unwrap();
    assert_eq!((img.width, img.height, img.pixel), (30, 20, PixelType::U16));
    let px: Vec<u16> = img.data.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let wire: Vec<u16> = bytes[44..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    for (x, y) in [(0, 0), (29, 0), (0, 19), (17, 11), (29, 19)] {
        assert_eq!(px[y * 30 + x], wire[x * 20 + y], "pixel ({x},{y})");
    }
    // The simulator's bias is 300 ADU and it saturates at 50 300.
    assert!(px.iter().all(|&v| (250..=50_300).contains(&v)), "{:?}", &px[..10]);
}
