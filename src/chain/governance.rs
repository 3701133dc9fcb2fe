//! Owner levers on chain: each governance command as the v2 setter calls it makes, and the
//! on-chain values `omega owner params` compares with the configuration.

use super::bindings::{JobRegistry, StakeManager, SystemPause, ValidationModule};
use super::manifest::Deployment;
use super::tx::TxHub;
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;

/// One governance change, validated.
#[derive(Clone, Debug, PartialEq)]
pub enum Lever {
    Pause(bool),
    Windows {
        commit_s: u64,
        reveal_s: u64,
    },
    /// Approving reveals a job needs.
    Quorum(u64),
    /// Stake-weighted approval threshold, percent.
    Approval(u64),
    /// Share of a wrong-voting validator's stake slashed, percent.
    ValidatorSlashPct(u64),
    /// Protocol fee on top of each reward, percent (burned).
    FeePct(u64),
    /// Minimum stake per role, in token units (18 decimals).
    MinStake(U256),
    /// Stake an agent locks per job, in token units.
    JobStake(U256),
    GovernanceSlash {
        user: Address,
        role: u8,
        bps: u64,
    },
    TransferGovernance(Address),
}

/// A call for the owner (or a multisig/timelock) to make.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub label: &'static str,
    pub target: Address,
    pub calldata: Bytes,
}

fn call(label: &'static str, target: Address, data: Vec<u8>) -> Call {
    Call {
        label,
        target,
        calldata: data.into(),
    }
}

impl Lever {
    /// The setter calls, in order.
    pub fn calls(&self, d: &Deployment, owner: Address) -> Vec<Call> {
        let (jr, sm, vm) = (d.job_registry, d.stake_manager, d.validation_module);
        match *self {
            Lever::Pause(pause) => vec![pause_call(d.system_pause, pause)],
            Lever::Windows { commit_s, reveal_s } => vec![call(
                "ValidationModule.setCommitRevealWindows",
                vm,
                ValidationModule::setCommitRevealWindowsCall {
                    commitDur: U256::from(commit_s),
                    revealDur: U256::from(reveal_s),
                }
                .abi_encode(),
            )],
            Lever::Quorum(n) => vec![call(
                "ValidationModule.setRequiredValidatorApprovals",
                vm,
                ValidationModule::setRequiredValidatorApprovalsCall {
                    count: U256::from(n),
                }
                .abi_encode(),
            )],
            Lever::Approval(pct) => vec![call(
                "ValidationModule.setApprovalThreshold",
                vm,
                ValidationModule::setApprovalThresholdCall {
                    pct: U256::from(pct),
                }
                .abi_encode(),
            )],
            Lever::ValidatorSlashPct(pct) => vec![call(
                "ValidationModule.setValidatorSlashingPct",
                vm,
                ValidationModule::setValidatorSlashingPctCall {
                    pct: U256::from(pct),
                }
                .abi_encode(),
            )],
            Lever::FeePct(pct) => vec![call(
                "JobRegistry.setFeePct",
                jr,
                JobRegistry::setFeePctCall {
                    pct: U256::from(pct),
                }
                .abi_encode(),
            )],
            Lever::MinStake(amount) => vec![call(
                "StakeManager.setMinStake",
                sm,
                StakeManager::setMinStakeCall {
                    newMinStake: amount,
                }
                .abi_encode(),
            )],
            Lever::JobStake(amount) => vec![call(
                "JobRegistry.setJobStake",
                jr,
                JobRegistry::setJobStakeCall {
                    stake: alloy::primitives::Uint::<96, 2>::saturating_from(amount),
                }
                .abi_encode(),
            )],
            Lever::GovernanceSlash { user, role, bps } => vec![call(
                "StakeManager.governanceSlash",
                sm,
                StakeManager::governanceSlashCall {
                    user,
                    role,
                    pctBps: U256::from(bps),
                    beneficiary: owner,
                }
                .abi_encode(),
            )],
            Lever::TransferGovernance(to) => transfer_calls(d, to),
        }
    }
}

fn pause_call(system_pause: Address, pause: bool) -> Call {
    if pause {
        call(
            "SystemPause.pauseAll",
            system_pause,
            SystemPause::pauseAllCall {}.abi_encode(),
        )
    } else {
        call(
            "SystemPause.unpauseAll",
            system_pause,
            SystemPause::unpauseAllCall {}.abi_encode(),
        )
    }
}

/// Ownership of every module (and the checkpoint registry, when deployed) to `to`.
fn transfer_calls(d: &Deployment, to: Address) -> Vec<Call> {
    let t = |label, target| {
        call(
            label,
            target,
            JobRegistry::transferOwnershipCall { newOwner: to }.abi_encode(),
        )
    };
    let mut calls = vec![
        t("JobRegistry.transferOwnership", d.job_registry),
        t("StakeManager.transferOwnership", d.stake_manager),
        t("ValidationModule.transferOwnership", d.validation_module),
        t("IdentityRegistry.transferOwnership", d.identity_registry),
        t("SystemPause.transferOwnership", d.system_pause),
    ];
    if let Some(c) = d.checkpoint_registry {
        calls.push(t("CheckpointRegistry.transferOwnership", c));
    }
    calls
}

/// The governance values on chain, by name (a value a deployment does not expose reads as None).
/// Each getter is read under every name v2 uses, ours first, then the reference's; the value shown
/// is the first that answers (the reference has `validatorSlashingPercentage()` and
/// `nonRevealBanBlocks()`, where ours also has `validatorSlashingPct()` and `banBlocks()`).
pub async fn read_params(
    hub: &TxHub,
    d: &Deployment,
    from: Address,
) -> Vec<(&'static str, Option<String>)> {
    use ValidationModule as Vm;
    let r = Reader { hub, from };
    let (jr, sm, vm) = (d.job_registry, d.stake_manager, d.validation_module);
    let mut out = vec![
        r.read("paused", jr, JobRegistry::pausedCall {}).await,
        r.read("commitWindow", vm, Vm::commitWindowCall {}).await,
        r.read("revealWindow", vm, Vm::revealWindowCall {}).await,
        r.read(
            "requiredValidatorApprovals",
            vm,
            Vm::requiredValidatorApprovalsCall {},
        )
        .await,
        r.read("approvalThreshold", vm, Vm::approvalThresholdCall {})
            .await,
        first(
            r.read("validatorSlashingPct", vm, Vm::validatorSlashingPctCall {})
                .await,
            r.read("", vm, Vm::validatorSlashingPercentageCall {}).await,
        ),
        r.read("nonRevealPenaltyBps", vm, Vm::nonRevealPenaltyBpsCall {})
            .await,
        first(
            r.read("nonRevealBanBlocks", vm, Vm::nonRevealBanBlocksCall {})
                .await,
            r.read("", vm, Vm::banBlocksCall {}).await,
        ),
        r.read("feePct", jr, JobRegistry::feePctCall {}).await,
        r.read("minStake", sm, StakeManager::minStakeCall {}).await,
        r.read("jobStake", jr, JobRegistry::jobStakeCall {}).await,
    ];
    for (name, module) in [
        ("owner", jr),
        ("stakeManager.owner", sm),
        ("validationModule.owner", vm),
        ("identityRegistry.owner", d.identity_registry),
        ("systemPause.owner", d.system_pause),
    ] {
        let governor = super::topology::governor_of(hub, module).await;
        out.push((name, governor.map(|a| a.to_string())));
    }
    out
}

/// The value of `a`, or else `b`'s, under `a`'s name.
fn first(
    a: (&'static str, Option<String>),
    b: (&'static str, Option<String>),
) -> (&'static str, Option<String>) {
    (a.0, a.1.or(b.1))
}

/// Reads one getter after another, from one account.
struct Reader<'a> {
    hub: &'a TxHub,
    from: Address,
}

impl Reader<'_> {
    /// The getter's value as text, or None when the call or its decoding fails.
    async fn read<C: SolCall>(
        &self,
        name: &'static str,
        target: Address,
        getter: C,
    ) -> (&'static str, Option<String>)
    where
        C::Return: ToString,
    {
        let out = self
            .hub
            .call(name, self.from, target, getter.abi_encode().into())
            .await
            .ok();
        let value = out.and_then(|o| C::abi_decode_returns(&o).ok());
        (name, value.map(|v| v.to_string()))
    }
}
