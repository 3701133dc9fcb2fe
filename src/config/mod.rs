//! The configuration file (`config/default_config.json`): schema, defaults and validation.
//!
//! Unknown keys are refused so a typo never silently falls back to a default.

pub mod edit;
pub mod external;
mod setup;

pub use external::{ExternalAgentConfig, ExternalRole};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("config {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub agents: Vec<AgentConfig>,
    /// Attest every Nth periodic checkpoint on chain (CheckpointRegistry); 0: never.
    #[serde(default = "default_attest_every")]
    pub attest_every_checkpoints: u32,
    pub checkpoint_interval_seconds: f64,
    pub cycle_seconds: f64,
    /// Workers and validators outside the process, reached over A2A (after `agents` in
    /// account order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_agents: Vec<ExternalAgentConfig>,
    pub generator: GeneratorConfig,
    pub jobs: Vec<DemoJob>,
    pub log_path: PathBuf,
    pub max_concurrent_jobs: u32,
    pub resource_manager: ResourceConfig,
    pub simulation: SimulationConfig,
    pub state_path: PathBuf,
    pub validators: ValidatorConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub name: String,
    pub role: crate::domain::agent::Role,
    pub skills: Vec<String>,
    /// Stake in tokens; the agent starts with twice this. Validators bond it for committees.
    pub stake: f64,
    pub energy_allowance: f64,
    pub compute_allowance: f64,
    /// How many agents of this kind (named `Name-1`, `Name-2`, … when more than one).
    #[serde(default = "one")]
    pub count: u32,
    /// Jobs one agent works on at once (default by role: 2, or 3 for finance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel_jobs: Option<u32>,
    /// Chance that submitted work is bad (default by role), for drills and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad_work_rate: Option<f64>,
    /// Chance that work fails outright, before submission (default by role), for drills and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Chance that a validator, having committed, never reveals (default by role), for drills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_reveal_rate: Option<f64>,
}

fn one() -> u32 {
    1
}

/// The config's `jobs` and `generator` sections are the domain's own types, read as they are.
pub use crate::domain::governance::GeneratorParams as GeneratorConfig;
pub use crate::domain::setup::DemoJob;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    pub energy_capacity: f64,
    pub compute_capacity: f64,
    pub token_supply: f64,
    pub token_per_energy: f64,
    pub token_per_compute: f64,
    pub dynamic_inflation_threshold: f64,
    pub scarcity_multiplier: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationConfig {
    #[serde(rename = "type")]
    pub kind: String,
    pub energy: f64,
    pub compute: f64,
    pub gdp: f64,
    pub innovation: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorConfig {
    /// Matching approving reveals needed to approve (and matching rejections to reject).
    pub quorum: u32,
    pub committee_size: u32,
    pub commit_phase_seconds: f64,
    pub reveal_phase_seconds: f64,
    /// Agent stake per job = max(reward × stake_ratio, 1 token).
    pub stake_ratio: f64,
    /// Slash on failure = min(job stake, reward × slash_ratio).
    pub slash_ratio: f64,
    /// Share of a faulty validator's bonded stake burned per fault.
    pub penalty_ratio: f64,
    /// Bonded stake a validator needs to be selected.
    pub min_stake: f64,
    /// Share of the reward burned on success (escrowed from the poster on top of the reward).
    pub burn_ratio: f64,
}

fn default_attest_every() -> u32 {
    4
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let config: Config = serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        config.validate().map_err(|reason| ConfigError::Invalid {
            path: path.into(),
            reason,
        })?;
        Ok(config)
    }

    /// Every rule a config must satisfy, with the key named in the reason.
    pub fn validate(&self) -> Result<(), String> {
        positive("cycle_seconds", self.cycle_seconds)?;
        positive(
            "checkpoint_interval_seconds",
            self.checkpoint_interval_seconds,
        )?;
        if self.max_concurrent_jobs == 0 {
            return Err("max_concurrent_jobs must be ≥ 1".into());
        }
        self.validate_resources()?;
        self.validate_validators()?;
        self.validate_simulation()?;
        self.validate_generator()?;
        self.validate_agents()?;
        self.validate_jobs()
    }

    fn validate_resources(&self) -> Result<(), String> {
        let rm = &self.resource_manager;
        positive("resource_manager.energy_capacity", rm.energy_capacity)?;
        positive("resource_manager.compute_capacity", rm.compute_capacity)?;
        positive("resource_manager.token_supply", rm.token_supply)?;
        positive("resource_manager.token_per_energy", rm.token_per_energy)?;
        positive("resource_manager.token_per_compute", rm.token_per_compute)?;
        ratio(
            "resource_manager.dynamic_inflation_threshold",
            rm.dynamic_inflation_threshold,
        )?;
        if !(rm.scarcity_multiplier.is_finite() && rm.scarcity_multiplier > 1.0) {
            return Err(format!(
                "resource_manager.scarcity_multiplier must be > 1 (got {})",
                rm.scarcity_multiplier
            ));
        }
        Ok(())
    }

    fn validate_validators(&self) -> Result<(), String> {
        let v = &self.validators;
        ratio("validators.stake_ratio", v.stake_ratio)?;
        ratio("validators.slash_ratio", v.slash_ratio)?;
        ratio("validators.penalty_ratio", v.penalty_ratio)?;
        ratio("validators.burn_ratio", v.burn_ratio)?;
        non_negative("validators.min_stake", v.min_stake)?;
        positive("validators.commit_phase_seconds", v.commit_phase_seconds)?;
        positive("validators.reveal_phase_seconds", v.reveal_phase_seconds)?;
        if v.quorum == 0 || v.quorum > v.committee_size {
            return Err(format!(
                "validators.quorum must be between 1 and committee_size ({})",
                v.committee_size
            ));
        }
        Ok(())
    }

    fn validate_simulation(&self) -> Result<(), String> {
        let s = &self.simulation;
        if s.kind != crate::domain::sim::SyntheticEconomySim::KIND {
            return Err(format!(
                "simulation.type {:?} is unknown (available: synthetic_economy)",
                s.kind
            ));
        }
        non_negative("simulation.energy", s.energy)?;
        non_negative("simulation.compute", s.compute)?;
        positive("simulation.gdp", s.gdp)?;
        positive("simulation.innovation", s.innovation)
    }

    fn validate_generator(&self) -> Result<(), String> {
        let g = &self.generator;
        non_negative("generator.rate_per_cycle", g.rate_per_cycle)?;
        ratio("generator.reward_fraction", g.reward_fraction)?;
        positive("generator.min_reward", g.min_reward)?;
        if g.max_reward < g.min_reward {
            return Err("generator.max_reward must be ≥ generator.min_reward".into());
        }
        positive("generator.deadline_hours", g.deadline_hours)?;
        non_negative("generator.max_energy", g.max_energy)?;
        non_negative("generator.max_compute", g.max_compute)
    }

    fn validate_jobs(&self) -> Result<(), String> {
        for job in &self.jobs {
            positive(&format!("jobs[{}].reward", job.title), job.reward)?;
            positive(
                &format!("jobs[{}].deadline_hours", job.title),
                job.deadline_hours,
            )?;
            non_negative(&format!("jobs[{}].energy", job.title), job.energy)?;
            non_negative(&format!("jobs[{}].compute", job.title), job.compute)?;
            if job.skills.is_empty() {
                return Err(format!("jobs[{}].skills must not be empty", job.title));
            }
        }
        Ok(())
    }

    fn validate_agents(&self) -> Result<(), String> {
        use crate::domain::agent::Role;
        if self.agents.is_empty() && self.external_agents.is_empty() {
            return Err("agents and external_agents must not both be empty".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, e) in self.external_agents.iter().enumerate() {
            e.validate(i)?;
            if !names.insert(e.name.clone()) {
                return Err(format!("external_agents: duplicate name {:?}", e.name));
            }
        }
        for a in &self.agents {
            if a.role == Role::External {
                return Err(format!(
                    "agents[{}]: role external is for external_agents entries",
                    a.name
                ));
            }
            if a.name.trim().is_empty() || a.count == 0 || a.skills.is_empty() {
                return Err(format!(
                    "agents[{}]: name, skills and count ≥ 1 are required",
                    a.name
                ));
            }
            if !names.insert(a.name.clone()) {
                return Err(format!(
                    "agents: duplicate name {:?} (names are shared with external_agents)",
                    a.name
                ));
            }
            if !(a.stake.is_finite()
                && a.stake >= 0.0
                && a.energy_allowance >= 0.0
                && a.compute_allowance >= 0.0)
            {
                return Err(format!(
                    "agents[{}]: stake and allowances must be ≥ 0",
                    a.name
                ));
            }
            for (key, rate) in [
                ("bad_work_rate", a.bad_work_rate),
                ("error_rate", a.error_rate),
                ("non_reveal_rate", a.non_reveal_rate),
            ] {
                if rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
                    return Err(format!("agents[{}].{key} must be between 0 and 1", a.name));
                }
            }
        }
        let validators: u32 = self
            .agents
            .iter()
            .filter(|a| a.role == Role::Validator)
            .map(|a| a.count)
            .sum::<u32>()
            + (self.external_agents.iter())
                .filter(|e| e.role.validates())
                .count() as u32;
        if validators < self.validators.committee_size {
            return Err(format!(
                "validators.committee_size is {} but only {validators} validator agents are configured",
                self.validators.committee_size
            ));
        }
        Ok(())
    }

    /// Paths of the files the orchestrator keeps, all in one reports folder.
    pub fn paths(&self, reports_override: Option<&Path>) -> ReportPaths {
        let state = match reports_override {
            Some(dir) => dir.join(
                self.state_path
                    .file_name()
                    .unwrap_or("orchestrator_state.json".as_ref()),
            ),
            None => self.state_path.clone(),
        };
        let dir = state.parent().map(Path::to_path_buf).unwrap_or_default();
        let log = match reports_override {
            Some(dir) => dir.join(
                self.log_path
                    .file_name()
                    .unwrap_or("orchestrator.log".as_ref()),
            ),
            None => self.log_path.clone(),
        };
        ReportPaths {
            archive: dir.join("jobs-archive.jsonl"),
            control: dir.join("control.json"),
            telemetry: dir.join("synthetic_economy.json"),
            lock: dir.join("omega.pid"),
            dir,
            state,
            log,
        }
    }
}

/// Where the runtime files live.
#[derive(Clone, Debug)]
pub struct ReportPaths {
    pub dir: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    pub archive: PathBuf,
    pub control: PathBuf,
    pub telemetry: PathBuf,
    pub lock: PathBuf,
}

impl ReportPaths {
    pub fn backup(&self) -> PathBuf {
        let mut name = self.state.as_os_str().to_owned();
        name.push(".bak");
        PathBuf::from(name)
    }
}

fn positive(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be > 0 (got {v})"))
    }
}

fn non_negative(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be ≥ 0 (got {v})"))
    }
}

fn ratio(name: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} must be between 0 and 1 (got {v})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_config() -> Config {
        serde_json::from_str(include_str!("../../config/default_config.json")).unwrap()
    }

    #[test]
    fn shipped_default_config_is_valid() {
        default_config().validate().unwrap();
    }

    #[test]
    fn invalid_values_name_their_key() {
        let mut c = default_config();
        c.validators.stake_ratio = 1.5;
        assert!(c.validate().unwrap_err().contains("validators.stake_ratio"));
        let mut c = default_config();
        c.resource_manager.energy_capacity = 0.0;
        assert!(c.validate().unwrap_err().contains("energy_capacity"));
        let mut c = default_config();
        c.validators.committee_size = 99;
        c.validators.quorum = 3;
        assert!(c.validate().unwrap_err().contains("committee_size"));
        let mut c = default_config();
        c.agents[0].error_rate = Some(1.5);
        assert!(c.validate().unwrap_err().contains("error_rate"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../config/default_config.json")).unwrap();
        v["max_concurent_jobs"] = 3.into();
        assert!(
            serde_json::from_value::<Config>(v)
                .unwrap_err()
                .to_string()
                .contains("max_concurent_jobs")
        );
    }
}
