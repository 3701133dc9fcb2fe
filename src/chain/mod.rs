//! The chain half: bindings, the local devnet, deployment, keys, the transaction layer and the
//! on-chain mirror of the engine's job lifecycles.

pub mod anvil;
pub mod attest;
pub mod attestor;
pub mod bindings;
pub mod commit_hash;
pub mod deploy;
pub mod devnet;
pub mod errors;
pub mod events;
pub mod fees;
pub mod follower;
pub mod governance;
pub mod indexer;
pub mod indexer_archive;
pub mod journal;
pub mod keys;
pub mod manifest;
pub mod miner;
pub mod mirror;
pub mod preflight;
pub mod provision;
pub mod reconcile;
pub mod redact;
mod restore;
mod send;
pub mod stages;
pub mod stall_clock;
pub mod topology;
pub mod tx;
pub mod v2_errors;
pub mod view;
