//! The governance levers `omega owner` pulls, as the owner tests pull them and read them back on
//! chain (`tests/owner_chain.rs` with the owner governing, `tests/owner_governance.rs` under
//! SystemPause).

use super::{Sandbox, runtime};
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use omega::chain::bindings::{IdentityRegistry, JobRegistry, StakeManager, ValidationModule};

/// The on-chain governance values the owner tests read back.
#[derive(Debug, PartialEq)]
pub struct OnChain {
    pub approvals: U256,
    pub approval: U256,
    pub slash: U256,
    pub commit: U256,
    pub reveal: U256,
    pub fee: U256,
    pub min_stake: U256,
    pub job_stake: U256,
    pub paused: bool,
    /// The owners of JobRegistry, StakeManager, ValidationModule and IdentityRegistry.
    pub owners: [Address; 4],
    pub block: u64,
}

pub fn read(net: &Sandbox) -> OnChain {
    let d = net.deployment();
    runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        let vm = ValidationModule::new(d.validation_module, &p);
        let jr = JobRegistry::new(d.job_registry, &p);
        let sm = StakeManager::new(d.stake_manager, &p);
        let ir = IdentityRegistry::new(d.identity_registry, &p);
        OnChain {
            approvals: vm.requiredValidatorApprovals().call().await.unwrap(),
            approval: vm.approvalThreshold().call().await.unwrap(),
            slash: vm.validatorSlashingPct().call().await.unwrap(),
            commit: vm.commitWindow().call().await.unwrap(),
            reveal: vm.revealWindow().call().await.unwrap(),
            fee: jr.feePct().call().await.unwrap(),
            min_stake: sm.minStake().call().await.unwrap(),
            job_stake: U256::from(jr.jobStake().call().await.unwrap()),
            paused: jr.paused().call().await.unwrap(),
            owners: [
                jr.owner().call().await.unwrap(),
                sm.owner().call().await.unwrap(),
                vm.owner().call().await.unwrap(),
                ir.owner().call().await.unwrap(),
            ],
            block: p.get_block_number().await.unwrap(),
        }
    })
}

pub fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// The seven levers with a value, each pulled once; returns each command's output.
pub fn pull_every_lever(net: &Sandbox) -> Vec<String> {
    [
        &["set-quorum", "2"][..],
        &["set-approval", "70"],
        &["set-slash-pct", "40"],
        &["set-windows", "120", "90"],
        &["set-fee-pct", "7"],
        &["set-min-stake", "5"],
        &["set-job-stake", "3"],
    ]
    .iter()
    .map(|args| net.ok(&[&["owner"][..], args].concat()))
    .collect()
}

/// The chain holds what `pull_every_lever` set.
pub fn assert_every_lever_pulled(c: &OnChain) {
    let values = [
        c.approvals,
        c.approval,
        c.slash,
        c.commit,
        c.reveal,
        c.fee,
        c.min_stake,
        c.job_stake,
    ];
    let wanted = [2, 70, 40, 120, 90, 7].map(U256::from);
    assert_eq!(values[..6], wanted, "{c:?}");
    assert_eq!(values[6..], [tokens(5), tokens(3)], "{c:?}");
}

/// A validator's stake in the validator role.
pub fn validator_stake(net: &Sandbox, validator: Address) -> U256 {
    let d = net.deployment();
    runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        let sm = StakeManager::new(d.stake_manager, &p);
        sm.stakeOf(validator, 1).call().await.unwrap()
    })
}
