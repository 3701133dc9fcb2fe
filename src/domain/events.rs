//! Domain events: what happened, in order. Sinks (the JSON log, the chain mirror, the HTTP stream)
//! consume them; nothing in the domain depends on who listens.

use super::amount::Amount;
use super::commit_reveal::{Fault, Sealed};
use super::job::{JobId, Skills, Title};
use super::ledger::AccountId;
use super::sim::SimSnapshot;
use serde::{Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

/// An agent's or account's name, as the many events that carry it hold it.
///
/// Names are few (one per account) and are interned for the life of the process, so a name is a
/// plain reference: copying one costs nothing. (A shared counter, as in `Arc<str>`, was raised by
/// the cycle's thread and lowered by the log's for every event, and the counter's cache line went
/// back and forth between the two cores.)
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(&'static str);

impl Name {
    /// The name `text`, stored once per distinct text.
    pub fn intern(text: &str) -> Name {
        static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
        let mut names = NAMES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(&name) = names.get(text) {
            return Name(name);
        }
        let name: &'static str = Box::leak(text.into());
        names.insert(name);
        Name(name)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::intern(text)
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// Serialized as its fields only (the name travels beside it, as the log's `message`).
#[serde(untagged)]
pub enum DomainEvent {
    JobPosted {
        job: JobId,
        title: Title,
        poster: Name,
        reward: Amount,
        deadline_ms: u64,
        parent: Option<JobId>,
        skills: Skills,
        /// Where a job posted from outside came from (`chain:<id>` for a job adopted from chain).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external: Option<String>,
    },
    JobAssigned {
        job: JobId,
        agent: Name,
        stake: Amount,
    },
    AgentAllocation {
        job: JobId,
        agent: Name,
        energy: f64,
        compute: f64,
        cost: Amount,
    },
    DelegatedJob {
        parent: JobId,
        job: JobId,
        agent: Name,
        reward: Amount,
    },
    JobSubmitted {
        job: JobId,
        agent: Name,
        /// The hash of an external agent's result (None: simulated work).
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<alloy_primitives::B256>,
    },
    ValidationStarted {
        job: JobId,
        nonce: u32,
        committee: Vec<Name>,
        commit_deadline_ms: u64,
        reveal_deadline_ms: u64,
        /// Committee members who also did the job's work: only a committee someone else chose
        /// (the chain's) seats them. Empty otherwise, and then not written to the event log.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        conflicted: Vec<Name>,
    },
    ValidationCommitted {
        job: JobId,
        nonce: u32,
        validator: Name,
        commit_hash: alloy_primitives::B256,
        /// The validator's sealed vote, for its own on-chain signer only: never serialized.
        #[serde(skip)]
        sealed: Option<Sealed>,
    },
    ValidatorVote {
        job: JobId,
        nonce: u32,
        validator: Name,
        approve: bool,
        valid: bool,
    },
    JobCompleted {
        job: JobId,
        agent: Name,
        reward: Amount,
        burned: Amount,
        approvals: u32,
        rejections: u32,
    },
    JobFailed {
        job: JobId,
        agent: Option<Name>,
        reason: String,
        slashed: Amount,
    },
    JobError {
        job: JobId,
        agent: Name,
        reason: String,
    },
    JobCancelled {
        job: JobId,
        reason: String,
    },
    ValidatorSlashed {
        job: JobId,
        validator: Name,
        fault: Fault,
        amount: Amount,
    },
    SimulationUpdate {
        snapshot: SimSnapshot,
        energy_capacity: f64,
        compute_capacity: f64,
    },
    Paused {
        source: String,
    },
    Resumed {
        source: String,
    },
    ParameterChanged {
        name: String,
        old: String,
        new: String,
        source: String,
    },
}

impl DomainEvent {
    /// The event name used as `message` in the JSON-lines log (the spec's vocabulary).
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::JobPosted { .. } => "job_posted",
            DomainEvent::JobAssigned { .. } => "job_assigned",
            DomainEvent::AgentAllocation { .. } => "agent_allocation",
            DomainEvent::DelegatedJob { .. } => "delegated_job",
            DomainEvent::JobSubmitted { .. } => "job_submitted",
            DomainEvent::ValidationStarted { .. } => "validation_started",
            DomainEvent::ValidationCommitted { .. } => "validation_committed",
            DomainEvent::ValidatorVote { .. } => "validator_vote",
            DomainEvent::JobCompleted { .. } => "job_completed",
            DomainEvent::JobFailed { .. } => "job_failed",
            DomainEvent::JobError { .. } => "job_error",
            DomainEvent::JobCancelled { .. } => "job_cancelled",
            DomainEvent::ValidatorSlashed { .. } => "validator_slashed",
            DomainEvent::SimulationUpdate { .. } => "simulation_update",
            DomainEvent::Paused { .. } => "paused",
            DomainEvent::Resumed { .. } => "resumed",
            DomainEvent::ParameterChanged { .. } => "parameter_changed",
        }
    }

    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            DomainEvent::JobFailed { .. }
                | DomainEvent::JobError { .. }
                | DomainEvent::ValidatorSlashed { .. }
        )
    }

    /// The engine settled the job with this event: nothing more happens to it.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            DomainEvent::JobCompleted { .. }
                | DomainEvent::JobFailed { .. }
                | DomainEvent::JobCancelled { .. }
        )
    }

    pub fn job(&self) -> Option<JobId> {
        match self {
            DomainEvent::JobPosted { job, .. }
            | DomainEvent::JobAssigned { job, .. }
            | DomainEvent::AgentAllocation { job, .. }
            | DomainEvent::DelegatedJob { job, .. }
            | DomainEvent::JobSubmitted { job, .. }
            | DomainEvent::ValidationStarted { job, .. }
            | DomainEvent::ValidationCommitted { job, .. }
            | DomainEvent::ValidatorVote { job, .. }
            | DomainEvent::JobCompleted { job, .. }
            | DomainEvent::JobFailed { job, .. }
            | DomainEvent::JobError { job, .. }
            | DomainEvent::JobCancelled { job, .. }
            | DomainEvent::ValidatorSlashed { job, .. } => Some(*job),
            _ => None,
        }
    }
}

/// Steps of a job that an event sink may hold until it has durably confirmed the previous one
/// (the chain mirror holds assignment until the job exists on chain, and so on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Assign,
    Submit,
    Commit,
    Reveal,
    Settle,
}

/// Asked before a job takes a step; `true` lets it proceed now.
pub trait StepGate {
    fn allows(&self, job: JobId, step: Step) -> bool;
    /// The committee someone else chose for this job (the chain does, when mirrored).
    fn committee(&self, _job: JobId) -> Option<Vec<AccountId>> {
        None
    }
    /// The validation outcome someone else settled for this job (the chain, when mirrored):
    /// it wins over the engine's own tally, which a restart may have re-run with other votes.
    fn outcome(&self, _job: JobId) -> Option<bool> {
        None
    }
}

/// A gate that never holds anything (pure simulation).
pub struct OpenGate;

impl StepGate for OpenGate {
    fn allows(&self, _job: JobId, _step: Step) -> bool {
        true
    }
}

/// Inputs from outside the orchestrator: the steward's console, the chain, an API.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternalInput {
    Pause {
        source: String,
    },
    Resume {
        source: String,
    },
    SetParameter {
        name: String,
        value: f64,
        source: String,
    },
    PostJob {
        spec: super::job::JobSpec,
    },
    /// A job someone else posted (on chain, or as an A2A task): the steward fronts the escrow
    /// off chain, Omega's agents work it like any other. `reference` says where it came from
    /// (`chain:<id>` is adopted from the chain, anything else is created there by the mirror);
    /// without `skills` the job gets generated ones.
    AdoptJob {
        reference: String,
        title: String,
        reward: Amount,
        skills: Option<super::job::Skills>,
    },
    /// The poster of an adopted job (known by its `reference`) withdraws it: cancelled and
    /// refunded if no agent has taken it yet, refused otherwise.
    CancelJob {
        job: super::job::JobId,
        reference: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_stored_once_and_reads_and_serializes_as_its_text() {
        let a = Name::intern("SentinelValidator-2");
        let b = Name::from(String::from("SentinelValidator-2").as_str());
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_ne!(a, Name::intern("SentinelValidator-3"));
        assert_eq!(&*a, "SentinelValidator-2");
        assert_eq!(
            format!("{a} {a:?}"),
            "SentinelValidator-2 \"SentinelValidator-2\""
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"SentinelValidator-2\""
        );
    }
}
