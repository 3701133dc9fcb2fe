//! Finality-aware re-driving. A reorg can take away steps the journal says are done; the chain is
//! the authority, so at every start, after every reorg the indexer sees, and once a finished job's
//! finish is `confirmations` deep, each job's journaled steps are compared with what the chain
//! holds now. A step the chain lost is reset in the job's record, and the scheduler sends it again
//! — even for a job the engine has settled — with the journal's vote and salt, never new ones.
//! Steps the chain still holds are never sent again.

use super::actions::{
    STATE_APPLIED, STATE_CANCELLED, STATE_COMPLETED, STATE_CREATED, STATE_FINALIZED, STATE_NONE,
    STATE_SUBMITTED,
};
use super::chain_io::{ChainReads, Votes};
use super::schedule::REORG_REACH_BLOCKS;
use super::state::{FINAL, Rec, View};
use super::worker::Worker;
use crate::chain::journal::Entry;
use crate::domain::job::JobId;
use alloy::primitives::Address;
use std::time::{Duration, Instant};

/// How often the mirror checks that the latest block it had a transaction mined in is still on
/// chain.
const MINED_CHECK_EVERY: Duration = Duration::from_millis(200);

/// A finished job is forgotten (its record dropped, `FINAL` journaled) only a reorg's reach
/// (`REORG_REACH_BLOCKS`) past the head at which its finish was found `confirmations` deep, and
/// `forget_after` later (30 s by default): older than anvil's last saved state (it saves every
/// 2 s), whatever `confirmations` says.
const FORGET_MARGIN_BLOCKS: u64 = REORG_REACH_BLOCKS;
/// How often the jobs waiting to be forgotten are looked at (one head read).
const FORGET_CHECK_EVERY: Duration = Duration::from_secs(1);

/// A re-created job gets at least this long on chain before its deadline (its old deadline may
/// have passed meanwhile).
const RECREATE_MIN_S: u64 = 86_400;

/// What the chain holds of one job now.
#[derive(Clone, Debug, Default)]
pub(super) struct Held {
    /// The v2 state; `STATE_NONE` when the job is not there (or the id now holds another job).
    pub state: u8,
    pub committee: Vec<Address>,
    pub votes: Votes,
    /// The chain's time now.
    pub chain_now: u64,
}

/// Reads what the chain holds of `r`'s on-chain job: the votes only while validation is open.
pub(super) async fn held<C: ChainReads>(chain: &C, r: &Rec, chain_now: u64) -> eyre::Result<Held> {
    let id = r.onchain.unwrap_or_default();
    let (mut state, spec_hash) = chain.job_record(id).await?;
    if spec_hash != r.spec_hash {
        state = STATE_NONE; // the id was taken by another job once ours was reorged away
    }
    let mut held = Held {
        state,
        chain_now,
        ..Default::default()
    };
    if state == STATE_SUBMITTED {
        held.committee = chain.committee(id).await?;
        if !held.committee.is_empty() {
            held.votes = chain.votes(id).await?;
        }
    }
    Ok(held)
}

/// Resets in `r` every journaled step the chain no longer holds; returns what comes back (empty
/// when the chain holds everything). A job with an action in flight is not looked at.
pub(super) fn reset_lost(r: &mut Rec, held: &Held) -> Vec<String> {
    let mut back = Vec::new();
    if r.onchain.is_none() || r.detached || r.busy > 0 {
        return back;
    }
    let s = held.state;
    if r.adopted && s == STATE_NONE {
        return back; // another employer's job: not ours to create again
    }
    if r.cancelled {
        if s == STATE_CREATED {
            r.cancelled = false;
            r.cancel_seen = true;
            back.push("cancel".into());
        } else if s == STATE_NONE {
            r.onchain = None; // never on chain now, and cancelled: nothing to mirror
        }
        return back;
    }
    if s == STATE_NONE {
        r.onchain = None;
        r.recreate = true;
        r.deadline_s = r.deadline_s.max(held.chain_now + RECREATE_MIN_S);
        back.push("created".into());
    }
    if r.release && r.finished && s == STATE_APPLIED {
        // Expired once (`cancelExpiredJob`), but the chain lost that: expire it again.
        r.finished = false;
        r.outcome = None;
        back.push("expired".into());
    }
    let lost = |done: bool, min: u8| done && (s < min || s == STATE_CANCELLED);
    if lost(r.applied, STATE_APPLIED) {
        r.applied = false;
        back.push("applied".into());
    }
    let was_submitted = r.submitted;
    if r.finished && !was_submitted && !back.is_empty() {
        // It failed in the engine before submission: its create and apply must still be on
        // chain (the chain job stays Applied until it expires); nothing comes after them.
        r.finished = false;
    }
    if lost(r.submitted, STATE_SUBMITTED) {
        r.submitted = false;
        r.submit_seen = true;
        back.push("submitted".into());
    }
    // Once validation closed on chain (completed, disputed, finalized), every vote step is held.
    let closed = (STATE_COMPLETED..=STATE_FINALIZED).contains(&s);
    if !closed {
        reset_validation(r, held, &mut back);
    }
    if r.finished && was_submitted && s != STATE_FINALIZED {
        r.finished = false;
        r.outcome = None;
        r.finish_wait = None;
        r.watch_until = None;
        r.forget_at = None;
        // Validation had closed once: it closes again as soon as the journal's reveals are back.
        r.engine_done = true;
        back.push("finalize".into());
    }
    back
}

/// The committee, commits and reveals of an open (or lost) validation round.
fn reset_validation(r: &mut Rec, held: &Held, back: &mut Vec<String>) {
    let selected = r.selected_at != 0 || r.committee.is_some();
    if selected && held.committee.is_empty() {
        // A new selection is journaled with its own time; its committee may differ, and only the
        // journaled votes of its members can be sent again.
        r.committee = None;
        r.selected_at = 0;
        r.finish_wait = None;
        back.push("committee selected".into());
    }
    let mut commits = 0;
    for (v, vote) in r.votes.iter_mut() {
        if vote.2 && !held.votes.committed.contains(v) && !held.votes.revealed.contains(v) {
            vote.2 = false;
            commits += 1;
        }
    }
    if commits > 0 {
        back.push(format!("{commits} commit(s)"));
    }
    let lost: Vec<Address> = r
        .revealed
        .iter()
        .filter(|v| !held.votes.revealed.contains(*v))
        .copied()
        .collect();
    if !lost.is_empty() {
        back.push(format!("{} reveal(s)", lost.len()));
    }
    for v in lost {
        r.revealed.remove(&v);
        r.reveal_wanted.insert(v);
    }
}

/// Tells the gate what a reset took back, so the engine waits for it again.
fn unpublish(view: &mut View, job: JobId, r: &Rec) {
    if r.onchain.is_none() {
        view.created.remove(&job);
    }
    if !r.applied {
        view.applied.remove(&job);
    }
    if r.committee.is_none() && r.selected_at == 0 {
        view.committees.remove(&job);
    }
    if !r.finished {
        view.finished.remove(&job);
        view.outcomes.remove(&job);
    }
}

impl Worker {
    /// Compares `jobs` with the chain and resets what it lost; returns the jobs it could not look
    /// at yet (an action in flight) or could not read (tried again later).
    pub(super) async fn redrive(&mut self, jobs: Vec<JobId>) -> Vec<JobId> {
        let mut later = Vec::new();
        for job in jobs {
            let Some(r) = self.state.recs.get(&job) else {
                continue;
            };
            if r.onchain.is_none() || r.detached {
                continue;
            }
            if r.busy > 0 {
                later.push(job);
                continue;
            }
            let held = match held(&self.chain, r, self.sched.chain_now).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!("chain mirror: job {job}: cannot read it on chain yet: {e:#}");
                    later.push(job);
                    continue;
                }
            };
            let r = self.state.recs.get_mut(&job).expect("listed");
            let was = r.onchain;
            let back = reset_lost(r, &held);
            if back.is_empty() {
                continue;
            }
            unpublish(&mut self.view.lock().expect("view"), job, r);
            tracing::warn!(
                "chain mirror: job {job} (on chain #{}): the chain lost {}; sending again",
                was.unwrap_or_default(),
                back.join(", ")
            );
        }
        later
    }

    /// Whether a reorg took a block one of our transactions was mined in: the blocks of the
    /// receipts since the last look, and the highest block found on chain then (a later reorg that
    /// took any of those took that one too). The indexer may miss a reorg of blocks it had not
    /// indexed yet; this does not. Looked at every `MINED_CHECK_EVERY`.
    pub(super) async fn lost_a_mined_block(&mut self) -> bool {
        if self
            .mined_checked
            .is_some_and(|at| at.elapsed() < MINED_CHECK_EVERY)
        {
            return false;
        }
        self.mined_checked = Some(Instant::now());
        self.unverified.extend(self.chain.hub.take_mined());
        self.unverified.extend(self.verified.take());
        self.unverified.sort();
        self.unverified.dedup();
        use alloy::providers::Provider;
        let provider = self.chain.hub.provider().clone();
        let mut lost = false;
        for (block, hash) in &self.unverified {
            match provider.get_block_by_number((*block).into()).await {
                Ok(Some(b)) if b.header.hash == *hash => {}
                Ok(_) => lost = true,
                Err(_) => return false, // looked at again next time
            }
        }
        if !lost {
            self.verified = self.unverified.last().copied();
        }
        self.unverified.clear();
        lost
    }

    /// Every job the journal knows on chain, to compare with the chain (at start, after a reorg).
    pub(super) fn journaled_jobs(&self) -> Vec<JobId> {
        self.state
            .recs
            .iter()
            .filter(|(_, r)| r.onchain.is_some() && !r.detached)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Finished jobs whose finish is now `confirmations` deep are looked at once more: the chain
    /// still holds them (they stop being watched) or not (re-driven). On the devnet, where blocks
    /// come only with transactions, a block is mined when watched jobs wait for depth alone.
    /// Then the final jobs whose time has come are forgotten.
    pub(super) async fn watch_finality(&mut self, idle: bool) -> eyre::Result<()> {
        let watching = self.state.recs.values().any(|r| r.watch_until.is_some());
        let forget_due = self
            .forget_checked
            .is_none_or(|at| at.elapsed() >= FORGET_CHECK_EVERY)
            && self.state.recs.values().any(|r| r.forget_at.is_some());
        if !watching && !forget_due {
            return Ok(());
        }
        let head = self.chain.head().await?;
        let depth = self.settings.confirmations;
        let mut deep = Vec::new();
        for (id, r) in self.state.recs.iter_mut() {
            match r.watch_until {
                Some(0) => r.watch_until = Some(head + depth),
                Some(until) if head >= until => deep.push(*id),
                _ => {}
            }
        }
        let later = self.redrive(deep.clone()).await;
        let forget_at = (
            head + FORGET_MARGIN_BLOCKS,
            Instant::now() + self.settings.forget_after,
        );
        for id in deep.iter().filter(|id| !later.contains(id)) {
            if let Some(r) = self.state.recs.get_mut(id)
                && r.finished
            {
                r.watch_until = None;
                r.forget_at = Some(forget_at);
            }
        }
        if forget_due {
            self.forget_checked = Some(Instant::now());
            self.forget_final(head)?;
        }
        let waiting = self.state.recs.values().any(|r| r.watch_until.is_some());
        if waiting && idle && self.settings.devnet && depth > 0 {
            self.chain.hub.mine(1).await?;
        }
        Ok(())
    }

    /// Forgets the final jobs (`Rec::is_final`) whose time has come, each journaled `FINAL`
    /// first, so a restart neither loads them nor compares them with the chain again.
    fn forget_final(&mut self, head: u64) -> eyre::Result<()> {
        let due = self.state.due_to_forget(head, Instant::now());
        for job in &due {
            self.journal.append(&Entry::Done {
                job: job.0,
                step: FINAL.into(),
            })?;
        }
        let mut view = self.view.lock().expect("view");
        for job in due {
            self.state.forget(job, &mut view);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "redrive_tests.rs"]
mod tests;
