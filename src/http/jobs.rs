//! `/jobs` and `/jobs/{id}`: jobs as the steward sees them. A validator's sealed vote and salt,
//! and the true quality of the work, are never shown (they would give the vote away).

use crate::domain::job::{Job, JobId, JobStatus};
use crate::domain::world::WorldState;
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::Path;

/// The name of ledger account `id`.
pub fn account_name(s: &WorldState, id: crate::domain::ledger::AccountId) -> Option<String> {
    s.ledger
        .accounts()
        .get(id.0 as usize)
        .map(|a| a.name.clone())
}

/// The JSON of one job; names instead of account ids, amounts in tokens as `omega status` shows
/// them (a decimal string with up to 4 decimals).
pub fn job_json(s: &WorldState, job: &Job) -> Value {
    let name = |id| account_name(s, id);
    json!({
        "id": job.id,
        "title": job.title,
        "status": job.status.name(),
        "reward": job.reward.to_string(),
        "burn_fee": job.burn_fee.to_string(),
        "deadline_ms": job.deadline_ms,
        "posted_at_ms": job.posted_at_ms,
        "energy": job.energy,
        "compute": job.compute,
        "skills": job.skills,
        "poster": name(job.poster),
        "assignee": job.assignee.and_then(name),
        "stake": job.stake.to_string(),
        "work_done": job.work_done,
        "parent": job.parent,
        "children": job.children,
        "lineage": job.lineage,
        "origin": job.origin,
        "input": job.input,
        "validation_rounds": job.validation_rounds,
        "outcome": job.outcome,
        "commit_reveal": commit_reveal(s, job, &name),
    })
}

/// The current round: who committed (the public hash) and what each reveal said.
fn commit_reveal(
    s: &WorldState,
    job: &Job,
    name: &dyn Fn(crate::domain::ledger::AccountId) -> Option<String>,
) -> Value {
    let Some(round) = &job.round else {
        return Value::Null;
    };
    let ballots: Vec<Value> = round
        .ballots
        .iter()
        .map(|b| {
            json!({
                "validator": name(b.validator),
                "commit": b.commit,
                "revealed": b.reveal.is_some(),
                "approve": b.reveal.map(|r| r.approve),
                "valid": b.reveal.map(|r| r.valid),
                // The chain seated the job's own worker (a v2 committee is drawn from the whole
                // pool): it votes on its own work.
                "conflict_of_interest": Some(b.validator) == job.assignee,
            })
        })
        .collect();
    json!({
        "nonce": round.nonce,
        "phase": round.phase(s.now_ms),
        "commit_deadline_ms": round.commit_deadline_ms,
        "reveal_deadline_ms": round.reveal_deadline_ms,
        "ballots": ballots,
    })
}

/// Query of `/jobs`.
#[derive(Debug, serde::Deserialize)]
pub struct JobQuery {
    pub status: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

/// The live jobs (those in the current state, settled ones until the next checkpoint archives
/// them), filtered and paginated by id. `Err` is a message for a 400.
pub fn list(s: &WorldState, q: &JobQuery) -> Result<Value, String> {
    let status = match q.status.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            JobStatus::ALL
                .into_iter()
                .find(|st| st.name() == v)
                .ok_or_else(|| {
                    format!(
                        "unknown status {v:?}: use one of {}",
                        JobStatus::ALL.map(|s| s.name()).join(", ")
                    )
                })?,
        ),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(format!("limit must be between 1 and {MAX_LIMIT}"));
    }
    let offset = q.offset.unwrap_or(0);
    let matching: Vec<&Job> = match status {
        Some(st) => s.jobs.with_status(st).collect(),
        None => s.jobs.iter().collect(),
    };
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|j| job_json(s, j))
        .collect();
    Ok(json!({
        "total": matching.len(),
        "offset": offset,
        "limit": limit,
        "status": status.map(|s| s.name()),
        "jobs": page,
    }))
}

/// A settled job from the archive (read line by line: the archive can be large).
pub fn archived(archive: &Path, id: JobId) -> Option<Job> {
    let file = std::fs::File::open(archive).ok()?;
    let needle = format!("{{\"id\":{},", id.0);
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter(|line| line.starts_with(&needle))
        .find_map(|line| serde_json::from_str::<Job>(&line).ok())
}

/// What the chain mirror's journal says about engine job `id`: the on-chain id, the spec hash
/// it was created with, and the steps it confirmed (the journal holds no transaction hashes;
/// `/jobs/{id}` reads those from the chain's logs).
pub fn mirror_state(journal: &Path, id: JobId) -> Value {
    let Ok(file) = std::fs::File::open(journal) else {
        return Value::Null;
    };
    let mut state = json!({"onchain_id": null, "spec_hash": null, "poster": null, "steps": []});
    let mut found = false;
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if entry["job"].as_u64() != Some(id.0) {
            continue;
        }
        found = true;
        match entry["kind"].as_str() {
            Some("create_intent") => {
                state["spec_hash"] = entry["spec_hash"].clone();
                state["poster"] = entry["poster"].clone();
            }
            Some("created") => {
                state["onchain_id"] = entry["onchain"].clone();
            }
            Some("adopted") => {
                state["onchain_id"] = entry["onchain"].clone();
                state["spec_hash"] = entry["spec_hash"].clone();
                state["adopted"] = json!(true);
            }
            Some("done") => state["steps"]
                .as_array_mut()
                .expect("array")
                .push(entry["step"].clone()),
            _ => {}
        }
    }
    if found { state } else { Value::Null }
}
