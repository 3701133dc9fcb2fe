//! The ResourceManager: planetary energy (GW) and compute (PF) pools, per-agent allowances,
//! token prices per unit, and the scarcity thermostat.

use super::amount::Amount;
use super::id_map::IdMap;
use super::job::JobId;
use super::ledger::AccountId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Prices never fall below this (per spec).
pub const PRICE_FLOOR: f64 = 0.01;
/// Guard against runaway prices reaching infinity in a days-long saturated run; far above any
/// price an agent can pay, so the thermostat behaves exactly per spec below it.
pub const PRICE_CEILING: f64 = 1e12;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allowance {
    pub energy_limit: f64,
    pub compute_limit: f64,
    pub energy_used: f64,
    pub compute_used: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub agent: AccountId,
    pub energy: f64,
    pub compute: f64,
    pub cost: Amount,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocationError {
    #[error("energy allowance exceeded: wants {wanted} GW, {left} GW left")]
    EnergyAllowance { wanted: f64, left: f64 },
    #[error("compute allowance exceeded: wants {wanted} PF, {left} PF left")]
    ComputeAllowance { wanted: f64, left: f64 },
    #[error("planetary energy exhausted: wants {wanted} GW, {left} GW free")]
    EnergyExhausted { wanted: f64, left: f64 },
    #[error("planetary compute exhausted: wants {wanted} PF, {left} PF free")]
    ComputeExhausted { wanted: f64, left: f64 },
    #[error("agent {0:?} has no allowance")]
    NoAllowance(AccountId),
    #[error("job {0} already holds an allocation")]
    AlreadyAllocated(JobId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThermostatSettings {
    pub threshold: f64,
    pub multiplier: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceManager {
    /// Owner ceilings; the usable capacity is `min(ceiling, what the simulation provides)`.
    pub energy_ceiling: f64,
    pub compute_ceiling: f64,
    pub energy_capacity: f64,
    pub compute_capacity: f64,
    pub energy_used: f64,
    pub compute_used: f64,
    pub token_per_energy: f64,
    pub token_per_compute: f64,
    pub thermostat: ThermostatSettings,
    pub allowances: BTreeMap<AccountId, Allowance>,
    pub allocations: IdMap<Allocation>,
}

impl ResourceManager {
    pub fn energy_free(&self) -> f64 {
        (self.energy_capacity - self.energy_used).max(0.0)
    }

    pub fn compute_free(&self) -> f64 {
        (self.compute_capacity - self.compute_used).max(0.0)
    }

    pub fn quote(&self, energy: f64, compute: f64) -> Amount {
        Amount::from_tokens(energy * self.token_per_energy + compute * self.token_per_compute)
    }

    /// Checks that `agent` may draw `energy` and `compute` for `job` now, and prices it.
    /// Nothing changes; `commit` applies a checked allocation.
    pub fn check(
        &self,
        job: JobId,
        agent: AccountId,
        energy: f64,
        compute: f64,
    ) -> Result<Allocation, AllocationError> {
        if self.allocations.contains_key(job) {
            return Err(AllocationError::AlreadyAllocated(job));
        }
        let a = self
            .allowances
            .get(&agent)
            .ok_or(AllocationError::NoAllowance(agent))?;
        let (e_left, c_left) = (
            a.energy_limit - a.energy_used,
            a.compute_limit - a.compute_used,
        );
        if energy > e_left {
            return Err(AllocationError::EnergyAllowance {
                wanted: energy,
                left: e_left,
            });
        }
        if compute > c_left {
            return Err(AllocationError::ComputeAllowance {
                wanted: compute,
                left: c_left,
            });
        }
        if energy > self.energy_free() {
            return Err(AllocationError::EnergyExhausted {
                wanted: energy,
                left: self.energy_free(),
            });
        }
        if compute > self.compute_free() {
            return Err(AllocationError::ComputeExhausted {
                wanted: compute,
                left: self.compute_free(),
            });
        }
        Ok(Allocation {
            agent,
            energy,
            compute,
            cost: self.quote(energy, compute),
        })
    }

    pub fn commit(&mut self, job: JobId, allocation: Allocation) {
        if let Some(a) = self.allowances.get_mut(&allocation.agent) {
            a.energy_used += allocation.energy;
            a.compute_used += allocation.compute;
        }
        self.energy_used += allocation.energy;
        self.compute_used += allocation.compute;
        self.allocations.insert(job, allocation);
    }

    /// Returns a job's energy and compute to the pools and the agent's allowance.
    pub fn release(&mut self, job: JobId) -> Option<Allocation> {
        let allocation = self.allocations.remove(job)?;
        if let Some(a) = self.allowances.get_mut(&allocation.agent) {
            a.energy_used = (a.energy_used - allocation.energy).max(0.0);
            a.compute_used = (a.compute_used - allocation.compute).max(0.0);
        }
        self.energy_used = (self.energy_used - allocation.energy).max(0.0);
        self.compute_used = (self.compute_used - allocation.compute).max(0.0);
        Some(allocation)
    }

    /// Usable capacity follows the simulated planet, bounded by the owner's ceilings.
    pub fn follow_simulation(&mut self, sim_energy: f64, sim_compute: f64) {
        self.energy_capacity = self.energy_ceiling.min(sim_energy).max(0.0);
        self.compute_capacity = self.compute_ceiling.min(sim_compute).max(0.0);
    }

    pub fn utilisation(&self) -> f64 {
        let ratio = |used: f64, free: f64| {
            if used + free > 0.0 {
                used / (used + free)
            } else {
                0.0
            }
        };
        ratio(self.energy_used, self.energy_free())
            .max(ratio(self.compute_used, self.compute_free()))
    }

    /// One thermostat step (once per unpaused cycle): above the threshold both prices rise by the
    /// multiplier, otherwise both fall by it, never below the floor. Returns the utilisation.
    pub fn thermostat(&mut self) -> f64 {
        let u = self.utilisation();
        let m = self.thermostat.multiplier;
        let step = |price: f64| {
            if u > self.thermostat.threshold {
                (price * m).min(PRICE_CEILING)
            } else {
                (price / m).max(PRICE_FLOOR)
            }
        };
        self.token_per_energy = step(self.token_per_energy);
        self.token_per_compute = step(self.token_per_compute);
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager() -> ResourceManager {
        let mut allowances = BTreeMap::new();
        allowances.insert(
            AccountId(1),
            Allowance {
                energy_limit: 100.0,
                compute_limit: 50.0,
                energy_used: 0.0,
                compute_used: 0.0,
            },
        );
        ResourceManager {
            energy_ceiling: 1_000_000.0,
            compute_ceiling: 250_000.0,
            energy_capacity: 1_000_000.0,
            compute_capacity: 250_000.0,
            energy_used: 0.0,
            compute_used: 0.0,
            token_per_energy: 0.05,
            token_per_compute: 0.1,
            thermostat: ThermostatSettings {
                threshold: 0.85,
                multiplier: 1.12,
            },
            allowances,
            allocations: Default::default(),
        }
    }

    #[test]
    fn idle_prices_reach_the_floor_after_15_and_21_cycles() {
        let mut rm = manager();
        let mut energy_floor_at = None;
        let mut compute_floor_at = None;
        for cycle in 1..=30 {
            rm.thermostat();
            if rm.token_per_energy == PRICE_FLOOR && energy_floor_at.is_none() {
                energy_floor_at = Some(cycle);
            }
            if rm.token_per_compute == PRICE_FLOOR && compute_floor_at.is_none() {
                compute_floor_at = Some(cycle);
            }
        }
        assert_eq!(energy_floor_at, Some(15));
        assert_eq!(compute_floor_at, Some(21));
    }

    #[test]
    fn high_utilisation_raises_both_prices_by_the_multiplier() {
        let mut rm = manager();
        rm.energy_used = 900_000.0; // u = 0.9
        rm.thermostat();
        assert!((rm.token_per_energy - 0.05 * 1.12).abs() < 1e-12);
        assert!((rm.token_per_compute - 0.1 * 1.12).abs() < 1e-12);
        // Exactly at the threshold prices fall.
        rm.energy_used = 850_000.0;
        rm.thermostat();
        assert!((rm.token_per_energy - 0.05).abs() < 1e-12);
    }

    #[test]
    fn refusals_name_the_reason_and_cost_nothing() {
        let mut rm = manager();
        let err = rm.check(JobId(1), AccountId(1), 101.0, 1.0).unwrap_err();
        assert!(err.to_string().starts_with("energy allowance exceeded"));
        let err = rm.check(JobId(1), AccountId(1), 1.0, 51.0).unwrap_err();
        assert!(err.to_string().starts_with("compute allowance exceeded"));
        rm.energy_capacity = 10.0;
        let err = rm.check(JobId(1), AccountId(1), 11.0, 1.0).unwrap_err();
        assert!(err.to_string().starts_with("planetary energy exhausted"));
        assert_eq!(rm.energy_used, 0.0);
        assert!(rm.allocations.is_empty());
    }

    #[test]
    fn allocation_leaves_and_returns_to_the_pool() {
        let mut rm = manager();
        let a = rm.check(JobId(1), AccountId(1), 60.0, 20.0).unwrap();
        assert_eq!(a.cost, Amount::from_tokens(60.0 * 0.05 + 20.0 * 0.1));
        rm.commit(JobId(1), a);
        assert_eq!(rm.energy_used, 60.0);
        assert!(
            rm.check(JobId(2), AccountId(1), 60.0, 1.0).is_err(),
            "allowance is shared by concurrent jobs"
        );
        rm.release(JobId(1)).unwrap();
        assert_eq!((rm.energy_used, rm.compute_used), (0.0, 0.0));
        assert!(rm.release(JobId(1)).is_none());
    }

    #[test]
    fn capacity_follows_simulation_under_the_ceiling() {
        let mut rm = manager();
        rm.follow_simulation(980_000.0, 300_000.0);
        assert_eq!(rm.energy_capacity, 980_000.0);
        assert_eq!(rm.compute_capacity, 250_000.0);
    }
}
