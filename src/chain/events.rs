//! Every event of every v2 module, decoded from raw logs into one typed enum the indexer stores and
//! the chain view folds. Decoding relies only on the v2 event signatures (plus our
//! `CheckpointRegistry`), so it reads a real v2 deployment as well as our devnet.

use super::bindings::{
    CheckpointRegistry::{self, CheckpointRegistryEvents},
    IdentityRegistry::{self, IdentityRegistryEvents},
    JobRegistry::{self, JobRegistryEvents},
    StakeManager::{self, StakeManagerEvents},
    ValidationModule::ValidationModuleEvents,
};
use super::manifest::Deployment;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEventInterface;
use serde::{Deserialize, Serialize};

/// Which module emitted an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    JobRegistry,
    StakeManager,
    ValidationModule,
    IdentityRegistry,
    CheckpointRegistry,
    SystemPause,
}

impl Module {
    /// Every module the deployment has (a v2 deployment has no CheckpointRegistry).
    pub fn all(d: &Deployment) -> Vec<(Module, Address)> {
        let mut all = vec![
            (Module::JobRegistry, d.job_registry),
            (Module::StakeManager, d.stake_manager),
            (Module::ValidationModule, d.validation_module),
            (Module::IdentityRegistry, d.identity_registry),
            (Module::SystemPause, d.system_pause),
        ];
        if let Some(c) = d.checkpoint_registry {
            all.insert(4, (Module::CheckpointRegistry, c));
        }
        all
    }
}

/// One on-chain fact, typed. Amounts are in token wei.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChainEvent {
    JobCreated {
        job: u64,
        employer: Address,
        reward: U256,
        spec_hash: B256,
    },
    AgentAssigned {
        job: u64,
        agent: Address,
    },
    ResultSubmitted {
        job: u64,
        agent: Address,
    },
    JobCompleted {
        job: u64,
        success: bool,
    },
    JobDisputed {
        job: u64,
    },
    DisputeResolved {
        job: u64,
        employer_wins: bool,
    },
    JobFinalized {
        job: u64,
    },
    JobCancelled {
        job: u64,
    },
    JobExpired {
        job: u64,
    },
    ValidatorsSelected {
        job: u64,
        validators: Vec<Address>,
    },
    ValidationCommitted {
        job: u64,
        validator: Address,
    },
    ValidationRevealed {
        job: u64,
        validator: Address,
        approve: bool,
    },
    ValidationResult {
        job: u64,
        success: bool,
    },
    StakeDeposited {
        user: Address,
        role: u8,
        amount: U256,
    },
    StakeWithdrawn {
        user: Address,
        role: u8,
        amount: U256,
    },
    StakeSlashed {
        user: Address,
        role: u8,
        amount: U256,
    },
    GovernanceSlash {
        user: Address,
        role: u8,
        amount: U256,
    },
    Paused {
        module: Module,
    },
    Unpaused {
        module: Module,
    },
    /// A governance setter took effect (`name` is the event or the v2 parameter key).
    Parameter {
        module: Module,
        name: String,
        value: String,
    },
    CheckpointAttested {
        index: u64,
        hash: B256,
        attestor: Address,
        cursor_block: u64,
    },
    /// Decoded, but nothing the view keeps (escrow moves, payouts, evidence, bans, ownership).
    Other {
        module: Module,
        name: String,
    },
}

impl ChainEvent {
    /// The on-chain job the event is about, if any.
    pub fn job(&self) -> Option<u64> {
        match self {
            ChainEvent::JobCreated { job, .. }
            | ChainEvent::AgentAssigned { job, .. }
            | ChainEvent::ResultSubmitted { job, .. }
            | ChainEvent::JobCompleted { job, .. }
            | ChainEvent::JobDisputed { job }
            | ChainEvent::DisputeResolved { job, .. }
            | ChainEvent::JobFinalized { job }
            | ChainEvent::JobCancelled { job }
            | ChainEvent::JobExpired { job }
            | ChainEvent::ValidatorsSelected { job, .. }
            | ChainEvent::ValidationCommitted { job, .. }
            | ChainEvent::ValidationRevealed { job, .. }
            | ChainEvent::ValidationResult { job, .. } => Some(*job),
            _ => None,
        }
    }
}

/// Decodes one log of `module`; `None` for a log that no module event matches.
pub fn decode(module: Module, log: &Log) -> Option<ChainEvent> {
    let (topics, data) = (log.topics(), &log.data().data[..]);
    match module {
        Module::JobRegistry => JobRegistryEvents::decode_raw_log(topics, data)
            .ok()
            .map(job_registry),
        Module::StakeManager => StakeManagerEvents::decode_raw_log(topics, data)
            .ok()
            .map(stake_manager),
        Module::ValidationModule => ValidationModuleEvents::decode_raw_log(topics, data)
            .ok()
            .map(validation_module),
        Module::IdentityRegistry => IdentityRegistryEvents::decode_raw_log(topics, data)
            .ok()
            .map(identity_registry),
        Module::CheckpointRegistry => CheckpointRegistryEvents::decode_raw_log(topics, data)
            .ok()
            .map(checkpoint_registry),
        Module::SystemPause => Some(ChainEvent::Other {
            module,
            name: "OwnershipTransferred".into(),
        }),
    }
}

fn id(v: U256) -> u64 {
    v.try_into().unwrap_or(u64::MAX)
}

/// A bytes32 parameter key as text when it is printable ASCII, as hex otherwise.
fn key(name: B256) -> String {
    let trimmed: Vec<u8> = name.iter().copied().take_while(|b| *b != 0).collect();
    match String::from_utf8(trimmed) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()) => s,
        _ => name.to_string(),
    }
}

fn param(module: Module, name: impl Into<String>, value: impl ToString) -> ChainEvent {
    ChainEvent::Parameter {
        module,
        name: name.into(),
        value: value.to_string(),
    }
}

fn other(module: Module, name: &str) -> ChainEvent {
    ChainEvent::Other {
        module,
        name: name.into(),
    }
}

fn job_registry(e: JobRegistryEvents) -> ChainEvent {
    use JobRegistryEvents as E;
    const M: Module = Module::JobRegistry;
    match e {
        E::JobCreated(JobRegistry::JobCreated {
            jobId,
            employer,
            reward,
            specHash,
            ..
        }) => ChainEvent::JobCreated {
            job: id(jobId),
            employer,
            reward,
            spec_hash: specHash,
        },
        E::AgentAssigned(e) => ChainEvent::AgentAssigned {
            job: id(e.jobId),
            agent: e.agent,
        },
        E::ResultSubmitted(e) => ChainEvent::ResultSubmitted {
            job: id(e.jobId),
            agent: e.worker,
        },
        E::JobCompleted(e) => ChainEvent::JobCompleted {
            job: id(e.jobId),
            success: e.success,
        },
        E::JobDisputed(e) => ChainEvent::JobDisputed { job: id(e.jobId) },
        E::DisputeResolved(e) => ChainEvent::DisputeResolved {
            job: id(e.jobId),
            employer_wins: e.employerWins,
        },
        E::JobFinalized(e) => ChainEvent::JobFinalized { job: id(e.jobId) },
        E::JobCancelled(e) => ChainEvent::JobCancelled { job: id(e.jobId) },
        E::JobExpired(e) => ChainEvent::JobExpired { job: id(e.jobId) },
        E::Paused(_) => ChainEvent::Paused { module: M },
        E::Unpaused(_) => ChainEvent::Unpaused { module: M },
        E::JobParameterUpdated(e) => param(M, key(e.name), e.value),
        E::TreasuryUpdated(e) => param(M, "treasury", e.treasury),
        E::PauserUpdated(e) => param(M, "pauser", e.pauser),
        E::DisputeModuleUpdated(e) => param(M, "disputeModule", e.disputeModule),
        E::OwnershipTransferred(e) => param(M, "owner", e.newOwner),
        E::JobPayout(_) => other(M, "JobPayout"),
        E::DisputeEvidence(_) => other(M, "DisputeEvidence"),
    }
}

fn stake_manager(e: StakeManagerEvents) -> ChainEvent {
    use StakeManagerEvents as E;
    const M: Module = Module::StakeManager;
    match e {
        E::StakeDeposited(e) => ChainEvent::StakeDeposited {
            user: e.user,
            role: e.role,
            amount: e.amount,
        },
        E::StakeWithdrawn(e) => ChainEvent::StakeWithdrawn {
            user: e.user,
            role: e.role,
            amount: e.amount,
        },
        E::StakeSlashed(StakeManager::StakeSlashed {
            user,
            role,
            employerShare,
            treasuryShare,
            operatorShare,
            validatorShare,
            burnShare,
            ..
        }) => ChainEvent::StakeSlashed {
            user,
            role,
            amount: employerShare + treasuryShare + operatorShare + validatorShare + burnShare,
        },
        E::GovernanceSlash(e) => ChainEvent::GovernanceSlash {
            user: e.user,
            role: e.role,
            amount: e.amount,
        },
        E::Paused(_) => ChainEvent::Paused { module: M },
        E::Unpaused(_) => ChainEvent::Unpaused { module: M },
        E::MinStakeUpdated(e) => param(M, "minStake", e.minStake),
        E::RoleMinimumUpdated(e) => param(M, format!("roleMinimum[{}]", e.role), e.minimum),
        E::SlashingPercentagesUpdated(e) => param(
            M,
            "slashingPercentages",
            format!("{},{}", e.employerPct, e.treasuryPct),
        ),
        E::UnbondingPeriodUpdated(e) => param(M, "unbondingPeriod", e.period),
        E::TreasuryUpdated(e) => param(M, "treasury", e.treasury),
        E::PauserUpdated(e) => param(M, "pauser", e.pauser),
        E::JobRegistryUpdated(e) => param(M, "jobRegistry", e.jobRegistry),
        E::ValidationModuleUpdated(e) => param(M, "validationModule", e.validationModule),
        E::OwnershipTransferred(e) => param(M, "owner", e.newOwner),
        E::WithdrawRequested(_) => other(M, "WithdrawRequested"),
        E::StakeEscrowLocked(_) => other(M, "StakeEscrowLocked"),
        E::StakeReleased(_) => other(M, "StakeReleased"),
        E::RewardPaid(_) => other(M, "RewardPaid"),
        E::TokensBurned(_) => other(M, "TokensBurned"),
    }
}

fn validation_module(e: ValidationModuleEvents) -> ChainEvent {
    use ValidationModuleEvents as E;
    const M: Module = Module::ValidationModule;
    match e {
        E::ValidatorsSelected(e) => ChainEvent::ValidatorsSelected {
            job: id(e.jobId),
            validators: e.validators,
        },
        E::ValidationCommitted(e) => ChainEvent::ValidationCommitted {
            job: id(e.jobId),
            validator: e.validator,
        },
        E::ValidationRevealed(e) => ChainEvent::ValidationRevealed {
            job: id(e.jobId),
            validator: e.validator,
            approve: e.approve,
        },
        E::ValidationResult(e) => ChainEvent::ValidationResult {
            job: id(e.jobId),
            success: e.success,
        },
        E::Paused(_) => ChainEvent::Paused { module: M },
        E::Unpaused(_) => ChainEvent::Unpaused { module: M },
        E::ValidationParameterUpdated(e) => param(M, key(e.name), e.value),
        E::ValidatorPoolUpdated(e) => param(M, "validatorPool", e.pool.len()),
        E::PauserUpdated(e) => param(M, "pauser", e.pauser),
        E::JobRegistryUpdated(e) => param(M, "jobRegistry", e.jobRegistry),
        E::OwnershipTransferred(e) => param(M, "owner", e.newOwner),
        E::ValidationTallied(_) => other(M, "ValidationTallied"),
        E::ValidationQuorumFailed(_) => other(M, "ValidationQuorumFailed"),
        E::ValidatorBanApplied(_) => other(M, "ValidatorBanApplied"),
    }
}

fn identity_registry(e: IdentityRegistryEvents) -> ChainEvent {
    use IdentityRegistryEvents as E;
    const M: Module = Module::IdentityRegistry;
    match e {
        E::AdditionalAgentUpdated(IdentityRegistry::AdditionalAgentUpdated { agent, allowed }) => {
            param(M, format!("agent[{agent}]"), allowed)
        }
        E::AdditionalValidatorUpdated(e) => {
            param(M, format!("validator[{}]", e.validator), e.allowed)
        }
        E::OwnershipTransferred(e) => param(M, "owner", e.newOwner),
    }
}

fn checkpoint_registry(e: CheckpointRegistryEvents) -> ChainEvent {
    use CheckpointRegistryEvents as E;
    const M: Module = Module::CheckpointRegistry;
    match e {
        E::CheckpointAttested(CheckpointRegistry::CheckpointAttested {
            index,
            stateHash,
            attestor,
            cursorBlock,
            ..
        }) => ChainEvent::CheckpointAttested {
            index: id(index),
            hash: stateHash,
            attestor,
            cursor_block: id(cursorBlock),
        },
        E::AttestorUpdated(e) => param(M, format!("attestor[{}]", e.attestor), e.allowed),
        E::OwnershipTransferred(e) => param(M, "owner", e.newOwner),
    }
}
