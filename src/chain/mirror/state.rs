//! What the mirror knows of each job (`Rec`), how the journal replays into it at start, and the
//! view of it that the engine's gate reads.

use super::chain_io::SignedCreate;
use crate::chain::journal::Entry;
use crate::domain::events::Step;
use crate::domain::job::JobId;
use crate::domain::ledger::AccountId;
use alloy::primitives::{Address, B256, U256};
use std::collections::{BTreeMap, BTreeSet};

/// One engine job as the mirror tracks it.
#[derive(Clone, Debug, Default)]
pub(super) struct Rec {
    pub poster: Address,
    pub reward: U256,
    pub deadline_s: u64,
    pub spec_hash: B256,
    pub onchain: Option<U256>,
    pub agent: Option<Address>,
    pub assigned: bool,
    pub submit_seen: bool,
    /// An external agent's result: its hash and the URI it is served under (None: simulated
    /// work, whose result hash is derived from the spec hash).
    pub result: Option<(B256, String)>,
    pub cancel_seen: bool,
    pub applied: bool,
    pub submitted: bool,
    pub committee: Option<Vec<Address>>,
    pub selected_at: u64,
    /// Engine time when the committee was chosen (0 when replayed from the journal).
    pub selected_engine_ms: u64,
    pub offchain_committee: Vec<Address>,
    pub offchain_commit_deadline_ms: u64,
    pub offchain_reveal_deadline_ms: u64,
    /// validator → (approve, salt, committed on chain)
    pub votes: BTreeMap<Address, (bool, B256, bool)>,
    pub reveal_wanted: BTreeSet<Address>,
    pub revealed: BTreeSet<Address>,
    pub finished: bool,
    /// The chain's verdict once finished (`None` in journals written before it was recorded).
    pub outcome: Option<bool>,
    pub cancelled: bool,
    pub detached: bool,
    /// Posted on chain by someone else: never created or cancelled by us.
    pub adopted: bool,
    /// Actions of this job in flight (commits and reveals of different validators run together).
    pub busy: u32,
    /// Validation cannot close before this chain time; `force` once quorum is known to be missing.
    pub finish_wait: Option<(u64, bool)>,
    /// The engine failed the job before `submit`: it is to be released on chain (cancelled, or
    /// expired after its deadline) rather than left Applied with escrow and stake locked.
    pub release: bool,
    /// The chain lost this job's `createJob` (a reorg): it is created again even when the
    /// engine failed it meanwhile (to be released then), so the journal's mapping holds.
    pub recreate: bool,
    /// After a node or network failure, the job's next step waits until then.
    pub retry_at: Option<std::time::Instant>,
    /// `selectValidators` calls that selected nobody yet (too early, or a reset).
    pub select_tries: u32,
    /// While a selection is in flight: the chain time it was sent at. Its commit window may
    /// open as early as then, before the worker hears of it (see `Schedule::time_limit`).
    pub selecting_since: Option<u64>,
    /// Devnet: the head block from which this job's latest commit or reveal is beyond a reorg's
    /// reach (`REORG_REACH_BLOCKS` deep); `Some(0)` until the head is read after it was mined.
    /// Until then the clock does not pass the window it was sent in (`Schedule::vote_hold`).
    pub votes_deep_at: Option<u64>,
    /// When the job's previous step ended (for the stage latency figures).
    pub last_step: Option<std::time::Instant>,
    /// The engine's validation of this job is over (a finish the chain lost is being re-driven):
    /// validation closes again as soon as the journaled reveals are back on chain.
    pub engine_done: bool,
    /// A finished job stays watched until the chain's head reaches this block (its finish is then
    /// `confirmations` deep) and the chain still holds it; `Some(0)` until the head is read.
    pub watch_until: Option<u64>,
    /// A step of this job was refused and the job has been compared with the chain since,
    /// without progress: the next refusal detaches it (cleared by any journaled step).
    pub refusal_checked: bool,
    /// The engine has settled the job (completed, failed or cancelled it): it asks the gate
    /// nothing more about it in this run.
    pub engine_settled: bool,
    /// Once its finish was found deep enough: the head block and the time after which a final
    /// job is forgotten (`redrive::forget_final`); a reorg that took its finish clears it.
    pub forget_at: Option<(u64, std::time::Instant)>,
}

impl Rec {
    /// One of the job's actions is over (its outcome is being applied).
    pub fn action_ended(&mut self) {
        self.busy = self.busy.saturating_sub(1);
        if self.busy == 0 {
            self.selecting_since = None; // a selection runs alone: this was its outcome
        }
        self.last_step = Some(std::time::Instant::now());
    }

    /// A validator whose commit is on chain still has its reveal to send.
    pub fn reveal_pending(&self, v: &Address) -> bool {
        !self.revealed.contains(v) && self.votes.get(v).is_some_and(|x| x.2)
    }

    /// Nothing is left to send or to watch: the engine has settled the job and its on-chain
    /// finalize is `confirmations` deep. Only the usual path counts; cancelled, released, adopted
    /// and detached jobs are few and stay.
    pub fn is_final(&self) -> bool {
        self.engine_settled
            && self.finished
            && self.submitted
            && self.watch_until.is_none()
            && self.forget_at.is_some()
            && self.busy == 0
            && !(self.detached
                || self.cancelled
                || self.release
                || self.adopted
                || self.engine_done)
    }
}

#[derive(Default)]
pub(super) struct MirrorState {
    pub header: Option<(Address, u64)>,
    pub run_id: B256,
    pub recs: BTreeMap<JobId, Rec>,
    pub pending_creates: BTreeMap<JobId, (B256, Address)>,
    /// The signed `createJob` transactions of the pending creates, oldest first.
    pub create_txs: BTreeMap<JobId, Vec<SignedCreate>>,
    /// Jobs the journal calls final (`Done "final"`), with their outcome: not kept as records,
    /// only told to the gate at start (an engine restored from an older checkpoint asks again).
    pub finals: BTreeMap<JobId, Option<bool>>,
}

impl MirrorState {
    /// Rebuilds what the journal knows; returns the run id of this deployment's journal.
    pub fn replay(&mut self, entries: &[Entry], registry: Address) -> Option<B256> {
        let mut run = None;
        for e in entries {
            match e {
                Entry::Header {
                    registry: r,
                    run_id,
                    first_job,
                } if *r == registry => {
                    self.header = Some((*r, *first_job));
                    self.run_id = *run_id;
                    run = Some(*run_id);
                }
                Entry::Header { .. } => {
                    // A journal of another deployment (a reset devnet): start over.
                    *self = MirrorState::default();
                    run = None;
                }
                e => self.replay_entry(e),
            }
        }
        run
    }

    fn replay_entry(&mut self, e: &Entry) {
        if e.job().is_some_and(|j| self.finals.contains_key(&JobId(j))) {
            return; // final: nothing after it concerns the mirror
        }
        match e {
            Entry::Header { .. } => {}
            Entry::Done { job, step } if step == FINAL => {
                let outcome = self.recs.remove(&JobId(*job)).and_then(|r| r.outcome);
                self.finals.insert(JobId(*job), outcome);
            }
            Entry::CreateIntent {
                job,
                spec_hash,
                poster,
                reward,
                deadline_s,
            } => {
                self.pending_creates
                    .insert(JobId(*job), (*spec_hash, *poster));
                let r = self.recs.entry(JobId(*job)).or_default();
                r.poster = *poster;
                r.spec_hash = *spec_hash;
                r.reward = *reward;
                r.deadline_s = *deadline_s;
            }
            Entry::CreateSigned {
                job,
                nonce,
                hash,
                raw,
            } => {
                let (nonce, hash, raw) = (*nonce, *hash, raw.clone());
                let signed = SignedCreate { nonce, hash, raw };
                self.create_txs.entry(JobId(*job)).or_default().push(signed);
            }
            Entry::Created { job, onchain } => {
                self.pending_creates.remove(&JobId(*job));
                self.create_txs.remove(&JobId(*job));
                self.recs.entry(JobId(*job)).or_default().onchain = Some(*onchain);
            }
            Entry::Adopted {
                job,
                onchain,
                sender,
                spec_hash,
            } => {
                let r = self.recs.entry(JobId(*job)).or_default();
                r.onchain = Some(*onchain);
                r.poster = *sender;
                r.spec_hash = *spec_hash;
                r.adopted = true;
            }
            Entry::Salt {
                job,
                validator,
                approve,
                salt,
            } => {
                self.recs
                    .entry(JobId(*job))
                    .or_default()
                    .votes
                    .insert(*validator, (*approve, *salt, false));
            }
            Entry::Done { job, step } => {
                replay_done(self.recs.entry(JobId(*job)).or_default(), step)
            }
        }
    }

    /// The engine gave up on `job`. Failed before submission, our own job is released on chain
    /// (cancelled, or expired once its deadline passes; `true`: journal that); an adopted one
    /// is its employer's to release. Failed after submission, validation settles it as usual.
    pub fn failed(&mut self, job: JobId) -> bool {
        let Some(r) = self.recs.get_mut(&job) else {
            return false;
        };
        if r.release || r.submitted || r.submit_seen || r.finished || r.cancelled {
            return false; // told before (a job error is followed by its failure), or settles
        }
        if r.adopted {
            r.finished = true;
            return false;
        }
        r.release = true;
        true
    }

    /// The final jobs (see `Rec::is_final`) whose time to be forgotten has come at `head`.
    pub fn due_to_forget(&self, head: u64, now: std::time::Instant) -> Vec<JobId> {
        self.recs
            .iter()
            .filter(|(_, r)| {
                r.is_final()
                    && r.forget_at
                        .is_some_and(|(block, at)| head >= block && now >= at)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Forgets a job: its record and its place in the gate's view, so memory and every pass over
    /// the jobs follow the live jobs, not the run's history. The caller journals `FINAL` first.
    pub fn forget(&mut self, job: JobId, view: &mut View) {
        self.recs.remove(&job);
        view.forget(job);
    }

    /// Tells the gate what the journal already knows.
    pub fn publish(&mut self, v: &mut View) {
        for (id, outcome) in std::mem::take(&mut self.finals) {
            v.finished.insert(id);
            if let Some(ok) = outcome {
                v.outcomes.insert(id, ok);
            }
        }
        for (id, r) in &self.recs {
            if r.onchain.is_some() {
                v.created.insert(*id);
            }
            if r.applied {
                v.applied.insert(*id);
            }
            if r.finished {
                v.finished.insert(*id);
                if let Some(ok) = r.outcome {
                    v.outcomes.insert(*id, ok);
                }
            }
        }
    }
}

/// The `Done` step journaled when a job is forgotten as final.
pub(super) const FINAL: &str = "final";

/// A `Done` step (`name` or `name:argument`) marks what it says as done.
fn replay_done(r: &mut Rec, step: &str) {
    let (name, arg) = step.split_once(':').unwrap_or((step, ""));
    match name {
        "apply" => {
            r.applied = true;
            r.assigned = true;
            r.agent = arg.parse().ok();
        }
        "select" => r.selected_at = arg.parse().unwrap_or(0),
        "submit" => r.submitted = true,
        "finish" => {
            r.finished = true;
            r.outcome = arg.parse().ok();
        }
        "cancel" => r.cancelled = true,
        "failed" => r.release = true,
        "expire" => {
            r.finished = true;
            r.outcome = Some(false);
        }
        // `commit:<validator>` and `reveal:<validator>`: the whole step names the validator.
        // How deep it is now is not known: it is held as if just mined (`Rec::votes_deep_at`).
        _ => {
            if let Some(v) = step
                .strip_prefix("commit:")
                .and_then(|a| a.parse::<Address>().ok())
            {
                if let Some(vote) = r.votes.get_mut(&v) {
                    vote.2 = true;
                }
                r.votes_deep_at = Some(0);
            } else if let Some(v) = step
                .strip_prefix("reveal:")
                .and_then(|a| a.parse::<Address>().ok())
            {
                r.revealed.insert(v);
                r.votes_deep_at = Some(0);
            }
        }
    }
}

/// What the engine's gate reads (shared with the mirror task).
#[derive(Default)]
pub(super) struct View {
    pub first_job: u64,
    pub created: BTreeSet<JobId>,
    pub applied: BTreeSet<JobId>,
    pub committees: BTreeMap<JobId, Vec<AccountId>>,
    pub finished: BTreeSet<JobId>,
    /// The chain's validation outcome of each finished job (when known).
    pub outcomes: BTreeMap<JobId, bool>,
    /// Jobs the mirror gave up on (a permanent revert): the engine carries on without the chain.
    pub detached: BTreeSet<JobId>,
}

impl View {
    /// Whether the engine may take `step` of `job`: only once the chain has confirmed the step
    /// before it. Jobs older than the mirror, and jobs it detached, are not held. A job the chain
    /// has finished may start a round without the chain's committee: after a restart the engine
    /// validates it afresh, the chain seats no committee again, and the round settles by the
    /// chain's verdict (else the job waited for a committee for ever, holding its slot).
    pub fn allows(&self, job: JobId, step: Step) -> bool {
        if job.0 < self.first_job || self.detached.contains(&job) {
            return true;
        }
        // A job final on chain (forgotten, or told at start) is only in `finished`.
        match step {
            Step::Assign => self.created.contains(&job) || self.finished.contains(&job),
            Step::Submit => self.applied.contains(&job) || self.finished.contains(&job),
            Step::Commit => self.committees.contains_key(&job) || self.finished.contains(&job),
            Step::Reveal => true,
            Step::Settle => self.finished.contains(&job),
        }
    }

    /// Drops every mention of `job` (the engine asks nothing more about it).
    pub fn forget(&mut self, job: JobId) {
        self.created.remove(&job);
        self.applied.remove(&job);
        self.committees.remove(&job);
        self.finished.remove(&job);
        self.outcomes.remove(&job);
        self.detached.remove(&job);
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
