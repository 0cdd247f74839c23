pub mod emulator;
pub mod link;
