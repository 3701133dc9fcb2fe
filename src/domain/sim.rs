//! Planetary simulations: the `PlanetarySim` plug-in interface and the default synthetic economy.

use serde::{Deserialize, Serialize};

/// A change a job's work makes to the simulated planet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimAction {
    pub energy_delta: f64,
    pub compute_delta: f64,
    pub innovation_delta: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimSnapshot {
    pub energy: f64,
    pub compute: f64,
    pub gdp: f64,
    pub innovation: f64,
}

/// A world model the orchestrator drives. `save` returns the model's full state for checkpoints.
pub trait PlanetarySim: Send {
    fn kind(&self) -> &'static str;
    fn apply_action(&mut self, action: &SimAction) -> SimSnapshot;
    fn tick(&mut self, hours: f64) -> SimSnapshot;
    fn snapshot(&self) -> SimSnapshot;
    fn save(&self) -> serde_json::Value;
}

/// The reference economy: quantities grow with innovation; work adds energy, compute and innovation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticEconomySim {
    pub state: SimSnapshot,
}

impl SyntheticEconomySim {
    pub const KIND: &'static str = "synthetic_economy";

    pub fn new(state: SimSnapshot) -> Self {
        SyntheticEconomySim { state }
    }
}

impl PlanetarySim for SyntheticEconomySim {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    fn apply_action(&mut self, a: &SimAction) -> SimSnapshot {
        let s = &mut self.state;
        s.energy = (s.energy + a.energy_delta).max(0.0);
        s.compute = (s.compute + a.compute_delta).max(0.0);
        s.innovation = (s.innovation + a.innovation_delta).max(0.1);
        s.gdp *= 1.0 + (s.innovation - 1.0) * 0.02;
        *s
    }

    /// Energy, compute and GDP grow by `(innovation − 1) × hours / 100`; innovation itself only
    /// changes through actions, so growth stays bounded by what the workforce achieves.
    fn tick(&mut self, hours: f64) -> SimSnapshot {
        let s = &mut self.state;
        let factor = 1.0 + (s.innovation - 1.0) * hours / 100.0;
        s.energy *= factor;
        s.compute *= factor;
        s.gdp *= factor;
        *s
    }

    fn snapshot(&self) -> SimSnapshot {
        self.state
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self.state).expect("snapshot serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> SyntheticEconomySim {
        SyntheticEconomySim::new(SimSnapshot {
            energy: 980_000.0,
            compute: 220_000.0,
            gdp: 4.5e11,
            innovation: 1.12,
        })
    }

    #[test]
    fn actions_follow_the_reference_formulas() {
        let mut s = sim();
        let snap = s.apply_action(&SimAction {
            energy_delta: 100.0,
            compute_delta: -300_000.0,
            innovation_delta: 0.01,
        });
        assert_eq!(snap.energy, 980_100.0);
        assert_eq!(snap.compute, 0.0, "compute is floored at zero");
        assert!((snap.innovation - 1.13).abs() < 1e-12);
        assert!((snap.gdp - 4.5e11 * (1.0 + 0.13 * 0.02)).abs() < 1.0);
        let snap = s.apply_action(&SimAction {
            innovation_delta: -5.0,
            ..Default::default()
        });
        assert_eq!(snap.innovation, 0.1, "innovation is floored at 0.1");
    }

    #[test]
    fn tick_grows_quantities_with_innovation() {
        let mut s = sim();
        let snap = s.tick(10.0);
        let factor = 1.0 + 0.12 * 10.0 / 100.0;
        assert!((snap.energy - 980_000.0 * factor).abs() < 1e-6);
        assert!((snap.gdp - 4.5e11 * factor).abs() < 1.0);
        assert_eq!(snap.innovation, 1.12);
    }
}
