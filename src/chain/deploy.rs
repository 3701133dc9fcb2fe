//! Deploys and wires our v2-compatible contracts, then funds and stakes the workforce, following
//! `contracts/README.md` ("Deployment and wiring") step by step.

use super::bindings::{
    AGIALPHA, CheckpointRegistry, IdentityRegistry, JobRegistry, StakeManager, SystemPause,
    ValidationModule,
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
}

const WEI: u128 = 1_000_000_000_000_000_000;

fn tokens(n: u128) -> U256 {
    U256::from(n) * U256::from(WEI)
}

/// Deploys everything with the owner key and returns the manifest.
#[allow(clippy::too_many_lines)] // TODO(merge): split
pub async fn deploy(hub: &TxHub, keys: &Keys, p: &DevnetParams) -> Result<Deployment> {
    let owner = keys.owner.address();
    let deploy_block = hub.provider().get_block_number().await?;
    let create = |label: &'static str, code: Bytes, args: Vec<u8>| {
        let mut input = code.to_vec();
        input.extend(args);
        async move {
            let receipt = hub
                .send(label, owner, None, input.into(), Gas::Estimate)
                .await?;
            receipt
                .contract_address
                .ok_or_else(|| eyre::eyre!("{label}: no contract address in the receipt"))
        }
    };
    let token = create(
        "deploy AGIALPHA",
        AGIALPHA::BYTECODE.clone(),
        AGIALPHA::constructorCall {
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;
    let stake_manager = create(
        "deploy StakeManager",
        StakeManager::BYTECODE.clone(),
        StakeManager::constructorCall {
            token_: token,
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;
    let identity = create(
        "deploy IdentityRegistry",
        IdentityRegistry::BYTECODE.clone(),
        IdentityRegistry::constructorCall {
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;
    let validation = create(
        "deploy ValidationModule",
        ValidationModule::BYTECODE.clone(),
        ValidationModule::constructorCall {
            stakeManager_: stake_manager,
            identityRegistry_: identity,
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;
    let registry = create(
        "deploy JobRegistry",
        JobRegistry::BYTECODE.clone(),
        JobRegistry::constructorCall {
            stakeManager_: stake_manager,
            validationModule_: validation,
            identityRegistry_: identity,
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;
    let pause = create(
        "deploy SystemPause",
        SystemPause::BYTECODE.clone(),
        SystemPause::constructorCall {
            jobRegistry_: registry,
            stakeManager_: stake_manager,
            validationModule_: validation,
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;
    let checkpoints = create(
        "deploy CheckpointRegistry",
        CheckpointRegistry::BYTECODE.clone(),
        CheckpointRegistry::constructorCall {
            initialOwner: owner,
        }
        .abi_encode(),
    )
    .await?;

    let send = |label: &'static str, from: Address, to: Address, input: Vec<u8>| {
        hub.send(label, from, Some(to), input.into(), Gas::Estimate)
    };
    send(
        "wire StakeManager.setJobRegistry",
        owner,
        stake_manager,
        StakeManager::setJobRegistryCall { registry }.abi_encode(),
    )
    .await?;
    send(
        "wire StakeManager.setValidationModule",
        owner,
        stake_manager,
        StakeManager::setValidationModuleCall { module: validation }.abi_encode(),
    )
    .await?;
    send(
        "wire ValidationModule.setJobRegistry",
        owner,
        validation,
        ValidationModule::setJobRegistryCall { registry }.abi_encode(),
    )
    .await?;
    send(
        "wire JobRegistry.setPauser",
        owner,
        registry,
        JobRegistry::setPauserCall { newPauser: pause }.abi_encode(),
    )
    .await?;
    send(
        "wire StakeManager.setPauser",
        owner,
        stake_manager,
        StakeManager::setPauserCall { newPauser: pause }.abi_encode(),
    )
    .await?;
    send(
        "wire ValidationModule.setPauser",
        owner,
        validation,
        ValidationModule::setPauserCall { newPauser: pause }.abi_encode(),
    )
    .await?;
    send(
        "wire CheckpointRegistry.setAttestor",
        owner,
        checkpoints,
        CheckpointRegistry::setAttestorCall {
            attestor: owner,
            allowed: true,
        }
        .abi_encode(),
    )
    .await?;
    // Validators also take governance and audit jobs, so every member may act as an agent.
    for agent in keys.agents.iter().chain(&keys.validators) {
        send(
            "allowlist agent",
            owner,
            identity,
            IdentityRegistry::addAdditionalAgentCall {
                agent: agent.address(),
            }
            .abi_encode(),
        )
        .await?;
    }
    for v in &keys.validators {
        send(
            "allowlist validator",
            owner,
            identity,
            IdentityRegistry::addAdditionalValidatorCall {
                validator: v.address(),
            }
            .abi_encode(),
        )
        .await?;
    }
    let pool: Vec<Address> = keys.validators.iter().map(|k| k.address()).collect();
    send(
        "ValidationModule.setValidatorPool",
        owner,
        validation,
        ValidationModule::setValidatorPoolCall { pool }.abi_encode(),
    )
    .await?;
    send(
        "ValidationModule.setCommitRevealWindows",
        owner,
        validation,
        ValidationModule::setCommitRevealWindowsCall {
            commitDur: U256::from(p.commit_window_s),
            revealDur: U256::from(p.reveal_window_s),
        }
        .abi_encode(),
    )
    .await?;
    send(
        "ValidationModule.setValidatorsPerJob",
        owner,
        validation,
        ValidationModule::setValidatorsPerJobCall {
            count: U256::from(p.validators_per_job),
        }
        .abi_encode(),
    )
    .await?;
    send(
        "ValidationModule.setRequiredValidatorApprovals",
        owner,
        validation,
        ValidationModule::setRequiredValidatorApprovalsCall {
            count: U256::from(p.required_approvals),
        }
        .abi_encode(),
    )
    .await?;

    // The engine bans nobody: a non-revealer pays its penalty but stays in the pool.
    send(
        "ValidationModule.setNonRevealPenalty",
        owner,
        validation,
        ValidationModule::setNonRevealPenaltyCall {
            penaltyBps: U256::from(50),
            banBlocks_: U256::ZERO,
        }
        .abi_encode(),
    )
    .await?;

    // Fund and stake the workforce. Approvals are bounded (issue 19, see `approval_cap`).
    let fund = |who: Address, amount: U256| {
        send(
            "mint",
            owner,
            token,
            AGIALPHA::mintCall { to: who, amount }.abi_encode(),
        )
    };
    fund(keys.employer.address(), tokens(p.employer_tokens)).await?;
    let approve = |value: U256| {
        AGIALPHA::approveCall {
            spender: stake_manager,
            value,
        }
        .abi_encode()
    };
    send(
        "approve StakeManager",
        keys.employer.address(),
        token,
        approve(approval_cap(p.employer_tokens)),
    )
    .await?;
    for (key, role, stake) in keys
        .agents
        .iter()
        .map(|k| (k, 0u8, p.agent_stake))
        .chain(keys.validators.iter().map(|k| (k, 1u8, p.validator_stake)))
    {
        fund(key.address(), tokens(p.member_tokens)).await?;
        send(
            "approve StakeManager",
            key.address(),
            token,
            approve(approval_cap(p.member_tokens)),
        )
        .await?;
        send(
            "depositStake",
            key.address(),
            stake_manager,
            StakeManager::depositStakeCall {
                role,
                amount: tokens(stake),
            }
            .abi_encode(),
        )
        .await
        .wrap_err("staking the workforce")?;
        if role == 1 {
            let call = StakeManager::depositStakeCall {
                role: 0,
                amount: tokens(p.agent_stake),
            };
            send(
                "depositStake (agent role)",
                key.address(),
                stake_manager,
                call.abi_encode(),
            )
            .await
            .wrap_err("staking the workforce")?;
        }
    }
    Ok(Deployment {
        chain_id: hub.chain_id(),
        deploy_block,
        token,
        stake_manager,
        job_registry: registry,
        validation_module: validation,
        identity_registry: identity,
        system_pause: pause,
        checkpoint_registry: Some(checkpoints),
        owner,
    })
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
