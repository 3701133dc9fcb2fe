//! The status document: what `omega status --json` prints and `GET /status` starts from.
//!
//! It reads only the world, so any layer above the domain could hold it; it lives with the status
//! API because both of its users, `cli` and `http`, may import `http`.

use crate::domain::job::JobStatus;
use crate::domain::world::WorldState;
use serde_json::json;

/// The world's cycle, pause state, jobs, ledger, balances, prices and parameters, with the pause
/// request still waiting (`pending_pause`), the running process (`running`) and the checkpoint
/// hash given by the caller.
pub fn report(
    s: &WorldState,
    pending_pause: Option<bool>,
    running: Option<u32>,
    hash: &str,
) -> serde_json::Value {
    let live = |st: JobStatus| s.jobs.iter().filter(|j| j.status == st).count() as u64;
    let totals = s.ledger.totals();
    let accounts: Vec<_> = s.ledger.accounts().iter().map(|a| json!({
        "name": a.name, "free": a.free.to_string(), "validator_stake": a.validator_stake.to_string(),
    })).collect();
    json!({
        "cycle": s.cycle,
        "paused": s.paused,
        "pending_pause": pending_pause,
        "running_pid": running,
        "jobs": {
            "tracked": s.counters.posted,
            "pending": live(JobStatus::Pending),
            "active": live(JobStatus::Active),
            "validating": live(JobStatus::Validating),
            "completed": s.counters.completed,
            "failed": s.counters.failed,
            "cancelled": s.counters.cancelled,
        },
        "ledger": {
            "minted": totals.minted.to_string(), "free": totals.free.to_string(), "job_stakes": totals.job_stakes.to_string(),
            "validator_stakes": totals.validator_stakes.to_string(), "escrowed": totals.escrowed.to_string(),
            "burned": totals.burned.to_string(), "balanced": totals.balanced(),
        },
        "accounts": accounts,
        "resources": {
            "token_per_energy": s.resources.token_per_energy, "token_per_compute": s.resources.token_per_compute,
            "utilisation": s.resources.utilisation(),
            "energy_capacity": s.resources.energy_capacity, "energy_used": s.resources.energy_used,
            "compute_capacity": s.resources.compute_capacity, "compute_used": s.resources.compute_used,
        },
        "params": s.params,
        "checkpoint_hash": hash,
    })
}
