//! External agents: workers and validators outside the process, reached over A2A. The config
//! names each one's agent card, role, key and bidding policy; the card is fetched and checked at
//! start (`http::a2a::client`), and its skills narrow the policy's to what the agent says it can do.

use crate::domain::agent::{AgentProfile, Role};
use crate::domain::ledger::AccountId;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalRole {
    /// Takes jobs; never sits on a committee.
    Worker,
    /// Sits on committees; never bids.
    Validator,
    /// Both: a bonded validator that also takes jobs (as the simulated validators do).
    Both,
}

impl ExternalRole {
    pub fn works(self) -> bool {
        self != ExternalRole::Validator
    }

    pub fn validates(self) -> bool {
        self != ExternalRole::Worker
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalAgentConfig {
    /// The agent's name in the engine, the log and on the dashboard.
    pub name: String,
    /// Where its A2A agent card is (`http://host:port/.well-known/agent-card.json`).
    pub card_url: String,
    pub role: ExternalRole,
    /// The environment variable holding its on-chain private key (environment or `.env`). On
    /// the run's own devnet it may be left unset: an unused anvil test key stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// The job skills it bids for; its card's skills must cover at least one of them.
    pub skills: Vec<String>,
    /// Jobs it works on at once.
    #[serde(default = "one")]
    pub max_parallel_jobs: u32,
    /// The smallest reward (tokens) it bids for.
    #[serde(default)]
    pub min_reward: f64,
    /// Stake in tokens, as for the simulated agents (it starts with twice this).
    pub stake: f64,
    #[serde(default = "allowance")]
    pub energy_allowance: f64,
    #[serde(default = "allowance")]
    pub compute_allowance: f64,
    /// Seconds one A2A task (work or validation) may take before it counts as not answered.
    #[serde(default = "task_timeout")]
    pub task_timeout_seconds: f64,
}

fn one() -> u32 {
    1
}

fn allowance() -> f64 {
    1_000_000.0
}

fn task_timeout() -> f64 {
    300.0
}

impl ExternalAgentConfig {
    /// Every rule one entry must satisfy, the agent named in the reason.
    pub fn validate(&self, i: usize) -> Result<(), String> {
        let at = format!("external_agents[{i}] ({:?})", self.name);
        if self.name.trim().is_empty() {
            return Err(format!("{at}: name must not be empty"));
        }
        let url = url::Url::parse(&self.card_url)
            .map_err(|e| format!("{at}: card_url {:?} is not a URL: {e}", self.card_url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{at}: card_url must be http or https"));
        }
        if let Some(var) = &self.key_env {
            let ok = !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(format!(
                    "{at}: key_env {var:?} is not an environment variable name"
                ));
            }
        }
        if self.skills.is_empty() || self.skills.iter().any(|s| s.trim().is_empty()) {
            return Err(format!("{at}: skills must list at least one skill"));
        }
        if self.max_parallel_jobs == 0 {
            return Err(format!("{at}: max_parallel_jobs must be ≥ 1"));
        }
        let numbers = [
            ("min_reward", self.min_reward),
            ("stake", self.stake),
            ("energy_allowance", self.energy_allowance),
            ("compute_allowance", self.compute_allowance),
        ];
        for (key, v) in numbers {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{at}: {key} must be a number ≥ 0 (got {v})"));
            }
        }
        let t = self.task_timeout_seconds;
        if !(t.is_finite() && t > 0.0) {
            return Err(format!("{at}: task_timeout_seconds must be > 0 (got {t})"));
        }
        Ok(())
    }

    /// Its profile in the engine, with account id `id`.
    pub fn profile(&self, id: AccountId) -> AgentProfile {
        let role = if self.role.validates() {
            Role::Validator
        } else {
            Role::External
        };
        let mut behaviour = role.behaviour();
        behaviour.max_parallel_jobs = if self.role.works() {
            self.max_parallel_jobs
        } else {
            0
        };
        AgentProfile {
            id,
            name: self.name.clone(),
            role,
            skills: self.skills.clone(),
            behaviour,
            external: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> ExternalAgentConfig {
        serde_json::from_value(serde_json::json!({
            "name": "w", "card_url": "http://127.0.0.1:9/.well-known/agent-card.json",
            "role": "worker", "skills": ["checksum"], "stake": 10
        }))
        .unwrap()
    }

    #[test]
    fn bad_entries_are_refused_with_the_agent_named() {
        assert_eq!(agent().validate(0), Ok(()));
        type Tweak = fn(&mut ExternalAgentConfig);
        let cases: [(Tweak, &str); 6] = [
            (|a| a.card_url = "not a url".into(), "card_url"),
            (|a| a.card_url = "ftp://x/card".into(), "http or https"),
            (|a| a.key_env = Some("BAD-NAME".into()), "key_env"),
            (|a| a.skills.clear(), "skills"),
            (|a| a.max_parallel_jobs = 0, "max_parallel_jobs"),
            (|a| a.min_reward = -1.0, "min_reward"),
        ];
        for (tweak, expected) in cases {
            let mut a = agent();
            tweak(&mut a);
            let reason = a.validate(2).unwrap_err();
            assert!(reason.contains(expected), "{reason}");
            assert!(reason.contains("external_agents[2] (\"w\")"), "{reason}");
        }
    }

    #[test]
    fn a_validator_only_agent_never_takes_work() {
        let mut a = agent();
        a.role = ExternalRole::Validator;
        let p = a.profile(AccountId(4));
        assert_eq!(
            (p.role, p.behaviour.max_parallel_jobs),
            (Role::Validator, 0)
        );
        assert!(p.external);
    }
}
