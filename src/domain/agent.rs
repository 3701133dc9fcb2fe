//! Agents: who they are, and how each role decides what to bid on, how it works, and how it votes.
//!
//! Decisions are pure functions of a tick message and a seed, so agents can run as independent
//! tasks while the orchestrator stays deterministic.

use super::amount::Amount;
use super::commit_reveal::SealedVote;
use super::job::{Input, JobId};
use super::ledger::AccountId;
use alloy_primitives::B256;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// StrategicMetaSynth: takes broad jobs and delegates sub-jobs.
    Strategist,
    /// DysonEnergyArchitect: energy-heavy infrastructure work, slow and thorough.
    Energy,
    /// LiquidityIntelligence: quick finance work, picks the best reward per cost.
    Finance,
    /// SentinelValidator: sits on validation committees; also takes governance and audit work.
    Validator,
    /// An agent outside the process, reached over A2A, that works jobs but sits on no committee
    /// (an external validator has the `Validator` role). Its decisions are not this file's.
    External,
}

/// How an agent behaves; defaults differ by role.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Behaviour {
    pub work_cycles: u32,
    pub max_parallel_jobs: u32,
    /// Chance that work fails outright (`job_error`).
    pub error_rate: f64,
    /// Chance that submitted work is bad, which honest validators reject.
    pub bad_work_rate: f64,
    /// Chance per job of delegating a sub-job (only jobs with more than one skill).
    pub delegation_probability: f64,
    /// Validators: chance of never revealing, and of voting against their own judgement.
    pub non_reveal_rate: f64,
    pub dishonest_rate: f64,
}

impl Role {
    pub fn behaviour(self) -> Behaviour {
        let base = Behaviour {
            work_cycles: 1,
            max_parallel_jobs: 2,
            error_rate: 0.02,
            bad_work_rate: 0.03,
            delegation_probability: 0.0,
            non_reveal_rate: 0.0,
            dishonest_rate: 0.0,
        };
        match self {
            Role::Strategist => Behaviour {
                work_cycles: 2,
                delegation_probability: 0.35,
                ..base
            },
            Role::Energy => Behaviour {
                work_cycles: 3,
                error_rate: 0.03,
                delegation_probability: 0.15,
                ..base
            },
            Role::Finance => Behaviour {
                bad_work_rate: 0.05,
                delegation_probability: 0.1,
                max_parallel_jobs: 3,
                ..base
            },
            Role::Validator => Behaviour {
                error_rate: 0.01,
                bad_work_rate: 0.01,
                non_reveal_rate: 0.02,
                dishonest_rate: 0.02,
                ..base
            },
            Role::External => base,
        }
    }

    pub fn validates(self) -> bool {
        self == Role::Validator
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AgentProfile {
    pub id: AccountId,
    pub name: String,
    pub role: Role,
    pub skills: Vec<String>,
    pub behaviour: Behaviour,
    /// Reached over A2A: its work and votes come from outside (the engine's external driver),
    /// so its ticks carry what the job is about (`JobBrief`).
    pub external: bool,
}

/// What an external agent is told about a job: enough to build the A2A task.
#[derive(Clone, Debug, PartialEq)]
pub struct JobBrief {
    pub title: String,
    pub skills: Vec<String>,
    pub reward: Amount,
    pub deadline_ms: u64,
    pub parent: Option<JobId>,
    /// The submitted result's hash, for a committee seat (None: no result to inspect).
    pub result: Option<B256>,
    /// The simulated quality of the work, which stands in when there is no result to inspect.
    pub work_ok: bool,
    /// The input data its poster gave, if any.
    pub input: Option<Input>,
}

/// A pending job offered to an agent.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub job: JobId,
    pub reward: Amount,
    pub energy: f64,
    pub compute: f64,
    pub skills: SkillMatch,
}

/// How a job's skills meet an agent's. The engine works it out when it makes the offer (it
/// has both at hand, as bit sets): the offer then carries three numbers, not the skill list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkillMatch {
    /// How many skills the job needs.
    pub needed: u32,
    /// How many of those the agent holds.
    pub held: u32,
    /// Whether one of them is governance (validators favour such work).
    pub governance: bool,
}

impl SkillMatch {
    /// The match of a job's skills against an agent's, by name.
    pub fn between(job: &[String], agent: &[String]) -> SkillMatch {
        SkillMatch {
            needed: job.len() as u32,
            held: job.iter().filter(|s| agent.contains(s)).count() as u32,
            governance: job.iter().any(|s| s == GOVERNANCE),
        }
    }
}

/// The skill validators favour when they bid.
pub const GOVERNANCE: &str = "governance";

/// A job the agent is working on.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkItem {
    pub job: JobId,
    pub work_done: u32,
    pub energy: f64,
    pub compute: f64,
    /// How many skills the job needs (more than one can be delegated).
    pub skill_count: usize,
    pub reward: Amount,
    /// Only for external agents.
    pub brief: Option<JobBrief>,
}

/// A committee seat: inspect the work and commit a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitRequest {
    pub job: JobId,
    pub nonce: u32,
    pub work_ok: bool,
    /// Only for external agents.
    pub brief: Option<JobBrief>,
}

/// Time to reveal what was committed (the secret is held for the validator across restarts).
#[derive(Clone, Debug, PartialEq)]
pub struct RevealRequest {
    pub job: JobId,
    pub nonce: u32,
    pub approve: bool,
    pub salt: B256,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentTick {
    pub cycle: u64,
    pub seed: u64,
    /// The engine's time of this cycle.
    pub now_ms: u64,
    pub offers: Vec<Offer>,
    pub work: Vec<WorkItem>,
    pub commits: Vec<CommitRequest>,
    pub reveals: Vec<RevealRequest>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bid {
    pub job: JobId,
    pub score: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    Working,
    Done { work_ok: bool },
    Error { reason: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkReport {
    pub job: JobId,
    pub progress: Progress,
    /// Post a sub-job for the rest of the skills.
    pub delegate: bool,
    pub innovation: f64,
    /// The hash of the result an external agent returned (what `submit` puts on chain).
    pub result: Option<B256>,
    /// Sub-jobs an external agent asked for with its result (none from simulated agents, which
    /// delegate by `delegate`).
    pub subjobs: Vec<SubJobRequest>,
}

/// A sub-job an external agent asks for: posted as a child of its job, funded by the agent
/// (the limits are `World`'s, in `work.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct SubJobRequest {
    pub title: String,
    pub skills: Vec<String>,
    pub reward: Amount,
    pub input: Option<Input>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RevealReply {
    pub job: JobId,
    pub nonce: u32,
    pub approve: bool,
    pub salt: B256,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentReply {
    pub agent: AccountId,
    pub cycle: u64,
    pub bids: Vec<Bid>,
    pub work: Vec<WorkReport>,
    /// Each vote with its commitment, hashed here, beside the agent (see `SealedVote`).
    pub commits: Vec<SealedVote>,
    pub reveals: Vec<RevealReply>,
}

impl AgentProfile {
    /// The agent's whole decision for one cycle.
    pub fn decide(&self, tick: &AgentTick) -> AgentReply {
        let mut rng = ChaCha8Rng::seed_from_u64(tick.seed);
        AgentReply {
            agent: self.id,
            cycle: tick.cycle,
            bids: tick
                .offers
                .iter()
                .map(|o| Bid {
                    job: o.job,
                    score: self.score(o),
                })
                .collect(),
            work: tick
                .work
                .iter()
                .map(|w| self.work_on(w, &mut rng))
                .collect(),
            commits: tick
                .commits
                .iter()
                .map(|c| self.commit(c, &mut rng))
                .collect(),
            reveals: tick
                .reveals
                .iter()
                .filter_map(|r| self.reveal(r, &mut rng))
                .collect(),
        }
    }

    /// How much the agent wants a job; each role values different things.
    fn score(&self, o: &Offer) -> f64 {
        let overlap = f64::from(o.skills.held);
        let reward = o.reward.tokens();
        match self.role {
            Role::Strategist => overlap * 10.0 + f64::from(o.skills.needed) + reward / 1e9,
            Role::Energy => overlap * 10.0 + o.energy / 1e4,
            Role::Finance => {
                overlap * 10.0 + reward / (1.0 + o.energy * 0.05 + o.compute * 0.1) / 1e3
            }
            Role::Validator => overlap * 10.0 + if o.skills.governance { 5.0 } else { 0.0 },
            Role::External => overlap * 10.0,
        }
    }

    fn work_on(&self, w: &WorkItem, rng: &mut ChaCha8Rng) -> WorkReport {
        let b = &self.behaviour;
        let innovation = rng.random_range(0.0..0.02);
        let delegate =
            w.work_done == 0 && w.skill_count > 1 && rng.random_bool(b.delegation_probability);
        let progress = if w.work_done + 1 < b.work_cycles {
            Progress::Working
        } else if rng.random_bool(b.error_rate) {
            Progress::Error {
                reason: format!("{} hit an unrecoverable fault", self.name),
            }
        } else {
            Progress::Done {
                work_ok: !rng.random_bool(b.bad_work_rate),
            }
        };
        WorkReport {
            job: w.job,
            progress,
            delegate,
            innovation,
            result: None,
            subjobs: Vec::new(),
        }
    }

    fn commit(&self, c: &CommitRequest, rng: &mut ChaCha8Rng) -> SealedVote {
        let dishonest = rng.random_bool(self.behaviour.dishonest_rate);
        let approve = c.work_ok != dishonest;
        let salt = B256::from(rng.random::<[u8; 32]>());
        SealedVote::new(c.job, c.nonce, self.id, approve, salt)
    }

    /// Honest validators reveal exactly what they committed; some go silent.
    fn reveal(&self, r: &RevealRequest, rng: &mut ChaCha8Rng) -> Option<RevealReply> {
        if rng.random_bool(self.behaviour.non_reveal_rate) {
            return None;
        }
        Some(RevealReply {
            job: r.job,
            nonce: r.nonce,
            approve: r.approve,
            salt: r.salt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::commit_reveal::commit_hash;

    fn profile(role: Role) -> AgentProfile {
        AgentProfile {
            id: AccountId(1),
            name: "a".into(),
            role,
            skills: vec!["energy".into()],
            behaviour: role.behaviour(),
            external: false,
        }
    }

    fn offer(job: u64, energy: f64, skills: &[&str]) -> Offer {
        Offer {
            job: JobId(job),
            reward: Amount::from_tokens(1000.0),
            energy,
            compute: 10.0,
            skills: SkillMatch::between(
                &skills.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &profile(Role::Energy).skills, // every test profile has the same skills
            ),
        }
    }

    #[test]
    fn roles_value_jobs_differently() {
        let small = offer(1, 10.0, &["energy"]);
        let big = offer(2, 50_000.0, &["energy"]);
        let energy = profile(Role::Energy);
        assert!(
            energy.score(&big) > energy.score(&small),
            "the energy architect prefers energy-heavy work"
        );
        let finance = profile(Role::Finance);
        assert!(
            finance.score(&small) > finance.score(&big),
            "the finance agent prefers cheap work"
        );
    }

    #[test]
    fn decisions_are_deterministic_per_seed() {
        let p = profile(Role::Validator);
        let tick = AgentTick {
            cycle: 1,
            seed: 42,
            commits: vec![CommitRequest {
                job: JobId(1),
                nonce: 1,
                work_ok: true,
                brief: None,
            }],
            ..Default::default()
        };
        assert_eq!(p.decide(&tick), p.decide(&tick));
        let other = AgentTick {
            seed: 43,
            ..tick.clone()
        };
        assert_ne!(
            p.decide(&tick).commits[0].sealed().salt,
            p.decide(&other).commits[0].sealed().salt
        );
    }

    #[test]
    fn honest_commit_matches_its_reveal() {
        let mut p = profile(Role::Validator);
        p.behaviour.dishonest_rate = 0.0;
        let tick = AgentTick {
            seed: 7,
            commits: vec![CommitRequest {
                job: JobId(3),
                nonce: 1,
                work_ok: false,
                brief: None,
            }],
            ..Default::default()
        };
        let c = &p.decide(&tick).commits[0];
        let sealed = c.sealed();
        assert!(!sealed.approve, "honest validators reject bad work");
        assert_eq!(
            (c.job(), c.nonce(), c.commitment()),
            (
                JobId(3),
                1,
                commit_hash(JobId(3), 1, false, &sealed.salt, p.id)
            )
        );
    }
}
