//! Time for the engine: wall-clock in real runs, virtual (one period per cycle) in fast mode.

/// Where virtual time starts for a fresh state (2026-01-01T00:00:00Z), so fast runs are
/// reproducible byte for byte.
pub const VIRTUAL_EPOCH_MS: u64 = 1_767_225_600_000;

#[derive(Clone, Copy, Debug)]
pub enum Clock {
    Real,
    /// Virtual time: `start_ms + cycles × period_ms`.
    Virtual {
        start_ms: u64,
        period_ms: u64,
    },
}

impl Clock {
    /// The time of the `n`-th cycle of this run.
    pub fn now_ms(&self, n: u64) -> u64 {
        match *self {
            Clock::Real => wall_ms(),
            Clock::Virtual {
                start_ms,
                period_ms,
            } => start_ms + n * period_ms,
        }
    }
}

pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
