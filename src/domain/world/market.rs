//! The market of one cycle: the messages each agent gets (job offers, work to continue, votes to
//! commit and reveal), the replies, and the bids that decide who takes each pending job.

use super::{OFFERS_PER_JOB, World};
use crate::domain::agent::{
    AgentReply, AgentTick, CommitRequest, JobBrief, Offer, RevealRequest, WorkItem,
};
use crate::domain::amount::Amount;
use crate::domain::commit_reveal::Phase;
use crate::domain::events::{DomainEvent, Step, StepGate};
use crate::domain::job::{Job, JobId, JobStatus};
use crate::domain::ledger::{AccountId, STEWARD};
use rand::Rng;

impl World {
    /// The per-agent messages for this cycle: offers, work to continue, committee seats, reveals.
    pub fn build_ticks(&mut self, gate: &dyn StepGate) -> Vec<AgentTick> {
        let mut ticks = self.fresh_ticks();
        let in_flight: u32 = self.load.iter().sum();
        let free_slots = self
            .state
            .params
            .max_concurrent_jobs
            .saturating_sub(in_flight) as usize;
        let now = self.state.now_ms;
        let mut offered = 0usize;
        // One walk over the live jobs in id order; each kind of message still lists its jobs in
        // id order, as if the statuses were visited one after the other.
        for job in self.state.jobs.live() {
            match job.status {
                JobStatus::Pending
                    if offered < free_slots * 2 && gate.allows(job.id, Step::Assign) =>
                {
                    offered += self.offer(job, &mut ticks) as usize;
                }
                JobStatus::Active => self.hand_back_work(job, &mut ticks),
                JobStatus::Validating => self.ask_for_votes(job, now, gate, &mut ticks),
                _ => {}
            }
        }
        ticks
    }

    /// Offers a pending job to a few eligible agents, starting at a different agent per job so
    /// that large workforces share the work without quadratic messaging. Whether anyone got it.
    fn offer(&self, job: &Job, ticks: &mut [AgentTick]) -> bool {
        let n = self.agents.len();
        let wanted = match self.pending_bits.get(job.id) {
            Some(&bits) => bits,
            None => self.skill_bits.of(&job.skills),
        };
        let mut sent = 0;
        let start = job.id.0 as usize % n;
        for i in (start..n).chain(0..start) {
            let agent = &self.agents[i];
            let found = self.skill_bits.matching(wanted, &job.skills, i, agent);
            let Some(skills) = found else {
                continue;
            };
            if self.load[agent.id.0 as usize] < agent.behaviour.max_parallel_jobs {
                ticks[i].offers.push(Offer {
                    job: job.id,
                    reward: job.reward,
                    energy: job.energy,
                    compute: job.compute,
                    skills,
                });
                sent += 1;
                if sent == OFFERS_PER_JOB {
                    break;
                }
            }
        }
        sent > 0
    }

    /// An active job goes back to its assignee, to be worked on further.
    fn hand_back_work(&self, job: &Job, ticks: &mut [AgentTick]) {
        if let Some(i) = job.assignee.and_then(|a| self.agent_index(a)) {
            ticks[i].work.push(WorkItem {
                job: job.id,
                work_done: job.work_done,
                energy: job.energy,
                compute: job.compute,
                skill_count: job.skills.len(),
                reward: job.reward,
                brief: self.agents[i].external.then(|| brief(job)),
            });
        }
    }

    /// A validating job's committee is asked to commit (in the commit phase) or reveal (in the
    /// reveal phase), each member that has not yet, as far as the gate allows.
    fn ask_for_votes(&self, job: &Job, now: u64, gate: &dyn StepGate, ticks: &mut [AgentTick]) {
        let Some(round) = &job.round else { return };
        for ballot in &round.ballots {
            let Some(i) = self.agent_index(ballot.validator) else {
                continue;
            };
            match round.phase(now) {
                Phase::Commit if ballot.commit.is_none() && gate.allows(job.id, Step::Commit) => {
                    ticks[i].commits.push(CommitRequest {
                        job: job.id,
                        nonce: round.nonce,
                        work_ok: job.quality_ok.unwrap_or(false),
                        brief: self.agents[i].external.then(|| brief(job)),
                    });
                }
                Phase::Reveal
                    if ballot.reveal.is_none()
                        && now < round.reveal_deadline_ms
                        && gate.allows(job.id, Step::Reveal) =>
                {
                    if let Some(s) = ballot.sealed {
                        ticks[i].reveals.push(RevealRequest {
                            job: job.id,
                            nonce: round.nonce,
                            approve: s.approve,
                            salt: s.salt,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// One empty tick per agent, seeded for this cycle (reusing last cycle's where given back).
    fn fresh_ticks(&mut self) -> Vec<AgentTick> {
        let mut ticks = std::mem::take(&mut self.spare_ticks);
        ticks.resize_with(self.agents.len(), AgentTick::default);
        for tick in &mut ticks {
            tick.cycle = self.state.cycle;
            tick.now_ms = self.state.now_ms;
            tick.seed = self.state.rng.random();
            tick.offers.clear();
            tick.work.clear();
            tick.commits.clear();
            tick.reveals.clear();
        }
        ticks
    }

    /// Ticks the agents are done with, for the next cycle's `build_ticks`.
    pub fn recycle_ticks(&mut self, ticks: Vec<AgentTick>) {
        self.spare_ticks = ticks;
    }

    /// Applies the agents' replies in agent order: work, commits, reveals, then assignments.
    pub fn apply_replies(&mut self, mut replies: Vec<AgentReply>, gate: &dyn StepGate) {
        replies.sort_by_key(|r| r.agent);
        let mut bids = self.start_bids();
        for reply in replies {
            self.apply_reply(reply, &mut bids, gate);
        }
        self.assign_from_bids(bids, gate);
    }

    /// Applies one agent's work reports, commits and reveals, and keeps its bids for
    /// `assign_from_bids`. Replies must come in agent order, as `apply_replies` sorts them.
    pub fn apply_reply(&mut self, reply: AgentReply, bids: &mut Bids, gate: &dyn StepGate) {
        if reply.cycle != self.state.cycle {
            return; // a stale reply from before a restart: never act on it
        }
        for report in reply.work {
            self.apply_work(reply.agent, report, gate);
        }
        for c in reply.commits {
            self.apply_commit(reply.agent, c);
        }
        for r in reply.reveals {
            self.apply_reveal(reply.agent, r);
        }
        let agent = reply.agent;
        bids.list
            .extend(reply.bids.into_iter().map(|b| (b.job, b.score, agent)));
    }

    /// Highest bid wins each job (ties to the lower agent id), within every limit.
    pub fn assign_from_bids(&mut self, mut bids: Bids, gate: &dyn StepGate) {
        let mut in_flight: u32 = self.load.iter().sum();
        let mut taken = None;
        for &(job, _score, agent) in bids.sort() {
            if in_flight >= self.state.params.max_concurrent_jobs {
                break;
            }
            let Some(i) = self.agent_index(agent) else {
                continue;
            };
            if taken == Some(job)
                || self.load[agent.0 as usize] >= self.agents[i].behaviour.max_parallel_jobs
            {
                continue;
            }
            if gate.allows(job, Step::Assign) && self.try_assign(job, agent) {
                taken = Some(job);
                in_flight += 1;
            }
        }
        bids.list.clear();
        self.spare_bids = bids;
    }

    /// An empty bid list for this cycle's replies (last cycle's, emptied: a busy cycle's list
    /// is large, and growing a fresh one every cycle showed up as page faults).
    pub fn start_bids(&mut self) -> Bids {
        std::mem::take(&mut self.spare_bids)
    }

    /// Stakes, allocates and assigns in one step, or changes nothing.
    fn try_assign(&mut self, id: JobId, agent: AccountId) -> bool {
        let Some(job) = self.state.jobs.get(id) else {
            return false;
        };
        if job.status != JobStatus::Pending {
            return false;
        }
        let stake = job
            .reward
            .mul_ratio(self.state.params.stake_ratio)
            .max(Amount::from_tokens(1.0));
        let Ok(allocation) = self
            .state
            .resources
            .check(id, agent, job.energy, job.compute)
        else {
            return false;
        };
        let needed = stake.checked_add(allocation.cost);
        if needed.is_none_or(|n| self.state.ledger.free(agent) < n) {
            return false;
        }
        self.state
            .ledger
            .lock_job_stake(id, agent, stake)
            .expect("balance checked");
        self.state
            .ledger
            .transfer(agent, STEWARD, allocation.cost)
            .expect("balance checked");
        self.state.resources.commit(id, allocation);
        self.state
            .jobs
            .assign(id, agent, stake)
            .expect("status checked");
        if let Some(slot) = self.load.get_mut(agent.0 as usize) {
            *slot += 1;
        }
        self.pending_bits.remove(id);
        let name = self.name_of(agent);
        self.events.push(DomainEvent::JobAssigned {
            job: id,
            agent: name,
            stake,
        });
        self.events.push(DomainEvent::AgentAllocation {
            job: id,
            agent: name,
            energy: allocation.energy,
            compute: allocation.compute,
            cost: allocation.cost,
        });
        true
    }
}

/// What an external agent is told about `job`.
fn brief(job: &Job) -> JobBrief {
    JobBrief {
        title: job.title.to_string(),
        skills: job.skills.to_vec(),
        reward: job.reward,
        deadline_ms: job.deadline_ms,
        parent: job.parent,
        result: job.result,
        work_ok: job.quality_ok.unwrap_or(false),
        input: job.input.clone(),
    }
}

/// The bids of one cycle's replies so far, gathered by `World::apply_reply`: (job, score, agent).
#[derive(Debug, Default)]
pub struct Bids {
    list: Vec<Bid>,
    /// Scratch space for `sort`, kept from cycle to cycle.
    sorted: Vec<Bid>,
    starts: Vec<usize>,
}

type Bid = (JobId, f64, AccountId);

/// The order bids are decided in: by job, best score first, then by agent. It is total, so any
/// sort gives the same sequence.
fn bid_order(a: &Bid, b: &Bid) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2))
}

impl Bids {
    /// The bids in `bid_order`. The jobs bid for are the pending ones, whose ids lie close
    /// together, so the bids are first spread into one bucket per job id (linear time) and
    /// only each job's few bids are compared; widely spread ids fall back to a plain sort.
    fn sort(&mut self) -> &[Bid] {
        let ids = self.list.iter().map(|b| b.0.0);
        let (Some(low), Some(high)) = (ids.clone().min(), ids.max()) else {
            return &[];
        };
        let span = (high - low) as usize + 1;
        if span > 4 * self.list.len() + 64 {
            self.list.sort_unstable_by(bid_order);
            return &self.list;
        }
        // starts[k]: where job `low + k`'s bids go in `sorted`.
        self.starts.clear();
        self.starts.resize(span + 1, 0);
        for bid in &self.list {
            self.starts[(bid.0.0 - low) as usize + 1] += 1;
        }
        for k in 1..=span {
            self.starts[k] += self.starts[k - 1];
        }
        self.sorted.clear();
        self.sorted
            .resize(self.list.len(), (JobId(0), 0.0, AccountId(0)));
        for &bid in &self.list {
            let start = &mut self.starts[(bid.0.0 - low) as usize];
            self.sorted[*start] = bid;
            *start += 1;
        }
        for job_bids in self.sorted.chunk_by_mut(|a, b| a.0 == b.0) {
            job_bids.sort_unstable_by(bid_order);
        }
        &self.sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Bids come out of `Bids::sort` exactly as a comparison sort puts them, whether their
        /// jobs' ids lie close together (bucketed) or far apart (the fallback), with tied scores.
        #[test]
        fn bucketed_bids_are_in_bid_order(
            bids in prop::collection::vec((0..40u64, 0..4u8, 0..6u32), 0..60),
            far in prop::option::of(1_000u64..1_000_000),
        ) {
            let mut list: Vec<Bid> = (bids.iter())
                .map(|&(job, score, agent)| (JobId(job), score as f64 / 2.0, AccountId(agent)))
                .collect();
            if let (Some(far), Some(first)) = (far, list.first_mut()) {
                first.0 = JobId(far);
            }
            let mut expected = list.clone();
            expected.sort_by(bid_order);
            let mut bids = Bids { list, ..Bids::default() };
            prop_assert_eq!(bids.sort(), &expected[..]);
        }
    }
}
