//! Work reports: progress, errors, submission for validation, and delegation of sub-jobs.

use super::World;
use crate::domain::agent::{Progress, WorkReport};
use crate::domain::events::{DomainEvent, Step, StepGate};
use crate::domain::job::{JobId, JobOrigin, JobSpec, JobStatus};
use crate::domain::ledger::AccountId;
use crate::domain::sim::SimAction;

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
        match report.progress {
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
        };
        let reward = spec.reward;
        if let Ok(child) = self.post_job(spec) {
            self.state.counters.delegated += 1;
            self.events.push(DomainEvent::DelegatedJob {
                parent,
                job: child,
                agent: self.name_of(agent),
                reward,
            });
        }
    }
}
