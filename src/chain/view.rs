//! The on-chain view: a pure fold of decoded chain events (jobs and their states, stakes per role,
//! slashes, pause flags, parameters, attestations). Folding the same events again gives the same
//! view, which is what makes the indexer's rewind-and-reapply after a reorg safe.

use super::events::{ChainEvent, Module};
use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The v2 job states (`enum State` in the spec), as the events move them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Created,
    Applied,
    Submitted,
    Completed,
    Disputed,
    Finalized,
    Cancelled,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Created => "created",
            JobState::Applied => "applied",
            JobState::Submitted => "submitted",
            JobState::Completed => "completed",
            JobState::Disputed => "disputed",
            JobState::Finalized => "finalized",
            JobState::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub employer: Address,
    pub reward: U256,
    pub spec_hash: B256,
    pub state: JobState,
    pub agent: Option<Address>,
    /// The validation outcome once known (`JobCompleted`), or `false` for an expired job.
    pub success: Option<bool>,
    pub validators: Vec<Address>,
    pub commits: u32,
    pub reveals: u32,
    /// The block of the job's last step on chain (created, applied, submitted, selected, a
    /// vote, settled): how long it has stood still, for `reconcile`'s stalled check.
    #[serde(default)]
    pub since_block: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    pub hash: B256,
    pub attestor: Address,
    pub cursor_block: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainView {
    pub jobs: BTreeMap<u64, JobView>,
    /// `"<address>:<role>"` → staked amount (deposits − withdrawals − slashes).
    pub stakes: BTreeMap<String, U256>,
    pub slashes: u64,
    pub slashed: U256,
    pub paused: BTreeMap<Module, bool>,
    /// `"<module>.<name>"` → the last value set on chain.
    pub params: BTreeMap<String, String>,
    pub attestations: BTreeMap<u64, Attestation>,
    pub events: u64,
}

pub const ROLES: [&str; 3] = ["agent", "validator", "platform"];

fn stake_key(user: Address, role: u8) -> String {
    let role = ROLES.get(role as usize).copied().unwrap_or("other");
    format!("{user}:{role}")
}

impl ChainView {
    /// True when any module is paused (a `SystemPause.pauseAll` pauses them all).
    pub fn any_paused(&self) -> bool {
        self.paused.values().any(|p| *p)
    }

    /// Folds `e`, mined in `block`, into the view.
    pub fn apply_at(&mut self, block: u64, e: &ChainEvent) {
        self.apply(e);
        if let Some(j) = e.job().and_then(|id| self.jobs.get_mut(&id)) {
            j.since_block = block;
        }
    }

    pub fn apply(&mut self, e: &ChainEvent) {
        self.events += 1;
        match e {
            ChainEvent::JobCreated {
                job,
                employer,
                reward,
                spec_hash,
            } => {
                self.jobs.insert(
                    *job,
                    JobView {
                        employer: *employer,
                        reward: *reward,
                        spec_hash: *spec_hash,
                        state: JobState::Created,
                        agent: None,
                        success: None,
                        validators: Vec::new(),
                        commits: 0,
                        reveals: 0,
                        since_block: 0,
                    },
                );
            }
            ChainEvent::Paused { module } => {
                self.paused.insert(*module, true);
            }
            ChainEvent::Unpaused { module } => {
                self.paused.insert(*module, false);
            }
            ChainEvent::Parameter {
                module,
                name,
                value,
            } => {
                let module = serde_json::to_value(module).expect("unit enum");
                let key = format!("{}.{name}", module.as_str().unwrap_or("?"));
                self.params.insert(key, value.clone());
            }
            ChainEvent::CheckpointAttested {
                index,
                hash,
                attestor,
                cursor_block,
            } => {
                self.attestations.insert(
                    *index,
                    Attestation {
                        hash: *hash,
                        attestor: *attestor,
                        cursor_block: *cursor_block,
                    },
                );
            }
            e => {
                self.apply_stake(e);
                self.apply_job(e);
            }
        }
    }

    fn apply_stake(&mut self, e: &ChainEvent) {
        let (key, add, amount) = match e {
            ChainEvent::StakeDeposited { user, role, amount } => {
                (stake_key(*user, *role), true, amount)
            }
            ChainEvent::StakeWithdrawn { user, role, amount } => {
                (stake_key(*user, *role), false, amount)
            }
            ChainEvent::StakeSlashed { user, role, amount }
            | ChainEvent::GovernanceSlash { user, role, amount } => {
                self.slashes += 1;
                self.slashed += *amount;
                (stake_key(*user, *role), false, amount)
            }
            _ => return,
        };
        let s = self.stakes.entry(key).or_default();
        *s = if add {
            s.saturating_add(*amount)
        } else {
            s.saturating_sub(*amount)
        };
    }

    fn apply_job(&mut self, e: &ChainEvent) {
        let Some(job) = e.job().and_then(|id| self.jobs.get_mut(&id)) else {
            return;
        };
        match e {
            ChainEvent::AgentAssigned { agent, .. } => {
                job.agent = Some(*agent);
                job.state = JobState::Applied;
            }
            ChainEvent::ResultSubmitted { .. } => job.state = JobState::Submitted,
            ChainEvent::JobCompleted { success, .. } => {
                job.success = Some(*success);
                job.state = JobState::Completed;
            }
            ChainEvent::JobDisputed { .. } => job.state = JobState::Disputed,
            ChainEvent::DisputeResolved { employer_wins, .. } => {
                job.success = Some(!employer_wins);
                job.state = JobState::Completed;
            }
            ChainEvent::JobFinalized { .. } => job.state = JobState::Finalized,
            ChainEvent::JobExpired { .. } => {
                job.success = Some(false);
                job.state = JobState::Finalized;
            }
            ChainEvent::JobCancelled { .. } => job.state = JobState::Cancelled,
            ChainEvent::ValidatorsSelected { validators, .. } => {
                job.validators = validators.clone();
            }
            ChainEvent::ValidationCommitted { .. } => job.commits += 1,
            ChainEvent::ValidationRevealed { .. } => job.reveals += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(job: u64) -> ChainEvent {
        ChainEvent::JobCreated {
            job,
            employer: Address::repeat_byte(1),
            reward: U256::from(10),
            spec_hash: B256::repeat_byte(job as u8),
        }
    }

    #[test]
    fn a_lifecycle_folds_to_finalized_and_refolding_is_identical() {
        let agent = Address::repeat_byte(2);
        let events = [
            created(1),
            ChainEvent::AgentAssigned { job: 1, agent },
            ChainEvent::ResultSubmitted { job: 1, agent },
            ChainEvent::JobCompleted {
                job: 1,
                success: true,
            },
            ChainEvent::JobFinalized { job: 1 },
            ChainEvent::StakeDeposited {
                user: agent,
                role: 0,
                amount: U256::from(100),
            },
            ChainEvent::StakeSlashed {
                user: agent,
                role: 0,
                amount: U256::from(30),
            },
            ChainEvent::Paused {
                module: Module::JobRegistry,
            },
        ];
        let mut a = ChainView::default();
        events.iter().for_each(|e| a.apply(e));
        let mut b = ChainView::default();
        events.iter().for_each(|e| b.apply(e));
        assert_eq!(a, b);
        let job = &a.jobs[&1];
        assert_eq!(
            (job.state, job.success, job.agent),
            (JobState::Finalized, Some(true), Some(agent))
        );
        assert_eq!(a.stakes[&format!("{agent}:agent")], U256::from(70));
        assert_eq!((a.slashes, a.any_paused()), (1, true));
    }

    #[test]
    fn a_rejected_job_ends_unsuccessful_and_events_for_unknown_jobs_are_ignored() {
        let mut v = ChainView::default();
        v.apply(&created(3));
        v.apply(&ChainEvent::JobDisputed { job: 3 });
        v.apply(&ChainEvent::DisputeResolved {
            job: 3,
            employer_wins: true,
        });
        v.apply(&ChainEvent::JobFinalized { job: 99 });
        assert_eq!(v.jobs[&3].state, JobState::Completed);
        assert_eq!(v.jobs[&3].success, Some(false));
        assert!(!v.jobs.contains_key(&99));
    }
}
