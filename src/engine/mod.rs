//! The engine: the tokio cycle loop around the pure domain, agent tasks on the A2A bus, and the
//! seams (sinks and sources) the chain half plugs into.

pub mod agents;
pub mod bus;
pub mod clock;
pub mod external;
pub mod orchestrator;
pub mod seams;
pub mod sources;

pub use orchestrator::{Orchestrator, RunOptions, RunSummary};
