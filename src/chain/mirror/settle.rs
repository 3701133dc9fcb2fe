//! The settling actions: validation closed, a rejected job's dispute resolved for its employer,
//! the job finalized on chain; each idempotent, so a step done before a restart is not sent again.

use super::actions::{
    Ctx, STATE_COMPLETED, STATE_DISPUTED, STATE_FINALIZED, STATE_SUBMITTED, reverted,
};
use super::chain_io::ChainWrites;
use super::schedule::Outcome;
use crate::chain::bindings::{DisputeModule, JobRegistry, ValidationModule};
use crate::chain::tx::Gas;
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::U256;
use alloy::sol_types::SolCall;

impl<C: ChainWrites> Ctx<C> {
    /// Closes validation and settles the job on chain; idempotent at every step. Never moves the
    /// clock itself: when a window must pass first it says until when, and the worker (which
    /// knows every job's windows) moves time.
    pub(super) async fn finish(&self, id: U256, force: bool) -> eyre::Result<Outcome> {
        let employer = self.rec.poster;
        let mut state = self.state(id).await?;
        if state == STATE_SUBMITTED {
            if let Some(wait) = self.close_validation(id, force).await? {
                return Ok(wait);
            }
            state = self.state(id).await?;
        }
        if state == STATE_DISPUTED {
            if let Some(wait) = self.resolve_dispute(id).await? {
                return Ok(wait);
            }
            state = self.state(id).await?;
        }
        if state == STATE_COMPLETED {
            let call = JobRegistry::finalizeCall { jobId: id };
            let input = call.abi_encode();
            // An adopted job is finalized by governance in its employer's place.
            if self.rec.adopted {
                let (jr, via) = (self.job_registry, self.registry_via);
                self.send_as_governance("JobRegistry.finalize", jr, via, input)
                    .await?;
            } else {
                self.send_to_registry("JobRegistry.finalize", employer, input)
                    .await?;
            }
        }
        match self.chain.meta(id).await? {
            (STATE_FINALIZED, success) => Ok(Outcome::Finished(success)),
            _ => Ok(Outcome::NotYet),
        }
    }

    /// Validators rejected the work (or quorum failed): governance resolves for the employer. On
    /// v2 that is the DisputeModule's path: open a record, wait its window, resolve; returns
    /// until when to wait while the window runs.
    async fn resolve_dispute(&self, id: U256) -> eyre::Result<Option<Outcome>> {
        let Some(dm) = self.dispute_module else {
            let call = JobRegistry::resolveDisputeCall {
                jobId: id,
                employerWins: true,
            };
            let (jr, via) = (self.job_registry, self.registry_via);
            self.send_as_governance("resolveDispute", jr, via, call.abi_encode())
                .await?;
            return Ok(None);
        };
        let (mut raised_at, window) = self.chain.dispute(dm, id).await?;
        if raised_at == 0 {
            let call = DisputeModule::raiseGovernanceDisputeCall {
                jobId: id,
                reason: "validation did not approve the work".into(),
            };
            let label = "DisputeModule.raiseGovernanceDispute";
            match self
                .send_as_governance(label, dm, self.dispute_via, call.abi_encode())
                .await
            {
                Ok(sent) => raised_at = self.chain.block_time(sent.block.into()).await?,
                // Raised by someone else meanwhile: its record holds the time.
                Err(e) if reverted(&e, "disputed") => {
                    raised_at = self.chain.dispute(dm, id).await?.0
                }
                Err(e) => return Err(e.into()),
            }
        }
        let now = self.chain.block_time(BlockNumberOrTag::Latest).await?;
        if now < raised_at + window {
            return Ok(Some(Outcome::WaitUntil(raised_at + window, false)));
        }
        let call = DisputeModule::resolveDisputeCall {
            jobId: id,
            employerWins: true,
        };
        let label = "DisputeModule.resolveDispute";
        self.send_as_governance(label, dm, self.dispute_via, call.abi_encode())
            .await?;
        Ok(None)
    }

    /// Validation's `finalize` (or `forceFinalize`); returns until when to wait when the chain
    /// says a window must pass first. Anyone may call it: the agent does where it is ours (the
    /// poster's key has every job's create and settlement to send), else the employer.
    async fn close_validation(&self, id: U256, force: bool) -> eyre::Result<Option<Outcome>> {
        let vm = self.validation_module;
        let caller = self.rec.agent.unwrap_or(self.rec.poster);
        let w = self.windows;
        let reveal_deadline = self.rec.selected_at + w.commit_s + w.reveal_s;
        let (label, input) = if force {
            let call = ValidationModule::forceFinalizeCall { jobId: id };
            ("ValidationModule.forceFinalize", call.abi_encode())
        } else {
            let call = ValidationModule::finalizeCall { jobId: id };
            ("ValidationModule.finalize", call.abi_encode())
        };
        // The devnet's gas is not estimated: a finalize the chain may still refuse (a reveal
        // missing before its deadline) is tried by a dry run, not mined as a revert.
        let committee = self.rec.committee.as_deref().unwrap_or_default();
        let all_revealed = committee.iter().all(|v| self.rec.revealed.contains(v));
        let chain = &self.chain;
        let refused_dry = if self.devnet && !all_revealed {
            let dry = chain.dry_run(label, caller, vm, input.clone().into()).await;
            dry.err()
        } else {
            None
        };
        let sent = match refused_dry {
            Some(e) => Err(e),
            None => {
                chain
                    .send(label, caller, vm, input.into(), Gas::Estimate)
                    .await
            }
        };
        match sent {
            Ok(_) => Ok(None),
            Err(e) if !force && reverted(&e, "RevealPending") => {
                Ok(Some(Outcome::WaitUntil(reveal_deadline + 1, false)))
            }
            Err(e) if !force && reverted(&e, "QuorumNotReached") => Ok(Some(Outcome::WaitUntil(
                reveal_deadline + w.force_finalize_grace_s + 1,
                true,
            ))),
            // The reference says RevealPending to a forceFinalize before its grace too.
            Err(e) if force && reverted(&e, "RevealPending") => Ok(Some(Outcome::WaitUntil(
                reveal_deadline + w.force_finalize_grace_s + 1,
                true,
            ))),
            // Tallied by another caller first (the reference deletes the round: NotSubmitted).
            Err(e) if reverted(&e, "NotSubmitted") || reverted(&e, "AlreadyTallied") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
