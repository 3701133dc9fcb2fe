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
    /// The signed `createJob` transactions of the pending creates, oldest first.
    pub create_txs: BTreeMap<JobId, Vec<SignedCreate>>,
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
        "failed" => r.release = true,
        "expire" => {
            r.finished = true;
            r.outcome = Some(false);
        }
        // `commit:<validator>` and `reveal:<validator>`: the whole step names the validator.
        _ => {
            if let Some(v) = step
                .strip_prefix("commit:")
                .and_then(|a| a.parse::<Address>().ok())
            {
                if let Some(vote) = r.votes.get_mut(&v) {
                    vote.2 = true;
                }
            } else if let Some(v) = step
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
    /// before it. Jobs older than the mirror, and jobs it detached, are not held. A job the chain
    /// has finished may start a round without the chain's committee: after a restart the engine
    /// validates it afresh, the chain seats no committee again, and the round settles by the
    /// chain's verdict (else the job waited for a committee for ever, holding its slot).
    pub fn allows(&self, job: JobId, step: Step) -> bool {
        if job.0 < self.first_job || self.detached.contains(&job) {
            return true;
        }
        match step {
            Step::Assign => self.created.contains(&job),
            Step::Submit => self.applied.contains(&job),
            Step::Commit => self.committees.contains_key(&job) || self.finished.contains(&job),
            Step::Reveal => true,
            Step::Settle => self.finished.contains(&job),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Bytes;

    const REGISTRY: Address = Address::repeat_byte(0xaa);
    const POSTER: Address = Address::repeat_byte(1);
    const AGENT: Address = Address::repeat_byte(2);
    const V1: Address = Address::repeat_byte(0x11);

    fn header(registry: Address, first_job: u64) -> Entry {
        Entry::Header {
            registry,
            run_id: B256::repeat_byte(7),
            first_job,
        }
    }

    fn done(job: u64, step: &str) -> Entry {
        Entry::Done {
            job,
            step: step.into(),
        }
    }

    /// One job created, applied, submitted, selected and finished; another only intended.
    fn journal() -> Vec<Entry> {
        vec![
            header(REGISTRY, 3),
            Entry::CreateIntent {
                job: 3,
                spec_hash: B256::repeat_byte(3),
                poster: POSTER,
                reward: U256::from(5),
                deadline_s: 99,
            },
            signed(3, 1),
            Entry::Created {
                job: 3,
                onchain: U256::from(40),
            },
            done(3, &format!("apply:{AGENT}")),
            done(3, "submit"),
            done(3, "select:1234"),
            Entry::Salt {
                job: 3,
                validator: V1,
                approve: false,
                salt: B256::repeat_byte(9),
            },
            done(3, "finish:false"),
            Entry::CreateIntent {
                job: 4,
                spec_hash: B256::repeat_byte(4),
                poster: POSTER,
                reward: U256::ZERO,
                deadline_s: 0,
            },
            signed(4, 2),
            signed(4, 3),
        ]
    }

    fn signed(job: u64, n: u8) -> Entry {
        Entry::CreateSigned {
            job,
            nonce: n.into(),
            hash: B256::repeat_byte(n),
            raw: Bytes::from(vec![n]),
        }
    }

    #[test]
    fn replay_restores_records_and_pending_creates() {
        let mut s = MirrorState::default();
        assert_eq!(s.replay(&journal(), REGISTRY), Some(B256::repeat_byte(7)));
        assert_eq!(s.header, Some((REGISTRY, 3)));
        let r = &s.recs[&JobId(3)];
        assert_eq!(r.onchain, Some(U256::from(40)));
        assert_eq!((r.poster, r.spec_hash), (POSTER, B256::repeat_byte(3)));
        assert_eq!((r.reward, r.deadline_s), (U256::from(5), 99));
        assert!(r.assigned && r.applied && r.submitted && r.finished);
        assert_eq!(r.agent, Some(AGENT));
        assert_eq!(r.selected_at, 1234);
        assert_eq!(r.outcome, Some(false));
        assert_eq!(r.votes[&V1], (false, B256::repeat_byte(9), false));
        // Job 4's createJob may have been sent: recovery looks for it on chain.
        let pending: Vec<_> = s.pending_creates.keys().copied().collect();
        assert_eq!(pending, vec![JobId(4)]);
        assert_eq!(s.recs[&JobId(4)].onchain, None);
        // With the transactions it signed, in order; job 3's were settled when it was created.
        let nonces: Vec<u64> = s.create_txs[&JobId(4)].iter().map(|t| t.nonce).collect();
        assert_eq!(nonces, vec![2, 3]);
        assert!(!s.create_txs.contains_key(&JobId(3)));
    }

    #[test]
    fn replay_is_idempotent() {
        let render =
            |s: &MirrorState| format!("{:?} {:?} {:?}", s.header, s.recs, s.pending_creates);
        let mut once = MirrorState::default();
        once.replay(&journal(), REGISTRY);
        let mut again = MirrorState::default();
        again.replay(&journal(), REGISTRY);
        again.replay(&journal(), REGISTRY);
        assert_eq!(render(&once), render(&again));
        // An entry seen twice (a step journaled again after a restart) changes nothing either.
        let doubled: Vec<Entry> = journal().into_iter().flat_map(|e| [e.clone(), e]).collect();
        let mut twice = MirrorState::default();
        twice.replay(&doubled, REGISTRY);
        assert_eq!(render(&once), render(&twice));
    }

    #[test]
    fn a_journal_of_another_deployment_is_forgotten() {
        let mut entries = journal();
        entries.push(header(Address::repeat_byte(0xbb), 9));
        let mut s = MirrorState::default();
        assert_eq!(s.replay(&entries, REGISTRY), None);
        assert!(s.header.is_none() && s.recs.is_empty() && s.pending_creates.is_empty());
    }

    #[test]
    fn replay_restores_commits_and_reveals() {
        // After a restart a journaled commit or reveal is not sent again (it used to be, and
        // the chain's `AlreadyCommitted`/`AlreadyRevealed` marked it done, a wasted transaction).
        let mut entries = journal();
        entries.push(done(3, &format!("commit:{V1}")));
        entries.push(done(3, &format!("reveal:{V1}")));
        let mut s = MirrorState::default();
        s.replay(&entries, REGISTRY);
        let r = &s.recs[&JobId(3)];
        assert!(r.votes[&V1].2, "the commit is restored");
        assert!(r.revealed.contains(&V1), "the reveal is restored");
    }

    #[test]
    fn publish_tells_the_gate_what_the_journal_knows() {
        let mut s = MirrorState::default();
        s.replay(&journal(), REGISTRY);
        let mut v = View {
            first_job: 3,
            ..Default::default()
        };
        s.publish(&mut v);
        for step in [Step::Assign, Step::Submit, Step::Settle] {
            assert!(v.allows(JobId(3), step), "{step:?}");
            assert!(!v.allows(JobId(4), step), "{step:?}");
        }
        assert_eq!(v.outcomes.get(&JobId(3)), Some(&false));
        // The committee is the chain's, read again after a restart: not from the journal. Job 3 is
        // finished on chain, so its round starts without one (and settles by the chain's verdict).
        assert!(v.committees.is_empty());
        assert!(v.allows(JobId(3), Step::Commit) && !v.allows(JobId(4), Step::Commit));
    }

    #[test]
    fn the_gate_refuses_a_step_until_the_chain_confirmed_the_one_before() {
        let job = JobId(5);
        let mut v = View {
            first_job: 5,
            ..Default::default()
        };
        let refused = |v: &View| {
            [Step::Assign, Step::Submit, Step::Commit, Step::Settle]
                .into_iter()
                .filter(|s| !v.allows(job, *s))
                .count()
        };
        assert_eq!(refused(&v), 4);
        assert!(
            v.allows(job, Step::Reveal),
            "reveals follow commits, not the chain"
        );
        v.created.insert(job);
        assert!(v.allows(job, Step::Assign) && !v.allows(job, Step::Submit));
        v.applied.insert(job);
        assert!(v.allows(job, Step::Submit) && !v.allows(job, Step::Commit));
        v.committees.insert(job, vec![AccountId(1)]);
        assert!(v.allows(job, Step::Commit) && !v.allows(job, Step::Settle));
        v.finished.insert(job);
        assert_eq!(refused(&v), 0);
        // Finished on chain, without a committee in this run (a restart): its round may start.
        v.committees.remove(&job);
        assert_eq!(refused(&v), 0);
        // Jobs from before the mirror attached, and detached jobs, are never held.
        assert!(v.allows(JobId(4), Step::Settle));
        v.detached.insert(JobId(6));
        assert!(v.allows(JobId(6), Step::Assign) && !v.allows(JobId(7), Step::Assign));
    }

    #[test]
    fn a_job_that_failed_before_submission_is_released_unless_adopted() {
        let mut s = MirrorState::default();
        s.recs.entry(JobId(1)).or_default();
        s.recs.entry(JobId(2)).or_default().submit_seen = true;
        s.recs.entry(JobId(4)).or_default().adopted = true;
        assert!(
            s.failed(JobId(1)),
            "journaled: a restart must still release it"
        );
        assert!(!s.failed(JobId(1)), "said once");
        assert!(!s.failed(JobId(2)));
        assert!(!s.failed(JobId(3)));
        assert!(!s.failed(JobId(4)));
        assert!(s.recs[&JobId(1)].release && !s.recs[&JobId(1)].finished);
        assert!(
            !s.recs[&JobId(2)].release && !s.recs[&JobId(2)].finished,
            "submitted work still settles on chain"
        );
        assert!(!s.recs.contains_key(&JobId(3)));
        assert!(
            s.recs[&JobId(4)].finished && !s.recs[&JobId(4)].release,
            "an adopted job is its employer's to release"
        );
        let mut r = Rec::default();
        replay_done(&mut r, "failed");
        assert!(r.release);
        replay_done(&mut r, "expire");
        assert_eq!((r.finished, r.outcome), (true, Some(false)));
    }
}
