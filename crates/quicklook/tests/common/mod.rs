//! Shared by the integration tests and the benchmark example.

pub mod frames;
pub mod peers;
