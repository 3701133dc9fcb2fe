//! Validation rounds: drawing a committee, sealed commits, reveals, and closing a round by its
//! tally (slashing faulty validators) into completion or failure.

use super::World;
use crate::domain::agent::{RevealReply, Role};
use crate::domain::commit_reveal::{Phase, Round, SealedVote, Verdict};
use crate::domain::events::{DomainEvent, Step, StepGate};
use crate::domain::job::{JobId, JobStatus};
use crate::domain::ledger::AccountId;
use rand::seq::IndexedRandom;

impl World {
    /// Picks a committee by lot from bonded validators other than the worker, unless the gate
    /// supplies one (the chain chose it, and may have seated the worker: the chain's committee is
    /// followed whole, and the conflict of interest is recorded); waits while the gate holds the
    /// commit step.
    pub(super) fn start_round(&mut self, id: JobId, gate: &dyn StepGate) {
        if !gate.allows(id, Step::Commit) {
            return;
        }
        let Some(job) = self.state.jobs.get(id) else {
            return;
        };
        let worker = job.assignee;
        let Some(mut committee) = self.draw_committee(id, worker, gate) else {
            return; // not enough bonded validators now; tried again next cycle
        };
        let p = &self.state.params;
        committee.sort();
        let (commit_ms, reveal_ms, now) = (p.commit_phase_ms, p.reveal_phase_ms, self.state.now_ms);
        let names = committee.iter().map(|&v| self.name_of(v)).collect();
        let conflicted = committee
            .iter()
            .filter(|&&v| Some(v) == worker)
            .map(|&v| self.name_of(v))
            .collect();
        let job = self.state.jobs.get_mut(id).expect("checked above");
        job.validation_rounds += 1;
        let round = Round::new(job.validation_rounds, &committee, now, commit_ms, reveal_ms);
        self.events.push(DomainEvent::ValidationStarted {
            job: id,
            nonce: round.nonce,
            committee: names,
            commit_deadline_ms: round.commit_deadline_ms,
            reveal_deadline_ms: round.reveal_deadline_ms,
            conflicted,
        });
        job.round = Some(round);
    }

    /// A committee for job `id`: the gate's (the chain's) as it stands, else by lot from the
    /// bonded validators other than `worker`, if at least a quorum can sit.
    fn draw_committee(
        &mut self,
        id: JobId,
        worker: Option<AccountId>,
        gate: &dyn StepGate,
    ) -> Option<Vec<AccountId>> {
        if let Some(chosen) = gate.committee(id) {
            // The chain is the authority for an on-chain job: its committee sits even when it
            // holds the worker or validators the engine would not pick (a v2 committee is drawn
            // from the whole pool). Anything else waits for a quorum that never forms.
            return Some(chosen);
        }
        let p = &self.state.params;
        // A scratch list kept across rounds: one allocation less per round.
        let mut eligible = std::mem::take(&mut self.eligible);
        eligible.clear();
        eligible.extend(
            self.agents
                .iter()
                .filter(|a| a.role == Role::Validator && Some(a.id) != worker)
                .filter(|a| {
                    self.state.ledger.account(a.id).is_ok_and(|x| {
                        x.validator_stake >= p.min_validator_stake && !x.validator_stake.is_zero()
                    })
                })
                .map(|a| a.id),
        );
        let size = (p.committee_size as usize).min(eligible.len());
        let committee: Vec<AccountId> = if size < p.quorum as usize {
            Vec::new()
        } else {
            eligible
                .choose_multiple(&mut self.state.rng, size)
                .copied()
                .collect()
        };
        self.eligible = eligible;
        (committee.len() >= p.quorum as usize).then_some(committee)
    }

    pub(super) fn apply_commit(&mut self, validator: AccountId, vote: SealedVote) {
        let now = self.state.now_ms;
        let Some(round) = self.round_mut(vote.job(), vote.nonce()) else {
            return;
        };
        if round.commit_vote(validator, vote, now).is_ok() {
            let validator = self.name_of(validator);
            self.events.push(DomainEvent::ValidationCommitted {
                job: vote.job(),
                nonce: vote.nonce(),
                validator,
                commit_hash: vote.commitment(),
                sealed: Some(vote.sealed()),
            });
        }
    }

    pub(super) fn apply_reveal(&mut self, validator: AccountId, r: RevealReply) {
        let now = self.state.now_ms;
        let Some(round) = self.round_mut(r.job, r.nonce) else {
            return;
        };
        if let Ok(valid) = round.reveal(r.job, validator, r.approve, &r.salt, now) {
            let validator = self.name_of(validator);
            self.events.push(DomainEvent::ValidatorVote {
                job: r.job,
                nonce: r.nonce,
                validator,
                approve: r.approve,
                valid,
            });
        }
    }

    fn round_mut(&mut self, job: JobId, nonce: u32) -> Option<&mut Round> {
        let job = self.state.jobs.get_mut(job)?;
        if job.status != JobStatus::Validating {
            return None;
        }
        job.round.as_mut().filter(|r| r.nonce == nonce)
    }

    /// Closes rounds whose reveal phase is over (or fully revealed) and settles their jobs;
    /// starts rounds for submitted jobs that still lack a committee.
    pub fn advance_validation(&mut self, gate: &dyn StepGate) {
        let now = self.state.now_ms;
        let mut to_start = Vec::new();
        let mut to_close = Vec::new();
        for job in self.state.jobs.validating() {
            match &job.round {
                None => to_start.push(job.id),
                Some(r)
                    if r.phase(now) == Phase::Reveal
                        && (now >= r.reveal_deadline_ms || r.all_revealed()) =>
                {
                    to_close.push(job.id)
                }
                Some(_) => {}
            }
        }
        for id in to_start {
            self.start_round(id, gate);
        }
        for id in to_close {
            if gate.allows(id, Step::Settle) {
                self.close_round(id, gate.outcome(id));
            }
        }
    }

    /// Settles a round by its tally, or by `settled` when the chain already decided the job.
    fn close_round(&mut self, id: JobId, settled: Option<bool>) {
        let job = self.state.jobs.get(id).expect("listed");
        let round = job.round.as_ref().expect("listed with a round");
        let tally = round.tally(self.state.params.quorum);
        for &(validator, fault) in &tally.faults {
            let stake = self
                .state
                .ledger
                .account(validator)
                .map(|a| a.validator_stake)
                .unwrap_or_default();
            let amount = self
                .state
                .ledger
                .slash_validator(validator, stake.mul_ratio(self.state.params.penalty_ratio))
                .unwrap_or_default();
            self.state.counters.validator_slashes += 1;
            self.events.push(DomainEvent::ValidatorSlashed {
                job: id,
                validator: self.name_of(validator),
                fault,
                amount,
            });
        }
        let verdict = match (settled, tally.verdict) {
            (Some(true), _) => Verdict::Approved,
            (Some(false), Verdict::Approved) => Verdict::Rejected,
            (_, v) => v,
        };
        match verdict {
            Verdict::Approved => self.complete(id, tally.approvals, tally.rejections),
            Verdict::Rejected => self.fail(id, JobStatus::Validating, "rejected by validators"),
            Verdict::NoQuorum => self.fail(id, JobStatus::Validating, "validation quorum failed"),
        }
    }
}
