//! Chain → engine: a background task keeps the indexer in step with the chain and turns what
//! happened there without Omega into engine inputs — a pause or unpause sent by the owner with
//! another tool, and jobs posted by other employers (adopted and worked by Omega's agents).
//! The orchestrator polls it once per cycle like any other input source.

use super::indexer::{Indexer, LogSource};
use super::view::{ChainView, JobState};
use crate::domain::amount::Amount;
use crate::domain::events::ExternalInput;
use crate::engine::seams::InputSource;
use alloy::primitives::Address;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::Duration;

pub struct ChainFollower {
    inputs: mpsc::Receiver<ExternalInput>,
    task: tokio::task::JoinHandle<()>,
}

/// What the follower decides from one view: pure, so the rules are unit-tested.
#[derive(Default)]
pub struct Adoption {
    /// Addresses Omega posts with: their jobs are Omega's own, never adopted.
    pub employers: BTreeSet<Address>,
    /// On-chain ids already known to the engine (mirrored or adopted).
    pub known: BTreeSet<u64>,
    was_paused: Option<bool>,
}

impl Adoption {
    pub fn new(employers: BTreeSet<Address>, known: BTreeSet<u64>) -> Adoption {
        Adoption {
            employers,
            known,
            was_paused: None,
        }
    }

    /// Inputs for the engine: a pause or resume when the chain's flag changed (a chain already
    /// paused at start pauses the engine), and each new job of another employer still open.
    pub fn inputs(&mut self, view: &ChainView) -> Vec<ExternalInput> {
        let mut out = Vec::new();
        let paused = view.any_paused();
        let changed = match self.was_paused {
            None => paused,
            Some(before) => before != paused,
        };
        if changed {
            let source = "chain".to_string();
            out.push(if paused {
                ExternalInput::Pause { source }
            } else {
                ExternalInput::Resume { source }
            });
        }
        self.was_paused = Some(paused);
        for (id, job) in &view.jobs {
            let foreign = !self.employers.contains(&job.employer);
            if foreign && job.state == JobState::Created && self.known.insert(*id) {
                out.push(ExternalInput::AdoptJob {
                    reference: format!("chain:{id}"),
                    title: format!("on-chain job #{id}"),
                    reward: Amount(u128::try_from(job.reward).unwrap_or(u128::MAX)),
                    skills: None,
                });
            }
        }
        out
    }
}

impl ChainFollower {
    /// Starts following; `cursor` holds the last indexed block after each step, `reorgs` the
    /// reorgs the indexer has seen (the mirror re-drives what a reorg took).
    pub fn start<S: LogSource + Send + 'static>(
        mut indexer: Indexer,
        source: S,
        mut adoption: Adoption,
        every: Duration,
        cursor: Arc<AtomicU64>,
        reorgs: Arc<AtomicU64>,
    ) -> ChainFollower {
        let (tx, rx) = mpsc::channel();
        // What the already-synced view asks for is queued now, so the engine's first cycle sees
        // it (a one-cycle `reconcile --repair` run must adopt what start-up reconciliation found).
        for input in adoption.inputs(indexer.view()) {
            tx.send(input).expect("the receiver is alive");
        }
        cursor.store(indexer.state.block, Relaxed);
        reorgs.store(indexer.state.reorgs, Relaxed);
        let task = tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::time::sleep(every).await;
                match indexer.sync(&source).await {
                    Ok(_) => failing = false,
                    Err(e) if !failing => {
                        tracing::warn!("chain indexer: {e} (retrying)");
                        failing = true;
                    }
                    Err(_) => {}
                }
                for input in adoption.inputs(indexer.view()) {
                    if tx.send(input).is_err() {
                        return;
                    }
                }
                cursor.store(indexer.state.block, Relaxed);
                reorgs.store(indexer.state.reorgs, Relaxed);
            }
        });
        ChainFollower { inputs: rx, task }
    }
}

impl InputSource for ChainFollower {
    fn name(&self) -> &str {
        "chain"
    }

    fn poll(&mut self) -> Vec<ExternalInput> {
        self.inputs.try_iter().collect()
    }
}

impl Drop for ChainFollower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::events::{ChainEvent, Module};
    use alloy::primitives::{B256, U256};

    fn created(job: u64, employer: Address) -> ChainEvent {
        ChainEvent::JobCreated {
            job,
            employer,
            reward: U256::from(5),
            spec_hash: B256::ZERO,
        }
    }

    #[test]
    fn foreign_open_jobs_are_adopted_once_and_pause_follows_the_chain() {
        let ours = Address::repeat_byte(1);
        let theirs = Address::repeat_byte(9);
        let mut a = Adoption::new([ours].into(), [2].into());
        let mut v = ChainView::default();
        for e in [created(1, ours), created(2, theirs), created(3, theirs)] {
            v.apply(&e);
        }
        let first = a.inputs(&v);
        assert!(
            matches!(&first[..], [ExternalInput::AdoptJob { reference, .. }] if reference == "chain:3")
        );
        assert!(a.inputs(&v).is_empty(), "adopted once");
        v.apply(&ChainEvent::Paused {
            module: Module::SystemPause,
        });
        assert!(matches!(&a.inputs(&v)[..], [ExternalInput::Pause { .. }]));
        assert!(a.inputs(&v).is_empty());
        v.apply(&ChainEvent::Unpaused {
            module: Module::SystemPause,
        });
        assert!(matches!(&a.inputs(&v)[..], [ExternalInput::Resume { .. }]));
    }
}
