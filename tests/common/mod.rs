//! Shared helpers for the end-to-end tests.
#![allow(dead_code)]

pub mod auth;
pub mod daemon;
pub mod http;
pub mod mqtt;
pub mod peers;
pub mod sse;
pub mod tls;
pub mod tuf;
pub mod update;
pub mod webhook;
