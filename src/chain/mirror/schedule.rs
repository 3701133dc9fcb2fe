//! What the mirror does next: the next action of each job, when time may move, and how an
//! action's outcome changes the job's record and the gate's view. Plain decisions over data; the
//! worker does the I/O around them.

use super::MirrorStats;
use super::state::{Rec, View};
use crate::chain::journal::Entry;
use crate::domain::job::JobId;
use crate::domain::ledger::AccountId;
use alloy::primitives::{Address, U256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long (engine time) a freshly selected committee holds the devnet clock for its round.
const ROUND_START_GRACE_MS: u64 = 3_000;
/// How far the chain's next block may be stamped past the latest one's time (anvil stamps the
/// wall clock's second plus any jump): a clock jump stops this far short of another job's open
/// window, and a commit is sent only while its window has this much left.
pub(super) const CLOCK_SLACK_S: u64 = 2;
/// Devnet: how deep a block must be before no reorg is expected to take it: deeper than the
/// test and chaos reorgs (up to 10 blocks). The clock holds the window of a commit or reveal
/// this shallow, and a finished job is remembered at least this long.
pub(super) const REORG_REACH_BLOCKS: u64 = 16;
/// At most this many `selectValidators` in flight (they compete for the same validators). Measured
/// with `cargo bench --bench chain`: 4 held the mirror to ≈ 30 lifecycles/s, 12 gave ≈ 44 with no
/// mined revert, 32 no more and 65 reverted selections (committees drawn from the same stake).
const SELECTS_IN_FLIGHT: usize = 12;
/// How long selection waits after "not enough eligible validators" if no job settles first.
const SELECT_RETRY: Duration = Duration::from_secs(1);
/// How long a job waits after its step met a node or network failure.
const UNREACHABLE_RETRY: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Action {
    Create,
    Cancel,
    Apply,
    Submit,
    Select,
    Commit(Address),
    Reveal(Address),
    /// Close validation and settle; `force` after the grace period when quorum is missing.
    Finish {
        force: bool,
    },
    /// The engine failed the job before `submit`: cancel it on chain while no agent has
    /// applied, else expire it (`cancelExpiredJob`) once its deadline has passed.
    Release,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Cancel => "cancel",
            Action::Apply => "apply",
            Action::Submit => "submit",
            Action::Select => "select",
            Action::Commit(_) => "commit",
            Action::Reveal(_) => "reveal",
            Action::Finish { .. } => "finish",
            Action::Release => "release",
        }
    }
}

/// What an action reports back to the worker.
#[derive(Debug, PartialEq)]
pub(super) enum Outcome {
    Created(U256),
    Applied,
    Submitted,
    Selected(Vec<Address>, u64),
    /// Selection must wait: for a later block (`too_early`), or for validators with free stake.
    NotYetSelected {
        too_early: bool,
    },
    Committed(Address),
    Revealed(Address),
    /// The chain's window for this validator's commit or reveal closed first (typically a round
    /// the engine re-ran after a restart): the vote stays off chain and validation settles
    /// without it; the engine then follows the chain's verdict.
    Missed(Address),
    /// The chain holds no commit of this validator's (a reorg took it after it was journaled,
    /// before the mirror compared the job with the chain): commit again, same vote and salt.
    CommitLost(Address),
    NotYet,
    /// Finalized on chain, with the chain's verdict.
    Finished(bool),
    Cancelled,
    /// Expired on chain (`cancelExpiredJob`), or already settled by someone else.
    Expired,
    /// Try again once the chain clock reaches this time (`true`: force-finalize then).
    WaitUntil(u64, bool),
    /// The contracts are paused: retry once they are not.
    ChainPaused,
    /// The node or the network failed (not the contract): retry this job a little later.
    Unreachable(String),
    Failed(String),
}

/// The chain's validation windows, in seconds.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Windows {
    pub commit_s: u64,
    pub reveal_s: u64,
    pub force_finalize_grace_s: u64,
}

/// The clocks and holds that, with the job records, decide what runs next.
#[derive(Default)]
pub(super) struct Schedule {
    pub windows: Windows,
    /// The engine's clock (possibly virtual), from its events and ticks.
    pub now_ms: u64,
    /// The latest chain timestamp seen (refreshed by the worker).
    pub chain_now: u64,
    /// The latest block number seen (refreshed with `chain_now`).
    pub head: u64,
    pub paused: bool,
    /// Held because the chain refused a transaction as paused: when it was last checked.
    pub paused_by_chain: Option<Instant>,
    /// `selectValidators` calls in flight.
    pub selecting: usize,
    /// No validator had free stake for a committee: no job tries to select again until another
    /// job settles (freeing its committee's stake) or this time passes. Without it every waiting
    /// job retried in a loop, and each try cost the devnet a block.
    pub select_blocked: Option<Instant>,
    /// When the log last said why selection waits (said again at most every `SAY_WAIT_EVERY`).
    pub select_wait_said: Option<Instant>,
    /// The run is ending: the engine's clock stops, so no round starts any more in this process.
    pub draining: bool,
}

/// A selection that keeps waiting is said in the log this often, not at every retry.
const SAY_WAIT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Schedule {
    pub fn new(windows: Windows) -> Schedule {
        Schedule {
            windows,
            ..Default::default()
        }
    }

    pub fn selection_waits(&self) -> bool {
        self.select_blocked
            .is_some_and(|until| Instant::now() < until)
    }

    pub fn next_action(&self, r: &Rec) -> Option<Action> {
        self.next_actions(r).into_iter().next()
    }

    /// What a job can do now: one step, or all its validators' commits (or reveals) at once.
    pub fn next_actions(&self, r: &Rec) -> Vec<Action> {
        if r.finished || r.cancelled || r.poster == Address::ZERO {
            return vec![];
        }
        if r.release {
            return self.release(r);
        }
        let Some(_) = r.onchain else {
            return vec![Action::Create];
        };
        if r.cancel_seen && !r.assigned {
            return vec![Action::Cancel];
        }
        if r.assigned && !r.applied {
            return r.agent.map(|_| Action::Apply).into_iter().collect();
        }
        if r.submit_seen && r.applied && !r.submitted {
            return vec![Action::Submit];
        }
        if !r.submitted {
            return vec![];
        }
        let Some(committee) = &r.committee else {
            return vec![Action::Select];
        };
        let commits: Vec<Action> = r
            .votes
            .iter()
            .filter(|(v, (_, _, sent))| !sent && committee.contains(v))
            .map(|(v, _)| Action::Commit(*v))
            .collect();
        if !commits.is_empty() {
            return commits;
        }
        if self.chain_now > r.selected_at + self.windows.commit_s {
            let reveals: Vec<Action> = r
                .reveal_wanted
                .iter()
                .filter(|v| r.reveal_pending(v))
                .map(|v| Action::Reveal(*v))
                .collect();
            if !reveals.is_empty() {
                return reveals;
            }
        }
        if self.ready_to_finish(r) {
            return match r.finish_wait {
                Some((at, _)) if self.chain_now < at => vec![],
                Some((_, force)) => vec![Action::Finish { force }],
                None => vec![Action::Finish { force: false }],
            };
        }
        vec![]
    }

    /// A job failed before `submit`: released once it is on chain and, when an agent applied,
    /// once its deadline (`finish_wait`) has passed.
    fn release(&self, r: &Rec) -> Vec<Action> {
        match r.finish_wait {
            _ if r.onchain.is_none() && r.recreate => vec![Action::Create],
            _ if r.onchain.is_none() => vec![],
            Some((at, _)) if self.chain_now < at => vec![],
            _ => vec![Action::Release],
        }
    }

    /// The engine's reveal phase is over (or everyone on chain revealed) and nothing is pending.
    pub fn ready_to_finish(&self, r: &Rec) -> bool {
        let pending_reveals = r.reveal_wanted.iter().any(|v| r.reveal_pending(v));
        let everyone = r
            .committee
            .as_ref()
            .is_some_and(|c| c.iter().all(|v| r.revealed.contains(v)));
        let engine_done = r.engine_done
            || (r.offchain_reveal_deadline_ms > 0 && self.now_ms >= r.offchain_reveal_deadline_ms);
        let committed_settled = r
            .votes
            .iter()
            .filter(|(_, x)| x.2)
            .all(|(v, _)| r.revealed.contains(v) || !r.reveal_wanted.contains(v));
        !pending_reveals && (everyone || (engine_done && committed_settled))
    }

    /// The chain time a job waits for (devnet warps to it; elsewhere we wait).
    pub fn time_needed(&self, r: &Rec) -> Option<u64> {
        if r.finished || r.committee.is_none() || r.busy > 0 {
            return None;
        }
        let commit_deadline = r.selected_at + self.windows.commit_s;
        let now = self.chain_now;
        if let Some((at, _)) = r.finish_wait {
            return (now < at).then_some(at);
        }
        let wants_reveal = r.reveal_wanted.iter().any(|v| r.reveal_pending(v));
        (wants_reveal && now <= commit_deadline).then_some(commit_deadline + 1)
    }

    /// How far the clock may move: no window a job still needs, or one a vote within a reorg's
    /// reach was sent in, closes before it.
    pub fn time_limit(&self, recs: &BTreeMap<JobId, Rec>) -> u64 {
        let holds = recs.values().filter_map(|r| self.vote_hold(r));
        holds
            .map(|(close, _)| close)
            .fold(self.window_limit(recs), u64::min)
    }

    /// Jobs still expecting commits must keep their commit window: time may not jump past it.
    fn window_limit(&self, recs: &BTreeMap<JobId, Rec>) -> u64 {
        let mut limit = u64::MAX;
        for r in recs.values().filter(|r| !r.finished && !r.detached) {
            // A selection in flight may have been mined already: its window opened then at
            // the earliest, and its commits are on their way.
            if let Some(sent_at) = r.selecting_since {
                limit = limit.min(sent_at + self.windows.commit_s);
            }
            if let Some(c) = &r.committee {
                let commit_deadline = r.selected_at + self.windows.commit_s;
                // Only a live engine round holds the clock: a job whose round has not started (its
                // engine state is behind, e.g. after a restart) must not stall every other job.
                // A round the engine is about to start (its committee was just chosen) holds the
                // clock too, for a few engine seconds: else another job's warp can close its
                // commit window before the engine's first commit arrives. While the run drains the
                // engine's clock stands still: that grace would never end, and a job that only
                // waits for time (a dispute window) would be left undone.
                let round_due = !self.draining
                    && r.offchain_commit_deadline_ms <= r.selected_engine_ms
                    && self.now_ms < r.selected_engine_ms + ROUND_START_GRACE_MS;
                let expecting = round_due
                    || self.now_ms < r.offchain_commit_deadline_ms
                    || r.votes.iter().any(|(v, x)| !x.2 && c.contains(v));
                if expecting {
                    limit = limit.min(commit_deadline);
                }
                let reveal_deadline = commit_deadline + self.windows.reveal_s;
                // Only a reveal that can still be sent holds the clock: one whose commit missed
                // its window (the engine wants it all the same after a restart) never comes, and
                // its job waiting past this deadline to close validation held time for ever.
                if r.reveal_wanted.iter().any(|v| r.reveal_pending(v)) {
                    limit = limit.min(reveal_deadline);
                }
            }
        }
        limit
    }

    /// Devnet: a job whose latest commit or reveal is still within a reorg's reach holds the
    /// clock before the window it was sent in closes. A reorg does not take the clock back, so a
    /// vote it took must find its window open when it is sent again (else the chain's verdict
    /// differs from the engine's). Returns that window's close and the head block the hold lasts
    /// until (0: not known yet).
    pub fn vote_hold(&self, r: &Rec) -> Option<(u64, u64)> {
        let deep_at = r.votes_deep_at?;
        if r.detached || r.selected_at == 0 || (deep_at != 0 && self.head >= deep_at) {
            return None;
        }
        let commit_close = r.selected_at + self.windows.commit_s;
        let reveal_close = commit_close + self.windows.reveal_s;
        let close = [commit_close, reveal_close]
            .into_iter()
            .find(|close| self.chain_now < *close)?;
        Some((close, deep_at))
    }

    /// Devnet: the blocks to mine so that the clock may move: non-zero when the jump that jobs
    /// wait for is held only by votes not yet deep enough (blocks come only with transactions
    /// there, so an idle chain would hold them for ever).
    pub fn blocks_to_deepen(&self, recs: &BTreeMap<JobId, Rec>) -> u64 {
        let Some(target) = recs.values().filter_map(|r| self.time_needed(r)).min() else {
            return 0;
        };
        if self.warp_target(recs).is_some() || target <= self.chain_now {
            return 0;
        }
        if target + CLOCK_SLACK_S >= self.window_limit(recs) {
            return 0; // held by a window still in use, which depth does not release
        }
        recs.values()
            .filter_map(|r| self.vote_hold(r))
            .filter(|(close, _)| target + CLOCK_SLACK_S >= *close)
            .map(|(_, deep_at)| deep_at.saturating_sub(self.head))
            .max()
            .unwrap_or(0)
    }

    /// Devnet: the chain time to jump to now, if any: the earliest a job waits for, when no other
    /// job's window would close by it, `CLOCK_SLACK_S` included.
    pub fn warp_target(&self, recs: &BTreeMap<JobId, Rec>) -> Option<u64> {
        let target = recs.values().filter_map(|r| self.time_needed(r)).min()?;
        let limit = self.time_limit(recs);
        (target > self.chain_now && target + CLOCK_SLACK_S < limit).then_some(target)
    }

    /// Nothing left that the mirror can send now (jobs waiting for the engine or for the chain
    /// clock carry on at the next start, from the journal).
    pub fn idle(&self, recs: &BTreeMap<JobId, Rec>) -> bool {
        recs.values().all(|r| {
            r.detached
                // A finished job is watched until its finish is `confirmations` deep.
                || (r.finished && r.watch_until.is_none())
                || r.cancelled
                || (r.watch_until.is_none()
                    && match self.next_action(r) {
                        None => true,
                        // Waiting for validators that only other jobs' progress frees.
                        Some(Action::Select) => self.selection_waits(),
                        Some(_) => false,
                    })
        })
    }

    /// The next actions of every job that is not busy; none while the mirror is paused.
    pub fn due(&self, recs: &BTreeMap<JobId, Rec>) -> Vec<(JobId, Action)> {
        if self.paused {
            return vec![];
        }
        let now = Instant::now();
        recs.iter()
            .filter(|(_, r)| r.busy == 0 && !r.detached)
            .filter(|(_, r)| r.retry_at.is_none_or(|at| now >= at))
            .flat_map(|(id, r)| self.next_actions(r).into_iter().map(|a| (*id, a)))
            .collect()
    }

    /// Whether `action` may start now: selections wait while validators are short, and only a
    /// few run at once (counted here until their outcome comes back).
    pub fn admit(&mut self, action: Action) -> bool {
        if let Action::Select = action {
            if self.selection_waits() || self.selecting >= SELECTS_IN_FLIGHT {
                return false;
            }
            self.selecting += 1;
        }
        true
    }
}

impl Schedule {
    /// An action of `job` is over (whatever its outcome).
    pub fn ended(&mut self, action: Action) {
        if let Action::Select = action {
            self.selecting -= 1;
        }
    }

    /// Applies an action's outcome to its job's record, the gate's view and the totals; returns
    /// the journal entry that makes it durable (to be written before the view is released, so
    /// the engine never gets ahead of the journal). `committee` holds the engine accounts of a
    /// selected committee.
    pub fn apply(
        &mut self,
        job: JobId,
        r: &mut Rec,
        outcome: Outcome,
        committee: Vec<AccountId>,
        view: &mut View,
        stats: &MirrorStats,
    ) -> Option<Entry> {
        use std::sync::atomic::Ordering::Relaxed;
        r.action_ended();
        let done = |step: String| Some(Entry::Done { job: job.0, step });
        match outcome {
            Outcome::Created(id) => {
                r.onchain = Some(id);
                r.recreate = false;
                view.created.insert(job);
                stats.created.fetch_add(1, Relaxed);
                Some(Entry::Created {
                    job: job.0,
                    onchain: id,
                })
            }
            Outcome::Applied => {
                r.applied = true;
                view.applied.insert(job);
                done(format!("apply:{}", r.agent.unwrap_or_default()))
            }
            Outcome::Submitted => {
                r.submitted = true;
                done("submit".into())
            }
            Outcome::Selected(members, at) => {
                self.select_wait_said = None; // a later wait is news again
                view.committees.insert(job, committee);
                r.committee = Some(members);
                if r.selected_at != 0 {
                    return None;
                }
                r.selected_at = at;
                r.selected_engine_ms = self.now_ms;
                done(format!("select:{at}"))
            }
            Outcome::Committed(v) => {
                if let Some(x) = r.votes.get_mut(&v) {
                    x.2 = true;
                }
                r.votes_deep_at = Some(0);
                done(format!("commit:{v}"))
            }
            Outcome::Revealed(v) => {
                r.revealed.insert(v);
                r.votes_deep_at = Some(0);
                done(format!("reveal:{v}"))
            }
            Outcome::Finished(success) => {
                self.select_blocked = None;
                r.finished = true;
                r.outcome = Some(success);
                r.engine_done = false;
                r.watch_until = Some(0); // watched until `confirmations` deep
                r.forget_at = None;
                view.finished.insert(job);
                view.outcomes.insert(job, success);
                stats.finalized.fetch_add(1, Relaxed);
                done(format!("finish:{success}"))
            }
            Outcome::Cancelled => {
                r.cancelled = true;
                done("cancel".into())
            }
            Outcome::Expired => {
                r.finished = true;
                r.outcome = Some(false);
                done("expire".into())
            }
            Outcome::Failed(reason) => {
                tracing::error!("chain mirror: job {job} detached from the chain: {reason}");
                r.detached = true;
                view.detached.insert(job);
                stats.detached.fetch_add(1, Relaxed);
                None
            }
            other => {
                self.hold(job, r, other);
                None
            }
        }
    }

    /// The outcomes that journal nothing: the job (or every job) waits for something.
    fn hold(&mut self, job: JobId, r: &mut Rec, outcome: Outcome) {
        match outcome {
            Outcome::Missed(v) => {
                self.select_blocked = None;
                tracing::info!("chain mirror: job {job}: {v}'s vote missed its window on chain");
                r.votes.remove(&v);
                r.reveal_wanted.remove(&v);
            }
            Outcome::CommitLost(v) => {
                tracing::warn!(
                    "chain mirror: job {job}: the chain lost {v}'s commit; committing again"
                );
                if let Some(vote) = r.votes.get_mut(&v) {
                    vote.2 = false;
                }
            }
            Outcome::WaitUntil(at, force) => r.finish_wait = Some((at, force)),
            Outcome::NotYetSelected { too_early: true } => r.select_tries += 1,
            Outcome::NotYetSelected { too_early: false } => {
                self.select_blocked = Some(Instant::now() + SELECT_RETRY);
                if self
                    .select_wait_said
                    .is_none_or(|at| at.elapsed() >= SAY_WAIT_EVERY)
                {
                    self.select_wait_said = Some(Instant::now());
                    tracing::warn!(
                        "chain mirror: job {job} waits for validators: the chain has too few \
                         eligible ones for a committee (staked above the minimum, allowlisted, \
                         stake not locked on other committees); retrying as jobs settle"
                    );
                }
            }
            Outcome::Unreachable(why) => {
                tracing::warn!("chain mirror: job {job}: {why}; retrying in {UNREACHABLE_RETRY:?}");
                r.retry_at = Some(Instant::now() + UNREACHABLE_RETRY);
            }
            Outcome::ChainPaused => {
                if !self.paused {
                    tracing::info!("chain mirror: the chain is paused; holding until it resumes");
                }
                self.paused = true;
                self.paused_by_chain = Some(Instant::now());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
