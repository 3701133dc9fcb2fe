//! Planetary simulations: the `PlanetarySim` plug-in interface and the default synthetic economy.

use serde::{Deserialize, Deserializer, Serialize};

/// The largest value a quantity of the synthetic economy takes: past it, quantities saturate
/// instead of overflowing. The reference formulas grow GDP geometrically with innovation, which
/// every job's work raises, so a long run reached infinity; JSON has no infinity (serde writes
/// `null`) and the checkpoint could then not be read back.
pub const QUANTITY_CEILING: f64 = f64::MAX;

/// A change a job's work makes to the simulated planet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimAction {
    pub energy_delta: f64,
    pub compute_delta: f64,
    pub innovation_delta: f64,
}

/// A `null` quantity (how checkpoints written before the ceiling held an overflowed one) reads
/// back as the ceiling, so those checkpoints can be resumed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimSnapshot {
    #[serde(deserialize_with = "saturated")]
    pub energy: f64,
    #[serde(deserialize_with = "saturated")]
    pub compute: f64,
    #[serde(deserialize_with = "saturated")]
    pub gdp: f64,
    #[serde(deserialize_with = "saturated")]
    pub innovation: f64,
}

fn saturated<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(QUANTITY_CEILING))
}

/// Keeps a quantity finite and not negative.
fn bounded(x: f64) -> f64 {
    x.clamp(0.0, QUANTITY_CEILING)
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
        s.energy = bounded(s.energy + a.energy_delta);
        s.compute = bounded(s.compute + a.compute_delta);
        s.innovation = bounded(s.innovation + a.innovation_delta).max(0.1);
        s.gdp = bounded(s.gdp * (1.0 + (s.innovation - 1.0) * 0.02));
        *s
    }

    /// Energy, compute and GDP grow by `(innovation − 1) × hours / 100`; innovation itself only
    /// changes through actions, so growth stays bounded by what the workforce achieves. (They
    /// stay within 0 and the ceiling: a restart after a long pause ticks many hours at once.)
    fn tick(&mut self, hours: f64) -> SimSnapshot {
        let s = &mut self.state;
        let factor = 1.0 + (s.innovation - 1.0) * hours / 100.0;
        s.energy = bounded(s.energy * factor);
        s.compute = bounded(s.compute * factor);
        s.gdp = bounded(s.gdp * factor);
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
    fn quantities_saturate_instead_of_overflowing_and_the_state_reads_back() {
        let mut s = sim();
        for _ in 0..100_000 {
            s.apply_action(&SimAction {
                energy_delta: 1e300,
                compute_delta: 1e300,
                innovation_delta: 0.02,
            });
        }
        let snap = s.tick(1e6);
        assert_eq!(snap.gdp, QUANTITY_CEILING);
        assert_eq!(snap.energy, QUANTITY_CEILING);
        assert!(snap.innovation.is_finite() && snap.innovation > 1_000.0);
        let saved = serde_json::to_string(&s.save()).unwrap();
        assert!(!saved.contains("null"), "{saved}");
        assert_eq!(serde_json::from_str::<SimSnapshot>(&saved).unwrap(), snap);
        let long_pause = SyntheticEconomySim::new(SimSnapshot {
            innovation: 0.1,
            ..sim().state
        })
        .tick(1_000.0);
        assert_eq!((long_pause.energy, long_pause.gdp), (0.0, 0.0));
    }

    #[test]
    fn an_overflowed_quantity_saved_as_null_reads_back_as_the_ceiling() {
        let json = r#"{"energy":1.0,"compute":2.0,"gdp":null,"innovation":994.0}"#;
        let snap: SimSnapshot = serde_json::from_str(json).unwrap();
        assert_eq!(snap.gdp, QUANTITY_CEILING);
        assert_eq!(
            (snap.energy, snap.compute, snap.innovation),
            (1.0, 2.0, 994.0)
        );
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
