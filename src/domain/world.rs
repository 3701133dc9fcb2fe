//! The world: every piece of orchestrator state, and the transitions of one cycle.
//!
//! Pure and synchronous: time arrives as a parameter, randomness from the seeded generator in the
//! state, agent decisions as reply messages. The engine drives it; checkpoints serialize `WorldState`.

use super::agent::{
    AgentProfile, AgentReply, AgentTick, CommitRequest, GOVERNANCE, Offer, Progress, RevealRequest,
    Role, SkillMatch, WorkItem,
};
use super::amount::Amount;
use super::commit_reveal::{Phase, Round, SealedVote, Verdict};
use super::events::{DomainEvent, ExternalInput, Name, Step, StepGate};
use super::governance::Params;
use super::id_map::IdMap;
use super::job::{JobBook, JobId, JobOrigin, JobSpec, JobStatus, Skills, Title};
use super::ledger::{AccountId, Ledger, STEWARD};
use super::resources::{Allowance, ResourceManager, ThermostatSettings};
use super::sim::{PlanetarySim, SimAction, SyntheticEconomySim};
use crate::config::Config;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

const MS_PER_HOUR: f64 = 3_600_000.0;
/// Agents a pending job is offered to per cycle.
const OFFERS_PER_JOB: usize = 3;

/// Running totals that survive archiving.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub posted: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub delegated: u64,
    pub validator_slashes: u64,
}

/// How much of the job archive belongs to this state (a restart truncates anything beyond it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMark {
    pub lines: u64,
    pub bytes: u64,
}

/// Everything a checkpoint holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldState {
    pub cycle: u64,
    pub now_ms: u64,
    pub paused: bool,
    /// The last steward control command applied (pause/resume from the console).
    pub applied_control_seq: u64,
    pub params: Params,
    pub jobs: JobBook,
    pub ledger: Ledger,
    pub resources: ResourceManager,
    pub sim_kind: String,
    pub sim: serde_json::Value,
    pub counters: Counters,
    pub archive: ArchiveMark,
    /// Checkpoints written so far: the strictly increasing index under which a checkpoint's hash
    /// is attested on chain.
    pub checkpoint_seq: u64,
    pub rng: ChaCha8Rng,
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("checkpoint does not match the configured agents: {0}")]
    AgentsChanged(String),
    #[error("unknown simulation type {0:?}")]
    UnknownSim(String),
    #[error("simulation state in checkpoint is invalid: {0}")]
    BadSim(serde_json::Error),
    #[error("cannot post job: {0}")]
    Post(String),
}

pub struct World {
    pub state: WorldState,
    pub agents: Vec<AgentProfile>,
    sim: Box<dyn PlanetarySim>,
    events: Vec<DomainEvent>,
    /// Jobs active or validating per account, rebuilt at the start of every cycle's dispatch and
    /// kept current through it (derived, never stored).
    load: Vec<u32>,
    /// Account names by id, shared with events.
    names: Vec<Name>,
    /// Who can take what: each agent's skills as bits (derived, never stored).
    skill_bits: SkillBits,
    /// The bid list of the last cycle, emptied, to be filled again (see `start_bids`).
    spare_bids: Bids,
    /// Last cycle's ticks, handed back after the exchange, to be emptied and filled again: their
    /// lists keep their capacity instead of growing from nothing every cycle.
    spare_ticks: Vec<AgentTick>,
    /// Scratch list of the validators who may sit on a committee (see `draw_committee`).
    eligible: Vec<AccountId>,
    /// Each pending job's skills as bits, worked out once when it is posted rather than every
    /// cycle it waits (derived, never stored).
    pending_bits: IdMap<u128>,
    /// The skills, title and skill bits of each skill pick a generated job has drawn, by agent
    /// and picked skill indices (see `generated_job`; derived, never stored).
    picks: HashMap<(AccountId, [u32; 3]), (Skills, Title, u128)>,
}

impl World {
    /// A fresh world from the config: accounts, genesis mint, validator bonds, demo jobs.
    pub fn genesis(config: &Config, seed: u64, now_ms: u64) -> World {
        let agents = profiles(config);
        let mut ledger = Ledger::default();
        ledger.open("steward");
        for a in &agents {
            ledger.open(a.name.clone());
        }
        ledger
            .mint(
                STEWARD,
                Amount::from_tokens(config.resource_manager.token_supply),
            )
            .expect("steward exists");
        let mut allowances = BTreeMap::new();
        for (profile, cfg) in agents.iter().zip(expanded(config)) {
            let stake = Amount::from_tokens(cfg.stake);
            // Genesis grants come out of the supply; a too-small supply simply funds fewer agents.
            let _ = ledger.transfer(
                STEWARD,
                profile.id,
                stake.checked_add(stake).unwrap_or(stake),
            );
            if profile.role.validates() {
                let _ = ledger.stake_validator(profile.id, stake);
            }
            allowances.insert(
                profile.id,
                Allowance {
                    energy_limit: cfg.energy_allowance,
                    compute_limit: cfg.compute_allowance,
                    energy_used: 0.0,
                    compute_used: 0.0,
                },
            );
        }
        let rm = &config.resource_manager;
        let resources = ResourceManager {
            energy_ceiling: rm.energy_capacity,
            compute_ceiling: rm.compute_capacity,
            energy_capacity: rm.energy_capacity,
            compute_capacity: rm.compute_capacity,
            energy_used: 0.0,
            compute_used: 0.0,
            token_per_energy: rm.token_per_energy,
            token_per_compute: rm.token_per_compute,
            thermostat: ThermostatSettings {
                threshold: rm.dynamic_inflation_threshold,
                multiplier: rm.scarcity_multiplier,
            },
            allowances,
            allocations: Default::default(),
        };
        let s = &config.simulation;
        let sim = SyntheticEconomySim::new(super::sim::SimSnapshot {
            energy: s.energy,
            compute: s.compute,
            gdp: s.gdp,
            innovation: s.innovation,
        });
        let state = WorldState {
            cycle: 0,
            now_ms,
            paused: false,
            applied_control_seq: 0,
            params: Params::from_config(config),
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
        for job in &config.jobs {
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
            };
            if let Err(e) = world.post_job(spec) {
                tracing::warn!("demo job {:?} not posted: {e}", job.title);
            }
        }
        world
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

    /// Rebuilds a world from a checkpoint. The config's governance values win over the
    /// checkpoint's, so owner changes made while the orchestrator was down take effect.
    pub fn restore(config: &Config, state: WorldState) -> Result<World, WorldError> {
        let agents = profiles(config);
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
        for (name, value) in world.state.params.changes_to(&Params::from_config(config)) {
            world.set_parameter(name, value, "config");
        }
        world.follow_simulation();
        Ok(world)
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
            out.push(DomainEvent::JobSubmitted { job: job.id, agent });
            if let Some(round) = &job.round {
                self.round_events(job.id, round, &mut out);
            }
        }
        out
    }

    fn round_events(&self, job: JobId, round: &Round, out: &mut Vec<DomainEvent>) {
        out.push(DomainEvent::ValidationStarted {
            job,
            nonce: round.nonce,
            committee: round
                .ballots
                .iter()
                .map(|b| self.name_of(b.validator))
                .collect(),
            commit_deadline_ms: round.commit_deadline_ms,
            reveal_deadline_ms: round.reveal_deadline_ms,
        });
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

    pub fn take_events(&mut self) -> Vec<DomainEvent> {
        self.take_events_into(Vec::new())
    }

    /// Takes the events so far and collects the next ones in `spare` (an emptied buffer handed
    /// back by a consumer), made room for as many as this time, so a busy cycle neither grows
    /// its buffer by doubling nor touches fresh memory for it.
    pub fn take_events_into(&mut self, mut spare: Vec<DomainEvent>) -> Vec<DomainEvent> {
        spare.clear();
        spare.reserve(self.events.len());
        std::mem::replace(&mut self.events, spare)
    }

    /// Jobs active or validating per account (by account id), as the cycle keeps count.
    pub fn load(&self) -> &[u32] {
        &self.load
    }

    pub fn paused(&self) -> bool {
        self.state.paused
    }

    pub fn sim(&self) -> &dyn PlanetarySim {
        self.sim.as_ref()
    }

    /// Refreshes the serialized simulation before a checkpoint.
    pub fn sync_sim_state(&mut self) {
        self.state.sim = self.sim.save();
    }

    pub fn name_of(&self, id: AccountId) -> Name {
        match self.names.get(id.0 as usize) {
            Some(&n) => n,
            None => Name::intern(&format!("account-{}", id.0)),
        }
    }

    pub fn apply_input(&mut self, input: ExternalInput) {
        match input {
            ExternalInput::Pause { source } => {
                if !self.state.paused {
                    self.state.paused = true;
                    self.events.push(DomainEvent::Paused { source });
                }
            }
            ExternalInput::Resume { source } => {
                if self.state.paused {
                    self.state.paused = false;
                    self.events.push(DomainEvent::Resumed { source });
                }
            }
            ExternalInput::SetParameter {
                name,
                value,
                source,
            } => self.set_parameter(&name, value, &source),
            ExternalInput::PostJob { spec } => {
                if let Err(e) = self.post_job(spec) {
                    tracing::warn!("external job refused: {e}");
                }
            }
            ExternalInput::AdoptJob {
                reference,
                title,
                reward,
            } => {
                let g = self.state.params.generator.clone();
                let poster = self.richest_two().0;
                let spec = JobSpec {
                    title: title.into(),
                    reward,
                    poster: STEWARD,
                    origin: JobOrigin::External {
                        reference: reference.clone(),
                    },
                    ..self.generated_job(&g, poster).0
                };
                if let Err(e) = self.post_job(spec) {
                    tracing::warn!("job {reference} not adopted: {e}");
                }
            }
        }
    }

    fn set_parameter(&mut self, name: &str, value: f64, source: &str) {
        match self.state.params.set(name, value) {
            Ok(old) if old != value => {
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
            Ok(_) => {}
            Err(e) => tracing::warn!("parameter change from {source} refused: {e}"),
        }
    }

    /// Escrows reward + burn fee from the poster, then adds the job to the DAG.
    pub fn post_job(&mut self, spec: JobSpec) -> Result<JobId, WorldError> {
        self.post_job_with_bits(spec, None)
    }

    /// `post_job`, given the job's skills as bits when they are known already.
    fn post_job_with_bits(
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

    /// Advances the clock; the simulation ticks by the elapsed hours and the pools follow it.
    pub fn advance_clock(&mut self, now_ms: u64) {
        let elapsed_h = now_ms.saturating_sub(self.state.now_ms) as f64 / MS_PER_HOUR;
        self.state.now_ms = now_ms.max(self.state.now_ms);
        if elapsed_h > 0.0 {
            self.sim.tick(elapsed_h);
            self.follow_simulation();
        }
    }

    fn follow_simulation(&mut self) {
        let snap = self.sim.snapshot();
        self.state
            .resources
            .follow_simulation(snap.energy, snap.compute);
    }

    pub fn simulation_update(&mut self) {
        let r = &self.state.resources;
        self.events.push(DomainEvent::SimulationUpdate {
            snapshot: self.sim.snapshot(),
            energy_capacity: r.energy_capacity,
            compute_capacity: r.compute_capacity,
        });
    }

    /// The job supply: generated jobs at the configured rate, scaled by the simulation's innovation,
    /// sized by what the planet has free, posted by whoever holds the most tokens.
    pub fn supply_jobs(&mut self) {
        let g = self.state.params.generator.clone();
        let pending = self.state.jobs.count(JobStatus::Pending) as u32;
        if g.rate_per_cycle <= 0.0 || pending >= g.max_pending {
            return;
        }
        let rate =
            g.rate_per_cycle * self.sim.snapshot().innovation / self.state.params.base_innovation;
        let mut n =
            rate.floor() as u32 + self.state.rng.random_bool(rate.fract().clamp(0.0, 1.0)) as u32;
        n = n.min(g.max_pending - pending);
        // Each job's escrow lowers only its poster's balance, so the richest account stays the
        // richest until it falls below the runner-up; only then is the ranking looked at again.
        let (mut richest, mut runner_up) = self.richest_two();
        for _ in 0..n {
            let (spec, bits) = self.generated_job(&g, richest);
            if self.post_job_with_bits(spec, Some(bits)).is_err() {
                break;
            }
            if runner_up.is_some_and(|r| self.outranks(r, richest)) {
                (richest, runner_up) = self.richest_two();
            }
        }
    }

    /// A generated job posted by `poster`, and its skills as bits.
    fn generated_job(
        &mut self,
        g: &crate::config::GeneratorConfig,
        poster: AccountId,
    ) -> (JobSpec, u128) {
        let free = self.state.ledger.free(poster);
        let reward = free
            .mul_ratio(g.reward_fraction)
            .max(Amount::from_tokens(g.min_reward))
            .min(Amount::from_tokens(g.max_reward));
        let agent = self
            .agents
            .choose(&mut self.state.rng)
            .expect("config has agents");
        let take = self.state.rng.random_range(1..=agent.skills.len().min(3));
        // The same draw as `choose_multiple`, as indices: the skills and title of each distinct
        // pick are made once and shared by every job that draws it.
        let picked = rand::seq::index::sample(&mut self.state.rng, agent.skills.len(), take);
        let mut key = [u32::MAX; 3];
        for (slot, i) in key.iter_mut().zip(picked.iter()) {
            *slot = i as u32;
        }
        let skill_bits = &self.skill_bits;
        let (skills, title, bits) = (self.picks.entry((agent.id, key)))
            .or_insert_with(|| {
                let skills: Skills = picked.iter().map(|i| agent.skills[i].clone()).collect();
                let title = format!("{} initiative", skills[0]).into();
                let bits = skill_bits.of(&skills);
                (skills, title, bits)
            })
            .clone();
        let r = &self.state.resources;
        let energy_room = if r.energy_capacity > 0.0 {
            r.energy_free() / r.energy_capacity
        } else {
            0.0
        };
        let compute_room = if r.compute_capacity > 0.0 {
            r.compute_free() / r.compute_capacity
        } else {
            0.0
        };
        let energy = (g.max_energy * self.state.rng.random_range(0.2..1.0) * energy_room).round();
        let compute =
            (g.max_compute * self.state.rng.random_range(0.2..1.0) * compute_room).round();
        let spec = JobSpec {
            title,
            reward,
            deadline_ms: self.state.now_ms + (g.deadline_hours * MS_PER_HOUR) as u64,
            energy,
            compute,
            skills,
            poster,
            parent: None,
            origin: JobOrigin::Local,
        };
        (spec, bits)
    }

    /// The account with the most free tokens (ties to the lowest id), and the next one.
    fn richest_two(&self) -> (AccountId, Option<AccountId>) {
        let mut ranked = (0..self.state.ledger.accounts().len()).map(|i| AccountId(i as u32));
        let mut best = ranked.next().unwrap_or(STEWARD);
        let mut second = None;
        for id in ranked {
            if self.outranks(id, best) {
                second = Some(best);
                best = id;
            } else if second.is_none_or(|s| self.outranks(id, s)) {
                second = Some(id);
            }
        }
        (best, second)
    }

    /// Whether `a` holds more free tokens than `b`, or as many and has the lower id.
    fn outranks(&self, a: AccountId, b: AccountId) -> bool {
        let ledger = &self.state.ledger;
        (ledger.free(a), std::cmp::Reverse(a)) > (ledger.free(b), std::cmp::Reverse(b))
    }

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

    fn cancel(&mut self, id: JobId, reason: &'static str) {
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

    /// The per-agent messages for this cycle: offers, work to continue, committee seats, reveals.
    pub fn build_ticks(&mut self, gate: &dyn StepGate) -> Vec<AgentTick> {
        let mut ticks = self.fresh_ticks();
        let load = &self.load;
        let in_flight: u32 = load.iter().sum();
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
                    // Offer each job to a few eligible agents, starting at a different agent per
                    // job so that large workforces share the work without quadratic messaging.
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
                        if load[agent.id.0 as usize] < agent.behaviour.max_parallel_jobs {
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
                    offered += (sent > 0) as usize;
                }
                JobStatus::Active => {
                    if let Some(i) = job.assignee.and_then(|a| self.agent_index(a)) {
                        ticks[i].work.push(WorkItem {
                            job: job.id,
                            work_done: job.work_done,
                            energy: job.energy,
                            compute: job.compute,
                            skill_count: job.skills.len(),
                            reward: job.reward,
                        });
                    }
                }
                JobStatus::Validating => {
                    let Some(round) = &job.round else { continue };
                    for ballot in &round.ballots {
                        let Some(i) = self.agent_index(ballot.validator) else {
                            continue;
                        };
                        match round.phase(now) {
                            Phase::Commit
                                if ballot.commit.is_none() && gate.allows(job.id, Step::Commit) =>
                            {
                                ticks[i].commits.push(CommitRequest {
                                    job: job.id,
                                    nonce: round.nonce,
                                    work_ok: job.quality_ok.unwrap_or(false),
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
                _ => {}
            }
        }
        ticks
    }

    /// One empty tick per agent, seeded for this cycle (reusing last cycle's where given back).
    fn fresh_ticks(&mut self) -> Vec<AgentTick> {
        let mut ticks = std::mem::take(&mut self.spare_ticks);
        ticks.resize_with(self.agents.len(), AgentTick::default);
        for tick in &mut ticks {
            tick.cycle = self.state.cycle;
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

    fn apply_work(
        &mut self,
        agent: AccountId,
        report: super::agent::WorkReport,
        gate: &dyn StepGate,
    ) {
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
                if self.state.jobs.submit(id, agent, work_ok).is_ok() {
                    self.events.push(DomainEvent::JobSubmitted {
                        job: id,
                        agent: self.name_of(agent),
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

    /// Picks a committee by lot from bonded validators other than the worker, unless the gate
    /// supplies one (the chain chose it); waits while the gate holds the commit step.
    fn start_round(&mut self, id: JobId, gate: &dyn StepGate) {
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
        let job = self.state.jobs.get_mut(id).expect("checked above");
        job.validation_rounds += 1;
        let round = Round::new(job.validation_rounds, &committee, now, commit_ms, reveal_ms);
        self.events.push(DomainEvent::ValidationStarted {
            job: id,
            nonce: round.nonce,
            committee: names,
            commit_deadline_ms: round.commit_deadline_ms,
            reveal_deadline_ms: round.reveal_deadline_ms,
        });
        job.round = Some(round);
    }

    /// A committee for job `id` by lot from the bonded validators other than `worker` (or the
    /// gate's choice among them), if at least a quorum can sit.
    fn draw_committee(
        &mut self,
        id: JobId,
        worker: Option<AccountId>,
        gate: &dyn StepGate,
    ) -> Option<Vec<AccountId>> {
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
            match gate.committee(id) {
                Some(chosen) => chosen
                    .into_iter()
                    .filter(|v| eligible.contains(v))
                    .collect(),
                None => eligible
                    .choose_multiple(&mut self.state.rng, size)
                    .copied()
                    .collect(),
            }
        };
        self.eligible = eligible;
        (committee.len() >= p.quorum as usize).then_some(committee)
    }

    fn apply_commit(&mut self, validator: AccountId, vote: SealedVote) {
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

    fn apply_reveal(&mut self, validator: AccountId, r: super::agent::RevealReply) {
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

    fn complete(&mut self, id: JobId, approvals: u32, rejections: u32) {
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
    fn fail(&mut self, id: JobId, from: JobStatus, reason: impl Into<Cow<'static, str>>) {
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

    pub fn thermostat(&mut self) -> f64 {
        self.state.resources.thermostat()
    }

    pub fn end_cycle(&mut self) {
        self.state.cycle += 1;
    }

    /// Counts the jobs each account holds from scratch. The count is kept current as jobs are
    /// assigned and settled, so this runs only when the world is put together.
    fn rebuild_load(&mut self) {
        self.load.clear();
        self.load.resize(self.state.ledger.accounts().len(), 0);
        let jobs = &self.state.jobs;
        for job in jobs
            .with_status(JobStatus::Active)
            .chain(jobs.with_status(JobStatus::Validating))
        {
            if let Some(slot) = job.assignee.and_then(|a| self.load.get_mut(a.0 as usize)) {
                *slot += 1;
            }
        }
    }

    fn unload(&mut self, agent: Option<AccountId>) {
        if let Some(slot) = agent.and_then(|a| self.load.get_mut(a.0 as usize)) {
            *slot = slot.saturating_sub(1);
        }
    }

    fn agent_index(&self, id: AccountId) -> Option<usize> {
        // Agents are accounts 1..=n in order.
        let i = (id.0 as usize).checked_sub(1)?;
        (i < self.agents.len()).then_some(i)
    }

    /// One full cycle with agents answering in-process (tests and tools that need no bus).
    pub fn step_inline(&mut self, now_ms: u64, gate: &dyn StepGate) {
        if !self.paused() {
            self.advance_clock(now_ms);
            self.supply_jobs();
            self.sweep_deadlines();
            let ticks = self.build_ticks(gate);
            let replies = self
                .agents
                .iter()
                .zip(&ticks)
                .map(|(a, t)| a.decide(t))
                .collect();
            self.recycle_ticks(ticks);
            self.apply_replies(replies, gate);
            self.advance_validation(gate);
            self.thermostat();
        }
        self.end_cycle();
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

/// The skills agents hold, numbered, so that "does this agent have one of the skills this job
/// needs" is one AND of two bit sets instead of comparing strings. With more distinct skills
/// than bits, it falls back to comparing strings.
struct SkillBits {
    /// Bit number of each skill some agent holds; empty when there are too many to number.
    bit: HashMap<String, u32>,
    /// Each agent's skills as bits, by agent index.
    agents: Vec<u128>,
    /// The governance skill's bit (none if no agent holds it).
    governance: u128,
}

impl SkillBits {
    fn new(agents: &[AgentProfile]) -> SkillBits {
        let mut bit = HashMap::new();
        for skill in agents.iter().flat_map(|a| &a.skills) {
            let next = bit.len() as u32;
            bit.entry(skill.clone()).or_insert(next);
        }
        if bit.len() > u128::BITS as usize {
            bit.clear();
        }
        let mut bits = SkillBits {
            bit,
            agents: Vec::new(),
            governance: 0,
        };
        bits.agents = agents.iter().map(|a| bits.of(&a.skills)).collect();
        bits.governance = bits.of(&[GOVERNANCE.to_string()]);
        bits
    }

    /// The bits of `skills` (skills no agent holds have none).
    fn of(&self, skills: &[String]) -> u128 {
        skills
            .iter()
            .filter_map(|s| self.bit.get(s))
            .fold(0, |acc, b| acc | 1 << b)
    }

    /// How a job's skills (`wanted` = their bits) meet agent `index`'s; `None` if the agent
    /// holds none of them.
    fn matching(
        &self,
        wanted: u128,
        skills: &[String],
        index: usize,
        agent: &AgentProfile,
    ) -> Option<SkillMatch> {
        let needed = skills.len() as u32;
        let found = if !self.bit.is_empty() && wanted.count_ones() == needed {
            // Every skill of the job is numbered and none repeats: counting bits is counting
            // names.
            SkillMatch {
                needed,
                held: (wanted & self.agents[index]).count_ones(),
                governance: wanted & self.governance != 0,
            }
        } else {
            SkillMatch::between(skills, &agent.skills)
        };
        (found.held > 0).then_some(found)
    }
}

/// Config agents expanded by `count`, in order.
fn expanded(config: &Config) -> Vec<&crate::config::AgentConfig> {
    config
        .agents
        .iter()
        .flat_map(|a| std::iter::repeat_n(a, a.count as usize))
        .collect()
}

/// Agent profiles with account ids 1..=n.
pub fn profiles(config: &Config) -> Vec<AgentProfile> {
    let mut out = Vec::new();
    for a in &config.agents {
        for k in 1..=a.count {
            let name = if a.count > 1 {
                format!("{}-{k}", a.name)
            } else {
                a.name.clone()
            };
            let mut behaviour = a.role.behaviour();
            if let Some(n) = a.max_parallel_jobs {
                behaviour.max_parallel_jobs = n.max(1);
            }
            if let Some(rate) = a.bad_work_rate {
                behaviour.bad_work_rate = rate.clamp(0.0, 1.0);
            }
            if let Some(rate) = a.error_rate {
                behaviour.error_rate = rate.clamp(0.0, 1.0);
            }
            out.push(AgentProfile {
                id: AccountId(out.len() as u32 + 1),
                name,
                role: a.role,
                skills: a.skills.clone(),
                behaviour,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAMES: [&str; 6] = [
        "energy",
        "finance",
        "audit",
        GOVERNANCE,
        "unheld",
        "synthesis",
    ];

    fn names(picks: &[usize]) -> Vec<String> {
        picks.iter().map(|&i| NAMES[i].to_string()).collect()
    }

    proptest! {
        /// The two richest accounts are those a full ranking puts first, ties to the lower id.
        #[test]
        fn the_richest_two_head_the_full_ranking(
            moves in prop::collection::vec((0..8u32, 0..8u32, 0..3u128), 0..40),
        ) {
            let config: Config =
                serde_json::from_str(include_str!("../../config/default_config.json")).unwrap();
            let mut world = World::genesis(&config, 1, 0);
            for (from, to, tokens) in moves {
                let amount = world.state.ledger.free(AccountId(from)).mul_ratio(tokens as f64 / 2.0);
                let _ = world.state.ledger.transfer(AccountId(from), AccountId(to), amount);
            }
            let ledger = &world.state.ledger;
            let mut ranked: Vec<AccountId> =
                (0..ledger.accounts().len()).map(|i| AccountId(i as u32)).collect();
            ranked.sort_by_key(|&a| (std::cmp::Reverse(ledger.free(a)), a));
            prop_assert_eq!(world.richest_two(), (ranked[0], ranked.get(1).copied()));
        }

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

        /// Matching by bits gives what matching by name gives, for any skills: repeated ones,
        /// ones no agent holds, governance held by nobody.
        #[test]
        fn matching_by_bits_is_matching_by_name(
            held in prop::collection::vec(prop::collection::vec(0..6usize, 0..4), 1..5),
            job in prop::collection::vec(0..6usize, 1..5),
        ) {
            let agents: Vec<AgentProfile> = held
                .iter()
                .enumerate()
                .map(|(i, picks)| AgentProfile {
                    id: AccountId(i as u32 + 1),
                    name: format!("a{i}"),
                    role: Role::Validator,
                    skills: names(picks).into_iter().filter(|s| s != "unheld").collect(),
                    behaviour: Role::Validator.behaviour(),
                })
                .collect();
            let bits = SkillBits::new(&agents);
            let job = names(&job);
            let wanted = bits.of(&job);
            for (i, agent) in agents.iter().enumerate() {
                let by_name = SkillMatch::between(&job, &agent.skills);
                let expected = (by_name.held > 0).then_some(by_name);
                prop_assert_eq!(bits.matching(wanted, &job, i, agent), expected);
            }
        }
    }
}
