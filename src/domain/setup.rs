//! What a world is made from: the agents and what each starts with, the economy at genesis, the
//! demo jobs and the governance parameters.
//!
//! The domain never reads the configuration file: the edge turns it into this
//! (`Config::world_setup`), and `World::genesis` and `World::restore` take it.

use super::agent::AgentProfile;
use super::governance::Params;
use super::resources::ThermostatSettings;
use super::sim::SimSnapshot;

#[derive(Clone, Debug, PartialEq)]
pub struct WorldSetup {
    /// The agents in account order (ids 1..=n).
    pub agents: Vec<AgentSetup>,
    pub params: Params,
    /// Tokens minted to the steward at genesis; the agents' grants come out of them.
    pub token_supply: f64,
    pub pools: Pools,
    /// Where the planetary simulation starts.
    pub simulation: SimSnapshot,
    /// Jobs the steward posts at genesis.
    pub demo_jobs: Vec<DemoJob>,
}

/// One agent, and what it is given at genesis.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSetup {
    pub profile: AgentProfile,
    /// Stake in tokens: the agent is granted twice this, and a validator bonds it.
    pub stake: f64,
    pub energy_allowance: f64,
    pub compute_allowance: f64,
}

/// The shared energy and compute pools at genesis, and their prices.
#[derive(Clone, Debug, PartialEq)]
pub struct Pools {
    pub energy_capacity: f64,
    pub compute_capacity: f64,
    pub token_per_energy: f64,
    pub token_per_compute: f64,
    pub thermostat: ThermostatSettings,
}

/// A job the steward posts at genesis (the config's `jobs` entries, read as they are).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoJob {
    pub title: String,
    pub reward: f64,
    pub deadline_hours: f64,
    pub energy: f64,
    pub compute: f64,
    pub skills: Vec<String>,
}

impl WorldSetup {
    /// The agent profiles, in account order.
    pub fn profiles(&self) -> Vec<AgentProfile> {
        self.agents.iter().map(|a| a.profile.clone()).collect()
    }
}

/// A small world for the domain's own tests: three workers and four validators (the shipped
/// config's roles and skills), no demo jobs.
#[cfg(test)]
pub(crate) fn sample() -> WorldSetup {
    use super::agent::Role;
    use super::amount::Amount;
    use super::governance::{GeneratorParams, seconds_to_ms};
    use super::ledger::AccountId;
    let workers = [
        (
            Role::Strategist,
            ["macro-strategy", "delegation", "synthesis"],
        ),
        (Role::Energy, ["energy", "infrastructure", "simulation"]),
        (Role::Finance, ["finance", "market-making", "tokenomics"]),
    ];
    let validators =
        std::iter::repeat_n((Role::Validator, ["validation", "audit", "governance"]), 4);
    let agents = (workers.into_iter().chain(validators).enumerate())
        .map(|(i, (role, skills))| AgentSetup {
            profile: AgentProfile {
                id: AccountId(i as u32 + 1),
                name: format!("agent-{}", i + 1),
                role,
                skills: skills.map(String::from).to_vec(),
                behaviour: role.behaviour(),
                external: false,
            },
            stake: 250_000.0 + 50_000.0 * i as f64,
            energy_allowance: 20_000.0,
            compute_allowance: 10_000.0,
        })
        .collect();
    WorldSetup {
        agents,
        params: Params {
            stake_ratio: 0.1,
            slash_ratio: 0.35,
            penalty_ratio: 0.05,
            burn_ratio: 0.02,
            min_validator_stake: Amount::from_tokens(100_000.0),
            quorum: 3,
            committee_size: 4,
            commit_phase_ms: seconds_to_ms(0.6),
            reveal_phase_ms: seconds_to_ms(0.6),
            max_concurrent_jobs: 8,
            energy_ceiling: 1_000_000.0,
            compute_ceiling: 250_000.0,
            base_innovation: 1.12,
            generator: GeneratorParams {
                rate_per_cycle: 0.5,
                max_pending: 8,
                reward_fraction: 0.0005,
                min_reward: 1_000.0,
                max_reward: 500_000.0,
                deadline_hours: 1.0,
                max_energy: 8_000.0,
                max_compute: 5_000.0,
            },
        },
        token_supply: 1e9,
        pools: Pools {
            energy_capacity: 1_000_000.0,
            compute_capacity: 250_000.0,
            token_per_energy: 0.05,
            token_per_compute: 0.1,
            thermostat: ThermostatSettings {
                threshold: 0.85,
                multiplier: 1.12,
            },
        },
        simulation: SimSnapshot {
            energy: 980_000.0,
            compute: 220_000.0,
            gdp: 4.5e11,
            innovation: 1.12,
        },
        demo_jobs: Vec::new(),
    }
}
