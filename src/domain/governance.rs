//! Governance parameters: the levers the owner may pull while the orchestrator runs.

use super::amount::Amount;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub stake_ratio: f64,
    pub slash_ratio: f64,
    pub penalty_ratio: f64,
    pub burn_ratio: f64,
    pub min_validator_stake: Amount,
    pub quorum: u32,
    pub committee_size: u32,
    pub commit_phase_ms: u64,
    pub reveal_phase_ms: u64,
    pub max_concurrent_jobs: u32,
    pub energy_ceiling: f64,
    pub compute_ceiling: f64,
    pub base_innovation: f64,
    pub generator: GeneratorParams,
}

/// The job generator's settings. Checkpoints hold them as the config's `generator` section is
/// written, so the fields, their order and the refusal of unknown ones stay as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorParams {
    /// Expected jobs posted per unpaused cycle, scaled by the simulation's innovation.
    pub rate_per_cycle: f64,
    /// The generator waits while this many jobs are pending.
    pub max_pending: u32,
    /// Reward as a fraction of the poster's free balance, clamped to [min_reward, max_reward].
    pub reward_fraction: f64,
    pub min_reward: f64,
    pub max_reward: f64,
    pub deadline_hours: f64,
    pub max_energy: f64,
    pub max_compute: f64,
}

/// The parameters `SetParameter` may change, by name.
pub const GOVERNABLE: &[&str] = &[
    "stake_ratio",
    "slash_ratio",
    "penalty_ratio",
    "quorum",
    "committee_size",
    "commit_phase_seconds",
    "reveal_phase_seconds",
    "max_concurrent_jobs",
    "energy_ceiling",
    "compute_ceiling",
    "generator_rate",
    "burn_ratio",
    "min_validator_stake",
];

impl Params {
    /// Current value of a governable parameter.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "stake_ratio" => self.stake_ratio,
            "slash_ratio" => self.slash_ratio,
            "penalty_ratio" => self.penalty_ratio,
            "quorum" => self.quorum as f64,
            "committee_size" => self.committee_size as f64,
            "commit_phase_seconds" => self.commit_phase_ms as f64 / 1000.0,
            "reveal_phase_seconds" => self.reveal_phase_ms as f64 / 1000.0,
            "max_concurrent_jobs" => self.max_concurrent_jobs as f64,
            "energy_ceiling" => self.energy_ceiling,
            "compute_ceiling" => self.compute_ceiling,
            "generator_rate" => self.generator.rate_per_cycle,
            "burn_ratio" => self.burn_ratio,
            "min_validator_stake" => self.min_validator_stake.tokens(),
            _ => return None,
        })
    }

    /// Validates and applies one change; returns the old value. Nothing changes on error.
    pub fn set(&mut self, name: &str, value: f64) -> Result<f64, String> {
        let old = self.get(name).ok_or_else(|| {
            format!(
                "unknown parameter {name:?} (known: {})",
                GOVERNABLE.join(", ")
            )
        })?;
        let ratio = |v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{name} must be between 0 and 1 (got {v})"))
            }
        };
        let positive = |v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(format!("{name} must be > 0 (got {v})"))
            }
        };
        let count = |v: f64| {
            if v.is_finite() && v >= 1.0 && v.fract() == 0.0 {
                Ok(v as u32)
            } else {
                Err(format!("{name} must be a whole number ≥ 1 (got {v})"))
            }
        };
        match name {
            "stake_ratio" => self.stake_ratio = ratio(value)?,
            "slash_ratio" => self.slash_ratio = ratio(value)?,
            "penalty_ratio" => self.penalty_ratio = ratio(value)?,
            "quorum" => {
                let q = count(value)?;
                if q > self.committee_size {
                    return Err(format!(
                        "quorum {q} exceeds committee_size {}",
                        self.committee_size
                    ));
                }
                self.quorum = q;
            }
            "committee_size" => {
                let n = count(value)?;
                if n < self.quorum {
                    return Err(format!(
                        "committee_size {n} is below quorum {}",
                        self.quorum
                    ));
                }
                self.committee_size = n;
            }
            "commit_phase_seconds" => self.commit_phase_ms = seconds_to_ms(positive(value)?),
            "reveal_phase_seconds" => self.reveal_phase_ms = seconds_to_ms(positive(value)?),
            "max_concurrent_jobs" => self.max_concurrent_jobs = count(value)?,
            "energy_ceiling" => self.energy_ceiling = positive(value)?,
            "compute_ceiling" => self.compute_ceiling = positive(value)?,
            "generator_rate" => {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(format!("{name} must be ≥ 0 (got {value})"));
                }
                self.generator.rate_per_cycle = value;
            }
            "burn_ratio" => self.burn_ratio = ratio(value)?,
            "min_validator_stake" => {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(format!("{name} must be ≥ 0 (got {value})"));
                }
                self.min_validator_stake = Amount::from_tokens(value);
            }
            _ => unreachable!("get() accepted the name"),
        }
        Ok(old)
    }

    /// The governable values of `other` that differ from ours, as (name, new value).
    pub fn changes_to(&self, other: &Params) -> Vec<(&'static str, f64)> {
        GOVERNABLE
            .iter()
            .filter_map(|&n| match (self.get(n), other.get(n)) {
                (Some(a), Some(b)) if a != b => Some((n, b)),
                _ => None,
            })
            .collect()
    }
}

pub fn seconds_to_ms(s: f64) -> u64 {
    (s * 1000.0).round().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        crate::domain::setup::sample().params
    }

    #[test]
    fn set_validates_and_changes_nothing_on_error() {
        let mut p = params();
        let before = p.clone();
        assert!(p.set("stake_ratio", 1.2).is_err());
        assert!(p.set("energy_ceiling", -1.0).is_err());
        assert!(p.set("quorum", 99.0).is_err());
        assert!(
            p.set("no_such", 1.0)
                .unwrap_err()
                .contains("unknown parameter")
        );
        assert_eq!(p, before);
        assert_eq!(p.set("stake_ratio", 0.12).unwrap(), before.stake_ratio);
        assert_eq!(p.stake_ratio, 0.12);
    }

    #[test]
    fn changes_are_listed_by_name() {
        let a = params();
        let mut b = a.clone();
        b.set("energy_ceiling", 1_250_000.0).unwrap();
        assert_eq!(a.changes_to(&b), vec![("energy_ceiling", 1_250_000.0)]);
    }
}
