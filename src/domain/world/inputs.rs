//! What arrives from outside the cycle (console, config file, chain): pause and resume, parameter
//! changes, external and adopted jobs; and posting a job, which every source of jobs goes through.

use super::{World, WorldError};
use crate::domain::events::{DomainEvent, ExternalInput};
use crate::domain::job::{JobId, JobOrigin, JobSpec, JobStatus};
use crate::domain::ledger::STEWARD;

/// Something the world was asked to do and would not (an input, a demo job, a config change at
/// restore), for the caller to report: the domain keeps no log.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("demo job {title:?} not posted: {error}")]
    DemoJob { title: String, error: WorldError },
    #[error("external job refused: {0}")]
    ExternalJob(WorldError),
    #[error("job {reference} not adopted: {error}")]
    Adoption {
        reference: String,
        error: WorldError,
    },
    /// A parameter change `by` a source (console, config, chain) that is invalid.
    #[error("parameter change from {by} refused: {reason}")]
    Parameter { by: String, reason: String },
    #[error("job {job} not cancelled: {reason}")]
    Cancel { job: JobId, reason: String },
}

/// Why a job withdrawn by its poster ended.
pub const CANCELLED_ON_REQUEST: &str = "cancelled by its poster before an agent took it";

impl World {
    /// Applies one input, or says why the rules refused it.
    pub fn apply_input(&mut self, input: ExternalInput) -> Result<(), Refusal> {
        match input {
            ExternalInput::Pause { source } => {
                if !self.state.paused {
                    self.state.paused = true;
                    self.events.push(DomainEvent::Paused { source });
                }
                Ok(())
            }
            ExternalInput::Resume { source } => {
                if self.state.paused {
                    self.state.paused = false;
                    self.events.push(DomainEvent::Resumed { source });
                }
                Ok(())
            }
            ExternalInput::SetParameter {
                name,
                value,
                source,
            } => self.set_parameter(&name, value, &source),
            ExternalInput::PostJob { spec } => match self.post_job(spec) {
                Ok(_) => Ok(()),
                Err(error) => Err(Refusal::ExternalJob(error)),
            },
            ExternalInput::AdoptJob {
                reference,
                title,
                reward,
                skills,
            } => {
                let g = self.state.params.generator.clone();
                let poster = self.richest_two().0;
                let generated = self.generated_job(&g, poster).0;
                let spec = JobSpec {
                    title: title.into(),
                    reward,
                    poster: STEWARD,
                    origin: JobOrigin::External {
                        reference: reference.clone(),
                    },
                    skills: skills.unwrap_or(generated.skills.clone()),
                    ..generated
                };
                match self.post_job(spec) {
                    Ok(_) => Ok(()),
                    Err(error) => Err(Refusal::Adoption { reference, error }),
                }
            }
            ExternalInput::CancelJob { job, reference } => self.withdraw(job, &reference),
        }
    }

    /// Cancels and refunds `job`, posted from `reference`, if no agent has taken it.
    fn withdraw(&mut self, job: JobId, reference: &str) -> Result<(), Refusal> {
        let refuse = |reason: String| Err(Refusal::Cancel { job, reason });
        let Some(j) = self.state.jobs.get(job) else {
            return refuse("there is no such job".into());
        };
        if !matches!(&j.origin, JobOrigin::External { reference: r } if r == reference) {
            return refuse(format!("it was not posted from {reference}"));
        }
        if j.status != JobStatus::Pending {
            return refuse(format!(
                "it is {}: only a job no agent has taken yet can be cancelled",
                j.status.name()
            ));
        }
        self.cancel(job, CANCELLED_ON_REQUEST);
        Ok(())
    }

    pub(super) fn set_parameter(
        &mut self,
        name: &str,
        value: f64,
        source: &str,
    ) -> Result<(), Refusal> {
        let old = (self.state.params.set(name, value)).map_err(|reason| Refusal::Parameter {
            by: source.to_string(),
            reason,
        })?;
        if old != value {
            self.state.resources.energy_ceiling = self.state.params.energy_ceiling;
            self.state.resources.compute_ceiling = self.state.params.compute_ceiling;
            self.follow_simulation();
            self.events.push(DomainEvent::ParameterChanged {
                name: name.to_string(),
                old: old.to_string(),
                new: value.to_string(),
                source: source.to_string(),
            });
        }
        Ok(())
    }

    /// Escrows reward + burn fee from the poster, then adds the job to the DAG.
    pub fn post_job(&mut self, spec: JobSpec) -> Result<JobId, WorldError> {
        self.post_job_with_bits(spec, None)
    }

    /// `post_job`, given the job's skills as bits when they are known already.
    pub(super) fn post_job_with_bits(
        &mut self,
        spec: JobSpec,
        bits: Option<u128>,
    ) -> Result<JobId, WorldError> {
        let id = self.state.jobs.next_id();
        let burn_fee = spec.reward.mul_ratio(self.state.params.burn_ratio);
        let escrow = spec
            .reward
            .checked_add(burn_fee)
            .ok_or_else(|| WorldError::Post("reward overflows".into()))?;
        self.state
            .ledger
            .escrow_reward(id, spec.poster, escrow)
            .map_err(|e| WorldError::Post(e.to_string()))?;
        let (title, poster, reward, parent, skills, deadline_ms) = (
            spec.title.clone(),
            spec.poster,
            spec.reward,
            spec.parent,
            spec.skills.clone(),
            spec.deadline_ms,
        );
        let external = match &spec.origin {
            JobOrigin::External { reference } => Some(reference.clone()),
            JobOrigin::Local => None,
        };
        if let Err(e) = self.state.jobs.post(spec, burn_fee, self.state.now_ms) {
            self.state
                .ledger
                .refund_escrow(id)
                .expect("escrow was just made");
            return Err(WorldError::Post(e.to_string()));
        }
        self.state.counters.posted += 1;
        let bits = bits.unwrap_or_else(|| self.skill_bits.of(&skills));
        self.pending_bits.insert(id, bits);
        let poster = self.name_of(poster);
        self.events.push(DomainEvent::JobPosted {
            job: id,
            title,
            poster,
            reward,
            deadline_ms,
            parent,
            skills,
            external,
        });
        Ok(id)
    }
}
