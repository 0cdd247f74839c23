pub mod link;
pub mod simulator;
