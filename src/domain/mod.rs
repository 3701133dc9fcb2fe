//! The domain: pure, synchronous rules of the AGI workforce. No I/O, no clock, no hidden randomness.

pub mod agent;
pub mod amount;
pub mod commit_reveal;
pub mod deadlines;
pub mod events;
pub mod governance;
pub mod id_map;
pub mod job;
pub mod ledger;
pub mod resources;
pub mod setup;
pub mod sim;
pub mod world;
