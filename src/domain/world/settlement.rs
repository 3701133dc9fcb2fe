//! How a job ends: completed and paid, failed and slashed, or cancelled and refunded; and the
//! sweep that ends jobs past their deadline.

use super::World;
use crate::domain::events::DomainEvent;
use crate::domain::job::{JobId, JobStatus};
use std::borrow::Cow;

impl World {
    /// Cancels pending jobs past their deadline and fails assigned jobs that ran out of time.
    pub fn sweep_deadlines(&mut self) {
        let now = self.state.now_ms;
        let mut overdue: Vec<(JobId, JobStatus)> = (self.state.jobs.overdue(now))
            .map(|j| (j.id, j.status))
            .collect();
        // Pending jobs first, then active ones, each by id.
        overdue.sort_by_key(|&(id, status)| (status as u8, id));
        for (id, status) in overdue {
            match status {
                JobStatus::Pending => self.cancel(id, "deadline passed before assignment"),
                JobStatus::Active => {
                    self.fail(id, JobStatus::Active, "deadline passed while assigned")
                }
                _ => {}
            }
        }
    }

    pub(super) fn cancel(&mut self, id: JobId, reason: &'static str) {
        if self.state.jobs.cancel(id, reason).is_ok() {
            self.pending_bits.remove(id);
            let _ = self.state.ledger.refund_escrow(id);
            self.state.counters.cancelled += 1;
            self.events.push(DomainEvent::JobCancelled {
                job: id,
                reason: reason.to_string(),
            });
        }
    }

    pub(super) fn complete(&mut self, id: JobId, approvals: u32, rejections: u32) {
        let job = self.state.jobs.get(id).expect("validating job exists");
        let (agent, reward, burn) = (
            job.assignee.expect("validating jobs are assigned"),
            job.reward,
            job.burn_fee,
        );
        self.state
            .ledger
            .pay_out(id, agent, reward, burn)
            .expect("escrow holds reward + burn fee");
        let _ = self.state.ledger.release_job_stake(id);
        self.state.resources.release(id);
        self.state
            .jobs
            .settle(id, JobStatus::Validating, true, "approved by validators")
            .expect("status checked");
        self.state.counters.completed += 1;
        self.unload(Some(agent));
        self.events.push(DomainEvent::JobCompleted {
            job: id,
            agent: self.name_of(agent),
            reward,
            burned: burn,
            approvals,
            rejections,
        });
    }

    /// Failure: slash `min(stake, reward × slash_ratio)` of this job's stake, refund the poster.
    pub(super) fn fail(
        &mut self,
        id: JobId,
        from: JobStatus,
        reason: impl Into<Cow<'static, str>>,
    ) {
        let reason = reason.into();
        let Some(job) = self.state.jobs.get(id) else {
            return;
        };
        if job.status != from {
            return;
        }
        let (agent, slash) = (
            job.assignee,
            job.reward.mul_ratio(self.state.params.slash_ratio),
        );
        let slashed = self
            .state
            .ledger
            .slash_job_stake(id, slash)
            .unwrap_or_default();
        let _ = self.state.ledger.refund_escrow(id);
        self.state.resources.release(id);
        self.state
            .jobs
            .settle(id, from, false, reason.clone())
            .expect("status checked");
        self.state.counters.failed += 1;
        if from != JobStatus::Pending {
            self.unload(agent);
        }
        let agent = agent.map(|a| self.name_of(a));
        self.events.push(DomainEvent::JobFailed {
            job: id,
            agent,
            reason: reason.into_owned(),
            slashed,
        });
    }
}
