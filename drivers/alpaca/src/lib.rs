//! teld's ASCOM Alpaca driver (issue 5, in progress): the Alpaca API v1 wire
//! formats, decoded strictly, so a device's answer is either a value or an error that
//! says what went wrong. The HTTP client and the driver binary come next; the
//! behaviour of the PyPI simulators these are checked against is recorded in
//! `docs/research/alpaca-simulators.md`.
//!
//! - [`envelope`]: the JSON envelope of every member (`Value`, `ErrorNumber`,
//!   transaction ids) and the non-Alpaca bodies servers send on HTTP errors.
//! - [`imagebytes`]: the binary `application/imagebytes` camera image, decoded to
//!   teld's pixel layout (row-major, x varying fastest, FITS order).

pub mod envelope;
pub mod imagebytes;
