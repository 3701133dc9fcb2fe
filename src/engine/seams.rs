//! The seams where the chain half plugs in: event sinks (the mirror, the HTTP stream) and input
//! sources (chain events, an API). The domain never knows who is on the other side.

use crate::domain::events::{DomainEvent, ExternalInput, Step, StepGate};
use crate::domain::job::JobId;

/// Receives every domain event in order, once per cycle. A sink that must durably confirm a step
/// before the job may take the next one (the chain mirror) exposes a gate.
pub trait EventSink: Send {
    fn name(&self) -> &str;
    /// `now_ms` is the engine's time for this cycle (virtual in fast mode).
    fn deliver(&mut self, cycle: u64, now_ms: u64, events: &[DomainEvent]) -> eyre::Result<()>;
    fn gate(&self) -> Option<&dyn StepGate> {
        None
    }
    /// A sink whose effects outlive the process (the chain) gets each cycle's events only once
    /// the checkpoint holding that cycle is saved, so a crash never leaves it ahead of the state
    /// a restart loads. The orchestrator then saves after every cycle that produced events.
    fn write_ahead(&self) -> bool {
        false
    }
    /// The engine's time at the end of every cycle, events or not (a quiet engine still ages
    /// its validation rounds).
    fn tick(&mut self, _now_ms: u64) {}
    /// A periodic checkpoint was saved with this sequence number and content hash.
    fn checkpointed(&mut self, _seq: u64, _hash: alloy_primitives::B256) {}
    /// Called right before each checkpoint: make everything delivered so far durable.
    fn flush(&mut self) -> eyre::Result<()> {
        Ok(())
    }
    /// At the end of a run: finish work in flight, for at most `timeout`.
    fn drain(&mut self, _timeout: std::time::Duration) -> BoxFuture<'_, eyre::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// One line for the run summary.
    fn summary(&self) -> Option<String> {
        None
    }
}

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Supplies inputs from outside once per cycle (jobs posted by others, pauses, parameters).
pub trait InputSource: Send {
    fn name(&self) -> &str;
    fn poll(&mut self) -> Vec<ExternalInput>;
}

/// All sinks' gates together: a step proceeds only when every gate allows it.
pub struct Gates<'a>(pub Vec<&'a dyn StepGate>);

impl StepGate for Gates<'_> {
    fn allows(&self, job: JobId, step: Step) -> bool {
        self.0.iter().all(|g| g.allows(job, step))
    }

    fn committee(&self, job: JobId) -> Option<Vec<crate::domain::ledger::AccountId>> {
        self.0.iter().find_map(|g| g.committee(job))
    }

    fn outcome(&self, job: JobId) -> Option<bool> {
        self.0.iter().find_map(|g| g.outcome(job))
    }
}
