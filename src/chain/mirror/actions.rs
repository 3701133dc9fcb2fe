//! The actions: each sends one lifecycle step of one job, by the key of the actor who takes it,
//! after reading the chain so that a step already done (before a restart) is not sent again.

use super::chain_io::{ChainWrites, Landed, Sent, SignedCreate};
use super::schedule::{Action, CLOCK_SLACK_S, Outcome, Windows};
use super::state::Rec;
use crate::chain::bindings::{JobRegistry, SystemPause, ValidationModule};
use crate::chain::commit_hash::{commit_hash, domain_separator};
use crate::chain::send::OnSigned;
use crate::chain::tx::{Gas, TxError};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::{SolCall, SolEvent, SolValue};

const SUBDOMAIN: &str = "omega";
/// `selectValidators` gas is not estimated: its path depends on the block (see the v2 notes).
const SELECT_GAS: u64 = 2_000_000;

/// The v2 job states the actions (and the re-drive after a reorg) look at; 0 is no such job.
pub(super) const STATE_NONE: u8 = 0;
pub(super) const STATE_CREATED: u8 = 1;
pub(super) const STATE_APPLIED: u8 = 2;
pub(super) const STATE_SUBMITTED: u8 = 3;
pub(super) const STATE_COMPLETED: u8 = 4;
pub(super) const STATE_DISPUTED: u8 = 5;
pub(super) const STATE_FINALIZED: u8 = 6;
pub(super) const STATE_CANCELLED: u8 = 7;

/// What one action needs, detached from the worker so actions of many jobs run at once.
pub(super) struct Ctx<C> {
    pub chain: C,
    pub job_registry: Address,
    pub validation_module: Address,
    /// Governance: resolves disputes.
    pub owner: Address,
    /// The deployment's DisputeModule, through which governance resolves disputes (without one,
    /// our registry takes governance's `resolveDispute` directly).
    pub dispute_module: Option<Address>,
    /// SystemPause, when it owns the JobRegistry: governance's calls are wrapped for it.
    pub registry_via: Option<Address>,
    /// SystemPause, when it owns the DisputeModule (as on the reference deployment).
    pub dispute_via: Option<Address>,
    pub devnet: bool,
    pub windows: Windows,
    /// The chain time the worker last read (the latest block's), when the action began.
    pub chain_now: u64,
    pub rec: Rec,
    /// Journals each signed `createJob` before it is sent (see `recovery::journal_signed`).
    pub on_signed: Option<OnSigned>,
    /// The `createJob` transactions signed for this job before (an attempt the node did not
    /// answer, a run that crashed): they are settled before another is ever signed.
    pub signed_before: Vec<SignedCreate>,
}

/// An error of the node or the network (a timeout, a refused or failed request), not a revert.
fn transient(e: &eyre::Report) -> bool {
    match e.downcast_ref::<TxError>() {
        // Not journaled, so not sent: tried again like a step the node did not answer.
        Some(TxError::Timeout { .. } | TxError::Rpc { .. } | TxError::Unrecorded { .. }) => true,
        Some(_) => false,
        None => e.chain().any(|cause| {
            cause
                .downcast_ref::<alloy::transports::TransportError>()
                .is_some_and(|t| matches!(t, alloy::transports::RpcError::Transport(_)))
        }),
    }
}

/// Whether `e` is a revert whose reason names `what`.
pub(super) fn reverted(e: &TxError, what: &str) -> bool {
    matches!(e, TxError::Reverted { reason, .. } if reason.contains(what))
}

/// A selection refused because too few validators are eligible now (ours names the count; the
/// reference says `InsufficientValidators()` when bans thin the pool, `InsufficientStake()` when
/// members' stake is locked on other committees): wait for jobs to settle or bans to end.
fn too_few_validators(e: &TxError) -> bool {
    [
        "NotEnoughEligible",
        "InsufficientValidators",
        "InsufficientStake",
    ]
    .iter()
    .any(|name| reverted(e, name))
}

impl<C: ChainWrites> Ctx<C> {
    pub async fn perform(self, action: Action) -> Outcome {
        match self.try_perform(action).await {
            Ok(o) => o,
            // Paused on chain (by the owner, with any tool): wait for the unpause, give up nothing.
            // A transaction mined as the pause landed reverts without a reason: ask the chain.
            Err(e) if format!("{e:#}").contains("EnforcedPause") => Outcome::ChainPaused,
            // Another transaction of the same block got there first, or a reorg voided the one
            // sent: try again (after a reorg, once the job is compared with the chain).
            Err(e)
                if matches!(
                    e.downcast_ref(),
                    Some(TxError::Raced { .. } | TxError::Voided { .. })
                ) =>
            {
                tracing::debug!("chain mirror: {action:?}: {e:#}");
                Outcome::NotYet
            }
            // The node or the network failed, not the contract: nothing was refused for good, so
            // the job is never detached for it; the step is tried again a little later.
            Err(e) if transient(&e) => Outcome::Unreachable(format!("{action:?}: {e:#}")),
            Err(e) => match self.chain.paused().await {
                Ok(true) => Outcome::ChainPaused,
                _ => Outcome::Failed(format!("{action:?}: {e:#}")),
            },
        }
    }

    async fn try_perform(&self, action: Action) -> eyre::Result<Outcome> {
        let id = self.rec.onchain.unwrap_or_default();
        match action {
            Action::Create => self.create().await,
            Action::Cancel => self.cancel(id).await,
            Action::Apply => self.apply(id).await,
            Action::Submit => self.submit(id).await,
            Action::Select => self.select(id).await,
            Action::Commit(v) => self.commit(id, v).await,
            Action::Reveal(v) => self.reveal(id, v).await,
            Action::Finish { force } => self.finish(id, force).await,
            Action::Release => self.release(id).await,
        }
    }

    /// The v2 state of on-chain job `id`, once it is known to hold this job: after a reorg an id
    /// can hold another job (this one mapped to it from a receipt of a block the reorg took), and
    /// a step sent there would act on that job. The refusal has the job compared with the chain.
    pub(super) async fn state(&self, id: U256) -> eyre::Result<u8> {
        let (state, spec_hash) = self.chain.job_record(id).await?;
        if state != STATE_NONE && spec_hash != self.rec.spec_hash {
            eyre::bail!("on-chain job #{id} holds another job (spec hash {spec_hash})");
        }
        Ok(state)
    }

    pub(super) async fn send_to_registry(
        &self,
        label: &'static str,
        from: Address,
        input: Vec<u8>,
    ) -> Result<Sent, TxError> {
        let to = self.job_registry;
        self.chain
            .send(label, from, to, input.into(), Gas::Estimate)
            .await
    }

    /// A call governance makes to `target`: direct, or through SystemPause (`via`) where it owns
    /// the target.
    pub(super) async fn send_as_governance(
        &self,
        label: &'static str,
        target: Address,
        via: Option<Address>,
        input: Vec<u8>,
    ) -> Result<Sent, TxError> {
        let Some(system_pause) = via else {
            return self
                .chain
                .send(label, self.owner, target, input.into(), Gas::Estimate)
                .await;
        };
        let wrapped = SystemPause::executeGovernanceCallCall {
            target,
            data: input.into(),
        };
        let input = wrapped.abi_encode().into();
        self.chain
            .send(label, self.owner, system_pause, input, Gas::Estimate)
            .await
    }

    async fn create(&self) -> eyre::Result<Outcome> {
        let r = &self.rec;
        if !self.signed_before.is_empty() {
            match self
                .chain
                .create_landed(r.poster, &self.signed_before)
                .await?
            {
                Landed::Created(id) => return Ok(Outcome::Created(id)),
                Landed::Pending(hash) => {
                    let why = format!("createJob {hash}, signed before, is not mined yet");
                    return Ok(Outcome::Unreachable(why));
                }
                Landed::Gone => {}
            }
        }
        if r.recreate {
            // A reorg took its `createJob` from the id the journal holds, but the chain may hold
            // the job under another one (a node that puts reorged transactions back in its pool
            // mines it again, after others). Never a second job for one spec.
            if let Some(id) = self.chain.find_created(r.spec_hash, r.poster).await? {
                return Ok(Outcome::Created(id));
            }
        }
        let call = JobRegistry::createJobCall {
            reward: r.reward,
            deadline: r.deadline_s,
            specHash: r.spec_hash,
            uri: format!("omega://job/{}", r.spec_hash),
        };
        let (to, input, gas) = (self.job_registry, call.abi_encode().into(), Gas::Estimate);
        let on_signed = self.on_signed.clone();
        let sent = self
            .chain
            .send_recorded("createJob", r.poster, to, input, gas, on_signed)
            .await?;
        let created = sent
            .logs
            .iter()
            .find_map(|l| JobRegistry::JobCreated::decode_log_data(l).ok())
            .ok_or_else(|| eyre::eyre!("no JobCreated event"))?;
        Ok(Outcome::Created(created.jobId))
    }

    async fn cancel(&self, id: U256) -> eyre::Result<Outcome> {
        let r = &self.rec;
        if self.state(id).await? == STATE_CREATED && !r.adopted {
            let call = JobRegistry::cancelJobCall { jobId: id };
            self.send_to_registry("cancelJob", r.poster, call.abi_encode())
                .await?;
        }
        Ok(Outcome::Cancelled)
    }

    /// A job the engine failed before `submit`: cancelled while no agent has applied, expired
    /// by its employer once the deadline has passed (the chain refuses it before).
    async fn release(&self, id: U256) -> eyre::Result<Outcome> {
        let r = &self.rec;
        match self.state(id).await? {
            STATE_CREATED => {
                let call = JobRegistry::cancelJobCall { jobId: id };
                self.send_to_registry("cancelJob", r.poster, call.abi_encode())
                    .await?;
                Ok(Outcome::Cancelled)
            }
            STATE_APPLIED => {
                let deadline = self.chain.deadline(id).await?;
                let now = self.chain.block_time(BlockNumberOrTag::Latest).await?;
                if now <= deadline {
                    return Ok(Outcome::WaitUntil(deadline + 1, false));
                }
                let call = JobRegistry::cancelExpiredJobCall { jobId: id };
                self.send_to_registry("cancelExpiredJob", r.poster, call.abi_encode())
                    .await?;
                Ok(Outcome::Expired)
            }
            // Submitted by someone else, or settled already: nothing of ours is locked.
            _ => Ok(Outcome::Expired),
        }
    }

    async fn apply(&self, id: U256) -> eyre::Result<Outcome> {
        let agent = self
            .rec
            .agent
            .ok_or_else(|| eyre::eyre!("no key for the assigned agent"))?;
        if self.state(id).await? < STATE_APPLIED {
            let call = JobRegistry::applyForJobCall {
                jobId: id,
                subdomain: SUBDOMAIN.into(),
                proof: vec![],
            };
            self.send_to_registry("applyForJob", agent, call.abi_encode())
                .await?;
        }
        Ok(Outcome::Applied)
    }

    async fn submit(&self, id: U256) -> eyre::Result<Outcome> {
        let agent = self
            .rec
            .agent
            .ok_or_else(|| eyre::eyre!("the agent of this job is unknown"))?;
        if self.state(id).await? < STATE_SUBMITTED {
            // An external agent's result goes on chain by the hash of its canonical JSON and the
            // URI Omega serves it under; simulated work has a result derived from the spec.
            let (result, uri) = self.rec.result.clone().unwrap_or_else(|| {
                let result = keccak256((self.rec.spec_hash, "result").abi_encode());
                (result, format!("omega://result/{result}"))
            });
            let call = JobRegistry::submitCall {
                jobId: id,
                resultHash: result,
                resultURI: uri,
                subdomain: SUBDOMAIN.into(),
                _4: vec![],
            };
            self.send_to_registry("submit", agent, call.abi_encode())
                .await?;
        }
        Ok(Outcome::Submitted)
    }

    async fn select(&self, id: U256) -> eyre::Result<Outcome> {
        let existing = self.chain.committee(id).await?;
        if !existing.is_empty() {
            // Selected before a restart: the journal holds when (the chain time now is later).
            let now = self.chain.block_time(BlockNumberOrTag::Latest).await?;
            return Ok(Outcome::Selected(existing, now));
        }
        let call = ValidationModule::selectValidatorsCall {
            jobId: id,
            _1: U256::from(0x0e6a),
        };
        if let Some(wait) = self.select_dry_run(&call).await? {
            return Ok(wait);
        }
        let (vm, caller) = (self.validation_module, self.select_caller());
        let input = call.abi_encode().into();
        match self
            .chain
            .send(
                "selectValidators",
                caller,
                vm,
                input,
                Gas::Fixed(SELECT_GAS),
            )
            .await
        {
            Ok(sent) => {
                let at = self.chain.block_time(sent.block.into()).await?;
                Ok(sent
                    .logs
                    .iter()
                    .find_map(|l| ValidationModule::ValidatorsSelected::decode_log_data(l).ok())
                    .map(|ev| Outcome::Selected(ev.validators, at))
                    .unwrap_or(Outcome::NotYetSelected { too_early: true }))
            }
            Err(e) if reverted(&e, "SelectionTooEarly") => {
                Ok(Outcome::NotYetSelected { too_early: true })
            }
            // Another selection of the same block took the free validators.
            Err(e) if too_few_validators(&e) => Ok(Outcome::NotYetSelected { too_early: false }),
            Err(e) => Err(e.into()),
        }
    }

    /// Who calls `selectValidators` (anyone may): the agent, and the poster at every other try.
    /// The reference answers a call from the sole entropy contributor with a reset that names
    /// the caller the sole contributor again, so one address alone would reset for ever. The
    /// agent first: the poster's key sends every job's create and settlement, and the steps of
    /// one key queue behind each other.
    fn select_caller(&self) -> Address {
        match self.rec.agent {
            Some(agent) if self.rec.select_tries.is_multiple_of(2) => agent,
            _ => self.rec.poster,
        }
    }

    /// A dry run first: the fixed gas limit would otherwise hide the revert reason. Selection
    /// needs a block after the submit's; on the devnet one is mined for it, only when the dry
    /// run says so. Returns why selection must wait, if it must.
    async fn select_dry_run(
        &self,
        call: &ValidationModule::selectValidatorsCall,
    ) -> eyre::Result<Option<Outcome>> {
        let mut mined = false;
        loop {
            let input = call.abi_encode().into();
            let dry = self
                .chain
                .dry_run(
                    "selectValidators",
                    self.select_caller(),
                    self.validation_module,
                    input,
                )
                .await;
            match dry {
                Ok(()) => return Ok(None),
                Err(e) if reverted(&e, "SelectionTooEarly") => {
                    if !self.devnet || mined {
                        return Ok(Some(Outcome::NotYetSelected { too_early: true }));
                    }
                    self.chain.mine(1).await?;
                    mined = true;
                }
                Err(e) if too_few_validators(&e) => {
                    return Ok(Some(Outcome::NotYetSelected { too_early: false }));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn commit(&self, id: U256, v: Address) -> eyre::Result<Outcome> {
        // A vote that comes when the window has (all but) closed on chain is missed, not sent
        // to be mined as a revert (an engine slower than the chain's clock, say).
        let deadline = self.rec.selected_at + self.windows.commit_s;
        if self.rec.selected_at != 0 && self.chain_now + CLOCK_SLACK_S > deadline {
            return Ok(Outcome::Missed(v));
        }
        let (approve, salt, _) = self.rec.votes[&v];
        let nonce = self.chain.job_nonce(id).await?;
        let vm = self.validation_module;
        let chain_id = self.chain.chain_id();
        let domain = domain_separator(vm, chain_id);
        let hash = commit_hash(
            id,
            nonce,
            self.rec.spec_hash,
            approve,
            B256::ZERO,
            salt,
            v,
            chain_id,
            domain,
        );
        let call = ValidationModule::commitValidationCall {
            jobId: id,
            commitHash: hash,
            subdomain: SUBDOMAIN.into(),
            _3: vec![],
        };
        let input = call.abi_encode().into();
        match self
            .chain
            .send("commitValidation", v, vm, input, Gas::Estimate)
            .await
        {
            Ok(_) => Ok(Outcome::Committed(v)),
            Err(e) if reverted(&e, "AlreadyCommitted") => Ok(Outcome::Committed(v)),
            // Ours says NotSelected, the reference NotValidator; a banned member is refused too.
            Err(e)
                if [
                    "CommitPhaseClosed",
                    "NotSelected",
                    "NotValidator",
                    "ValidatorBanned",
                ]
                .iter()
                .any(|name| reverted(&e, name)) =>
            {
                Ok(Outcome::Missed(v))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn reveal(&self, id: U256, v: Address) -> eyre::Result<Outcome> {
        let (approve, salt, _) = self.rec.votes[&v];
        let call = ValidationModule::revealValidationCall {
            jobId: id,
            approve,
            burnTxHash: B256::ZERO,
            salt,
            subdomain: SUBDOMAIN.into(),
            _5: vec![],
        };
        let (vm, input) = (self.validation_module, call.abi_encode().into());
        match self
            .chain
            .send("revealValidation", v, vm, input, Gas::Estimate)
            .await
        {
            Ok(_) => Ok(Outcome::Revealed(v)),
            Err(e) if reverted(&e, "AlreadyRevealed") => Ok(Outcome::Revealed(v)),
            // Ours says the reveal phase is not open; the reference, that the commit one is.
            Err(e) if reverted(&e, "RevealPhaseNotOpen") || reverted(&e, "CommitPhaseActive") => {
                Ok(Outcome::NotYet)
            }
            Err(e) if reverted(&e, "RevealPhaseClosed") => Ok(Outcome::Missed(v)),
            // A reorg took the commit after it was journaled: commit it again (the reveal
            // follows), or count it missed if the commit window has closed meanwhile.
            Err(e) if reverted(&e, "NotCommitted") => Ok(Outcome::CommitLost(v)),
            // Validation closed on chain without this reveal (a round the engine re-ran after a
            // restart; ours then says NotSelected): the chain's verdict stands without it.
            Err(e)
                if matches!(e, TxError::Reverted { .. })
                    && self.state(id).await? > STATE_SUBMITTED =>
            {
                Ok(Outcome::Missed(v))
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
