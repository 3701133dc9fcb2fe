//! The actions: each sends one lifecycle step of one job, by the key of the actor who takes it,
//! after reading the chain so that a step already done (before a restart) is not sent again.

use super::chain_io::{ChainWrites, Sent};
use super::schedule::{Action, Outcome, Windows};
use super::state::Rec;
use crate::chain::bindings::{JobRegistry, ValidationModule};
use crate::chain::commit_hash::{commit_hash, domain_separator};
use crate::chain::tx::{Gas, TxError};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::{SolCall, SolEvent, SolValue};

const SUBDOMAIN: &str = "omega";
/// `selectValidators` gas is not estimated: its path depends on the block (see the v2 notes).
const SELECT_GAS: u64 = 2_000_000;

/// The v2 job states the actions look at.
const STATE_CREATED: u8 = 1;
const STATE_APPLIED: u8 = 2;
const STATE_SUBMITTED: u8 = 3;
const STATE_COMPLETED: u8 = 4;
const STATE_DISPUTED: u8 = 5;
const STATE_FINALIZED: u8 = 6;

/// What one action needs, detached from the worker so actions of many jobs run at once.
pub(super) struct Ctx<C> {
    pub chain: C,
    pub job_registry: Address,
    pub validation_module: Address,
    /// Governance: resolves disputes.
    pub owner: Address,
    pub devnet: bool,
    pub windows: Windows,
    pub rec: Rec,
}

/// Whether `e` is a revert whose reason names `what`.
fn reverted(e: &TxError, what: &str) -> bool {
    matches!(e, TxError::Reverted { reason, .. } if reason.contains(what))
}

impl<C: ChainWrites> Ctx<C> {
    pub async fn perform(self, action: Action) -> Outcome {
        match self.try_perform(action).await {
            Ok(o) => o,
            // Paused on chain (by the owner, with any tool): wait for the unpause, give up nothing.
            // A transaction mined as the pause landed reverts without a reason: ask the chain.
            Err(e) if format!("{e:#}").contains("EnforcedPause") => Outcome::ChainPaused,
            // Another transaction of the same block got there first: try again.
            Err(e) if matches!(e.downcast_ref(), Some(TxError::Raced { .. })) => {
                tracing::debug!("chain mirror: {action:?}: {e:#}");
                Outcome::NotYet
            }
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
        }
    }

    async fn state(&self, id: U256) -> eyre::Result<u8> {
        Ok(self.chain.meta(id).await?.0)
    }

    async fn send_to_registry(
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

    async fn create(&self) -> eyre::Result<Outcome> {
        let r = &self.rec;
        let call = JobRegistry::createJobCall {
            reward: r.reward,
            deadline: r.deadline_s,
            specHash: r.spec_hash,
            uri: format!("omega://job/{}", r.spec_hash),
        };
        let sent = self
            .send_to_registry("createJob", r.poster, call.abi_encode())
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
            let result = keccak256((self.rec.spec_hash, "result").abi_encode());
            let call = JobRegistry::submitCall {
                jobId: id,
                resultHash: result,
                resultURI: format!("omega://result/{result}"),
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
        let (vm, poster) = (self.validation_module, self.rec.poster);
        let input = call.abi_encode().into();
        match self
            .chain
            .send(
                "selectValidators",
                poster,
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
            Err(e) if reverted(&e, "NotEnoughEligible") => {
                Ok(Outcome::NotYetSelected { too_early: false })
            }
            Err(e) => Err(e.into()),
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
                    self.rec.poster,
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
                Err(e) if reverted(&e, "NotEnoughEligible") => {
                    return Ok(Some(Outcome::NotYetSelected { too_early: false }));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn commit(&self, id: U256, v: Address) -> eyre::Result<Outcome> {
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
            Err(e) if reverted(&e, "CommitPhaseClosed") || reverted(&e, "NotSelected") => {
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
            Err(e) if reverted(&e, "RevealPhaseNotOpen") => Ok(Outcome::NotYet),
            Err(e) if reverted(&e, "RevealPhaseClosed") => Ok(Outcome::Missed(v)),
            Err(e) => Err(e.into()),
        }
    }

    /// Closes validation and settles the job on chain; idempotent at every step. Never moves the
    /// clock itself: when a window must pass first it says until when, and the worker (which
    /// knows every job's windows) moves time.
    async fn finish(&self, id: U256, force: bool) -> eyre::Result<Outcome> {
        let employer = self.rec.poster;
        if self.state(id).await? == STATE_SUBMITTED
            && let Some(wait) = self.close_validation(id, force).await?
        {
            return Ok(wait);
        }
        if self.state(id).await? == STATE_DISPUTED {
            // Validators rejected the work (or quorum failed): governance resolves for the employer.
            let call = JobRegistry::resolveDisputeCall {
                jobId: id,
                employerWins: true,
            };
            self.send_to_registry("resolveDispute", self.owner, call.abi_encode())
                .await?;
        }
        if self.state(id).await? == STATE_COMPLETED {
            let call = JobRegistry::finalizeCall { jobId: id };
            self.send_to_registry("JobRegistry.finalize", employer, call.abi_encode())
                .await?;
        }
        match self.chain.meta(id).await? {
            (STATE_FINALIZED, success) => Ok(Outcome::Finished(success)),
            _ => Ok(Outcome::NotYet),
        }
    }

    /// Validation's `finalize` (or `forceFinalize`) by the employer; returns until when to wait
    /// when the chain says a window must pass first.
    async fn close_validation(&self, id: U256, force: bool) -> eyre::Result<Option<Outcome>> {
        let (vm, employer) = (self.validation_module, self.rec.poster);
        let w = self.windows;
        let reveal_deadline = self.rec.selected_at + w.commit_s + w.reveal_s;
        let (label, input) = if force {
            let call = ValidationModule::forceFinalizeCall { jobId: id };
            ("ValidationModule.forceFinalize", call.abi_encode())
        } else {
            let call = ValidationModule::finalizeCall { jobId: id };
            ("ValidationModule.finalize", call.abi_encode())
        };
        match self
            .chain
            .send(label, employer, vm, input.into(), Gas::Estimate)
            .await
        {
            Ok(_) => Ok(None),
            Err(e) if !force && reverted(&e, "RevealPending") => {
                Ok(Some(Outcome::WaitUntil(reveal_deadline + 1, false)))
            }
            Err(e) if !force && reverted(&e, "QuorumNotReached") => Ok(Some(Outcome::WaitUntil(
                reveal_deadline + w.force_finalize_grace_s + 1,
                true,
            ))),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::mirror::fake_chain::{Fake, FakeChain};

    const POSTER: Address = Address::repeat_byte(1);
    const AGENT: Address = Address::repeat_byte(2);
    const OWNER: Address = Address::repeat_byte(9);
    const V1: Address = Address::repeat_byte(0x11);
    const V2: Address = Address::repeat_byte(0x12);
    const WINDOWS: Windows = Windows {
        commit_s: 60,
        reveal_s: 60,
        force_finalize_grace_s: 30,
    };

    fn ctx(chain: &FakeChain, devnet: bool) -> Ctx<FakeChain> {
        let mut rec = Rec {
            poster: POSTER,
            onchain: Some(U256::from(40)),
            agent: Some(AGENT),
            selected_at: 1000,
            ..Default::default()
        };
        rec.votes.insert(V1, (true, B256::repeat_byte(5), false));
        Ctx {
            chain: chain.clone(),
            job_registry: Address::repeat_byte(0xaa),
            validation_module: Address::repeat_byte(0xbb),
            owner: OWNER,
            devnet,
            windows: WINDOWS,
            rec,
        }
    }

    fn run(chain: &FakeChain, action: Action) -> Outcome {
        run_on(chain, false, action)
    }

    fn run_on(chain: &FakeChain, devnet: bool, action: Action) -> Outcome {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(ctx(chain, devnet).perform(action))
    }

    fn revert(label: &'static str, reason: &str) -> FakeChain {
        FakeChain::with(|f| {
            f.reverts.insert(label, reason.into());
        })
    }

    #[test]
    fn create_reads_the_new_id_from_its_event() {
        let created = JobRegistry::JobCreated {
            jobId: U256::from(77),
            employer: POSTER,
            agent: Address::ZERO,
            reward: U256::ZERO,
            stake: U256::ZERO,
            fee: U256::ZERO,
            specHash: B256::ZERO,
            uri: String::new(),
        };
        let chain = FakeChain::with(|f| {
            f.logs.insert("createJob", vec![created.encode_log_data()]);
        });
        assert_eq!(
            run(&chain, Action::Create),
            Outcome::Created(U256::from(77))
        );
        assert_eq!(chain.get().sent, vec![("createJob", POSTER)]);
        let no_event = FakeChain::default();
        let failed = run(&no_event, Action::Create);
        assert!(matches!(failed, Outcome::Failed(ref m) if m.contains("no JobCreated event")));
    }

    #[test]
    fn a_step_the_chain_already_has_is_not_sent_again() {
        let applied = FakeChain::with(|f| f.meta = (2, false));
        assert_eq!(run(&applied, Action::Apply), Outcome::Applied);
        assert_eq!(run(&applied, Action::Cancel), Outcome::Cancelled);
        assert!(applied.sent().is_empty());
        let created = FakeChain::with(|f| f.meta = (1, false));
        assert_eq!(run(&created, Action::Apply), Outcome::Applied);
        assert_eq!(created.get().sent, vec![("applyForJob", AGENT)]);
        let submitted = FakeChain::with(|f| f.meta = (3, false));
        assert_eq!(run(&submitted, Action::Submit), Outcome::Submitted);
        assert!(submitted.sent().is_empty());
        assert_eq!(run(&applied, Action::Submit), Outcome::Submitted);
        assert_eq!(applied.get().sent, vec![("submit", AGENT)]);
    }

    #[test]
    fn an_adopted_job_is_never_cancelled_by_us() {
        let chain = FakeChain::with(|f| f.meta = (1, false));
        let mut c = ctx(&chain, false);
        c.rec.adopted = true;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(c.perform(Action::Cancel)), Outcome::Cancelled);
        assert!(chain.sent().is_empty());
        assert_eq!(run(&chain, Action::Cancel), Outcome::Cancelled);
        assert_eq!(chain.get().sent, vec![("cancelJob", POSTER)]);
    }

    #[test]
    fn a_committee_already_on_chain_is_taken_as_it_is() {
        let chain = FakeChain::with(|f| {
            (f.committee, f.time) = (vec![V2, V1], 5000);
        });
        assert_eq!(
            run(&chain, Action::Select),
            Outcome::Selected(vec![V2, V1], 5000)
        );
        assert!(chain.sent().is_empty());
    }

    #[test]
    fn selection_sends_after_a_clean_dry_run_and_reads_the_chains_committee() {
        let selected = ValidationModule::ValidatorsSelected {
            jobId: U256::from(40),
            validators: vec![V2],
        };
        let chain = FakeChain::with(|f| {
            f.time = 1234;
            f.logs
                .insert("selectValidators", vec![selected.encode_log_data()]);
        });
        assert_eq!(
            run(&chain, Action::Select),
            Outcome::Selected(vec![V2], 1234)
        );
        assert_eq!(chain.get().sent, vec![("selectValidators", POSTER)]);
    }

    #[test]
    fn selection_too_early_mines_one_block_on_the_devnet_only() {
        let too_early = |n: usize| {
            FakeChain::with(|f| {
                f.dry_reverts = vec!["SelectionTooEarly()".to_string(); n].into();
            })
        };
        let waiting = Outcome::NotYetSelected { too_early: true };
        let remote = too_early(1);
        assert_eq!(run_on(&remote, false, Action::Select), waiting);
        assert_eq!(remote.get().mined, 0);
        let devnet = too_early(1);
        let out = run_on(&devnet, true, Action::Select);
        assert_eq!(devnet.get().mined, 1);
        assert_eq!(out, waiting, "sent, but no ValidatorsSelected event");
        assert_eq!(devnet.sent(), vec!["selectValidators"]);
        let stubborn = too_early(2);
        assert_eq!(run_on(&stubborn, true, Action::Select), waiting);
        assert_eq!(stubborn.get().mined, 1);
        assert!(stubborn.sent().is_empty());
        let short = FakeChain::with(|f| f.dry_reverts = vec!["NotEnoughEligible()".into()].into());
        let no_stake = Outcome::NotYetSelected { too_early: false };
        assert_eq!(run(&short, Action::Select), no_stake);
        let raced = revert("selectValidators", "NotEnoughEligible()");
        assert_eq!(run(&raced, Action::Select), no_stake);
    }

    #[test]
    fn commits_and_reveals_read_the_chains_refusals() {
        let commit = Action::Commit(V1);
        assert_eq!(run(&FakeChain::default(), commit), Outcome::Committed(V1));
        let again = revert("commitValidation", "AlreadyCommitted()");
        assert_eq!(run(&again, commit), Outcome::Committed(V1));
        for reason in ["CommitPhaseClosed()", "NotSelected()"] {
            assert_eq!(
                run(&revert("commitValidation", reason), commit),
                Outcome::Missed(V1)
            );
        }
        let reveal = Action::Reveal(V1);
        let cases = [
            ("AlreadyRevealed()", Outcome::Revealed(V1)),
            ("RevealPhaseNotOpen()", Outcome::NotYet),
            ("RevealPhaseClosed()", Outcome::Missed(V1)),
        ];
        for (reason, expected) in cases {
            assert_eq!(run(&revert("revealValidation", reason), reveal), expected);
        }
        let chain = FakeChain::default();
        assert_eq!(run(&chain, reveal), Outcome::Revealed(V1));
        assert_eq!(chain.get().sent, vec![("revealValidation", V1)]);
    }

    #[test]
    fn finishing_waits_for_the_windows_the_chain_names() {
        let reveal_deadline = 1000 + WINDOWS.commit_s + WINDOWS.reveal_s;
        let finish = Action::Finish { force: false };
        let pending = revert("ValidationModule.finalize", "RevealPending()");
        pending.get().meta = (3, false);
        assert_eq!(
            run(&pending, finish),
            Outcome::WaitUntil(reveal_deadline + 1, false)
        );
        let no_quorum = revert("ValidationModule.finalize", "QuorumNotReached()");
        no_quorum.get().meta = (3, false);
        let grace = WINDOWS.force_finalize_grace_s;
        let forced = Outcome::WaitUntil(reveal_deadline + grace + 1, true);
        assert_eq!(run(&no_quorum, finish), forced);
        // Forced, a refusal is an error: the job detaches.
        let refused = revert("ValidationModule.forceFinalize", "QuorumNotReached()");
        refused.get().meta = (3, false);
        let out = run(&refused, Action::Finish { force: true });
        assert!(matches!(out, Outcome::Failed(_)), "{out:?}");
    }

    #[test]
    fn a_rejected_job_is_resolved_for_the_employer_then_finalized() {
        let chain = FakeChain::with(|f: &mut Fake| {
            f.meta = (3, false);
            f.moves.insert("ValidationModule.finalize", (5, false));
            f.moves.insert("resolveDispute", (4, false));
            f.moves.insert("JobRegistry.finalize", (6, false));
        });
        let out = run(&chain, Action::Finish { force: false });
        assert_eq!(out, Outcome::Finished(false));
        let expected = vec![
            ("ValidationModule.finalize", POSTER),
            ("resolveDispute", OWNER),
            ("JobRegistry.finalize", POSTER),
        ];
        assert_eq!(chain.get().sent, expected);
        // Finished already (before a restart): nothing is sent, the verdict is read.
        let done = FakeChain::with(|f| f.meta = (6, true));
        assert_eq!(
            run(&done, Action::Finish { force: true }),
            Outcome::Finished(true)
        );
        assert!(done.sent().is_empty());
        // Not submitted yet on chain: nothing to close.
        let early = FakeChain::with(|f| f.meta = (2, false));
        assert_eq!(
            run(&early, Action::Finish { force: false }),
            Outcome::NotYet
        );
    }

    #[test]
    fn errors_pause_retry_or_detach() {
        let paused = revert("applyForJob", "EnforcedPause()");
        paused.get().meta = (1, false);
        assert_eq!(run(&paused, Action::Apply), Outcome::ChainPaused);
        // A revert without a reason while the chain is paused: the pause, not the job.
        let landed = FakeChain::with(|f| {
            (f.meta, f.paused) = ((1, false), true);
            f.reverts.insert("applyForJob", String::new());
        });
        assert_eq!(run(&landed, Action::Apply), Outcome::ChainPaused);
        let raced = FakeChain::with(|f| {
            f.meta = (1, false);
            f.raced.insert("applyForJob");
        });
        assert_eq!(run(&raced, Action::Apply), Outcome::NotYet);
        let refused = revert("applyForJob", "NotAuthorized()");
        refused.get().meta = (1, false);
        let out = run(&refused, Action::Apply);
        assert!(
            matches!(out, Outcome::Failed(ref m) if m.starts_with("Apply") && m.contains("NotAuthorized")),
            "{out:?}"
        );
        let mut no_agent = ctx(&FakeChain::default(), false);
        no_agent.rec.agent = None;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt.block_on(no_agent.perform(Action::Apply));
        assert!(
            matches!(out, Outcome::Failed(ref m) if m.contains("no key")),
            "{out:?}"
        );
    }
}
