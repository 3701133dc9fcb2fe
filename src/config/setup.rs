//! The config as the domain takes it: the world's setup and its governance parameters. The domain
//! never reads the config; whoever builds or restores a world converts it here.

use super::Config;
use crate::domain::agent::AgentProfile;
use crate::domain::amount::Amount;
use crate::domain::governance::{Params, seconds_to_ms};
use crate::domain::ledger::AccountId;
use crate::domain::resources::ThermostatSettings;
use crate::domain::setup::{AgentSetup, Pools, WorldSetup};
use crate::domain::sim::SimSnapshot;

impl Config {
    /// Everything `World::genesis` and `World::restore` need from the config.
    pub fn world_setup(&self) -> WorldSetup {
        let expanded = (self.agents.iter()).flat_map(|a| std::iter::repeat_n(a, a.count as usize));
        let money = expanded
            .map(|a| (a.stake, a.energy_allowance, a.compute_allowance))
            .chain(
                (self.external_agents.iter())
                    .map(|e| (e.stake, e.energy_allowance, e.compute_allowance)),
            );
        let agents = (self.agent_profiles().into_iter().zip(money))
            .map(|(profile, (stake, energy, compute))| AgentSetup {
                profile,
                stake,
                energy_allowance: energy,
                compute_allowance: compute,
            })
            .collect();
        let rm = &self.resource_manager;
        let s = &self.simulation;
        WorldSetup {
            agents,
            params: self.params(),
            token_supply: rm.token_supply,
            pools: Pools {
                energy_capacity: rm.energy_capacity,
                compute_capacity: rm.compute_capacity,
                token_per_energy: rm.token_per_energy,
                token_per_compute: rm.token_per_compute,
                thermostat: ThermostatSettings {
                    threshold: rm.dynamic_inflation_threshold,
                    multiplier: rm.scarcity_multiplier,
                },
            },
            simulation: SimSnapshot {
                energy: s.energy,
                compute: s.compute,
                gdp: s.gdp,
                innovation: s.innovation,
            },
            demo_jobs: self.jobs.clone(),
        }
    }

    /// The governance parameters the config sets.
    pub fn params(&self) -> Params {
        let v = &self.validators;
        Params {
            stake_ratio: v.stake_ratio,
            slash_ratio: v.slash_ratio,
            penalty_ratio: v.penalty_ratio,
            burn_ratio: v.burn_ratio,
            min_validator_stake: Amount::from_tokens(v.min_stake),
            quorum: v.quorum,
            committee_size: v.committee_size,
            commit_phase_ms: seconds_to_ms(v.commit_phase_seconds),
            reveal_phase_ms: seconds_to_ms(v.reveal_phase_seconds),
            max_concurrent_jobs: self.max_concurrent_jobs,
            energy_ceiling: self.resource_manager.energy_capacity,
            compute_ceiling: self.resource_manager.compute_capacity,
            base_innovation: self.simulation.innovation,
            generator: self.generator.clone(),
        }
    }

    /// Agent profiles with account ids 1..=n: each config agent expanded by `count` (named
    /// `Name-1`, `Name-2`, … when more than one), its role's behaviour with the config's overrides.
    pub fn agent_profiles(&self) -> Vec<AgentProfile> {
        let mut out = Vec::new();
        for a in &self.agents {
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
                if let Some(rate) = a.non_reveal_rate {
                    behaviour.non_reveal_rate = rate.clamp(0.0, 1.0);
                }
                out.push(AgentProfile {
                    id: AccountId(out.len() as u32 + 1),
                    name,
                    role: a.role,
                    skills: a.skills.clone(),
                    behaviour,
                    external: false,
                });
            }
        }
        for e in &self.external_agents {
            out.push(e.profile(AccountId(out.len() as u32 + 1)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_config() -> Config {
        serde_json::from_str(include_str!("../../config/default_config.json")).unwrap()
    }

    #[test]
    fn agents_are_expanded_by_count_in_account_order() {
        let mut config = default_config();
        config.agents[3].max_parallel_jobs = Some(0);
        let setup = config.world_setup();
        let names: Vec<&str> = (setup.agents.iter())
            .map(|a| a.profile.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "StrategicMetaSynth",
                "DysonEnergyArchitect",
                "LiquidityIntelligence",
                "SentinelValidator-1",
                "SentinelValidator-2",
                "SentinelValidator-3",
                "SentinelValidator-4",
                "SentinelValidator-5",
            ]
        );
        for (i, a) in setup.agents.iter().enumerate() {
            assert_eq!(a.profile.id, AccountId(i as u32 + 1));
        }
        let validator = &setup.agents[7];
        assert_eq!(validator.stake, config.agents[3].stake);
        assert_eq!(validator.profile.behaviour.max_parallel_jobs, 1);
        assert_eq!(setup.demo_jobs.len(), config.jobs.len());
    }
}
