//! The fault campaign's test target: the short campaign through the real binary
//! (`teld chaos --nights 1 --hours 2`), and focused checks that the tally and the
//! watcher really find what they are meant to find.

#[path = "../common/mod.rs"]
mod common;

mod campaign;
mod realtime;
mod tally;
mod watch;
