//! Deploys and wires our v2-compatible contracts, then funds and stakes the workforce, following
//! `contracts/README.md` ("Deployment and wiring") step by step.

use super::bindings::{
    AGIALPHA, CheckpointRegistry, DisputeModule, IdentityRegistry, JobRegistry, StakeManager,
    SystemPause, ValidationModule,
};
use super::keys::Keys;
use super::manifest::Deployment;
use super::tx::{Gas, TxHub};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolConstructor};
use eyre::{Result, WrapErr};

/// Devnet parameters the deployer sets.
#[derive(Clone, Debug)]
pub struct DevnetParams {
    /// Tokens minted to the employer and to each agent/validator (whole tokens). The employer's
    /// approval of the StakeManager is bounded by this funding (see `employer_approval`).
    pub employer_tokens: u128,
    pub member_tokens: u128,
    /// Stake each agent and validator deposits (whole tokens).
    pub agent_stake: u128,
    pub validator_stake: u128,
    pub commit_window_s: u64,
    pub reveal_window_s: u64,
    pub validators_per_job: u64,
    pub required_approvals: u64,
    /// Percent of a validator's stake a wrong vote (and, at least as much, a missed reveal)
    /// costs on chain: the engine's `validators.penalty_ratio`, so that the chain's validators
    /// keep the stake the engine's do (at the contracts' default of 50 %, two faults emptied a
    /// validator on chain while the engine still seated it, and selection waited for ever).
    pub validator_slashing_pct: u64,
    /// Seconds between governance opening a dispute record and resolving it (the reference's
    /// default is a day; the devnet's clock jumps windows, so it takes one of those).
    pub dispute_window_s: u64,
    /// Blocks a validator who missed a reveal is banned from committees (0: no bans).
    pub ban_blocks: u64,
    /// Reveals a round needs at least (with `revealQuorumPct` 67), capped at the committee size.
    pub min_revealers: u64,
}

const WEI: u128 = 1_000_000_000_000_000_000;

fn tokens(n: u128) -> U256 {
    U256::from(n) * U256::from(WEI)
}

/// Deploys everything with the owner key and returns the manifest.
pub async fn deploy(hub: &TxHub, keys: &Keys, p: &DevnetParams) -> Result<Deployment> {
    let d = create_contracts(hub, keys.owner.address()).await?;
    for call in wiring(&d, keys, p).into_iter().chain(funding(&d, keys, p)) {
        hub.send(
            call.label,
            call.from,
            Some(call.to),
            call.data.into(),
            Gas::Estimate,
        )
        .await
        .wrap_err_with(|| format!("deploying: {}", call.label))?;
    }
    Ok(d)
}

/// Creates `code` with constructor `args` from `owner`; the new contract's address.
async fn create(
    hub: &TxHub,
    owner: Address,
    label: &'static str,
    code: &Bytes,
    args: Vec<u8>,
) -> Result<Address> {
    let mut input = code.to_vec();
    input.extend(args);
    let receipt = hub
        .send(label, owner, None, input.into(), Gas::Estimate)
        .await?;
    receipt
        .contract_address
        .ok_or_else(|| eyre::eyre!("{label}: no contract address in the receipt"))
}

/// Every contract, in dependency order.
async fn create_contracts(hub: &TxHub, owner: Address) -> Result<Deployment> {
    let deploy_block = hub.provider().get_block_number().await?;
    let args = AGIALPHA::constructorCall {
        initialOwner: owner,
    };
    let token = create(
        hub,
        owner,
        "deploy AGIALPHA",
        &AGIALPHA::BYTECODE,
        args.abi_encode(),
    );
    let token = token.await?;
    let args = StakeManager::constructorCall {
        token_: token,
        initialOwner: owner,
    };
    let code = &StakeManager::BYTECODE;
    let stake_manager = create(hub, owner, "deploy StakeManager", code, args.abi_encode());
    let stake_manager = stake_manager.await?;
    let args = IdentityRegistry::constructorCall {
        initialOwner: owner,
    };
    let code = &IdentityRegistry::BYTECODE;
    let identity = create(
        hub,
        owner,
        "deploy IdentityRegistry",
        code,
        args.abi_encode(),
    );
    let identity = identity.await?;
    let args = ValidationModule::constructorCall {
        stakeManager_: stake_manager,
        identityRegistry_: identity,
        initialOwner: owner,
    };
    let code = &ValidationModule::BYTECODE;
    let validation = create(
        hub,
        owner,
        "deploy ValidationModule",
        code,
        args.abi_encode(),
    );
    let mut d = Deployment {
        chain_id: hub.chain_id(),
        deploy_block,
        token,
        stake_manager,
        job_registry: Address::ZERO,
        validation_module: validation.await?,
        identity_registry: identity,
        system_pause: Address::ZERO,
        checkpoint_registry: None,
        dispute_module: None,
        owner,
    };
    create_registry_and_periphery(hub, &mut d).await?;
    Ok(d)
}

/// The JobRegistry, SystemPause, DisputeModule and CheckpointRegistry, which need the core
/// modules' addresses.
async fn create_registry_and_periphery(hub: &TxHub, d: &mut Deployment) -> Result<()> {
    let owner = d.owner;
    let args = JobRegistry::constructorCall {
        stakeManager_: d.stake_manager,
        validationModule_: d.validation_module,
        identityRegistry_: d.identity_registry,
        initialOwner: owner,
    };
    let code = &JobRegistry::BYTECODE;
    d.job_registry = create(hub, owner, "deploy JobRegistry", code, args.abi_encode()).await?;
    let args = SystemPause::constructorCall {
        jobRegistry_: d.job_registry,
        stakeManager_: d.stake_manager,
        validationModule_: d.validation_module,
        initialOwner: owner,
    };
    let code = &SystemPause::BYTECODE;
    d.system_pause = create(hub, owner, "deploy SystemPause", code, args.abi_encode()).await?;
    let args = CheckpointRegistry::constructorCall {
        initialOwner: owner,
    };
    let code = &CheckpointRegistry::BYTECODE;
    let checkpoints = create(
        hub,
        owner,
        "deploy CheckpointRegistry",
        code,
        args.abi_encode(),
    );
    d.checkpoint_registry = Some(checkpoints.await?);
    let args = DisputeModule::constructorCall {
        registry: d.job_registry,
        initialOwner: owner,
    };
    let code = &DisputeModule::BYTECODE;
    let disputes = create(hub, owner, "deploy DisputeModule", code, args.abi_encode());
    d.dispute_module = Some(disputes.await?);
    Ok(())
}

/// One transaction of the deployment after the contracts exist.
struct Call {
    label: &'static str,
    from: Address,
    to: Address,
    data: Vec<u8>,
}

fn owner_call(d: &Deployment, label: &'static str, to: Address, data: Vec<u8>) -> Call {
    Call {
        label,
        from: d.owner,
        to,
        data,
    }
}

/// The owner's wiring: modules, pausers, attestor, allowlists, pool and parameters.
fn wiring(d: &Deployment, keys: &Keys, p: &DevnetParams) -> Vec<Call> {
    let (sm, vm, jr) = (d.stake_manager, d.validation_module, d.job_registry);
    let pauser = d.system_pause;
    let mut calls = vec![
        owner_call(
            d,
            "wire StakeManager.setJobRegistry",
            sm,
            StakeManager::setJobRegistryCall { registry: jr }.abi_encode(),
        ),
        owner_call(
            d,
            "wire StakeManager.setValidationModule",
            sm,
            StakeManager::setValidationModuleCall { module: vm }.abi_encode(),
        ),
        owner_call(
            d,
            "wire ValidationModule.setJobRegistry",
            vm,
            ValidationModule::setJobRegistryCall { registry: jr }.abi_encode(),
        ),
        owner_call(
            d,
            "wire JobRegistry.setPauser",
            jr,
            JobRegistry::setPauserCall { newPauser: pauser }.abi_encode(),
        ),
        owner_call(
            d,
            "wire StakeManager.setPauser",
            sm,
            StakeManager::setPauserCall { newPauser: pauser }.abi_encode(),
        ),
        owner_call(
            d,
            "wire ValidationModule.setPauser",
            vm,
            ValidationModule::setPauserCall { newPauser: pauser }.abi_encode(),
        ),
    ];
    if let Some(dm) = d.dispute_module {
        let set = JobRegistry::setDisputeModuleCall { module: dm };
        calls.push(owner_call(
            d,
            "wire JobRegistry.setDisputeModule",
            jr,
            set.abi_encode(),
        ));
        let window = DisputeModule::setDisputeWindowCall {
            window: U256::from(p.dispute_window_s),
        };
        let label = "DisputeModule.setDisputeWindow";
        calls.push(owner_call(d, label, dm, window.abi_encode()));
    }
    if let Some(checkpoints) = d.checkpoint_registry {
        let attestor = CheckpointRegistry::setAttestorCall {
            attestor: d.owner,
            allowed: true,
        };
        let label = "wire CheckpointRegistry.setAttestor";
        calls.push(owner_call(d, label, checkpoints, attestor.abi_encode()));
    }
    calls.extend(allowlists(d, keys));
    calls.extend(parameters(d, keys, p));
    calls
}

/// Validators also take governance and audit jobs, so every member may act as an agent.
fn allowlists(d: &Deployment, keys: &Keys) -> Vec<Call> {
    let ir = d.identity_registry;
    let agents = keys.agents.iter().chain(&keys.validators).map(|k| {
        let add = IdentityRegistry::addAdditionalAgentCall { agent: k.address() };
        owner_call(d, "allowlist agent", ir, add.abi_encode())
    });
    let validators = keys.validators.iter().map(|k| {
        let add = IdentityRegistry::addAdditionalValidatorCall {
            validator: k.address(),
        };
        owner_call(d, "allowlist validator", ir, add.abi_encode())
    });
    agents.chain(validators).collect()
}

/// The validator pool and the validation parameters of this devnet.
fn parameters(d: &Deployment, keys: &Keys, p: &DevnetParams) -> Vec<Call> {
    let vm = d.validation_module;
    let pool: Vec<Address> = keys.validators.iter().map(|k| k.address()).collect();
    let windows = ValidationModule::setCommitRevealWindowsCall {
        commitDur: U256::from(p.commit_window_s),
        revealDur: U256::from(p.reveal_window_s),
    };
    let per_job = ValidationModule::setValidatorsPerJobCall {
        count: U256::from(p.validators_per_job),
    };
    let approvals = ValidationModule::setRequiredValidatorApprovalsCall {
        count: U256::from(p.required_approvals),
    };
    let slashing = ValidationModule::setValidatorSlashingPctCall {
        pct: U256::from(p.validator_slashing_pct),
    };
    // The friendly devnet bans nobody (the engine bans nobody): a non-revealer pays its penalty
    // but stays in the pool. The reference profile bans, as v2 does.
    let penalty = ValidationModule::setNonRevealPenaltyCall {
        penaltyBps: U256::from(p.validator_slashing_pct * 100),
        banBlocks_: U256::from(p.ban_blocks),
    };
    let quorum = ValidationModule::setRevealQuorumCall {
        pct: U256::from(67),
        minRevealers_: U256::from(p.min_revealers),
    };
    vec![
        owner_call(
            d,
            "ValidationModule.setValidatorPool",
            vm,
            ValidationModule::setValidatorPoolCall { pool }.abi_encode(),
        ),
        owner_call(
            d,
            "ValidationModule.setCommitRevealWindows",
            vm,
            windows.abi_encode(),
        ),
        owner_call(
            d,
            "ValidationModule.setValidatorsPerJob",
            vm,
            per_job.abi_encode(),
        ),
        owner_call(
            d,
            "ValidationModule.setRequiredValidatorApprovals",
            vm,
            approvals.abi_encode(),
        ),
        owner_call(
            d,
            "ValidationModule.setValidatorSlashingPct",
            vm,
            slashing.abi_encode(),
        ),
        owner_call(
            d,
            "ValidationModule.setNonRevealPenalty",
            vm,
            penalty.abi_encode(),
        ),
        owner_call(
            d,
            "ValidationModule.setRevealQuorum",
            vm,
            quorum.abi_encode(),
        ),
    ]
}

/// Fund and stake the workforce. Approvals are bounded (issue 19, see `approval_cap`);
/// validators stake in both roles (they take jobs too).
fn funding(d: &Deployment, keys: &Keys, p: &DevnetParams) -> Vec<Call> {
    let mint = |to: Address, amount: u128| Call {
        label: "mint",
        from: d.owner,
        to: d.token,
        data: AGIALPHA::mintCall {
            to,
            amount: tokens(amount),
        }
        .abi_encode(),
    };
    let approve = |from: Address, funding: u128| Call {
        label: "approve StakeManager",
        from,
        to: d.token,
        data: AGIALPHA::approveCall {
            spender: d.stake_manager,
            value: approval_cap(funding),
        }
        .abi_encode(),
    };
    let stake = |label, from: Address, role: u8, amount: u128| Call {
        label,
        from,
        to: d.stake_manager,
        data: StakeManager::depositStakeCall {
            role,
            amount: tokens(amount),
        }
        .abi_encode(),
    };
    let employer = keys.employer.address();
    let mut calls = vec![
        mint(employer, p.employer_tokens),
        approve(employer, p.employer_tokens),
    ];
    for key in &keys.agents {
        let a = key.address();
        calls.extend([mint(a, p.member_tokens), approve(a, p.member_tokens)]);
        calls.push(stake("depositStake", a, 0, p.agent_stake));
    }
    for key in &keys.validators {
        let v = key.address();
        calls.extend([mint(v, p.member_tokens), approve(v, p.member_tokens)]);
        calls.push(stake("depositStake", v, 1, p.validator_stake));
        calls.push(stake("depositStake (agent role)", v, 0, p.agent_stake));
    }
    calls
}

/// How many times over its funding an account may pass tokens through the StakeManager in one
/// deployment. Escrow that is refunded (failed or cancelled job) comes back to the balance but not
/// to the allowance, so a long run re-escrows its funding many times; the cap bounds that turnover.
const ALLOWANCE_TURNOVER: u128 = 1_000;

/// An account's approval of the StakeManager: its funding (`employer_tokens`, the operator's
/// `resource_manager.token_supply`, or `member_tokens`) times `ALLOWANCE_TURNOVER`, never unlimited.
/// Members need more than their stake deposits: agents and validators post jobs too. The
/// StakeManager can only pull a job's reward + fee once, from its poster (wiring set once).
fn approval_cap(funding_tokens: u128) -> U256 {
    tokens(funding_tokens) * U256::from(ALLOWANCE_TURNOVER)
}

/// Who governs JobRegistry, StakeManager and ValidationModule on the devnet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Governance {
    /// The owner key owns every module and calls the setters directly (friendly default).
    #[default]
    Owner,
    /// Reference mode, as on real v2 deployments: the modules belong to SystemPause, and the
    /// owner (SystemPause's governance) reaches their setters through `executeGovernanceCall`.
    /// The IdentityRegistry stays with the owner, as in the reference.
    SystemPause,
}

impl std::str::FromStr for Governance {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Governance::Owner),
            "system-pause" | "systempause" | "reference" => Ok(Governance::SystemPause),
            other => Err(format!(
                "governance must be owner or system-pause (got {other:?})"
            )),
        }
    }
}

/// Puts the modules in `governance`'s topology, after wiring and funding (which need the owner's
/// direct calls). Only modules governed by the deployment's owner (or by SystemPause, whose
/// governance is the owner) move: a devnet handed to someone else is left alone.
pub async fn set_governance(hub: &TxHub, d: &Deployment, governance: Governance) -> Result<()> {
    use super::topology::governor_of;
    let sp = d.system_pause;
    let sp_governed_by_owner = governor_of(hub, sp).await == Some(d.owner);
    for (name, module) in [
        ("JobRegistry", d.job_registry),
        ("StakeManager", d.stake_manager),
        ("ValidationModule", d.validation_module),
    ] {
        let governor = governor_of(hub, module).await;
        let (label, to, data) = match governance {
            Governance::SystemPause if governor == Some(d.owner) => (
                "hand the module to SystemPause",
                module,
                JobRegistry::transferOwnershipCall { newOwner: sp }.abi_encode(),
            ),
            Governance::Owner if governor == Some(sp) && sp_governed_by_owner => {
                let back = JobRegistry::transferOwnershipCall { newOwner: d.owner };
                let call = SystemPause::executeGovernanceCallCall {
                    target: module,
                    data: back.abi_encode().into(),
                };
                (
                    "take the module back from SystemPause",
                    sp,
                    call.abi_encode(),
                )
            }
            _ => continue,
        };
        hub.send(label, d.owner, Some(to), data.into(), Gas::Estimate)
            .await
            .wrap_err_with(|| format!("{label}: {name}"))?;
    }
    Ok(())
}

/// Checks that a manifest's contracts exist on the chain behind `hub` (a restarted devnet that
/// lost its state, or a manifest from another chain, is caught here).
pub async fn verify(hub: &TxHub, d: &Deployment) -> Result<bool> {
    if hub.chain_id() != d.chain_id {
        return Ok(false);
    }
    for a in [
        d.token,
        d.stake_manager,
        d.job_registry,
        d.validation_module,
        d.identity_registry,
        d.system_pause,
    ]
    .into_iter()
    .chain(d.checkpoint_registry)
    {
        if hub.provider().get_code_at(a).await?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DevnetParams {
        DevnetParams {
            employer_tokens: 1_000_000,
            member_tokens: 50_000_000,
            agent_stake: 1_000,
            validator_stake: 2_000,
            commit_window_s: 300,
            reveal_window_s: 300,
            validators_per_job: 3,
            required_approvals: 2,
            validator_slashing_pct: 5,
            dispute_window_s: 300,
            ban_blocks: 0,
            min_revealers: 1,
        }
    }

    #[test]
    fn approvals_are_bounded_by_the_funding() {
        let p = params();
        assert_eq!(approval_cap(p.employer_tokens), tokens(1_000_000_000));
        assert_eq!(approval_cap(p.member_tokens), tokens(50_000_000_000));
        assert!(approval_cap(p.member_tokens) < U256::MAX);
    }
}
