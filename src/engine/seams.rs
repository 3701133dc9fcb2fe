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
}
