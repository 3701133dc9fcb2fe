//! The engine's events, turned into what each job needs on chain; pause and resume go out at once.

use super::chain_io::{ChainReads, ChainWrites};
use super::worker::{Worker, chain_deadline_s};
use crate::chain::bindings::SystemPause;
use crate::chain::journal::Entry;
use crate::chain::tx::Gas;
use crate::domain::events::DomainEvent;
use crate::domain::job::JobId;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::{SolCall, SolValue};
use std::time::{Duration, Instant};

impl Worker {
    pub(super) async fn ingest(&mut self, e: DomainEvent) -> eyre::Result<()> {
        if self.not_ours(&e) {
            return Ok(());
        }
        match e {
            DomainEvent::JobPosted {
                job,
                external: Some(reference),
                ..
            } if reference.starts_with("chain:") => self.adopt(job, &reference).await?,
            DomainEvent::JobPosted {
                job,
                poster,
                reward,
                deadline_ms,
                ..
            } => self.posted(job, &poster, U256::from(reward.0), deadline_ms)?,
            DomainEvent::JobAssigned { job, agent, .. } => {
                let a = self.addr(&agent);
                let r = self.state.recs.entry(job).or_default();
                r.agent = a;
                r.assigned = true;
            }
            DomainEvent::JobSubmitted { job, result, .. } => self.submitted(job, result),
            DomainEvent::ValidationStarted {
                job,
                committee,
                commit_deadline_ms,
                reveal_deadline_ms,
                ..
            } => {
                let members: Vec<Address> = committee.iter().filter_map(|n| self.addr(n)).collect();
                let r = self.state.recs.entry(job).or_default();
                r.offchain_committee = members;
                r.offchain_commit_deadline_ms = commit_deadline_ms;
                r.offchain_reveal_deadline_ms = reveal_deadline_ms;
            }
            DomainEvent::ValidationCommitted {
                job,
                validator,
                sealed: Some(sealed),
                ..
            } => self.committed(job, &validator, sealed.approve)?,
            DomainEvent::ValidatorVote {
                job,
                validator,
                valid: true,
                ..
            } => {
                if let Some(v) = self.addr(&validator) {
                    let r = self.state.recs.entry(job).or_default();
                    r.reveal_wanted.insert(v);
                }
            }
            DomainEvent::JobCancelled { job, .. } => {
                self.state.recs.entry(job).or_default().cancel_seen = true;
                self.engine_settled(job);
            }
            DomainEvent::JobFailed { job, .. } => {
                self.failed(job)?;
                self.engine_settled(job);
            }
            DomainEvent::JobError { job, .. } => self.failed(job)?,
            DomainEvent::JobCompleted { job, .. } => self.engine_settled(job),
            // A pause that came from the chain is already there: follow it, send nothing.
            DomainEvent::Paused { source } if source == "chain" => self.sched.paused = true,
            DomainEvent::Resumed { source } if source == "chain" => {
                self.sched.paused = false;
                self.sched.paused_by_chain = None;
            }
            DomainEvent::Paused { .. } => self.set_pause(true).await?,
            DomainEvent::Resumed { .. } => self.set_pause(false).await?,
            _ => {}
        }
        Ok(())
    }

    /// Whether `e` is about a job older than the mirror, or final on chain (an engine restored
    /// from an older checkpoint takes it again): the gate lets such a job through and nothing is
    /// sent for it. A final job leaves the gate's view once the engine settles it again.
    fn not_ours(&self, e: &DomainEvent) -> bool {
        let Some(job) = e.job() else {
            return false;
        };
        let mut view = self.view.lock().expect("view");
        let final_job = view.finished.contains(&job) && !self.state.recs.contains_key(&job);
        if final_job && e.is_terminal() {
            view.forget(job);
        }
        job.0 < view.first_job || final_job
    }

    /// The engine has settled `job`: once the chain's finalize of it is deep enough, it is
    /// forgotten (`redrive::forget_final`).
    fn engine_settled(&mut self, job: JobId) {
        if let Some(r) = self.state.recs.get_mut(&job) {
            r.engine_settled = true;
        }
    }

    /// The engine failed `job`: one failed before `submit` is to be released on chain, and the
    /// journal keeps that across a restart (the engine does not tell of it again).
    fn failed(&mut self, job: JobId) -> eyre::Result<()> {
        if self.state.failed(job) {
            self.journal.record(&Entry::Done {
                job: job.0,
                step: "failed".into(),
            })?;
        }
        Ok(())
    }

    /// The engine's worker submitted `job`; an external agent's `result` goes on chain with the
    /// URI the status API serves it under.
    fn submitted(&mut self, job: JobId, result: Option<B256>) {
        let uri = |hash: B256| match &self.settings.result_uri_base {
            Some(base) => format!("{base}/results/{hash}"),
            None => format!("omega://result/{hash}"),
        };
        let result = result.map(|hash| (hash, uri(hash)));
        let r = self.state.recs.entry(job).or_default();
        r.submit_seen = true;
        r.result = result;
    }

    /// A job posted by the engine: what its `createJob` will carry.
    fn posted(
        &mut self,
        job: JobId,
        poster: &str,
        reward: U256,
        deadline_ms: u64,
    ) -> eyre::Result<()> {
        let poster = self
            .addr(poster)
            .ok_or_else(|| eyre::eyre!("no key for poster {poster}"))?;
        let spec_hash = keccak256((self.state.run_id, U256::from(job.0)).abi_encode());
        // Chain time (a chain's clock may run behind the wall clock as well as ahead); the wall
        // clock only when the chain's could not be read yet.
        let chain_now_s = match self.sched.chain_now {
            0 => crate::chain::anvil::wall_s(),
            t => t,
        };
        let deadline_s = chain_deadline_s(
            self.sched.now_ms,
            deadline_ms,
            chain_now_s,
            self.settings.devnet,
        );
        let r = self.state.recs.entry(job).or_default();
        r.poster = poster;
        r.reward = reward;
        r.deadline_s = deadline_s;
        r.spec_hash = spec_hash;
        r.last_step = Some(Instant::now());
        Ok(())
    }

    /// A committee member's vote, sealed: the on-chain commit needs a salt of its own.
    fn committed(&mut self, job: JobId, validator: &str, approve: bool) -> eyre::Result<()> {
        let Some(v) = self.addr(validator) else {
            return Ok(());
        };
        let r = self.state.recs.get(&job);
        let in_committee = r
            .and_then(|r| r.committee.as_ref())
            .is_some_and(|c| c.contains(&v));
        let known = r.is_some_and(|r| r.votes.contains_key(&v));
        if in_committee && !known {
            // The on-chain salt is fresh randomness, journaled before the commit is sent.
            let salt = B256::random();
            self.journal.record(&Entry::Salt {
                job: job.0,
                validator: v,
                approve,
                salt,
            })?;
            let r = self.state.recs.entry(job).or_default();
            r.votes.insert(v, (approve, salt, false));
        }
        Ok(())
    }

    async fn set_pause(&mut self, pause: bool) -> eyre::Result<()> {
        let paused_now = self.chain.paused().await?;
        if paused_now != pause {
            let (label, input) = if pause {
                (
                    "SystemPause.pauseAll",
                    SystemPause::pauseAllCall {}.abi_encode(),
                )
            } else {
                (
                    "SystemPause.unpauseAll",
                    SystemPause::unpauseAllCall {}.abi_encode(),
                )
            };
            let to = self.chain.d.system_pause;
            self.chain
                .send(label, self.actors.owner, to, input.into(), Gas::Estimate)
                .await?;
        }
        self.sched.paused = pause;
        self.sched.paused_by_chain = None; // the engine decides from here on
        Ok(())
    }

    /// A hold that came from a refused transaction ends when the chain is unpaused, even if the
    /// pause was too short for the engine to see it.
    pub(super) async fn recheck_chain_pause(&mut self) {
        let Some(at) = self.sched.paused_by_chain else {
            return;
        };
        if at.elapsed() < Duration::from_secs(1) {
            return;
        }
        match self.chain.paused().await {
            Ok(false) => {
                self.sched.paused = false;
                self.sched.paused_by_chain = None;
            }
            _ => self.sched.paused_by_chain = Some(Instant::now()),
        }
    }
}
