//! The world: every piece of orchestrator state, and the transitions of one cycle.
//!
//! Pure and synchronous: time arrives as a parameter, randomness from the seeded generator in the
//! state, agent decisions as reply messages. The engine drives it; checkpoints serialize `WorldState`.
//!
//! The rules live by subject, each in its own file, all of them methods of `World`:
//! - `genesis`: a fresh world, a world restored from a checkpoint, and the catch-up events;
//! - `inputs`: what arrives from outside the cycle (pause, parameters, jobs) and posting a job;
//! - `generator`: the job supply;
//! - `market`: the per-agent messages of a cycle (offers and the rest), bids and assignment;
//! - `work`: work reports, submission and delegation;
//! - `rounds`: validation rounds, from the committee draw to the tally;
//! - `settlement`: completion, failure, cancellation and the deadline sweep;
//! - `skill_bits`: skills as bit sets, for matching jobs to agents.
//!
//! This file holds the state, the errors and the cycle's entry points.

mod generator;
mod genesis;
mod inputs;
mod market;
mod rounds;
mod settlement;
mod skill_bits;
mod work;

pub use inputs::{CANCELLED_ON_REQUEST, Refusal};
pub use market::Bids;
pub use work::{MAX_DELEGATION_DEPTH, MAX_SUBJOBS};

use super::agent::{AgentProfile, AgentTick};
use super::events::{DomainEvent, Name, StepGate};
use super::governance::Params;
use super::id_map::IdMap;
use super::job::{JobBook, JobStatus, Skills, Title};
use super::ledger::{AccountId, Ledger};
use super::resources::ResourceManager;
use super::sim::PlanetarySim;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use skill_bits::SkillBits;
use std::collections::HashMap;

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
