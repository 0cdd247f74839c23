pub mod broker;
pub mod device;
pub mod link;
pub mod raw;
