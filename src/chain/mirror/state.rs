//! What the mirror knows of each job (`Rec`), how the journal replays into it at start, and the
//! view of it that the engine's gate reads.

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
    /// When the job's previous step ended (for the stage latency figures).
    pub last_step: Option<std::time::Instant>,
}

impl Rec {
    /// A validator whose commit is on chain still has its reveal to send.
    pub fn reveal_pending(&self, v: &Address) -> bool {
        !self.revealed.contains(v) && self.votes.get(v).is_some_and(|x| x.2)
    }
}

#[derive(Default)]
pub(super) struct MirrorState {
    pub header: Option<(Address, u64)>,
    pub run_id: B256,
    pub recs: BTreeMap<JobId, Rec>,
    pub pending_creates: BTreeMap<JobId, (B256, Address)>,
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
        match e {
            Entry::Header { .. } => {}
            Entry::CreateIntent {
                job,
                spec_hash,
                poster,
            } => {
                self.pending_creates
                    .insert(JobId(*job), (*spec_hash, *poster));
                let r = self.recs.entry(JobId(*job)).or_default();
                r.poster = *poster;
                r.spec_hash = *spec_hash;
            }
            Entry::Created { job, onchain } => {
                self.pending_creates.remove(&JobId(*job));
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

    /// Tells the gate what the journal already knows.
    pub fn publish(&self, v: &mut View) {
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
        // Never reached by `commit:<validator>` or `reveal:<validator>`: `name` stops at the
        // colon. So a replay restores no commit or reveal; after a restart each is sent again
        // and the chain's `AlreadyCommitted`/`AlreadyRevealed` marks it done. Kept as it was
        // (this split changes no behaviour); the test `replay_restores_no_commit_or_reveal`
        // pins it until it is fixed.
        s => {
            if let Some(v) = s
                .strip_prefix("commit:")
                .and_then(|a| a.parse::<Address>().ok())
            {
                if let Some(vote) = r.votes.get_mut(&v) {
                    vote.2 = true;
                }
            } else if let Some(v) = s
                .strip_prefix("reveal:")
                .and_then(|a| a.parse::<Address>().ok())
            {
                r.revealed.insert(v);
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
    /// before it. Jobs older than the mirror, and jobs it detached, are not held.
    pub fn allows(&self, job: JobId, step: Step) -> bool {
        if job.0 < self.first_job || self.detached.contains(&job) {
            return true;
        }
        match step {
            Step::Assign => self.created.contains(&job),
            Step::Submit => self.applied.contains(&job),
            Step::Commit => self.committees.contains_key(&job),
            Step::Reveal => true,
            Step::Settle => self.finished.contains(&job),
        }
    }
}
