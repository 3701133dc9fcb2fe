//! Work reports: progress, errors, submission for validation, and delegation of sub-jobs.

use super::World;
use crate::domain::agent::{Progress, SubJobRequest, WorkReport};
use crate::domain::amount::Amount;
use crate::domain::events::{DomainEvent, Step, StepGate};
use crate::domain::job::{JobId, JobOrigin, JobSpec, JobStatus};
use crate::domain::ledger::AccountId;
use crate::domain::sim::SimAction;

/// The most sub-jobs one answer may ask for.
pub const MAX_SUBJOBS: usize = 8;
/// How deep delegation goes: a sub-job of a sub-job of a sub-job (a job posted by anyone else
/// is at depth 0) may not delegate further.
pub const MAX_DELEGATION_DEPTH: usize = 3;

impl World {
    pub(super) fn apply_work(&mut self, agent: AccountId, report: WorkReport, gate: &dyn StepGate) {
        let id = report.job;
        let Some(job) = self.state.jobs.get(id) else {
            return;
        };
        if job.status != JobStatus::Active || job.assignee != Some(agent) {
            return;
        }
        if matches!(report.progress, Progress::Done { .. }) && !gate.allows(id, Step::Submit) {
            return; // held: the agent reports again next cycle
        }
        let (energy, compute) = (job.energy, job.compute);
        if self.state.jobs.record_work(id, agent).is_err() {
            return;
        }
        if report.delegate {
            self.delegate(id, agent);
        }
        // Sub-jobs asked for with a result are posted before it is submitted, all or none: a
        // request the rules refuse fails the job, with the reason.
        let progress = match report.progress {
            Progress::Done { .. } if !report.subjobs.is_empty() => {
                match self.delegate_requested(id, agent, report.subjobs) {
                    Ok(()) => report.progress,
                    Err(why) => Progress::Error {
                        reason: format!("{}: sub-jobs refused: {why}", self.name_of(agent)),
                    },
                }
            }
            progress => progress,
        };
        match progress {
            Progress::Working => {}
            Progress::Error { reason } => {
                self.events.push(DomainEvent::JobError {
                    job: id,
                    agent: self.name_of(agent),
                    reason: reason.clone(),
                });
                self.fail(
                    id,
                    JobStatus::Active,
                    format!("error in the work: {reason}"),
                );
            }
            Progress::Done { work_ok } => {
                self.sim.apply_action(&SimAction {
                    energy_delta: 0.1 * energy,
                    compute_delta: 0.05 * compute,
                    innovation_delta: report.innovation,
                });
                self.follow_simulation();
                if (self.state.jobs.submit(id, agent, work_ok, report.result)).is_ok() {
                    self.events.push(DomainEvent::JobSubmitted {
                        job: id,
                        agent: self.name_of(agent),
                        result: report.result,
                    });
                    self.start_round(id, gate);
                }
            }
        }
    }

    /// A sub-job for the parent's remaining skills, funded by the delegating agent.
    fn delegate(&mut self, parent: JobId, agent: AccountId) {
        let Some(p) = self.state.jobs.get(parent) else {
            return;
        };
        if p.skills.len() < 2 {
            return;
        }
        let spec = JobSpec {
            title: format!("{} (sub-job)", p.title).into(),
            reward: p.reward.mul_ratio(0.25),
            deadline_ms: p.deadline_ms,
            energy: p.energy * 0.5,
            compute: p.compute * 0.4,
            skills: p.skills[1..].to_vec().into(),
            poster: agent,
            parent: Some(parent),
            origin: JobOrigin::Local,
            input: None,
        };
        let _ = self.post_child(parent, agent, spec);
    }

    /// Posts a sub-job of `parent` that `agent` delegates (and funds).
    fn post_child(&mut self, parent: JobId, agent: AccountId, spec: JobSpec) -> Result<(), String> {
        let reward = spec.reward;
        let child = self.post_job(spec).map_err(|e| e.to_string())?;
        self.state.counters.delegated += 1;
        self.events.push(DomainEvent::DelegatedJob {
            parent,
            job: child,
            agent: self.name_of(agent),
            reward,
        });
        Ok(())
    }
}

impl World {
    /// Posts the sub-jobs `agent` asked for as children of `parent`, funded by `agent`: at most
    /// `MAX_SUBJOBS`, no deeper than `MAX_DELEGATION_DEPTH`, rewards together no more than the
    /// parent's, each needing only skills the workforce has, and the agent able to escrow them
    /// all (rewards plus burn fees). Each gets the parent's deadline and a share of its energy
    /// and compute budgets (half and 40 %, split evenly, as a simulated agent's sub-job).
    /// Nothing is posted unless all of them can be.
    fn delegate_requested(
        &mut self,
        parent: JobId,
        agent: AccountId,
        requests: Vec<SubJobRequest>,
    ) -> Result<(), String> {
        let p = self.state.jobs.get(parent).ok_or("the job is gone")?;
        let (deadline_ms, energy, compute) = (p.deadline_ms, p.energy, p.compute);
        let n = requests.len();
        if n > MAX_SUBJOBS {
            return Err(format!(
                "{n} sub-jobs asked for, at most {MAX_SUBJOBS} allowed"
            ));
        }
        if p.lineage.len() >= MAX_DELEGATION_DEPTH {
            return Err(format!(
                "job {parent} is at delegation depth {}, and sub-jobs go no deeper than {MAX_DELEGATION_DEPTH}",
                p.lineage.len()
            ));
        }
        let total = sum(requests.iter().map(|r| r.reward)).ok_or("the rewards overflow")?;
        if total > p.reward {
            return Err(format!(
                "the sub-jobs' rewards come to {total} tokens, more than the job's {}",
                p.reward
            ));
        }
        for r in &requests {
            self.check_subjob(r)?;
        }
        let ratio = self.state.params.burn_ratio;
        let fees = sum(requests.iter().map(|r| r.reward.mul_ratio(ratio)));
        let escrow = fees
            .and_then(|f| f.checked_add(total))
            .ok_or("the rewards overflow")?;
        let free = self.state.ledger.free(agent);
        if escrow > free {
            return Err(format!(
                "escrowing them takes {escrow} tokens (rewards and burn fees), and the agent has {free} free"
            ));
        }
        for r in requests {
            let spec = JobSpec {
                title: r.title.into(),
                reward: r.reward,
                deadline_ms,
                energy: energy * 0.5 / n as f64,
                compute: compute * 0.4 / n as f64,
                skills: r.skills.into(),
                poster: agent,
                parent: Some(parent),
                origin: JobOrigin::Local,
                input: r.input,
            };
            self.post_child(parent, agent, spec)?;
        }
        Ok(())
    }

    /// One sub-job's own rules: a title, a positive reward, skills the workforce has.
    fn check_subjob(&self, r: &SubJobRequest) -> Result<(), String> {
        if r.title.trim().is_empty() {
            return Err("a sub-job has no title".into());
        }
        if r.reward.is_zero() {
            return Err(format!("sub-job {:?} has no reward", r.title));
        }
        if r.skills.is_empty() {
            return Err(format!("sub-job {:?} needs at least one skill", r.title));
        }
        let held = |s: &String| self.agents.iter().any(|a| a.skills.contains(s));
        if let Some(unknown) = r.skills.iter().find(|s| !held(s)) {
            return Err(format!(
                "sub-job {:?} needs skill {unknown:?}, which no agent has",
                r.title
            ));
        }
        Ok(())
    }
}

/// The sum of `amounts`, if it does not overflow.
fn sum(mut amounts: impl Iterator<Item = Amount>) -> Option<Amount> {
    amounts.try_fold(Amount::ZERO, Amount::checked_add)
}
