//! `synthetic_economy.json`: the simulation's telemetry, rewritten atomically at each checkpoint.

use super::atomic::write_atomic;
use crate::domain::sim::SimSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Samples kept in the file (the newest last).
const HISTORY: usize = 512;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sample {
    pub cycle: u64,
    pub time_ms: u64,
    pub snapshot: SimSnapshot,
    pub energy_capacity: f64,
    pub compute_capacity: f64,
    pub utilisation: f64,
    pub token_per_energy: f64,
    pub token_per_compute: f64,
}

#[derive(Serialize, Deserialize)]
struct File {
    kind: String,
    latest: Option<Sample>,
    history: VecDeque<Sample>,
}

pub struct Telemetry {
    path: PathBuf,
    kind: String,
    history: VecDeque<Sample>,
}

impl Telemetry {
    /// Continues the history of an existing file (an unreadable one starts a new history).
    pub fn open(path: &Path, kind: &str) -> Telemetry {
        let history = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<File>(&b).ok())
            .map(|f| f.history)
            .unwrap_or_default();
        Telemetry {
            path: path.to_path_buf(),
            kind: kind.to_string(),
            history,
        }
    }

    pub fn record(&mut self, sample: Sample) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(sample);
    }

    pub fn write(&self) -> std::io::Result<()> {
        let file = File {
            kind: self.kind.clone(),
            latest: self.history.back().cloned(),
            history: self.history.clone(),
        };
        write_atomic(
            &self.path,
            &serde_json::to_vec_pretty(&file).expect("telemetry serializes"),
        )
    }
}
