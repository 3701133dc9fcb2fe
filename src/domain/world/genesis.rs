//! Where a world comes from: genesis from a setup, restore from a checkpoint, and the events
//! that bring a listener attached later up to date.

use super::{ArchiveMark, Counters, MS_PER_HOUR, Refusal, World, WorldError, WorldState};
use super::{Bids, SkillBits};
use crate::domain::agent::AgentProfile;
use crate::domain::amount::Amount;
use crate::domain::commit_reveal::Round;
use crate::domain::events::{DomainEvent, Name};
use crate::domain::id_map::IdMap;
use crate::domain::job::{Job, JobBook, JobOrigin, JobSpec, JobStatus};
use crate::domain::ledger::{AccountId, Ledger, STEWARD};
use crate::domain::resources::{Allowance, ResourceManager};
use crate::domain::setup::{AgentSetup, WorldSetup};
use crate::domain::sim::{PlanetarySim, SyntheticEconomySim};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};

impl World {
    /// A fresh world: accounts, genesis mint, validator bonds, demo jobs; and the demo jobs it
    /// could not post.
    pub fn genesis(setup: &WorldSetup, seed: u64, now_ms: u64) -> (World, Vec<Refusal>) {
        let agents = setup.profiles();
        let mut ledger = Ledger::default();
        ledger.open("steward");
        for a in &agents {
            ledger.open(a.name.clone());
        }
        ledger
            .mint(STEWARD, Amount::from_tokens(setup.token_supply))
            .expect("steward exists");
        let allowances = grant(&mut ledger, &setup.agents);
        let pools = &setup.pools;
        let resources = ResourceManager {
            energy_ceiling: pools.energy_capacity,
            compute_ceiling: pools.compute_capacity,
            energy_capacity: pools.energy_capacity,
            compute_capacity: pools.compute_capacity,
            energy_used: 0.0,
            compute_used: 0.0,
            token_per_energy: pools.token_per_energy,
            token_per_compute: pools.token_per_compute,
            thermostat: pools.thermostat.clone(),
            allowances,
            allocations: Default::default(),
        };
        let sim = SyntheticEconomySim::new(setup.simulation);
        let state = WorldState {
            cycle: 0,
            now_ms,
            paused: false,
            applied_control_seq: 0,
            params: setup.params.clone(),
            jobs: JobBook::new(),
            ledger,
            resources,
            sim_kind: sim.kind().to_string(),
            sim: sim.save(),
            counters: Counters::default(),
            archive: ArchiveMark::default(),
            checkpoint_seq: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        };
        let mut world = World::assemble(state, agents, Box::new(sim));
        world.follow_simulation();
        let mut refused = Vec::new();
        for job in &setup.demo_jobs {
            let spec = JobSpec {
                title: job.title.as_str().into(),
                reward: Amount::from_tokens(job.reward),
                deadline_ms: now_ms + (job.deadline_hours * MS_PER_HOUR) as u64,
                energy: job.energy,
                compute: job.compute,
                skills: job.skills.clone().into(),
                poster: STEWARD,
                parent: None,
                origin: JobOrigin::Local,
                input: None,
            };
            if let Err(error) = world.post_job(spec) {
                refused.push(Refusal::DemoJob {
                    title: job.title.clone(),
                    error,
                });
            }
        }
        (world, refused)
    }

    fn assemble(state: WorldState, agents: Vec<AgentProfile>, sim: Box<dyn PlanetarySim>) -> World {
        let names = state
            .ledger
            .accounts()
            .iter()
            .map(|a| Name::from(a.name.as_str()))
            .collect();
        let skill_bits = SkillBits::new(&agents);
        let mut world = World {
            state,
            agents,
            sim,
            events: Vec::new(),
            load: Vec::new(),
            names,
            skill_bits,
            spare_bids: Bids::default(),
            spare_ticks: Vec::new(),
            eligible: Vec::new(),
            pending_bits: IdMap::new(),
            picks: HashMap::new(),
        };
        world.rebuild_load();
        world.pending_bits = (world.state.jobs.with_status(JobStatus::Pending))
            .map(|j| (j.id, world.skill_bits.of(&j.skills)))
            .collect();
        world
    }

    /// Rebuilds a world from a checkpoint, whose agents must be the setup's. The setup's
    /// governance values win over the checkpoint's, so owner changes made to the config while the
    /// orchestrator was down take effect; returns the world and the changes it refused.
    pub fn restore(
        setup: &WorldSetup,
        state: WorldState,
    ) -> Result<(World, Vec<Refusal>), WorldError> {
        let agents = setup.profiles();
        let names: Vec<&str> = state
            .ledger
            .accounts()
            .iter()
            .skip(1)
            .map(|a| a.name.as_str())
            .collect();
        let expected: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
        if names != expected {
            return Err(WorldError::AgentsChanged(format!(
                "checkpoint has {names:?}, config has {expected:?}"
            )));
        }
        if state.sim_kind != SyntheticEconomySim::KIND {
            return Err(WorldError::UnknownSim(state.sim_kind.clone()));
        }
        let sim = SyntheticEconomySim::new(
            serde_json::from_value(state.sim.clone()).map_err(WorldError::BadSim)?,
        );
        let mut world = World::assemble(state, agents, Box::new(sim));
        let changes = world.state.params.changes_to(&setup.params);
        let refused = (changes.into_iter())
            .filter_map(|(name, value)| world.set_parameter(name, value, "config").err())
            .collect();
        world.follow_simulation();
        Ok((world, refused))
    }

    /// Jobs interrupted by a stop are taken up again: active work restarts, validation rounds
    /// start afresh. Returns (re-dispatched, re-validated).
    pub fn recover_interrupted(&mut self) -> (usize, usize) {
        let (mut redispatched, mut revalidated) = (0, 0);
        for id in self.state.jobs.ids_with(JobStatus::Active) {
            self.state.jobs.get_mut(id).expect("listed").work_done = 0;
            redispatched += 1;
        }
        for id in self.state.jobs.ids_with(JobStatus::Validating) {
            self.state.jobs.get_mut(id).expect("listed").round = None;
            revalidated += 1;
        }
        (redispatched, revalidated)
    }

    /// The events that bring a listener attached now up to date with every live job: how it was
    /// posted, who took it, whether it was submitted, and its validation round so far. A sink that
    /// lost what it was told before a crash learns it again from these.
    pub fn catch_up_events(&self) -> Vec<DomainEvent> {
        let mut out = Vec::new();
        for job in self.state.jobs.iter().filter(|j| !j.status.is_terminal()) {
            out.push(DomainEvent::JobPosted {
                job: job.id,
                title: job.title.clone(),
                poster: self.name_of(job.poster),
                reward: job.reward,
                deadline_ms: job.deadline_ms,
                parent: job.parent,
                skills: job.skills.clone(),
                external: match &job.origin {
                    JobOrigin::External { reference } => Some(reference.clone()),
                    JobOrigin::Local => None,
                },
            });
            let Some(agent) = job.assignee.map(|a| self.name_of(a)) else {
                continue;
            };
            out.push(DomainEvent::JobAssigned {
                job: job.id,
                agent,
                stake: job.stake,
            });
            if job.status != JobStatus::Validating {
                continue;
            }
            out.push(DomainEvent::JobSubmitted {
                job: job.id,
                agent,
                result: job.result,
            });
            if let Some(round) = &job.round {
                self.round_events(job, round, &mut out);
            }
        }
        out
    }

    fn round_events(&self, job: &Job, round: &Round, out: &mut Vec<DomainEvent>) {
        let names = |keep: &dyn Fn(AccountId) -> bool| {
            round
                .ballots
                .iter()
                .filter(|b| keep(b.validator))
                .map(|b| self.name_of(b.validator))
                .collect()
        };
        out.push(DomainEvent::ValidationStarted {
            job: job.id,
            nonce: round.nonce,
            committee: names(&|_| true),
            commit_deadline_ms: round.commit_deadline_ms,
            reveal_deadline_ms: round.reveal_deadline_ms,
            conflicted: names(&|v| Some(v) == job.assignee),
        });
        let job = job.id;
        for b in &round.ballots {
            if let Some(commit_hash) = b.commit {
                out.push(DomainEvent::ValidationCommitted {
                    job,
                    nonce: round.nonce,
                    validator: self.name_of(b.validator),
                    commit_hash,
                    sealed: b.sealed,
                });
            }
            if let Some(reveal) = b.reveal {
                out.push(DomainEvent::ValidatorVote {
                    job,
                    nonce: round.nonce,
                    validator: self.name_of(b.validator),
                    approve: reveal.approve,
                    valid: reveal.valid,
                });
            }
        }
    }
}

/// Each agent's genesis grant (twice its stake, out of the steward's supply) and validator bond;
/// returns the agents' resource allowances.
fn grant(ledger: &mut Ledger, agents: &[AgentSetup]) -> BTreeMap<AccountId, Allowance> {
    let mut allowances = BTreeMap::new();
    for agent in agents {
        let id = agent.profile.id;
        let stake = Amount::from_tokens(agent.stake);
        // Genesis grants come out of the supply; a too-small supply simply funds fewer agents.
        let _ = ledger.transfer(STEWARD, id, stake.checked_add(stake).unwrap_or(stake));
        if agent.profile.role.validates() {
            let _ = ledger.stake_validator(id, stake);
        }
        allowances.insert(
            id,
            Allowance {
                energy_limit: agent.energy_allowance,
                compute_limit: agent.compute_allowance,
                energy_used: 0.0,
                compute_used: 0.0,
            },
        );
    }
    allowances
}
